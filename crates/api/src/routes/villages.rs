//! `GET /villages`.

use anjian_usecases::reference;
use axum::Json;
use axum::extract::State;

use super::{PageQuery, page_out};
use crate::dto::{ErrorEnvelope, Page, VillageOut};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth};
use crate::state::AppState;

/// The town's villages and communities (reference data, visible to every user).
#[utoipa::path(get, path = "/villages", tag = "reference",
    params(PageQuery),
    responses((status = 200, body = Page<VillageOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    _auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<VillageOut>>> {
    let rows = reference::villages(&state.db, &q.page(&state)?).await?;
    Ok(Json(page_out(&state, rows, Into::into)))
}
