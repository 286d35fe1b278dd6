//! The cron table: named jobs that call use cases and hold no
//! logic of their own. Safe with several replicas: only the holder of the
//! `scheduler` lease runs jobs, and each job claims its period once
//! (`job_runs` has a unique key on job and period).
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anjian_store::Db;
use anjian_store::repo::jobs;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};

/// What a job runs: a future that reports a one-line outcome.
pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>>;

/// A job: its name, cron expression (with seconds, office time zone), the period
/// key that makes it run once per period, and what it does.
pub struct JobSpec {
    pub name: &'static str,
    pub cron: &'static str,
    pub period: fn(DateTime<Utc>) -> String,
    pub run: fn(Db, DateTime<Utc>) -> JobFuture,
}

/// The jobs of this release.
pub fn table() -> Vec<JobSpec> {
    vec![JobSpec {
        name: "auth.purge",
        cron: "0 17 * * * *",
        period: |now| now.format("%Y-%m-%dT%H").to_string(),
        run: |db, now| {
            Box::pin(async move {
                let n = anjian_usecases::setup::purge_logins(&db, now).await?;
                Ok(format!("{n} logins purged"))
            })
        },
    }]
}

/// Runs one job for the period of `now` unless another replica already did.
pub async fn run_once(
    db: &Db,
    spec: &JobSpec,
    runner: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    if !jobs::try_lease(db, "scheduler", runner, Duration::minutes(5)).await? {
        return Ok(None);
    }
    let period = (spec.period)(now);
    let Some(run) = jobs::claim(db, spec.name, &period, runner).await? else {
        return Ok(None);
    };
    let result = (spec.run)(db.clone(), now).await;
    let (ok, detail) = match &result {
        Ok(d) => (true, d.clone()),
        Err(e) => (false, format!("{e:#}")),
    };
    jobs::finish(db, run, ok, &detail).await?;
    tracing::info!(job = spec.name, period, ok, detail, "job ran");
    result.map(Some)
}

/// Starts the cron scheduler in the office time zone.
pub async fn start(db: Db, tz: chrono_tz::Tz) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await.context("creating scheduler")?;
    let runner = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    let runner = Arc::new(runner);
    for spec in table() {
        let spec = Arc::new(spec);
        let db = db.clone();
        let runner = runner.clone();
        let (name, cron) = (spec.name, spec.cron);
        let job = Job::new_async_tz(cron, tz, move |_id, _lock| {
            let (db, spec, runner) = (db.clone(), spec.clone(), runner.clone());
            Box::pin(async move {
                if let Err(e) = run_once(&db, &spec, &runner, Utc::now()).await {
                    tracing::error!(job = spec.name, error = ?e, "job failed");
                }
            })
        })
        .with_context(|| format!("scheduling {name}"))?;
        sched.add(job).await.context("adding job")?;
    }
    sched.start().await.context("starting scheduler")?;
    Ok(sched)
}
