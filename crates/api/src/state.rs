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
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Timeouts and the connection cap of the listener.
    pub limits: crate::server::Limits,
    /// Photos one user may have declared and not yet uploaded.
    pub max_pending_photos: i64,
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
    /// The object store and image processing; `None` only in tests of the
    /// HTTP layer alone, where photo routes answer `unavailable`.
    pub photos: Option<Photos>,
    /// The time use cases run at.
    pub clock: Arc<dyn anjian_domain::Clock>,
}

pub use anjian_usecases::photos::Photos;

impl AppState {
    /// State without an object store (photo routes answer `unavailable`).
    pub fn new(db: Db, secret: &[u8], settings: Settings) -> AppState {
        AppState::with_photos(
            db,
            secret,
            settings,
            (None, Arc::new(anjian_domain::SystemClock)),
        )
    }

    /// State with photo evidence, its use cases run at `clock`'s time.
    pub fn with_photos(
        db: Db,
        secret: &[u8],
        settings: Settings,
        (photos, clock): (Option<Photos>, Arc<dyn anjian_domain::Clock>),
    ) -> AppState {
        AppState(Arc::new(Inner {
            db,
            keys: TokenKeys::new(secret),
            settings,
            metrics: Metrics::default(),
            photos,
            clock,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
