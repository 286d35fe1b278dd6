//! The app's own extractors, so that every rejection is the envelope.

use anjian_domain::ErrorCode;
use anjian_domain::{Role, Scope};
use anjian_store::Actor;
use anjian_store::repo::users::User;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

use crate::context;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body: 415 without a JSON content type, 413 over the body limit,
/// 400 when it is not JSON, 422 (with the field path) when it has the wrong shape.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

fn is_json(ct: Option<&str>) -> bool {
    ct.and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Reads the whole body, mapping the body-limit rejection to 413.
pub async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
        } else {
            ApiError::bad_request("body")
        }
    })
}

/// Parses JSON bytes into `T` with the error mapping of [`ApiJson`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let field = if path == "." { "body".to_owned() } else { path };
                    let reason = data_reason(&inner.to_string());
                    Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ErrorCode::ValidationFailed,
                    )
                    .with_details(json!({ "fields": { field: [reason] } })))
                }
                _ => Err(ApiError::bad_request("malformed_json").with_details(json!({
                    "reason": "malformed_json", "line": inner.line(), "column": inner.column()
                }))),
            }
        }
    }
}

/// A short machine-readable reason from serde's message.
fn data_reason(msg: &str) -> String {
    anjian_domain::text::serde_reason(msg)
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !is_json(ct) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            )
            .with_details(json!({ "expected": "application/json" })));
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body read now and parsed later, for commands whose refusals come
/// in api.md's order (scope 404, role 403, then the body): the handler checks
/// the first two, then calls [`LaterJson::parse`] (415, 400 or 422).
#[derive(Debug, Clone)]
pub struct LaterJson<T> {
    json: bool,
    bytes: Bytes,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> LaterJson<T> {
    pub fn parse(&self) -> Result<T, ApiError> {
        if !self.json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            )
            .with_details(json!({ "expected": "application/json" })));
        }
        parse_json(&self.bytes)
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for LaterJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = is_json(
            req.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        Ok(LaterJson {
            json,
            bytes: body_bytes(req, state).await?,
            _t: std::marker::PhantomData,
        })
    }
}

/// A query string; 400 when it does not parse, 422 (with the parameter) for
/// text the rules of [`anjian_domain::Text`] refuse.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let param = anjian_domain::text::echo(&e.path().to_string());
                let reason = data_reason(&e.inner().to_string());
                if matches!(reason.as_str(), "control_character" | "too_long") {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ErrorCode::ValidationFailed,
                    )
                    .with_details(json!({ "fields": { param: [reason] } }))
                } else {
                    // serde's wording may quote the input: only the parameter and a code go back.
                    ApiError::bad_request("query").with_details(
                        json!({ "reason": "query", "parameter": param, "problem": reason }),
                    )
                }
            })
    }
}

/// A record id in the path; an id that is not a UUID names nothing (404).
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found())?;
        raw.parse().map(PathId).map_err(|_| ApiError::not_found())
    }
}

/// `If-Match: <version>` (quotes and `W/` accepted); absent is `None`.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let s = v.to_str().unwrap_or("").trim();
        let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
        s.parse::<i64>()
            .map(|n| IfMatch(Some(n)))
            .map_err(|_| ApiError::bad_request("if_match"))
    }
}

/// The signed-in user of a request (Bearer access token), checked against the
/// login store on every request so revocation is immediate.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
    pub login_id: Uuid,
    pub scope: Scope,
}

impl Auth {
    pub fn role(&self) -> Role {
        self.user.role()
    }

    /// 403 unless the user's role has `cap` (checked before the body is
    /// read, as api.md orders refusals; the use case checks it again).
    pub fn require(&self, cap: anjian_domain::Capability) -> Result<(), ApiError> {
        anjian_usecases::access::require(&self.user, cap).map_err(ApiError::from)
    }

    /// The audit actor of this request.
    pub fn actor(&self) -> Actor {
        Actor::user(self.user.user.id, Some(context::current().request_id))
    }
}

/// What an account whose password must be changed may still do (api.md
/// "Auth"): read `GET /me`, change the password, log out.
fn allowed_before_password_change(parts: &Parts) -> bool {
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path(), |u| u.0.path());
    matches!(
        (parts.method.as_str(), path),
        ("GET", "/api/v1/me") | ("POST", "/api/v1/me/password") | ("POST", "/api/v1/auth/logout")
    )
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(ApiError::unauthenticated)?;
        let login_id = state
            .keys
            .verify_access(token, chrono::Utc::now().timestamp())
            .ok_or_else(ApiError::unauthenticated)?;
        let user =
            anjian_usecases::access::authenticate((&state.db, state.clock.as_ref()), login_id)
                .await?;
        if user.user.must_change_password && !allowed_before_password_change(parts) {
            return Err(ApiError::from(anjian_domain::Error::PasswordChangeRequired));
        }
        let scope = user.scope();
        Ok(Auth {
            user,
            login_id,
            scope,
        })
    }
}
