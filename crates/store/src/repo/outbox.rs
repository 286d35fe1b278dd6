//! The outbox: messages waiting to be delivered, taken one at a time under
//! a short hold, marked sent, or put back for a later attempt.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::entity::outbox;
use crate::{Actor, Db, Error, Result, WriteTx};

/// A message waiting (or being tried).
pub const PENDING: &str = "pending";
/// A message delivered.
pub const SENT: &str = "sent";

fn db_err(e: sea_orm::DbErr) -> Error {
    Error::internal(e)
}

/// Queues a message unless one with `dedupe_key` exists; whether it was queued.
pub async fn enqueue(
    db: &Db,
    (channel, dedupe_key): (&str, &str),
    payload: Value,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = db.write(Actor::system()).await?;
    let n = enqueue_in(&tx, vec![(channel, dedupe_key.to_owned(), payload)], now).await?;
    tx.commit().await?;
    Ok(n > 0)
}

/// Queues messages (channel, dedupe key, payload) inside `tx`, each unless
/// one with its key exists; how many were.
pub async fn enqueue_in(
    tx: &WriteTx,
    messages: Vec<(&str, String, Value)>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let rows = messages
        .into_iter()
        .map(|(channel, dedupe_key, payload)| outbox::ActiveModel {
            id: sea_orm::Set(Uuid::now_v7()),
            channel: sea_orm::Set(channel.to_owned()),
            dedupe_key: sea_orm::Set(dedupe_key),
            payload: sea_orm::Set(payload),
            status: sea_orm::Set(PENDING.into()),
            attempts: sea_orm::Set(0),
            next_attempt_at: sea_orm::Set(now),
            last_error: sea_orm::Set(None),
            holder: sea_orm::Set(None),
            created_at: sea_orm::Set(now),
            sent_at: sea_orm::Set(None),
        })
        .collect();
    crate::repo::insert_new(tx, rows, outbox::Column::DedupeKey).await
}

/// Takes the pending message of `channel` due first, holding it for `hold`
/// (a worker that dies lets it go when the hold runs out).
pub async fn take(
    db: &Db,
    channel: &str,
    holder: &str,
    (now, hold): (DateTime<Utc>, Duration),
) -> Result<Option<outbox::Model>> {
    let tx = db.write(Actor::system()).await?;
    let Some(m) = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq(channel))
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .one(tx.txn())
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let taken = outbox::Entity::update_many()
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now + hold))
        .col_expr(outbox::Column::Holder, Expr::value(holder))
        .filter(outbox::Column::Id.eq(m.id))
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(outbox::Column::NextAttemptAt.eq(m.next_attempt_at))
        .exec(tx.txn())
        .await
        .map_err(db_err)?;
    tx.commit().await?;
    Ok((taken.rows_affected == 1).then_some(m))
}

/// Records a delivery.
pub async fn sent(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let tx = db.write(Actor::system()).await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(SENT))
        .col_expr(outbox::Column::SentAt, Expr::value(now))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .col_expr(outbox::Column::LastError, Expr::value(None::<String>))
        .col_expr(outbox::Column::Holder, Expr::value(None::<String>))
        .filter(outbox::Column::Id.eq(id))
        .exec(tx.txn())
        .await
        .map_err(db_err)?;
    tx.commit().await.map(|_| ())
}

/// Records a failed attempt; the message is tried again from `retry_at`.
pub async fn failed(db: &Db, id: Uuid, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
    let tx = db.write(Actor::system()).await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(retry_at))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .col_expr(outbox::Column::LastError, Expr::value(error))
        .col_expr(outbox::Column::Holder, Expr::value(None::<String>))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(PENDING))
        .exec(tx.txn())
        .await
        .map_err(db_err)?;
    tx.commit().await.map(|_| ())
}

/// What waits, per channel: (channel, messages, failed attempts so far,
/// the oldest one's creation), in one grouped query.
pub async fn backlog(db: &Db) -> Result<Vec<(String, u64, u64, Option<DateTime<Utc>>)>> {
    // SUM's type differs between the databases: cast to one.
    type Row = (String, i64, Option<i64>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Channel)
        .column_as(outbox::Column::Id.count(), "n")
        .column_as(Expr::cust("CAST(SUM(attempts) AS BIGINT)"), "attempts")
        .column_as(outbox::Column::CreatedAt.min(), "oldest")
        .filter(outbox::Column::Status.eq(PENDING))
        .group_by(outbox::Column::Channel)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)?;
    Ok([EMAIL, WEBHOOK]
        .into_iter()
        .map(|channel| {
            let r = rows.iter().find(|r| r.0 == channel);
            (
                channel.to_owned(),
                r.map_or(0, |r| u64::try_from(r.1).unwrap_or(0)),
                r.and_then(|r| r.2)
                    .map_or(0, |a| u64::try_from(a).unwrap_or(0)),
                r.and_then(|r| r.3),
            )
        })
        .collect())
}

/// The e-mail channel.
pub const EMAIL: &str = "email";
/// The webhook channel.
pub const WEBHOOK: &str = "webhook";

/// One message, by its key.
pub async fn by_key(db: &Db, dedupe_key: &str) -> Result<Option<outbox::Model>> {
    outbox::Entity::find()
        .filter(outbox::Column::DedupeKey.eq(dedupe_key))
        .one(db.conn())
        .await
        .map_err(db_err)
}
