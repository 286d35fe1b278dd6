//! The rows behind a push: devices, the position each has reached in its
//! queue, and the stored outcome of every mutation it sent.

use anjian_domain::{DeviceId, Error, Result, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};
use serde_json::Value;
use uuid::Uuid;

use crate::entity::{device, sync_mutation};
use crate::{Actor, Db, WriteTx};

/// Registers the device for `user_id` on first use; another user's device is
/// forbidden.
pub async fn claim_device(
    db: &Db,
    DeviceId(device_id): DeviceId,
    UserId(user_id): UserId,
) -> Result<device::Model> {
    // Known devices need no write (pulls are frequent and mostly find nothing new).
    if let Some(d) = device::Entity::find_by_id(device_id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
    {
        return if d.user_id == user_id {
            Ok(d)
        } else {
            Err(Error::Forbidden)
        };
    }
    let tx = db.write(Actor::system()).await?;
    let now = tx.now();
    device::Entity::insert(device::ActiveModel {
        id: sea_orm::Set(device_id),
        user_id: sea_orm::Set(user_id),
        last_processed_seq: sea_orm::Set(0),
        scope_fingerprint: sea_orm::Set(None),
        first_seen_at: sea_orm::Set(now),
        last_seen_at: sea_orm::Set(now),
    })
    .on_conflict(
        OnConflict::column(device::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    let d = device::Entity::find_by_id(device_id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    if d.user_id != user_id {
        return Err(Error::Forbidden);
    }
    Ok(d)
}

/// Locks the device's row for the rest of the transaction (pushes of one
/// device run one after the other); its `last_processed_seq`.
pub async fn lock_device(tx: &WriteTx, device_id: Uuid) -> Result<i64> {
    let backend = tx.txn().get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT last_processed_seq FROM devices WHERE id = $1 FOR UPDATE"
        }
        _ => "SELECT last_processed_seq FROM devices WHERE id = ?",
    };
    let row = tx
        .txn()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [device_id.into()],
        ))
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    row.try_get("", "last_processed_seq")
        .map_err(Error::internal)
}

/// A mutation's stored outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub seq: i64,
    /// What makes a resubmission the same mutation.
    pub payload_hash: String,
    pub outcome: Value,
}

/// The stored outcome of `seq` of the device.
pub async fn stored_outcome(tx: &WriteTx, device_id: Uuid, seq: i64) -> Result<Option<Stored>> {
    Ok(sync_mutation::Entity::find_by_id((device_id, seq))
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .map(|m| Stored {
            seq: m.seq,
            payload_hash: m.payload_hash,
            outcome: m.outcome,
        }))
}

/// Stores outcomes and moves the device's `last_processed_seq` to `last`.
pub async fn record_outcomes(
    tx: &WriteTx,
    device_id: Uuid,
    outcomes: Vec<Stored>,
    last: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let rows: Vec<sync_mutation::ActiveModel> = outcomes
        .into_iter()
        .map(|o| sync_mutation::ActiveModel {
            device_id: sea_orm::Set(device_id),
            seq: sea_orm::Set(o.seq),
            payload_hash: sea_orm::Set(o.payload_hash),
            outcome: sea_orm::Set(o.outcome),
            processed_at: sea_orm::Set(now),
        })
        .collect();
    crate::write::insert_owned(tx.txn(), rows, Error::internal).await?;
    device::Entity::update_many()
        .col_expr(
            device::Column::LastProcessedSeq,
            sea_orm::sea_query::Expr::value(last),
        )
        .col_expr(
            device::Column::LastSeenAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(device::Column::Id.eq(device_id))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}
