//! Villages and communities: reference data every signed-in user reads.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::village;
use crate::write::WriteTx;
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

/// Every village, by code (a town has a few dozen).
pub async fn all(tx: &WriteTx) -> Result<Vec<village::Model>> {
    village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(tx.txn())
        .await
        .map_err(Error::internal)
}

/// Adds the villages, given as (code, name), whose code is not there yet;
/// how many it added.
pub async fn insert_missing(tx: &mut WriteTx, villages: &[(String, String)]) -> Result<u64> {
    let existing = all(tx).await?;
    let now = tx.now();
    let new: Vec<village::Model> = villages
        .iter()
        .filter(|(code, _)| !existing.iter().any(|e| &e.code == code))
        .map(|(code, name)| village::Model {
            id: Uuid::now_v7(),
            code: code.clone(),
            name: name.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let n = new.len() as u64;
    tx.insert_many("seed.village", new).await?;
    Ok(n)
}
