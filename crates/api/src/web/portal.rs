//! The enterprise portal (企业端): sign in (username, or the credit code of
//! an enterprise with one enabled account), change the initial password, the
//! enterprise's hazards by status with the deadline countdown, a hazard's
//! page, and the forms that submit a rectification with after-photos, ask
//! for an extension and write a major hazard's plan.
//!
//! A form that fails is shown again with what was typed and the photos
//! already uploaded (kept as verified photos of the user, listed again on
//! the next submit), so nothing is lost.

use std::collections::HashMap;
use std::net::SocketAddr;

use anjian_domain::hazard::lifecycle::{PLAN_PARTS, Plan};
use anjian_domain::hazard::{HazardStatus, Severity};
use anjian_domain::photo::PhotoStatus;
use anjian_domain::{Error, ErrorCode, Role};
use anjian_usecases::lifecycle::{self, Input, Target};
use anjian_usecases::records::{self, HazardFilter};
use axum::extract::{ConnectInfo, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::session::{self, NoSession, WebSession};
use super::{Frame, i18n, lang, see_other};
use crate::context::{self, Lang};
use crate::state::AppState;

const HOME: &str = "/portal/hazards";

/// The two sets of pages, each for its own roles, with its own sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    /// `/portal`: enterprise accounts.
    Portal,
    /// `/office`: the office and admins.
    Office,
}

impl Realm {
    /// The realm a page's path belongs to.
    pub fn of(path: &str) -> Realm {
        if path.starts_with("/office") {
            Realm::Office
        } else {
            Realm::Portal
        }
    }

    pub fn root(self) -> &'static str {
        match self {
            Realm::Portal => "/portal",
            Realm::Office => "/office",
        }
    }

    /// Where a signed-in user of the realm starts.
    pub fn home(self) -> &'static str {
        match self {
            Realm::Portal => HOME,
            Realm::Office => "/office",
        }
    }

    pub fn allows(self, role: Role) -> bool {
        match self {
            Realm::Portal => role == Role::Enterprise,
            Realm::Office => role.is_staff(),
        }
    }

    /// What someone of another role is told.
    fn refusal(self) -> &'static str {
        match self {
            Realm::Portal => "portal_only",
            Realm::Office => "office_only",
        }
    }
}

/// The signed-in enterprise user of a page, or where the browser goes instead.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> Result<WebSession, Response> {
    let l = lang(headers);
    let realm = Realm::of(path);
    let password = format!("{}/password", realm.root());
    match session::current(state, headers).await {
        Ok(s) if !realm.allows(s.user.role()) => Err(Frame {
            lang: l,
            path,
            session: Some(&s),
            flash: None,
            errors: Vec::new(),
        }
        .message(
            StatusCode::FORBIDDEN,
            i18n::word(l, "error"),
            i18n::word(l, realm.refusal()),
            Some(("/", i18n::word(l, "app_name"))),
        )),
        Ok(s) if s.user.user.must_change_password && path != password => Err(see_other(&password)),
        Ok(s) => Ok(s),
        Err(NoSession::SignedOut) => {
            let had = session::cookie(headers, session::SESSION).is_some();
            let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
            let expired = if had { "&expired=1" } else { "" };
            Err(see_other(&format!(
                "{}/login?next={next}{expired}",
                realm.root()
            )))
        }
        Err(NoSession::Failed(e)) => Err(failure(state, headers, path, e)),
    }
}

/// The signed-in user of a record's page and the record's id, or the answer
/// instead (sign in, refusal, or not found for an id that is no id).
pub(super) async fn record_page(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    id: &str,
) -> Result<(WebSession, Uuid), Response> {
    let s = signed_in(state, headers, path).await?;
    match id.parse::<Uuid>() {
        Ok(id) => Ok((s, id)),
        Err(_) => Err(failure(state, headers, path, Error::NotFound)),
    }
}

