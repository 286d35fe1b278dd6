//! The durable queue of stored objects waiting for their variants. A row is
//! taken under a lease (holder and end time): a worker that dies leaves a
//! lease that runs out, and another worker, on this replica or another, takes
//! the row again. A row leaves the queue in the transaction that records its
//! variants.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::photo_job::{self, Column as C, Entity as E};
use crate::write::WriteTx;
use crate::{Db, Error, Result};

/// Queues the variants of `sha256` unless they are queued already.
pub async fn enqueue(tx: &WriteTx, sha256: &str) -> Result<()> {
    let now = tx.now();
    E::insert(photo_job::ActiveModel {
        sha256: sea_orm::Set(sha256.to_owned()),
        enqueued_at: sea_orm::Set(now),
        attempts: sea_orm::Set(0),
        next_at: sea_orm::Set(now),
        lease_holder: sea_orm::Set(None),
        lease_until: sea_orm::Set(None),
        last_error: sea_orm::Set(None),
    })
    .on_conflict(OnConflict::column(C::Sha256).do_nothing().to_owned())
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    Ok(())
}

/// A queue row taken by a worker.
#[derive(Debug, Clone)]
pub struct Taken {
    pub sha256: String,
    /// Attempts started, this one included.
    pub attempts: i64,
}

/// Takes the row due first whose lease is free or ran out, for `holder`
/// until `now + lease`; `None` when nothing is due. Two workers racing for
/// one row: the second finds the lease taken and gets `None` (it asks again).
pub async fn take(tx: &WriteTx, holder: &str, lease: Duration) -> Result<Option<Taken>> {
    let now = tx.now();
    let free = || {
        Expr::col(C::LeaseUntil)
            .is_null()
            .or(Expr::col(C::LeaseUntil).lt(now))
    };
    let due = Query::select()
        .column(C::Sha256)
        .from(E)
        .and_where(Expr::col(C::NextAt).lte(now))
        .and_where(free())
        .order_by(C::NextAt, sea_orm::Order::Asc)
        .limit(1)
        .to_owned();
    let rows = E::update_many()
        .col_expr(C::LeaseHolder, Expr::value(holder))
        .col_expr(C::LeaseUntil, Expr::value(now + lease))
        .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
        .filter(C::Sha256.in_subquery(due))
        .filter(free())
        .exec_with_returning(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(rows.into_iter().next().map(|r| Taken {
        sha256: r.sha256,
        attempts: r.attempts,
    }))
}

/// Gives a row back after a failed attempt, to be taken again at `retry_at`.
pub async fn release(
    tx: &WriteTx,
    sha256: &str,
    holder: &str,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    E::update_many()
        .col_expr(C::LeaseHolder, Expr::value(Option::<String>::None))
        .col_expr(C::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::NextAt, Expr::value(retry_at))
        .col_expr(
            C::LastError,
            Expr::value(error.chars().take(500).collect::<String>()),
        )
        .filter(C::Sha256.eq(sha256))
        .filter(C::LeaseHolder.eq(holder))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}

/// Removes the row of `sha256` inside the transaction that records its
/// variants (or forgets its object).
pub async fn remove(tx: &WriteTx, sha256: &str) -> Result<()> {
    E::delete_many()
        .filter(C::Sha256.eq(sha256))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}

/// How many rows wait, and when the oldest was queued.
pub async fn depth(db: &Db) -> Result<(u64, Option<DateTime<Utc>>)> {
    let n = E::find().count(db.conn()).await.map_err(Error::internal)?;
    let oldest: Option<DateTime<Utc>> = E::find()
        .select_only()
        .column(C::EnqueuedAt)
        .order_by_asc(C::EnqueuedAt)
        .into_tuple()
        .one(db.conn())
        .await
        .map_err(Error::internal)?;
    Ok((n, oldest))
}
