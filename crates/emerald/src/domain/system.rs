//! The server's health for its ADMIN (the console spec's GAP-15; spec §18.6's monitoring
//! checklist): the database answers, the blob store keeps what is written to it, the job queue
//! is not falling behind, which models are loaded, the data directory's free space, and the
//! webhooks that failed lately. `GET /api/health` and the console's system page both show it.

use std::time::Instant;

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::caller::Caller;
use crate::domain::model::face::EngineModels;
use crate::domain::model::role::UserType;
use crate::domain::store::{ListParams, QueueStats, WebhookFailures};
use crate::domain::time::now;
use crate::domain::Domain;

/// §18.6: "unfinished analyses in queue < 20" — claimable jobs waiting for a worker.
pub const QUEUE_DUE_MAX: u64 = 20;
/// §18.6: "p90 analysis delay < 20 s" — the longest a claimable job may have waited.
pub const QUEUE_WAIT_MAX_SECS: f64 = 20.0;
/// §18.6: "free disk ≥ 10 % on all volumes".
pub const DISK_FREE_MIN_RATIO: f64 = 0.10;
/// Webhook failures are counted over this many seconds (a day).
pub const WEBHOOK_WINDOW_SECS: f64 = 86_400.0;
/// Failed webhook attempts listed.
pub const WEBHOOK_RECENT: u32 = 10;
/// Key prefix of the blob store check's probe (written, read back, deleted).
const PROBE_PREFIX: &str = "health";

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    /// Every check passes.
    Ok,
    /// The server works, but a check needs attention (a backlog, low disk, a missing model,
    /// failing webhooks).
    Degraded,
    /// The database or the blob store fails: requests fail.
    Failing,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Failing => "failing",
        }
    }
}

/// A round trip to a backing service.
#[derive(Debug, Clone)]
pub struct Probe {
    pub ok: bool,
    /// Milliseconds the round trip took.
    pub latency_ms: f64,
    pub error: Option<String>,
}

/// The job queue against the §18.6 limits.
#[derive(Debug, Clone)]
pub struct QueueHealth {
    pub ok: bool,
    pub stats: QueueStats,
    /// Seconds since the oldest queued job was created.
    pub oldest_queued_age: Option<f64>,
    /// Seconds the longest-waiting claimable job has waited for a worker.
    pub oldest_due_age: Option<f64>,
}

/// What the engines have loaded.
#[derive(Debug, Clone)]
pub struct ModelsHealth {
    /// The face engine is loaded (QUALITY, BIOMETRY, COLLECTION work).
    pub ok: bool,
    pub face_engine: std::result::Result<EngineModels, String>,
    /// The visual-zone OCR of DOCUMENTS (`ppocr` or `tesseract`), or why there is none.
    pub documents_ocr: std::result::Result<&'static str, String>,
    /// The video decoder (`ffmpeg <version>`), or why there is none.
    pub video_decoder: std::result::Result<String, String>,
    /// COLLECTION analyses can search the collections.
    pub collections: bool,
}

/// Free space of the filesystem holding the data directory.
#[derive(Debug, Clone)]
pub struct DiskHealth {
    pub ok: bool,
    pub path: String,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub error: Option<String>,
}

impl DiskHealth {
    pub fn free_ratio(&self) -> Option<f64> {
        match (self.free_bytes, self.total_bytes) {
            (Some(f), Some(t)) if t > 0 => Some(f as f64 / t as f64),
            _ => None,
        }
    }
}

/// Webhook failures over the last [`WEBHOOK_WINDOW_SECS`].
#[derive(Debug, Clone)]
pub struct WebhooksHealth {
    /// No delivery was given up in the window (retried attempts that then delivered are fine).
    pub ok: bool,
    pub window_secs: f64,
    pub failures: WebhookFailures,
}

/// Everything `GET /api/health` answers.
#[derive(Debug, Clone)]
pub struct Health {
    pub status: HealthStatus,
    pub time: f64,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub database: Probe,
    pub blob_store: Probe,
    pub queue: std::result::Result<QueueHealth, String>,
    /// Analyses still PROCESSING.
    pub processing_analyses: std::result::Result<u64, String>,
    pub models: ModelsHealth,
    pub disk: DiskHealth,
    pub webhooks: std::result::Result<WebhooksHealth, String>,
}

