//! What keeps scheduled jobs single among replicas: one `job_runs` row per
//! job and period (the unique key makes a second claim fail), held under a
//! lease its runner renews, retaken when the lease runs out.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::{job_run, login, login_attempt, refresh_token};
use crate::{Actor, Db, Error, Result};

/// A claimed run: its id and which attempt at the period it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub run: Uuid,
    pub attempt: i64,
}

/// Claims the run of `job` for `period` for `runner`, holding it until
/// `now + lease`: a new period, or one whose run is `running` or `failed`
/// with its lease run out (its runner died, or it failed and may be tried
/// again). `None` while another runner holds it, and once it succeeded.
pub async fn claim(
    db: &Db,
    (job, period): (&str, &str),
    runner: &str,
    (now, lease): (DateTime<Utc>, Duration),
) -> Result<Option<Claim>> {
    let id = Uuid::now_v7();
    let tx = db.write(Actor::system()).await?;
    let inserted = job_run::Entity::insert(job_run::ActiveModel {
        id: sea_orm::Set(id),
        job: sea_orm::Set(job.to_owned()),
        period: sea_orm::Set(period.to_owned()),
        runner: sea_orm::Set(runner.to_owned()),
        started_at: sea_orm::Set(now),
        finished_at: sea_orm::Set(None),
        status: sea_orm::Set(RUNNING.into()),
        detail: sea_orm::Set(None),
        lease_expires_at: sea_orm::Set(Some(now + lease)),
        attempts: sea_orm::Set(1),
    })
    .on_conflict(
        OnConflict::columns([job_run::Column::Job, job_run::Column::Period])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    if inserted > 0 {
        tx.commit().await?;
        return Ok(Some(Claim {
            run: id,
            attempt: 1,
        }));
    }
    // Retake a run whose runner stopped renewing, or that failed.
    let retaken = job_run::Entity::update_many()
        .col_expr(job_run::Column::Runner, Expr::value(runner))
        .col_expr(job_run::Column::StartedAt, Expr::value(now))
        .col_expr(
            job_run::Column::FinishedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(job_run::Column::Status, Expr::value(RUNNING))
        .col_expr(job_run::Column::LeaseExpiresAt, Expr::value(now + lease))
        .col_expr(
            job_run::Column::Attempts,
            Expr::col(job_run::Column::Attempts).add(1),
        )
        .filter(job_run::Column::Job.eq(job))
        .filter(job_run::Column::Period.eq(period))
        .filter(job_run::Column::Status.is_in([RUNNING, FAILED]))
        .filter(job_run::Column::LeaseExpiresAt.lt(now))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    if retaken.rows_affected != 1 {
        return Ok(None);
    }
    let run = job_run::Entity::find()
        .filter(job_run::Column::Job.eq(job))
        .filter(job_run::Column::Period.eq(period))
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("a retaken run vanished")))?;
    tx.commit().await?;
    Ok(Some(Claim {
        run: run.id,
        attempt: run.attempts,
    }))
}

/// Extends the lease of a run `runner` still holds; `false` when it holds
/// it no more (it ran past its lease and another runner retook it).
pub async fn renew(
    db: &Db,
    run: Uuid,
    runner: &str,
    (now, lease): (DateTime<Utc>, Duration),
) -> Result<bool> {
    let tx = db.write(Actor::system()).await?;
    let n = job_run::Entity::update_many()
        .col_expr(job_run::Column::LeaseExpiresAt, Expr::value(now + lease))
        .filter(job_run::Column::Id.eq(run))
        .filter(job_run::Column::Runner.eq(runner))
        .filter(job_run::Column::Status.eq(RUNNING))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    tx.commit().await?;
    Ok(n.rows_affected == 1)
}

/// Status of a run in progress.
pub const RUNNING: &str = "running";
/// Status of a run that did its work.
pub const SUCCEEDED: &str = "succeeded";
/// Status of a run that failed; retaken once `retry_at` passes.
pub const FAILED: &str = "failed";

/// Records how a claimed run ended (when `runner` still holds it): done for
/// good, or failed and to be tried again from `retry_at`.
pub async fn finish(
    db: &Db,
    (run, runner): (Uuid, &str),
    outcome: std::result::Result<&str, (&str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Result<()> {
    let (status, detail, lease) = match outcome {
        Ok(d) => (SUCCEEDED, d, None),
        Err((d, retry_at)) => (FAILED, d, Some(retry_at)),
    };
    let tx = db.write(Actor::system()).await?;
    job_run::Entity::update_many()
        .col_expr(job_run::Column::FinishedAt, Expr::value(now))
        .col_expr(job_run::Column::Status, Expr::value(status))
        .col_expr(job_run::Column::Detail, Expr::value(detail))
        .col_expr(job_run::Column::LeaseExpiresAt, Expr::value(lease))
        .filter(job_run::Column::Id.eq(run))
        .filter(job_run::Column::Runner.eq(runner))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    tx.commit().await?;
    Ok(())
}

/// The runs of `job`, newest period first (at most `limit`).
pub async fn runs(db: &Db, job: &str, limit: u64) -> Result<Vec<job_run::Model>> {
    job_run::Entity::find()
        .filter(job_run::Column::Job.eq(job))
        .order_by_desc(job_run::Column::Period)
        .limit(limit)
        .all(db.conn())
        .await
        .map_err(Error::internal)
}

/// Deletes what authentication no longer needs: logins ended more than 30 days
/// before `now` (with their refresh tokens) and stale failure counters.
pub async fn purge_auth(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let horizon = now - Duration::days(30);
    let tx = db.write(Actor::system()).await?;
    let dead = login::Entity::find()
        .filter(
            login::Column::ExpiresAt
                .lt(horizon)
                .or(login::Column::RevokedAt.lt(horizon)),
        )
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    let ids: Vec<Uuid> = dead.iter().map(|l| l.id).collect();
    let mut n = 0;
    for chunk in ids.chunks(500) {
        refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::LoginId.is_in(chunk.to_vec()))
            .exec(tx.txn())
            .await
            .map_err(Error::internal)?;
        n += login::Entity::delete_many()
            .filter(login::Column::Id.is_in(chunk.to_vec()))
            .exec(tx.txn())
            .await
            .map_err(Error::internal)?
            .rows_affected;
    }
    login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::WindowStartedAt.lt(now - Duration::days(1)))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    tx.commit().await?;
    Ok(n)
}
