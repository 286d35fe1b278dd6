//! Inspections and hazards as the caller's scope shows them.

use anjian_domain::hazard::ExtensionStatus;
use anjian_domain::photo::PhotoStatus;
use anjian_domain::{DeadlinePolicy, Result};
use anjian_store::Db;
use anjian_store::entity::{extension_request, rectification};
use anjian_store::repo::hazards::{HazardFull, InspectionFull};
use anjian_store::repo::users::User;
use anjian_store::repo::{self, Page, PageRequest};
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use anjian_store::repo::hazards::HazardFilter;

/// The inspections `by` sees, of one enterprise or all.
pub async fn inspections(
    db: &Db,
    by: &User,
    enterprise_id: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<InspectionFull>> {
    repo::hazards::list_inspections(db, &by.scope(), enterprise_id, page).await
}

pub async fn inspection(db: &Db, by: &User, id: Uuid) -> Result<InspectionFull> {
    repo::hazards::get_inspection(db, &by.scope(), id).await
}

/// The hazards `by` sees, filtered; `overdue` as of `now` in the policy's
/// time zone.
pub async fn hazards(
    db: &Db,
    by: &User,
    f: &HazardFilter,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
    page: &PageRequest,
) -> Result<Page<HazardFull>> {
    repo::hazards::list(db, &by.scope(), f, policy, now, page).await
}

pub async fn hazard(db: &Db, by: &User, id: Uuid) -> Result<HazardFull> {
    repo::hazards::get(db, &by.scope(), id).await
}

/// A hazard with what its page shows besides: the legal basis of the
/// checklist item it was found under, the status of every photo it and its
/// history list (a photo only `verified` is still being processed), and the
/// extension request waiting for a decision.
#[derive(Debug, Clone)]
pub struct HazardPage {
    pub hazard: HazardFull,
    pub legal_basis: Option<String>,
    pub photos: std::collections::HashMap<Uuid, PhotoStatus>,
    pub pending_extension: Option<extension_request::Model>,
}

pub async fn hazard_page(db: &Db, by: &User, id: Uuid) -> Result<HazardPage> {
    let scope = by.scope();
    let hazard = repo::hazards::get(db, &scope, id).await?;
    let h = &hazard.hazard;
    let legal_basis = match (h.inspection_id, h.item_code.as_deref()) {
        (Some(i), Some(code)) => repo::templates::legal_basis_of(db, i, code).await?,
        _ => None,
    };
    let mut ids: Vec<Uuid> = ids_of(&h.photo_ids);
    for e in &hazard.history {
        ids.extend(ids_of(&e.photo_ids));
    }
    let photos = repo::photos::statuses(db, &ids)
        .await?
        .into_iter()
        .collect();
    let pending_extension = repo::rectifications::extensions_of_hazard(db, &scope, id)
        .await?
        .into_iter()
        .find(|x| *x.status == ExtensionStatus::Pending);
    Ok(HazardPage {
        hazard,
        legal_basis,
        photos,
        pending_extension,
    })
}

/// The ids of a stored list of photo ids.
fn ids_of(v: &serde_json::Value) -> Vec<Uuid> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// The hazards waiting for review that `by` may review, oldest deadline
/// first, each with the rectification to review (the latest).
pub async fn review_queue(
    db: &Db,
    by: &User,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<Vec<(HazardFull, Option<rectification::Model>)>> {
    let scope = by.scope();
    let f = HazardFilter {
        status: Some(anjian_domain::HazardStatus::Submitted),
        ..HazardFilter::default()
    };
    let page = PageRequest {
        after: None,
        limit: 500,
    };
    let mut out = Vec::new();
    for h in repo::hazards::list(db, &scope, &f, policy, now, &page)
        .await?
        .items
    {
        let latest = repo::rectifications::of_hazard(db, &scope, h.hazard.id)
            .await?
            .pop();
        out.push((h, latest));
    }
    out.sort_by_key(|(h, _)| h.hazard.deadline);
    Ok(out)
}

/// Extension requests waiting for a decision that `by` sees, oldest first,
/// with their hazards.
pub async fn pending_extensions(
    db: &Db,
    by: &User,
) -> Result<
    Vec<(
        extension_request::Model,
        anjian_store::entity::hazard::Model,
    )>,
> {
    repo::rectifications::extensions(db, &by.scope(), Some(ExtensionStatus::Pending), 500).await
}

/// Names of the enterprises of `ids` that `by` sees, with their villages'
/// names: (enterprise name, village name) by enterprise id.
pub async fn enterprise_names(
    db: &Db,
    by: &User,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, (String, String)>> {
    let page = PageRequest {
        after: None,
        limit: 500,
    };
    let villages: std::collections::HashMap<Uuid, String> = repo::villages::list(db, &page)
        .await?
        .items
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    Ok(repo::enterprises::named(db, &by.scope(), ids)
        .await?
        .into_iter()
        .map(|e| {
            let v = villages.get(&e.village_id).cloned().unwrap_or_default();
            (e.id, (e.name, v))
        })
        .collect())
}

/// The status of each photo of `ids` (for pages that show a photo as being
/// processed until its variants exist).
pub async fn photo_statuses(
    db: &Db,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, PhotoStatus>> {
    Ok(repo::photos::statuses(db, ids).await?.into_iter().collect())
}
