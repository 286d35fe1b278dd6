//! Photos: declaration (from `POST /photos` and from sync), who may see what,
//! verified bytes becoming a processed photo, and the records the sweep removes.

use std::collections::HashSet;

use anjian_domain::Error;
use anjian_domain::photo as photo_limits;
use anjian_domain::photo::PhotoStatus::{self, PendingUpload, Processed};
use anjian_domain::photo::{Attachment, Viewer};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::db::db_err;
use crate::entity::{enterprise, photo, stored_object};
use crate::repo::users::User;
use crate::{Actor, Db, Result, WriteTx};

pub use anjian_domain::photo::Declare;

/// Declares a photo inside `tx`. Declaring the same photo again returns it as
/// it is; bytes of a processed photo the user may already see make it
/// processed at once.
///
/// A new declaration that must be uploaded is refused with `rate_limited`
/// while the user has `max_pending` photos waiting for their bytes.
pub async fn declare_in(
    tx: &mut WriteTx,
    user: &User,
    p: Declare,
    max_pending: i64,
) -> Result<photo::Model> {
    p.check()?;
    if let Some(existing) = photo::Entity::find_by_id(p.id)
        .one(tx.txn())
        .await
        .map_err(db_err)?
    {
        // The same declaration again is harmless; another photo under that id is not.
        if p.repeats(
            existing.declared_by,
            user.user.id,
            &existing.sha256,
            existing.size,
        ) {
            return Ok(existing);
        }
        return Err(Error::Conflict("id".into()));
    }
    // Bytes stored for someone else are deduplicated silently at `complete`;
    // the answer here must not tell whether they exist.
    let stored = if sees_processed_bytes(tx.txn(), user, &p.sha256).await? {
        stored_object::Entity::find_by_id(p.sha256.clone())
            .one(tx.txn())
            .await
            .map_err(db_err)?
            .filter(|o| o.size == p.size)
    } else {
        None
    };
    let now = tx.now();
    let mut m = photo::Model {
        id: p.id,
        sha256: p.sha256,
        size: p.size,
        content_type: p.content_type,
        status: PendingUpload.into(),
        declared_by: user.user.id,
        declared_at: now,
        taken_at: p.taken_at,
        uploaded_at: None,
        processed_at: None,
        width: None,
        height: None,
        gps_lat: None,
        gps_lon: None,
        owner_type: None,
        owner_id: None,
        owner_item: None,
        owner_position: None,
        enterprise_id: None,
        version: 1,
    };
    if let Some(o) = stored {
        apply_stored(&mut m, &o, now);
    } else {
        let pending = photo::Entity::find()
            .filter(photo::Column::DeclaredBy.eq(user.user.id))
            .filter(photo::Column::Status.eq(PendingUpload.as_str()))
            .count(tx.txn())
            .await
            .map_err(db_err)?;
        if !photo_limits::may_await_another(pending as i64, max_pending) {
            return Err(Error::RateLimited {
                retry_after_secs: 60,
            });
        }
    }
    tx.insert("photo.declare", m).await
}

/// What verified bytes say, copied onto a photo of those bytes.
fn apply_stored(m: &mut photo::Model, o: &stored_object::Model, now: DateTime<Utc>) {
    m.status = Processed.into();
    m.content_type = o.content_type.clone();
    m.width = Some(o.width);
    m.height = Some(o.height);
    m.taken_at = o.taken_at.or(m.taken_at);
    m.gps_lat = o.gps_lat;
    m.gps_lon = o.gps_lon;
    m.uploaded_at = Some(now);
    m.processed_at = Some(now);
}

/// Declares a photo in a transaction of its own. `true` when it was created now.
pub async fn declare(
    db: &Db,
    actor: Actor,
    user: &User,
    p: Declare,
    max_pending: i64,
) -> Result<photo::Model> {
    let mut tx = db.write(actor).await?;
    let m = declare_in(&mut tx, user, p, max_pending).await?;
    tx.commit().await?;
    Ok(m)
}

