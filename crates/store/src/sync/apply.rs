//! The effect of each mutation type, checked against the pusher's role and scope.

use std::collections::{BTreeMap, HashSet};

use anjian_domain::text::max;
use anjian_domain::{
    Bounded, DeadlinePolicy, Error, ErrorCode, FieldErrors, HazardAction, HazardStatus, Role,
    Severity,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::push::Mutation;
use crate::WriteTx;
use crate::entity::{
    campaign, checklist_item, checklist_template, enterprise, hazard, hazard_event, inspection,
    inspection_result, photo,
};
use crate::repo::hazards::{HazardFull, with_history};
use crate::repo::photos::Declare;
use crate::repo::users::User;

/// A mutation that took effect.
#[derive(Debug, Clone)]
pub struct Applied {
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub version: i64,
}

/// Why a mutation did not take effect.
#[derive(Debug)]
pub enum MutErr {
    /// `rejected` with an error code.
    Rejected {
        entity_type: Option<&'static str>,
        entity_id: Option<Uuid>,
        error: Error,
    },
    /// `conflict`: the server's record changed in a way the mutation can't merge.
    Conflict {
        hazard_id: Option<Uuid>,
        code: ErrorCode,
        details: Option<Value>,
    },
    /// The database failed; the push stops here.
    Internal(Error),
    /// Not now (the user's photos waiting for upload are at their cap): the
    /// push stops before this mutation, which is neither applied nor refused.
    Deferred,
}

impl MutErr {
    /// (`status`, `code`, details) for the result.
    pub fn describe(&self) -> (&'static str, ErrorCode, Option<Value>) {
        match self {
            MutErr::Conflict { code, details, .. } => ("conflict", *code, details.clone()),
            MutErr::Rejected { error, .. } => {
                let details = match error {
                    Error::Validation(f) => Some(json!({ "fields": f })),
                    Error::Conflict(what) => Some(json!({ "field": what })),
                    Error::BadRequest(r) => Some(json!({ "reason": r })),
                    _ => None,
                };
                ("rejected", error.code(), details)
            }
            MutErr::Internal(_) | MutErr::Deferred => ("rejected", ErrorCode::Internal, None),
        }
    }

    pub fn entity_type(&self) -> Option<&'static str> {
        match self {
            MutErr::Rejected { entity_type, .. } => *entity_type,
            MutErr::Conflict {
                hazard_id: Some(_), ..
            } => Some("hazard"),
            _ => None,
        }
    }

    pub fn entity_id(&self) -> Option<Uuid> {
        match self {
            MutErr::Rejected { entity_id, .. } => *entity_id,
            MutErr::Conflict { hazard_id, .. } => *hazard_id,
            MutErr::Internal(_) | MutErr::Deferred => None,
        }
    }
}

type Step<T> = std::result::Result<T, MutErr>;

tokio::task_local! {
    /// The push's prefetched reads, available to the handlers while it runs.
    static PREFETCHED: std::sync::Arc<Prefetched>;
}

/// Runs `f` with `p` as the push's prefetched reads.
pub async fn with_prefetched<F: std::future::Future>(
    p: std::sync::Arc<Prefetched>,
    f: F,
) -> F::Output {
    PREFETCHED.scope(p, f).await
}

/// Wraps a domain error, telling database failures apart.
fn rej(entity_type: &'static str, entity_id: Option<Uuid>) -> impl Fn(Error) -> MutErr {
    move |error| match error {
        Error::Internal(_) => MutErr::Internal(error),
        Error::InvalidTransition { from, missing } => MutErr::Conflict {
            hazard_id: entity_id,
            code: ErrorCode::InvalidTransition,
            details: Some(json!({ "from_status": from, "missing": missing })),
        },
        Error::VersionMismatch { .. } => MutErr::Conflict {
            hazard_id: entity_id,
            code: ErrorCode::Conflict,
            details: None,
        },
        error => MutErr::Rejected {
            entity_type: Some(entity_type),
            entity_id,
            error,
        },
    }
}

fn db(e: sea_orm::DbErr) -> MutErr {
    MutErr::Internal(Error::internal(e))
}

