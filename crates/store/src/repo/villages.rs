//! Villages and communities: reference data every signed-in user reads.

use sea_orm::{EntityTrait, QueryOrder};
use uuid::Uuid;

use crate::entity::village;
use crate::{Db, Error, Result};

/// All villages, by code.
pub async fn list(db: &Db) -> Result<Vec<village::Model>> {
    village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(db.conn())
        .await
        .map_err(Error::internal)
}

pub async fn get(db: &Db, id: Uuid) -> Result<village::Model> {
    village::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)
}
