//! Rectifications and extension requests: the rows of a hazard's lifecycle
//! that are records of their own.

use anjian_domain::Scope;
use anjian_domain::hazard::ExtensionStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::{extension_request, hazard, rectification};
use crate::{Db, Error, Result, WriteTx, scope};

/// The extension request of the hazard that waits for a decision, if any.
pub async fn pending_extension(
    tx: &WriteTx,
    hazard_id: Uuid,
) -> Result<Option<extension_request::Model>> {
    extension_request::Entity::find()
        .filter(extension_request::Column::HazardId.eq(hazard_id))
        .filter(extension_request::Column::Status.eq(ExtensionStatus::Pending.as_str()))
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// The extension request `id`, its row locked until the transaction ends
/// (the caller checks the scope).
pub async fn extension_for_update(
    tx: &WriteTx,
    id: Uuid,
) -> Result<Option<extension_request::Model>> {
    extension_request::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// The hazard an extension request belongs to, when the scope sees it.
pub async fn extension_hazard(db: &Db, scope: &Scope, id: Uuid) -> Result<Uuid> {
    extension_request::Entity::find_by_id(id)
        .select_only()
        .column(extension_request::Column::HazardId)
        .filter(scope::by_enterprise(
            scope,
            extension_request::Column::EnterpriseId,
        ))
        .into_tuple()
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)
}

/// The rectifications of a hazard the scope sees, oldest first.
pub async fn of_hazard(
    db: &Db,
    scope: &Scope,
    hazard_id: Uuid,
) -> Result<Vec<rectification::Model>> {
    rectification::Entity::find()
        .filter(rectification::Column::HazardId.eq(hazard_id))
        .filter(scope::by_enterprise(
            scope,
            rectification::Column::EnterpriseId,
        ))
        .order_by_asc(rectification::Column::SubmittedAt)
        .order_by_asc(rectification::Column::Id)
        .all(db.conn())
        .await
        .map_err(Error::internal)
}

/// The extension requests of a hazard the scope sees, oldest first.
pub async fn extensions_of_hazard(
    db: &Db,
    scope: &Scope,
    hazard_id: Uuid,
) -> Result<Vec<extension_request::Model>> {
    extension_request::Entity::find()
        .filter(extension_request::Column::HazardId.eq(hazard_id))
        .filter(scope::by_enterprise(
            scope,
            extension_request::Column::EnterpriseId,
        ))
        .order_by_asc(extension_request::Column::RequestedAt)
        .order_by_asc(extension_request::Column::Id)
        .all(db.conn())
        .await
        .map_err(Error::internal)
}

/// Extension requests the scope sees with this status (all when `None`),
/// oldest first, with their hazards.
pub async fn extensions(
    db: &Db,
    scope: &Scope,
    status: Option<ExtensionStatus>,
    limit: u64,
) -> Result<Vec<(extension_request::Model, hazard::Model)>> {
    let mut q = extension_request::Entity::find().filter(scope::by_enterprise(
        scope,
        extension_request::Column::EnterpriseId,
    ));
    if let Some(s) = status {
        q = q.filter(extension_request::Column::Status.eq(s.as_str()));
    }
    let rows = q
        .order_by_asc(extension_request::Column::RequestedAt)
        .limit(limit)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.hazard_id).collect();
    let hazards: std::collections::HashMap<Uuid, hazard::Model> = hazard::Entity::find()
        .filter(hazard::Column::Id.is_in(ids))
        .all(db.conn())
        .await
        .map_err(Error::internal)?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| hazards.get(&r.hazard_id).cloned().map(|h| (r, h)))
        .collect())
}

/// When each of `hazard_ids` had its rectifications submitted, oldest
/// first (read in chunks that keep the statement small).
pub async fn submitted_at(
    db: &Db,
    hazard_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<chrono::DateTime<chrono::Utc>>>> {
    let mut out: std::collections::HashMap<Uuid, Vec<_>> = std::collections::HashMap::new();
    for chunk in hazard_ids.chunks(500) {
        let subs: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> = rectification::Entity::find()
            .select_only()
            .column(rectification::Column::HazardId)
            .column(rectification::Column::SubmittedAt)
            .filter(rectification::Column::HazardId.is_in(chunk.to_vec()))
            .order_by_asc(rectification::Column::SubmittedAt)
            .into_tuple()
            .all(db.conn())
            .await
            .map_err(Error::internal)?;
        for (h, at) in subs {
            out.entry(h).or_default().push(at);
        }
    }
    Ok(out)
}
