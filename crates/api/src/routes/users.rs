//! User administration (admin).

use super::{PageQuery, page_out};
use crate::dto::{
    ErrorEnvelope, InitialPasswordOut, Page, ProvisionOut, ProvisionedOut, UserIn, UserOut,
    UserPatchIn,
};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Auth, IfMatch, PathId};
use crate::state::AppState;
use anjian_domain::Capability;
use anjian_store::repo::users::{NewUser, UserPatch};
use anjian_usecases::access;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

/// All users (admin).
#[utoipa::path(get, path = "/users", tag = "users", params(PageQuery),
    responses((status = 200, body = Page<UserOut>), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<UserOut>>> {
    auth.require(Capability::ManageUsers)?;
    let page = q.page(&state)?;
    let rows = access::list_users(&state.db, &auth.user, &page).await?;
    Ok(Json(page_out(&state, rows, UserOut::from)))
}

/// One user (admin).
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<UserOut>> {
    auth.require(Capability::ManageUsers)?;
    Ok(Json(
        access::get_user(&state.db, &auth.user, id).await?.into(),
    ))
}

/// Creates a user (admin). Usernames are unique (409).
#[utoipa::path(post, path = "/users", tag = "users", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<UserIn>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    auth.require(Capability::ManageUsers)?;
    let n = NewUser {
        username: b.username.into(),
        display_name: b.display_name.into(),
        role: b.role.into(),
        enterprise_id: b.enterprise_id,
        village_ids: b.village_ids.into(),
        password: b.password.into(),
        email: b.email.map(Into::into).unwrap_or_default(),
        phone: b.phone.map(Into::into).unwrap_or_default(),
        must_change_password: b.must_change_password,
    };
    let u = access::create_user(&state.db, auth.actor(), &auth.user, &n).await?;
    Ok((StatusCode::CREATED, Json(u.into())))
}

/// Changes a user (admin). Disabling a user or setting its password revokes its logins at once.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", request_body = UserPatchIn,
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#, description = "the version the change is based on")),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    IfMatch(if_match): IfMatch,
    ApiJson(b): ApiJson<UserPatchIn>,
) -> ApiResult<Json<UserOut>> {
    auth.require(Capability::ManageUsers)?;
    let p = UserPatch {
        display_name: b.display_name.map(Into::into),
        role: b.role.map(Into::into),
        enterprise_id: b.enterprise_id,
        village_ids: b.village_ids.map(Into::into),
        disabled: b.disabled,
        password: b.password.map(Into::into),
        email: b.email.map(|e| e.map(Into::into).unwrap_or_default()),
        phone: b.phone.map(|p| p.map(Into::into).unwrap_or_default()),
        must_change_password: b.must_change_password,
    };
    Ok(Json(
        access::patch_user(&state.db, auth.actor(), &auth.user, (id, if_match), &p)
            .await?
            .into(),
    ))
}

/// Gives the user a new one-time password (admin; the office for enterprise
/// accounts): its logins end, and it must choose its own at the next login.
#[utoipa::path(post, path = "/users/{id}/reset-password", tag = "users", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = InitialPasswordOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn reset_password(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<InitialPasswordOut>> {
    let initial_password = access::reset_password(&state.db, auth.actor(), &auth.user, id).await?;
    Ok(Json(InitialPasswordOut { initial_password }))
}

/// Gives every roster enterprise without an account one (admin): username
/// its credit code, a one-time initial password to hand over, changed at the
/// first login. (`anjian users provision-enterprises --xlsx FILE` does the
/// same and writes the list for distribution.)
#[utoipa::path(post, path = "/users/provision-enterprises", tag = "users",
    responses((status = 200, body = ProvisionOut), (status = 403, body = ErrorEnvelope)))]
pub async fn provision_enterprises(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<ProvisionOut>> {
    let p = access::provision_enterprises(&state.db, auth.actor(), &auth.user).await?;
    Ok(Json(ProvisionOut {
        created: p
            .created
            .into_iter()
            .map(|c| ProvisionedOut {
                enterprise_id: c.enterprise.id,
                username: c.username,
                initial_password: c.initial_password,
            })
            .collect(),
        skipped: p.skipped,
    }))
}
