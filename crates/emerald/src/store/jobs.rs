//! The durable job queue and webhook deliveries on both backends (docs/analyses.md).
//!
//! A claim is one statement: `UPDATE jobs … WHERE job_id = (SELECT … LIMIT 1) RETURNING …`.
//! On PostgreSQL the sub-select takes `FOR UPDATE SKIP LOCKED`, so concurrent workers of any
//! number of processes each get a different job without waiting on each other. On SQLite an
//! `UPDATE` takes the database's single write lock before it reads, so the statement is
//! atomic there too (one writer at a time).

use async_trait::async_trait;
use uuid::Uuid;

use super::sql::{BeginWrite, Db, SqlStore};
use crate::domain::store::{
    ClaimedJob, DeliveryAttempt, DeliveryPolicy, JobKind, JobQueue, QueueStats, Wakeup, WakeupStream, WebhookAttempt,
    WebhookDelivery, WebhookFailures, Webhooks,
};
use crate::domain::{Error, Result};

/// `NOTIFY` channels, suffixed with the MD5 of the schema's name, so that deployments sharing a
/// database (or test runs, one schema each) do not wake each other, and the name stays within
/// PostgreSQL's 63 bytes (`LISTEN` would cut a longer name, `pg_notify` refuse it).
const JOBS_CHANNEL: &str = "emerald_jobs_";
const FINISHED_CHANNEL: &str = "emerald_finished_";

/// Fair claiming: among due jobs, those of the company (NULL: ADMIN/OPERATOR folders and
/// webhooks, one lane) with the fewest running jobs first, then the oldest. One company's
/// backlog therefore takes at most its share of the workers while another company waits. The
/// ordering sorts the due jobs (sub-millisecond for thousands; see docs/abuse.md).
const CLAIM_SQL: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = $1, worker = $2, time_updated = $3 \
    WHERE job_id = (SELECT j.job_id FROM jobs j \
    LEFT JOIN (SELECT company_id, COUNT(*) AS n FROM jobs WHERE status = 'running' AND lease_until >= $3 GROUP BY company_id) r \
    ON r.company_id {SAME} j.company_id \
    WHERE (j.status = 'queued' AND j.run_after <= $3) OR (j.status = 'running' AND j.lease_until < $3) \
    ORDER BY COALESCE(r.n, 0), j.run_after, j.time_created LIMIT 1{LOCK}) \
    RETURNING job_id, kind, ref_id, attempts, max_attempts, last_error";

#[async_trait]
impl JobQueue for SqlStore {
    async fn claim_job(&self, worker: &str, now: f64, lease_secs: f64) -> Result<Option<ClaimedJob>> {
        let (lock, same) = match self.db {
            Db::Postgres(_) => (" FOR UPDATE OF j SKIP LOCKED", "IS NOT DISTINCT FROM"),
            Db::Sqlite(_) => ("", "IS"),
        };
        let sql = CLAIM_SQL.replace("{LOCK}", lock).replace("{SAME}", same);
        let row: Option<(Uuid, String, Uuid, i32, i32, Option<String>)> = on_db!(&self.db, |pool| {
            sqlx::query_as(&sql).bind(now + lease_secs).bind(worker).bind(now).fetch_optional(pool).await
        })?;
        let Some((job_id, kind, ref_id, attempts, max_attempts, last_error)) = row else { return Ok(None) };
        Ok(Some(ClaimedJob {
            job_id,
            kind: JobKind::parse_stored(&kind)?,
            ref_id,
            attempts: attempts.max(0) as u32,
            max_attempts: max_attempts.max(0) as u32,
            last_error,
        }))
    }

