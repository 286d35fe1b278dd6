//! The job table: named jobs that call use cases and hold no logic of their
//! own. Each job names the period due at a moment (the hour, the day, the
//! week whose report is due); a tick every 15 seconds, and one at start, runs
//! every job whose due period has not been done yet, so a period missed
//! while the server was down is caught up at the next start.
//!
//! Safe with several replicas and with crashes: a period is claimed in
//! `job_runs` (one row per job and period) under a lease the runner renews
//! while it works. A runner killed mid-run stops renewing; once the lease runs
//! out another replica retakes the period. Every job's effect is idempotent
//! for its period (a report is replaced, a purge finds nothing twice).
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anjian_domain::DeadlinePolicy;
use anjian_domain::report::IsoWeek;
use anjian_evidence::ObjectStore;
use anjian_store::Db;
use anjian_store::repo::jobs;
use anyhow::Context as _;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};

/// What a job runs: a future that reports a one-line outcome.
pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>>;

/// What jobs work with.
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub policy: DeadlinePolicy,
    /// The object store, for the photo sweep (none: that job has nothing to sweep).
    pub store: Option<ObjectStore>,
    /// How long a claimed run is held without renewal.
    pub lease: Duration,
    /// Age past which an unfinished photo upload is abandoned (days).
    pub sweep_days: u32,
    /// Who receives the weekly report by e-mail (none: it is stored only).
    pub report_recipients: Vec<String>,
    /// Days overdue past which any hazard is escalated (挂牌督办).
    pub long_overdue_days: u32,
}

/// A job: its name, the period due at an office-local moment, and what it does
/// for a period at a moment.
pub struct JobSpec {
    pub name: &'static str,
    pub due: fn(NaiveDateTime) -> String,
    pub run: fn(JobContext, String, DateTime<Utc>) -> JobFuture,
}

/// Hour (office time) from which a day's daily jobs are due.
pub const DAILY_HOUR: u32 = 3;

/// The day whose daily jobs are due at `local`: today from 03:00, else yesterday.
fn day_due(local: NaiveDateTime) -> String {
    (local - Duration::hours(i64::from(DAILY_HOUR)))
        .date()
        .format("%Y-%m-%d")
        .to_string()
}

/// Hour (office time) from which the day's deadline reminders are due.
pub const REMINDER_HOUR: u32 = 8;

/// The jobs of this release.
pub fn table() -> Vec<JobSpec> {
    vec![
        JobSpec {
            name: "hazards.overdue",
            due: |local| local.format("%Y-%m-%dT%H").to_string(),
            run: |ctx, _period, now| {
                Box::pin(async move {
                    let s = anjian_usecases::notices::overdue_sweep(
                        &ctx.db,
                        (&ctx.policy, ctx.long_overdue_days),
                        now,
                    )
                    .await?;
                    Ok(format!(
                        "{} overdue, {} escalated, {} notices",
                        s.overdue, s.escalated, s.written
                    ))
                })
            },
        },
        JobSpec {
            name: "hazards.reminders",
            due: |local| {
                (local - Duration::hours(i64::from(REMINDER_HOUR)))
                    .date()
                    .format("%Y-%m-%d")
                    .to_string()
            },
            run: |ctx, _period, now| {
                Box::pin(async move {
                    let n = anjian_usecases::notices::reminders(&ctx.db, &ctx.policy, now).await?;
                    Ok(format!("{n} reminders"))
                })
            },
        },
        JobSpec {
            name: "auth.purge",
            due: |local| local.format("%Y-%m-%dT%H").to_string(),
            run: |ctx, _period, now| {
                Box::pin(async move {
                    let n = anjian_usecases::setup::purge_logins(&ctx.db, now).await?;
                    Ok(format!("{n} logins purged"))
                })
            },
        },
        JobSpec {
            name: "report.weekly",
            due: |local| IsoWeek::last_cut_off(local).to_string(),
            run: |ctx, period, now| {
                Box::pin(async move {
                    let week: IsoWeek = period.parse()?;
                    let r = anjian_usecases::reports::make(
                        &ctx.db,
                        ctx.store.as_ref(),
                        week,
                        (&ctx.policy, now),
                    )
                    .await?;
                    // Mailed once per week, however often the report is made.
                    if !ctx.report_recipients.is_empty() {
                        anjian_usecases::reports::mail(
                            &ctx.db,
                            &r,
                            (&ctx.report_recipients, ctx.store.is_some()),
                            now,
                        )
                        .await?;
                    }
                    Ok(format!(
                        "{week}: {} found, {} closed, {} overdue, {}/{} problem enterprises rectified",
                        r.figures.counters.hazards_found_week,
                        r.figures.counters.hazards_closed_week,
                        r.figures.counters.hazards_overdue,
                        r.figures.counters.problem_enterprises_rectified_ytd,
                        r.figures.counters.problem_enterprises_ytd,
                    ))
                })
            },
        },
        JobSpec {
            name: "photos.sweep",
            due: day_due,
            run: |ctx, _period, _now| {
                Box::pin(async move {
                    let Some(store) = &ctx.store else {
                        return Ok("no object store".into());
                    };
                    let r = anjian_usecases::photos::sweep(&ctx.db, store, ctx.sweep_days, true)
                        .await?;
                    Ok(format!(
                        "{} abandoned photos, {} uploads, {} objects removed",
                        r.stale_photos.len(),
                        r.orphan_uploads.len(),
                        r.orphan_objects.len() + r.unreferenced.len()
                    ))
                })
            },
        },
    ]
}

