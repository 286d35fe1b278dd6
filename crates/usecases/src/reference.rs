//! Reference data: villages, checklist templates, campaigns (专项整治) and the
//! enterprise roster, read through the caller's scope and changed by the
//! office.

use anjian_domain::enterprise::EnterpriseDraft;
use anjian_domain::{Capability, Result};
use anjian_store::entity::{campaign, enterprise, village};
use anjian_store::repo::campaigns::NewCampaign;
use anjian_store::repo::roster::ImportOutcome;
use anjian_store::repo::templates::Template;
use anjian_store::repo::users::User;
use anjian_store::repo::{self, Page, PageRequest};
use anjian_store::{Actor, Db};
use uuid::Uuid;

use crate::access::require;

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
pub async fn campaigns(db: &Db, page: &PageRequest) -> Result<Page<campaign::Model>> {
    repo::campaigns::list(db, page).await
}

pub async fn campaign(db: &Db, id: Uuid) -> Result<campaign::Model> {
    repo::campaigns::get(db, id).await
}

/// Starts a campaign (office, admin).
#[tracing::instrument(name = "campaign.create", skip_all, fields(user.id = %by.user.id))]
pub async fn create_campaign(
    db: &Db,
    actor: Actor,
    by: &User,
    c: &NewCampaign,
) -> Result<campaign::Model> {
    require(by, Capability::ManageCampaigns)?;
    repo::campaigns::create(db, actor, c).await
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
    repo::enterprises::create(db, actor, draft).await
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
    repo::enterprises::update(db, actor, id, if_match, change).await
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
    let out = repo::roster::import(db, actor, bytes).await?;
    let span = tracing::Span::current();
    span.record("created", out.created);
    span.record("updated", out.updated);
    Ok(out)
}