/// Who `user` is to the photo rules of the domain.
pub fn viewer<'a>(user: &User, scope: &'a anjian_domain::Scope) -> Viewer<'a> {
    Viewer {
        user_id: user.user.id,
        role: user.role(),
        scope,
    }
}

/// Where a photo stands for visibility (the enterprise's village read when attached).
async fn attachment<C: ConnectionTrait>(conn: &C, p: &photo::Model) -> Result<Attachment> {
    let enterprise_id = match (p.owner_id, p.enterprise_id) {
        (Some(_), Some(e)) => e,
        (None, _) => {
            return Ok(Attachment::Unattached {
                declared_by: p.declared_by,
            });
        }
        (Some(_), None) => {
            return Err(Error::internal(anyhow::anyhow!(
                "photo {} is attached without an enterprise",
                p.id
            )));
        }
    };
    let village_id: Uuid = enterprise::Entity::find_by_id(enterprise_id)
        .select_only()
        .column(enterprise::Column::VillageId)
        .into_tuple()
        .one(conn)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound)?;
    Ok(Attachment::Record {
        enterprise_id,
        village_id,
    })
}

/// The photo, when `user` may see it (metadata, `preview`, `thumb`);
/// otherwise `NotFound`, as for anything out of scope.
pub async fn visible(db: &Db, user: &User, id: Uuid) -> Result<photo::Model> {
    let p = photo::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound)?;
    let scope = user.scope();
    let v = viewer(user, &scope);
    // Who sees every photo needs no read of the enterprise.
    if v.sees_all() || v.sees(attachment(db.conn(), &p).await?) {
        Ok(p)
    } else {
        Err(Error::NotFound)
    }
}

/// Whether `user`, who sees the photo, may upload or complete it.
pub fn may_upload(user: &User, p: &photo::Model) -> bool {
    viewer(user, &user.scope()).may_upload(p.declared_by)
}

/// Whether `user` may already see a processed photo of these bytes: only then
/// does a declaration skip the upload (knowing a hash never grants bytes).
async fn sees_processed_bytes<C: ConnectionTrait>(
    conn: &C,
    user: &User,
    sha256: &str,
) -> Result<bool> {
    let found = photo::Entity::find()
        .select_only()
        .column(photo::Column::Id)
        .filter(photo::Column::Sha256.eq(sha256))
        .filter(photo::Column::Status.eq(Processed.as_str()))
        .filter(crate::scope::photos(&viewer(user, &user.scope())))
        .into_tuple::<Uuid>()
        .one(conn)
        .await
        .map_err(db_err)?;
    Ok(found.is_some())
}

/// The stored object of these bytes, if any.
pub async fn stored(db: &Db, sha256: &str) -> Result<Option<stored_object::Model>> {
    stored_object::Entity::find_by_id(sha256.to_owned())
        .one(db.conn())
        .await
        .map_err(db_err)
}

/// What processing found, for [`mark_processed`].
#[derive(Debug, Clone)]
pub struct Verified {
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub taken_at: Option<DateTime<Utc>>,
    pub gps: Option<(f64, f64)>,
}

/// Records the stored object (once per SHA-256) and makes the photo
/// `processed`, in one transaction. Already processed (also by a completion
/// that ran alongside and won the race): returned as it is.
pub async fn mark_processed(
    db: &Db,
    actor: Actor,
    id: Uuid,
    v: Option<Verified>,
) -> Result<photo::Model> {
    match mark_processed_once(db, actor, id, v).await {
        Err(Error::VersionMismatch { .. }) => {
            let p = photo::Entity::find_by_id(id)
                .one(db.conn())
                .await
                .map_err(db_err)?
                .ok_or(Error::NotFound)?;
            if *p.status == Processed {
                Ok(p)
            } else {
                Err(Error::Conflict("photo".into()))
            }
        }
        other => other,
    }
}

