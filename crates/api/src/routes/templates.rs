//! `GET /templates`, `GET /templates/{id}`.

use anjian_store::repo;
use axum::Json;
use axum::extract::State;

use crate::dto::{ErrorEnvelope, Page, TemplateOut};
use crate::error::ApiResult;
use crate::extract::{Auth, PathId};
use crate::state::AppState;

/// Every checklist template edition with its items.
#[utoipa::path(get, path = "/templates", tag = "reference",
    responses((status = 200, body = Page<TemplateOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    _auth: Auth,
) -> ApiResult<Json<Page<TemplateOut>>> {
    let items = repo::templates::list(&state.db).await?;
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
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
    Ok(Json(repo::templates::get(&state.db, id).await?.into()))
}
