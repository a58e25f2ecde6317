//! Abuse resistance over HTTP (issue #23, docs/abuse.md): the auth audit, clearing login
//! throttles, and per-company quota overrides.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::openapi::{AuditListQuery, AuditReportQuery};
use super::oz::body::OzBody;
use super::oz::ids::parse_id;
use super::oz::json::ok;
use super::oz::query::OzQuery;
use super::reports::stream_audit_report;
use super::views::PageView;
use super::AppState;
use crate::domain::model::audit::{CompanyQuota, StoredAuthEvent};
use crate::domain::model::caller::Caller;
use crate::domain::{Error, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(audit_csv))
        .routes(routes!(clear_throttle))
        .routes(routes!(get_company_quota, set_company_quota))
}

#[derive(Serialize, ToSchema)]
pub struct AuthEventView {
    pub event_id: Uuid,
    pub time_created: f64,
    /// `login`, `logout`, `refresh`, `block`, `unblock`, `throttle_clear`, `decision`,
    /// `create`, `update`, `delete`, `redeliver`, `webhook`.
    pub event: String,
    /// `success`, `failure`, `throttled`, `blocked`.
    pub outcome: String,
    pub user_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    /// The login as typed, lower-cased (also for unknown accounts).
    pub email: Option<String>,
    /// Who did it, when another user did (a block).
    pub actor_id: Option<Uuid>,
    /// The client address (an IPv6 client by its /64).
    pub client_addr: Option<String>,
    /// The object a change concerns (`folder`, `media`, `analysis`, `user`, `company`,
    /// `company_thresholds`, `collection`, `person`, `person_image`); null for auth events.
    pub object_type: Option<String>,
    pub object_id: Option<Uuid>,
    /// The object's value before and after: a decision's `resolution_status`, a `meta_data`
    /// edit's JSON, a user or company edit's changed fields as `key=value; …`.
    pub before: Option<String>,
    pub after: Option<String>,
    /// A decision's `resolution_comment`; for other changes a description (a user's e-mail,
    /// with `; password changed` when it was).
    pub comment: Option<String>,
}

impl From<StoredAuthEvent> for AuthEventView {
    fn from(e: StoredAuthEvent) -> Self {
        let StoredAuthEvent {
            event_id,
            time_created,
            event,
            outcome,
            user_id,
            company_id,
            email,
            actor_id,
            client_addr,
            object_type,
            object_id,
            before,
            after,
            comment,
        } = e;
        AuthEventView {
            event_id,
            time_created,
            event,
            outcome,
            user_id,
            company_id,
            email,
            actor_id,
            client_addr,
            object_type,
            object_id,
            before,
            after,
            comment,
        }
    }
}

/// The audit trail, newest first: `{total_count, offset, limit, items}`; logins, logouts,
/// refreshes, blocks, throttle clears, operators' decisions (`event=decision`), review claims
/// taken and released (`claim`, `release`) and object changes (`create`, `update` —
/// `meta_data`, user and company edits, a folder's `resolution_comment`, quota overrides
/// (`object_type=company_quota`) —, `delete`, `redeliver`, `webhook`), with `object_type`, `object_id`, `before`, `after`, `comment`, each under the
/// object's company. Filters `user_id`, `company_id`,
/// `actor_id`, `event`, `outcome`, `email`, `client_addr`, `object_type`, `object_id`,
/// `time_created.min/.max`. ADMIN sees every event, CLIENT ADMIN its company's.
#[utoipa::path(get, path = "/api/audit", tag = "abuse",
    params(AuditListQuery),
    responses((status = 200, body = PageView<AuthEventView>)), security(("token" = [])))]
async fn list_audit(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let page = s.domain.list_auth_events(&caller, &q.0).await?;
    Ok(ok(PageView::new(page, AuthEventView::from)).into_response())
}

/// The audit trail as CSV, every matching event streamed (GAP-4): the filters, sorting
/// (default newest first) and permissions of `GET /api/audit` (ADMIN every event, CLIENT ADMIN
/// its company's, others 403), `offset`, `limit` and `total_omit` ignored. One line per event
/// with the list's fields as columns, and `time_created_utc` (ISO 8601, UTC, microseconds)
/// after `time_created`; cells starting with `= + - @` get a leading `'` (the
/// CSV-injection guard of `GET /api/reports/folders.csv`).
#[utoipa::path(get, path = "/api/audit.csv", tag = "abuse",
    params(AuditReportQuery),
    responses((status = 200, description = "the audit trail, streamed (chunked)", content_type = "text/csv", body = String)),
    security(("token" = [])))]
async fn audit_csv(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    stream_audit_report(s.domain.clone(), caller, q.0).await
}

/// Forget failed logins (ADMIN): of the account `email`, of the client `address`, or — with
/// neither — all of them; a locked-out account can log in again at once.
#[utoipa::path(delete, path = "/api/authorize/throttle", tag = "abuse",
    params(("email" = Option<String>, Query), ("address" = Option<String>, Query)),
    responses((status = 204)), security(("token" = [])))]
async fn clear_throttle(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let address = match q.text("address").map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(a.parse().map_err(|_| {
            Error::invalid_value(format!("Invalid address {a:?}"), serde_json::json!({ "key_path": "address" }))
        })?),
        None => None,
    };
    let email = q.text("email").map(str::trim).filter(|e| !e.is_empty());
    s.domain.clear_login_throttle(&caller, email, address).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A company's request quotas: its override (null = the global rate) and the rates in force,
/// in requests per minute (0 = unlimited).
#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct QuotaView {
    pub requests_per_minute: Option<u32>,
    pub expensive_per_minute: Option<u32>,
    /// The rate in force (answers only).
    #[serde(default, skip_deserializing)]
    #[schema(read_only)]
    pub effective_requests_per_minute: u32,
    #[serde(default, skip_deserializing)]
    #[schema(read_only)]
    pub effective_expensive_per_minute: u32,
}

/// A company's quotas (ADMIN; the company's own users read them).
#[utoipa::path(get, path = "/api/companies/{company_id}/quotas", tag = "abuse",
    params(("company_id" = Uuid, Path)), responses((status = 200, body = QuotaView)), security(("token" = [])))]
async fn get_company_quota(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let (o, rates) = s.domain.company_quota(&caller, parse_id("company_id", &id)?).await?;
    Ok(ok(QuotaView {
        requests_per_minute: o.requests_per_minute,
        expensive_per_minute: o.expensive_per_minute,
        effective_requests_per_minute: rates.requests,
        effective_expensive_per_minute: rates.expensive,
    })
    .into_response())
}

/// Set a company's quota override (ADMIN): `{"requests_per_minute": n|null,
/// "expensive_per_minute": n|null}`, null = the global rate, 0 = unlimited.
#[utoipa::path(put, path = "/api/companies/{company_id}/quotas", tag = "abuse", request_body = QuotaView,
    params(("company_id" = Uuid, Path)), responses((status = 200, body = QuotaView)), security(("token" = [])))]
async fn set_company_quota(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OzBody(req): OzBody<QuotaView>,
) -> Result<Response> {
    let id = parse_id("company_id", &id)?;
    let quota =
        CompanyQuota { requests_per_minute: req.requests_per_minute, expensive_per_minute: req.expensive_per_minute };
    s.domain.set_company_quota(&caller, id, quota).await?;
    get_company_quota(State(s), caller, Path(id.to_string())).await
}
