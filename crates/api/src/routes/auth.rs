//! Login, refresh, logout, `/me`.

use std::net::SocketAddr;

use anjian_usecases::access::{self, Session};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};

use crate::context;
use crate::dto::{ErrorEnvelope, LoginIn, MeOut, PasswordChangeIn, RefreshIn, TokenOut};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Auth};
use crate::state::AppState;

fn tokens(state: &AppState, s: &Session) -> TokenOut {
    let ttl = state.settings.access_ttl_secs;
    let exp = chrono::Utc::now().timestamp() + ttl;
    TokenOut {
        access_token: state.keys.access_token(s.login_id, exp),
        token_type: "Bearer".into(),
        expires_in: ttl,
        refresh_token: s.refresh_token.clone(),
        user: MeOut::from(&s.user),
    }
}

/// Signs in. Unknown user and wrong password get the same 401; repeated failures 429.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = TokenOut), (status = 401, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope, headers(("Retry-After" = u64)))))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginIn>,
) -> ApiResult<Json<TokenOut>> {
    let rid = Some(context::current().request_id);
    let client = state.settings.trusted_proxies.client(addr.ip(), &headers);
    let s = access::login(
        (&state.db, state.clock.as_ref()),
        (&b.username, &b.password),
        b.device_id,
        &client.to_string(),
        rid,
    )
    .await?;
    Ok(Json(tokens(&state, &s)))
}

/// Exchanges a refresh token for a new pair. The old refresh token stops working;
/// presenting it again revokes the whole login.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses((status = 200, body = TokenOut), (status = 401, body = ErrorEnvelope)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(b): ApiJson<RefreshIn>,
) -> ApiResult<Json<TokenOut>> {
    let rid = Some(context::current().request_id);
    let s = access::refresh(
        (&state.db, state.clock.as_ref()),
        b.refresh_token.as_str(),
        rid,
    )
    .await?;
    Ok(Json(tokens(&state, &s)))
}

/// Ends the current login (its access and refresh tokens stop working).
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorEnvelope)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    access::logout(&state.db, auth.actor(), auth.login_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = MeOut), (status = 401, body = ErrorEnvelope)))]
pub async fn me(auth: Auth) -> Json<MeOut> {
    Json(MeOut::from(&auth.user))
}

/// Changes the signed-in user's password, proving the current one (a wrong
/// one counts as a failed login attempt); every other login of the user ends.
#[utoipa::path(post, path = "/me/password", tag = "auth", request_body = PasswordChangeIn,
    responses((status = 204), (status = 401, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "`current_password` incorrect, or `new_password` refused by the password rules"),
        (status = 429, body = ErrorEnvelope, headers(("Retry-After" = u64)))))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<PasswordChangeIn>,
) -> ApiResult<StatusCode> {
    access::change_own_password(
        (&state.db, state.clock.as_ref()),
        (&auth.user, auth.login_id),
        &b.current_password,
        &b.new_password,
        Some(context::current().request_id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
