//! `GET /templates`, `GET /templates/{id}`.

use anjian_usecases::reference;
use axum::Json;
use axum::extract::State;

use super::{PageQuery, page_out};
use crate::dto::{ErrorEnvelope, Page, TemplateOut};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth, PathId};
use crate::state::AppState;

/// Every checklist template edition with its items.
#[utoipa::path(get, path = "/templates", tag = "reference",
    params(PageQuery),
    responses((status = 200, body = Page<TemplateOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    _auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<TemplateOut>>> {
    let rows = reference::templates(&state.db, &q.page(&state)?).await?;
    Ok(Json(page_out(&state, rows, Into::into)))
}

/// One template edition.
#[utoipa::path(get, path = "/templates/{id}", tag = "reference",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TemplateOut), (status = 404, body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    _auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<TemplateOut>> {
    Ok(Json(reference::template(&state.db, id).await?.into()))
}
