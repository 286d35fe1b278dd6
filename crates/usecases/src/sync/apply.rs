//! The effect of each mutation type: load what it names, ask the domain, and
//! write through the store's one write path.

use std::collections::HashSet;

use anjian_domain::hazard::create::HazardIn;
use anjian_domain::hazard::lifecycle::{Decision, HazardState, Plan};
use anjian_domain::hazard::patch::{self, Editable, FieldVersions, Refusal};
use anjian_domain::inspection::{InspectionIn, TemplateFacts};
use anjian_domain::photo::{Owner, OwnerKind};
use anjian_domain::{
    Bounded, DeadlinePolicy, EnterpriseId, Error, ErrorCode, FieldErrors, HazardStatus, VillageId,
};
use anjian_store::WriteTx;
use anjian_store::entity::{hazard, hazard_event, inspection, inspection_result};
use anjian_store::repo::hazards::{self as hazards, HazardFull, PreparedHazard};
use anjian_store::repo::photos::Declare;
use anjian_store::repo::users::User;
use anjian_store::repo::{campaigns, enterprises, templates};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::push::Mutation;
use crate::lifecycle::{self, Input, Target};
use crate::photos::Listing;

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

/// A failure to read or write: the push stops.
fn db(e: Error) -> MutErr {
    MutErr::Internal(e)
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
        K::RectificationCreate => {
            rectification_create(tx, user, parse("rectification", &m.payload)?).await
        }
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
#[derive(Debug)]
pub struct Prefetched {
    /// The village of each enterprise named.
    villages: std::collections::HashMap<Uuid, Uuid>,
    /// The pusher's scope, built once for the push.
    scope: anjian_domain::Scope,
}

impl Prefetched {
    /// Reads the enterprises the payloads name (`enterprise_id`).
    pub async fn load(
        tx: &WriteTx,
        user: &User,
        mutations: &[Mutation],
    ) -> anjian_domain::Result<Prefetched> {
        let ids: Vec<Uuid> = mutations
            .iter()
            .filter_map(|m| m.payload.get("enterprise_id")?.as_str()?.parse().ok())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let villages = enterprises::find_in(tx, &ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e.village_id))
            .collect();
        Ok(Prefetched {
            villages,
            scope: user.scope(),
        })
    }
}

/// The enterprise's id, if it exists and the user's scope sees it.
async fn enterprise_in_scope(
    tx: &WriteTx,
    user: &User,
    id: Uuid,
    et: &'static str,
    eid: Uuid,
) -> Step<EnterpriseId> {
    let sees = |scope: &anjian_domain::Scope, village: Uuid| {
        scope.sees_enterprise(EnterpriseId(id), VillageId(village))
    };
    let prefetched = PREFETCHED
        .try_with(|p| p.villages.get(&id).map(|v| sees(&p.scope, *v)))
        .ok()
        .flatten();
    let seen = match prefetched {
        Some(seen) => seen,
        None => enterprises::find_in(tx, &[id])
            .await
            .map_err(db)?
            .pop()
            .is_some_and(|e| sees(&user.scope(), e.village_id)),
    };
    if seen {
        return Ok(EnterpriseId(id));
    }
    Err(MutErr::Rejected {
        entity_type: Some(et),
        entity_id: Some(eid),
        error: Error::NotFound,
    })
}

fn require_field_role(user: &User, et: &'static str, id: Uuid) -> Step<()> {
    if user.role().records_findings() {
        return Ok(());
    }
    Err(MutErr::Rejected {
        entity_type: Some(et),
        entity_id: Some(id),
        error: Error::Forbidden,
    })
}

