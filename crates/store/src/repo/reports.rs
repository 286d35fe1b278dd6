//! Reports: the facts a week's figures count, read as the server knew them
//! at the week's cut-off, and the generated reports themselves.
//!
//! "As the server knew them": a record's state at a moment is its row when
//! the row has not changed since (its `updated_at`), else the `before` of its
//! first audit entry after that moment (none: it did not exist yet). A
//! hazard's status at the week's end and its deadline and severity at the
//! cut-off come from its history, whose `at` is the server's commit time.

use std::collections::{BTreeMap, HashMap};

use anjian_domain::report::{EnterpriseFact, Facts, HazardFact, InspectionFact};
use anjian_domain::{DeadlinePolicy, EnterpriseStatus, HazardStatus, Severity};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::entity::{
    audit_log, campaign, enterprise, hazard, hazard_event, inspection, report, village,
};
use crate::repo::{Page, PageRequest};
use crate::{Db, Error, Result};

/// The moments a week's facts are read at.
#[derive(Debug, Clone, Copy)]
pub struct AsOf {
    /// Where "this year" starts (the ISO week-year's first Monday, 00:00).
    pub year_start: DateTime<Utc>,
    /// The end of the period counted: the week's end, or now for the week in progress.
    pub end: DateTime<Utc>,
    /// What the server had committed by then counts: the cut-off, or now.
    pub cutoff: DateTime<Utc>,
}

const CHUNK: usize = 500;

fn db_err(e: sea_orm::DbErr) -> Error {
    Error::internal(e)
}

/// For records of `entity_type` changed at or after `at`: their state
/// before (the `before` of their first audit entry since; `None` when they
/// were created since). What the system wrote when it was set up (the seeded
/// roster, villages and campaigns: entries with no actor that create) stands
/// for what the town had all along.
async fn states_at(
    db: &Db,
    entity_type: &str,
    at: DateTime<Utc>,
) -> Result<HashMap<Uuid, Option<Value>>> {
    let rows: Vec<(Uuid, Option<Uuid>, Option<Value>)> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::EntityId)
        .column(audit_log::Column::ActorId)
        .column(audit_log::Column::Before)
        .filter(audit_log::Column::EntityType.eq(entity_type))
        .filter(audit_log::Column::At.gte(at))
        .order_by_asc(audit_log::Column::At)
        .order_by_asc(audit_log::Column::Id)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)?;
    let mut out = HashMap::new();
    for (id, actor, before) in rows {
        if actor.is_none() && before.is_none() {
            continue;
        }
        out.entry(id).or_insert(before);
    }
    Ok(out)
}

/// Id → name of the villages or campaigns that existed at `at`, by their names then.
async fn names_at<E>(
    db: &Db,
    (entity_type, id, name): (&str, E::Column, E::Column),
    at: DateTime<Utc>,
) -> Result<BTreeMap<Uuid, String>>
where
    E: EntityTrait,
{
    let changed = states_at(db, entity_type, at).await?;
    let rows: Vec<(Uuid, String)> = E::find()
        .select_only()
        .column(id)
        .column(name)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name)| match changed.get(&id) {
            None => Some((id, name)),
            Some(None) => None,
            Some(Some(then)) => Some((id, field(then, "name").unwrap_or(name))),
        })
        .collect())
}

fn field<T: serde::de::DeserializeOwned>(v: &Value, name: &str) -> Option<T> {
    serde_json::from_value(v.get(name)?.clone()).ok()
}

/// Everything a week's figures count, as of `at`.
pub async fn facts(db: &Db, at: AsOf, policy: &DeadlinePolicy) -> Result<Facts> {
    let day = |t: DateTime<Utc>| policy.office_date(t);
    let villages = names_at::<village::Entity>(
        db,
        ("village", village::Column::Id, village::Column::Name),
        at.cutoff,
    )
    .await?;
    let campaigns = names_at::<campaign::Entity>(
        db,
        ("campaign", campaign::Column::Id, campaign::Column::Name),
        at.cutoff,
    )
    .await?;
    let enterprises = enterprises_at(db, at.cutoff).await?;
    let inspections = inspections_at(db, at, &day).await?;
    let hazards = hazards_at(db, at, &day).await?;
    Ok(Facts {
        enterprises,
        villages,
        campaigns,
        inspections,
        hazards,
    })
}

