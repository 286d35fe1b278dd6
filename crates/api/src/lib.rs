//! The HTTP layer of anjian: axum routes that translate api.md to store and
//! domain calls, the error envelope, auth, and the OpenAPI document generated
//! from the handlers themselves.
#![forbid(unsafe_code)]

pub mod client_addr;
pub mod context;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod server;
pub mod state;
pub mod token;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, Photos, Settings};

use crate::error::ApiError;

/// Default body limit of JSON requests.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "anjian", description = "Work-safety hazard campaign: inspections, hazards, rectifications, reports. Contract: api.md."),
    tags(
        (name = "auth", description = "Login, tokens, the signed-in user"),
        (name = "users", description = "User administration"),
        (name = "reference", description = "Villages, enterprises, templates, campaigns"),
        (name = "inspections", description = "Inspections and hazards"),
        (name = "sync", description = "Offline sync for field devices"),
        (name = "photos", description = "Photo evidence: declare, upload, verify, serve"),
        (name = "notifications", description = "What the caller is told: reminders, overdue notices, escalations"),
        (name = "reports", description = "The weekly report: figures as of each week's cut-off, its files"),
        (name = "operations", description = "Health, readiness, metrics, audit")
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

fn api_v1() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::provision_enterprises))
        .routes(routes!(users::get, users::patch))
        .routes(routes!(villages::list))
        .routes(routes!(enterprises::list, enterprises::create))
        .routes(routes!(enterprises::get, enterprises::patch))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(enterprises::import))
                .layer(DefaultBodyLimit::max(enterprises::IMPORT_LIMIT)),
        )
        .routes(routes!(templates::list))
        .routes(routes!(templates::get))
        .routes(routes!(campaigns::list, campaigns::create))
        .routes(routes!(campaigns::get))
        .routes(routes!(audit::list))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::read))
        .routes(routes!(reports::list))
        .routes(routes!(reports::get))
        .routes(routes!(reports::generate))
        .routes(routes!(hazards::list_inspections))
        .routes(routes!(hazards::get_inspection))
        .routes(routes!(hazards::list_hazards))
        .routes(routes!(hazards::get_hazard))
        .routes(routes!(lifecycle::rectify))
        .routes(routes!(lifecycle::review))
        .routes(routes!(lifecycle::cancel))
        .routes(routes!(lifecycle::plan))
        .routes(routes!(lifecycle::request_extension))
        .routes(routes!(lifecycle::decide_extension))
        .routes(routes!(photos::declare))
        .routes(routes!(photos::get))
        .routes(routes!(photos::upload))
        .routes(routes!(photos::complete))
        .routes(routes!(photos::variant))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(sync::push))
                .layer(DefaultBodyLimit::max(anjian_usecases::sync::MAX_BYTES)),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(sync::pull))
                .layer(tower_http::compression::CompressionLayer::new().gzip(true)),
        )
}

fn root() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_v1())
        .merge(root())
        .into_openapi();
    document_common_answers(&mut doc);
    document_push_limits(&mut doc);
    doc
}

async fn not_found() -> impl IntoResponse {
    ApiError::not_found()
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_v1())
        .merge(root())
        .split_for_parts();
    document_common_answers(&mut doc);
    document_push_limits(&mut doc);
    let mut router = router
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
        .merge(web::routes());
    if let Some(p) = &state.photos
        && let Some(embedded) = p.embedded.clone()
    {
        // The embedded object store answers under `/<bucket>` on this listener,
        // so presigned URLs built on the public URL reach it. Its XML answers
        // are final: the error layer leaves them alone.
        router = router.merge(embedded.routes(p.store.bucket(), error::Enveloped));
    }
    let limits = state.settings.limits;
    server::with_limits(with_layers(router, state), limits)
}

/// The fallback and the layers every route gets: body limit, panic catching,
/// request context with error-envelope normalisation and metrics.
pub fn with_layers(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::context,
        ))
        .with_state(state)
}

/// Paths that need no login.
const PUBLIC: [&str; 5] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
];

/// A push's payloads are free-form in the schema (one that doesn't fit its
/// type is that mutation's `rejected` outcome, not the push's refusal); the
/// maximum length of each of their text fields is written into the document.
fn document_push_limits(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let limits: Vec<String> = anjian_domain::text::max::PUSH_FIELDS
        .iter()
        .map(|(field, max)| format!("`{field}` ≤ {max}"))
        .collect();
    let text = format!(
        "The record of the mutation's type (api.md \"Offline sync\"). Text fields refuse control characters other than tab and newline; maximum lengths in characters: {}. Lists of ids hold at most 500.",
        limits.join(", ")
    );
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(m))) = components.schemas.get_mut("MutationIn")
        && let Some(RefOr::T(Schema::Object(payload))) = m.properties.get_mut("payload")
    {
        payload.description = Some(text);
    }
}

/// Every operation may answer with the envelope for malformed input, missing
/// login, unknown records, invalid fields, too many requests and internal
/// errors; the handlers document only what is particular to them.
fn document_common_answers(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let envelope = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build()
    };
    let common = [
        ("400", "invalid_request: malformed JSON or query"),
        ("401", "unauthenticated: missing, expired or revoked token"),
        ("403", "forbidden: the role may not do this"),
        ("404", "not_found: unknown, or outside the caller's scope"),
        ("405", "method_not_allowed"),
        ("413", "payload_too_large"),
        ("415", "unsupported_media_type"),
        (
            "422",
            "validation_failed: details.fields names each field and its reasons",
        ),
        ("429", "rate_limited"),
        ("500", "internal"),
    ];
    for (path, item) in openapi.paths.paths.iter_mut() {
        let public = PUBLIC.contains(&path.as_str());
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            for (code, what) in common {
                if public && matches!(code, "401" | "403") && !path.starts_with("/api/v1/auth") {
                    continue;
                }
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| envelope(what).into());
            }
            if public {
                op.security = Some(Vec::new());
            }
        }
    }
}