impl Domain {
    /// `GET /api/health` (GAP-15): ADMIN only (others: code 9). A failing check is reported in
    /// the answer, never as an error of the request.
    pub async fn health(&self, caller: &Caller) -> Result<Health> {
        if caller.user_type != UserType::Admin {
            return Err(Error::Forbidden(None));
        }
        let t = now();
        let database = timed(self.store.ping()).await;
        let blob_store = timed(self.probe_blobs()).await;
        let queue = self.store.queue_stats(t).await.map_err(|e| e.to_string()).map(|stats| {
            let oldest_queued_age = stats.oldest_queued.map(|o| (t - o).max(0.0));
            let oldest_due_age = stats.oldest_due.map(|o| (t - o).max(0.0));
            let ok = stats.due < QUEUE_DUE_MAX && oldest_due_age.is_none_or(|a| a <= QUEUE_WAIT_MAX_SECS);
            QueueHealth { ok, stats, oldest_queued_age, oldest_due_age }
        });
        let processing = ListParams(vec![("state".into(), "PROCESSING".into()), ("limit".into(), "1".into())]);
        let processing_analyses =
            self.list_analyses(caller, &processing).await.map(|p| p.total.unwrap_or(0)).map_err(|e| e.to_string());
        let webhooks =
            self.store.webhook_failures(t - WEBHOOK_WINDOW_SECS, WEBHOOK_RECENT).await.map_err(|e| e.to_string()).map(
                |failures| WebhooksHealth { ok: failures.deliveries == 0, window_secs: WEBHOOK_WINDOW_SECS, failures },
            );
        let models = ModelsHealth {
            ok: self.faces.is_ok(),
            face_engine: self.faces.as_ref().map(|f| f.models()).map_err(Clone::clone),
            documents_ocr: self.ocr.as_ref().map(|o| o.name()).map_err(Clone::clone),
            video_decoder: emerald_vision::ffmpeg_status()
                .map(|f| format!("ffmpeg {} ({})", f.version, f.path.display())),
            collections: self.blacklist.is_some(),
        };
        let disk = self.disk_health();
        let status = if !database.ok || !blob_store.ok {
            HealthStatus::Failing
        } else if models.ok
            && disk.ok
            && queue.as_ref().is_ok_and(|q| q.ok)
            && webhooks.as_ref().is_ok_and(|w| w.ok)
            && processing_analyses.is_ok()
        {
            HealthStatus::Ok
        } else {
            HealthStatus::Degraded
        };
        Ok(Health {
            status,
            time: t,
            backend: self.store.backend(),
            database,
            blob_store,
            queue,
            processing_analyses,
            models,
            disk,
            webhooks,
        })
    }

    /// Write a small blob, read it back, delete it.
    async fn probe_blobs(&self) -> Result<()> {
        let blobs = self.media_services()?.blobs.clone();
        let key = format!("{PROBE_PREFIX}/{}.probe", Uuid::new_v4().simple());
        let bytes = format!("emerald health probe {}", now()).into_bytes();
        blobs.put_bytes(&key, bytes.clone()).await?;
        let read = self.read_blob(&key).await;
        blobs.delete(&key).await?;
        match read? {
            Some(b) if b.as_ref() == bytes.as_slice() => Ok(()),
            Some(_) => Err(Error::internal(anyhow::anyhow!("the blob store returned other bytes than were written"))),
            None => Err(Error::internal(anyhow::anyhow!("a blob just written was not found"))),
        }
    }

    /// Free space where the data directory is (the spool directory's filesystem).
    fn disk_health(&self) -> DiskHealth {
        let dir = match self.spool_dir() {
            Ok(spool) => spool.parent().unwrap_or(spool).to_path_buf(),
            Err(e) => {
                return DiskHealth {
                    ok: false,
                    path: String::new(),
                    free_bytes: None,
                    total_bytes: None,
                    error: Some(e.to_string()),
                }
            }
        };
        let path = dir.display().to_string();
        match free_space(&dir) {
            Ok((free, total)) => {
                let ok = total == 0 || free as f64 / total as f64 >= DISK_FREE_MIN_RATIO;
                DiskHealth { ok, path, free_bytes: Some(free), total_bytes: Some(total), error: None }
            }
            Err(e) => DiskHealth { ok: false, path, free_bytes: None, total_bytes: None, error: Some(e) },
        }
    }
}

async fn timed(f: impl std::future::Future<Output = Result<()>>) -> Probe {
    let t0 = Instant::now();
    let r = f.await;
    let latency_ms = (t0.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    match r {
        Ok(()) => Probe { ok: true, latency_ms, error: None },
        Err(e) => Probe { ok: false, latency_ms, error: Some(e.to_string()) },
    }
}

/// (bytes available to the server, filesystem size).
#[cfg(target_os = "linux")]
fn free_space(dir: &std::path::Path) -> std::result::Result<(u64, u64), String> {
    let s = rustix::fs::statvfs(dir).map_err(|e| format!("statvfs {}: {e}", dir.display()))?;
    Ok((s.f_bavail.saturating_mul(s.f_frsize), s.f_blocks.saturating_mul(s.f_frsize)))
}

#[cfg(not(target_os = "linux"))]
fn free_space(_dir: &std::path::Path) -> std::result::Result<(u64, u64), String> {
    Err("free space is measured on Linux only".to_owned())
}
