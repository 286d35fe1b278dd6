//! Push: a device's mutations, applied in `seq` order, each at most once.
//!
//! One transaction per push: the device row is locked, each mutation runs inside
//! a savepoint, its outcome is stored beside the effect, and the device's
//! `last_processed_seq` advances with them. A rejected or conflicting mutation
//! is recorded and the queue moves on. Nothing is answered before the commit.

use anjian_domain::{Error, Result};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, Statement};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::apply::{self, Applied, MutErr, PushSettings};

/// Writes the buffered creates; a create whose id turned out to be taken (by a
/// concurrent push) gets a `conflict` outcome instead of `applied`, one whose
/// row the database refused a `rejected` one.
async fn flush(
    tx: &mut WriteTx,
    buffer: &mut Vec<(i64, apply::PreparedHazard)>,
    results: &mut [PushResult],
    outcomes: &mut [sync_mutation::ActiveModel],
) -> Result<()> {
    let unwritten = apply::write_prepared(tx, std::mem::take(buffer)).await?;
    let failed = unwritten
        .taken
        .iter()
        .map(|s| {
            (
                *s,
                MutErr::Rejected {
                    entity_type: Some("hazard"),
                    entity_id: None,
                    error: Error::Conflict("unique".into()),
                },
            )
        })
        .chain(
            unwritten
                .refused
                .iter()
                .map(|s| (*s, apply::refused_by_database(Some("hazard"), None))),
        );
    for (seq, err) in failed {
        let Some(r) = results
            .iter_mut()
            .find(|r| r.outcome.seq == seq && !r.replayed)
        else {
            continue;
        };
        let entity_id = r.outcome.entity_id;
        r.outcome = outcome_of(seq, &Err(err));
        r.outcome.entity_id = entity_id;
        let stored = serde_json::to_value(&r.outcome).map_err(Error::internal)?;
        for o in outcomes.iter_mut().filter(|o| o.seq.as_ref() == &seq) {
            o.outcome = sea_orm::Set(stored.clone());
        }
    }
    Ok(())
}
use crate::entity::{device, sync_mutation};
use crate::repo::hazards::HazardFull;
use crate::repo::users::User;
use crate::{Actor, Db, WriteTx};

/// The protocol version this server speaks.
pub const PROTOCOL: i64 = 1;
/// At most this many mutations in one push.
pub const MAX_MUTATIONS: usize = 500;
/// At most this many bytes in one push body.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// One queued change from a device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mutation {
    #[serde(deserialize_with = "anjian_domain::number::integer")]
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "anjian_domain::number::optional_integer")]
    pub base_version: Option<i64>,
    #[serde(default)]
    pub client_time: Option<DateTime<Utc>>,
    pub payload: Value,
}

impl Mutation {
    /// What makes two submissions of a `seq` the same mutation: a hash of its
    /// type, base version and payload (streamed, without copying the payload).
    fn fingerprint(&self) -> String {
        struct Hashing<'a>(&'a mut Sha256);
        impl std::io::Write for Hashing<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut h = Sha256::new();
        h.update(self.kind.as_bytes());
        h.update([0]);
        h.update(
            self.base_version
                .map(|v| v.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update([0]);
        // Serialising a Value into a hasher cannot fail.
        let _ = serde_json::to_writer(Hashing(&mut h), &self.payload);
        hex::encode(h.finalize())
    }
}

/// An error inside a result: a code of api.md and optional details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeError {
    pub code: String,
    #[serde(default)]
    pub details: Option<Value>,
}

/// What happened to a mutation; stored, and answered again on replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub seq: i64,
    /// `applied` | `conflict` | `rejected`.
    pub status: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub version: Option<i64>,
    pub error: Option<OutcomeError>,
}

/// One result of a push.
#[derive(Debug, Clone)]
pub struct PushResult {
    pub outcome: Outcome,
    pub replayed: bool,
    /// The hazard as it is on the server, for conflicts.
    pub server_entity: Option<HazardFull>,
}

/// The answer to a push.
#[derive(Debug, Clone)]
pub struct PushAnswer {
    pub results: Vec<PushResult>,
    pub last_processed_seq: i64,
}

