//! Push: a device's mutations, applied in `seq` order, each at most once.
//!
//! One transaction per push: the device row is locked, each mutation runs inside
//! a savepoint, its outcome is stored beside the effect, and the device's
//! `last_processed_seq` advances with them. A rejected or conflicting mutation
//! is recorded and the queue moves on. Nothing is answered before the commit.

use anjian_domain::{Clock, DeviceId, Error, Result, UserId};
use anjian_store::repo::hazards::{HazardFull, PreparedHazard};
use anjian_store::repo::users::User;
use anjian_store::sync::outbox::{self, Stored};
use anjian_store::{Actor, Db, WriteTx};
use chrono::{DateTime, Utc};
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
    buffer: &mut Vec<(i64, PreparedHazard)>,
    results: &mut [PushResult],
    outcomes: &mut [Stored],
) -> Result<()> {
    let unwritten = anjian_store::repo::hazards::write_prepared(tx, std::mem::take(buffer)).await?;
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
        for o in outcomes.iter_mut().filter(|o| o.seq == seq) {
            o.outcome = stored.clone();
        }
    }
    Ok(())
}

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

/// Why a push stopped at `seq`, with the cause kept.
fn stopped_at(seq: i64, e: Error) -> Error {
    match e {
        Error::Internal(cause) => {
            Error::Internal(cause.context(format!("applying mutation {seq}")))
        }
        other => other,
    }
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
    clock: &dyn Clock,
    actor: Actor,
    user: &User,
    device_id: Uuid,
    mut mutations: Vec<Mutation>,
    settings: &PushSettings,
) -> Result<PushAnswer> {
    let policy = &settings.policy;
    outbox::claim_device(db, DeviceId(device_id), UserId(user.user.id)).await?;
    mutations.sort_by_key(|m| m.seq);
    let mut tx = db.write_at(actor, clock).await?;
    let mut last = outbox::lock_device(&tx, device_id).await?;
    let pre = std::sync::Arc::new(apply::Prefetched::load(&tx, user, &mutations).await?);
    let mut results = Vec::new();
    let mut failure: Option<Error> = None;
    // Stored outcomes are written together before the commit, in the same transaction.
    let mut outcomes: Vec<Stored> = Vec::new();
    let mut buffer: Vec<(i64, PreparedHazard)> = Vec::new();
    let mut buffered_ids = std::collections::HashSet::new();
    for m in &mutations {
        if m.seq <= last {
            // This push may itself hold the earlier submission (not written yet).
            let buffered = outcomes.iter().find(|o| o.seq == m.seq).cloned();
            let stored = match buffered {
                Some(b) => Some(b),
                None => outbox::stored_outcome(&tx, device_id, m.seq).await?,
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
                failure = Some(stopped_at(m.seq, e));
                break;
            }
            Err(e) => Err(e),
            Ok(None) => {
                flush(&mut tx, &mut buffer, &mut results, &mut outcomes).await?;
                let sp = tx.savepoint().await?;
                let r =
                    apply::with_prefetched(pre.clone(), apply::apply(&mut tx, user, m, settings))
                        .await;
                let mut failed = false;
                match &r {
                    Ok(_) => tx.release_savepoint(sp).await?,
                    Err(MutErr::Deferred) => {
                        tx.rollback_to_savepoint(sp).await?;
                        break;
                    }
                    Err(MutErr::Internal(e)) if anjian_store::db::refused_content(e) => {
                        // The database refused this mutation's content: its
                        // outcome, not the device's whole queue.
                        tracing::warn!(seq = m.seq, error = ?e, "the database refused a mutation's content");
                        tx.rollback_to_savepoint(sp).await?;
                    }
                    Err(MutErr::Internal(_)) => {
                        // The database failed: keep the processed prefix, answer it.
                        tx.rollback_to_savepoint(sp).await?;
                        failed = true;
                    }
                    Err(_) => tx.rollback_to_savepoint(sp).await?,
                }
                if failed {
                    if let Err(MutErr::Internal(e)) = r {
                        failure = Some(stopped_at(m.seq, e));
                    }
                    break;
                }
                match r {
                    Err(MutErr::Internal(e)) if anjian_store::db::refused_content(&e) => {
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
        outcomes.push(Stored {
            seq: m.seq,
            payload_hash: m.fingerprint(),
            outcome: serde_json::to_value(&outcome).map_err(Error::internal)?,
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
    let now = tx.now();
    outbox::record_outcomes(&tx, device_id, outcomes, last, now).await?;
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
