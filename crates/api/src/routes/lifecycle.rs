//! The hazard lifecycle over REST (api.md "Inspections and hazards"):
//! rectification, review, cancellation, the governance plan, extension
//! requests and their decision. Each handler checks scope and role first
//! ([`lifecycle::admit`]), then reads its body, then runs the one use case.

use anjian_domain::hazard::CommandKind;
use anjian_domain::hazard::lifecycle::{Decision, Plan};
use anjian_usecases::lifecycle::{self, Done, Input, Made, Target};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::dto::{
    CancelIn, ErrorEnvelope, ExtensionDecision, ExtensionDecisionIn, ExtensionRequestIn,
    ExtensionRequestOut, HazardOut, PlanIn, RectificationIn, RectificationOut, ReviewDecision,
    ReviewIn,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, LaterJson, PathId};
use crate::state::AppState;

/// Admits the caller, reads the body, runs the command.
async fn command<T: DeserializeOwned>(
    state: &AppState,
    auth: &Auth,
    target: Target,
    kind: CommandKind,
    body: &LaterJson<T>,
    input: impl FnOnce(T) -> Input,
) -> ApiResult<Done> {
    lifecycle::admit(&state.db, &auth.user, target, kind).await?;
    let input = input(body.parse()?);
    Ok(lifecycle::execute(
        &state.db,
        auth.actor(),
        state.clock.as_ref(),
        &auth.user,
        target,
        input,
    )
    .await?)
}

/// The hazard as it now is, with its history.
async fn hazard_now(state: &AppState, auth: &Auth, id: Uuid) -> ApiResult<Json<HazardOut>> {
    let h = lifecycle::hazard(&state.db, &auth.user, id).await?;
    Ok(Json(HazardOut::new(
        h,
        &state.settings.policy,
        state.clock.now(),
    )))
}

fn unexpected(what: &str) -> ApiError {
    ApiError::internal(anyhow::anyhow!("the command made no {what}"))
}

/// The enterprise reports its hazard rectified, with after-photos (declared
/// and uploaded first); an inspector in scope may record one seen on site.
/// The hazard becomes `submitted`.
#[utoipa::path(post, path = "/hazards/{id}/rectifications", tag = "inspections",
    params(("id" = Uuid, Path)), request_body = RectificationIn,
    responses((status = 201, body = RectificationOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition` (the hazard is not open) or `conflict` (a photo listed by another record)"),
        (status = 422, body = ErrorEnvelope, description = "`details.fields.photo_ids`: unknown, not visible or not yet verified photos")))]
pub async fn rectify(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    body: LaterJson<RectificationIn>,
) -> ApiResult<(StatusCode, Json<RectificationOut>)> {
    let done = command(
        &state,
        &auth,
        Target::Hazard(id),
        CommandKind::SubmitRectification,
        &body,
        |b| Input::Rectify {
            id: Uuid::now_v7(),
            description: b.description.into(),
            photo_ids: b.photo_ids.into_vec(),
        },
    )
    .await?;
    match done.made {
        Made::Rectification(r) => Ok((StatusCode::CREATED, Json(r.into()))),
        _ => Err(unexpected("rectification")),
    }
}

/// Reviews the submitted rectification (复查): `accept` closes the hazard
/// (a major one only by the office, with its plan complete), `reject` sends
/// it back to `open` and needs a comment.
#[utoipa::path(post, path = "/hazards/{id}/review", tag = "inspections",
    params(("id" = Uuid, Path)), request_body = ReviewIn,
    responses((status = 200, body = HazardOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`; `details.missing: \"plan\"` for a major hazard without a complete plan"),
        (status = 422, body = ErrorEnvelope)))]
pub async fn review(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    body: LaterJson<ReviewIn>,
) -> ApiResult<Json<HazardOut>> {
    command(
        &state,
        &auth,
        Target::Hazard(id),
        CommandKind::Review,
        &body,
        |b| Input::Review {
            decision: match b.decision {
                ReviewDecision::Accept => Decision::Accept,
                ReviewDecision::Reject => Decision::Reject,
            },
            comment: b.comment.into(),
            photo_ids: b.photo_ids.into_vec(),
        },
    )
    .await?;
    hazard_now(&state, &auth, id).await
}

