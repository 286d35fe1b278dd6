//! Photo evidence (api.md "Photo evidence"): completing an upload — the bytes
//! read back and hashed here, checked, processed, stored under their SHA-256
//! only if nothing is stored there yet, recorded in one transaction — and
//! sweeping what abandoned uploads leave behind.
//!
//! Bytes land on a staging key of their photo; a crash at any step of
//! [`complete`] leaves either a retryable upload or a processed photo.

use std::collections::HashMap;

use anjian_domain::photo::PhotoStatus;
use anjian_domain::{Error, ErrorCode};
use anjian_evidence::{ImageError, ObjectStore, StoreError, keys, objects::sha256_hex};
use anjian_store::entity::photo;
use anjian_store::repo::photos::{self as repo, Verified};
use anjian_store::repo::users::User;
use anjian_store::{Actor, Db, WriteTx};
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// Photo evidence: where bytes go and how they are processed.
#[derive(Debug, Clone)]
pub struct Photos {
    pub store: ObjectStore,
    pub processor: anjian_evidence::Processor,
    /// Set when the store is the embedded server, served on our listener.
    pub embedded: Option<anjian_evidence::Embedded>,
    /// Where uploads through the API are spooled before they go to the store.
    pub spool_dir: std::path::PathBuf,
    /// Lifetime of a presigned upload URL.
    pub upload_ttl: std::time::Duration,
    /// Lifetime of a presigned download URL.
    pub download_ttl: std::time::Duration,
}

