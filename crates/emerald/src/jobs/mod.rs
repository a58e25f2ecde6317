//! Workers over the durable job queue (docs/analyses.md): claim a job, hold its lease while
//! working (a heartbeat renews it), run it, record the outcome. Two kinds: analyses
//! ([`analysis`]) and webhook deliveries ([`webhook`]).
//!
//! * Wake-up: a local enqueue notifies the workers at once; on PostgreSQL an enqueue in another
//!   process reaches them through `LISTEN`/`NOTIFY` ([`relay_wakeups`]); a timer polls the
//!   store every `QueueSettings::poll` as the backstop (retries that came due, a lost
//!   listening connection, processes sharing one SQLite file).
//! * Crash safety: a job whose worker died keeps its row; once its lease expires another
//!   worker claims it (an attempt is counted per claim); past `max_attempts` it is given up
//!   and its analysis FAILS with the reason.
//! * A store error while running a job puts it back with a backoff; a bad media fails its
//!   analysis, never the worker; an engine panic is caught by the blocking pool.
//! * Shutdown: workers stop claiming, finish the job in hand, and return.

pub mod analysis;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::store::{ClaimedJob, JobKind, Wakeup, WakeupStream};
use crate::domain::time::now;
use crate::domain::{Domain, Result};

/// Pause before listening again after the listening connection was lost.
const RELISTEN: Duration = Duration::from_secs(1);
/// Seconds before a job whose run hit a store error is tried again (doubling).
const RETRY_BASE_SECS: f64 = 1.0;
/// Longest a stopping worker waits for the job in hand.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// How this process's workers run.
#[derive(Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    /// Lease of a claimed job; renewed every third of it while the job runs.
    pub lease: Duration,
    pub webhook: webhook::WebhookSettings,
    /// An analysis PROCESSING for longer is FAILED as expired; checked every `expire_beat`
    /// by every process, whatever its role.
    pub expire_after: Duration,
    pub expire_beat: Duration,
}

/// The running workers of this process.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Start `settings.workers` workers (none when it is 0).
    pub fn start(domain: Domain, settings: WorkerSettings) -> Workers {
        let (stop, rx) = watch::channel(false);
        let settings = Arc::new(settings);
        let prefix = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let mut handles: Vec<JoinHandle<()>> = (0..settings.workers)
            .map(|i| tokio::spawn(worker(domain.clone(), settings.clone(), format!("{prefix}-{i}"), rx.clone())))
            .collect();
        handles.push(tokio::spawn(expire_beat(domain, settings, rx)));
        Workers { stop, handles }
    }

    /// Stop claiming; wait for the jobs in hand (bounded), then return.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let abort = h.abort_handle();
            if tokio::time::timeout(STOP_GRACE, h).await.is_err() {
                tracing::warn!("a worker did not stop in time; its job will be claimed again after its lease");
                abort.abort();
            }
        }
    }
}

/// Every `expire_beat`, FAIL the analyses PROCESSING for longer than `expire_after`.
async fn expire_beat(domain: Domain, settings: Arc<WorkerSettings>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(settings.expire_beat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match analysis::expire(&domain, settings.expire_after.as_secs_f64()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(analyses = n, "expired analyses that did not finish in time"),
            Err(e) => tracing::warn!(error = %e, "expiring analyses failed"),
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "emerald".into())
}

async fn worker(domain: Domain, settings: Arc<WorkerSettings>, id: String, mut stop: watch::Receiver<bool>) {
    tracing::debug!(worker = %id, "worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let enqueued = domain.signals.enqueued.clone();
        let notified = enqueued.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match run_one(&domain, &settings, &id).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(worker = %id, error = %e, "claiming a job failed"),
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(domain.queue.poll) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::debug!(worker = %id, "worker stopped");
}

/// Hand the wake-ups other processes announce (PostgreSQL `LISTEN`) to this process's workers
/// and waiting requests, until aborted. A lost connection is opened again a second later;
/// what was announced meanwhile is found by polling, and the workers look at once.
pub async fn relay_wakeups(domain: Domain, mut wakeups: WakeupStream) {
    use futures::StreamExt;
    loop {
        match wakeups.next().await {
            Some(Ok(w)) => domain.wake(w),
            Some(Err(e)) => {
                // Not in a tight loop, whatever the listener does after an error.
                tracing::warn!(error = %e, "listening for other processes' wake-ups failed");
                tokio::time::sleep(RELISTEN).await;
            }
            None => loop {
                tokio::time::sleep(RELISTEN).await;
                match domain.store.wakeups().await {
                    Ok(Some(s)) => {
                        wakeups = s;
                        domain.wake(Wakeup::JobsQueued);
                        break;
                    }
                    Ok(None) => return,
                    Err(e) => tracing::warn!(error = %e, "listening for other processes' wake-ups again failed"),
                }
            },
        }
    }
}

/// Claim one due job and run it. False when none was due. Public so tests can drive the
/// queue step by step.
pub async fn run_one(domain: &Domain, settings: &WorkerSettings, worker: &str) -> Result<bool> {
    let lease = settings.lease.as_secs_f64();
    let Some(job) = domain.store.claim_job(worker, now(), lease).await? else { return Ok(false) };
    let heartbeat = tokio::spawn(heartbeat(domain.clone(), job.job_id, worker.to_owned(), settings.lease));
    let outcome = match job.kind {
        JobKind::Analysis => analysis::run(domain, &job).await,
        JobKind::Webhook => webhook::run(domain, &settings.webhook, &job).await,
    };
    heartbeat.abort();
    if let Err(e) = outcome {
        on_error(domain, &job, &e).await;
    }
    Ok(true)
}

/// A store or blob error interrupted the job: try again later, or give up.
async fn on_error(domain: &Domain, job: &ClaimedJob, e: &crate::domain::Error) {
    tracing::warn!(job_id = %job.job_id, kind = job.kind.as_str(), attempt = job.attempts, error = %e, "job failed");
    let message = e.to_string();
    let result = if job.attempts >= job.max_attempts {
        match job.kind {
            JobKind::Analysis => {
                analysis::give_up(
                    domain,
                    job,
                    &format!("processing failed {} times; last error: {message}", job.attempts),
                )
                .await
            }
            JobKind::Webhook => webhook::give_up(domain, job, &message).await,
        }
    } else {
        let wait = crate::domain::analyses::webhooks::backoff(RETRY_BASE_SECS, job.attempts);
        domain.store.retry_job(job.job_id, now() + wait, &message).await
    };
    if let Err(e2) = result {
        // The lease runs out and the job is claimed again: nothing is lost.
        tracing::error!(job_id = %job.job_id, error = %e2, "recording a job failure failed");
    }
}

/// Renew the lease every third of it until aborted.
async fn heartbeat(domain: Domain, job_id: uuid::Uuid, worker: String, lease: Duration) {
    let period = lease / 3;
    loop {
        tokio::time::sleep(period).await;
        match domain.store.extend_lease(job_id, &worker, now() + lease.as_secs_f64()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(%job_id, "lost the lease of a running job");
                return;
            }
            Err(e) => tracing::warn!(%job_id, error = %e, "renewing a job lease failed"),
        }
    }
}
