//! The enterprise roster.

use anjian_domain::enterprise::{EnterpriseDraft, EnterpriseFields};
use anjian_domain::{EnterpriseStatus, RiskTag, Scope};
use chrono::Utc;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{enterprise, village};
use crate::write::WriteTx;
use crate::{Actor, Db, Error, Result, scope};

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

/// A new record from validated fields.
pub fn new_model(id: Uuid, f: &EnterpriseFields) -> enterprise::Model {
    let now = Utc::now();
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

async fn check_village(tx: &WriteTx, id: Uuid) -> Result<()> {
    let found = village::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::validation("village_id", "unknown"))
}

async fn check_code_free(tx: &WriteTx, code: &str, except: Option<Uuid>) -> Result<()> {
    let mut q = enterprise::Entity::find().filter(enterprise::Column::CreditCode.eq(code));
    if let Some(id) = except {
        q = q.filter(enterprise::Column::Id.ne(id));
    }
    match q.one(tx.txn()).await.map_err(Error::internal)? {
        Some(_) => Err(Error::Conflict("credit_code".into())),
        None => Ok(()),
    }
}

/// Creates an enterprise.
pub async fn create(db: &Db, actor: Actor, draft: &EnterpriseDraft) -> Result<enterprise::Model> {
    let fields = draft.validate().map_err(Error::Validation)?;
    let mut tx = db.write(actor).await?;
    check_village(&tx, fields.village_id).await?;
    check_code_free(&tx, fields.credit_code.as_str(), None).await?;
    let m = tx
        .insert("enterprise.create", new_model(Uuid::now_v7(), &fields))
        .await?;
    tx.commit().await?;
    Ok(m)
}

/// Applies `change` to the current record and stores it, if `if_match` (when
/// given) is still the current version.
pub async fn update(
    db: &Db,
    actor: Actor,
    id: Uuid,
    if_match: Option<i64>,
    change: impl FnOnce(&mut EnterpriseDraft),
) -> Result<enterprise::Model> {
    let mut tx = db.write(actor).await?;
    let before = enterprise::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    crate::write::check_if_match(if_match, before.version)?;
    let mut draft = to_draft(&before);
    change(&mut draft);
    let fields = draft.validate().map_err(Error::Validation)?;
    if fields.village_id != before.village_id {
        check_village(&tx, fields.village_id).await?;
    }
    check_code_free(&tx, fields.credit_code.as_str(), Some(id)).await?;
    let after = apply(before.clone(), &fields);
    if after == before {
        return Ok(before);
    }
    let m = tx.update("enterprise.update", &before, after).await?;
    if m.village_id != before.village_id {
        crate::sync::pull::enterprise_moved(&mut tx, &m, before.village_id).await?;
    }
    tx.commit().await?;
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
