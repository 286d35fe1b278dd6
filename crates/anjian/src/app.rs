//! Wiring: database, seeds, the first admin, the HTTP server, the scheduler.

use std::net::SocketAddr;
use std::time::Instant;

use anjian_api::{AppState, Settings};
use anjian_store::Db;
use anjian_usecases::setup;
use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;

/// What `start` should do besides serving.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Create the demo accounts.
    pub demo: bool,
    /// With `demo`: at the first such start, a year of synthetic history.
    pub demo_history: bool,
    /// Run the cron scheduler (off in tests that don't need it).
    pub scheduler: bool,
    /// The time use cases run at; the wall clock when `None`.
    pub clock: Option<std::sync::Arc<dyn anjian_domain::Clock>>,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub public_url: String,
    /// Set when the first admin was created here with a generated password.
    pub admin_password: Option<String>,
    pub demo_accounts: Vec<String>,
    /// What the demo history made at this start (its first with `--demo`).
    pub demo_history: Option<crate::demo::Report>,
    pub db: Db,
    /// The object store photos go to.
    pub objects: anjian_evidence::ObjectStore,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    scheduler: Option<tokio_cron_scheduler::JobScheduler>,
    /// The embedded store's loopback listener for the server's own calls.
    internal_store: Option<JoinHandle<std::io::Result<()>>>,
    /// The workers making photo variants; dropped, they stop.
    variant_workers: tokio::task::JoinSet<()>,
    /// The outbox's sender, when mail or a webhook is configured.
    mail_sender: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.internal_store.take() {
            t.abort();
        }
        self.variant_workers.abort_all();
        if let Some(t) = self.mail_sender.take() {
            t.abort();
        }
    }
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
        if let Some(t) = self.internal_store.take() {
            t.abort();
        }
        self.variant_workers.abort_all();
        if let Some(t) = self.mail_sender.take() {
            t.abort();
        }
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
    restrict(&config.data_dir, 0o700)?;
    let db = Db::connect(&config.database_url()).await?;
    if config.database_url.is_none() {
        // The database, its WAL and shared memory: the owner's alone.
        for suffix in ["", "-wal", "-shm"] {
            let f = config.data_dir.join(format!("anjian.db{suffix}"));
            if f.exists() {
                restrict(&f, 0o600)?;
            }
        }
    }
    db.migrate().await?;
    let t = Instant::now();
    let report = setup::seed(&db, &crate::seeds::files())
        .await
        .context("loading seeds")?;
    if report != setup::SeedReport::default() {
        tracing::info!(?report, ms = t.elapsed().as_millis() as u64, "seeds loaded");
    }
    Ok(db)
}

/// Gives `path` the permission bits `mode` (Unix): the data dir holds the
/// signing key, the database and every photo.
fn restrict(path: &std::path::Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Age (days) past which the daily sweep removes an abandoned photo upload.
pub const SWEEP_DAYS: u32 = 7;

/// What scheduled jobs work with, from the configuration.
pub fn job_context(
    config: &Config,
    db: &Db,
    store: Option<anjian_evidence::ObjectStore>,
) -> anjian_scheduler::JobContext {
    anjian_scheduler::JobContext {
        db: db.clone(),
        policy: config.policy(),
        store,
        lease: chrono::Duration::seconds(
            i64::try_from(config.job_lease_secs).unwrap_or(i64::MAX / 1000),
        ),
        sweep_days: SWEEP_DAYS,
        long_overdue_days: config.long_overdue_days,
        report_recipients: if config.smtp_url.is_some() {
            config.report_recipients.clone()
        } else {
            Vec::new()
        },
    }
}

/// Starts everything and returns once the listener is bound.
pub async fn start(config: &Config, opts: StartOptions) -> anyhow::Result<Running> {
    let db = prepare(config).await?;
    let admin_password =
        setup::ensure_admin(&db, config.admin_password.as_ref().map(|s| s.0.as_str()))
            .await
            .context("creating the first admin")?;
    let demo_accounts = if opts.demo {
        setup::demo_accounts(&db).await.context("demo accounts")?
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
        policy: config.policy(),
        trusted_proxies: config.trusted_proxies.clone(),
        limits: config.limits,
        max_pending_photos: config.max_pending_photos,
    };
    let secret = config.secret_key()?;
    let evidence = crate::photos::photos(config, &secret, &public_url).await?;
    let photos = evidence.photos;
    let objects = photos.store.clone();
    let clock = opts
        .clock
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(anjian_domain::SystemClock));
    let variant_workers =
        anjian_usecases::photos::spawn_workers(&photos, &db, config.photo_workers);
    let demo_history = if opts.demo && opts.demo_history {
        let t = Instant::now();
        let push = anjian_usecases::sync::PushSettings {
            policy: settings.policy,
            max_pending_photos: config.max_pending_photos,
        };
        // Boxed: its future is deep, and `start`'s callers are deep already.
        let made = Box::pin(crate::demo::history(&db, &photos, push, clock.now()))
            .await
            .context("making the demo history")?;
        if let Some(r) = &made {
            tracing::info!(report = ?r, ms = t.elapsed().as_millis() as u64, "demo history made");
        }
        made
    } else {
        None
    };
    let state = AppState::with_photos(db.clone(), &secret, settings, (Some(photos), clock));
    let app = anjian_api::app(state);
    let (tx, rx) = oneshot::channel::<()>();
    let limits = config.limits;
    let server = tokio::spawn(anjian_api::server::serve(
        listener,
        app,
        limits,
        async move {
            let _ = rx.await;
        },
    ));
    let outlets = config.outlets(&public_url)?;
    let mail_sender = outlets.any().then(|| {
        anjian_usecases::outbox::spawn_sender(
            db.clone(),
            (outlets, Some(objects.clone())),
            std::time::Duration::from_secs(5),
        )
    });
    let scheduler = if opts.scheduler {
        Some(anjian_scheduler::start(job_context(config, &db, Some(objects.clone()))).await?)
    } else {
        None
    };
    Ok(Running {
        addr,
        public_url,
        admin_password,
        demo_accounts,
        demo_history,
        db,
        objects,
        shutdown: Some(tx),
        server,
        scheduler,
        internal_store: evidence.internal,
        variant_workers,
        mail_sender,
    })
}