/// How long a failed run waits before it is tried again: 5 minutes, doubling
/// with each attempt, at most 6 hours.
pub fn retry_delay(attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 7)).unwrap_or(7);
    (Duration::minutes(5) * 2_i32.pow(doublings)).min(Duration::hours(6))
}

/// Runs `spec` for the period due at `now` unless it was done or another
/// runner holds it. `Some(outcome)` when this call ran it.
pub async fn run_once(
    ctx: &JobContext,
    spec: &JobSpec,
    runner: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let local = now.with_timezone(&ctx.policy.tz).naive_local();
    let period = (spec.due)(local);
    let Some(claim) = jobs::claim(&ctx.db, (spec.name, &period), runner, (now, ctx.lease)).await?
    else {
        return Ok(None);
    };
    let started = tokio::time::Instant::now();
    let work = (spec.run)(ctx.clone(), period.clone(), now);
    tokio::pin!(work);
    // Renew the lease while the job works, a third of the lease apart.
    let every = ctx
        .lease
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(60))
        / 3;
    let mut beat = tokio::time::interval_at(
        started + every,
        every.max(std::time::Duration::from_millis(10)),
    );
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = beat.tick() => {
                let at = now + Duration::from_std(started.elapsed()).unwrap_or_default();
                match jobs::renew(&ctx.db, claim.run, runner, (at, ctx.lease)).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(job = spec.name, period, "the run's lease was lost; another runner may repeat it"),
                    Err(e) => tracing::warn!(job = spec.name, period, error = %e, "the run's lease was not renewed"),
                }
            }
        }
    };
    let end = now + Duration::from_std(started.elapsed()).unwrap_or_default();
    let outcome = match &result {
        Ok(d) => Ok(d.as_str()),
        Err(e) => Err(format!("{e:#}")),
    };
    match &outcome {
        Ok(d) => {
            jobs::finish(&ctx.db, (claim.run, runner), Ok(d), end).await?;
            tracing::info!(
                job = spec.name,
                period,
                attempt = claim.attempt,
                detail = d,
                "job ran"
            );
        }
        Err(d) => {
            let retry_at = end + retry_delay(claim.attempt);
            jobs::finish(&ctx.db, (claim.run, runner), Err((d, retry_at)), end).await?;
            tracing::error!(job = spec.name, period, attempt = claim.attempt, error = d, %retry_at, "job failed");
        }
    }
    result.map(Some)
}

/// Runs every job whose due period at `now` is not done (a failure is
/// logged and retried at a later tick).
pub async fn catch_up(ctx: &JobContext, runner: &str, now: DateTime<Utc>) {
    for spec in table() {
        if let Err(e) = run_once(ctx, &spec, runner, now).await {
            tracing::error!(job = spec.name, error = ?e, "job not run");
        }
    }
}

/// How often a replica looks for due work: a period whose runner died is
/// retaken within this (and the lease) of its lease running out.
pub const TICK: &str = "0/15 * * * * *";

/// Starts the scheduler: a catch-up now, then one every [`TICK`].
pub async fn start(ctx: JobContext) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await.context("creating scheduler")?;
    let runner = Arc::new(format!("{}-{}", std::process::id(), uuid::Uuid::now_v7()));
    let ctx = Arc::new(ctx);
    {
        let (ctx, runner) = (ctx.clone(), runner.clone());
        tokio::spawn(async move { catch_up(&ctx, &runner, Utc::now()).await });
    }
    let tz = ctx.policy.tz;
    let job = Job::new_async_tz(TICK, tz, move |_id, _lock| {
        let (ctx, runner) = (ctx.clone(), runner.clone());
        Box::pin(async move { catch_up(&ctx, &runner, Utc::now()).await })
    })
    .context("scheduling the tick")?;
    sched.add(job).await.context("adding the tick")?;
    sched.start().await.context("starting scheduler")?;
    Ok(sched)
}
