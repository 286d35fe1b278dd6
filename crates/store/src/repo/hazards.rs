//! Reading hazards and inspections through the scope check.

use anjian_domain::{DeadlinePolicy, HazardStatus, Scope, Severity};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{enterprise, hazard, hazard_event, inspection, inspection_result};
use crate::{Db, Error, Result, WriteTx, scope};

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

/// Loads the history of each hazard, as a hazard is shown: without each
/// event's `changes` (old and new values, for reports as of a moment), which
/// are left `None` here and not read.
pub async fn with_history(
    conn: &impl sea_orm::ConnectionTrait,
    hazards: Vec<hazard::Model>,
) -> Result<Vec<HazardFull>> {
    use sea_orm::Iterable;
    use sea_orm::sea_query::Expr;
    let ids: Vec<Uuid> = hazards.iter().map(|h| h.id).collect();
    let mut by: std::collections::HashMap<Uuid, Vec<hazard_event::Model>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<hazard_event::Model> = hazard_event::Entity::find()
            .select_only()
            .columns(
                hazard_event::Column::iter()
                    .filter(|c| !matches!(c, hazard_event::Column::Changes)),
            )
            .column_as(Expr::cust("NULL"), "changes")
            .filter(hazard_event::Column::HazardId.is_in(chunk.to_vec()))
            .order_by_asc(hazard_event::Column::Id)
            .into_model()
            .all(conn)
            .await
            .map_err(Error::internal)?;
        for r in rows {
            by.entry(r.hazard_id).or_default().push(r);
        }
    }
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
    // The domain's overdue rule, as a filter.
    let cut = policy.overdue_at(now);
    match f.overdue {
        Some(true) => {
            cond = cond
                .add(hazard::Column::Status.eq(cut.status.as_str()))
                .add(hazard::Column::Deadline.lt(cut.deadline_before));
        }
        Some(false) => {
            cond = cond.add(
                Condition::any()
                    .add(hazard::Column::Status.ne(cut.status.as_str()))
                    .add(hazard::Column::Deadline.gte(cut.deadline_before)),
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

/// The hazard `id`, whoever may see it (the caller checks the scope).
pub async fn find(tx: &WriteTx, id: Uuid) -> Result<Option<hazard::Model>> {
    hazard::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// The hazard `id`, its row locked until the transaction ends (on
/// PostgreSQL; SQLite runs one writer at a time): two commands on one hazard
/// run one after the other, the second seeing what the first did.
pub async fn find_for_update(tx: &WriteTx, id: Uuid) -> Result<Option<hazard::Model>> {
    hazard::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// The hazard `id` with its history and the village of its enterprise.
pub async fn find_full(tx: &WriteTx, id: Uuid) -> Result<Option<(HazardFull, Uuid)>> {
    let Some(h) = find(tx, id).await? else {
        return Ok(None);
    };
    let village: Option<Uuid> = enterprise::Entity::find_by_id(h.enterprise_id)
        .select_only()
        .column(enterprise::Column::VillageId)
        .into_tuple()
        .one(tx.txn())
        .await
        .map_err(Error::internal)?;
    let Some(village) = village else {
        return Ok(None);
    };
    Ok(with_history(tx.txn(), vec![h])
        .await?
        .pop()
        .map(|f| (f, village)))
}

/// The enterprise of the inspection `id`, if it exists.
pub async fn inspection_enterprise(tx: &WriteTx, id: Uuid) -> Result<Option<Uuid>> {
    inspection::Entity::find_by_id(id)
        .select_only()
        .column(inspection::Column::EnterpriseId)
        .into_tuple()
        .one(tx.txn())
        .await
        .map_err(Error::internal)
}

/// A new hazard and its creation event, built but not yet written, so that a
/// push can write many in one statement.
#[derive(Debug, Clone)]
pub struct PreparedHazard {
    pub hazard: hazard::Model,
    pub event: hazard_event::Model,
}

/// What [`write_prepared`] could not write, by the caller's keys.
#[derive(Debug)]
pub struct Unwritten<K> {
    /// Keys whose id was taken meanwhile (by a concurrent push).
    pub taken: Vec<K>,
    /// Keys whose content the database refused.
    pub refused: Vec<K>,
}

/// Writes prepared hazards: all in one go, or, when that fails (an id taken by
/// a concurrent push, a row the database refuses), one by one, so that only
/// the ones at fault are left out.
pub async fn write_prepared<K: Copy + std::fmt::Debug>(
    tx: &mut WriteTx,
    batch: Vec<(K, PreparedHazard)>,
) -> Result<Unwritten<K>> {
    let mut out = Unwritten {
        taken: Vec::new(),
        refused: Vec::new(),
    };
    if batch.is_empty() {
        return Ok(out);
    }
    let sp = tx.savepoint().await?;
    match insert_prepared(tx, batch.iter().map(|(_, p)| p)).await {
        Ok(()) => {
            tx.release_savepoint(sp).await?;
            return Ok(out);
        }
        Err(e) if !(matches!(e, Error::Conflict(_)) || crate::db::refused_content(&e)) => {
            return Err(e);
        }
        Err(_) => tx.rollback_to_savepoint(sp).await?,
    }
    for (key, p) in batch {
        let sp = tx.savepoint().await?;
        match insert_prepared(tx, std::iter::once(&p)).await {
            Ok(()) => tx.release_savepoint(sp).await?,
            Err(Error::Conflict(_)) => {
                tx.rollback_to_savepoint(sp).await?;
                out.taken.push(key);
            }
            Err(e) if crate::db::refused_content(&e) => {
                tracing::warn!(?key, error = ?e, "the database refused a hazard's content");
                tx.rollback_to_savepoint(sp).await?;
                out.refused.push(key);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Inserts prepared hazards and their creation events.
async fn insert_prepared<'a>(
    tx: &mut WriteTx,
    prepared: impl Iterator<Item = &'a PreparedHazard>,
) -> Result<()> {
    let (hazards, events): (Vec<hazard::Model>, Vec<hazard_event::Model>) = prepared
        .map(|p| (p.hazard.clone(), p.event.clone()))
        .unzip();
    tx.insert_many("hazard.create", hazards).await?;
    tx.insert_children("hazard.create", events).await
}

/// The facts the campaign's figures count: every hazard found or closed
/// since `since`, or not yet closed or cancelled, with its enterprise's village and the day
/// its last rectification was submitted (dates in the office time zone).
pub async fn facts(
    db: &Db,
    since: DateTime<Utc>,
    policy: &DeadlinePolicy,
) -> Result<Vec<anjian_domain::figures::HazardFacts>> {
    use std::collections::HashMap;
    let day = |at: DateTime<Utc>| policy.office_date(at);
    let rows = hazard::Entity::find()
        .filter(
            Condition::any()
                .add(hazard::Column::FoundAt.gte(since))
                .add(hazard::Column::ClosedAt.gte(since))
                .add(hazard::Column::Status.is_in([
                    HazardStatus::Open.as_str(),
                    HazardStatus::Submitted.as_str(),
                ])),
        )
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let villages: HashMap<Uuid, Uuid> = enterprise::Entity::find()
        .select_only()
        .column(enterprise::Column::Id)
        .column(enterprise::Column::VillageId)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(Error::internal)?
        .into_iter()
        .collect();
    let closed: Vec<Uuid> = rows
        .iter()
        .filter(|h| *h.status == HazardStatus::Closed)
        .map(|h| h.id)
        .collect();
    // The last submission of each.
    let submitted: HashMap<Uuid, DateTime<Utc>> =
        crate::repo::rectifications::submitted_at(db, &closed)
            .await?
            .into_iter()
            .filter_map(|(h, at)| at.last().map(|t| (h, *t)))
            .collect();
    Ok(rows
        .into_iter()
        .filter_map(|h| {
            Some(anjian_domain::figures::HazardFacts {
                village_id: *villages.get(&h.enterprise_id)?,
                enterprise_id: h.enterprise_id,
                status: *h.status,
                severity: *h.severity,
                deadline: h.deadline,
                found_on: day(h.found_at),
                closed_on: h.closed_at.map(day),
                submitted_on: submitted.get(&h.id).copied().map(day),
            })
        })
        .collect())
}
