//! Inspections and hazards as the caller's scope shows them.

use anjian_domain::{DeadlinePolicy, Result};
use anjian_store::Db;
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
