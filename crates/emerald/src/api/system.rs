//! `GET /api/version` (liveness, no auth), `GET /api/health` (the §18.6 checks, ADMIN),
//! `GET /metrics` (Prometheus), `GET /openapi.json`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::oz::json::ok;
use super::AppState;
use crate::domain::model::caller::Caller;
use crate::domain::model::face::EngineModels;
use crate::domain::system::{self as health, Health};
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(version)).routes(routes!(get_health))
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

/// `GET /api/health`: `status` is `ok` (every check passes), `degraded` (one needs attention)
/// or `failing` (the database or the blob store fails).
#[derive(Serialize, ToSchema)]
pub struct ServerHealthView {
    pub status: &'static str,
    pub time: f64,
    pub version: &'static str,
    pub database: HealthProbeView,
    pub blob_store: HealthProbeView,
    pub job_queue: HealthQueueView,
    pub models: HealthModelsView,
    pub disk: HealthDiskView,
    pub webhooks: HealthWebhooksView,
}

/// A round trip: the database answers; the blob store keeps a probe written, read back, deleted.
#[derive(Serialize, ToSchema)]
pub struct HealthProbeView {
    pub ok: bool,
    /// `sqlite` or `postgres` for the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'static str>,
    pub latency_ms: f64,
    pub error: Option<String>,
}

/// The job queue (analyses and webhook deliveries); `ok` while fewer than 20 claimable jobs
/// wait and none has waited over 20 s (spec §18.6).
#[derive(Serialize, ToSchema)]
pub struct HealthQueueView {
    pub ok: bool,
    /// Waiting for a worker or for their retry time.
    pub queued: Option<u64>,
    pub running: Option<u64>,
    /// Claimable now.
    pub due: Option<u64>,
    /// Seconds since the oldest queued job was created.
    pub oldest_queued_age: Option<f64>,
    /// Seconds the longest-waiting claimable job has waited.
    pub oldest_due_age: Option<f64>,
    /// Analyses still PROCESSING.
    pub processing_analyses: Option<u64>,
    pub error: Option<String>,
}

