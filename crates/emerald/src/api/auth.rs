//! `POST /api/authorize/auth`, `POST /api/authorize/refresh` (spec §2).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::oz::body::OzBody;
use super::oz::caller::RefreshCaller;
use super::oz::client::ClientAddr;
use super::oz::json::ok;
use super::views::AuthView;
use super::AppState;
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(refresh))
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub credentials: Credentials,
}

/// Log in: a token pair for `X-Forensic-Access-Token` (spec §2.1).
#[utoipa::path(post, path = "/api/authorize/auth", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = AuthView), (status = 401, description = "error 7: invalid credentials"),
        (status = 403, description = "error 211: the user is blocked"),
        (status = 429, description = "error 101: too many failed logins; see Retry-After")))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    OzBody(req): OzBody<LoginRequest>,
) -> Result<Response> {
    let pair = state.domain.login_from(&req.credentials.email, &req.credentials.password, client).await?;
    Ok(ok(AuthView::from(pair)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub expire_token: String,
}

/// Renew a token pair (spec §2.3). The old pair keeps working until the new one is used.
#[utoipa::path(post, path = "/api/authorize/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = AuthView), (status = 401, description = "Session not found"),
        (status = 403, description = "You have not access to refresh this session")),
    security(("token" = [])))]
async fn refresh(
    State(state): State<AppState>,
    RefreshCaller(caller): RefreshCaller,
    ClientAddr(client): ClientAddr,
    OzBody(req): OzBody<RefreshRequest>,
) -> Result<Response> {
    let pair = state.domain.refresh(&caller, &req.expire_token, client).await?;
    Ok(ok(AuthView::from(pair)).into_response())
}
