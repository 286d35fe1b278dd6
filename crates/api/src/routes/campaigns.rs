//! `GET /campaigns`, `POST /campaigns`.

use anjian_domain::Capability;
use anjian_store::repo::campaigns::{NewCampaign, Target};
use anjian_usecases::reference;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::{PageQuery, page_out};
use crate::dto::{CampaignIn, CampaignOut, ErrorEnvelope, Page};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Auth, PathId};
use crate::state::AppState;

/// Special rectification campaigns, newest first.
#[utoipa::path(get, path = "/campaigns", tag = "reference",
    params(PageQuery),
    responses((status = 200, body = Page<CampaignOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    _auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<CampaignOut>>> {
    let rows = reference::campaigns(&state.db, &q.page(&state)?).await?;
    Ok(Json(page_out(&state, rows, Into::into)))
}

/// One campaign.
#[utoipa::path(get, path = "/campaigns/{id}", tag = "reference",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CampaignOut), (status = 404, body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    _auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<CampaignOut>> {
    Ok(Json(reference::campaign(&state.db, id).await?.into()))
}

/// Creates a campaign (office, admin).
#[utoipa::path(post, path = "/campaigns", tag = "reference", request_body = CampaignIn,
    responses((status = 201, body = CampaignOut), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CampaignIn>,
) -> ApiResult<(StatusCode, Json<CampaignOut>)> {
    auth.require(Capability::ManageCampaigns)?;
    let c = NewCampaign {
        name: body.name.into(),
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        template_ids: body.template_ids.into(),
        target: Target {
            village_ids: body.target.village_ids.into(),
            risk_tags: body
                .target
                .risk_tags
                .into_vec()
                .into_iter()
                .map(Into::into)
                .collect(),
        },
    };
    let m = reference::create_campaign(&state.db, auth.actor(), &auth.user, &c).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}
