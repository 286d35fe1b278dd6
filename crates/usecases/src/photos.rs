//! Photo evidence (api.md "Photo evidence"): completing an upload — the bytes
//! read back and hashed here, checked, processed, stored under their SHA-256
//! only if nothing is stored there yet, recorded in one transaction — and
//! sweeping what abandoned uploads leave behind.
//!
//! Bytes land on a staging key of their photo; a crash at any step of
//! [`complete`] leaves either a retryable upload or a processed photo.

use std::collections::HashMap;

use anjian_domain::photo::PhotoStatus;
use anjian_domain::{Clock, Error, ErrorCode};
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
    /// Wakes a variant worker when a completion queued bytes.
    pub queue: std::sync::Arc<tokio::sync::Notify>,
    /// How long a worker holds a queued photo before another may take it
    /// over: far longer than making the variants of the largest photo takes.
    pub variant_lease: std::time::Duration,
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
    /// The bytes are verified and the variant is being made.
    #[error("the variant is being made")]
    NotReady,
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
            PhotoError::NotReady => ErrorCode::NotReady,
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

/// A completed photo and how its completion ended: `verified` (bytes
/// checked and stored, variants queued), `processed` (bytes the caller may
/// already see: nothing to wait for), `already_verified` (a repeat).
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

/// Verifies the uploaded bytes — size and SHA-256 computed here, format,
/// dimensions and structure read from the headers — stores the original
/// durably and records the photo `verified`, its variants queued; the phone
/// may delete its copy on this answer. Bytes the caller may already see as a
/// processed photo make it `processed` at once. Safe to repeat, also
/// concurrently.
#[tracing::instrument(name = "photo.complete", skip_all, fields(user.id = %user.user.id, photo.id = %id, outcome = tracing::field::Empty))]
pub async fn complete(
    ph: &Photos,
    db: &Db,
    (actor, clock): (Actor, &dyn Clock),
    user: &User,
    id: Uuid,
    tz: chrono_tz::Tz,
) -> Result<Completed, PhotoError> {
    let done = |photo, outcome| {
        tracing::Span::current().record("outcome", outcome);
        Ok(Completed { photo, outcome })
    };
    let p = uploadable(db, user, id).await?;
    if p.status.has_bytes() {
        return done(p, "already_verified");
    }
    let staging = keys::staging(&id);
    let _held = ph.processor.admit(p.size.max(0) as u64).await;
    let (bytes, held) = match fetch_upload(ph, &staging, p.size.max(0) as u64).await {
        Ok(b) => b,
        Err(StoreError::NotFound) => {
            // A completion running alongside may have finished and dropped the upload.
            let now = visible(db, user, id).await?;
            if now.status.has_bytes() {
                return done(now, "already_verified");
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
    let checked = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || anjian_evidence::imaging::verify(&bytes))
            .await
            .map_err(|e| Error::internal(anyhow::anyhow!("verification task: {e}")))?
    };
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            drop_staging(ph, &staging).await;
            return Err(e.into());
        }
    };
    // The original is the bytes we hashed, not a copy of the staging key,
    // which could have been written again since we read it. Stored bytes of
    // the same hash are the same bytes: kept as they are.
    let mime = checked.format.mime();
    let original = keys::original(&p.sha256);
    match held {
        Some(h) => h.store_as(&original).await?,
        None => {
            ph.store
                .put_hashed(&original, bytes, &p.sha256, mime, true)
                .await?
        }
    };
    let verified = Verified {
        content_type: mime.to_owned(),
        width: i64::from(checked.width),
        height: i64::from(checked.height),
        taken_at: checked.taken_at.and_then(|t| taken_at(t, tz)),
        gps: checked.gps,
    };
    let m = match record_verified(db, (actor, clock), user, id, verified).await {
        Err(PhotoError::Domain(Error::VersionMismatch { .. })) => {
            // A completion running alongside recorded it first.
            let now = visible(db, user, id).await?;
            if !now.status.has_bytes() {
                return Err(Error::Conflict("photo".into()).into());
            }
            drop_staging(ph, &staging).await;
            return done(now, "already_verified");
        }
        other => other?,
    };
    if m.status.awaits_variants() {
        ph.queue.notify_one();
    }
    drop_staging(ph, &staging).await;
    let outcome = m.status.as_str();
    done(m, outcome)
}

