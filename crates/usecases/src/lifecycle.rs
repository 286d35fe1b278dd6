//! The hazard lifecycle's commands (api.md "Inspections and hazards"):
//! submitting a rectification (整改), reviewing it (复查, closing the hazard
//! on acceptance: 销号), cancelling, writing a major hazard's governance plan,
//! and asking for and deciding an extension. One use case serves REST, the
//! portal, the dashboard and sync (`hazard.review`, `rectification.create`).
//!
//! Refusals come in api.md's order: a hazard out of scope is `not_found`,
//! then the role (`forbidden`), then the body (`validation_failed`, the
//! photos it lists included), then the hazard's state (`invalid_transition`,
//! `conflict`). REST checks the first two with [`admit`] before it reads the
//! body; [`run`] checks everything again inside the write transaction.

use anjian_domain::hazard::lifecycle::{self, Command, CommandKind, Decision, HazardState, Plan};
use anjian_domain::hazard::{ExtensionStatus, HazardStatus};
use anjian_domain::photo::{Owner, OwnerKind};
use anjian_domain::{Clock, EnterpriseId, Error, FieldErrors, Result, VillageId};
use anjian_store::entity::{extension_request, hazard, hazard_event, rectification};
use anjian_store::repo::hazards::{self, HazardFull};
use anjian_store::repo::users::User;
use anjian_store::repo::{enterprises, rectifications};
use anjian_store::{Actor, Db, WriteTx};
use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::photos::{Listing, attach, listing_problems};

/// The record a command is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Hazard(Uuid),
    /// An extension request (its decision).
    Extension(Uuid),
}

/// A command as the caller sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `id`: the rectification's own (a phone's choice, or made here).
    Rectify {
        id: Uuid,
        description: String,
        photo_ids: Vec<Uuid>,
    },
    Review {
        decision: Decision,
        comment: String,
        photo_ids: Vec<Uuid>,
    },
    Cancel {
        reason: String,
    },
    Plan(Plan),
    RequestExtension {
        id: Uuid,
        until: NaiveDate,
        reason: String,
    },
    DecideExtension {
        approve: bool,
        comment: String,
    },
}

impl Input {
    pub fn kind(&self) -> CommandKind {
        match self {
            Input::Rectify { .. } => CommandKind::SubmitRectification,
            Input::Review { .. } => CommandKind::Review,
            Input::Cancel { .. } => CommandKind::Cancel,
            Input::Plan(_) => CommandKind::SetPlan,
            Input::RequestExtension { .. } => CommandKind::RequestExtension,
            Input::DecideExtension { .. } => CommandKind::DecideExtension,
        }
    }

    fn photo_ids(&self) -> &[Uuid] {
        match self {
            Input::Rectify { photo_ids, .. } | Input::Review { photo_ids, .. } => photo_ids,
            _ => &[],
        }
    }

    fn command(&self) -> Command {
        match self.clone() {
            Input::Rectify { description, .. } => Command::SubmitRectification { description },
            Input::Review {
                decision, comment, ..
            } => Command::Review { decision, comment },
            Input::Cancel { reason } => Command::Cancel { reason },
            Input::Plan(p) => Command::SetPlan(p),
            Input::RequestExtension { until, reason, .. } => {
                Command::RequestExtension { until, reason }
            }
            Input::DecideExtension { approve, comment } => {
                Command::DecideExtension { approve, comment }
            }
        }
    }
}

/// What a command made or changed, besides the hazard.
#[derive(Debug, Clone)]
pub enum Made {
    Nothing,
    Rectification(rectification::Model),
    Extension(extension_request::Model),
}

/// The outcome of a command: the hazard as it now is, and its own record.
#[derive(Debug, Clone)]
pub struct Done {
    pub hazard: hazard::Model,
    pub made: Made,
}

