//! The pages people open in a browser: `/`, the enterprise portal
//! (`/portal`) and the office dashboard (`/office`). Server-rendered HTML (minijinja templates compiled into the
//! binary), zh-CN first with an English switch, usable on a phone; signed in
//! by an HttpOnly, SameSite=Strict cookie with a CSRF token on every form.
//! Every page calls the same use cases as the JSON API.

pub mod i18n;
pub mod office;
pub mod portal;
pub mod session;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::Lang;
use crate::error::Enveloped;
use crate::state::AppState;

/// The largest form the portal takes: a rectification with its photos.
pub const FORM_LIMIT: usize = 160 * 1024 * 1024;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/lang/{code}", get(set_lang))
        .route("/portal", get(portal::home))
        .route("/portal/login", get(portal::login_page).post(portal::login))
        .route("/portal/logout", post(portal::logout))
        .route(
            "/portal/password",
            get(portal::password_page).post(portal::change_password),
        )
        .route("/portal/hazards", get(portal::hazards))
        .route("/portal/hazards/{id}", get(portal::hazard))
        .route(
            "/portal/hazards/{id}/rectify",
            post(portal::rectify).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/portal/hazards/{id}/extension", post(portal::extension))
        .route("/portal/hazards/{id}/plan", post(portal::plan))
        .route("/portal/photos/{id}/{variant}", get(portal::photo))
        .route("/office", get(office::overview))
        .route("/office/login", get(portal::login_page).post(portal::login))
        .route("/office/logout", post(portal::logout))
        .route(
            "/office/password",
            get(portal::password_page).post(portal::change_password),
        )
        .route("/office/reviews", get(office::reviews))
        .route("/office/hazards/{id}/review", post(office::review))
        .route("/office/overdue", get(office::overdue))
        .route("/office/extensions", get(office::extensions))
        .route("/office/extensions/{id}/decision", post(office::decide))
        .route("/office/photos/{id}/{variant}", get(portal::photo))
        .route("/office/enterprises", get(office::enterprises))
        .route("/office/enterprises/{id}", get(office::enterprise))
        .route("/office/hazards/{id}", get(office::hazard))
        .route("/office/reports", get(office::reports))
        .route("/office/reports/{file}", get(office::report_file))
}

/// The page templates, compiled into the binary.
pub(crate) const TEMPLATES: [(&str, &str); 14] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("reports.html", include_str!("../../templates/reports.html")),
    ("landing.html", include_str!("../../templates/landing.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "password.html",
        include_str!("../../templates/password.html"),
    ),
    ("hazards.html", include_str!("../../templates/hazards.html")),
    ("hazard.html", include_str!("../../templates/hazard.html")),
    ("office.html", include_str!("../../templates/office.html")),
    ("reviews.html", include_str!("../../templates/reviews.html")),
    ("overdue.html", include_str!("../../templates/overdue.html")),
    (
        "enterprises.html",
        include_str!("../../templates/enterprises.html"),
    ),
    (
        "enterprise.html",
        include_str!("../../templates/enterprise.html"),
    ),
    (
        "extensions.html",
        include_str!("../../templates/extensions.html"),
    ),
];

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            if let Err(e) = env.add_template(name, text) {
                tracing::error!(template = name, error = %e, "a page template does not parse");
            }
        }
        env
    })
}

/// The language of a page: the switch's cookie, else `Accept-Language`.
pub fn lang(headers: &HeaderMap) -> Lang {
    match session::cookie(headers, session::LANG).as_deref() {
        Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        _ => Lang::from_headers(headers),
    }
}

/// What every page shows around its content.
pub struct Frame<'a> {
    pub lang: Lang,
    /// The path of this page, for the language switch to come back to.
    pub path: &'a str,
    pub session: Option<&'a session::WebSession>,
    pub flash: Option<String>,
    pub errors: Vec<String>,
}

impl Frame<'_> {
    /// Renders `template` with `data` (an object) inside the frame.
    pub fn render(&self, status: StatusCode, template: &str, data: Value) -> Response {
        let mut ctx = json!({
            "tr": i18n::words(self.lang),
            "html_lang": if self.lang == Lang::En { "en" } else { "zh-CN" },
            "switch_lang": format!(
                "/lang/{}?next={}",
                if self.lang == Lang::En { "zh" } else { "en" },
                form_urlencoded::byte_serialize(self.path.as_bytes()).collect::<String>()
            ),
            "user": self.session.map(|s| json!({"display_name": s.user.user.display_name})),
            "logout_action": format!("{}/logout", portal::Realm::of(self.path).root()),
            "office_nav": self.session.is_some() && portal::Realm::of(self.path) == portal::Realm::Office,
            "csrf": self.session.map(|s| s.csrf.clone()),
            "flash": self.flash,
            "errors": self.errors,
        });
        if let (Some(c), Value::Object(d)) = (ctx.as_object_mut(), data) {
            c.extend(d);
        }
        let page = templates()
            .get_template(template)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&ctx))));
        match page {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!(template, error = %e, "rendering a page failed");
                let id = crate::context::current().request_id;
                let msg = i18n::word(self.lang, "internal_error").replace("{id}", &id);
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("<!doctype html><meta charset=utf-8><p>{msg}</p>"),
                )
            }
        }
    }

    /// A page with a heading, a message and an optional link.
    pub fn message(
        &self,
        status: StatusCode,
        heading: &str,
        message: &str,
        link: Option<(&str, &str)>,
    ) -> Response {
        self.render(
            status,
            "message.html",
            json!({
                "heading": heading,
                "message": message,
                "link": link.map(|l| l.0),
                "link_text": link.map(|l| l.1),
            }),
        )
    }
}

/// An HTML answer; marked final, so that the error layer leaves it alone.
pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut resp = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response();
    resp.extensions_mut().insert(Enveloped);
    resp
}

/// A 303 to `to` (after a form, or to the login page).
pub fn see_other(to: &str) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    resp.extensions_mut().insert(Enveloped);
    resp
}

/// `/`: where a person goes from here.
async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let sess = session::current(&state, &headers).await.ok();
    Frame {
        lang: lang(&headers),
        path: "/",
        session: sess.as_ref(),
        flash: None,
        errors: Vec::new(),
    }
    .render(StatusCode::OK, "landing.html", json!({}))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// The language switch: remembers the choice and goes back to the page.
async fn set_lang(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Response {
    let code = if code == "en" { "en" } else { "zh" };
    let back = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let mut resp = see_other(&back);
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&state, session::LANG, code, 365 * 24 * 3600),
    );
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        let mut env = minijinja::Environment::new();
        for (name, text) in super::TEMPLATES {
            assert!(env.add_template(name, text).is_ok(), "{name}");
        }
        for (name, _) in super::TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
