//! Reads for seeding the demo accounts.

use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};

use crate::entity::{enterprise, village};
use crate::{Db, Error, Result};

/// What the demo accounts are made for: the villages by code, and the first
/// `n` enterprises by credit code.
pub async fn demo_targets(
    db: &Db,
    n: u64,
) -> Result<(Vec<village::Model>, Vec<enterprise::Model>)> {
    let villages = village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let enterprises = enterprise::Entity::find()
        .order_by_asc(enterprise::Column::CreditCode)
        .paginate(db.conn(), n)
        .fetch_page(0)
        .await
        .map_err(Error::internal)?;
    Ok((villages, enterprises))
}
