//! The one write path.
//!
//! A [`WriteTx`] wraps a database transaction. Creating or changing a replicated
//! record through it sets or bumps the record's `version`, writes an audit entry
//! (actor, action, before, after, request id) and queues a change-feed entry; at
//! [`WriteTx::commit`] the queued entries get the next position of the feed clock.
//!
//! Why a clock row and not a sequence: a transaction that drew sequence number 10
//! may commit after one that drew 11, and a reader that saw 11 would skip 10
//! forever. The clock row is incremented at commit, after every record and
//! audit entry of the transaction is written and followed only by the feed
//! rows that carry its position; its row lock is held until the commit, so
//! positions are handed out in commit order on PostgreSQL, and SQLite has a
//! single writer anyway.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, ModelTrait, QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use serde::Serialize;
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use crate::db::db_err;
use crate::entity::{audit_log, change_feed};
use crate::{Error, Result};

/// Who is writing, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// `None` for the system itself (seeding, scheduled jobs).
    pub user_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The system itself.
    pub fn system() -> Actor {
        Actor::default()
    }

    pub fn user(user_id: Uuid, request_id: Option<String>) -> Actor {
        Actor {
            user_id: Some(user_id),
            request_id,
        }
    }
}

/// `version_mismatch` unless `if_match` (when given) is the current version.
pub fn check_if_match(if_match: Option<i64>, current: i64) -> Result<()> {
    match if_match {
        Some(v) if v != current => Err(Error::VersionMismatch { current }),
        _ => Ok(()),
    }
}

/// What a change-feed entry says happened to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedOp {
    Upsert,
    Delete,
}

impl FeedOp {
    /// The `op` of api.md's pull.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedOp::Upsert => "upsert",
            FeedOp::Delete => "delete",
        }
    }
}

impl anjian_domain::Closed for FeedOp {
    const NAME: &'static str = "FeedOp";
    fn as_str(self) -> &'static str {
        FeedOp::as_str(self)
    }
    fn parse(s: &str) -> Option<Self> {
        [FeedOp::Upsert, FeedOp::Delete]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Whose scope a change belongs to, so the sync feed can filter without joins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedScope {
    pub enterprise_id: Option<Uuid>,
    pub village_id: Option<Uuid>,
}

/// A record that phones replicate: versioned, fed, audited.
pub trait Replicated: ModelTrait + Serialize + Clone + Send + Sync + 'static {
    /// The `entity_type` of api.md (`enterprise`, `hazard`, …).
    const ENTITY_TYPE: &'static str;
    /// Whether changes go to the sync change feed (users are versioned and
    /// audited through this path but never replicated).
    const FED: bool = true;
    fn id(&self) -> Uuid;
    fn version(&self) -> i64;
    fn set_version(&mut self, version: i64);
    /// Sets `updated_at` where the record has one.
    fn touch(&mut self, at: chrono::DateTime<Utc>);
    fn feed_scope(&self) -> FeedScope;
}

#[derive(Debug)]
struct PendingChange {
    entity_type: &'static str,
    entity_id: Uuid,
    version: i64,
    op: FeedOp,
    scope: FeedScope,
}

/// A mark in a [`WriteTx`] to roll back to.
#[derive(Debug)]
pub struct Savepoint {
    pending: usize,
    audit: usize,
}

/// A row that belongs to a replicated record (a hazard's history, an
/// inspection's results): not versioned or fed itself, but audited.
pub trait Child: ModelTrait + Serialize + Clone + Send + Sync + 'static {
    /// The `entity_type` of its audit entries.
    const ENTITY_TYPE: &'static str;
    /// The id its audit entries name: its own, or its record's.
    fn audit_id(&self) -> Uuid;
    /// The record it belongs to (`entity_type`, id), when it has one.
    fn parent(&self) -> Option<(&'static str, Uuid)>;
    /// What tells it apart among its record's rows (an event's id, a
    /// result's item code, a village's id).
    fn key(&self) -> String;
}