/// Why a photo could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// The bytes are not the declared ones: `size` or `sha256`.
    #[error("the bytes do not match the declared {0}")]
    ChecksumMismatch(&'static str),
    /// What the decoder said: for the log, never for the answer.
    #[error("not an image: {0}")]
    NotAnImage(String),
    #[error("image too large: {0}")]
    ImageTooLarge(String),
    #[error("no bytes have arrived")]
    NotUploaded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PhotoError {
    /// The code it answers with (api.md).
    pub fn code(&self) -> ErrorCode {
        match self {
            PhotoError::Domain(e) => e.code(),
            PhotoError::ChecksumMismatch(_) => ErrorCode::ChecksumMismatch,
            PhotoError::NotAnImage(_) => ErrorCode::NotAnImage,
            PhotoError::ImageTooLarge(_) => ErrorCode::ImageTooLarge,
            PhotoError::NotUploaded => ErrorCode::NotUploaded,
            PhotoError::Store(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<ImageError> for PhotoError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::NotAnImage(r) => PhotoError::NotAnImage(r),
            ImageError::TooLarge(r) => PhotoError::ImageTooLarge(r),
        }
    }
}

/// A completed photo and how its completion ended: `processed` (bytes new
/// here), `deduplicated` (bytes already stored), `already_processed`.
#[derive(Debug)]
pub struct Completed {
    pub photo: photo::Model,
    pub outcome: &'static str,
}

/// The photo `id`, when `user` may upload or complete it (404 when it may not
/// see it, 403 when it sees it but is not its declarer or staff).
pub async fn uploadable(db: &Db, user: &User, id: Uuid) -> Result<photo::Model, Error> {
    let p = visible(db, user, id).await?;
    if !repo::viewer(user, &user.scope()).may_upload(p.declared_by) {
        return Err(Error::Forbidden);
    }
    Ok(p)
}

/// Verifies the uploaded bytes (size and SHA-256, computed here), processes
/// them and makes the photo `processed`. Safe to repeat, also concurrently.
#[tracing::instrument(name = "photo.complete", skip_all, fields(user.id = %user.user.id, photo.id = %id, outcome = tracing::field::Empty))]
pub async fn complete(
    ph: &Photos,
    db: &Db,
    actor: Actor,
    user: &User,
    id: Uuid,
    tz: chrono_tz::Tz,
) -> Result<Completed, PhotoError> {
    let done = |photo, outcome| {
        tracing::Span::current().record("outcome", outcome);
        Ok(Completed { photo, outcome })
    };
    let p = uploadable(db, user, id).await?;
    if *p.status == PhotoStatus::Processed {
        return done(p, "already_processed");
    }
    let staging = keys::staging(&id);
    let _held = ph.processor.admit(p.size.max(0) as u64).await;
    let bytes = match ph.store.get(&staging, p.size.max(0) as u64).await {
        Ok(b) => b,
        Err(StoreError::NotFound) => {
            // A completion running alongside may have finished and dropped the upload.
            let now = visible(db, user, id).await?;
            if *now.status == PhotoStatus::Processed {
                return done(now, "already_processed");
            }
            return Err(PhotoError::NotUploaded);
        }
        Err(StoreError::TooLarge(_)) => {
            drop_staging(ph, &staging).await;
            return Err(PhotoError::ChecksumMismatch("size"));
        }
        Err(e) => return Err(e.into()),
    };
    if bytes.len() as i64 != p.size || sha256_hex(&bytes) != p.sha256 {
        drop_staging(ph, &staging).await;
        return Err(PhotoError::ChecksumMismatch("sha256"));
    }
    let verified = if repo::stored(db, &p.sha256).await?.is_some() {
        None
    } else {
        let made = match ph.processor.run(bytes.clone()).await {
            Ok(d) => d,
            Err(e) => {
                drop_staging(ph, &staging).await;
                return Err(e.into());
            }
        };
        let sha = &p.sha256;
        // Variants first, the original last: its presence means the set is
        // whole. The original is the bytes we hashed, not a copy of the staging
        // key, which could have been written again since we read it.
        let objects = [
            (
                keys::variant("preview", sha),
                made.preview.into(),
                "image/jpeg",
            ),
            (keys::variant("thumb", sha), made.thumb.into(), "image/jpeg"),
            (keys::original(sha), bytes, made.format.mime()),
        ];
        for (key, body, content_type) in objects {
            ph.store.put(&key, body, content_type, true).await?;
        }
        Some(Verified {
            content_type: made.format.mime().to_owned(),
            width: i64::from(made.width),
            height: i64::from(made.height),
            taken_at: made.taken_at.and_then(|t| taken_at(t, tz)),
            gps: made.gps,
        })
    };
    let outcome = if verified.is_some() {
        "processed"
    } else {
        "deduplicated"
    };
    let m = repo::mark_processed(db, actor, id, verified).await?;
    drop_staging(ph, &staging).await;
    done(m, outcome)
}

/// The instant a camera's local time stands for: with its recorded offset, or
/// else read in the office time zone.
fn taken_at(t: anjian_evidence::imaging::TakenAt, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    match t.offset_minutes {
        Some(m) => chrono::FixedOffset::east_opt(i32::from(m) * 60)?
            .from_local_datetime(&t.local)
            .single()
            .map(|d| d.with_timezone(&Utc)),
        None => tz
            .from_local_datetime(&t.local)
            .earliest()
            .map(|d| d.with_timezone(&Utc)),
    }
}

async fn drop_staging(ph: &Photos, key: &str) {
    if let Err(e) = ph.store.delete(key).await {
        tracing::warn!(key, error = %e, "staging object not removed; the sweep will");
    }
}

/// What the sweep found (and, with `apply`, removed).
#[derive(Debug, Default, serde::Serialize)]
pub struct SweepReport {
    /// Declared long ago, never uploaded, listed by no record.
    pub stale_photos: Vec<Uuid>,
    /// Declared long ago, never uploaded, but a record lists them: kept.
    pub stale_attached: Vec<Uuid>,
    /// Uploads whose photo is gone or already processed.
    pub orphan_uploads: Vec<String>,
    /// Content-addressed objects no stored-object record names.
    pub orphan_objects: Vec<String>,
    /// Stored objects no photo refers to.
    pub unreferenced: Vec<String>,
    pub applied: bool,
}

/// Finds photos declared more than `days` ago whose bytes never came, and
/// stored objects nothing refers to; removes them when `apply`.
pub async fn sweep(
    db: &Db,
    store: &ObjectStore,
    days: u32,
    apply: bool,
) -> anyhow::Result<SweepReport> {
    let e = anyhow::Error::from;
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let mut r = SweepReport {
        applied: apply,
        ..Default::default()
    };
    for p in repo::stale_pending(db, cutoff).await.map_err(e)? {
        if p.owner_id.is_some() {
            r.stale_attached.push(p.id);
        } else {
            r.stale_photos.push(p.id);
        }
    }
    // Uploads: an upload younger than the cutoff may still be completed.
    let staged = store.list(keys::STAGING_PREFIX).await?;
    let ids: Vec<(Uuid, String)> = staged
        .iter()
        .filter(|o| o.last_modified.is_none_or(|t| t < cutoff))
        .filter_map(|o| {
            let id = o.key.strip_prefix(keys::STAGING_PREFIX)?.parse().ok()?;
            Some((id, o.key.clone()))
        })
        .collect();
    let status: HashMap<Uuid, PhotoStatus> =
        repo::statuses(db, &ids.iter().map(|(i, _)| *i).collect::<Vec<_>>())
            .await
            .map_err(e)?
            .into_iter()
            .collect();
    for (id, key) in ids {
        let live = status
            .get(&id)
            .is_some_and(|s| *s == PhotoStatus::PendingUpload)
            && !r.stale_photos.contains(&id);
        if !live {
            r.orphan_uploads.push(key);
        }
    }
    // Content: objects whose SHA-256 no record names.
    let known = repo::stored_shas(db).await.map_err(e)?;
    for prefix in keys::CONTENT_PREFIXES {
        for o in store.list(prefix).await? {
            if o.last_modified.is_some_and(|t| t >= cutoff) {
                continue; // may belong to a completion in progress
            }
            let sha = o
                .key
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".jpg")
                .to_owned();
            if !known.contains(&sha) {
                r.orphan_objects.push(o.key.clone());
            }
        }
    }
    r.unreferenced = repo::unreferenced_objects(db).await.map_err(e)?;
    if apply {
        for id in &r.stale_photos {
            repo::remove_pending(db, Actor::system(), *id)
                .await
                .map_err(e)?;
            store.delete(&keys::staging(id)).await?;
        }
        for key in &r.orphan_uploads {
            store.delete(key).await?;
        }
        for key in &r.orphan_objects {
            store.delete(key).await?;
        }
        for sha in &r.unreferenced {
            if repo::forget_object(db, sha).await.map_err(e)? {
                store.delete(&keys::original(sha)).await?;
                store.delete(&keys::variant("preview", sha)).await?;
                store.delete(&keys::variant("thumb", sha)).await?;
            }
        }
    }
    Ok(r)
}

/// Declares a photo (`POST /photos`): its id, hash, size and type. It comes
/// back `processed` at once only when `user` may already see a processed
/// photo of these bytes.
#[tracing::instrument(name = "photo.declare", skip_all, fields(user.id = %user.user.id, photo.id = %p.id))]
pub async fn declare(
    db: &Db,
    actor: Actor,
    user: &User,
    p: repo::Declare,
    max_pending: i64,
) -> Result<photo::Model, Error> {
    let mut tx = db.write(actor).await?;
    let m = declare_in(&mut tx, user, p, max_pending).await?;
    tx.commit().await?;
    Ok(m)
}

/// Declares a photo inside `tx` (also for a push). Declaring the same photo
/// again returns it as it is; bytes of a processed photo the user may
/// already see make it processed at once.
///
/// A new declaration that must be uploaded is refused with `rate_limited`
/// while the user has `max_pending` photos waiting for their bytes.
pub(crate) async fn declare_in(
    tx: &mut WriteTx,
    user: &User,
    p: repo::Declare,
    max_pending: i64,
) -> Result<photo::Model, Error> {
    p.check()?;
    if let Some(existing) = repo::find(tx, p.id).await? {
        // The same declaration again is harmless; another photo under that id is not.
        let again = p.repeats(
            existing.declared_by,
            user.user.id,
            &existing.sha256,
            existing.size,
        );
        return if again {
            Ok(existing)
        } else {
            Err(Error::Conflict("id".into()))
        };
    }
    // Bytes stored for someone else are deduplicated silently at `complete`;
    // the answer here must not tell whether they exist.
    let scope = user.scope();
    let seen = repo::seen_bytes(tx, &repo::viewer(user, &scope), &p.sha256, p.size).await?;
    if seen.is_none() {
        let pending = repo::pending_of(tx, user.user.id).await?;
        if !anjian_domain::photo::may_await_another(pending, max_pending) {
            return Err(Error::RateLimited {
                retry_after_secs: 60,
            });
        }
    }
    repo::insert_declared(tx, user.user.id, p, seen).await
}

/// The photo, when `user` may see it; otherwise `not_found`, as for
/// anything out of scope.
pub async fn visible(db: &Db, user: &User, id: Uuid) -> Result<photo::Model, Error> {
    let p = repo::get(db, id).await?.ok_or(Error::NotFound)?;
    let scope = user.scope();
    let v = repo::viewer(user, &scope);
    // Who sees every photo needs no read of the enterprise.
    if v.sees_all() || v.sees(repo::attachment(db, &p).await?) {
        Ok(p)
    } else {
        Err(Error::NotFound)
    }
}

/// Whether `user`, who sees a photo, may also have its original bytes (EXIF
/// and GPS included).
pub fn may_see_original(user: &User) -> bool {
    anjian_domain::photo::sees_original(user.role())
}
