//! The one error type of the domain and store; the API maps it to the envelope.

use std::collections::BTreeMap;

use serde::Serialize;

/// `details.fields` of a `validation_failed` error: field → reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(reason.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every problem of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (k, rs) in other.0 {
            self.0.entry(k).or_default().extend(rs);
        }
    }

    /// `Ok(())` when empty, otherwise a `validation_failed` error.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }
}

/// Everything that can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown, or outside the caller's scope: the same answer for both.
    #[error("not found")]
    NotFound,
    #[error("missing, expired or revoked credentials")]
    Unauthenticated,
    #[error("the role may not do this")]
    Forbidden,
    /// The account's password was set by someone else and must be changed first.
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stale version: current is {current}")]
    VersionMismatch { current: i64 },
    #[error("transition not allowed from {from}")]
    InvalidTransition {
        from: String,
        missing: Option<String>,
    },
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A validation error on one field.
    pub fn validation(field: &str, reason: &str) -> Self {
        let mut f = FieldErrors::new();
        f.add(field, reason);
        Error::Validation(f)
    }

    /// An unexpected failure, with its cause kept for the log.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Error::Internal(e.into())
    }
}

/// The one vocabulary of error codes (api.md "Conventions"): the `code` of a
/// REST error envelope and of a push result's `error` alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    Unauthenticated,
    Forbidden,
    PasswordChangeRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    InvalidTransition,
    VersionMismatch,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    Timeout,
    UriTooLong,
    UpgradeRequired,
    Unavailable,
    ChecksumMismatch,
    NotAnImage,
    ImageTooLarge,
    NotUploaded,
    NotReady,
    SeqReused,
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 24] = [
        ErrorCode::InvalidRequest,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::InvalidTransition,
        ErrorCode::VersionMismatch,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationFailed,
        ErrorCode::RateLimited,
        ErrorCode::Timeout,
        ErrorCode::UriTooLong,
        ErrorCode::UpgradeRequired,
        ErrorCode::Unavailable,
        ErrorCode::ChecksumMismatch,
        ErrorCode::NotAnImage,
        ErrorCode::ImageTooLarge,
        ErrorCode::NotUploaded,
        ErrorCode::NotReady,
        ErrorCode::SeqReused,
        ErrorCode::Internal,
    ];

    /// The code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::PasswordChangeRequired => "password_change_required",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Timeout => "timeout",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::UpgradeRequired => "upgrade_required",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::ChecksumMismatch => "checksum_mismatch",
            ErrorCode::NotAnImage => "not_an_image",
            ErrorCode::ImageTooLarge => "image_too_large",
            ErrorCode::NotUploaded => "not_uploaded",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::SeqReused => "seq_reused",
            ErrorCode::Internal => "internal",
        }
    }
}

impl ErrorCode {
    /// The code a stored answer names (push outcomes are kept as written).
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The code this error answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound => ErrorCode::NotFound,
            Error::Unauthenticated => ErrorCode::Unauthenticated,
            Error::Forbidden => ErrorCode::Forbidden,
            Error::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::VersionMismatch { .. } => ErrorCode::VersionMismatch,
            Error::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::BadRequest(_) => ErrorCode::InvalidRequest,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_every_error_has_one() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::parse("teapot"), None);
        assert_eq!(
            Error::validation("x", "y").code(),
            ErrorCode::ValidationFailed
        );
        assert_eq!(Error::Conflict("id".into()).code(), ErrorCode::Conflict);
    }
}
