//! The HTTP layer of anjian: axum routes that translate api.md to store and
//! domain calls, the error envelope, auth, and the OpenAPI document generated
//! from the handlers themselves.
#![forbid(unsafe_code)]

pub mod context;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod state;
pub mod token;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, Settings};

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
        .routes(routes!(users::list, users::create))
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
        .routes(routes!(hazards::list_inspections))
        .routes(routes!(hazards::get_inspection))
        .routes(routes!(hazards::list_hazards))
        .routes(routes!(hazards::get_hazard))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(sync::push))
                .layer(DefaultBodyLimit::max(anjian_store::sync::push::MAX_BYTES)),
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
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_v1())
        .merge(root())
        .into_openapi()
}

async fn not_found() -> impl IntoResponse {
    ApiError::not_found()
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_v1())
        .merge(root())
        .split_for_parts();
    with_layers(
        router.merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc)),
        state,
    )
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