/// Parses a payload, naming the offending field.
fn parse<T: DeserializeOwned>(entity_type: &'static str, v: &Value) -> Step<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let field = anjian_domain::text::echo(&e.path().to_string());
        let field = if field == "." {
            "payload".to_owned()
        } else {
            format!("payload.{field}")
        };
        let mut f = FieldErrors::new();
        f.add(
            field,
            anjian_domain::text::serde_reason(&e.inner().to_string()),
        );
        MutErr::Rejected {
            entity_type: Some(entity_type),
            entity_id: v
                .get("id")
                .and_then(|i| i.as_str())
                .and_then(|s| s.parse().ok()),
            error: Error::Validation(f),
        }
    })
}

/// What a push is applied with, from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub struct PushSettings {
    /// Default deadlines and the office time zone.
    pub policy: DeadlinePolicy,
    /// Photos a user may have declared and not yet uploaded.
    pub max_pending_photos: i64,
}

/// Applies one mutation inside the caller's savepoint.
pub async fn apply(
    tx: &mut WriteTx,
    user: &User,
    m: &Mutation,
    settings: &PushSettings,
) -> Step<Applied> {
    let policy = &settings.policy;
    use anjian_domain::mutation::MutationKind as K;
    let Some(kind) = K::parse(&m.kind) else {
        return Err(MutErr::Rejected {
            entity_type: None,
            entity_id: None,
            error: Error::validation("type", "unknown_mutation_type"),
        });
    };
    match kind {
        K::InspectionCreate => inspection_create(tx, user, parse("inspection", &m.payload)?).await,
        K::HazardCreate => hazard_create(tx, user, parse("hazard", &m.payload)?, policy).await,
        K::HazardUpdate => {
            hazard_update(
                tx,
                user,
                parse("hazard", &m.payload)?,
                m.base_version,
                policy,
            )
            .await
        }
        K::HazardReview => hazard_review(tx, user, parse("hazard", &m.payload)?).await,
        K::PhotoDeclare => {
            photo_declare(
                tx,
                user,
                parse("photo", &m.payload)?,
                settings.max_pending_photos,
            )
            .await
        }
    }
}

/// Enterprises a push refers to, read once for the whole push.
#[derive(Debug, Default)]
pub struct Prefetched {
    enterprises: std::collections::HashMap<Uuid, enterprise::Model>,
}

impl Prefetched {
    /// Reads the enterprises the payloads name (`enterprise_id`).
    pub async fn load(tx: &WriteTx, mutations: &[Mutation]) -> anjian_domain::Result<Prefetched> {
        let ids: Vec<Uuid> = mutations
            .iter()
            .filter_map(|m| m.payload.get("enterprise_id")?.as_str()?.parse().ok())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut enterprises = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            for e in enterprise::Entity::find()
                .filter(enterprise::Column::Id.is_in(chunk.to_vec()))
                .all(tx.txn())
                .await
                .map_err(Error::internal)?
            {
                enterprises.insert(e.id, e);
            }
        }
        Ok(Prefetched { enterprises })
    }
}

/// The enterprise, if it exists and the user's scope sees it.
async fn enterprise_in_scope(
    tx: &WriteTx,
    user: &User,
    id: Uuid,
    et: &'static str,
    eid: Uuid,
) -> Step<enterprise::Model> {
    let cached = PREFETCHED
        .try_with(|p| p.enterprises.get(&id).cloned())
        .ok()
        .flatten();
    let e = match cached {
        Some(e) => Some(e),
        None => enterprise::Entity::find_by_id(id)
            .one(tx.txn())
            .await
            .map_err(db)?,
    };
    match e {
        Some(e) if user.scope().sees_enterprise(e.id, e.village_id) => Ok(e),
        _ => Err(MutErr::Rejected {
            entity_type: Some(et),
            entity_id: Some(eid),
            error: Error::NotFound,
        }),
    }
}

fn require_field_role(user: &User, et: &'static str, id: Uuid) -> Step<()> {
    match user.role() {
        Role::Admin | Role::Office | Role::Inspector => Ok(()),
        Role::Enterprise => Err(MutErr::Rejected {
            entity_type: Some(et),
            entity_id: Some(id),
            error: Error::Forbidden,
        }),
    }
}

/// Where a photo is attached.
struct Owner<'a> {
    kind: &'static str,
    id: Uuid,
    item: Option<&'a str>,
    enterprise_id: Uuid,
}

