//! `GET /notifications` and `POST /notifications/{id}/read`: the caller's own.

use anjian_usecases::notices;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{page_out, page_request};
use crate::dto::{ErrorEnvelope, NotificationOut, Page};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth, PathId};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    #[param(inline)]
    pub cursor: Option<anjian_domain::Text<512>>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "notifications", params(ListQuery),
    responses((status = 200, body = Page<NotificationOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<NotificationOut>>> {
    let page = page_request(&state, q.limit, q.cursor.as_deref())?;
    let rows = notices::list(&state.db, &auth.user, &page).await?;
    Ok(Json(page_out(&state, rows, NotificationOut::from)))
}

/// Marks one of the caller's notifications read; another's is not found.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = NotificationOut), (status = 404, body = ErrorEnvelope)))]
pub async fn read(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<NotificationOut>> {
    let n = notices::read(&state.db, &auth.user, id, state.clock.now()).await?;
    Ok(Json(n.into()))
}
