//! Notifications: written once per user and event (their `dedupe_key`),
//! listed for their user, marked read.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::{hazard, notification, user};
use crate::repo::{Page, PageRequest};
use crate::{Actor, Db, Error, Result, WriteTx};

fn db_err(e: sea_orm::DbErr) -> Error {
    Error::internal(e)
}

/// Writes the notifications whose key is new; how many were.
pub async fn add(db: &Db, rows: Vec<notification::Model>) -> Result<u64> {
    let tx = db.write(Actor::system()).await?;
    let n = add_in(&tx, rows).await?;
    tx.commit().await?;
    Ok(n)
}

/// [`add`] inside the transaction of what the notifications announce (a
/// verdict, an extension decision): they are written with it or not at all.
pub async fn add_in(tx: &WriteTx, rows: Vec<notification::Model>) -> Result<u64> {
    let rows = rows
        .into_iter()
        .map(sea_orm::IntoActiveModel::into_active_model)
        .collect();
    crate::repo::insert_new(tx, rows, notification::Column::DedupeKey).await
}

/// The enabled accounts of an enterprise.
pub async fn enterprise_accounts(tx: &WriteTx, enterprise_id: Uuid) -> Result<Vec<Uuid>> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::EnterpriseId.eq(enterprise_id))
        .filter(user::Column::Role.eq(anjian_domain::Role::Enterprise.as_str()))
        .filter(user::Column::Disabled.eq(false))
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(tx.txn())
        .await
        .map_err(db_err)
}

/// Whether a user is enabled.
pub async fn enabled(tx: &WriteTx, user_id: Uuid) -> Result<bool> {
    Ok(user::Entity::find_by_id(user_id)
        .filter(user::Column::Disabled.eq(false))
        .count(tx.txn())
        .await
        .map_err(db_err)?
        > 0)
}

/// A notification not yet handed to the outbox, with where its user is
/// reached.
#[derive(Debug, Clone)]
pub struct Undispatched {
    pub notice: notification::Model,
    pub user: user::Model,
}

/// A message for the outbox: (channel, dedupe key, payload).
pub type Outgoing = (&'static str, String, serde_json::Value);

/// Hands up to `limit` notifications not yet handed on to the outbox, in one
/// transaction: `route` says what each becomes (nothing, an e-mail, a
/// webhook call), the messages are queued (once per key) and the
/// notifications marked dispatched. (notifications, messages queued).
pub async fn dispatch(
    db: &Db,
    limit: u64,
    now: DateTime<Utc>,
    route: impl Fn(&Undispatched) -> Vec<Outgoing>,
) -> Result<(u64, u64)> {
    let tx = db.write(Actor::system()).await?;
    let notices = notification::Entity::find()
        .filter(notification::Column::DispatchedAt.is_null())
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .all(tx.txn())
        .await
        .map_err(db_err)?;
    if notices.is_empty() {
        return Ok((0, 0));
    }
    let user_ids: Vec<Uuid> = notices.iter().map(|n| n.user_id).collect();
    let users: std::collections::HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(tx.txn())
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut out = Vec::new();
    let ids: Vec<Uuid> = notices.iter().map(|n| n.id).collect();
    for notice in notices {
        if let Some(user) = users.get(&notice.user_id) {
            out.extend(route(&Undispatched {
                notice,
                user: user.clone(),
            }));
        }
    }
    let queued = crate::repo::outbox::enqueue_in(&tx, out, now).await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::DispatchedAt, Expr::value(now))
        .filter(notification::Column::Id.is_in(ids.clone()))
        .exec(tx.txn())
        .await
        .map_err(db_err)?;
    tx.commit().await?;
    Ok((ids.len() as u64, queued))
}

/// A user's notifications, newest first.
pub async fn list(db: &Db, user_id: Uuid, page: &PageRequest) -> Result<Page<notification::Model>> {
    let mut q = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .order_by_desc(notification::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after.as_deref().and_then(|a| a.parse::<Uuid>().ok()) {
        q = q.filter(notification::Column::Id.lt(after));
    }
    let rows = q.all(db.conn()).await.map_err(db_err)?;
    Ok(Page::from_rows(rows, page.limit, |n| n.id.to_string()))
}

/// Marks a user's notification read (once); the notification, or `None`
/// when the user has no such notification.
pub async fn read(
    db: &Db,
    user_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<notification::Model>> {
    let tx = db.write(Actor::system()).await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(db_err)?;
    let n = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(user_id))
        .one(tx.txn())
        .await
        .map_err(db_err)?;
    tx.commit().await?;
    Ok(n)
}

/// Hazards waiting for their rectification whose deadline is before
/// `before` (dates in the office calendar).
pub async fn open_due_before(db: &Db, before: chrono::NaiveDate) -> Result<Vec<hazard::Model>> {
    hazard::Entity::find()
        .filter(hazard::Column::Status.eq(anjian_domain::HazardStatus::Open.as_str()))
        .filter(hazard::Column::Deadline.lt(before))
        .order_by_asc(hazard::Column::Id)
        .all(db.conn())
        .await
        .map_err(db_err)
}

/// Enabled users of a role, or of an enterprise: (id, enterprise).
pub async fn recipients(db: &Db) -> Result<Vec<(Uuid, String, Option<Uuid>)>> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Role)
        .column(user::Column::EnterpriseId)
        .filter(user::Column::Disabled.eq(false))
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)
}