/// Attaches declared photos to a record. A photo belongs to one record only.
async fn attach(
    tx: &mut WriteTx,
    user: &User,
    ids: &[Uuid],
    owner: Owner<'_>,
    et: &'static str,
) -> Step<()> {
    let mut seen = HashSet::new();
    for (pos, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            let mut f = FieldErrors::new();
            f.add("photo_ids", "duplicate");
            return Err(MutErr::Rejected {
                entity_type: Some(et),
                entity_id: Some(owner.id),
                error: Error::Validation(f),
            });
        }
        let p = photo::Entity::find_by_id(*id)
            .one(tx.txn())
            .await
            .map_err(db)?;
        let Some(p) = p.filter(|p| p.declared_by == user.user.id || user.role().is_staff()) else {
            return Err(MutErr::Rejected {
                entity_type: Some(et),
                entity_id: Some(owner.id),
                error: Error::NotFound,
            });
        };
        let same_owner = p.owner_type.as_deref() == Some(owner.kind)
            && p.owner_id == Some(owner.id)
            && p.owner_item.as_deref() == owner.item;
        if p.owner_id.is_some() && !same_owner {
            return Err(MutErr::Rejected {
                entity_type: Some(et),
                entity_id: Some(owner.id),
                error: Error::Conflict("photo_ids".into()),
            });
        }
        if same_owner {
            continue;
        }
        let after = photo::Model {
            owner_type: Some(owner.kind.to_owned()),
            owner_id: Some(owner.id),
            owner_item: owner.item.map(str::to_owned),
            owner_position: Some(pos as i64),
            enterprise_id: Some(owner.enterprise_id),
            ..p.clone()
        };
        tx.update("photo.attach", &p, after)
            .await
            .map_err(rej(et, Some(owner.id)))?;
    }
    Ok(())
}

fn text(f: &mut FieldErrors, field: &str, v: &str, required: bool, max: usize) -> String {
    anjian_domain::text::field(f, field, v, required, max)
}

#[derive(Deserialize)]
struct ResultIn {
    item_code: String,
    outcome: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    photo_ids: Bounded<Uuid, 500>,
}