/// The page of an error no form can fix (404, 403, 500).
pub(super) fn failure(_state: &AppState, headers: &HeaderMap, path: &str, e: Error) -> Response {
    let l = lang(headers);
    let frame = Frame {
        lang: l,
        path,
        session: None,
        flash: None,
        errors: Vec::new(),
    };
    let back = Some((Realm::of(path).home(), i18n::word(l, "back")));
    match e {
        Error::NotFound => frame.message(
            StatusCode::NOT_FOUND,
            i18n::word(l, "error"),
            i18n::word(l, "not_found"),
            back,
        ),
        Error::Internal(cause) => {
            let id = context::current().request_id;
            tracing::error!(request_id = %id, error = ?cause, "a portal page failed");
            frame.message(
                StatusCode::INTERNAL_SERVER_ERROR,
                i18n::word(l, "error"),
                &i18n::word(l, "internal_error").replace("{id}", &id),
                back,
            )
        }
        e => {
            let code = e.code();
            let status = status_of(&e);
            frame.message(
                status,
                i18n::word(l, "error"),
                crate::error::message(code, l),
                back,
            )
        }
    }
}

/// The status of a page that answers `e`, as the API would.
pub(super) fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Unauthenticated => StatusCode::UNAUTHORIZED,
        Error::Forbidden | Error::PasswordChangeRequired => StatusCode::FORBIDDEN,
        Error::Conflict(_) | Error::VersionMismatch { .. } | Error::InvalidTransition { .. } => {
            StatusCode::CONFLICT
        }
        Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Messages for the errors a form can fix: each field's reason, or what the
/// state of the hazard refuses.
pub(super) fn form_errors(l: Lang, e: &Error) -> Vec<String> {
    match e {
        Error::Validation(f) => {
            f.0.iter()
                .flat_map(|(field, reasons)| reasons.iter().map(move |r| i18n::reason(l, field, r)))
                .collect()
        }
        e => vec![crate::error::message(e.code(), l).to_owned()],
    }
}

/// A flash message named by `?done=` (only these).
pub(super) fn flash(l: Lang, done: Option<&str>) -> Option<String> {
    let key = done?;
    [
        "submitted_ok",
        "extension_sent",
        "plan_saved",
        "password_changed",
        "reviewed",
        "decided",
    ]
    .contains(&key)
    .then(|| i18n::word(l, key).to_owned())
}

pub(super) fn csrf_ok(state: &AppState, s: &WebSession, token: &str) -> bool {
    session::csrf_ok(state, s.login_id, token)
}

pub(super) fn csrf_refused(headers: &HeaderMap, path: &str, s: &WebSession) -> Response {
    let l = lang(headers);
    Frame {
        lang: l,
        path,
        session: Some(s),
        flash: None,
        errors: Vec::new(),
    }
    .message(
        StatusCode::FORBIDDEN,
        i18n::word(l, "error"),
        i18n::word(l, "csrf_failed"),
        Some((path, i18n::word(l, "back"))),
    )
}

pub async fn home() -> Response {
    see_other(HOME)
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Where to go after signing in: a page of the realm named by `next`, else its home.
fn after_login(realm: Realm, next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with(&format!("{}/", realm.root())) && !n.starts_with("//") && !n.contains('\\')
    })
    .unwrap_or(realm.home())
    .to_owned()
}

