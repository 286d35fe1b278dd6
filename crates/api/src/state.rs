//! Shared state of the HTTP layer.

use std::sync::Arc;

use anjian_store::Db;

use crate::metrics::Metrics;
use crate::token::TokenKeys;

/// Settings the API needs from the binary's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of links handed out (`ANJIAN_PUBLIC_URL`).
    pub public_url: String,
    /// Lifetime of an access token.
    pub access_ttl_secs: i64,
    /// Default deadlines and the office time zone.
    pub policy: anjian_domain::DeadlinePolicy,
}

/// Everything a handler may reach.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub db: Db,
    pub keys: TokenKeys,
    pub settings: Settings,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(db: Db, secret: &[u8], settings: Settings) -> AppState {
        AppState(Arc::new(Inner {
            db,
            keys: TokenKeys::new(secret),
            settings,
            metrics: Metrics::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