#[derive(Deserialize)]
struct LocationIn {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct InspectionIn {
    id: Uuid,
    enterprise_id: Uuid,
    #[serde(default)]
    campaign_id: Option<Uuid>,
    template_id: Uuid,
    #[serde(default)]
    template_version: Option<i64>,
    started_at: DateTime<Utc>,
    #[serde(default)]
    finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    location: Option<LocationIn>,
    #[serde(default)]
    results: Bounded<ResultIn, 500>,
    #[serde(default)]
    summary: String,
}

async fn inspection_create(tx: &mut WriteTx, user: &User, p: InspectionIn) -> Step<Applied> {
    const ET: &str = "inspection";
    require_field_role(user, ET, p.id)?;
    let e = enterprise_in_scope(tx, user, p.enterprise_id, ET, p.id).await?;
    // A duplicate id is refused by the primary key (a `conflict`), no lookup needed.
    let mut f = FieldErrors::new();
    let t = checklist_template::Entity::find_by_id(p.template_id)
        .one(tx.txn())
        .await
        .map_err(db)?;
    let items: Vec<checklist_item::Model> = match &t {
        Some(t) => checklist_item::Entity::find()
            .filter(checklist_item::Column::TemplateId.eq(t.id))
            .all(tx.txn())
            .await
            .map_err(db)?,
        None => {
            f.add("template_id", "unknown");
            Vec::new()
        }
    };
    if let (Some(t), Some(v)) = (&t, p.template_version)
        && t.version != v
    {
        f.add("template_version", "mismatch");
    }
    if let Some(c) = p.campaign_id
        && campaign::Entity::find_by_id(c)
            .one(tx.txn())
            .await
            .map_err(db)?
            .is_none()
    {
        f.add("campaign_id", "unknown");
    }
    if let Some(fin) = p.finished_at
        && fin < p.started_at
    {
        f.add("finished_at", "before_started_at");
    }
    if let Some(l) = &p.location
        && !((-90.0..=90.0).contains(&l.lat) && (-180.0..=180.0).contains(&l.lon))
    {
        f.add("location", "invalid");
    }
    let mut codes = HashSet::new();
    for (i, r) in p.results.iter().enumerate() {
        if t.is_some() && !items.iter().any(|it| it.code == r.item_code) {
            f.add(format!("results[{i}].item_code"), "unknown");
        }
        if !codes.insert(&r.item_code) {
            f.add(format!("results[{i}].item_code"), "duplicate");
        }
        if !["pass", "fail", "na"].contains(&r.outcome.as_str()) {
            f.add(format!("results[{i}].outcome"), "invalid");
        }
        text(
            &mut f,
            &format!("results[{i}].item_code"),
            &r.item_code,
            true,
            max::CODE,
        );
        text(
            &mut f,
            &format!("results[{i}].note"),
            &r.note,
            false,
            max::NOTE,
        );
    }
    let summary = text(&mut f, "summary", &p.summary, false, max::LONG);
    f.into_result().map_err(rej(ET, Some(p.id)))?;
    let now = Utc::now();
    let m = inspection::Model {
        id: p.id,
        enterprise_id: e.id,
        campaign_id: p.campaign_id,
        template_id: p.template_id,
        template_version: t.as_ref().map_or(1, |t| t.version),
        inspector_id: user.user.id,
        started_at: p.started_at,
        finished_at: p.finished_at,
        lat: p.location.as_ref().map(|l| l.lat),
        lon: p.location.as_ref().map(|l| l.lon),
        summary,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let m = tx
        .insert("inspection.create", m)
        .await
        .map_err(rej(ET, Some(p.id)))?;
    let rows: Vec<inspection_result::ActiveModel> = p
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| inspection_result::ActiveModel {
            inspection_id: sea_orm::Set(m.id),
            position: sea_orm::Set(i as i64),
            item_code: sea_orm::Set(r.item_code.clone()),
            outcome: sea_orm::Set(r.outcome.clone()),
            note: sea_orm::Set(r.note.trim().to_owned()),
            photo_ids: sea_orm::Set(json!(r.photo_ids)),
        })
        .collect();
    if !rows.is_empty() {
        inspection_result::Entity::insert_many(rows)
            .exec_without_returning(tx.txn())
            .await
            .map_err(db)?;
    }
    for r in &p.results {
        let owner = Owner {
            kind: "inspection_result",
            id: m.id,
            item: Some(&r.item_code),
            enterprise_id: e.id,
        };
        attach(tx, user, &r.photo_ids, owner, ET).await?;
    }
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
}

#[derive(Deserialize)]
struct HazardIn {
    id: Uuid,
    enterprise_id: Uuid,
    #[serde(default)]
    inspection_id: Option<Uuid>,
    #[serde(default)]
    item_code: Option<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    severity: String,
    found_at: DateTime<Utc>,
    #[serde(default)]
    deadline: Option<NaiveDate>,
    #[serde(default)]
    responsible_person: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    photo_ids: Bounded<Uuid, 500>,
}

/// Writes a history row of a hazard (built by [`event_row`]); its id.
async fn event(tx: &WriteTx, row: hazard_event::ActiveModel) -> Step<Uuid> {
    let id = match &row.id {
        sea_orm::ActiveValue::Set(id) => *id,
        _ => Uuid::now_v7(),
    };
    hazard_event::Entity::insert(row)
        .exec_without_returning(tx.txn())
        .await
        .map_err(db)?;
    Ok(id)
}

/// Checks a new hazard and builds its row, reading but not writing.
async fn prepare_hazard(
    tx: &WriteTx,
    user: &User,
    p: &HazardIn,
    policy: &DeadlinePolicy,
) -> Step<hazard::Model> {
    const ET: &str = "hazard";
    require_field_role(user, ET, p.id)?;
    let e = enterprise_in_scope(tx, user, p.enterprise_id, ET, p.id).await?;
    // A duplicate id is refused by the primary key (a `conflict`), no lookup needed.
    if let Some(i) = p.inspection_id {
        let found = inspection::Entity::find_by_id(i)
            .one(tx.txn())
            .await
            .map_err(db)?;
        if found.is_none_or(|i| i.enterprise_id != e.id) {
            return Err(MutErr::Rejected {
                entity_type: Some(ET),
                entity_id: Some(p.id),
                error: Error::NotFound,
            });
        }
    }
    let mut f = FieldErrors::new();
    let title = text(&mut f, "title", &p.title, true, max::TITLE);
    let description = text(&mut f, "description", &p.description, false, max::LONG);
    let category = text(&mut f, "category", &p.category, false, max::SHORT);
    let responsible_person = text(
        &mut f,
        "responsible_person",
        &p.responsible_person,
        false,
        max::SHORT,
    );
    let measures = text(&mut f, "measures", &p.measures, false, max::LONG);
    let item_code = p
        .item_code
        .as_deref()
        .map(|c| text(&mut f, "item_code", c, false, max::CODE))
        .filter(|c| !c.is_empty());
    let severity = Severity::parse(&p.severity);
    if severity.is_none() {
        f.add("severity", "invalid");
    }
    // The default deadline depends on the severity: none without one.
    let deadline = match severity.map(|sev| policy.deadline(p.found_at, sev, p.deadline)) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(Error::Validation(v))) => {
            for (k, rs) in v.0 {
                for r in rs {
                    f.add(k.clone(), r);
                }
            }
            None
        }
        Some(Err(e)) => return Err(MutErr::Internal(e)),
    };
    f.into_result().map_err(rej(ET, Some(p.id)))?;
    let (Some(severity), Some(deadline)) = (severity, deadline) else {
        return Err(MutErr::Internal(Error::internal(anyhow::anyhow!(
            "validated hazard without severity"
        ))));
    };
    let now = Utc::now();
    let m = hazard::Model {
        id: p.id,
        enterprise_id: e.id,
        inspection_id: p.inspection_id,
        item_code,
        title,
        description,
        category,
        severity: severity.as_str().to_owned(),
        status: HazardStatus::Open.as_str().to_owned(),
        found_at: p.found_at,
        deadline,
        responsible_person,
        measures,
        closed_at: None,
        plan: None,
        photo_ids: json!(p.photo_ids),
        field_versions: json!({}),
        created_by: user.user.id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    Ok(m)
}

