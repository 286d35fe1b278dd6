//! The one API error: every failure becomes the envelope of api.md
//! `{"error": {"code", "message", "request_id", "details"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::context::{self, Lang};

/// An error answer: status, stable code, optional details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
    /// The cause, logged for `internal` and never sent.
    pub cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            details: None,
            retry_after: None,
            cause: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(reason: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request")
            .with_details(json!({ "reason": reason }))
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated")
    }

    pub fn validation(field: &str, reason: &str) -> Self {
        Self::from(anjian_domain::Error::validation(field, reason))
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal");
        e.cause = Some(cause.into());
        e
    }

    /// The error an HTTP status stands for, when something other than a handler
    /// (the router, a layer) answered with a bare status.
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => "invalid_request",
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            StatusCode::URI_TOO_LONG => "uri_too_long",
            _ => "internal",
        };
        let status = if code == "internal" && !status.is_server_error() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        };
        Self::new(status, code)
    }
}

/// The user-facing message of a code, zh-CN first.
pub fn message(code: &str, lang: Lang) -> &'static str {
    let (zh, en) = match code {
        "invalid_request" => ("请求格式有误", "The request is malformed"),
        "unauthenticated" => (
            "未登录或登录已失效，请重新登录",
            "Missing, expired or revoked credentials",
        ),
        "forbidden" => ("当前角色无权执行此操作", "Your role may not do this"),
        "not_found" => ("记录不存在", "Not found"),
        "method_not_allowed" => ("不支持此请求方法", "Method not allowed on this path"),
        "conflict" => ("与现有数据冲突", "Conflicts with existing data"),
        "invalid_transition" => (
            "当前状态不允许此操作",
            "The current status does not allow this",
        ),
        "version_mismatch" => (
            "记录已被他人修改，请刷新后重试",
            "The record was changed meanwhile; reload and retry",
        ),
        "payload_too_large" => ("请求内容过大", "Payload too large"),
        "unsupported_media_type" => ("不支持的内容类型", "Unsupported content type"),
        "validation_failed" => (
            "提交的内容有误，请检查标注的字段",
            "Validation failed; see the fields listed",
        ),
        "rate_limited" => (
            "尝试次数过多，请稍后再试",
            "Too many attempts; try again later",
        ),
        "timeout" => ("请求超时", "Request timed out"),
        "uri_too_long" => ("请求地址过长", "The request URL is too long"),
        "upgrade_required" => (
            "客户端版本过旧，请升级后再同步",
            "This client's sync protocol is not supported; upgrade it",
        ),
        "unavailable" => (
            "服务暂时不可用，请稍后重试",
            "Temporarily unavailable; retry later",
        ),
        "checksum_mismatch" => (
            "照片内容与声明的大小或校验值不符，请重新上传",
            "The bytes do not match the declared size or SHA-256; upload again",
        ),
        "not_an_image" => (
            "文件不是可识别的 JPEG、PNG 或 WebP 图片",
            "Not a readable JPEG, PNG or WebP image",
        ),
        "image_too_large" => (
            "图片过大（最大 25 MB、5000 万像素）",
            "Image too large (at most 25 MB and 50 megapixels)",
        ),
        "not_uploaded" => ("照片尚未上传", "The photo's bytes have not arrived yet"),
        "seq_reused" => (
            "该序号已用于另一条修改",
            "This sequence number was already used for a different change",
        ),
        _ => (
            "服务器内部错误，请稍后重试",
            "Internal server error; try again later",
        ),
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ctx = context::current();
        if let Some(cause) = &self.cause {
            tracing::error!(request_id = %ctx.request_id, code = self.code, error = ?cause, "request failed");
        }
        let body = json!({ "error": Body {
            code: self.code,
            message: message(self.code, ctx.lang),
            request_id: &ctx.request_id,
            details: self.details.as_ref(),
        }});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp.extensions_mut().insert(Enveloped);
        resp
    }
}

/// Marks a response whose body is final: the envelope, or another body a
/// route documents for an error status (the readiness report, the S3 XML of
/// the embedded store). The error layer rewrites only unmarked error answers.
#[derive(Debug, Clone, Copy)]
pub struct Enveloped;

impl From<anjian_domain::Error> for ApiError {
    fn from(e: anjian_domain::Error) -> Self {
        use anjian_domain::Error as E;
        match e {
            E::NotFound => Self::not_found(),
            E::Unauthenticated => Self::unauthenticated(),
            E::Forbidden => Self::forbidden(),
            E::Conflict(what) => {
                Self::new(StatusCode::CONFLICT, "conflict").with_details(json!({ "field": what }))
            }
            E::VersionMismatch { current } => Self::new(StatusCode::CONFLICT, "version_mismatch")
                .with_details(json!({ "current_version": current })),
            E::InvalidTransition { from, missing } => {
                let mut d = json!({ "from_status": from });
                if let Some(m) = missing {
                    d["missing"] = json!(m);
                }
                Self::new(StatusCode::CONFLICT, "invalid_transition").with_details(d)
            }
            E::Validation(fields) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                    .with_details(json!({ "fields": fields }))
            }
            E::RateLimited { retry_after_secs } => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                    .with_details(json!({ "retry_after": retry_after_secs }));
                e.retry_after = Some(retry_after_secs);
                e
            }
            E::BadRequest(reason) => Self::bad_request(&reason),
            E::Internal(cause) => Self::internal(cause),
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
