//! The one API error: every failure becomes the envelope of api.md
//! `{"error": {"code", "message", "request_id", "details"}}`.

use anjian_domain::ErrorCode;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::context::{self, Lang};

/// An error answer: status, stable code, optional details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
    /// The cause, logged for `internal` and never sent.
    pub cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode) -> Self {
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
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
            .with_details(json!({ "reason": reason }))
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated)
    }

    pub fn validation(field: &str, reason: &str) -> Self {
        Self::from(anjian_domain::Error::validation(field, reason))
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal);
        e.cause = Some(cause.into());
        e
    }

    /// The error an HTTP status stands for, when something other than a handler
    /// (the router, a layer) answered with a bare status.
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => ErrorCode::InvalidRequest,
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::Timeout,
            StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
            _ => ErrorCode::Internal,
        };
        let status = if code == ErrorCode::Internal && !status.is_server_error() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        };
        Self::new(status, code)
    }
}

/// The user-facing message of a code, zh-CN first.
pub fn message(code: ErrorCode, lang: Lang) -> &'static str {
    let (zh, en) = match code {
        ErrorCode::InvalidRequest => ("请求格式有误", "The request is malformed"),
        ErrorCode::Unauthenticated => (
            "未登录或登录已失效，请重新登录",
            "Missing, expired or revoked credentials",
        ),
        ErrorCode::Forbidden => ("当前角色无权执行此操作", "Your role may not do this"),
        ErrorCode::PasswordChangeRequired => {
            ("请先修改初始密码", "Change your initial password first")
        }
        ErrorCode::NotFound => ("记录不存在", "Not found"),
        ErrorCode::MethodNotAllowed => ("不支持此请求方法", "Method not allowed on this path"),
        ErrorCode::Conflict => ("与现有数据冲突", "Conflicts with existing data"),
        ErrorCode::InvalidTransition => (
            "当前状态不允许此操作",
            "The current status does not allow this",
        ),
        ErrorCode::VersionMismatch => (
            "记录已被他人修改，请刷新后重试",
            "The record was changed meanwhile; reload and retry",
        ),
        ErrorCode::PayloadTooLarge => ("请求内容过大", "Payload too large"),
        ErrorCode::UnsupportedMediaType => ("不支持的内容类型", "Unsupported content type"),
        ErrorCode::ValidationFailed => (
            "提交的内容有误，请检查标注的字段",
            "Validation failed; see the fields listed",
        ),
        ErrorCode::RateLimited => (
            "尝试次数过多，请稍后再试",
            "Too many attempts; try again later",
        ),
        ErrorCode::Timeout => ("请求超时", "Request timed out"),
        ErrorCode::UriTooLong => ("请求地址过长", "The request URL is too long"),
        ErrorCode::UpgradeRequired => (
            "客户端版本过旧，请升级后再同步",
            "This client's sync protocol is not supported; upgrade it",
        ),
        ErrorCode::Unavailable => (
            "服务暂时不可用，请稍后重试",
            "Temporarily unavailable; retry later",
        ),
        ErrorCode::ChecksumMismatch => (
            "照片内容与声明的大小或校验值不符，请重新上传",
            "The bytes do not match the declared size or SHA-256; upload again",
        ),
        ErrorCode::NotAnImage => (
            "文件不是可识别的 JPEG、PNG 或 WebP 图片",
            "Not a readable JPEG, PNG or WebP image",
        ),
        ErrorCode::ImageTooLarge => (
            "图片过大（最大 25 MB、5000 万像素）",
            "Image too large (at most 25 MB and 50 megapixels)",
        ),
        ErrorCode::NotUploaded => ("照片尚未上传", "The photo's bytes have not arrived yet"),
        ErrorCode::NotReady => (
            "照片正在处理，请稍后再试",
            "The photo is being processed; try again shortly",
        ),
        ErrorCode::SeqReused => (
            "该序号已用于另一条修改",
            "This sequence number was already used for a different change",
        ),
        ErrorCode::Internal => (
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
            tracing::error!(request_id = %ctx.request_id, code = %self.code, error = ?cause, "request failed");
        }
        let body = json!({ "error": Body {
            code: self.code.as_str(),
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
            E::PasswordChangeRequired => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::PasswordChangeRequired)
            }
            E::Conflict(what) => Self::new(StatusCode::CONFLICT, ErrorCode::Conflict)
                .with_details(json!({ "field": what })),
            E::VersionMismatch { current } => {
                Self::new(StatusCode::CONFLICT, ErrorCode::VersionMismatch)
                    .with_details(json!({ "current_version": current }))
            }
            E::InvalidTransition { from, missing } => {
                let mut d = json!({ "from_status": from });
                if let Some(m) = missing {
                    d["missing"] = json!(m);
                }
                Self::new(StatusCode::CONFLICT, ErrorCode::InvalidTransition).with_details(d)
            }
            E::Validation(fields) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
            )
            .with_details(json!({ "fields": fields })),
            E::RateLimited { retry_after_secs } => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
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
