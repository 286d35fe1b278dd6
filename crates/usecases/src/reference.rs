//! Reference data: villages, checklist templates, campaigns (专项整治) and the
//! enterprise roster, read through the caller's scope and changed by the
//! office.

use anjian_domain::enterprise::{EnterpriseDraft, EnterpriseFields};
use anjian_domain::{Capability, Error, FieldErrors, Result};
use anjian_store::entity::{enterprise, village};
use anjian_store::repo::campaigns::{Campaign, NewCampaign};
use anjian_store::repo::templates::Template;
use anjian_store::repo::users::User;
use anjian_store::repo::{self, Page, PageRequest};
use anjian_store::{Actor, Db, WriteTx};
use uuid::Uuid;

use crate::access::require;
use crate::roster::{self, ImportOutcome};

pub use anjian_store::repo::enterprises::Filter as EnterpriseFilter;

/// The villages of the town (everyone sees them).
pub async fn villages(db: &Db, page: &PageRequest) -> Result<Page<village::Model>> {
    repo::villages::list(db, page).await
}

/// The published checklist templates (everyone sees them).
pub async fn templates(db: &Db, page: &PageRequest) -> Result<Page<Template>> {
    repo::templates::list(db, page).await
}

pub async fn template(db: &Db, id: Uuid) -> Result<Template> {
    repo::templates::get(db, id).await
}

/// The campaigns (everyone sees them).
pub async fn campaigns(db: &Db, page: &PageRequest) -> Result<Page<Campaign>> {
    repo::campaigns::list(db, page).await
}

pub async fn campaign(db: &Db, id: Uuid) -> Result<Campaign> {
    repo::campaigns::get(db, id).await
}

/// Starts a campaign (office, admin).
#[tracing::instrument(name = "campaign.create", skip_all, fields(user.id = %by.user.id))]
pub async fn create_campaign(
    db: &Db,
    actor: Actor,
    by: &User,
    c: &NewCampaign,
) -> Result<Campaign> {
    require(by, Capability::ManageCampaigns)?;
    let mut tx = db.write(actor).await?;
    let m = insert_campaign(&mut tx, c).await?;
    tx.commit().await?;
    Ok(m)
}

/// Checks a campaign (its own rules, then that its templates and villages
/// exist) and inserts it inside `tx`.
pub(crate) async fn insert_campaign(tx: &mut WriteTx, c: &NewCampaign) -> Result<Campaign> {
    let mut f = FieldErrors::new();
    let name = c.check(&mut f);
    let (templates, villages) = repo::campaigns::unknown_references(tx, c).await?;
    if templates {
        f.add("template_ids", "unknown");
    }
    if villages {
        f.add("target.village_ids", "unknown");
    }
    f.into_result()?;
    repo::campaigns::insert(tx, &name, c).await
}

/// The enterprises `by` sees, filtered.
pub async fn enterprises(
    db: &Db,
    by: &User,
    f: &EnterpriseFilter,
    page: &PageRequest,
) -> Result<Page<enterprise::Model>> {
    repo::enterprises::list(db, &by.scope(), f, page).await
}

/// One enterprise `by` sees (else `not_found`).
pub async fn enterprise(db: &Db, by: &User, id: Uuid) -> Result<enterprise::Model> {
    repo::enterprises::get(db, &by.scope(), id).await
}

/// Adds an enterprise to the roster (office, admin).
#[tracing::instrument(name = "enterprise.create", skip_all, fields(user.id = %by.user.id))]
pub async fn create_enterprise(
    db: &Db,
    actor: Actor,
    by: &User,
    draft: &EnterpriseDraft,
) -> Result<enterprise::Model> {
    require(by, Capability::ManageRoster)?;
    let fields = draft.validate().map_err(Error::Validation)?;
    let mut tx = db.write(actor).await?;
    check_references(&tx, &fields, None).await?;
    let m = repo::enterprises::new_model(Uuid::now_v7(), &fields, tx.now());
    let m = tx.insert("enterprise.create", m).await?;
    tx.commit().await?;
    Ok(m)
}

/// `unknown` for a village that does not exist (checked only when it is
/// new to the record), `conflict` for a credit code another enterprise has.
async fn check_references(
    tx: &WriteTx,
    fields: &EnterpriseFields,
    before: Option<&enterprise::Model>,
) -> Result<()> {
    let village_new = before.is_none_or(|b| b.village_id != fields.village_id);
    if village_new && !repo::enterprises::village_exists(tx, fields.village_id).await? {
        return Err(Error::validation("village_id", "unknown"));
    }
    let code = fields.credit_code.as_str();
    if repo::enterprises::credit_code_taken(tx, code, before.map(|b| b.id)).await? {
        return Err(Error::Conflict("credit_code".into()));
    }
    Ok(())
}

/// Changes an enterprise (office, admin), guarded by `if_match`.
#[tracing::instrument(name = "enterprise.update", skip_all, fields(user.id = %by.user.id, enterprise.id = %id))]
pub async fn update_enterprise(
    db: &Db,
    actor: Actor,
    by: &User,
    (id, if_match): (Uuid, Option<i64>),
    change: impl FnOnce(&mut EnterpriseDraft),
) -> Result<enterprise::Model> {
    require(by, Capability::ManageRoster)?;
    let mut tx = db.write(actor).await?;
    let before = repo::enterprises::find(&tx, id)
        .await?
        .ok_or(Error::NotFound)?;
    anjian_store::write::check_if_match(if_match, before.version)?;
    let mut draft = repo::enterprises::to_draft(&before);
    change(&mut draft);
    let fields = draft.validate().map_err(Error::Validation)?;
    check_references(&tx, &fields, Some(&before)).await?;
    let after = repo::enterprises::apply(before.clone(), &fields);
    if after == before {
        return Ok(before);
    }
    let m = repo::enterprises::write_update(&mut tx, "enterprise.update", &before, after).await?;
    tx.commit().await?;
    Ok(m)
}

/// Imports a roster file (CSV or XLSX) in one transaction (office, admin).
#[tracing::instrument(name = "roster.import", skip_all, fields(user.id = %by.user.id,
    bytes = bytes.len(), created = tracing::field::Empty, updated = tracing::field::Empty))]
pub async fn import_roster(
    db: &Db,
    actor: Actor,
    by: &User,
    bytes: &[u8],
) -> Result<ImportOutcome> {
    require(by, Capability::ManageRoster)?;
    let out = roster::import(db, actor, bytes).await?;
    let span = tracing::Span::current();
    span.record("created", out.created);
    span.record("updated", out.updated);
    Ok(out)
}
