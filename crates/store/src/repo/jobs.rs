//! What keeps scheduled jobs single among replicas: a leader lease, and one
//! `job_runs` row per job and period (the unique key makes a second claim fail).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::{job_run, lease, login, login_attempt, refresh_token};
use crate::{Actor, Db, Error, Result};

/// Takes or renews the lease `name` for `holder` when it is free, expired or
/// already ours. Returns whether `holder` holds it now.
pub async fn try_lease(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
    let now = Utc::now();
    let tx = db.write(Actor::system()).await?;
    lease::Entity::insert(lease::ActiveModel {
        name: sea_orm::Set(name.to_owned()),
        holder: sea_orm::Set(holder.to_owned()),
        expires_at: sea_orm::Set(now + ttl),
    })
    .on_conflict(
        OnConflict::column(lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    let taken = lease::Entity::update_many()
        .col_expr(lease::Column::Holder, Expr::value(holder))
        .col_expr(lease::Column::ExpiresAt, Expr::value(now + ttl))
        .filter(lease::Column::Name.eq(name))
        .filter(
            lease::Column::Holder
                .eq(holder)
                .or(lease::Column::ExpiresAt.lt(now)),
        )
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    tx.commit().await?;
    Ok(taken.rows_affected == 1)
}

/// Claims the run of `job` for `period`; `None` when it was already claimed.
pub async fn claim(db: &Db, job: &str, period: &str, runner: &str) -> Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let tx = db.write(Actor::system()).await?;
    let inserted = job_run::Entity::insert(job_run::ActiveModel {
        id: sea_orm::Set(id),
        job: sea_orm::Set(job.to_owned()),
        period: sea_orm::Set(period.to_owned()),
        runner: sea_orm::Set(runner.to_owned()),
        started_at: sea_orm::Set(Utc::now()),
        finished_at: sea_orm::Set(None),
        status: sea_orm::Set("running".into()),
        detail: sea_orm::Set(None),
    })
    .on_conflict(
        OnConflict::columns([job_run::Column::Job, job_run::Column::Period])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    tx.commit().await?;
    Ok((inserted > 0).then_some(id))
}

/// Records how a claimed run ended.
pub async fn finish(db: &Db, run: Uuid, ok: bool, detail: &str) -> Result<()> {
    let tx = db.write(Actor::system()).await?;
    job_run::Entity::update_many()
        .col_expr(job_run::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(
            job_run::Column::Status,
            Expr::value(if ok { "succeeded" } else { "failed" }),
        )
        .col_expr(job_run::Column::Detail, Expr::value(detail))
        .filter(job_run::Column::Id.eq(run))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    tx.commit().await?;
    Ok(())
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
