//! `/api/folders/{id}/webhook_deliveries` (the console spec's GAP-5, spec §11.2 [I]): what was
//! sent to a folder's `resolution_endpoint`, every attempt with its answer, and redelivery.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::oz::ids::parse_id;
use super::oz::json::{created, ok};
use super::AppState;
use crate::domain::analyses::webhooks::DeliveryHistory;
use crate::domain::model::caller::Caller;
use crate::domain::store::{WebhookAttempt, WebhookDelivery};
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_deliveries)).routes(routes!(redeliver))
}

/// One webhook delivery: the folder POSTed to `url`, retried until `delivered` or `failed`.
#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// Also the `X-Emerald-Delivery` header of every attempt (receivers de-duplicate on it).
    pub delivery_id: Uuid,
    pub folder_id: Uuid,
    pub url: String,
    /// `pending` (queued or to be retried), `delivered`, `failed` (given up).
    pub status: String,
    /// Attempts made so far.
    pub attempt_count: u32,
    pub last_http_status: Option<u16>,
    pub last_error: Option<String>,
    pub time_created: f64,
    pub time_updated: f64,
    /// Every attempt, oldest first.
    pub attempts: Vec<WebhookAttemptView>,
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct WebhookAttemptView {
    /// 1-based.
    pub attempt: u32,
    pub url: String,
    /// When the request was sent.
    pub time_created: f64,
    /// Seconds until the answer or the error (0 when no request was sent).
    pub duration: f64,
    /// The endpoint's HTTP status; null when it did not answer.
    pub http_status: Option<u16>,
    /// Why the attempt did not deliver.
    pub error: Option<String>,
    /// `delivered`, `retrying` (another attempt follows), `failed` (the delivery is given up).
    pub outcome: String,
}

impl From<WebhookAttempt> for WebhookAttemptView {
    fn from(a: WebhookAttempt) -> Self {
        let WebhookAttempt {
            delivery_id: _,
            folder_id: _,
            attempt,
            url,
            time_created,
            duration,
            http_status,
            error,
            outcome,
        } = a;
        WebhookAttemptView { attempt, url, time_created, duration, http_status, error, outcome }
    }
}

impl From<DeliveryHistory> for WebhookDeliveryView {
    fn from(h: DeliveryHistory) -> Self {
        let DeliveryHistory { delivery, attempts } = h;
        let WebhookDelivery {
            delivery_id,
            folder_id,
            url,
            status,
            attempts: attempt_count,
            last_http_status,
            last_error,
            time_created,
            time_updated,
        } = delivery;
        WebhookDeliveryView {
            delivery_id,
            folder_id,
            url,
            status,
            attempt_count,
            last_http_status,
            last_error,
            time_created,
            time_updated,
            attempts: attempts.into_iter().map(WebhookAttemptView::from).collect(),
        }
    }
}

/// The folder's webhook deliveries (bare array, oldest first), each with every attempt: time,
/// duration, HTTP status or error, outcome. Whoever may read the folder. GAP-5.
#[utoipa::path(get, path = "/api/folders/{folder_id}/webhook_deliveries", tag = "folders",
    params(("folder_id" = Uuid, Path)), responses((status = 200, body = [WebhookDeliveryView])),
    security(("token" = [])))]
async fn list_deliveries(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let list = s.domain.webhook_deliveries(&caller, parse_id("folder_id", &id)?).await?;
    Ok(ok(list.into_iter().map(WebhookDeliveryView::from).collect::<Vec<_>>()).into_response())
}

/// Send the folder, as it is now, to its `resolution_endpoint` again: a new delivery (with its
/// own retries) is queued and answered, `pending`. Whoever may request analyses on the folder
/// (ADMIN, CLIENT ADMIN of its company, its CLIENT / CLIENT SERVICE owner; others code 9);
/// code 4 when the folder has no `resolution_endpoint`. Recorded in `GET /api/audit`
/// (`event=redeliver`). GAP-5.
#[utoipa::path(post, path = "/api/folders/{folder_id}/webhook_deliveries/redeliver", tag = "folders",
    params(("folder_id" = Uuid, Path)), responses((status = 201, body = WebhookDeliveryView)),
    security(("token" = [])))]
async fn redeliver(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let delivery = s.domain.redeliver_webhook(&caller, parse_id("folder_id", &id)?).await?;
    Ok(created(WebhookDeliveryView::from(delivery)).into_response())
}
