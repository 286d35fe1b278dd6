//! Inspections and hazards as the caller's scope shows them.

use anjian_domain::hazard::ExtensionStatus;
use anjian_domain::photo::PhotoStatus;
use anjian_domain::{DeadlinePolicy, Result};
use anjian_store::Db;
use anjian_store::entity::{enterprise, extension_request, rectification};
use anjian_store::repo::hazards::{HazardFull, InspectionFull};
use anjian_store::repo::users::User;
use anjian_store::repo::{self, Page, PageRequest};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
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

/// Every hazard `by` sees under `f`, page by page (an enterprise's few dozen,
/// or a list the office reads whole, such as the overdue ones).
pub async fn all_hazards(
    db: &Db,
    by: &User,
    f: &HazardFilter,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<Vec<HazardFull>> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: 500,
    };
    loop {
        let p = hazards(db, by, f, (policy, now), &page).await?;
        out.extend(p.items);
        match p.next_after {
            Some(a) => page.after = Some(a),
            None => return Ok(out),
        }
    }
}

/// Every inspection of one enterprise that `by` sees, newest first.
pub async fn all_inspections(
    db: &Db,
    by: &User,
    enterprise_id: Uuid,
) -> Result<Vec<InspectionFull>> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: 500,
    };
    loop {
        let p = inspections(db, by, Some(enterprise_id), &page).await?;
        out.extend(p.items);
        match p.next_after {
            Some(a) => page.after = Some(a),
            None => return Ok(out),
        }
    }
}

/// What the office knows of one enterprise: its roster entry and village,
/// every inspection (with the template's title and the inspector's name),
/// every hazard with its history, and the status of every photo they list.
#[derive(Debug, Clone)]
pub struct EnterpriseFile {
    pub enterprise: enterprise::Model,
    pub village: String,
    pub inspections: Vec<InspectionFull>,
    pub hazards: Vec<HazardFull>,
    pub templates: HashMap<Uuid, String>,
    pub people: HashMap<Uuid, String>,
    pub photos: HashMap<Uuid, PhotoStatus>,
}

impl EnterpriseFile {
    /// Every photo of the file, inspections' first, each once.
    pub fn photo_ids(&self) -> Vec<Uuid> {
        let mut seen = std::collections::HashSet::new();
        let lists = self
            .inspections
            .iter()
            .flat_map(|i| i.results.iter().map(|r| &r.photo_ids))
            .chain(self.hazards.iter().flat_map(|h| {
                std::iter::once(&h.hazard.photo_ids).chain(h.history.iter().map(|e| &e.photo_ids))
            }));
        lists
            .flat_map(ids_of)
            .filter(|id| seen.insert(*id))
            .collect()
    }
}

/// The file of enterprise `id`, if `by` sees it (else `NotFound`).
pub async fn enterprise_file(
    db: &Db,
    by: &User,
    id: Uuid,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<EnterpriseFile> {
    let enterprise = repo::enterprises::get(db, &by.scope(), id).await?;
    let village = repo::villages::get(db, enterprise.village_id).await?.name;
    let inspections = all_inspections(db, by, id).await?;
    let f = HazardFilter {
        enterprise_id: Some(id),
        ..HazardFilter::default()
    };
    let mut hazards = all_hazards(db, by, &f, (policy, now)).await?;
    hazards.sort_by_key(|h| std::cmp::Reverse(h.hazard.found_at));
    let template_ids: Vec<Uuid> = inspections
        .iter()
        .map(|i| i.inspection.template_id)
        .collect();
    let templates = repo::templates::titles(db, &template_ids).await?;
    let people: Vec<Uuid> = inspections
        .iter()
        .map(|i| i.inspection.inspector_id)
        .collect();
    let people = repo::users::display_names(db, &people).await?;
    let mut file = EnterpriseFile {
        enterprise,
        village,
        inspections,
        hazards,
        templates,
        people,
        photos: HashMap::new(),
    };
    file.photos = photo_statuses(db, &file.photo_ids()).await?;
    Ok(file)
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
pub fn ids_of(v: &serde_json::Value) -> Vec<Uuid> {
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
