//! Reading inspections and hazards over REST (the same records sync serves).

use anjian_domain::{HazardStatus, Severity, Text};
use anjian_usecases::records;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page_out, page_request};
use crate::dto::{ErrorEnvelope, HazardOut, InspectionOut, Page};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth, PathId};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InspectionQuery {
    pub enterprise_id: Option<Uuid>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    #[param(inline)]
    pub cursor: Option<Text<512>>,
}

/// Inspections in the caller's scope, newest first.
#[utoipa::path(get, path = "/inspections", tag = "inspections", params(InspectionQuery),
    responses((status = 200, body = Page<InspectionOut>), (status = 401, body = ErrorEnvelope)))]
pub async fn list_inspections(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<InspectionQuery>,
) -> ApiResult<Json<Page<InspectionOut>>> {
    let page = page_request(&state, q.limit, q.cursor.as_deref())?;
    let rows = records::inspections(&state.db, &auth.user, q.enterprise_id, &page).await?;
    Ok(Json(page_out(&state, rows, InspectionOut::from)))
}

/// One inspection with its results.
#[utoipa::path(get, path = "/inspections/{id}", tag = "inspections", params(("id" = Uuid, Path)),
    responses((status = 200, body = InspectionOut), (status = 404, body = ErrorEnvelope)))]
pub async fn get_inspection(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<InspectionOut>> {
    Ok(Json(
        records::inspection(&state.db, &auth.user, id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HazardQuery {
    pub enterprise_id: Option<Uuid>,
    pub village_id: Option<Uuid>,
    #[param(inline)]
    pub status: Option<HazardStatus>,
    #[param(inline)]
    pub severity: Option<Severity>,
    pub overdue: Option<bool>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    #[param(inline)]
    pub cursor: Option<Text<512>>,
}

/// Hazards in the caller's scope, newest first.
#[utoipa::path(get, path = "/hazards", tag = "inspections", params(HazardQuery),
    responses((status = 200, body = Page<HazardOut>), (status = 400, body = ErrorEnvelope)))]
pub async fn list_hazards(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<HazardQuery>,
) -> ApiResult<Json<Page<HazardOut>>> {
    let page = page_request(&state, q.limit, q.cursor.as_deref())?;
    let f = records::HazardFilter {
        enterprise_id: q.enterprise_id,
        village_id: q.village_id,
        status: q.status,
        severity: q.severity,
        overdue: q.overdue,
    };
    let now = state.clock.now();
    let policy = state.settings.policy;
    let rows = records::hazards(&state.db, &auth.user, &f, (&policy, now), &page).await?;
    Ok(Json(page_out(&state, rows, |h| {
        HazardOut::new(h, &policy, now)
    })))
}

/// One hazard with its history.
#[utoipa::path(get, path = "/hazards/{id}", tag = "inspections", params(("id" = Uuid, Path)),
    responses((status = 200, body = HazardOut), (status = 404, body = ErrorEnvelope)))]
pub async fn get_hazard(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<HazardOut>> {
    let h = records::hazard(&state.db, &auth.user, id).await?;
    Ok(Json(HazardOut::new(
        h,
        &state.settings.policy,
        state.clock.now(),
    )))
}