    async fn extend_lease(&self, job_id: Uuid, worker: &str, until: f64) -> Result<bool> {
        let n = on_db!(&self.db, |pool| {
            sqlx::query("UPDATE jobs SET lease_until = $1 WHERE job_id = $2 AND worker = $3 AND status = 'running'")
                .bind(until)
                .bind(job_id)
                .bind(worker)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    async fn complete_job(&self, job_id: Uuid) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM jobs WHERE job_id = $1")
            .bind(job_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    async fn retry_job(&self, job_id: Uuid, run_after: f64, error: &str) -> Result<()> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', run_after = $1, lease_until = NULL, worker = NULL, last_error = $2, time_updated = $3 \
                 WHERE job_id = $4",
            )
            .bind(run_after)
            .bind(error)
            .bind(crate::domain::time::now())
            .bind(job_id)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    async fn count_jobs(&self) -> Result<u64> {
        let n: i64 = on_db!(&self.db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(pool).await)?;
        Ok(n as u64)
    }

    async fn queue_stats(&self, now: f64) -> Result<QueueStats> {
        const SQL: &str = "SELECT \
            COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0), \
            COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0), \
            COALESCE(SUM(CASE WHEN (status = 'queued' AND run_after <= $1) OR (status = 'running' AND lease_until < $1) \
                THEN 1 ELSE 0 END), 0), \
            MIN(CASE WHEN status = 'queued' THEN time_created END), \
            MIN(CASE WHEN status = 'queued' AND run_after <= $1 THEN run_after \
                WHEN status = 'running' AND lease_until < $1 THEN lease_until END) \
            FROM jobs";
        let (queued, running, due, oldest_queued, oldest_due): (i64, i64, i64, Option<f64>, Option<f64>) =
            on_db!(&self.db, |pool| sqlx::query_as(SQL).bind(now).fetch_one(pool).await)?;
        Ok(QueueStats {
            queued: queued.max(0) as u64,
            running: running.max(0) as u64,
            due: due.max(0) as u64,
            oldest_queued,
            oldest_due,
        })
    }

    async fn announce(&self, wakeup: Wakeup) -> Result<()> {
        let Db::Postgres(pool) = &self.db else { return Ok(()) };
        let (channel, payload) = match wakeup {
            Wakeup::JobsQueued => (JOBS_CHANNEL, String::new()),
            Wakeup::GroupFinished(group) => (FINISHED_CHANNEL, group.to_string()),
        };
        sqlx::query("SELECT pg_notify($1 || md5(current_schema()), $2)")
            .bind(channel)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    async fn wakeups(&self) -> Result<Option<WakeupStream>> {
        use futures::StreamExt;
        let Db::Postgres(pool) = &self.db else { return Ok(None) };
        let schema: String = sqlx::query_scalar("SELECT md5(current_schema())").fetch_one(pool).await?;
        let (jobs, finished) = (format!("{JOBS_CHANNEL}{schema}"), format!("{FINISHED_CHANNEL}{schema}"));
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen_all([jobs.as_str(), finished.as_str()]).await?;
        let stream = listener.into_stream().filter_map(move |n| {
            let item = match n {
                Err(e) => Some(Err(Error::from(e))),
                Ok(n) if n.channel() == jobs => Some(Ok(Wakeup::JobsQueued)),
                Ok(n) if n.channel() == finished => n.payload().parse().ok().map(|g| Ok(Wakeup::GroupFinished(g))),
                Ok(_) => None,
            };
            std::future::ready(item)
        });
        Ok(Some(stream.boxed()))
    }
}

type DeliveryRow = (Uuid, Uuid, String, String, i32, Option<i32>, Option<String>, f64, f64);

const DELIVERY_COLUMNS: &str =
    "SELECT delivery_id, folder_id, url, status, attempts, last_http_status, last_error, time_created, time_updated FROM webhook_deliveries";

fn delivery(r: DeliveryRow) -> WebhookDelivery {
    let (delivery_id, folder_id, url, status, attempts, last_http_status, last_error, time_created, time_updated) = r;
    WebhookDelivery {
        delivery_id,
        folder_id,
        url,
        status,
        attempts: attempts.max(0) as u32,
        last_http_status: last_http_status.map(|s| s.clamp(0, u16::MAX as i32) as u16),
        last_error,
        time_created,
        time_updated,
    }
}

#[async_trait]
impl Webhooks for SqlStore {
    async fn get_delivery(&self, id: Uuid) -> Result<Option<WebhookDelivery>> {
        let sql = format!("{DELIVERY_COLUMNS} WHERE delivery_id = $1");
        let row: Option<DeliveryRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(delivery))
    }

    async fn record_delivery_attempt(&self, id: Uuid, a: &DeliveryAttempt) -> Result<()> {
        let outcome = match a.status {
            "pending" => "retrying",
            other => other,
        };
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_http_status = $2, last_error = $3, time_updated = $4 \
                 WHERE delivery_id = $5",
            )
            .bind(a.status)
            .bind(a.http_status.map(i32::from))
            .bind(&a.error)
            .bind(a.time + a.duration)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // Only while the delivery exists (its folder may have been deleted meanwhile).
            sqlx::query(
                "INSERT INTO webhook_attempts (attempt_id, delivery_id, folder_id, attempt, url, time_created, duration, http_status, error, outcome) \
                 SELECT $1, delivery_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM webhook_deliveries WHERE delivery_id = $10",
            )
            .bind(Uuid::new_v4())
            .bind(a.folder_id)
            .bind(i32::try_from(a.attempt).unwrap_or(i32::MAX))
            .bind(&a.url)
            .bind(a.time)
            .bind(a.duration)
            .bind(a.http_status.map(i32::from))
            .bind(&a.error)
            .bind(outcome)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    async fn deliveries_of(&self, folder_id: Uuid) -> Result<Vec<WebhookDelivery>> {
        let sql = format!("{DELIVERY_COLUMNS} WHERE folder_id = $1 ORDER BY time_created");
        let rows: Vec<DeliveryRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(folder_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(delivery).collect())
    }

    async fn attempts_of(&self, folder_id: Uuid) -> Result<Vec<WebhookAttempt>> {
        let sql = format!("{ATTEMPT_COLUMNS} WHERE folder_id = $1 ORDER BY time_created, attempt");
        let rows: Vec<AttemptRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(folder_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(attempt).collect())
    }

    async fn queue_redelivery(&self, folder_id: Uuid, url: &str, webhooks: DeliveryPolicy, t: f64) -> Result<Uuid> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = super::analyses::queue_delivery(&mut tx, folder_id, url, webhooks, t).await?;
            tx.commit().await?;
            Ok::<_, Error>(id)
        })
    }

