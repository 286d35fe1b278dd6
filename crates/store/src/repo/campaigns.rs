//! Special rectification campaigns (专项整治).

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{campaign, checklist_template, village};
use crate::write::WriteTx;
use crate::{Actor, Db, Error, Result};

pub use anjian_domain::campaign::{NewCampaign, Target};

pub async fn list(db: &Db, page: &PageRequest) -> Result<Page<campaign::Model>> {
    use campaign::Column as C;
    let mut q = campaign::Entity::find()
        .order_by_desc(C::StartsOn)
        .order_by_asc(C::Id)
        .limit(page.limit + 1);
    if let Some(after) = &page.after {
        let (day, id) = after
            .split_once('/')
            .and_then(|(d, i)| Some((d.parse::<NaiveDate>().ok()?, i.parse::<Uuid>().ok()?)))
            .ok_or_else(|| Error::BadRequest("cursor".into()))?;
        q = q.filter(
            Condition::any()
                .add(C::StartsOn.lt(day))
                .add(Condition::all().add(C::StartsOn.eq(day)).add(C::Id.gt(id))),
        );
    }
    let rows = q.all(db.conn()).await.map_err(Error::internal)?;
    Ok(Page::from_rows(rows, page.limit, |c| {
        format!("{}/{}", c.starts_on, c.id)
    }))
}

pub async fn get(db: &Db, id: Uuid) -> Result<campaign::Model> {
    campaign::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)
}

/// The template ids and target of a stored campaign.
pub fn parts(m: &campaign::Model) -> (Vec<Uuid>, Target) {
    (
        serde_json::from_value(m.template_ids.clone()).unwrap_or_default(),
        serde_json::from_value(m.target.clone()).unwrap_or_default(),
    )
}

/// Validates and inserts within `tx`.
pub async fn insert(tx: &mut WriteTx, c: &NewCampaign) -> Result<campaign::Model> {
    let mut e = anjian_domain::FieldErrors::new();
    let name = c.check(&mut e);
    let found: Vec<Uuid> = checklist_template::Entity::find()
        .select_only()
        .column(checklist_template::Column::Id)
        .filter(checklist_template::Column::Id.is_in(c.template_ids.clone()))
        .into_tuple()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    if c.template_ids.iter().any(|t| !found.contains(t)) {
        e.add("template_ids", "unknown");
    }
    let found: Vec<Uuid> = village::Entity::find()
        .select_only()
        .column(village::Column::Id)
        .filter(village::Column::Id.is_in(c.target.village_ids.clone()))
        .into_tuple()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    if c.target.village_ids.iter().any(|v| !found.contains(v)) {
        e.add("target.village_ids", "unknown");
    }
    e.into_result()?;
    let now = tx.now();
    let mut template_ids = c.template_ids.clone();
    template_ids.dedup();
    let m = campaign::Model {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        template_ids: serde_json::to_value(&template_ids).map_err(Error::internal)?,
        target: serde_json::to_value(&c.target).map_err(Error::internal)?,
        created_by: tx.actor().user_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    tx.insert("campaign.create", m).await
}

/// Creates a campaign.
pub async fn create(db: &Db, actor: Actor, c: &NewCampaign) -> Result<campaign::Model> {
    let mut tx = db.write(actor).await?;
    let m = insert(&mut tx, c).await?;
    tx.commit().await?;
    Ok(m)
}

/// Whether the campaign `id` exists.
pub async fn exists(tx: &WriteTx, id: Uuid) -> Result<bool> {
    Ok(campaign::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .is_some())
}