/// Registers the device for `user` on first use; another user's device is forbidden.
pub async fn claim_device(db: &Db, device_id: Uuid, user_id: Uuid) -> Result<device::Model> {
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
    let now = Utc::now();
    let tx = db.write(Actor::system()).await?;
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

async fn lock_device(tx: &WriteTx, device_id: Uuid) -> Result<i64> {
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

/// The `id` a payload names, if any.
fn payload_id(m: &Mutation) -> Option<Uuid> {
    m.payload.get("id")?.as_str()?.parse().ok()
}

fn outcome_of(seq: i64, r: &std::result::Result<Applied, MutErr>) -> Outcome {
    match r {
        Ok(a) => Outcome {
            seq,
            status: "applied".into(),
            entity_type: Some(a.entity_type.to_owned()),
            entity_id: Some(a.entity_id),
            version: Some(a.version),
            error: None,
        },
        Err(e) => {
            let (status, code, details) = e.describe();
            Outcome {
                seq,
                status: status.into(),
                entity_type: e.entity_type().map(str::to_owned),
                entity_id: e.entity_id(),
                version: None,
                error: Some(OutcomeError {
                    code: code.as_str().to_owned(),
                    details,
                }),
            }
        }
    }
}

/// Applies a push for `user` from `device_id`.
#[tracing::instrument(name = "push", skip_all, fields(
    user.id = %user.user.id, device.id = %device_id, mutations = mutations.len(),
    applied = tracing::field::Empty, refused = tracing::field::Empty,
    last_processed_seq = tracing::field::Empty))]