async fn enterprises_at(db: &Db, cutoff: DateTime<Utc>) -> Result<Vec<EnterpriseFact>> {
    let changed = states_at(db, "enterprise", cutoff).await?;
    type Row = (Uuid, String, Uuid, crate::entity::Enum<EnterpriseStatus>);
    let rows: Vec<Row> = enterprise::Entity::find()
        .select_only()
        .column(enterprise::Column::Id)
        .column(enterprise::Column::Name)
        .column(enterprise::Column::VillageId)
        .column(enterprise::Column::Status)
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, village_id, status)| match changed.get(&id) {
            None => Some(EnterpriseFact {
                id,
                name,
                village_id,
                operating: status.0 == EnterpriseStatus::Operating,
            }),
            Some(None) => None,
            Some(Some(then)) => Some(EnterpriseFact {
                id,
                name: field(then, "name").unwrap_or(name),
                village_id: field(then, "village_id").unwrap_or(village_id),
                operating: field::<String>(then, "status").as_deref()
                    == Some(EnterpriseStatus::Operating.as_str()),
            }),
        })
        .collect())
}

async fn inspections_at(
    db: &Db,
    at: AsOf,
    day: &impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Result<Vec<InspectionFact>> {
    type Row = (
        Uuid,
        Uuid,
        Option<Uuid>,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = inspection::Entity::find()
        .select_only()
        .column(inspection::Column::Id)
        .column(inspection::Column::EnterpriseId)
        .column(inspection::Column::CampaignId)
        .column(inspection::Column::FinishedAt)
        .column(inspection::Column::UpdatedAt)
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(inspection::Column::FinishedAt.gte(at.year_start))
                        .add(inspection::Column::FinishedAt.lt(at.end)),
                )
                .add(inspection::Column::UpdatedAt.gte(at.cutoff)),
        )
        .into_tuple()
        .all(db.conn())
        .await
        .map_err(db_err)?;
    let changed = if rows.iter().any(|r| r.4 >= at.cutoff) {
        states_at(db, "inspection", at.cutoff).await?
    } else {
        HashMap::new()
    };
    Ok(rows
        .into_iter()
        .filter_map(|(id, enterprise_id, campaign_id, finished, updated)| {
            let (campaign_id, finished) = if updated >= at.cutoff {
                let then = changed.get(&id)?.as_ref()?;
                (
                    field(then, "campaign_id").unwrap_or(None),
                    field::<DateTime<Utc>>(then, "finished_at"),
                )
            } else {
                (campaign_id, finished)
            };
            let finished = finished.filter(|f| *f >= at.year_start && *f < at.end)?;
            Some(InspectionFact {
                enterprise_id,
                campaign_id,
                finished_on: day(finished),
            })
        })
        .collect())
}