fn login_form(
    (state, realm): (&AppState, Realm),
    headers: &HeaderMap,
    (status, errors, flash): (StatusCode, Vec<String>, Option<String>),
    (username, next): (&str, Option<&str>),
) -> Response {
    let nonce = anjian_store::password::random(24);
    let l = lang(headers);
    let action_next =
        next.map(|n| form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>());
    let path = format!("{}/login", realm.root());
    let mut resp = Frame {
        lang: l,
        path: &path,
        session: None,
        flash,
        errors,
    }
    .render(
        status,
        "login.html",
        json!({
            "csrf": session::login_csrf(state, &nonce),
            "username": username,
            "next": action_next,
            "action": path,
            "realm_name": i18n::word(l, if realm == Realm::Office { "office" } else { "portal" }),
        }),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(state, session::LOGIN_CSRF, &nonce, 3600),
    );
    resp
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<LoginQuery>,
) -> Response {
    let realm = Realm::of(uri.path());
    if let Ok(s) = session::current(&state, &headers).await
        && realm.allows(s.user.role())
    {
        return see_other(&after_login(realm, q.next.as_deref()));
    }
    let l = lang(&headers);
    let flash = q
        .expired
        .is_some()
        .then(|| i18n::word(l, "session_expired").to_owned());
    login_form(
        (&state, realm),
        &headers,
        (StatusCode::OK, Vec::new(), flash),
        ("", q.next.as_deref()),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Form(f): Form<LoginForm>,
) -> Response {
    let l = lang(&headers);
    let realm = Realm::of(uri.path());
    let login_path = format!("{}/login", realm.root());
    let again = |status, key: &str| {
        login_form(
            (&state, realm),
            &headers,
            (status, vec![i18n::word(l, key).to_owned()], None),
            (&f.username, f.next.as_deref()),
        )
    };
    let nonce = session::cookie(&headers, session::LOGIN_CSRF).unwrap_or_default();
    if nonce.is_empty() || !session::login_csrf_ok(&state, &nonce, &f.csrf) {
        return again(StatusCode::FORBIDDEN, "csrf_failed");
    }
    let client = state.settings.trusted_proxies.client(addr.ip(), &headers);
    let signed = anjian_usecases::access::login(
        (&state.db, state.clock.as_ref()),
        (&f.username, &f.password),
        None,
        &client.to_string(),
        Some(context::current().request_id),
    )
    .await;
    let s = match signed {
        Ok(s) => s,
        Err(Error::Unauthenticated) => return again(StatusCode::UNAUTHORIZED, "login_failed"),
        Err(Error::RateLimited { .. }) => {
            return again(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        }
        Err(e) => return failure(&state, &headers, &login_path, e),
    };
    if !realm.allows(s.user.role()) {
        // Each realm is its roles'; this login ends at once.
        let actor = anjian_store::Actor::user(s.user.user.id, Some(context::current().request_id));
        if let Err(e) = anjian_usecases::access::logout(&state.db, actor, s.login_id).await {
            return failure(&state, &headers, &login_path, e);
        }
        return again(StatusCode::FORBIDDEN, realm.refusal());
    }
    let to = if s.user.user.must_change_password {
        format!("{}/password", realm.root())
    } else {
        after_login(realm, f.next.as_deref())
    };
    let expires = state.clock.now().timestamp() + session::SESSION_SECS;
    let mut resp = see_other(&to);
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(
            &state,
            session::SESSION,
            &session::seal(&state, s.login_id, expires),
            session::SESSION_SECS,
        ),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(&state, session::LOGIN_CSRF, "", 0),
    );
    resp
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Form(f): Form<CsrfForm>,
) -> Response {
    let realm = Realm::of(uri.path());
    let login_path = format!("{}/login", realm.root());
    let s = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(_) => return see_other(&login_path),
    };
    if !csrf_ok(&state, &s, &f.csrf) {
        return csrf_refused(&headers, realm.home(), &s);
    }
    let actor = anjian_store::Actor::user(s.user.user.id, Some(context::current().request_id));
    if let Err(e) = anjian_usecases::access::logout(&state.db, actor, s.login_id).await {
        return failure(&state, &headers, realm.home(), e);
    }
    let mut resp = see_other(&login_path);
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&state, session::SESSION, "", 0),
    );
    resp
}

fn password_form(
    (headers, path): (&HeaderMap, &str),
    s: &WebSession,
    status: StatusCode,
    errors: Vec<String>,
) -> Response {
    Frame {
        lang: lang(headers),
        path,
        session: Some(s),
        flash: None,
        errors,
    }
    .render(
        status,
        "password.html",
        json!({ "must_change": s.user.user.must_change_password, "action": path }),
    )
}

pub async fn password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    match signed_in(&state, &headers, uri.path()).await {
        Ok(s) => password_form((&headers, uri.path()), &s, StatusCode::OK, Vec::new()),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Form(f): Form<PasswordForm>,
) -> Response {
    let path = uri.path();
    let realm = Realm::of(path);
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&state, &s, &f.csrf) {
        return csrf_refused(&headers, path, &s);
    }
    let l = lang(&headers);
    if f.new_password != f.confirm_password {
        let e = vec![i18n::word(l, "password_mismatch").to_owned()];
        return password_form((&headers, path), &s, StatusCode::UNPROCESSABLE_ENTITY, e);
    }
    let r = anjian_usecases::access::change_own_password(
        (&state.db, state.clock.as_ref()),
        (&s.user, s.login_id),
        &f.current_password,
        &f.new_password,
        Some(context::current().request_id),
    )
    .await;
    match r {
        Ok(()) => see_other(&format!("{}?done=password_changed", realm.home())),
        Err(e @ (Error::Validation(_) | Error::RateLimited { .. })) => {
            password_form((&headers, path), &s, status_of(&e), form_errors(l, &e))
        }
        Err(e) => failure(&state, &headers, path, e),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    done: Option<String>,
}