async fn hazard_create(
    tx: &mut WriteTx,
    user: &User,
    p: HazardIn,
    policy: &DeadlinePolicy,
) -> Step<Applied> {
    const ET: &str = "hazard";
    let m = prepare_hazard(tx, user, &p, policy).await?;
    let m = tx
        .insert("hazard.create", m)
        .await
        .map_err(rej(ET, Some(p.id)))?;
    event(
        tx,
        event_row(
            m.id,
            user,
            "create",
            (None, Some(HazardStatus::Open)),
            "",
            &[],
            Some(initial_values(&m)),
        ),
    )
    .await?;
    attach(
        tx,
        user,
        &p.photo_ids,
        Owner {
            kind: "hazard",
            id: m.id,
            item: None,
            enterprise_id: m.enterprise_id,
        },
        ET,
    )
    .await?;
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
}

/// A `hazard.create` checked and built but not yet written, so that a push can
/// write many in one statement.
#[derive(Debug)]
pub struct PreparedHazard {
    pub hazard: hazard::Model,
    pub event: hazard_event::ActiveModel,
}

/// Prepares a `hazard.create` without photos for a batched write; `Ok(None)` when
/// the mutation must take the one-by-one path (photos are attached by writes).
pub async fn prepare_batchable(
    tx: &WriteTx,
    user: &User,
    m: &Mutation,
    policy: &DeadlinePolicy,
) -> Step<Option<PreparedHazard>> {
    if anjian_domain::mutation::MutationKind::parse(&m.kind)
        != Some(anjian_domain::mutation::MutationKind::HazardCreate)
    {
        return Ok(None);
    }
    let p: HazardIn = parse("hazard", &m.payload)?;
    if !p.photo_ids.is_empty() {
        return Ok(None);
    }
    let hazard = prepare_hazard(tx, user, &p, policy).await?;
    let event = event_row(
        hazard.id,
        user,
        "create",
        (None, Some(HazardStatus::Open)),
        "",
        &[],
        Some(initial_values(&hazard)),
    );
    Ok(Some(PreparedHazard { hazard, event }))
}

/// The history row of a hazard event.
fn event_row(
    hazard_id: Uuid,
    user: &User,
    action: &str,
    (from, to): (Option<HazardStatus>, Option<HazardStatus>),
    comment: &str,
    photo_ids: &[Uuid],
    changes: Option<Value>,
) -> hazard_event::ActiveModel {
    hazard_event::ActiveModel {
        id: sea_orm::Set(Uuid::now_v7()),
        hazard_id: sea_orm::Set(hazard_id),
        at: sea_orm::Set(Utc::now()),
        actor_id: sea_orm::Set(Some(user.user.id)),
        action: sea_orm::Set(action.to_owned()),
        from_status: sea_orm::Set(from.map(|s| s.as_str().to_owned())),
        to_status: sea_orm::Set(to.map(|s| s.as_str().to_owned())),
        comment: sea_orm::Set(comment.to_owned()),
        photo_ids: sea_orm::Set(json!(photo_ids)),
        changes: sea_orm::Set(changes),
    }
}

