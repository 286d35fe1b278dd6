//! `GET /audit`.

use anjian_domain::{Capability, Text};
use anjian_store::repo;
use anjian_usecases::access;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page_out, page_request};
use crate::dto::{AuditOut, ErrorEnvelope, Page};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[param(inline)]
    pub entity_type: Option<Text<32>>,
    pub entity_id: Option<Uuid>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    #[param(inline)]
    pub cursor: Option<Text<512>>,
}

/// The audit trail, oldest first (office, admin).
#[utoipa::path(get, path = "/audit", tag = "operations", params(AuditQuery),
    responses((status = 200, body = Page<AuditOut>), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditOut>>> {
    auth.require(Capability::ReadAudit)?;
    let page = page_request(&state, q.limit, q.cursor.as_deref())?;
    let f = repo::audit::Filter {
        entity_type: q.entity_type.map(Into::into),
        entity_id: q.entity_id,
    };
    let rows = access::audit(&state.db, &auth.user, &f, &page).await?;
    Ok(Json(page_out(&state, rows, AuditOut::from)))
}