/// Today in the office time zone.
fn today(state: &AppState) -> NaiveDate {
    state.settings.policy.office_date(state.clock.now())
}

/// The countdown of an open hazard: its words and colour.
fn due(
    l: Lang,
    status: HazardStatus,
    deadline: NaiveDate,
    today: NaiveDate,
) -> (String, &'static str) {
    if status != HazardStatus::Open {
        return (String::new(), "grey");
    }
    let days = (deadline - today).num_days();
    let n = days.unsigned_abs().to_string();
    match days {
        d if d < 0 => (i18n::word(l, "days_overdue").replace("{n}", &n), "red"),
        0 => (i18n::word(l, "due_today").to_owned(), "amber"),
        d if d <= 3 => (i18n::word(l, "days_left").replace("{n}", &n), "amber"),
        _ => (i18n::word(l, "days_left").replace("{n}", &n), "grey"),
    }
}

pub(super) fn status_view(l: Lang, s: HazardStatus) -> (&'static str, &'static str) {
    let colour = match s {
        HazardStatus::Open => "amber",
        HazardStatus::Submitted => "grey",
        HazardStatus::Closed => "green",
        HazardStatus::Cancelled => "grey",
    };
    (i18n::word(l, &format!("status_{}", s.as_str())), colour)
}

pub async fn hazards(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let s = match signed_in(&state, &headers, HOME).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = lang(&headers);
    let policy = state.settings.policy;
    let all: Vec<_> = match records::all_hazards(
        &state.db,
        &s.user,
        &HazardFilter::default(),
        (&policy, state.clock.now()),
    )
    .await
    {
        Ok(a) => a.into_iter().map(|f| f.hazard).collect(),
        Err(e) => return failure(&state, &headers, HOME, e),
    };
    let tab = ["open", "submitted", "closed", "all"]
        .into_iter()
        .find(|t| q.status.as_deref() == Some(*t))
        .unwrap_or("open");
    let count = |st: Option<HazardStatus>| {
        all.iter()
            .filter(|h| st.is_none_or(|st| *h.status == st))
            .count()
    };
    let tabs = json!([
        {"key": "open", "label": i18n::word(l, "tab_open"), "count": count(Some(HazardStatus::Open)), "on": tab == "open"},
        {"key": "submitted", "label": i18n::word(l, "tab_submitted"), "count": count(Some(HazardStatus::Submitted)), "on": tab == "submitted"},
        {"key": "closed", "label": i18n::word(l, "tab_closed"), "count": count(Some(HazardStatus::Closed)), "on": tab == "closed"},
        {"key": "all", "label": i18n::word(l, "tab_all"), "count": count(None), "on": tab == "all"},
    ]);
    let today = today(&state);
    let tz = state.settings.policy.tz;
    let mut shown: Vec<_> = all
        .into_iter()
        .filter(|h| tab == "all" || h.status.as_str() == tab)
        .collect();
    // What is due first comes first; closed ones newest first.
    shown.sort_by(|a, b| match (*a.status, *b.status) {
        (HazardStatus::Closed, HazardStatus::Closed) => b.closed_at.cmp(&a.closed_at),
        _ => a.deadline.cmp(&b.deadline),
    });
    let items: Vec<Value> = shown
        .iter()
        .map(|h| {
            let (due, due_colour) = due(l, *h.status, h.deadline, today);
            let (label, colour) = status_view(l, *h.status);
            json!({
                "id": h.id, "title": h.title, "category": h.category,
                "major": *h.severity == Severity::Major,
                "status_label": label, "status_colour": colour,
                "due": due, "due_colour": due_colour,
                "found_on": h.found_at.with_timezone(&tz).date_naive().to_string(),
                "deadline": h.deadline.to_string(),
            })
        })
        .collect();
    Frame {
        lang: l,
        path: HOME,
        session: Some(&s),
        flash: flash(l, q.done.as_deref()),
        errors: Vec::new(),
    }
    .render(
        StatusCode::OK,
        "hazards.html",
        json!({ "tabs": tabs, "hazards": items }),
    )
}

