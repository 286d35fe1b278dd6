//! Offline sync (api.md "Offline sync"): a device's mutations applied exactly
//! once ([`push`]), and the change feed of the user's scope ([`pull`]).

pub mod apply;
pub mod push;

use anjian_domain::{DeviceId, Result, UserId};
use anjian_store::Db;
use anjian_store::repo::users::User;
use anjian_store::sync::outbox;
pub use anjian_store::sync::pull::{TYPES, fingerprint};
pub use anjian_store::sync::{Change, CursorState, PullAnswer, Record};
use uuid::Uuid;

pub use apply::PushSettings;
pub use push::{
    MAX_BYTES, MAX_MUTATIONS, Mutation, Outcome, OutcomeError, PROTOCOL, PushAnswer, PushResult,
    push,
};

/// Answers a pull from `device_id` (registered to the user on first use;
/// another user's device is `forbidden`). `cursor` is `None` for a first
/// pull, `Some(None)` for a cursor that could not be opened.
#[tracing::instrument(name = "pull", skip_all, fields(
    user.id = %user.user.id, device.id = %device_id, limit, snapshot = cursor.is_none(),
    changes = tracing::field::Empty, has_more = tracing::field::Empty))]
pub async fn pull(
    db: &Db,
    user: &User,
    device_id: Uuid,
    cursor: Option<Option<CursorState>>,
    limit: usize,
) -> Result<PullAnswer> {
    // The device's position first: every mutation it counts is visible to
    // the reads that follow.
    let device = outbox::claim_device(db, DeviceId(device_id), UserId(user.user.id)).await?;
    let a =
        anjian_store::sync::pull::pull(db, user, device.last_processed_seq, cursor, limit).await?;
    let span = tracing::Span::current();
    span.record("changes", a.changes.len());
    span.record("has_more", a.has_more);
    Ok(a)
}