/// Lists declared photos on a record of `enterprise_id`.
async fn attach(
    tx: &mut WriteTx,
    user: &User,
    ids: &[Uuid],
    (owner, enterprise_id): (Owner<'_>, Uuid),
    et: &'static str,
) -> Step<()> {
    crate::photos::attach(tx, user, ids, (owner, enterprise_id), Listing::Push)
        .await
        .map_err(rej(et, Some(owner.id)))
}

async fn inspection_create(tx: &mut WriteTx, user: &User, p: InspectionIn) -> Step<Applied> {
    const ET: &str = "inspection";
    require_field_role(user, ET, p.id)?;
    let e = enterprise_in_scope(tx, user, p.enterprise_id, ET, p.id).await?;
    // A duplicate id is refused by the primary key (a `conflict`), no lookup needed.
    let template = templates::item_codes(tx, p.template_id).await.map_err(db)?;
    let codes: Vec<&str> = template
        .as_ref()
        .map(|(_, c)| c.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let campaign_known = match p.campaign_id {
        Some(c) => campaigns::exists(tx, c).await.map_err(db)?,
        None => true,
    };
    let facts = template.as_ref().map(|(version, _)| TemplateFacts {
        version: *version,
        item_codes: &codes,
    });
    let checked = p
        .check(facts, campaign_known)
        .map_err(rej(ET, Some(p.id)))?;
    let now = tx.now();
    let m = inspection::Model {
        id: p.id,
        enterprise_id: e.0,
        campaign_id: p.campaign_id,
        template_id: p.template_id,
        template_version: checked.template_version,
        inspector_id: user.user.id,
        started_at: p.started_at,
        finished_at: p.finished_at,
        lat: p.location.as_ref().map(|l| l.lat),
        lon: p.location.as_ref().map(|l| l.lon),
        summary: checked.summary,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let m = tx
        .insert("inspection.create", m)
        .await
        .map_err(rej(ET, Some(p.id)))?;
    let rows: Vec<inspection_result::Model> = checked
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| inspection_result::Model {
            inspection_id: m.id,
            position: i as i64,
            item_code: r.item_code.clone(),
            outcome: r.outcome.into(),
            note: r.note.clone(),
            photo_ids: json!(r.photo_ids),
        })
        .collect();
    tx.insert_children("inspection.create", rows)
        .await
        .map_err(rej(ET, Some(m.id)))?;
    for r in &checked.results {
        let owner = Owner {
            kind: OwnerKind::InspectionResult,
            id: m.id,
            item: Some(&r.item_code),
        };
        attach(tx, user, &r.photo_ids, (owner, e.0), ET).await?;
    }
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
}

/// Writes a history row of a hazard (built by [`event_row`]); its id.
async fn event(tx: &mut WriteTx, action: &str, row: hazard_event::Model) -> Step<Uuid> {
    let id = row.id;
    tx.insert_children(action, vec![row]).await.map_err(db)?;
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
        let found = hazards::inspection_enterprise(tx, i).await.map_err(db)?;
        if found != Some(e.0) {
            return Err(MutErr::Rejected {
                entity_type: Some(ET),
                entity_id: Some(p.id),
                error: Error::NotFound,
            });
        }
    }
    let n = p.check(policy).map_err(rej(ET, Some(p.id)))?;
    let now = tx.now();
    let m = hazard::Model {
        id: p.id,
        enterprise_id: e.0,
        inspection_id: p.inspection_id,
        item_code: n.item_code,
        title: n.title,
        description: n.description,
        category: n.category,
        severity: n.severity.into(),
        status: HazardStatus::Open.into(),
        found_at: p.found_at,
        deadline: n.deadline,
        responsible_person: n.responsible_person,
        measures: n.measures,
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
    let row = event_row(
        tx,
        m.id,
        user,
        "create",
        (None, Some(HazardStatus::Open)),
        "",
        &[],
        Some(initial_values(&m)),
    );
    event(tx, "hazard.create", row).await?;
    let owner = Owner {
        kind: OwnerKind::Hazard,
        id: m.id,
        item: None,
    };
    attach(tx, user, &p.photo_ids, (owner, m.enterprise_id), ET).await?;
    Ok(Applied {
        entity_type: ET,
        entity_id: m.id,
        version: m.version,
    })
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
        tx,
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

/// The history row of a hazard event, at the transaction's time.
#[expect(clippy::too_many_arguments, reason = "the columns of one history row")]
fn event_row(
    tx: &WriteTx,
    hazard_id: Uuid,
    user: &User,
    action: &str,
    (from, to): (Option<HazardStatus>, Option<HazardStatus>),
    comment: &str,
    photo_ids: &[Uuid],
    changes: Option<Value>,
) -> hazard_event::Model {
    hazard_event::Model {
        id: Uuid::now_v7(),
        hazard_id,
        at: tx.now(),
        actor_id: Some(user.user.id),
        action: action.to_owned(),
        from_status: from.map(Into::into),
        to_status: to.map(Into::into),
        comment: comment.to_owned(),
        photo_ids: json!(photo_ids),
        changes,
    }
}

/// The fields a report reads as of a moment, as a new hazard has them.
fn initial_values(h: &hazard::Model) -> Value {
    json!({
        "severity": { "from": null, "to": h.severity },
        "deadline": { "from": null, "to": h.deadline },
    })
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

#[derive(Deserialize)]
struct HazardUpdateIn {
    id: Uuid,
    fields: serde_json::Map<String, Value>,
}

/// What the lifecycle rules need to know of a stored hazard (an unreadable
/// status or severity never got this far: it fails the read).
fn rule_state(h: &hazard::Model) -> HazardState {
    HazardState {
        status: *h.status,
        severity: *h.severity,
        deadline: h.deadline,
        plan: Plan::from_stored(h.plan.as_ref()),
        pending_extension: None,
    }
}

/// The editable fields of a stored hazard.
fn editable(h: &hazard::Model) -> Editable {
    Editable {
        description: h.description.clone(),
        severity: *h.severity,
        deadline: h.deadline,
        responsible_person: h.responsible_person.clone(),
        measures: h.measures.clone(),
    }
}

/// The hazard in scope, or `not_found`.
async fn hazard_in_scope(tx: &WriteTx, user: &User, id: Uuid) -> Step<hazard::Model> {
    let h = hazards::find(tx, id).await.map_err(db)?;
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
    let state = rule_state(&h);
    let current = editable(&h);
    let merged = patch::update(
        user.role(),
        &state,
        &current,
        &FieldVersions::from_stored(&h.field_versions),
        (base, h.version),
        &p.fields,
        policy.office_date(h.found_at),
    );
    let merged = match merged {
        Ok(m) => m,
        Err(Refusal::Error(e)) => return Err(rej(ET, Some(p.id))(e)),
        Err(Refusal::Clash(fields)) => {
            let names: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
            return Err(MutErr::Conflict {
                hazard_id: Some(h.id),
                code: ErrorCode::Conflict,
                details: Some(json!({ "fields": names })),
            });
        }
    };
    if merged.changed.is_empty() {
        return Ok(Applied {
            entity_type: ET,
            entity_id: h.id,
            version: h.version,
        });
    }
    let e = merged.after;
    let after = hazard::Model {
        description: e.description.clone(),
        severity: e.severity.into(),
        deadline: e.deadline,
        responsible_person: e.responsible_person.clone(),
        measures: e.measures.clone(),
        field_versions: merged.versions.to_stored(),
        ..h.clone()
    };
    let m = tx
        .update("hazard.update", &h, after)
        .await
        .map_err(rej(ET, Some(h.id)))?;
    let names: Vec<&str> = merged.changed.iter().map(|f| f.as_str()).collect();
    let changes: serde_json::Map<String, Value> = merged
        .changed
        .iter()
        .map(|f| {
            let fromto = json!({ "from": current.get(*f), "to": e.get(*f) });
            (f.as_str().to_owned(), fromto)
        })
        .collect();
    let row = event_row(
        tx,
        h.id,
        user,
        "update",
        (Some(state.status), Some(state.status)),
        &names.join(","),
        &[],
        Some(changes.into()),
    );
    event(tx, "hazard.update", row).await?;
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

async fn hazard_review(tx: &mut WriteTx, user: &User, p: ReviewIn) -> Step<Applied> {
    const ET: &str = "hazard";
    let Some(decision) = Decision::parse(&p.decision) else {
        // An unknown hazard is `not_found` before the body is looked at.
        lifecycle::hazard_in_scope(tx, user, p.id)
            .await
            .map_err(rej(ET, Some(p.id)))?;
        return Err(rej(ET, Some(p.id))(Error::validation(
            "decision", "invalid",
        )));
    };
    let input = Input::Review {
        decision,
        comment: p.comment,
        photo_ids: p.photo_ids.into_vec(),
    };
    let done = lifecycle::run(tx, user, Target::Hazard(p.id), input, Listing::Push)
        .await
        .map_err(rej(ET, Some(p.id)))?;
    Ok(Applied {
        entity_type: ET,
        entity_id: done.hazard.id,
        version: done.hazard.version,
    })
}

#[derive(Deserialize)]
struct RectificationIn {
    id: Uuid,
    hazard_id: Uuid,
    #[serde(default)]
    description: String,
    #[serde(default)]
    photo_ids: Bounded<Uuid, 500>,
}

/// An inspector records, on site, the rectification of an enterprise that
/// does not use the portal; the hazard becomes `submitted`.
async fn rectification_create(tx: &mut WriteTx, user: &User, p: RectificationIn) -> Step<Applied> {
    const ET: &str = "rectification";
    let input = Input::Rectify {
        id: p.id,
        description: p.description,
        photo_ids: p.photo_ids.into_vec(),
    };
    let done = lifecycle::run(tx, user, Target::Hazard(p.hazard_id), input, Listing::Push)
        .await
        .map_err(rej(ET, Some(p.id)))?;
    let version = match done.made {
        lifecycle::Made::Rectification(r) => r.version,
        _ => 1,
    };
    Ok(Applied {
        entity_type: ET,
        entity_id: p.id,
        version,
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
    let m = match crate::photos::declare_in(tx, user, p, max_pending).await {
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
    Ok(hazards::find_full(tx, id)
        .await?
        .filter(|(h, village)| {
            user.scope()
                .sees_enterprise(EnterpriseId(h.hazard.enterprise_id), VillageId(*village))
        })
        .map(|(h, _)| h))
}