/// Withdraws an open or submitted hazard, saying why (office, admin).
#[utoipa::path(post, path = "/hazards/{id}/cancel", tag = "inspections",
    params(("id" = Uuid, Path)), request_body = CancelIn,
    responses((status = 200, body = HazardOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    body: LaterJson<CancelIn>,
) -> ApiResult<Json<HazardOut>> {
    command(
        &state,
        &auth,
        Target::Hazard(id),
        CommandKind::Cancel,
        &body,
        |b| Input::Cancel {
            reason: b.reason.into(),
        },
    )
    .await?;
    hazard_now(&state, &auth, id).await
}

/// Writes the governance plan of a hazard (the enterprise its own; office,
/// admin); a major hazard is closed only with all six parts written.
#[utoipa::path(put, path = "/hazards/{id}/plan", tag = "inspections",
    params(("id" = Uuid, Path)), request_body = PlanIn,
    responses((status = 200, body = HazardOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "the hazard is closed or cancelled"),
        (status = 422, body = ErrorEnvelope)))]
pub async fn plan(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    body: LaterJson<PlanIn>,
) -> ApiResult<Json<HazardOut>> {
    command(
        &state,
        &auth,
        Target::Hazard(id),
        CommandKind::SetPlan,
        &body,
        |b| {
            Input::Plan(Plan {
                objectives: b.objectives.into(),
                measures: b.measures.into(),
                funding: b.funding.into(),
                organisation: b.organisation.into(),
                timeline: b.timeline.into(),
                safety_measures: b.safety_measures.into(),
            })
        },
    )
    .await?;
    hazard_now(&state, &auth, id).await
}

/// The enterprise asks for a later deadline: while the hazard is open or
/// submitted, one pending request at a time (409 `conflict`), for a date
/// after the current deadline (422).
#[utoipa::path(post, path = "/hazards/{id}/extension-requests", tag = "inspections",
    params(("id" = Uuid, Path)), request_body = ExtensionRequestIn,
    responses((status = 201, body = ExtensionRequestOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "`conflict`: a request is pending; `invalid_transition`: the hazard is closed or cancelled"),
        (status = 422, body = ErrorEnvelope)))]
pub async fn request_extension(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    body: LaterJson<ExtensionRequestIn>,
) -> ApiResult<(StatusCode, Json<ExtensionRequestOut>)> {
    let done = command(
        &state,
        &auth,
        Target::Hazard(id),
        CommandKind::RequestExtension,
        &body,
        |b| Input::RequestExtension {
            id: Uuid::now_v7(),
            until: b.requested_deadline,
            reason: b.reason.into(),
        },
    )
    .await?;
    match done.made {
        Made::Extension(x) => Ok((StatusCode::CREATED, Json(x.into()))),
        _ => Err(unexpected("extension request")),
    }
}

/// The office approves (the deadline moves to the requested date) or denies
/// a pending extension request.
#[utoipa::path(post, path = "/extension-requests/{id}/decision", tag = "inspections",
    params(("id" = Uuid, Path)), request_body = ExtensionDecisionIn,
    responses((status = 200, body = ExtensionRequestOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "the request is already decided, or the hazard closed"),
        (status = 422, body = ErrorEnvelope)))]
pub async fn decide_extension(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    body: LaterJson<ExtensionDecisionIn>,
) -> ApiResult<Json<ExtensionRequestOut>> {
    let done = command(
        &state,
        &auth,
        Target::Extension(id),
        CommandKind::DecideExtension,
        &body,
        |b| Input::DecideExtension {
            approve: matches!(b.decision, ExtensionDecision::Approve),
            comment: b.comment.into(),
        },
    )
    .await?;
    match done.made {
        Made::Extension(x) => Ok(Json(x.into())),
        _ => Err(unexpected("decision")),
    }
}
