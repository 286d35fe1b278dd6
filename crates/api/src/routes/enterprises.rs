//! The roster: list, get, create, patch, import.

use anjian_domain::ErrorCode;
use anjian_domain::enterprise::EnterpriseDraft;
use anjian_domain::{Capability, EnterpriseStatus, RiskTag, Text};
use anjian_usecases::reference;
use anjian_usecases::roster::ImportOutcome;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page_out, page_request};
use crate::dto::{
    EnterpriseIn, EnterpriseOut, EnterprisePatch, ErrorEnvelope, ImportOut, Page, RejectedRow,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Auth, IfMatch, PathId, body_bytes};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub village_id: Option<Uuid>,
    #[param(inline)]
    pub risk_tag: Option<RiskTag>,
    #[param(inline)]
    pub status: Option<EnterpriseStatus>,
    /// Matches name, credit code, address or contact name.
    #[param(inline)]
    pub q: Option<Text<100>>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    #[param(inline)]
    pub cursor: Option<Text<512>>,
}

fn with_etag(version: i64, body: EnterpriseOut) -> impl IntoResponse {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        h.insert(header::ETAG, v);
    }
    (h, Json(body))
}

/// Enterprises in the caller's scope.
#[utoipa::path(get, path = "/enterprises", tag = "reference", params(ListQuery),
    responses((status = 200, body = Page<EnterpriseOut>), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<EnterpriseOut>>> {
    let page = page_request(&state, q.limit, q.cursor.as_deref())?;
    let filter = reference::EnterpriseFilter {
        village_id: q.village_id,
        risk_tag: q.risk_tag,
        status: q.status,
        q: q.q.map(Into::into),
    };
    let rows = reference::enterprises(&state.db, &auth.user, &filter, &page).await?;
    Ok(Json(page_out(&state, rows, EnterpriseOut::from)))
}

/// One enterprise; 404 when outside the caller's scope.
#[utoipa::path(get, path = "/enterprises/{id}", tag = "reference",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EnterpriseOut, headers(("ETag" = String))), (status = 404, body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<impl IntoResponse> {
    let e = reference::enterprise(&state.db, &auth.user, id).await?;
    Ok(with_etag(e.version, e.into()))
}

/// Adds an enterprise to the roster (office, admin).
#[utoipa::path(post, path = "/enterprises", tag = "reference", request_body = EnterpriseIn,
    responses((status = 201, body = EnterpriseOut), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "credit code already on the roster"),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<EnterpriseIn>,
) -> ApiResult<impl IntoResponse> {
    auth.require(Capability::ManageRoster)?;
    let draft = EnterpriseDraft {
        credit_code: b.credit_code.into(),
        name: b.name.into(),
        address: b.address.into(),
        village_id: Some(b.village_id),
        industry_code: b.industry_code.into(),
        scale: b.scale.into(),
        risk_tags: b.risk_tags.into_vec().into_iter().map(Into::into).collect(),
        status: b.status.map(Into::into).unwrap_or_default(),
        contact_name: b.contact_name.into(),
        contact_phone: b.contact_phone.into(),
        lat: b.location.map(|l| l.lat),
        lon: b.location.map(|l| l.lon),
    };
    let e = reference::create_enterprise(&state.db, auth.actor(), &auth.user, &draft).await?;
    Ok((StatusCode::CREATED, with_etag(e.version, e.into())))
}

/// Changes an enterprise (office, admin). `If-Match: <version>` guards against
/// overwriting a change made meanwhile (409 `version_mismatch`).
#[utoipa::path(patch, path = "/enterprises/{id}", tag = "reference", request_body = EnterprisePatch,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#, description = "the version the change is based on")),
    responses((status = 200, body = EnterpriseOut), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    IfMatch(if_match): IfMatch,
    ApiJson(p): ApiJson<EnterprisePatch>,
) -> ApiResult<impl IntoResponse> {
    auth.require(Capability::ManageRoster)?;
    let e =
        reference::update_enterprise(&state.db, auth.actor(), &auth.user, (id, if_match), |d| {
            if let Some(v) = p.credit_code {
                d.credit_code = v.into();
            }
            if let Some(v) = p.name {
                d.name = v.into();
            }
            if let Some(v) = p.address {
                d.address = v.into();
            }
            if let Some(v) = p.village_id {
                d.village_id = Some(v);
            }
            if let Some(v) = p.industry_code {
                d.industry_code = v.into();
            }
            if let Some(v) = p.scale {
                d.scale = v.into();
            }
            if let Some(v) = p.risk_tags {
                d.risk_tags = v.into_vec().into_iter().map(Into::into).collect();
            }
            if let Some(v) = p.status {
                d.status = v.into();
            }
            if let Some(v) = p.contact_name {
                d.contact_name = v.into();
            }
            if let Some(v) = p.contact_phone {
                d.contact_phone = v.into();
            }
            if let Some(loc) = p.location {
                d.lat = loc.map(|l| l.lat);
                d.lon = loc.map(|l| l.lon);
            }
        })
        .await?;
    Ok(with_etag(e.version, e.into()))
}

/// Largest roster file accepted.
pub const IMPORT_LIMIT: usize = 20 * 1024 * 1024;

/// Imports a roster file (office, admin): CSV (UTF-8) or XLSX, as the raw body.
/// Rows are matched by credit code; a rejected row changes nothing.
#[utoipa::path(post, path = "/enterprises/import", tag = "reference",
    request_body(content_type = "text/csv", content = Vec<u8>,
        description = "The roster as CSV (text/csv) or XLSX (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)"),
    responses((status = 200, body = ImportOut), (status = 403, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn import(
    State(state): State<AppState>,
    auth: Auth,
    req: Request,
) -> ApiResult<Json<ImportOut>> {
    auth.require(Capability::ManageRoster)?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let accepted = [
        "text/csv",
        "application/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/octet-stream",
    ];
    if !accepted.contains(&ct.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        )
        .with_details(json!({ "expected": accepted })));
    }
    let bytes = body_bytes(req, &state).await?;
    let out: ImportOutcome =
        reference::import_roster(&state.db, auth.actor(), &auth.user, &bytes).await?;
    Ok(Json(ImportOut {
        created: out.created,
        updated: out.updated,
        unchanged: out.unchanged,
        rejected: out
            .rejected
            .into_iter()
            .map(|r| RejectedRow {
                row: r.row,
                errors: r.errors,
            })
            .collect(),
    }))
}