/// A write transaction; see the module documentation.
#[derive(Debug)]
pub struct WriteTx {
    txn: DatabaseTransaction,
    actor: Actor,
    /// The time of everything this transaction stamps.
    now: chrono::DateTime<Utc>,
    pending: Vec<PendingChange>,
    audit: Vec<audit_log::ActiveModel>,
    /// The latest audit entry of each record written in this transaction.
    latest: std::collections::HashMap<Uuid, usize>,
    /// Audit entries before this index were made before the last savepoint:
    /// no child row is folded into them (a rollback would not undo that).
    fold_floor: usize,
    _writer: Option<OwnedMutexGuard<()>>,
}

type ActiveOf<M> = <<M as ModelTrait>::Entity as EntityTrait>::ActiveModel;

/// Inserts rows the caller gives up, in as few statements as the databases
/// allow, without copying them (audit snapshots are whole JSON trees).
pub(crate) async fn insert_owned<A>(
    txn: &DatabaseTransaction,
    rows: Vec<A>,
    err: fn(sea_orm::DbErr) -> Error,
) -> Result<()>
where
    A: ActiveModelTrait + Send,
{
    let n = rows_per_insert::<A::Entity>();
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<A> = rows.by_ref().take(n).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(txn)
            .await
            .map_err(err)?;
    }
}

/// Rows per multi-row INSERT of `E`: as many as keep the statement under both
/// databases' bound-parameter limits (SQLite's default 32,766, PostgreSQL's
/// 65,535), at most 1,000. Fewer statements is most of a push's speed.
fn rows_per_insert<E: EntityTrait>() -> usize {
    use sea_orm::Iterable;
    let columns = E::Column::iter().count().max(1);
    (30_000 / columns).clamp(1, 1000)
}

impl WriteTx {
    pub(crate) async fn begin(
        conn: &DatabaseConnection,
        actor: Actor,
        now: chrono::DateTime<Utc>,
        writer: Option<OwnedMutexGuard<()>>,
    ) -> Result<WriteTx> {
        let txn = conn.begin().await.map_err(Error::internal)?;
        Ok(WriteTx {
            txn,
            actor,
            now,
            pending: Vec::new(),
            audit: Vec::new(),
            latest: std::collections::HashMap::new(),
            fold_floor: 0,
            _writer: writer,
        })
    }

    /// The transaction, for reads and for writes of records that are not
    /// replicated; store's own: no one outside writes around the write path.
    pub(crate) fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The time this transaction stamps on what it writes (its clock's, read
    /// when it began).
    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.now
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Inserts a new record at version 1.
    pub async fn insert<M>(&mut self, action: &str, mut model: M) -> Result<M>
    where
        M: Replicated + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        model.set_version(1);
        model.touch(self.now);
        self.insert_rows(std::slice::from_ref(&model)).await?;
        self.record(action, None::<&M>, Some(&model), FeedOp::Upsert)?;
        Ok(model)
    }