/// The uploaded bytes at `staging`, at most `max`. From the embedded store
/// they are read from disk, held under a name of their own (so that the
/// bytes verified are the bytes stored, whatever is PUT meanwhile); from
/// another store they are fetched back.
async fn fetch_upload(
    ph: &Photos,
    staging: &str,
    max: u64,
) -> Result<(bytes::Bytes, Option<anjian_evidence::embedded::Held>), StoreError> {
    match &ph.embedded {
        Some(e) => {
            let held = e.hold(staging).await?;
            Ok((held.read(max).await?, Some(held)))
        }
        None => Ok((ph.store.get(staging, max).await?, None)),
    }
}

/// Records verified bytes for the photo `id` in one transaction: the stored
/// object (once per hash), the photo `verified` with its variants queued, or
/// `processed` when `user` may already see a processed photo of these bytes.
async fn record_verified(
    db: &Db,
    (actor, clock): (Actor, &dyn Clock),
    user: &User,
    id: Uuid,
    v: Verified,
) -> Result<photo::Model, PhotoError> {
    let mut tx = db.write_at(actor, clock).await?;
    let before = repo::find_for_update(&tx, id)
        .await?
        .ok_or(Error::NotFound)?;
    if before.status.has_bytes() {
        return Ok(before);
    }
    let o = repo::record_stored(&mut tx, &before.sha256, before.size, v).await?;
    let scope = user.scope();
    let viewer = repo::viewer(user, &scope);
    let seen = repo::seen_bytes(&tx, &viewer, &before.sha256, before.size).await?;
    let status = PhotoStatus::on_verification(seen.is_some(), o.variants_at.is_some());
    let m = repo::set_bytes(&mut tx, &before, &o, status).await?;
    if status.awaits_variants() {
        anjian_store::repo::photo_jobs::enqueue(&tx, &before.sha256).await?;
    }
    tx.commit().await?;
    Ok(m)
}

/// What one turn of a variant worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Nothing was due.
    Idle,
    /// The variants of these bytes exist now; so many photos became `processed`.
    Made { sha256: String, photos: usize },
    /// The attempt failed; the bytes are queued again for later.
    Failed { sha256: String },
}

/// Takes the queued photo due first, makes its variants and records them
/// (every verified photo of the bytes becomes `processed`); a failure gives
/// the row back with a later retry time. `holder` names this worker.
#[tracing::instrument(name = "photo.variants", skip_all, fields(worker = holder,
    sha256 = tracing::field::Empty, attempt = tracing::field::Empty, outcome = tracing::field::Empty))]
pub async fn make_variants(ph: &Photos, db: &Db, holder: &str) -> Result<Turn, Error> {
    let lease = chrono::Duration::from_std(ph.variant_lease).unwrap_or(chrono::Duration::MAX);
    let tx = db.write(Actor::system()).await?;
    let taken = anjian_store::repo::photo_jobs::take(&tx, holder, lease).await?;
    tx.commit().await?;
    let Some(job) = taken else {
        return Ok(Turn::Idle);
    };
    let span = tracing::Span::current();
    span.record("sha256", job.sha256.as_str());
    span.record("attempt", job.attempts);
    // Any failure after the take gives the row back for a retry soon,
    // rather than leaving it to wait for its lease to run out.
    let made = match variants_of(ph, db, &job.sha256).await {
        Ok(()) => record_variants(db, &job.sha256).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(photos) => {
            span.record("outcome", "made");
            Ok(Turn::Made {
                sha256: job.sha256,
                photos,
            })
        }
        Err(e) => {
            let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
            let retry_at = Utc::now() + anjian_domain::photo::retry_delay(attempts);
            tracing::warn!(sha256 = job.sha256, error = %e, %retry_at, "variants not made; queued again");
            let tx = db.write(Actor::system()).await?;
            anjian_store::repo::photo_jobs::release(
                &tx,
                &job.sha256,
                holder,
                retry_at,
                &e.to_string(),
            )
            .await?;
            tx.commit().await?;
            span.record("outcome", "failed");
            Ok(Turn::Failed { sha256: job.sha256 })
        }
    }
}

/// Records that the variants of `sha256` exist: its verified photos become
/// `processed`; how many did.
async fn record_variants(db: &Db, sha256: &str) -> Result<usize, PhotoError> {
    let mut tx = db.write(Actor::system()).await?;
    let done = repo::variants_made(&mut tx, sha256).await?;
    tx.commit().await?;
    Ok(done.len())
}