async fn mark_processed_once(
    db: &Db,
    actor: Actor,
    id: Uuid,
    v: Option<Verified>,
) -> Result<photo::Model> {
    let mut tx = db.write(actor).await?;
    let p = photo::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound)?;
    if *p.status == Processed {
        return Ok(p);
    }
    let now = tx.now();
    if let Some(v) = v {
        let row = stored_object::Model {
            sha256: p.sha256.clone(),
            size: p.size,
            content_type: v.content_type,
            width: v.width,
            height: v.height,
            stored_at: now,
            taken_at: v.taken_at,
            gps_lat: v.gps.map(|g| g.0),
            gps_lon: v.gps.map(|g| g.1),
        };
        tx.insert_child_if_absent("photo.store", row).await?;
    }
    let o = stored_object::Entity::find_by_id(p.sha256.clone())
        .one(tx.txn())
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored object missing for {id}")))?;
    let mut after = p.clone();
    apply_stored(&mut after, &o, now);
    let m = tx.update("photo.process", &p, after).await?;
    tx.commit().await?;
    Ok(m)
}

/// Photos declared before `before` whose bytes never arrived.
pub async fn stale_pending(db: &Db, before: DateTime<Utc>) -> Result<Vec<photo::Model>> {
    photo::Entity::find()
        .filter(photo::Column::Status.eq(PendingUpload.as_str()))
        .filter(photo::Column::DeclaredAt.lt(before))
        .all(db.conn())
        .await
        .map_err(db_err)
}

/// Removes a declared photo no record lists. A photo a record lists stays:
/// the record refers to it, and its bytes may still come.
pub async fn remove_pending(db: &Db, actor: Actor, id: Uuid) -> Result<bool> {
    let mut tx = db.write(actor).await?;
    let p = photo::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(db_err)?;
    let Some(p) = p.filter(|p| *p.status == PendingUpload && p.owner_id.is_none()) else {
        return Ok(false);
    };
    photo::Entity::delete_by_id(id)
        .exec(tx.txn())
        .await
        .map_err(db_err)?;
    tx.record_delete("photo.sweep", &p)?;
    tx.commit().await?;
    Ok(true)
}

/// SHA-256 of every stored object on record.
pub async fn stored_shas(db: &Db) -> Result<HashSet<String>> {
    let rows: Vec<String> = stored_object::Entity::find()
        .select_only()
        .column(stored_object::Column::Sha256)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().collect())
}

/// Stored objects no photo refers to any more.
pub async fn unreferenced_objects(db: &Db) -> Result<Vec<String>> {
    let used = Query::select()
        .column(photo::Column::Sha256)
        .from(photo::Entity)
        .and_where(photo::Column::Status.eq(Processed.as_str()))
        .to_owned();
    stored_object::Entity::find()
        .select_only()
        .column(stored_object::Column::Sha256)
        .filter(stored_object::Column::Sha256.not_in_subquery(used))
        .order_by_asc(stored_object::Column::Sha256)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)
}

/// Forgets a stored object, unless a processed photo refers to it again.
pub async fn forget_object(db: &Db, sha256: &str) -> Result<bool> {
    let mut tx = db.write(Actor::system()).await?;
    let used = photo::Entity::find()
        .filter(photo::Column::Sha256.eq(sha256))
        .filter(photo::Column::Status.eq(Processed.as_str()))
        .one(tx.txn())
        .await
        .map_err(db_err)?
        .is_some();
    if used {
        return Ok(false);
    }
    let o = stored_object::Entity::find_by_id(sha256.to_owned())
        .one(tx.txn())
        .await
        .map_err(db_err)?;
    tx.delete_children("photo.forget", o.into_iter().collect())
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Ids and statuses of photos, for telling live uploads from orphans.
pub async fn statuses(db: &Db, ids: &[Uuid]) -> Result<Vec<(Uuid, PhotoStatus)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, crate::entity::Enum<PhotoStatus>)> = photo::Entity::find()
            .select_only()
            .column(photo::Column::Id)
            .column(photo::Column::Status)
            .filter(photo::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db.conn())
            .await
            .map_err(db_err)?;
        out.extend(rows.into_iter().map(|(id, s)| (id, s.0)));
    }
    Ok(out)
}

/// The photo `id`, whoever may see it (the caller decides).
pub async fn find(tx: &WriteTx, id: Uuid) -> Result<Option<photo::Model>> {
    photo::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}
