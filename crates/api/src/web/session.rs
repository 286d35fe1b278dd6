//! Browser sessions of the portal and the dashboard: an HttpOnly,
//! SameSite=Strict cookie naming a login (the same logins the JSON API's
//! tokens name, so logging out or disabling the account ends both), and a
//! CSRF token bound to that login on every form.

use anjian_store::repo::users::User;
use axum::http::{HeaderMap, HeaderValue, header};
use uuid::Uuid;

use crate::state::AppState;

/// The session cookie.
pub const SESSION: &str = "anjian_session";
/// The language chosen with the switch (`zh` or `en`).
pub const LANG: &str = "anjian_lang";
/// The CSRF token of the login form, before there is a session.
pub const LOGIN_CSRF: &str = "anjian_login_csrf";

/// How long a browser session lasts without signing in again.
pub const SESSION_SECS: i64 = 12 * 3600;

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site;
/// `Secure` only when the server is reached over https (offices open the
/// portal as `http://<LAN address>`, where a browser drops a Secure cookie).
/// `max_age` 0 removes the cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let v = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The cookie value of a new session for `login_id`, valid until `expires_at`.
pub fn seal(state: &AppState, login_id: Uuid, expires_at: i64) -> String {
    let mut p = login_id.as_bytes().to_vec();
    p.extend(expires_at.to_be_bytes());
    state.keys.seal("web-session", &p)
}

/// The login a session cookie names, when it is authentic and not expired.
fn open(state: &AppState, value: &str, now: i64) -> Option<Uuid> {
    let p = state.keys.open("web-session", value)?;
    if p.len() != 24 {
        return None;
    }
    let login = Uuid::from_slice(&p[..16]).ok()?;
    let exp = i64::from_be_bytes(p[16..24].try_into().ok()?);
    (exp > now).then_some(login)
}

/// The CSRF token of a session: it names the session's login, signed.
pub fn csrf_token(state: &AppState, login_id: Uuid) -> String {
    state.keys.seal("csrf", login_id.as_bytes())
}

/// Whether `token` is the CSRF token of `login_id`.
pub fn csrf_ok(state: &AppState, login_id: Uuid, token: &str) -> bool {
    state
        .keys
        .open("csrf", token)
        .is_some_and(|p| p == login_id.as_bytes())
}

/// The CSRF token of the login form: signed with the random value of its
/// own cookie, so that another site can't post a login in the user's name.
pub fn login_csrf(state: &AppState, nonce: &str) -> String {
    state.keys.seal("login-csrf", nonce.as_bytes())
}

pub fn login_csrf_ok(state: &AppState, nonce: &str, token: &str) -> bool {
    state
        .keys
        .open("login-csrf", token)
        .is_some_and(|p| p == nonce.as_bytes())
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub login_id: Uuid,
    pub csrf: String,
}

/// Why there is no usable session.
#[derive(Debug)]
pub enum NoSession {
    /// No cookie, a forged or expired one, or a login that ended.
    SignedOut,
    /// The database failed.
    Failed(anjian_domain::Error),
}

/// The session of a request.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<WebSession, NoSession> {
    let now = state.clock.now();
    let login_id = cookie(headers, SESSION)
        .and_then(|v| open(state, &v, now.timestamp()))
        .ok_or(NoSession::SignedOut)?;
    let user = anjian_usecases::access::authenticate((&state.db, state.clock.as_ref()), login_id)
        .await
        .map_err(|e| match e {
            anjian_domain::Error::Unauthenticated => NoSession::SignedOut,
            e => NoSession::Failed(e),
        })?;
    Ok(WebSession {
        csrf: csrf_token(state, login_id),
        user,
        login_id,
    })
}