/// Makes and stores the variants of the stored bytes `sha256` (again, if
/// an earlier attempt stored some: they come out the same).
async fn variants_of(ph: &Photos, db: &Db, sha256: &str) -> Result<(), PhotoError> {
    let o = repo::stored(db, sha256)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("queued bytes {sha256} have no record")))?;
    let made_keys = anjian_domain::photo::Variant::MADE.map(|v| keys::variant(v.as_str(), sha256));
    if o.variants_at.is_some() {
        // Bytes already processed for another photo: nothing to make while
        // the variants are still there.
        let mut all = true;
        for key in &made_keys {
            all &= match &ph.embedded {
                Some(e) => e.exists(key).await,
                None => ph.store.exists(key).await?,
            };
        }
        if all {
            return Ok(());
        }
    }
    let _held = ph.processor.admit(o.size.max(0) as u64).await;
    let (original, max) = (keys::original(sha256), o.size.max(0) as u64);
    let bytes = match &ph.embedded {
        Some(e) => e.read(&original, max).await?,
        None => ph.store.get(&original, max).await?,
    };
    let made = ph.processor.run(bytes).await?;
    let [preview, thumb] = made_keys;
    for (key, body) in [(preview, made.preview), (thumb, made.thumb)] {
        match &ph.embedded {
            Some(e) => e.write(&key, body.into()).await?,
            None => {
                ph.store.put(&key, body.into(), "image/jpeg", false).await?;
            }
        }
    }
    Ok(())
}

/// How many photos wait for their variants, and since when the oldest.
pub async fn queue_depth(db: &Db) -> Result<(u64, Option<DateTime<Utc>>), Error> {
    anjian_store::repo::photo_jobs::depth(db).await
}

/// Starts `workers` variant workers (none: this replica leaves the queue to
/// others): each takes queued photos one at a
/// time, and waits for a completion's signal (or a second, for retries and
/// rows another replica queued) when nothing is due. Dropping the set stops
/// them; a row taken by a worker stopped mid-way is taken again when its
/// lease runs out.
pub fn spawn_workers(ph: &Photos, db: &Db, workers: usize) -> tokio::task::JoinSet<()> {
    let replica = Uuid::now_v7();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..workers {
        let (ph, db) = (ph.clone(), db.clone());
        let holder = format!("{replica}/{n}");
        tasks.spawn(async move {
            loop {
                let idle = match make_variants(&ph, &db, &holder).await {
                    Ok(Turn::Idle) => true,
                    Ok(_) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "variant worker could not reach the queue");
                        true
                    }
                };
                if idle {
                    tokio::select! {
                        () = ph.queue.notified() => {}
                        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            }
        });
    }
    tasks
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
    (actor, clock): (Actor, &dyn Clock),
    user: &User,
    p: repo::Declare,
    max_pending: i64,
) -> Result<photo::Model, Error> {
    let mut tx = db.write_at(actor, clock).await?;
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

/// The photo and the object key of its `variant`, when `user` may have it
/// and it exists: 404 out of sight, 403 for an original an enterprise user
/// asks for, `not_uploaded` before any bytes, `not_ready` while the variant is
/// being made.
pub async fn variant(
    db: &Db,
    user: &User,
    id: Uuid,
    variant: anjian_domain::photo::Variant,
) -> Result<(photo::Model, String), PhotoError> {
    use anjian_domain::photo::{NotServable, Variant};
    let p = visible(db, user, id).await?;
    if variant == Variant::Original && !may_see_original(user) {
        return Err(Error::Forbidden.into());
    }
    match variant.servable(*p.status) {
        Ok(()) => {}
        Err(NotServable::NotUploaded) => return Err(PhotoError::NotUploaded),
        Err(NotServable::NotReady) => return Err(PhotoError::NotReady),
    }
    let key = match variant {
        Variant::Original => keys::original(&p.sha256),
        v => keys::variant(v.as_str(), &p.sha256),
    };
    Ok((p, key))
}

/// Whether `user`, who sees a photo, may also have its original bytes (EXIF
/// and GPS included).
pub fn may_see_original(user: &User) -> bool {
    anjian_domain::photo::sees_original(user.role())
}

/// How a record's `photo_ids` are checked (api.md "Photo evidence").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// A push: photos the phone declared, whether their bytes arrived yet or
    /// not (the record may travel first); another's or an unknown photo is
    /// the mutation's `not_found`.
    Push,
    /// REST and the portal: photos the caller sees with verified bytes; an
    /// unknown, invisible or unverified one is a field of the body
    /// (`photo_ids`), and one listed by another record a conflict.
    Rest,
}

