//! Reading the audit trail.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::audit_log;
use crate::{Db, Error, Result};

/// Filters of `GET /audit`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
}

/// Audit entries, oldest first (ids are time-ordered UUIDv7).
pub async fn list(db: &Db, f: &Filter, page: &PageRequest) -> Result<Page<audit_log::Model>> {
    let mut q = audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .limit(page.limit + 1);
    if let Some(t) = &f.entity_type {
        q = q.filter(audit_log::Column::EntityType.eq(t.as_str()));
    }
    if let Some(id) = f.entity_id {
        q = q.filter(audit_log::Column::EntityId.eq(id));
    }
    if let Some(after) = &page.after {
        let after: Uuid = after
            .parse()
            .map_err(|_| Error::BadRequest("cursor".into()))?;
        q = q.filter(audit_log::Column::Id.gt(after));
    }
    let rows = q.all(db.conn()).await.map_err(Error::internal)?;
    Ok(Page::from_rows(rows, page.limit, |a| a.id.to_string()))
}
