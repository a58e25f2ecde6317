//! `POST /api/authorize/auth`, `POST /api/authorize/refresh` (spec §2), and
//! `POST /api/authorize/logout` (GAP-2 of the console spec [I]).

use axum::extract::State;
use axum::http::StatusCode;
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
use crate::domain::model::caller::Caller;
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(refresh)).routes(routes!(logout))
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

/// End the session of the token used ([I], GAP-2): its access and refresh tokens stop working
/// at once; the user's other sessions are untouched.
#[utoipa::path(post, path = "/api/authorize/logout", tag = "auth",
    responses((status = 204), (status = 401, description = "error 1/7: no valid token")),
    security(("token" = [])))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    state.domain.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
