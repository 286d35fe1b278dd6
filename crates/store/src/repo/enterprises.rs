//! The enterprise roster.

use anjian_domain::enterprise::{EnterpriseDraft, EnterpriseFields};
use anjian_domain::{EnterpriseStatus, RiskTag, Scope};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{enterprise, village};
use crate::write::WriteTx;
use crate::{Db, Error, Result, scope};

/// Filters of `GET /enterprises`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub village_id: Option<Uuid>,
    pub risk_tag: Option<RiskTag>,
    pub status: Option<EnterpriseStatus>,
    /// Substring of name, credit code, address or contact.
    pub q: Option<String>,
}

/// Tags as stored: `,a,b,` (see the entity).
pub fn encode_tags<'a>(tags: impl IntoIterator<Item = &'a RiskTag>) -> String {
    let mut s = String::from(",");
    for t in tags {
        s.push_str(t.as_str());
        s.push(',');
    }
    s
}

/// Tags as a list, skipping anything unknown.
pub fn decode_tags(s: &str) -> Vec<RiskTag> {
    s.split(',').filter_map(RiskTag::parse).collect()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A page of the enterprises the scope sees, by id.
pub async fn list(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
    page: &PageRequest,
) -> Result<Page<enterprise::Model>> {
    let mut cond = scope::enterprises(scope);
    if let Some(v) = filter.village_id {
        cond = cond.add(enterprise::Column::VillageId.eq(v));
    }
    if let Some(t) = filter.risk_tag {
        cond = cond.add(enterprise::Column::RiskTags.like(format!("%,{},%", t.as_str())));
    }
    if let Some(s) = filter.status {
        cond = cond.add(enterprise::Column::Status.eq(s.as_str()));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pat = format!("%{}%", escape_like(q));
        let upper = format!("%{}%", escape_like(&q.to_ascii_uppercase()));
        cond = cond.add(
            Condition::any()
                .add(enterprise::Column::Name.like(&pat))
                .add(enterprise::Column::CreditCode.like(&upper))
                .add(enterprise::Column::Address.like(&pat))
                .add(enterprise::Column::ContactName.like(&pat)),
        );
    }
    if let Some(after) = &page.after {
        let after: Uuid = after
            .parse()
            .map_err(|_| Error::BadRequest("cursor".into()))?;
        cond = cond.add(enterprise::Column::Id.gt(after));
    }
    let rows = enterprise::Entity::find()
        .filter(cond)
        .order_by_asc(enterprise::Column::Id)
        .limit(page.limit + 1)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    Ok(Page::from_rows(rows, page.limit, |e| e.id.to_string()))
}

/// One enterprise, if the scope sees it.
pub async fn get(db: &Db, scope: &Scope, id: Uuid) -> Result<enterprise::Model> {
    enterprise::Entity::find_by_id(id)
        .filter(scope::enterprises(scope))
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)
}

/// The stored record as a draft, to apply a partial update to.
pub fn to_draft(m: &enterprise::Model) -> EnterpriseDraft {
    EnterpriseDraft {
        credit_code: m.credit_code.clone(),
        name: m.name.clone(),
        address: m.address.clone(),
        village_id: Some(m.village_id),
        industry_code: m.industry_code.clone(),
        scale: m.scale.as_str().to_owned(),
        risk_tags: decode_tags(&m.risk_tags)
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        status: m.status.as_str().to_owned(),
        contact_name: m.contact_name.clone(),
        contact_phone: m.contact_phone.clone(),
        lat: m.lat,
        lon: m.lon,
    }
}

/// `base` with the validated fields applied (id, version and timestamps kept).
pub fn apply(base: enterprise::Model, f: &EnterpriseFields) -> enterprise::Model {
    enterprise::Model {
        credit_code: f.credit_code.to_string(),
        name: f.name.clone(),
        address: f.address.clone(),
        village_id: f.village_id,
        industry_code: f.industry_code.clone(),
        scale: f.scale.into(),
        risk_tags: encode_tags(&f.risk_tags),
        status: f.status.into(),
        contact_name: f.contact_name.clone(),
        contact_phone: f.contact_phone.clone(),
        lat: f.location.map(|l| l.0),
        lon: f.location.map(|l| l.1),
        ..base
    }
}

