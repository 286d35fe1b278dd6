//! `POST /sync/push`, `GET /sync/pull`.

use anjian_domain::ErrorCode;
use anjian_usecases::sync::{self, CursorState, Record, fingerprint};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::context;
use crate::dto::{
    ChangeOut, ErrorEnvelope, HazardOut, PhotoOut, PullOut, PushIn, PushOut, PushResultOut,
    RecordOut, ResultError,
};
use crate::error::{ApiError, ApiResult, message};
use crate::extract::{ApiQuery, Auth, body_bytes, parse_json};
use crate::state::AppState;

/// Applies a device's queued mutations in `seq` order, each at most once.
#[utoipa::path(post, path = "/sync/push", tag = "sync", request_body = PushIn,
    responses((status = 200, body = PushOut), (status = 403, body = ErrorEnvelope, description = "another user's device"),
        (status = 413, body = ErrorEnvelope), (status = 426, body = ErrorEnvelope, description = "unsupported protocol"),
        (status = 503, body = ErrorEnvelope, description = "nothing could be processed; retry later")))]
pub async fn push(
    State(state): State<AppState>,
    auth: Auth,
    req: Request,
) -> ApiResult<Json<PushOut>> {
    let ct = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        ));
    }
    let bytes = body_bytes(req, &state).await?;
    /// Only the protocol; everything else is skipped without being built.
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        protocol: Option<serde_json::Value>,
    }
    let probe: Probe = parse_json(&bytes)?;
    // The protocol is checked before the shape, so that a future client's queue is kept.
    if let Some(p) = probe.protocol.as_ref().and_then(serde_json::Value::as_i64)
        && p != sync::PROTOCOL
    {
        return Err(
            ApiError::new(StatusCode::UPGRADE_REQUIRED, ErrorCode::UpgradeRequired)
                .with_details(json!({ "supported": [sync::PROTOCOL] })),
        );
    }
    let body: PushIn = parse_json(&bytes)?;
    if body.mutations.len() > sync::MAX_MUTATIONS {
        return Err(
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
                .with_details(json!({ "max_mutations": sync::MAX_MUTATIONS })),
        );
    }
    let answer = sync::push(
        &state.db,
        state.clock.as_ref(),
        auth.actor(),
        &auth.user,
        body.device_id,
        body.mutations,
        &sync::PushSettings {
            policy: state.settings.policy,
            max_pending_photos: state.settings.max_pending_photos,
        },
    )
    .await
    .map_err(|e| match e {
        anjian_domain::Error::Internal(cause) => {
            let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable);
            e.retry_after = Some(5);
            e.cause = Some(cause);
            e
        }
        other => other.into(),
    })?;
    let lang = context::current().lang;
    let now = state.clock.now();
    Ok(Json(PushOut {
        results: answer
            .results
            .into_iter()
            .map(|r| PushResultOut {
                seq: r.outcome.seq,
                status: r.outcome.status,
                entity_type: r.outcome.entity_type,
                entity_id: r.outcome.entity_id,
                version: r.outcome.version,
                replayed: r.replayed,
                error: r.outcome.error.map(|e| ResultError {
                    message: message(
                        ErrorCode::parse(&e.code).unwrap_or(ErrorCode::Internal),
                        lang,
                    )
                    .to_owned(),
                    code: e.code,
                    details: e.details,
                }),
                server_entity: r
                    .server_entity
                    .map(|h| HazardOut::new(h, &state.settings.policy, now)),
            })
            .collect(),
        last_processed_seq: answer.last_processed_seq,
        server_time: now,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    pub device_id: Uuid,
    #[param(inline)]
    pub cursor: Option<anjian_domain::Text<4096>>,
    /// Default 500, at most 2000.
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<usize>,
}

fn data_of(
    r: Record,
    state: &AppState,
    show_gps: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> RecordOut {
    match r {
        Record::Village(v) => RecordOut::Village(v.into()),
        Record::Enterprise(e) => RecordOut::Enterprise(e.into()),
        Record::Template(t) => RecordOut::Template(t.into()),
        Record::Inspection(i) => RecordOut::Inspection(i.into()),
        Record::Hazard(h) => RecordOut::Hazard(HazardOut::new(h, &state.settings.policy, now)),
        Record::Photo(p) => RecordOut::Photo(PhotoOut::new(p, show_gps)),
        Record::Rectification(r) => RecordOut::Rectification(r.into()),
        Record::ExtensionRequest(x) => RecordOut::ExtensionRequest(x.into()),
    }
}

/// Changes of the caller's scope after `cursor`; without a cursor, a full snapshot in pages.
#[utoipa::path(get, path = "/sync/pull", tag = "sync", params(PullQuery),
    responses((status = 200, body = PullOut), (status = 403, body = ErrorEnvelope, description = "another user's device")))]
pub async fn pull(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> ApiResult<Json<PullOut>> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=2000).contains(&limit) {
        return Err(ApiError::bad_request("limit"));
    }
    let cursor = q.cursor.as_deref().filter(|c| !c.is_empty()).map(|c| {
        state
            .keys
            .open("sync", c)
            .and_then(|raw| serde_json::from_slice::<CursorState>(&raw).ok())
    });
    let a = sync::pull(&state.db, &auth.user, q.device_id, cursor, limit).await?;
    debug_assert_eq!(a.cursor.scope, fingerprint(&auth.user));
    let sealed = state.keys.seal(
        "sync",
        &serde_json::to_vec(&a.cursor).map_err(ApiError::internal)?,
    );
    let show_gps = anjian_usecases::photos::may_see_original(&auth.user);
    let now = state.clock.now();
    Ok(Json(PullOut {
        changes: a
            .changes
            .into_iter()
            .map(|c| ChangeOut {
                entity_type: c.entity_type.to_owned(),
                entity_id: c.entity_id,
                op: if c.data.is_some() { "upsert" } else { "delete" }.to_owned(),
                version: c.version,
                data: c.data.map(|d| data_of(d, &state, show_gps, now)),
            })
            .collect(),
        cursor: sealed,
        has_more: a.has_more,
        reset: a.reset,
        last_processed_seq: a.last_processed_seq,
    }))
}