/// What a failed form brings back to the hazard's page.
#[derive(Debug, Default)]
pub(super) struct Typed {
    description: String,
    requested_deadline: String,
    reason: String,
    plan: Option<Plan>,
    /// Photos uploaded by the failed submit, listed again by the next.
    kept: Vec<Uuid>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

pub async fn hazard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let path = format!("/portal/hazards/{id}");
    let (s, id) = match record_page(&state, &headers, &path, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let l = lang(&headers);
    hazard_view(
        &state,
        &headers,
        (&s, Realm::Portal),
        id,
        (StatusCode::OK, flash(l, q.done.as_deref()), Vec::new()),
        &Typed::default(),
    )
    .await
}

/// A hazard's page, with a form's message and what was typed into it. In
/// the portal it carries the enterprise's forms; in the office it is read
/// only, leading back to the enterprise's file (and to the review queue
/// while a rectification waits).
pub(super) async fn hazard_view(
    state: &AppState,
    headers: &HeaderMap,
    (s, realm): (&WebSession, Realm),
    id: Uuid,
    (status, flash, errors): (StatusCode, Option<String>, Vec<String>),
    typed: &Typed,
) -> Response {
    let path = format!("{}/hazards/{id}", realm.root());
    let l = lang(headers);
    let page = match records::hazard_page(&state.db, &s.user, id).await {
        Ok(p) => p,
        Err(e) => return failure(state, headers, &path, e),
    };
    let h = &page.hazard.hazard;
    let tz = state.settings.policy.tz;
    let today = today(state);
    let photo = |pid: &Uuid| json!({"id": pid, "ready": page.photos.get(pid) == Some(&PhotoStatus::Processed)});
    let list = |v: &Value| -> Vec<Value> { records::ids_of(v).iter().map(photo).collect() };
    let (due, due_colour) = due(l, *h.status, h.deadline, today);
    let (label, colour) = status_view(l, *h.status);
    let history: Vec<Value> = page
        .hazard
        .history
        .iter()
        .map(|e| {
            json!({
                "label": i18n::word(l, &format!("act_{}", e.action)),
                "at": e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                "comment": e.comment,
                "photos": list(&e.photo_ids),
            })
        })
        .collect();
    let open = *h.status == HazardStatus::Open;
    let live = !h.status.is_final();
    let portal = realm == Realm::Portal;
    let stored_plan = Plan::from_stored(h.plan.as_ref());
    let plan = typed
        .plan
        .clone()
        .or(stored_plan.clone())
        .unwrap_or_default();
    let parts: Vec<Value> = PLAN_PARTS
        .iter()
        .zip(plan.parts())
        .map(|(k, v)| json!({"key": k, "label": i18n::word(l, &format!("plan_{k}")), "value": v}))
        .collect();
    let pending = page.pending_extension.as_ref().map(|x| {
        i18n::word(l, "extension_pending").replace("{date}", &x.requested_deadline.to_string())
    });
    let kept: Vec<Value> = typed
        .kept
        .iter()
        .map(|pid| json!({"id": pid, "ready": false}))
        .collect();
    Frame {
        lang: l,
        path: &path,
        session: Some(s),
        flash,
        errors,
    }
    .render(
        status,
        "hazard.html",
        json!({
            "h": {
                "id": h.id, "title": h.title, "description": h.description,
                "category": h.category, "measures": h.measures,
                "responsible_person": h.responsible_person,
                "legal_basis": page.legal_basis,
                "major": *h.severity == Severity::Major,
                "status_label": label, "status_colour": colour,
                "due": due, "due_colour": due_colour,
                "found_at": h.found_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                "deadline": h.deadline.to_string(),
                "deadline_next": h.deadline.succ_opt().map(|d| d.to_string()),
                "photos": list(&h.photo_ids),
            },
            "history": history,
            "root": realm.root(),
            "back": match realm {
                Realm::Portal => HOME.to_owned(),
                Realm::Office => format!("/office/enterprises/{}", h.enterprise_id),
            },
            "office": realm == Realm::Office,
            "awaiting_review": *h.status == HazardStatus::Submitted,
            "can_rectify": portal && open,
            "can_extend": portal && live && page.pending_extension.is_none(),
            "can_plan": portal && live && *h.severity == Severity::Major,
            "plan": parts,
            "plan_complete": stored_plan.as_ref().is_some_and(Plan::is_complete),
            "pending_extension": pending,
            "kept": kept,
            "form": {
                "description": typed.description,
                "requested_deadline": typed.requested_deadline,
                "reason": typed.reason,
            },
        }),
    )
}

/// Runs a command from one of the hazard page's forms: on success back to the
/// page with `done`; on a refusal the page again, with what was typed.
async fn command(
    state: &AppState,
    headers: &HeaderMap,
    s: &WebSession,
    (id, input): (Uuid, Input),
    (done, typed): (&str, &Typed),
) -> Response {
    let l = lang(headers);
    let actor = anjian_store::Actor::user(s.user.user.id, Some(context::current().request_id));
    let r = lifecycle::execute(
        &state.db,
        actor,
        state.clock.as_ref(),
        &s.user,
        Target::Hazard(id),
        input,
    )
    .await;
    match r {
        Ok(_) => see_other(&format!("/portal/hazards/{id}?done={done}")),
        Err(e @ (Error::NotFound | Error::Forbidden | Error::Internal(_))) => {
            failure(state, headers, &format!("/portal/hazards/{id}"), e)
        }
        Err(e) => {
            let status = status_of(&e);
            hazard_view(
                state,
                headers,
                (s, Realm::Portal),
                id,
                (status, None, form_errors(l, &e)),
                typed,
            )
            .await
        }
    }
}

/// The signed-in user and the hazard id of a form's path, with its CSRF token checked.
async fn form_session(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    csrf: &str,
) -> Result<(WebSession, Uuid), Response> {
    let path = format!("/portal/hazards/{id}");
    let s = signed_in(state, headers, &path).await?;
    if !csrf_ok(state, &s, csrf) {
        return Err(csrf_refused(headers, &path, &s));
    }
    let id = id
        .parse::<Uuid>()
        .map_err(|_| failure(state, headers, &path, Error::NotFound))?;
    Ok((s, id))
}

/// A rectification with its after-photos (multipart): the CSRF token comes
/// first, then the description, photos kept from a failed submit, and files.
/// Each file goes through the same photo path as a phone's upload (declared,
/// stored, verified), then the rectification lists them all.
pub async fn rectify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let l = lang(&headers);
    let mut typed = Typed::default();
    let mut csrf = String::new();
    let mut checked: Option<(WebSession, Uuid)> = None;
    let mut errors = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let status = e.status();
                if checked.is_none() {
                    return failure(&state, &headers, HOME, Error::BadRequest("form".into()));
                }
                errors.push(if status == StatusCode::PAYLOAD_TOO_LARGE {
                    i18n::reason(l, "photos", "image_too_large")
                } else {
                    crate::error::message(ErrorCode::InvalidRequest, l).to_owned()
                });
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "csrf" {
            csrf = field.text().await.unwrap_or_default();
            continue;
        }
        // Nothing is read past the token before it is checked.
        if checked.is_none() {
            match form_session(&state, &headers, &id, &csrf).await {
                Ok(c) => checked = Some(c),
                Err(r) => return r,
            }
        }
        let Some((s, _)) = checked.as_ref() else {
            break;
        };
        match name.as_str() {
            "description" => typed.description = field.text().await.unwrap_or_default(),
            "photo_id" => {
                if let Ok(pid) = field.text().await.unwrap_or_default().trim().parse() {
                    typed.kept.push(pid);
                }
            }
            "photos" => {
                let bytes = match field.bytes().await {
                    Ok(b) => b,
                    Err(_) => {
                        errors.push(i18n::reason(l, "photos", "image_too_large"));
                        continue;
                    }
                };
                if bytes.is_empty() {
                    continue;
                }
                match ingest(&state, s, bytes).await {
                    Ok(pid) => typed.kept.push(pid),
                    Err(reason) => errors.push(i18n::reason(l, "photos", reason)),
                }
            }
            _ => {}
        }
    }
    let (s, id) = match checked {
        Some(c) => c,
        None => match form_session(&state, &headers, &id, &csrf).await {
            Ok(c) => c,
            Err(r) => return r,
        },
    };
    if !errors.is_empty() {
        return hazard_view(
            &state,
            &headers,
            (&s, Realm::Portal),
            id,
            (StatusCode::UNPROCESSABLE_ENTITY, None, errors),
            &typed,
        )
        .await;
    }
    let input = Input::Rectify {
        id: Uuid::now_v7(),
        description: typed.description.clone(),
        photo_ids: typed.kept.clone(),
    };
    command(&state, &headers, &s, (id, input), ("submitted_ok", &typed)).await
}

