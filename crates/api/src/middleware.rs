//! Request context, error-envelope normalisation, metrics, panics.

use std::any::Any;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::context::{self, Lang, RequestCtx};
use crate::error::{ApiError, Enveloped};
use crate::state::AppState;

fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Sets the request context, turns any bare error status into the envelope,
/// adds `x-request-id`, logs and counts the request.
pub async fn context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let ctx = RequestCtx {
        request_id: request_id(&req),
        lang: Lang::from_headers(req.headers()),
    };
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let rid = ctx.request_id.clone();
    let mut resp = context::scope(ctx.clone(), async move {
        let resp = next.run(req).await;
        if resp.status().as_u16() >= 400 && resp.extensions().get::<Enveloped>().is_none() {
            ApiError::for_status(resp.status()).into_response()
        } else {
            resp
        }
    })
    .await;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status();
    state
        .metrics
        .observe(method.as_str(), &route, status.as_u16(), secs);
    if status.is_server_error() {
        tracing::warn!(request_id = %rid, %method, route, status = status.as_u16(), ms = secs * 1e3, "request");
    } else {
        tracing::debug!(request_id = %rid, %method, route, status = status.as_u16(), ms = secs * 1e3, "request");
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
    let mut e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    e.cause = Some(anyhow::anyhow!("handler panicked: {msg}"));
    e.into_response()
}