/// Loaded models; `ok` when the face engine is loaded.
#[derive(Serialize, ToSchema)]
pub struct HealthModelsView {
    pub ok: bool,
    /// The face engine's model ids, or null with `face_engine_error`.
    pub face_engine: Option<HealthFaceModelsView>,
    pub face_engine_error: Option<String>,
    /// `ppocr` or `tesseract`, or null with `documents_ocr_error` (DOCUMENTS reads the MRZ only).
    pub documents_ocr: Option<&'static str>,
    pub documents_ocr_error: Option<String>,
    /// `ffmpeg <version> (<path>)`, or null with `video_decoder_error`.
    pub video_decoder: Option<String>,
    pub video_decoder_error: Option<String>,
    /// COLLECTION analyses can search the collections.
    pub collections: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HealthFaceModelsView {
    pub detector: String,
    pub embedder: String,
    pub liveness: String,
}

/// Free space of the data directory's filesystem; `ok` at 10 % free or more (spec §18.6).
#[derive(Serialize, ToSchema)]
pub struct HealthDiskView {
    pub ok: bool,
    pub path: String,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub free_ratio: Option<f64>,
    pub error: Option<String>,
}

/// Webhook attempts that did not deliver over the last day; `ok` when no delivery was given up.
#[derive(Serialize, ToSchema)]
pub struct HealthWebhooksView {
    pub ok: bool,
    pub window_secs: f64,
    pub failed_attempts: Option<u64>,
    pub failed_deliveries: Option<u64>,
    /// The latest failed attempts, newest first.
    pub recent_failures: Vec<HealthWebhookFailureView>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HealthWebhookFailureView {
    pub folder_id: uuid::Uuid,
    pub delivery_id: uuid::Uuid,
    pub url: String,
    pub attempt: u32,
    pub time_created: f64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// `retrying` or `failed`.
    pub outcome: String,
}

fn split<T, U>(r: std::result::Result<T, String>, f: impl FnOnce(T) -> U) -> (Option<U>, Option<String>) {
    match r {
        Ok(v) => (Some(f(v)), None),
        Err(e) => (None, Some(e)),
    }
}

impl From<Health> for ServerHealthView {
    fn from(h: Health) -> Self {
        let Health { status, time, backend, database, blob_store, queue, processing_analyses, models, disk, webhooks } =
            h;
        let probe = |p: health::Probe, backend: Option<&'static str>| HealthProbeView {
            ok: p.ok,
            backend,
            latency_ms: p.latency_ms,
            error: p.error,
        };
        let (processing_analyses, processing_error) = split(processing_analyses, |n| n);
        let job_queue = match queue {
            Ok(q) => HealthQueueView {
                ok: q.ok,
                queued: Some(q.stats.queued),
                running: Some(q.stats.running),
                due: Some(q.stats.due),
                oldest_queued_age: q.oldest_queued_age,
                oldest_due_age: q.oldest_due_age,
                processing_analyses,
                error: processing_error,
            },
            Err(e) => HealthQueueView {
                ok: false,
                queued: None,
                running: None,
                due: None,
                oldest_queued_age: None,
                oldest_due_age: None,
                processing_analyses,
                error: Some(e),
            },
        };
        let health::ModelsHealth { ok: models_ok, face_engine, documents_ocr, video_decoder, collections } = models;
        let (face_engine, face_engine_error) = split(face_engine, |m| {
            let EngineModels { detector, embedder, liveness } = m;
            HealthFaceModelsView { detector, embedder, liveness }
        });
        let (documents_ocr, documents_ocr_error) = split(documents_ocr, |o| o);
        let (video_decoder, video_decoder_error) = split(video_decoder, |v| v);
        let free_ratio = disk.free_ratio();
        let health::DiskHealth { ok: disk_ok, path, free_bytes, total_bytes, error: disk_error } = disk;
        let webhooks = match webhooks {
            Ok(w) => HealthWebhooksView {
                ok: w.ok,
                window_secs: w.window_secs,
                failed_attempts: Some(w.failures.attempts),
                failed_deliveries: Some(w.failures.deliveries),
                recent_failures: w
                    .failures
                    .recent
                    .into_iter()
                    .map(|a| HealthWebhookFailureView {
                        folder_id: a.folder_id,
                        delivery_id: a.delivery_id,
                        url: a.url,
                        attempt: a.attempt,
                        time_created: a.time_created,
                        http_status: a.http_status,
                        error: a.error,
                        outcome: a.outcome,
                    })
                    .collect(),
                error: None,
            },
            Err(e) => HealthWebhooksView {
                ok: false,
                window_secs: health::WEBHOOK_WINDOW_SECS,
                failed_attempts: None,
                failed_deliveries: None,
                recent_failures: Vec::new(),
                error: Some(e),
            },
        };
        ServerHealthView {
            status: status.as_str(),
            time,
            version: env!("CARGO_PKG_VERSION"),
            database: probe(database, Some(backend)),
            blob_store: probe(blob_store, None),
            job_queue,
            models: HealthModelsView {
                ok: models_ok,
                face_engine,
                face_engine_error,
                documents_ocr,
                documents_ocr_error,
                video_decoder,
                video_decoder_error,
                collections,
            },
            disk: HealthDiskView { ok: disk_ok, path, free_bytes, total_bytes, free_ratio, error: disk_error },
            webhooks,
        }
    }
}

/// The server's health (GAP-15; the spec's §18.6 monitoring checklist), ADMIN only (others:
/// 403, code 9): the database and blob store round trips, the job queue's depth and age, the
/// loaded models, the data directory's free space, webhook failures over the last day. Always
/// 200 for an ADMIN; `status` says `ok`, `degraded` or `failing`. `GET /api/version` stays the
/// unauthenticated liveness check.
#[utoipa::path(get, path = "/api/health", tag = "system", responses((status = 200, body = ServerHealthView)),
    security(("token" = [])))]
async fn get_health(State(s): State<AppState>, caller: Caller) -> Result<Response> {
    let h = s.domain.health(&caller).await?;
    Ok(ok(ServerHealthView::from(h)).into_response())
}