/// Whether `user` may address a command of `kind` to `target` at all: the
/// target in scope (else `not_found`), then the role (else `forbidden`).
/// Read only; [`run`] checks again inside its transaction.
pub async fn admit(db: &Db, user: &User, target: Target, kind: CommandKind) -> Result<()> {
    let scope = user.scope();
    let hazard_id = match target {
        Target::Hazard(id) => id,
        Target::Extension(id) => rectifications::extension_hazard(db, &scope, id).await?,
    };
    hazards::get(db, &scope, hazard_id).await?;
    if !kind.open_to(user.role()) {
        return Err(Error::Forbidden);
    }
    Ok(())
}

/// Runs a command from REST, the portal or the dashboard in a transaction of
/// its own, at `clock`'s time.
#[tracing::instrument(name = "hazard.command", skip_all, fields(user.id = %by.user.id, target = ?target, kind = ?input.kind(), outcome))]
pub async fn execute(
    db: &Db,
    actor: Actor,
    clock: &dyn Clock,
    by: &User,
    target: Target,
    input: Input,
) -> Result<Done> {
    let mut tx = db.write_at(actor, clock).await?;
    let out = run(&mut tx, by, target, input, Listing::Rest).await;
    tracing::Span::current().record(
        "outcome",
        out.as_ref().map_or_else(|e| e.code().as_str(), |_| "ok"),
    );
    let done = out?;
    tx.commit().await?;
    Ok(done)
}

/// The hazard `id` (row locked) and whether `user` sees it; `not_found` when
/// it doesn't exist or is out of scope.
pub(crate) async fn hazard_in_scope(tx: &WriteTx, user: &User, id: Uuid) -> Result<hazard::Model> {
    let h = hazards::find_for_update(tx, id)
        .await?
        .ok_or(Error::NotFound)?;
    let village = enterprises::find_in(tx, &[h.enterprise_id])
        .await?
        .pop()
        .map(|e| e.village_id)
        .ok_or(Error::NotFound)?;
    if !user
        .scope()
        .sees_enterprise(EnterpriseId(h.enterprise_id), VillageId(village))
    {
        return Err(Error::NotFound);
    }
    Ok(h)
}