/// The problems of a REST body's `photo_ids`, read without writing (so that
/// they are reported as the body's, before the record's state is looked at):
/// `duplicate`, `not_found` (unknown or not visible to `user`) and
/// `not_uploaded` (no verified bytes yet). Photos listed by another record
/// are left to [`attach`].
pub(crate) async fn listing_problems(
    tx: &WriteTx,
    user: &User,
    ids: &[Uuid],
) -> Result<anjian_domain::FieldErrors, Error> {
    use anjian_domain::photo::Attachment;
    let mut f = anjian_domain::FieldErrors::new();
    let scope = user.scope();
    let viewer = repo::viewer(user, &scope);
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(*id) {
            f.add("photo_ids", "duplicate");
            continue;
        }
        let Some(p) = repo::find(tx, *id).await? else {
            f.add("photo_ids", "not_found");
            continue;
        };
        let attachment = match (p.owner_id, p.enterprise_id) {
            (Some(_), Some(e)) => {
                let village = anjian_store::repo::enterprises::find_in(tx, &[e])
                    .await?
                    .pop()
                    .map(|e| e.village_id);
                match village {
                    Some(village_id) => Attachment::Record {
                        enterprise_id: e,
                        village_id,
                    },
                    None => {
                        f.add("photo_ids", "not_found");
                        continue;
                    }
                }
            }
            _ => Attachment::Unattached {
                declared_by: p.declared_by,
            },
        };
        if !viewer.sees(attachment) {
            f.add("photo_ids", "not_found");
        } else if !p.status.has_bytes() {
            f.add("photo_ids", "not_uploaded");
        }
    }
    Ok(f)
}

/// Lists photos on a record of `enterprise_id` (`owner`), in order: each
/// photo's owner is set and it joins the enterprise's scope. A photo listed
/// by another record is a `conflict`; listing it again on the same record
/// changes nothing.
pub(crate) async fn attach(
    tx: &mut WriteTx,
    user: &User,
    ids: &[Uuid],
    (owner, enterprise_id): (anjian_domain::photo::Owner<'_>, Uuid),
    listing: Listing,
) -> Result<(), Error> {
    let scope = user.scope();
    let viewer = repo::viewer(user, &scope);
    let mut seen = std::collections::HashSet::new();
    for (pos, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            return Err(Error::validation("photo_ids", "duplicate"));
        }
        let Some(p) = repo::find_for_update(tx, *id).await? else {
            return Err(Error::NotFound);
        };
        let mine = viewer.may_upload(p.declared_by);
        if listing == Listing::Push && !mine {
            return Err(Error::NotFound);
        }
        let current = match (p.owner_type, p.owner_id) {
            (Some(kind), Some(id)) => Some(anjian_domain::photo::Owner {
                kind: *kind,
                id,
                item: p.owner_item.as_deref(),
            }),
            _ => None,
        };
        if !anjian_domain::photo::attach(current, owner)? {
            continue;
        }
        if !mine {
            return Err(Error::NotFound);
        }
        let after = photo::Model {
            owner_type: Some(owner.kind.into()),
            owner_id: Some(owner.id),
            owner_item: owner.item.map(str::to_owned),
            owner_position: Some(pos as i64),
            enterprise_id: Some(enterprise_id),
            ..p.clone()
        };
        tx.update("photo.attach", &p, after).await?;
    }
    Ok(())
}

/// Takes a photo whose bytes arrive with the request itself (the portal's
/// upload form, where a browser on a plain-HTTP LAN address has no
/// `crypto.subtle` to hash them first, and generated demo photos): declared
/// under a new id with the hash computed here, stored on its staging key,
/// and completed like any upload. The photo, at least `verified`.
#[tracing::instrument(name = "photo.ingest", skip_all, fields(user.id = %user.user.id, size = bytes.len()))]
pub async fn ingest(
    ph: &Photos,
    db: &Db,
    (actor, clock, max_pending, tz): (Actor, &dyn Clock, i64, chrono_tz::Tz),
    user: &User,
    bytes: bytes::Bytes,
) -> Result<photo::Model, PhotoError> {
    let sha256 = sha256_hex(&bytes);
    let content_type = anjian_evidence::imaging::Format::sniff(&bytes)
        .ok_or_else(|| PhotoError::NotAnImage("neither JPEG, PNG nor WebP".into()))?
        .mime();
    let declared = declare(
        db,
        (actor.clone(), clock),
        user,
        repo::Declare {
            id: Uuid::now_v7(),
            sha256: sha256.clone(),
            size: bytes.len() as i64,
            content_type: content_type.to_owned(),
            taken_at: None,
        },
        max_pending,
    )
    .await?;
    if declared.status.has_bytes() {
        return Ok(declared);
    }
    ph.store
        .put_hashed(
            &keys::staging(&declared.id),
            bytes,
            &sha256,
            content_type,
            false,
        )
        .await?;
    Ok(complete(ph, db, (actor, clock), user, declared.id, tz)
        .await?
        .photo)
}
