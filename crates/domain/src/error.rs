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

pub type Result<T, E = Error> = std::result::Result<T, E>;
