//! Reading hazards and inspections through the scope check.

use anjian_domain::{DeadlinePolicy, HazardStatus, Scope, Severity};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{enterprise, hazard, hazard_event, inspection, inspection_result};
use crate::{Db, Error, Result, scope};

/// A hazard with its history, oldest event first.
#[derive(Debug, Clone, PartialEq)]
pub struct HazardFull {
    pub hazard: hazard::Model,
    pub history: Vec<hazard_event::Model>,
}

/// An inspection with its item results in checklist order.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionFull {
    pub inspection: inspection::Model,
    pub results: Vec<inspection_result::Model>,
}

/// Filters of `GET /hazards`.
#[derive(Debug, Clone, Default)]
pub struct HazardFilter {
    pub enterprise_id: Option<Uuid>,
    pub village_id: Option<Uuid>,
    pub status: Option<HazardStatus>,
    pub severity: Option<Severity>,
    /// Only hazards that are open and past their deadline (office time zone) now.
    pub overdue: Option<bool>,
}

/// The rows of `E` whose `parent` column is among `ids`, grouped by parent,
/// each group in `order`.
async fn children<E, C>(
    conn: &impl sea_orm::ConnectionTrait,
    ids: &[Uuid],
    parent: C,
    order: C,
    parent_of: impl Fn(&E::Model) -> Uuid,
) -> Result<std::collections::HashMap<Uuid, Vec<E::Model>>>
where
    E: EntityTrait<Column = C>,
    C: ColumnTrait,
{
    let mut by: std::collections::HashMap<Uuid, Vec<E::Model>> = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = E::find()
            .filter(parent.is_in(chunk.to_vec()))
            .order_by_asc(order)
            .all(conn)
            .await
            .map_err(Error::internal)?;
        for r in rows {
            by.entry(parent_of(&r)).or_default().push(r);
        }
    }
    Ok(by)
}

/// Loads the history of each hazard.
pub async fn with_history(
    conn: &impl sea_orm::ConnectionTrait,
    hazards: Vec<hazard::Model>,
) -> Result<Vec<HazardFull>> {
    let ids: Vec<Uuid> = hazards.iter().map(|h| h.id).collect();
    let mut by = children::<hazard_event::Entity, _>(
        conn,
        &ids,
        hazard_event::Column::HazardId,
        hazard_event::Column::Id,
        |e| e.hazard_id,
    )
    .await?;
    Ok(hazards
        .into_iter()
        .map(|h| HazardFull {
            history: by.remove(&h.id).unwrap_or_default(),
            hazard: h,
        })
        .collect())
}

/// Loads the results of each inspection.
pub async fn with_results(
    conn: &impl sea_orm::ConnectionTrait,
    list: Vec<inspection::Model>,
) -> Result<Vec<InspectionFull>> {
    let ids: Vec<Uuid> = list.iter().map(|i| i.id).collect();
    let mut by = children::<inspection_result::Entity, _>(
        conn,
        &ids,
        inspection_result::Column::InspectionId,
        inspection_result::Column::Position,
        |r| r.inspection_id,
    )
    .await?;
    Ok(list
        .into_iter()
        .map(|i| InspectionFull {
            results: by.remove(&i.id).unwrap_or_default(),
            inspection: i,
        })
        .collect())
}

/// A page of hazards the scope sees, newest first by id.
pub async fn list(
    db: &Db,
    scope: &Scope,
    f: &HazardFilter,
    policy: &DeadlinePolicy,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> Result<Page<HazardFull>> {
    let mut cond = scope::by_enterprise(scope, hazard::Column::EnterpriseId);
    if let Some(e) = f.enterprise_id {
        cond = cond.add(hazard::Column::EnterpriseId.eq(e));
    }
    if let Some(v) = f.village_id {
        let sub = sea_orm::sea_query::Query::select()
            .column(enterprise::Column::Id)
            .from(enterprise::Entity)
            .and_where(enterprise::Column::VillageId.eq(v))
            .to_owned();
        cond = cond.add(hazard::Column::EnterpriseId.in_subquery(sub));
    }
    if let Some(s) = f.status {
        cond = cond.add(hazard::Column::Status.eq(s.as_str()));
    }
    if let Some(s) = f.severity {
        cond = cond.add(hazard::Column::Severity.eq(s.as_str()));
    }
    match f.overdue {
        Some(true) => {
            cond = cond
                .add(hazard::Column::Status.eq(HazardStatus::Open.as_str()))
                .add(hazard::Column::Deadline.lt(policy.office_date(now)));
        }
        Some(false) => {
            cond = cond.add(
                Condition::any()
                    .add(hazard::Column::Status.ne(HazardStatus::Open.as_str()))
                    .add(hazard::Column::Deadline.gte(policy.office_date(now))),
            );
        }
        None => {}
    }
    if let Some(after) = &page.after {
        let after: Uuid = after
            .parse()
            .map_err(|_| Error::BadRequest("cursor".into()))?;
        cond = cond.add(hazard::Column::Id.lt(after));
    }
    let rows = hazard::Entity::find()
        .filter(cond)
        .order_by_desc(hazard::Column::Id)
        .limit(page.limit + 1)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let page = Page::from_rows(rows, page.limit, |h| h.id.to_string());
    Ok(Page {
        items: with_history(db.conn(), page.items).await?,
        next_after: page.next_after,
    })
}

/// One hazard with its history, if the scope sees it.
pub async fn get(db: &Db, scope: &Scope, id: Uuid) -> Result<HazardFull> {
    let h = hazard::Entity::find_by_id(id)
        .filter(scope::by_enterprise(scope, hazard::Column::EnterpriseId))
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    with_history(db.conn(), vec![h])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// A page of inspections the scope sees, newest first by id.
pub async fn list_inspections(
    db: &Db,
    scope: &Scope,
    enterprise_id: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<InspectionFull>> {
    let mut cond = scope::by_enterprise(scope, inspection::Column::EnterpriseId);
    if let Some(e) = enterprise_id {
        cond = cond.add(inspection::Column::EnterpriseId.eq(e));
    }
    if let Some(after) = &page.after {
        let after: Uuid = after
            .parse()
            .map_err(|_| Error::BadRequest("cursor".into()))?;
        cond = cond.add(inspection::Column::Id.lt(after));
    }
    let rows = inspection::Entity::find()
        .filter(cond)
        .order_by_desc(inspection::Column::Id)
        .limit(page.limit + 1)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let page = Page::from_rows(rows, page.limit, |i| i.id.to_string());
    Ok(Page {
        items: with_results(db.conn(), page.items).await?,
        next_after: page.next_after,
    })
}

/// One inspection, if the scope sees it.
pub async fn get_inspection(db: &Db, scope: &Scope, id: Uuid) -> Result<InspectionFull> {
    let i = inspection::Entity::find_by_id(id)
        .filter(scope::by_enterprise(
            scope,
            inspection::Column::EnterpriseId,
        ))
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    with_results(db.conn(), vec![i])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}
