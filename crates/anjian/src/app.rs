//! Wiring: database, seeds, the first admin, the HTTP server, the scheduler.

use std::net::SocketAddr;
use std::time::Instant;

use anjian_api::{AppState, Settings};
use anjian_store::{Db, repo, seed};
use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;

/// What `start` should do besides serving.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Create the demo accounts.
    pub demo: bool,
    /// Run the cron scheduler (off in tests that don't need it).
    pub scheduler: bool,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub public_url: String,
    /// Set when the first admin was created here with a generated password.
    pub admin_password: Option<String>,
    pub demo_accounts: Vec<String>,
    pub db: Db,
    /// The object store photos go to.
    pub objects: anjian_evidence::ObjectStore,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    scheduler: Option<tokio_cron_scheduler::JobScheduler>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, stops the scheduler.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut s) = self.scheduler.take() {
            let _ = s.shutdown().await;
        }
        (&mut self.server).await.context("server task")??;
        Ok(())
    }

    /// Waits until the server ends (after a shutdown signal).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.server).await.context("server task")??;
        if let Some(mut s) = self.scheduler.take() {
            let _ = s.shutdown().await;
        }
        Ok(())
    }
}

/// Connects, migrates and loads the seeds (idempotent).
pub async fn prepare(config: &Config) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let db = Db::connect(&config.database_url()).await?;
    db.migrate().await?;
    let t = Instant::now();
    let report = seed::load(&db, &crate::seeds::files())
        .await
        .map_err(|e| anyhow::anyhow!("loading seeds: {e:?}"))?;
    if report != seed::SeedReport::default() {
        tracing::info!(?report, ms = t.elapsed().as_millis() as u64, "seeds loaded");
    }
    Ok(db)
}

/// Starts everything and returns once the listener is bound.
pub async fn start(config: &Config, opts: StartOptions) -> anyhow::Result<Running> {
    let db = prepare(config).await?;
    let admin_password =
        repo::users::ensure_admin(&db, config.admin_password.as_ref().map(|s| s.0.as_str()))
            .await
            .map_err(|e| anyhow::anyhow!("creating the first admin: {e:?}"))?;
    let demo_accounts = if opts.demo {
        seed::demo_accounts(&db)
            .await
            .map_err(|e| anyhow::anyhow!("demo accounts: {e:?}"))?
    } else {
        Vec::new()
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url(addr);
    let settings = Settings {
        public_url: public_url.clone(),
        access_ttl_secs: 900,
        policy: anjian_domain::DeadlinePolicy {
            tz: config.timezone,
            ..Default::default()
        },
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let secret = config.secret_key()?;
    let photos = crate::photos::photos(config, &secret, addr, &public_url)?;
    let objects = photos.store.clone();
    let state = AppState::with_photos(db.clone(), &secret, settings, Some(photos));
    let app = anjian_api::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    let scheduler = if opts.scheduler {
        Some(anjian_scheduler::start(db.clone(), config.timezone).await?)
    } else {
        None
    };
    Ok(Running {
        addr,
        public_url,
        admin_password,
        demo_accounts,
        db,
        objects,
        shutdown: Some(tx),
        server,
        scheduler,
    })
}