async fn hazards_at(
    db: &Db,
    at: AsOf,
    day: &impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Result<Vec<HazardFact>> {
    let unsettled = [
        HazardStatus::Open.as_str(),
        HazardStatus::Submitted.as_str(),
    ];
    let rows = hazard::Entity::find()
        .filter(hazard::Column::FoundAt.lt(at.end))
        .filter(hazard::Column::CreatedAt.lt(at.cutoff))
        .filter(
            Condition::any()
                .add(hazard::Column::FoundAt.gte(at.year_start))
                .add(hazard::Column::Status.is_in(unsettled))
                .add(hazard::Column::UpdatedAt.gte(at.year_start)),
        )
        .order_by_asc(hazard::Column::Id)
        .all(db.conn())
        .await
        .map_err(db_err)?;
    let ids: Vec<Uuid> = rows.iter().map(|h| h.id).collect();
    // History, oldest first.
    let mut history: HashMap<Uuid, Vec<Event>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        type Ev = (Uuid, DateTime<Utc>, Option<String>, Option<Value>);
        let evs: Vec<Ev> = hazard_event::Entity::find()
            .select_only()
            .column(hazard_event::Column::HazardId)
            .column(hazard_event::Column::At)
            .column(hazard_event::Column::ToStatus)
            .column(hazard_event::Column::Changes)
            .filter(hazard_event::Column::HazardId.is_in(chunk.to_vec()))
            .order_by_asc(hazard_event::Column::At)
            .order_by_asc(hazard_event::Column::Id)
            .into_tuple()
            .all(db.conn())
            .await
            .map_err(db_err)?;
        for (h, t, to, changes) in evs {
            history.entry(h).or_default().push((t, to, changes));
        }
    }
    let submitted = crate::repo::rectifications::submitted_at(db, &ids).await?;
    let inspection_ids: Vec<Uuid> = {
        let mut v: Vec<Uuid> = rows.iter().filter_map(|h| h.inspection_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut campaign_of: HashMap<Uuid, Uuid> = HashMap::new();
    for chunk in inspection_ids.chunks(CHUNK) {
        let pairs: Vec<(Uuid, Option<Uuid>)> = inspection::Entity::find()
            .select_only()
            .column(inspection::Column::Id)
            .column(inspection::Column::CampaignId)
            .filter(inspection::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db.conn())
            .await
            .map_err(db_err)?;
        campaign_of.extend(pairs.into_iter().filter_map(|(i, c)| Some((i, c?))));
    }
    let empty = Vec::new();
    Ok(rows
        .into_iter()
        .map(|h| {
            let events = history.get(&h.id).unwrap_or(&empty);
            let status = status_at(events, at.end).unwrap_or(*h.status);
            let (severity, deadline) = values_at(events, at.cutoff, *h.severity, h.deadline);
            let closed_at = h
                .closed_at
                .filter(|c| status == HazardStatus::Closed && *c < at.end);
            let submitted_on = closed_at.and_then(|c| {
                submitted
                    .get(&h.id)?
                    .iter()
                    .filter(|s| **s <= c)
                    .max()
                    .copied()
                    .map(day)
            });
            HazardFact {
                id: h.id,
                enterprise_id: h.enterprise_id,
                campaign_id: h.inspection_id.and_then(|i| campaign_of.get(&i).copied()),
                category: h.category,
                title: h.title,
                severity,
                deadline,
                found_on: day(h.found_at),
                status,
                closed_on: closed_at.map(day),
                submitted_on,
            }
        })
        .collect())
}

type Event = (DateTime<Utc>, Option<String>, Option<Value>);

/// The status after the last event at or before `end`; before its first
/// event was committed (found in the period, pushed after it), the status
/// it was recorded with.
fn status_at(events: &[Event], end: DateTime<Utc>) -> Option<HazardStatus> {
    let parse = |s: &Option<String>| s.as_deref().and_then(HazardStatus::parse);
    events
        .iter()
        .filter(|e| e.0 < end)
        .filter_map(|e| parse(&e.1))
        .next_back()
        .or_else(|| events.iter().find_map(|e| parse(&e.1)))
}

/// Severity and deadline at `cutoff`: today's values with the changes made
/// after it undone, newest first.
fn values_at(
    events: &[Event],
    cutoff: DateTime<Utc>,
    mut severity: Severity,
    mut deadline: NaiveDate,
) -> (Severity, NaiveDate) {
    for (_, _, changes) in events.iter().rev().filter(|e| e.0 >= cutoff) {
        let Some(c) = changes else { continue };
        if let Some(s) = c
            .pointer("/severity/from")
            .and_then(Value::as_str)
            .and_then(Severity::parse)
        {
            severity = s;
        }
        if let Some(d) = c
            .pointer("/deadline/from")
            .and_then(|d| serde_json::from_value(d.clone()).ok())
        {
            deadline = d;
        }
    }
    (severity, deadline)
}

/// Stores a report (the figures and its files' keys), replacing the one of
/// the same kind and period.
pub async fn save(db: &Db, r: report::Model) -> Result<()> {
    let tx = db.write(crate::Actor::system()).await?;
    report::Entity::insert(sea_orm::IntoActiveModel::into_active_model(r))
        .on_conflict(
            OnConflict::columns([report::Column::Kind, report::Column::Period])
                .update_columns([
                    report::Column::GeneratedAt,
                    report::Column::Figures,
                    report::Column::XlsxKey,
                    report::Column::CsvKey,
                    report::Column::Headline,
                ])
                .to_owned(),
        )
        .exec_without_returning(tx.txn())
        .await
        .map_err(db_err)?;
    tx.commit().await?;
    Ok(())
}

/// The stored report of `kind` for `period`.
pub async fn get(db: &Db, kind: &str, period: &str) -> Result<Option<report::Model>> {
    report::Entity::find()
        .filter(report::Column::Kind.eq(kind))
        .filter(report::Column::Period.eq(period))
        .one(db.conn())
        .await
        .map_err(db_err)
}

/// A stored report as listed: its period, when it was made, and its
/// headline figures (read from the whole figures for rows made before
/// headlines were kept).
pub type Listed = (String, DateTime<Utc>, Option<Value>);

/// Stored reports of `kind`, newest period first.
pub async fn list(db: &Db, kind: &str, page: &PageRequest) -> Result<Page<Listed>> {
    let mut q = report::Entity::find()
        .select_only()
        .column(report::Column::Period)
        .column(report::Column::GeneratedAt)
        .column(report::Column::Headline)
        .filter(report::Column::Kind.eq(kind))
        .order_by_desc(report::Column::Period)
        .limit(page.limit + 1);
    if let Some(after) = &page.after {
        q = q.filter(report::Column::Period.lt(after.as_str()));
    }
    let mut rows: Vec<Listed> = q.into_tuple().all(db.conn()).await.map_err(db_err)?;
    for r in rows.iter_mut().filter(|r| r.2.is_none()) {
        r.2 = get(db, kind, &r.0).await?.map(|m| m.figures);
    }
    Ok(Page::from_rows(rows, page.limit, |r: &Listed| r.0.clone()))
}