pub async fn push(
    db: &Db,
    actor: Actor,
    user: &User,
    device_id: Uuid,
    mut mutations: Vec<Mutation>,
    settings: &PushSettings,
) -> Result<PushAnswer> {
    let policy = &settings.policy;
    claim_device(db, device_id, user.user.id).await?;
    mutations.sort_by_key(|m| m.seq);
    let mut tx = db.write(actor).await?;
    let mut last = lock_device(&tx, device_id).await?;
    let pre = std::sync::Arc::new(apply::Prefetched::load(&tx, &mutations).await?);
    let mut results = Vec::new();
    let mut failure: Option<Error> = None;
    // Stored outcomes are written together before the commit, in the same transaction.
    let mut outcomes: Vec<sync_mutation::ActiveModel> = Vec::new();
    let mut buffer: Vec<(i64, apply::PreparedHazard)> = Vec::new();
    let mut buffered_ids = std::collections::HashSet::new();
    for m in &mutations {
        if m.seq <= last {
            // This push may itself hold the earlier submission (not written yet).
            let buffered =
                outcomes
                    .iter()
                    .find(|o| o.seq.as_ref() == &m.seq)
                    .map(|o| sync_mutation::Model {
                        device_id,
                        seq: m.seq,
                        payload_hash: o.payload_hash.as_ref().clone(),
                        outcome: o.outcome.as_ref().clone(),
                        processed_at: Utc::now(),
                    });
            let stored = match buffered {
                Some(b) => Some(b),
                None => sync_mutation::Entity::find_by_id((device_id, m.seq))
                    .one(tx.txn())
                    .await
                    .map_err(Error::internal)?,
            };
            let result = match stored {
                Some(s) if s.payload_hash == m.fingerprint() => {
                    let outcome: Outcome =
                        serde_json::from_value(s.outcome).map_err(Error::internal)?;
                    let server_entity = match (&outcome.status[..], outcome.entity_id) {
                        ("conflict", Some(id)) => apply::current_hazard(&tx, user, id).await?,
                        _ => None,
                    };
                    PushResult {
                        outcome,
                        replayed: true,
                        server_entity,
                    }
                }
                _ => PushResult {
                    outcome: Outcome {
                        seq: m.seq,
                        status: "rejected".into(),
                        entity_type: None,
                        entity_id: None,
                        version: None,
                        error: Some(OutcomeError {
                            code: anjian_domain::ErrorCode::SeqReused.as_str().to_owned(),
                            details: None,
                        }),
                    },
                    replayed: false,
                    server_entity: None,
                },
            };
            results.push(result);
            continue;
        }
        if m.seq != last + 1 {
            break;
        }
        // Creates without photos are checked now and written together later.
        let prepared =
            apply::with_prefetched(pre.clone(), apply::prepare_batchable(&tx, user, m, policy))
                .await;
        let r = match prepared {
            Ok(Some(p)) if buffered_ids.insert(p.hazard.id) => {
                let applied = Applied {
                    entity_type: "hazard",
                    entity_id: p.hazard.id,
                    version: 1,
                };
                buffer.push((m.seq, p));
                Ok(applied)
            }
            Ok(Some(p)) => Err(MutErr::Rejected {
                entity_type: Some("hazard"),
                entity_id: Some(p.hazard.id),
                error: Error::Conflict("unique".into()),
            }),
            Err(MutErr::Internal(e)) => {
                failure = Some(Error::internal(anyhow::anyhow!("{e:?}")));
                break;
            }
            Err(e) => Err(e),
            Ok(None) => {
                flush(&mut tx, &mut buffer, &mut results, &mut outcomes).await?;
                let sp = tx.savepoint().await?;
                let r =
                    apply::with_prefetched(pre.clone(), apply::apply(&mut tx, user, m, settings))
                        .await;
                match &r {
                    Ok(_) => tx.release_savepoint(sp).await?,
                    Err(MutErr::Deferred) => {
                        tx.rollback_to_savepoint(sp).await?;
                        break;
                    }
                    Err(MutErr::Internal(e)) if crate::db::refused_content(e) => {
                        // The database refused this mutation's content: its
                        // outcome, not the device's whole queue.
                        tracing::warn!(seq = m.seq, error = ?e, "the database refused a mutation's content");
                        tx.rollback_to_savepoint(sp).await?;
                    }
                    Err(MutErr::Internal(e)) => {
                        // The database failed: keep the processed prefix, answer it.
                        tx.rollback_to_savepoint(sp).await?;
                        failure = Some(Error::internal(anyhow::anyhow!("{e:?}")));
                        break;
                    }
                    Err(_) => tx.rollback_to_savepoint(sp).await?,
                }
                match r {
                    Err(MutErr::Internal(e)) if crate::db::refused_content(&e) => {
                        Err(apply::refused_by_database(None, payload_id(m)))
                    }
                    r => r,
                }
            }
        };
        let outcome = outcome_of(m.seq, &r);
        let server_entity = match &r {
            Err(MutErr::Conflict {
                hazard_id: Some(id),
                ..
            }) => apply::current_hazard(&tx, user, *id).await?,
            _ => None,
        };
        outcomes.push(sync_mutation::ActiveModel {
            device_id: sea_orm::Set(device_id),
            seq: sea_orm::Set(m.seq),
            payload_hash: sea_orm::Set(m.fingerprint()),
            outcome: sea_orm::Set(serde_json::to_value(&outcome).map_err(Error::internal)?),
            processed_at: sea_orm::Set(Utc::now()),
        });
        last = m.seq;
        results.push(PushResult {
            outcome,
            replayed: false,
            server_entity,
        });
    }
    flush(&mut tx, &mut buffer, &mut results, &mut outcomes).await?;
    let processed = results.iter().any(|r| !r.replayed);
    for chunk in outcomes.chunks(500) {
        sync_mutation::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx.txn())
            .await
            .map_err(Error::internal)?;
    }
    if processed {
        device::Entity::update_many()
            .col_expr(
                device::Column::LastProcessedSeq,
                sea_orm::sea_query::Expr::value(last),
            )
            .col_expr(
                device::Column::LastSeenAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(<device::Column as sea_orm::ColumnTrait>::eq(
                &device::Column::Id,
                device_id,
            ))
            .exec(tx.txn())
            .await
            .map_err(Error::internal)?;
    }
    if let Some(e) = failure
        && !processed
    {
        return Err(e);
    }
    tx.commit().await?;
    let applied = results
        .iter()
        .filter(|r| !r.replayed && r.outcome.status == "applied")
        .count();
    let span = tracing::Span::current();
    span.record("applied", applied);
    span.record("refused", results.len() - applied);
    span.record("last_processed_seq", last);
    tracing::debug!("push committed");
    Ok(PushAnswer {
        results,
        last_processed_seq: last,
    })
}

use sea_orm::QueryFilter;
