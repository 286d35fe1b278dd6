//! `GET /notifications` and `POST /notifications/{id}/read`: the caller's own.

use anjian_usecases::notices;
use axum::Json;
use axum::extract::State;

use super::{PageQuery, page_out};
use crate::dto::{ErrorEnvelope, NotificationOut, Page};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth, PathId};
use crate::state::AppState;

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "notifications", params(PageQuery),
    responses((status = 200, body = Page<NotificationOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<NotificationOut>>> {
    let page = q.page(&state)?;
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
