//! The HTTP layer: translates the Oz wire protocol to domain calls and back. No SQL, no model
//! calls, no status logic here; Oz quirks live in [`oz`].

pub mod abuse;
pub mod analyses;
pub mod auth;
pub mod collections;
pub mod companies;
pub mod folders;
pub mod instant;
pub mod lite;
pub mod media;
pub mod meta;
pub mod openapi;
pub mod oz;
pub mod reports;
pub mod system;
pub mod users;
pub mod views;
pub mod webhooks;

use std::sync::Arc;

use axum::middleware::from_fn;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::domain::Domain;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub domain: Domain,
    pub metrics: PrometheusHandle,
    pub openapi: Arc<String>,
    /// `--public-url`: the base of media links; None = from the request's Host.
    pub public_url: Option<Arc<str>>,
    pub instant_auth: crate::config::InstantAuth,
    /// Proxies whose `X-Forwarded-For` names the client (`EMERALD_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<oz::client::TrustedProxies>,
    /// The web console's settings; None when `--console off`.
    pub console: Option<Arc<crate::console::Settings>>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Emerald", description = "Self-hosted face liveness and biometry server speaking the Oz API."),
    modifiers(&TokenSecurity)
)]
struct ApiDoc;

struct TokenSecurity;

impl Modify for TokenSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(oz::caller::TOKEN_HEADERS[0]))),
        );
        lite::add_key_scheme(openapi);
    }
}

/// Every documented route, and the OpenAPI document built from them (with Oz API Lite's
/// routes when `lite`: they are served beside, with their own state).
fn api_routes(lite: bool) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::routes())
        .merge(auth::routes())
        .merge(companies::routes())
        .merge(meta::company_routes())
        .merge(users::routes())
        .merge(meta::user_routes())
        .merge(folders::routes())
        .merge(meta::folder_routes())
        .merge(webhooks::routes())
        .merge(media::routes())
        .merge(meta::media_routes())
        .merge(analyses::routes())
        .merge(meta::analysis_routes())
        .merge(instant::routes())
        .merge(collections::routes())
        .merge(meta::collection_routes())
        .merge(meta::person_routes())
        .merge(reports::routes())
        .merge(abuse::routes())
        .split_for_parts();
    if lite {
        doc.merge(lite::openapi());
    }
    openapi::Refine.modify(&mut doc);
    (routes, doc)
}

/// The OpenAPI document as JSON, Oz API Lite included (`/openapi.json` serves it without
/// Lite when `EMERALD_LITE=off`).
pub fn openapi_json() -> String {
    api_routes(true).1.to_pretty_json().unwrap_or_default()
}

/// Where the console is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsolePlace {
    /// Beside the API, on its listener.
    WithApi,
    /// On a listener of its own (`EMERALD_CONSOLE_LISTEN`), not on the API's.
    Apart,
}

/// The routers to serve: the API's, and the console's own when it has a listener of its own.
pub struct Routers {
    pub api: Router,
    pub console: Option<Router>,
}

/// The whole router, or the API's and the console's apart. Trailing slashes are trimmed before
/// routing by the caller's `NormalizePathLayer`, so routes are declared once, without them.
#[allow(clippy::too_many_arguments)]
pub fn router(
    domain: Domain,
    metrics: PrometheusHandle,
    public_url: Option<String>,
    instant_auth: crate::config::InstantAuth,
    trusted_proxies: oz::client::TrustedProxies,
    console: Option<crate::console::Settings>,
    place: ConsolePlace,
    lite: Option<lite::LiteState>,
) -> Routers {
    let (routes, openapi) = api_routes(lite.is_some());
    let state = AppState {
        domain,
        metrics,
        openapi: Arc::new(openapi.to_pretty_json().unwrap_or_default()),
        public_url: public_url.map(Arc::from),
        instant_auth,
        trusted_proxies: Arc::new(trusted_proxies),
        console: console.map(Arc::new),
    };
    let console_routes = state.console.as_ref().map(|c| crate::console::routes(&c.base));
    let (routes, apart) = match (console_routes, place) {
        (Some(c), ConsolePlace::WithApi) => (routes.merge(c), None),
        (Some(c), ConsolePlace::Apart) => (routes, Some(c)),
        (None, _) => (routes, None),
    };
    let mut app = routes
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .with_state(state.clone());
    if let Some(lite) = lite {
        app = app.merge(lite::service(lite));
    }
    Routers { api: finish(app), console: apart.map(|c| finish(c.with_state(state))) }
}

/// The Oz answers to unknown routes and methods, metrics and request tracing.
fn finish(app: Router) -> Router {
    app.fallback(oz::layers::not_found)
        .method_not_allowed_fallback(oz::layers::method_not_allowed)
        .route_layer(from_fn(oz::layers::track_metrics))
        .layer(from_fn(oz::layers::trace_requests))
}