    async fn webhook_failures(&self, since: f64, limit: u32) -> Result<WebhookFailures> {
        let (attempts, deliveries): (i64, i64) = on_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0) \
                 FROM webhook_attempts WHERE time_created >= $1 AND outcome <> 'delivered'",
            )
            .bind(since)
            .fetch_one(pool)
            .await
        })?;
        let sql = format!(
            "{ATTEMPT_COLUMNS} WHERE time_created >= $1 AND outcome <> 'delivered' ORDER BY time_created DESC LIMIT $2"
        );
        let rows: Vec<AttemptRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(since).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(WebhookFailures {
            attempts: attempts.max(0) as u64,
            deliveries: deliveries.max(0) as u64,
            recent: rows.into_iter().map(attempt).collect(),
        })
    }
}

type AttemptRow = (Uuid, Uuid, i32, String, f64, f64, Option<i32>, Option<String>, String);

const ATTEMPT_COLUMNS: &str =
    "SELECT delivery_id, folder_id, attempt, url, time_created, duration, http_status, error, outcome \
    FROM webhook_attempts";

fn attempt(r: AttemptRow) -> WebhookAttempt {
    let (delivery_id, folder_id, attempt, url, time_created, duration, http_status, error, outcome) = r;
    WebhookAttempt {
        delivery_id,
        folder_id,
        attempt: attempt.max(0) as u32,
        url,
        time_created,
        duration,
        http_status: http_status.map(|s| s.clamp(0, u16::MAX as i32) as u16),
        error,
        outcome,
    }
}