/// Runs a command inside `tx`: checks, then writes the hazard (a new
/// version), its history row, and the command's own record.
pub async fn run(
    tx: &mut WriteTx,
    user: &User,
    target: Target,
    input: Input,
    listing: Listing,
) -> Result<Done> {
    let (h, request) = match target {
        Target::Hazard(id) => {
            let h = hazard_in_scope(tx, user, id).await?;
            let pending = rectifications::pending_extension(tx, h.id).await?;
            (h, pending)
        }
        Target::Extension(id) => {
            let x = rectifications::extension_for_update(tx, id)
                .await?
                .ok_or(Error::NotFound)?;
            let h = hazard_in_scope(tx, user, x.hazard_id).await?;
            (h, Some(x))
        }
    };
    if !input.kind().open_to(user.role()) {
        return Err(Error::Forbidden);
    }
    let pending = request
        .as_ref()
        .filter(|x| *x.status == ExtensionStatus::Pending);
    let state = HazardState {
        status: *h.status,
        severity: *h.severity,
        deadline: h.deadline,
        plan: Plan::from_stored(h.plan.as_ref()),
        pending_extension: pending.map(|x| x.requested_deadline),
    };
    // The body's photos are checked with the body: before the state.
    let mut photo_problems = FieldErrors::new();
    if listing == Listing::Rest {
        photo_problems = listing_problems(tx, user, input.photo_ids()).await?;
    }
    if matches!(input, Input::Rectify { .. }) && input.photo_ids().is_empty() {
        photo_problems.add("photo_ids", "required");
    }
    let command = input.command();
    let action = command.action();
    let t = match lifecycle::decide(&state, user.role(), command) {
        Err(Error::Validation(mut f)) => {
            f.merge(photo_problems);
            return Err(Error::Validation(f));
        }
        Err(Error::Forbidden) => return Err(Error::Forbidden),
        Err(e) if photo_problems.is_empty() => return Err(e),
        Err(_) => return Err(Error::Validation(photo_problems)),
        Ok(_) if !photo_problems.is_empty() => return Err(Error::Validation(photo_problems)),
        Ok(t) => t,
    };
    let now = tx.now();
    let mut after = h.clone();
    after.status = t.to.into();
    if t.to == HazardStatus::Closed && t.from != HazardStatus::Closed {
        after.closed_at = Some(now);
    }
    let mut changes = serde_json::Map::new();
    if let Some(d) = t.deadline {
        changes.insert("deadline".into(), json!({ "from": h.deadline, "to": d }));
        after.deadline = d;
    }
    if let Some(p) = &t.plan {
        after.plan = Some(serde_json::to_value(p).map_err(Error::internal)?);
    }
    let hazard = tx.update(&format!("hazard.{action}"), &h, after).await?;
    let event = hazard_event::Model {
        id: Uuid::now_v7(),
        hazard_id: h.id,
        at: now,
        actor_id: Some(user.user.id),
        action: action.to_owned(),
        from_status: Some(t.from.into()),
        to_status: Some(t.to.into()),
        comment: t.comment.clone(),
        photo_ids: json!(input.photo_ids()),
        changes: (!changes.is_empty()).then_some(Value::Object(changes)),
    };
    let event_id = event.id;
    tx.insert_children(&format!("hazard.{action}"), vec![event])
        .await?;
    let requester = pending.map(|x| x.requested_by);
    crate::notices::on_command(tx, (&h, &hazard), event_id, &input, requester).await?;
    let made = match input {
        Input::Rectify { id, photo_ids, .. } => {
            let r = rectification::Model {
                id,
                hazard_id: h.id,
                enterprise_id: h.enterprise_id,
                description: t.comment.clone(),
                photo_ids: json!(photo_ids),
                submitted_by: user.user.id,
                submitted_at: now,
                version: 1,
            };
            let r = tx.insert("rectification.create", r).await?;
            let owner = Owner {
                kind: OwnerKind::Rectification,
                id,
                item: None,
            };
            attach(tx, user, &photo_ids, (owner, h.enterprise_id), listing).await?;
            Made::Rectification(r)
        }
        Input::Review { photo_ids, .. } => {
            let owner = Owner {
                kind: OwnerKind::Review,
                id: event_id,
                item: None,
            };
            attach(tx, user, &photo_ids, (owner, h.enterprise_id), listing).await?;
            Made::Nothing
        }
        Input::RequestExtension { id, until, .. } => {
            let x = extension_request::Model {
                id,
                hazard_id: h.id,
                enterprise_id: h.enterprise_id,
                requested_deadline: until,
                reason: t.comment.clone(),
                status: ExtensionStatus::Pending.into(),
                requested_by: user.user.id,
                requested_at: now,
                decided_by: None,
                decided_at: None,
                comment: None,
                version: 1,
                updated_at: now,
            };
            Made::Extension(tx.insert("extension_request.create", x).await?)
        }
        Input::DecideExtension { approve, .. } => {
            let Some(x) = pending.cloned() else {
                return Err(Error::internal(anyhow::anyhow!(
                    "an extension was decided without a pending request"
                )));
            };
            let after = extension_request::Model {
                status: if approve {
                    ExtensionStatus::Approved
                } else {
                    ExtensionStatus::Denied
                }
                .into(),
                decided_by: Some(user.user.id),
                decided_at: Some(now),
                comment: Some(t.comment.clone()),
                ..x.clone()
            };
            Made::Extension(tx.update("extension_request.decide", &x, after).await?)
        }
        Input::Cancel { .. } | Input::Plan(_) => Made::Nothing,
    };
    Ok(Done { hazard, made })
}

/// The hazard as the caller now sees it, with its history (for the answer of
/// a command).
pub async fn hazard(db: &Db, by: &User, id: Uuid) -> Result<HazardFull> {
    hazards::get(db, &by.scope(), id).await
}
