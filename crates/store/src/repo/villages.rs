//! Villages and communities: reference data every signed-in user reads.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::village;
use crate::{Db, Error, Result};

/// A page of villages, by code (the cursor is the last code).
pub async fn list(db: &Db, page: &PageRequest) -> Result<Page<village::Model>> {
    let mut q = village::Entity::find()
        .order_by_asc(village::Column::Code)
        .limit(page.limit + 1);
    if let Some(after) = &page.after {
        q = q.filter(village::Column::Code.gt(after.as_str()));
    }
    let rows = q.all(db.conn()).await.map_err(Error::internal)?;
    Ok(Page::from_rows(rows, page.limit, |v| v.code.clone()))
}

pub async fn get(db: &Db, id: Uuid) -> Result<village::Model> {
    village::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)
}