    /// Inserts new records at version 1, in batches; each is recorded (audit
    /// and feed) before it is handed to the statement, so none is copied.
    pub async fn insert_many<M>(&mut self, action: &str, models: Vec<M>) -> Result<()>
    where
        M: Replicated + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        let now = self.now;
        let mut rows = Vec::with_capacity(models.len());
        for mut m in models {
            m.set_version(1);
            m.touch(now);
            self.record(action, None::<&M>, Some(&m), FeedOp::Upsert)?;
            rows.push(m.into_active_model().reset_all());
        }
        // A taken id is a `conflict` the caller may expect (a concurrent push).
        insert_owned(&self.txn, rows, db_err).await
    }

    /// Inserts `rows` as they are, in as few statements as the databases allow.
    async fn insert_rows<M>(&self, rows: &[M]) -> Result<()>
    where
        M: ModelTrait + Clone + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        for chunk in rows.chunks(rows_per_insert::<M::Entity>()) {
            let active: Vec<ActiveOf<M>> = chunk
                .iter()
                .map(|m| m.clone().into_active_model().reset_all())
                .collect();
            <M::Entity as EntityTrait>::insert_many(active)
                .exec_without_returning(&self.txn)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// Replaces `before` by `after`: `version` becomes `before.version + 1`, but only
    /// if the stored record still has `before.version` (else `version_mismatch`).
    pub async fn update<M>(&mut self, action: &str, before: &M, mut after: M) -> Result<M>
    where
        M: Replicated + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        if before.id() != after.id() {
            return Err(Error::internal(anyhow::anyhow!("update changes the id")));
        }
        after.set_version(before.version() + 1);
        after.touch(self.now);
        let am = after.clone().into_active_model().reset_all();
        let res = <M::Entity as EntityTrait>::update_many()
            .set(am)
            .filter(
                Expr::col("id")
                    .eq(before.id())
                    .and(Expr::col("version").eq(before.version()))
                    .into_condition(),
            )
            .exec(&self.txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected != 1 {
            // `before` is stale: report the version the row has now.
            let current: Option<i64> = <M::Entity as EntityTrait>::find()
                .select_only()
                .column_as(Expr::col("version"), "version")
                .filter(Expr::col("id").eq(before.id()).into_condition())
                .into_tuple()
                .one(&self.txn)
                .await
                .map_err(db_err)?;
            return Err(
                current.map_or(Error::NotFound, |current| Error::VersionMismatch {
                    current,
                }),
            );
        }
        self.record(action, Some(before), Some(&after), FeedOp::Upsert)?;
        Ok(after)
    }

    /// Inserts rows that belong to a record. Each is audited: named by its key
    /// within the audit entry of its record's change when this transaction
    /// made that change under the same action (`after.children.<entity_type>`,
    /// in order; the row itself is in its table, written with the entry),
    /// else with an entry of its own holding the whole row.
    pub async fn insert_children<M>(&mut self, action: &str, rows: Vec<M>) -> Result<()>
    where
        M: Child + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        let mut active = Vec::with_capacity(rows.len());
        for m in rows {
            if !self.fold_into_parent(action, m.parent(), M::ENTITY_TYPE, m.key()) {
                let row = serde_json::to_value(&m).map_err(Error::internal)?;
                self.audit(action, M::ENTITY_TYPE, m.audit_id(), None, Some(row));
            }
            active.push(m.into_active_model().reset_all());
        }
        insert_owned(&self.txn, active, db_err).await
    }

    /// Names a child row (by `key`) in the audit entry of its record's change
    /// made in this transaction under `action`; whether there was one.
    fn fold_into_parent(
        &mut self,
        action: &str,
        parent: Option<(&'static str, Uuid)>,
        child_type: &str,
        key: String,
    ) -> bool {
        let Some((parent_type, parent_id)) = parent else {
            return false;
        };
        let floor = self.fold_floor;
        let Some(entry) = self
            .latest
            .get(&parent_id)
            .filter(|i| **i >= floor)
            .and_then(|i| self.audit.get_mut(*i))
            .filter(|e| {
                matches!(&e.entity_id, sea_orm::ActiveValue::Set(id) if *id == parent_id)
                    && matches!(&e.entity_type, sea_orm::ActiveValue::Set(t) if t == parent_type)
                    && matches!(&e.action, sea_orm::ActiveValue::Set(a) if a == action)
            })
        else {
            return false;
        };
        let sea_orm::ActiveValue::Set(Some(serde_json::Value::Object(after))) = &mut entry.after
        else {
            return false;
        };
        let children = after
            .entry("children")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        let Some(children) = children.as_object_mut() else {
            return false;
        };
        match children
            .entry(child_type)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()))
        {
            serde_json::Value::Array(keys) => {
                keys.push(serde_json::Value::String(key));
                true
            }
            _ => false,
        }
    }

    /// Inserts a row that belongs to a record unless one with its primary key
    /// exists; audited when inserted. Whether it was.
    pub async fn insert_child_if_absent<M>(&mut self, action: &str, row: M) -> Result<bool>
    where
        M: Child + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        let active = row.clone().into_active_model().reset_all();
        let inserted = <M::Entity as EntityTrait>::insert(active)
            .on_conflict_do_nothing()
            .exec_without_returning(&self.txn)
            .await
            .map_err(db_err)?;
        let inserted = matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0);
        if inserted {
            let after = serde_json::to_value(&row).map_err(Error::internal)?;
            self.audit(action, M::ENTITY_TYPE, row.audit_id(), None, Some(after));
        }
        Ok(inserted)
    }

    /// Deletes rows that belong to a record, each with its audit entry.
    pub async fn delete_children<M>(&mut self, action: &str, rows: Vec<M>) -> Result<()>
    where
        M: Child + IntoActiveModel<ActiveOf<M>>,
        ActiveOf<M>: ActiveModelTrait<Entity = M::Entity> + Send,
    {
        for m in rows {
            let before = serde_json::to_value(&m).map_err(Error::internal)?;
            let id = m.audit_id();
            <M::Entity as EntityTrait>::delete(m.into_active_model())
                .exec(&self.txn)
                .await
                .map_err(db_err)?;
            self.audit(action, M::ENTITY_TYPE, id, Some(before), None);
        }
        Ok(())
    }

    /// Records that a replicated record was deleted (the row itself is removed by the caller).
    pub fn record_delete<M: Replicated>(&mut self, action: &str, before: &M) -> Result<()> {
        self.record(action, Some(before), None::<&M>, FeedOp::Delete)
    }

    /// Writes an audit entry for a record that is not replicated (users, logins).
    pub fn audit(
        &mut self,
        action: &str,
        entity_type: &str,
        entity_id: Uuid,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) {
        self.latest.insert(entity_id, self.audit.len());
        self.audit.push(audit_log::ActiveModel {
            id: sea_orm::Set(Uuid::now_v7()),
            at: sea_orm::Set(self.now),
            actor_id: sea_orm::Set(self.actor.user_id),
            action: sea_orm::Set(action.to_owned()),
            entity_type: sea_orm::Set(entity_type.to_owned()),
            entity_id: sea_orm::Set(entity_id),
            before: sea_orm::Set(before),
            after: sea_orm::Set(after),
            request_id: sea_orm::Set(self.actor.request_id.clone()),
        });
    }

    fn record<M: Replicated>(
        &mut self,
        action: &str,
        before: Option<&M>,
        after: Option<&M>,
        op: FeedOp,
    ) -> Result<()> {
        let Some(subject) = after.or(before) else {
            return Ok(());
        };
        let json = |m: Option<&M>| m.map(serde_json::to_value).transpose();
        let before_json = json(before).map_err(Error::internal)?;
        let after_json = json(after).map_err(Error::internal)?;
        self.audit(
            action,
            M::ENTITY_TYPE,
            subject.id(),
            before_json,
            after_json,
        );
        if !M::FED {
            return Ok(());
        }
        self.pending.push(PendingChange {
            entity_type: M::ENTITY_TYPE,
            entity_id: subject.id(),
            version: subject.version(),
            op,
            scope: subject.feed_scope(),
        });
        Ok(())
    }

    /// Fills in the village of entries known only by enterprise, so that the
    /// feed can be filtered by village without joins.
    async fn resolve_villages(&mut self) -> Result<()> {
        use sea_orm::{ColumnTrait, QuerySelect};
        let wanted: std::collections::BTreeSet<Uuid> = self
            .pending
            .iter()
            .filter(|c| c.scope.village_id.is_none())
            .filter_map(|c| c.scope.enterprise_id)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut villages = std::collections::HashMap::new();
        let ids: Vec<Uuid> = wanted.into_iter().collect();
        for chunk in ids.chunks(500) {
            let rows: Vec<(Uuid, Uuid)> = crate::entity::enterprise::Entity::find()
                .select_only()
                .column(crate::entity::enterprise::Column::Id)
                .column(crate::entity::enterprise::Column::VillageId)
                .filter(crate::entity::enterprise::Column::Id.is_in(chunk.to_vec()))
                .into_tuple()
                .all(&self.txn)
                .await
                .map_err(Error::internal)?;
            villages.extend(rows);
        }
        for c in &mut self.pending {
            if c.scope.village_id.is_none()
                && let Some(e) = c.scope.enterprise_id
            {
                c.scope.village_id = villages.get(&e).copied();
            }
        }
        Ok(())
    }

    /// Queues a feed entry directly: used when a record's scope changes without
    /// the record itself changing (an enterprise moves to another village: its
    /// records leave the old village's feed and enter the new one's).
    pub fn feed_raw(
        &mut self,
        entity_type: &'static str,
        entity_id: Uuid,
        version: i64,
        op: FeedOp,
        scope: FeedScope,
    ) {
        self.pending.push(PendingChange {
            entity_type,
            entity_id,
            version,
            op,
            scope,
        });
    }

    /// Marks a savepoint: a failed step can be undone with
    /// [`WriteTx::rollback_to_savepoint`] without losing the rest of the transaction.
    pub async fn savepoint(&mut self) -> Result<Savepoint> {
        self.txn
            .execute_unprepared("SAVEPOINT step")
            .await
            .map_err(Error::internal)?;
        self.fold_floor = self.audit.len();
        Ok(Savepoint {
            pending: self.pending.len(),
            audit: self.audit.len(),
        })
    }

    /// Undoes everything since `sp`, including queued audit and feed entries.
    pub async fn rollback_to_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.txn
            .execute_unprepared("ROLLBACK TO SAVEPOINT step")
            .await
            .map_err(Error::internal)?;
        self.txn
            .execute_unprepared("RELEASE SAVEPOINT step")
            .await
            .map_err(Error::internal)?;
        self.pending.truncate(sp.pending);
        self.audit.truncate(sp.audit);
        Ok(())
    }

    /// Keeps everything since the savepoint.
    pub async fn release_savepoint(&mut self, _sp: Savepoint) -> Result<()> {
        self.txn
            .execute_unprepared("RELEASE SAVEPOINT step")
            .await
            .map_err(Error::internal)?;
        Ok(())
    }

    /// Writes the audit trail, takes the next feed position, appends the feed
    /// entries and commits. Returns the feed position (`None` when nothing was fed).
    pub async fn commit(mut self) -> Result<Option<i64>> {
        let audit = std::mem::take(&mut self.audit);
        insert_owned(&self.txn, audit, Error::internal).await?;
        let mut position = None;
        if !self.pending.is_empty() {
            // Read before the clock row is locked: concurrent writers wait on
            // that lock only for the feed rows and the commit.
            self.resolve_villages().await?;
            let backend = self.txn.get_database_backend();
            let row = self
                .txn
                .query_one_raw(Statement::from_string(
                    backend,
                    "UPDATE feed_clock SET position = position + 1 WHERE id = 1 RETURNING position",
                ))
                .await
                .map_err(Error::internal)?
                .ok_or_else(|| Error::internal(anyhow::anyhow!("feed_clock row missing")))?;
            let pos: i64 = row.try_get("", "position").map_err(Error::internal)?;
            let now = self.now;
            let rows: Vec<change_feed::ActiveModel> = self
                .pending
                .iter()
                .enumerate()
                .map(|(i, c)| change_feed::ActiveModel {
                    position: sea_orm::Set(pos),
                    ordinal: sea_orm::Set(i as i64),
                    entity_type: sea_orm::Set(c.entity_type.to_owned()),
                    entity_id: sea_orm::Set(c.entity_id),
                    version: sea_orm::Set(c.version),
                    op: sea_orm::Set(c.op.into()),
                    enterprise_id: sea_orm::Set(c.scope.enterprise_id),
                    village_id: sea_orm::Set(c.scope.village_id),
                    committed_at: sea_orm::Set(now),
                })
                .collect();
            insert_owned(&self.txn, rows, Error::internal).await?;
            position = Some(pos);
        }
        self.txn.commit().await.map_err(Error::internal)?;
        Ok(position)
    }
}
