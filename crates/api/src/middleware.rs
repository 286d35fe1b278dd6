//! Request context, error-envelope normalisation, metrics, panics.

use anjian_domain::ErrorCode;
use std::any::Any;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::context::{self, Lang, RequestCtx};
use crate::error::{ApiError, Enveloped};
use crate::state::AppState;

/// A client's own `X-Request-Id`, for the log beside ours (never trusted,
/// never in the audit trail): printable ASCII, at most 64 characters.
fn client_request_id(req: &Request) -> Option<String> {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
}

/// Longest request target answered; longer ones get 414 in the envelope.
pub const MAX_URI: usize = 8 * 1024;

/// Whether the answer must not be cached: answers to a request that carried
/// credentials, and every answer of the API (tokens, records, refusals) but
/// its public OpenAPI document.
fn no_store(req: &Request) -> bool {
    let path = req.uri().path();
    req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key(header::COOKIE)
        || (path.starts_with("/api/v1/") && path != "/api/v1/openapi.json")
}

/// Sets the request context, turns any bare error status into the envelope,
/// adds `x-request-id`, logs and counts the request.
pub async fn context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let ctx = RequestCtx {
        request_id: uuid::Uuid::now_v7().to_string(),
        lang: Lang::from_headers(req.headers()),
    };
    let client_rid = client_request_id(&req);
    let no_store = no_store(&req);
    // The request target as sent (origin form), measured without copying it.
    let too_long = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI;
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let rid = ctx.request_id.clone();
    // Use cases' spans nest under the request's, so a JSON log line of a slow
    // push or a failed completion carries the request id.
    let span = tracing::info_span!("request", request_id = %rid, %method, route = %route);
    let mut resp = context::scope(
        ctx.clone(),
        tracing::Instrument::instrument(
            async move {
                if too_long {
                    return ApiError::new(StatusCode::URI_TOO_LONG, ErrorCode::UriTooLong)
                        .into_response();
                }
                let resp = next.run(req).await;
                if resp.status().as_u16() >= 400 && resp.extensions().get::<Enveloped>().is_none() {
                    ApiError::for_status(resp.status()).into_response()
                } else {
                    resp
                }
            },
            span,
        ),
    )
    .await;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if no_store {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status();
    state
        .metrics
        .observe(method.as_str(), &route, status.as_u16(), secs);
    let client_rid = client_rid.as_deref().unwrap_or("");
    if status.is_server_error() {
        tracing::warn!(request_id = %rid, client_request_id = client_rid, %method, route, status = status.as_u16(), ms = secs * 1e3, "request");
    } else {
        tracing::debug!(request_id = %rid, client_request_id = client_rid, %method, route, status = status.as_u16(), ms = secs * 1e3, "request");
    }
    resp
}

/// The answer to a panic in a handler: a 500 envelope; the panic goes to the log.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    let mut e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal);
    e.cause = Some(anyhow::anyhow!("handler panicked: {msg}"));
    e.into_response()
}
