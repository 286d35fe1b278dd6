//! Special rectification campaigns (专项整治).

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{campaign, checklist_template, village};
use crate::write::WriteTx;
use crate::{Db, Error, Result};

pub use anjian_domain::campaign::{NewCampaign, Target};

pub async fn list(db: &Db, page: &PageRequest) -> Result<Page<Campaign>> {
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
    let page = Page::from_rows(rows, page.limit, |c| format!("{}/{}", c.starts_on, c.id));
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(Campaign::try_from)
            .collect::<Result<_>>()?,
        next_after: page.next_after,
    })
}

pub async fn get(db: &Db, id: Uuid) -> Result<Campaign> {
    campaign::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?
        .try_into()
}

/// A stored campaign with its template list and target read.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub row: campaign::Model,
    pub template_ids: Vec<Uuid>,
    pub target: Target,
}

impl TryFrom<campaign::Model> for Campaign {
    type Error = Error;

    /// An unreadable template list or target is an error, never an empty one.
    fn try_from(row: campaign::Model) -> Result<Campaign> {
        let unreadable = |what: &str, v: &serde_json::Value| {
            Error::internal(anyhow::anyhow!(
                "campaign {} has an unreadable {what}: {v}",
                row.id
            ))
        };
        Ok(Campaign {
            template_ids: serde_json::from_value(row.template_ids.clone())
                .map_err(|_| unreadable("template list", &row.template_ids))?,
            target: serde_json::from_value(row.target.clone())
                .map_err(|_| unreadable("target", &row.target))?,
            row,
        })
    }
}

/// Which of `template_ids` and of the target's villages do not exist:
/// (some template unknown, some village unknown).
pub async fn unknown_references(tx: &WriteTx, c: &NewCampaign) -> Result<(bool, bool)> {
    let found: Vec<Uuid> = checklist_template::Entity::find()
        .select_only()
        .column(checklist_template::Column::Id)
        .filter(checklist_template::Column::Id.is_in(c.template_ids.clone()))
        .into_tuple()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    let templates = c.template_ids.iter().any(|t| !found.contains(t));
    let found: Vec<Uuid> = village::Entity::find()
        .select_only()
        .column(village::Column::Id)
        .filter(village::Column::Id.is_in(c.target.village_ids.clone()))
        .into_tuple()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    let villages = c.target.village_ids.iter().any(|v| !found.contains(v));
    Ok((templates, villages))
}

/// Inserts a checked campaign named `name` within `tx`.
pub async fn insert(tx: &mut WriteTx, name: &str, c: &NewCampaign) -> Result<Campaign> {
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
    tx.insert("campaign.create", m).await?.try_into()
}

/// Whether a campaign is named `name`.
pub async fn named(tx: &WriteTx, name: &str) -> Result<bool> {
    Ok(campaign::Entity::find()
        .filter(campaign::Column::Name.eq(name))
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .is_some())
}

/// Whether the campaign `id` exists.
pub async fn exists(tx: &WriteTx, id: Uuid) -> Result<bool> {
    Ok(campaign::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .is_some())
}
