//! Checklist templates. A published edition is immutable; editing makes a new edition.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{checklist_item, checklist_template};
use crate::write::WriteTx;
use crate::{Db, Error, Result};
pub use anjian_domain::template::TemplateSpec;

/// A template edition with its items in order.
#[derive(Debug, Clone)]
pub struct Template {
    pub template: checklist_template::Model,
    pub items: Vec<checklist_item::Model>,
}

async fn with_items(db: &Db, templates: Vec<checklist_template::Model>) -> Result<Vec<Template>> {
    let ids: Vec<Uuid> = templates.iter().map(|t| t.id).collect();
    let items = checklist_item::Entity::find()
        .filter(checklist_item::Column::TemplateId.is_in(ids))
        .order_by_asc(checklist_item::Column::Position)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    Ok(templates
        .into_iter()
        .map(|t| Template {
            items: items
                .iter()
                .filter(|i| i.template_id == t.id)
                .cloned()
                .collect(),
            template: t,
        })
        .collect())
}

/// A page of template editions, by code then edition (the cursor is the last
/// `code` and edition, separated by a tab).
pub async fn list(db: &Db, page: &PageRequest) -> Result<Page<Template>> {
    use checklist_template::Column as C;
    let mut q = checklist_template::Entity::find()
        .order_by_asc(C::Code)
        .order_by_asc(C::Version)
        .limit(page.limit + 1);
    if let Some(after) = &page.after {
        let (code, version) = after
            .split_once('\t')
            .and_then(|(c, v)| Some((c, v.parse::<i64>().ok()?)))
            .ok_or_else(|| Error::BadRequest("cursor".into()))?;
        q = q.filter(
            Condition::any().add(C::Code.gt(code)).add(
                Condition::all()
                    .add(C::Code.eq(code))
                    .add(C::Version.gt(version)),
            ),
        );
    }
    let ts = q.all(db.conn()).await.map_err(Error::internal)?;
    let page_rows = Page::from_rows(ts, page.limit, |t| format!("{}\t{}", t.code, t.version));
    Ok(Page {
        items: with_items(db, page_rows.items).await?,
        next_after: page_rows.next_after,
    })
}

pub async fn get(db: &Db, id: Uuid) -> Result<Template> {
    let t = checklist_template::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    with_items(db, vec![t]).await?.pop().ok_or(Error::NotFound)
}

/// Inserts a published edition unless that code and edition already exist
/// (the caller checked `spec`).
pub async fn publish(tx: &mut WriteTx, spec: &TemplateSpec) -> Result<bool> {
    let exists = checklist_template::Entity::find()
        .filter(checklist_template::Column::Code.eq(&spec.code))
        .filter(checklist_template::Column::Version.eq(spec.version))
        .one(tx.txn())
        .await
        .map_err(Error::internal)?;
    if exists.is_some() {
        return Ok(false);
    }
    let tags: Vec<anjian_domain::RiskTag> = spec
        .risk_tags
        .iter()
        .filter_map(|t| anjian_domain::RiskTag::parse(t))
        .collect();
    let now = tx.now();
    let t = checklist_template::Model {
        id: Uuid::now_v7(),
        code: spec.code.clone(),
        version: spec.version,
        title: spec.title.clone(),
        status: "published".into(),
        risk_tags: super::enterprises::encode_tags(&tags),
        created_at: now,
        published_at: Some(now),
    };
    let t = tx.insert("template.publish", t).await?;
    let items: Vec<checklist_item::Model> = spec
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| checklist_item::Model {
            template_id: t.id,
            position: i as i64,
            code: it.code.clone(),
            category: it.category.clone(),
            text: it.text.clone(),
            guidance: it.guidance.clone(),
            legal_basis: it.legal_basis.clone(),
            severity_hint: it.severity_hint.clone(),
            photo_required_on_fail: it.photo_required_on_fail,
        })
        .collect();
    tx.insert_children("template.publish", items).await?;
    Ok(true)
}

/// The edition and item codes of the template `id`, if it exists.
pub async fn item_codes(tx: &WriteTx, id: Uuid) -> Result<Option<(i64, Vec<String>)>> {
    let Some(t) = checklist_template::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
    else {
        return Ok(None);
    };
    let codes = checklist_item::Entity::find()
        .filter(checklist_item::Column::TemplateId.eq(t.id))
        .select_only()
        .column(checklist_item::Column::Code)
        .into_tuple()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(Some((t.version, codes)))
}

/// The latest edition of the template `code`, if any.
pub async fn latest(tx: &WriteTx, code: &str) -> Result<Option<Uuid>> {
    checklist_template::Entity::find()
        .filter(checklist_template::Column::Code.eq(code))
        .order_by_desc(checklist_template::Column::Version)
        .select_only()
        .column(checklist_template::Column::Id)
        .into_tuple()
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// The legal basis of the checklist item a hazard of `inspection_id` was
/// found under, if the hazard names an item of its inspection's template.
pub async fn legal_basis_of(
    db: &Db,
    inspection_id: Uuid,
    item_code: &str,
) -> Result<Option<String>> {
    use crate::entity::inspection;
    let template: Option<Uuid> = inspection::Entity::find_by_id(inspection_id)
        .select_only()
        .column(inspection::Column::TemplateId)
        .into_tuple()
        .one(db.conn())
        .await
        .map_err(Error::internal)?;
    let Some(template) = template else {
        return Ok(None);
    };
    Ok(checklist_item::Entity::find()
        .filter(checklist_item::Column::TemplateId.eq(template))
        .filter(checklist_item::Column::Code.eq(item_code))
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .map(|i| i.legal_basis)
        .filter(|b| !b.trim().is_empty()))
}

/// The titles of the template editions of `ids`.
pub async fn titles(db: &Db, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, String>> {
    let ids: std::collections::BTreeSet<Uuid> = ids.iter().copied().collect();
    let rows: Vec<(Uuid, String)> = checklist_template::Entity::find()
        .select_only()
        .column(checklist_template::Column::Id)
        .column(checklist_template::Column::Title)
        .filter(checklist_template::Column::Id.is_in(ids))
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    Ok(rows.into_iter().collect())
}
