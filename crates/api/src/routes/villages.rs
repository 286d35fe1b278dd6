//! `GET /villages`.

use anjian_store::repo;
use axum::Json;
use axum::extract::State;

use crate::dto::{ErrorEnvelope, Page, VillageOut};
use crate::error::ApiResult;
use crate::extract::Auth;
use crate::state::AppState;

/// The town's villages and communities (reference data, visible to every user).
#[utoipa::path(get, path = "/villages", tag = "reference",
    responses((status = 200, body = Page<VillageOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list(State(state): State<AppState>, _auth: Auth) -> ApiResult<Json<Page<VillageOut>>> {
    let items = repo::villages::list(&state.db).await?;
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}