/// One uploaded file through the photo path; its id, or why not.
async fn ingest(
    state: &AppState,
    s: &WebSession,
    bytes: bytes::Bytes,
) -> Result<Uuid, &'static str> {
    let Some(ph) = state.photos.as_ref() else {
        return Err("unavailable");
    };
    let actor = anjian_store::Actor::user(s.user.user.id, Some(context::current().request_id));
    let settings = (
        actor,
        state.clock.as_ref(),
        state.settings.max_pending_photos,
        state.settings.policy.tz,
    );
    match anjian_usecases::photos::ingest(ph, &state.db, settings, &s.user, bytes).await {
        Ok(p) => Ok(p.id),
        Err(e) => {
            let code = e.code();
            if code == ErrorCode::Internal || code == ErrorCode::Unavailable {
                tracing::warn!(error = %e, "a portal upload failed");
            }
            Err(match code {
                ErrorCode::NotAnImage => "not_an_image",
                ErrorCode::ImageTooLarge | ErrorCode::PayloadTooLarge => "image_too_large",
                _ => "unavailable",
            })
        }
    }
}

#[derive(Deserialize)]
pub struct ExtensionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    requested_deadline: String,
    #[serde(default)]
    reason: String,
}

pub async fn extension(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ExtensionForm>,
) -> Response {
    let (s, id) = match form_session(&state, &headers, &id, &f.csrf).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let typed = Typed {
        requested_deadline: f.requested_deadline.clone(),
        reason: f.reason.clone(),
        ..Typed::default()
    };
    let Ok(until) = f.requested_deadline.trim().parse::<NaiveDate>() else {
        let l = lang(&headers);
        let e = vec![i18n::reason(l, "requested_deadline", "invalid")];
        return hazard_view(
            &state,
            &headers,
            (&s, Realm::Portal),
            id,
            (StatusCode::UNPROCESSABLE_ENTITY, None, e),
            &typed,
        )
        .await;
    };
    let input = Input::RequestExtension {
        id: Uuid::now_v7(),
        until,
        reason: f.reason,
    };
    command(
        &state,
        &headers,
        &s,
        (id, input),
        ("extension_sent", &typed),
    )
    .await
}

pub async fn plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let csrf = f.get("csrf").cloned().unwrap_or_default();
    let (s, id) = match form_session(&state, &headers, &id, &csrf).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let part = |k: &str| f.get(k).cloned().unwrap_or_default();
    let p = Plan {
        objectives: part("objectives"),
        measures: part("measures"),
        funding: part("funding"),
        organisation: part("organisation"),
        timeline: part("timeline"),
        safety_measures: part("safety_measures"),
    };
    let typed = Typed {
        plan: Some(p.clone()),
        ..Typed::default()
    };
    command(
        &state,
        &headers,
        &s,
        (id, Input::Plan(p)),
        ("plan_saved", &typed),
    )
    .await
}

/// A photo's `preview` or `thumb` for the pages (a 302 to the store, as the
/// API answers); originals are not for enterprise users.
pub async fn photo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, variant)): Path<(String, String)>,
) -> Response {
    let s = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    match crate::routes::photos::redirect_to_variant(&state, &s.user, (&id, &variant)).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
