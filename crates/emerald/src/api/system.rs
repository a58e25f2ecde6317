//! `GET /api/version` (health, no auth), `GET /metrics` (Prometheus), `GET /openapi.json`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::oz::json::ok;
use super::AppState;
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(version))
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    /// The Oz API version whose wire protocol we speak.
    pub version: &'static str,
    /// Emerald's own version.
    pub core: &'static str,
    pub components: Vec<&'static str>,
    pub database: &'static str,
}

/// Health and version; 200 means the server and its database answer (spec §17 [I]).
#[utoipa::path(get, path = "/api/version", tag = "system", responses((status = 200, body = VersionView)))]
async fn version(State(s): State<AppState>) -> Result<Response> {
    s.domain.store.ping().await?;
    Ok(ok(VersionView {
        version: "6.0.1-compatible",
        core: env!("CARGO_PKG_VERSION"),
        components: vec!["auth", "stateful"],
        database: s.domain.store.backend(),
    })
    .into_response())
}

/// Prometheus text exposition.
pub async fn metrics(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

/// The OpenAPI document, built from the routes themselves so it cannot miss one.
pub async fn openapi(State(s): State<AppState>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], s.openapi.as_ref().clone()).into_response()
}