/// A new record from validated fields, made at `now`.
pub fn new_model(id: Uuid, f: &EnterpriseFields, now: DateTime<Utc>) -> enterprise::Model {
    apply(
        enterprise::Model {
            id,
            credit_code: String::new(),
            name: String::new(),
            address: String::new(),
            village_id: f.village_id,
            industry_code: String::new(),
            scale: f.scale.into(),
            risk_tags: String::new(),
            status: f.status.into(),
            contact_name: String::new(),
            contact_phone: String::new(),
            lat: None,
            lon: None,
            version: 1,
            created_at: now,
            updated_at: now,
        },
        f,
    )
}

/// Whether the village `id` exists.
pub async fn village_exists(tx: &WriteTx, id: Uuid) -> Result<bool> {
    Ok(village::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .is_some())
}

/// Whether an enterprise other than `except` has the credit code `code`.
pub async fn credit_code_taken(tx: &WriteTx, code: &str, except: Option<Uuid>) -> Result<bool> {
    let mut q = enterprise::Entity::find().filter(enterprise::Column::CreditCode.eq(code));
    if let Some(id) = except {
        q = q.filter(enterprise::Column::Id.ne(id));
    }
    Ok(q.one(tx.txn()).await.map_err(Error::internal)?.is_some())
}

/// The enterprise `id` as stored, read inside `tx` to be changed.
pub async fn find(tx: &WriteTx, id: Uuid) -> Result<Option<enterprise::Model>> {
    enterprise::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// The enterprises with these credit codes, by code.
pub async fn by_credit_code(
    tx: &WriteTx,
    codes: &[String],
) -> Result<HashMap<String, enterprise::Model>> {
    let mut found = HashMap::new();
    for chunk in codes.chunks(500) {
        for m in enterprise::Entity::find()
            .filter(enterprise::Column::CreditCode.is_in(chunk.iter().cloned()))
            .all(tx.txn())
            .await
            .map_err(Error::internal)?
        {
            found.insert(m.credit_code.clone(), m);
        }
    }
    Ok(found)
}

/// How many enterprises the roster holds.
pub async fn count(db: &Db) -> Result<u64> {
    enterprise::Entity::find()
        .count(db.conn())
        .await
        .map_err(Error::internal)
}

/// Stores a changed enterprise under `action`; one that moved village is
/// announced to the devices of both villages.
pub async fn write_update(
    tx: &mut WriteTx,
    action: &str,
    before: &enterprise::Model,
    after: enterprise::Model,
) -> Result<enterprise::Model> {
    let m = tx.update(action, before, after).await?;
    if m.village_id != before.village_id {
        crate::sync::pull::enterprise_moved(tx, &m, before.village_id).await?;
    }
    Ok(m)
}

/// The enterprises among `ids` that exist, whoever may see them (the caller
/// checks the scope).
pub async fn find_in(tx: &WriteTx, ids: &[Uuid]) -> Result<Vec<enterprise::Model>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            enterprise::Entity::find()
                .filter(enterprise::Column::Id.is_in(chunk.to_vec()))
                .all(tx.txn())
                .await
                .map_err(Error::internal)?,
        );
    }
    Ok(out)
}

/// The enterprises of `ids` the scope sees (for lists that name them).
pub async fn named(db: &Db, scope: &Scope, ids: &[Uuid]) -> Result<Vec<enterprise::Model>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            enterprise::Entity::find()
                .filter(enterprise::Column::Id.is_in(chunk.to_vec()))
                .filter(crate::scope::enterprises(scope))
                .all(db.conn())
                .await
                .map_err(Error::internal)?,
        );
    }
    Ok(out)
}
