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
        apply_stored(&mut m, &o, Processed, now);
    }
    tx.insert("photo.declare", m).await
}

/// What verified bytes say, copied onto a photo of those bytes.
fn apply_stored(
    m: &mut photo::Model,
    o: &stored_object::Model,
    status: PhotoStatus,
    now: DateTime<Utc>,
) {
    m.status = status.into();
    m.content_type = o.content_type.clone();
    m.width = Some(o.width);
    m.height = Some(o.height);
    m.taken_at = o.taken_at.or(m.taken_at);
    m.gps_lat = o.gps_lat;
    m.gps_lon = o.gps_lon;
    m.uploaded_at = Some(now);
    m.processed_at = (status == Processed).then_some(now);
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

/// What verification found in the bytes.
#[derive(Debug, Clone)]
pub struct Verified {
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub taken_at: Option<DateTime<Utc>>,
    pub gps: Option<(f64, f64)>,
}

/// The photo `id` read inside `tx` to be changed, its row locked until the
/// transaction ends (on PostgreSQL; SQLite runs one writer at a time): a
/// variant worker, a completion or a push listing the photo wait for each
/// other instead of failing on the version the other wrote.
pub async fn find_for_update(tx: &WriteTx, id: Uuid) -> Result<Option<photo::Model>> {
    photo::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx.txn())
        .await
        .map_err(db_err)
}

/// Records verified bytes once per SHA-256 (a second verification of the
/// same bytes keeps the first record) and returns the record.
pub async fn record_stored(
    tx: &mut WriteTx,
    sha256: &str,
    size: i64,
    v: Verified,
) -> Result<stored_object::Model> {
    let row = stored_object::Model {
        sha256: sha256.to_owned(),
        size,
        content_type: v.content_type,
        width: v.width,
        height: v.height,
        stored_at: tx.now(),
        taken_at: v.taken_at,
        gps_lat: v.gps.map(|g| g.0),
        gps_lon: v.gps.map(|g| g.1),
        variants_at: None,
    };
    tx.insert_child_if_absent("photo.store", row).await?;
    stored_object::Entity::find_by_id(sha256.to_owned())
        .one(tx.txn())
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored object {sha256} vanished")))
}

/// The photo with what its stored bytes say, now in `status`.
pub async fn set_bytes(
    tx: &mut WriteTx,
    before: &photo::Model,
    o: &stored_object::Model,
    status: PhotoStatus,
) -> Result<photo::Model> {
    let mut after = before.clone();
    apply_stored(&mut after, o, status, tx.now());
    tx.update("photo.verify", before, after).await
}

/// Records that the variants of `sha256` exist: the stored object says so,
/// every verified photo of those bytes becomes processed (a new version in
/// the feed), and the queue row goes. Returns the photos it changed.
pub async fn variants_made(tx: &mut WriteTx, sha256: &str) -> Result<Vec<photo::Model>> {
    use crate::write::Child;
    use sea_orm::sea_query::Expr;
    let now = tx.now();
    let before = stored_object::Entity::find_by_id(sha256.to_owned())
        .one(tx.txn())
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored object {sha256} missing")))?;
    if before.variants_at.is_none() {
        stored_object::Entity::update_many()
            .col_expr(stored_object::Column::VariantsAt, Expr::value(now))
            .filter(stored_object::Column::Sha256.eq(sha256))
            .exec(tx.txn())
            .await
            .map_err(db_err)?;
        let after = stored_object::Model {
            variants_at: Some(now),
            ..before.clone()
        };
        let json = |m: &stored_object::Model| serde_json::to_value(m).map_err(Error::internal);
        let (b, a) = (json(&before)?, json(&after)?);
        tx.audit(
            "photo.variants",
            "stored_object",
            before.audit_id(),
            Some(b),
            Some(a),
        );
    }
    let waiting = photo::Entity::find()
        .filter(photo::Column::Sha256.eq(sha256))
        .filter(photo::Column::Status.eq(PhotoStatus::Verified.as_str()))
        .order_by_asc(photo::Column::Id)
        .lock_exclusive()
        .all(tx.txn())
        .await
        .map_err(db_err)?;
    let mut done = Vec::with_capacity(waiting.len());
    for before in waiting {
        let after = photo::Model {
            status: Processed.into(),
            processed_at: Some(now),
            ..before.clone()
        };
        done.push(tx.update("photo.process", &before, after).await?);
    }
    crate::repo::photo_jobs::remove(tx, sha256).await?;
    Ok(done)
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

/// The statuses of photos whose bytes are stored, as the column holds them.
fn with_bytes() -> impl Iterator<Item = &'static str> {
    PhotoStatus::ALL
        .iter()
        .filter(|s| s.has_bytes())
        .map(|s| s.as_str())
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
        .and_where(photo::Column::Status.is_in(with_bytes()))
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

/// Forgets a stored object, unless a photo with bytes refers to it again.
pub async fn forget_object(db: &Db, sha256: &str) -> Result<bool> {
    let mut tx = db.write(Actor::system()).await?;
    let used = photo::Entity::find()
        .filter(photo::Column::Sha256.eq(sha256))
        .filter(photo::Column::Status.is_in(with_bytes()))
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
    crate::repo::photo_jobs::remove(&tx, sha256).await?;
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
