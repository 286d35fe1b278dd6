//! Photos: declaration (from `POST /photos` and from sync), who may see what,
//! verified bytes becoming a processed photo, and the records the sweep removes.

use std::collections::HashSet;

use anjian_domain::Error;
use anjian_domain::photo::PhotoStatus::{self, PendingUpload, Processed};
use anjian_domain::photo::{Attachment, Viewer};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::db::db_err;
use crate::entity::{enterprise, photo, stored_object};
use crate::repo::users::User;
use crate::{Actor, Db, Result, WriteTx};

pub use anjian_domain::photo::Declare;

/// The stored object of these bytes when `viewer` may already see a
/// processed photo of them and the size agrees: only then may a declaration
/// skip the upload (knowing a hash never grants bytes).
pub async fn seen_bytes(
    tx: &WriteTx,
    viewer: &Viewer<'_>,
    sha256: &str,
    size: i64,
) -> Result<Option<stored_object::Model>> {
    let found = photo::Entity::find()
        .select_only()
        .column(photo::Column::Id)
        .filter(photo::Column::Sha256.eq(sha256))
        .filter(photo::Column::Status.eq(Processed.as_str()))
        .filter(crate::scope::photos(viewer))
        .into_tuple::<Uuid>()
        .one(tx.txn())
        .await
        .map_err(db_err)?;
    if found.is_none() {
        return Ok(None);
    }
    Ok(stored_object::Entity::find_by_id(sha256.to_owned())
        .one(tx.txn())
        .await
        .map_err(db_err)?
        .filter(|o| o.size == size))
}

/// How many photos `user_id` declared whose bytes have not arrived.
pub async fn pending_of(tx: &WriteTx, user_id: Uuid) -> Result<i64> {
    let n = photo::Entity::find()
        .filter(photo::Column::DeclaredBy.eq(user_id))
        .filter(photo::Column::Status.eq(PendingUpload.as_str()))
        .count(tx.txn())
        .await
        .map_err(db_err)?;
    Ok(n as i64)
}

/// Records a declared photo: waiting for its bytes, or processed at once
/// from `stored`, bytes the declarer may already see.
pub async fn insert_declared(
    tx: &mut WriteTx,
    declared_by: Uuid,
    p: Declare,
    stored: Option<stored_object::Model>,
) -> Result<photo::Model> {
    let now = tx.now();
    let mut m = photo::Model {
        id: p.id,
        sha256: p.sha256,
        size: p.size,
        content_type: p.content_type,
        status: PendingUpload.into(),
        declared_by,
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

/// Who `user` is to the photo rules of the domain.
pub fn viewer<'a>(user: &User, scope: &'a anjian_domain::Scope) -> Viewer<'a> {
    Viewer {
        user_id: user.user.id,
        role: user.role(),
        scope,
    }
}

/// Where a photo stands for visibility (the enterprise's village read when attached).
pub async fn attachment(db: &Db, p: &photo::Model) -> Result<Attachment> {
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
        .one(db.conn())
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound)?;
    Ok(Attachment::Record {
        enterprise_id,
        village_id,
    })
}

/// The photo `id`, whoever may see it (the caller decides).
pub async fn get(db: &Db, id: Uuid) -> Result<Option<photo::Model>> {
    photo::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(db_err)
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