/// The fields a report reads as of a moment, as a new hazard has them.
fn initial_values(h: &hazard::Model) -> Value {
    json!({
        "severity": { "from": null, "to": h.severity },
        "deadline": { "from": null, "to": h.deadline },
    })
}

/// The old and new values of the fields `changed` between two versions.
fn changed_values(before: &hazard::Model, after: &hazard::Model, changed: &[&str]) -> Value {
    changed
        .iter()
        .map(|k| {
            let fromto = json!({ "from": field_value(before, k), "to": field_value(after, k) });
            ((*k).to_owned(), fromto)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// What [`write_prepared`] could not write.
#[derive(Debug, Default)]
pub struct Unwritten {
    /// Seqs whose id was taken meanwhile (by a concurrent push).
    pub taken: Vec<i64>,
    /// Seqs whose content the database refused.
    pub refused: Vec<i64>,
}

/// Writes prepared hazards: all in one go, or, when that fails (an id taken by
/// a concurrent push, a row the database refuses), one by one, so that only
/// the mutations at fault are left out.
pub async fn write_prepared(
    tx: &mut WriteTx,
    batch: Vec<(i64, PreparedHazard)>,
) -> anjian_domain::Result<Unwritten> {
    let mut out = Unwritten::default();
    if batch.is_empty() {
        return Ok(out);
    }
    let sp = tx.savepoint().await?;
    let all = insert_prepared(tx, batch.iter().map(|(_, p)| p)).await;
    match all {
        Ok(()) => {
            tx.release_savepoint(sp).await?;
            return Ok(out);
        }
        Err(e) if !(matches!(e, Error::Conflict(_)) || crate::db::refused_content(&e)) => {
            return Err(e);
        }
        Err(_) => tx.rollback_to_savepoint(sp).await?,
    }
    for (seq, p) in batch {
        let sp = tx.savepoint().await?;
        match insert_prepared(tx, std::iter::once(&p)).await {
            Ok(()) => tx.release_savepoint(sp).await?,
            Err(Error::Conflict(_)) => {
                tx.rollback_to_savepoint(sp).await?;
                out.taken.push(seq);
            }
            Err(e) if crate::db::refused_content(&e) => {
                tracing::warn!(seq, error = ?e, "the database refused a mutation's content");
                tx.rollback_to_savepoint(sp).await?;
                out.refused.push(seq);
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
) -> anjian_domain::Result<()> {
    let (hazards, events): (Vec<hazard::Model>, Vec<hazard_event::ActiveModel>) = prepared
        .map(|p| (p.hazard.clone(), p.event.clone()))
        .unzip();
    tx.insert_many("hazard.create", hazards).await?;
    for chunk in events.chunks(500) {
        hazard_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx.txn())
            .await
            .map_err(Error::internal)?;
    }
    Ok(())
}

/// The rejection of a mutation whose content the database itself refused.
pub fn refused_by_database(entity_type: Option<&'static str>, entity_id: Option<Uuid>) -> MutErr {
    let mut f = FieldErrors::new();
    f.add("payload", "refused_by_database");
    MutErr::Rejected {
        entity_type,
        entity_id,
        error: Error::Validation(f),
    }
}

/// The fields a `hazard.update` may set.
pub const UPDATABLE: [&str; 5] = [
    "description",
    "severity",
    "deadline",
    "responsible_person",
    "measures",
];

#[derive(Deserialize)]
struct HazardUpdateIn {
    id: Uuid,
    fields: serde_json::Map<String, Value>,
}

fn field_value(h: &hazard::Model, field: &str) -> Value {
    match field {
        "description" => json!(h.description),
        "severity" => json!(h.severity),
        "deadline" => json!(h.deadline),
        "responsible_person" => json!(h.responsible_person),
        "measures" => json!(h.measures),
        _ => Value::Null,
    }
}

/// The stored status; an unreadable one is a fault, never a default.
fn stored_status(h: &hazard::Model) -> Step<HazardStatus> {
    HazardStatus::parse(&h.status).ok_or_else(|| {
        MutErr::Internal(Error::internal(anyhow::anyhow!(
            "hazard {} has an unreadable status",
            h.id
        )))
    })
}

/// The stored severity; an unreadable one is a fault, never `general` (that
/// would let an inspector close a major hazard).
fn stored_severity(h: &hazard::Model) -> Step<Severity> {
    Severity::parse(&h.severity).ok_or_else(|| {
        MutErr::Internal(Error::internal(anyhow::anyhow!(
            "hazard {} has an unreadable severity",
            h.id
        )))
    })
}

/// The hazard in scope, or `not_found`.
async fn hazard_in_scope(tx: &WriteTx, user: &User, id: Uuid) -> Step<hazard::Model> {
    let h = hazard::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(db)?;
    let Some(h) = h else {
        return Err(MutErr::Rejected {
            entity_type: Some("hazard"),
            entity_id: Some(id),
            error: Error::NotFound,
        });
    };
    enterprise_in_scope(tx, user, h.enterprise_id, "hazard", id).await?;
    Ok(h)
}

async fn hazard_update(
    tx: &mut WriteTx,
    user: &User,
    p: HazardUpdateIn,
    base: Option<i64>,
    policy: &DeadlinePolicy,
) -> Step<Applied> {
    const ET: &str = "hazard";
    let h = hazard_in_scope(tx, user, p.id).await?;
    require_field_role(user, ET, p.id)?;
    let status = stored_status(&h)?;
    let changes_severity = p
        .fields
        .get("severity")
        .is_some_and(|v| v.as_str() != Some(h.severity.as_str()));
    if changes_severity && !anjian_domain::hazard::may_change_severity(user.role()) {
        return Err(MutErr::Rejected {
            entity_type: Some(ET),
            entity_id: Some(p.id),
            error: Error::Forbidden,
        });
    }
    let mut f = FieldErrors::new();
    let Some(base) = base else {
        f.add("base_version", "required");
        return Err(rej(ET, Some(p.id))(Error::Validation(f)));
    };
    for k in p.fields.keys() {
        if !UPDATABLE.contains(&k.as_str()) {
            // The name is the client's: made safe before it is stored and echoed.
            f.add(
                format!("fields.{}", anjian_domain::text::echo(k)),
                "not_updatable",
            );
        }
    }
    if p.fields.is_empty() {
        f.add("fields", "required");
    }
    let mut after = h.clone();
    for (k, v) in &p.fields {
        let s = v.as_str();
        match (k.as_str(), s) {
            ("description", Some(s)) => {
                after.description = text(&mut f, "fields.description", s, false, max::LONG)
            }
            ("measures", Some(s)) => {
                after.measures = text(&mut f, "fields.measures", s, false, max::LONG)
            }
            ("responsible_person", Some(s)) => {
                after.responsible_person =
                    text(&mut f, "fields.responsible_person", s, false, max::SHORT)
            }
            ("severity", Some(s)) => match Severity::parse(s) {
                Some(sev) => after.severity = sev.as_str().to_owned(),
                None => f.add("fields.severity", "invalid"),
            },
            ("deadline", Some(s)) => match s.parse::<NaiveDate>() {
                Ok(d) if d >= policy.office_date(h.found_at) => after.deadline = d,
                Ok(_) => f.add("fields.deadline", "before_found_at"),
                Err(_) => f.add("fields.deadline", "invalid"),
            },
            (k, _) if UPDATABLE.contains(&k) => f.add(format!("fields.{k}"), "invalid_type"),
            _ => {}
        }
    }
    f.into_result().map_err(rej(ET, Some(p.id)))?;
    if status.is_final() {
        return Err(rej(ET, Some(p.id))(Error::InvalidTransition {
            from: h.status.clone(),
            missing: None,
        }));
    }
    let mut versions: BTreeMap<String, i64> =
        serde_json::from_value(h.field_versions.clone()).unwrap_or_default();
    // A field changed on the server after base_version and set differently here: conflict.
    let clashing: Vec<&String> = p
        .fields
        .keys()
        .filter(|k| {
            versions.get(*k).copied().unwrap_or(1) > base
                && field_value(&after, k) != field_value(&h, k)
        })
        .collect();
    if !clashing.is_empty() {
        return Err(MutErr::Conflict {
            hazard_id: Some(h.id),
            code: ErrorCode::Conflict,
            details: Some(json!({ "fields": clashing })),
        });
    }
    let changed: Vec<&str> = UPDATABLE
        .iter()
        .copied()
        .filter(|k| field_value(&after, k) != field_value(&h, k))
        .collect();
    if changed.is_empty() {
        return Ok(Applied {
            entity_type: ET,
            entity_id: h.id,
            version: h.version,
        });
    }
    for k in &changed {
        versions.insert((*k).to_owned(), h.version + 1);
    }
    after.field_versions = json!(versions);
    let m = tx
        .update("hazard.update", &h, after)
        .await
        .map_err(rej(ET, Some(h.id)))?;
    event(
        tx,
        event_row(
            h.id,
            user,
            "update",
            (Some(status), Some(status)),
            &changed.join(","),
            &[],
            Some(changed_values(&h, &m, &changed)),
        ),
    )
    .await?;
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
}

#[derive(Deserialize)]
struct ReviewIn {
    id: Uuid,
    decision: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    photo_ids: Bounded<Uuid, 500>,
}

/// The six parts of a governance plan for a major hazard.
pub const PLAN_PARTS: [&str; 6] = [
    "objectives",
    "measures",
    "funding",
    "organisation",
    "timeline",
    "safety_measures",
];

async fn hazard_review(tx: &mut WriteTx, user: &User, p: ReviewIn) -> Step<Applied> {
    const ET: &str = "hazard";
    let h = hazard_in_scope(tx, user, p.id).await?;
    let action = match p.decision.as_str() {
        "accept" => HazardAction::Accept,
        "reject" => HazardAction::Reject,
        _ => {
            return Err(rej(ET, Some(p.id))(Error::validation(
                "decision", "invalid",
            )));
        }
    };
    let severity = stored_severity(&h)?;
    if !action.permitted(user.role(), severity) {
        return Err(MutErr::Rejected {
            entity_type: Some(ET),
            entity_id: Some(p.id),
            error: Error::Forbidden,
        });
    }
    let mut f = FieldErrors::new();
    let comment = text(&mut f, "comment", &p.comment, false, max::NOTE);
    f.into_result().map_err(rej(ET, Some(p.id)))?;
    if action == HazardAction::Reject && comment.is_empty() {
        return Err(rej(ET, Some(p.id))(Error::validation(
            "comment", "required",
        )));
    }
    let from = stored_status(&h)?;
    let to = from.apply(action).map_err(rej(ET, Some(h.id)))?;
    if action == HazardAction::Accept && severity == Severity::Major {
        let complete = h.plan.as_ref().is_some_and(|plan| {
            PLAN_PARTS.iter().all(|k| {
                plan.get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty())
            })
        });
        if !complete {
            return Err(rej(ET, Some(h.id))(Error::InvalidTransition {
                from: h.status.clone(),
                missing: Some("plan".into()),
            }));
        }
    }
    let mut after = h.clone();
    after.status = to.as_str().to_owned();
    after.closed_at = (to == HazardStatus::Closed).then(Utc::now);
    let m = tx
        .update("hazard.review", &h, after)
        .await
        .map_err(rej(ET, Some(h.id)))?;
    let ev = event(
        tx,
        event_row(
            h.id,
            user,
            &format!("review.{}", p.decision),
            (Some(from), Some(to)),
            &comment,
            &p.photo_ids,
            None,
        ),
    )
    .await?;
    attach(
        tx,
        user,
        &p.photo_ids,
        Owner {
            kind: "review",
            id: ev,
            item: None,
            enterprise_id: h.enterprise_id,
        },
        ET,
    )
    .await?;
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
}

async fn photo_declare(
    tx: &mut WriteTx,
    user: &User,
    p: Declare,
    max_pending: i64,
) -> Step<Applied> {
    const ET: &str = "photo";
    let id = p.id;
    let m = match crate::repo::photos::declare_in(tx, user, p, max_pending).await {
        // Past the cap the push stops here, as at a gap: the phone uploads
        // what it declared, then pushes again; nothing is refused for good.
        Err(Error::RateLimited { .. }) => return Err(MutErr::Deferred),
        r => r.map_err(rej(ET, Some(id)))?,
    };
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
}

/// The hazard as it is now, for `server_entity`, when `user` still sees it:
/// a replayed outcome must not show a record that left the caller's scope.
pub async fn current_hazard(
    tx: &WriteTx,
    user: &User,
    id: Uuid,
) -> anjian_domain::Result<Option<HazardFull>> {
    let h = hazard::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?;
    let Some(h) = h else { return Ok(None) };
    let village: Option<Uuid> = enterprise::Entity::find_by_id(h.enterprise_id)
        .select_only()
        .column(enterprise::Column::VillageId)
        .into_tuple()
        .one(tx.txn())
        .await
        .map_err(Error::internal)?;
    if !village.is_some_and(|v| user.scope().sees_enterprise(h.enterprise_id, v)) {
        return Ok(None);
    }
    Ok(with_history(tx.txn(), vec![h]).await?.pop())
}
