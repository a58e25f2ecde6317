//! Login throttle counters, the auth audit and company quota overrides on both backends.
//!
//! A failure is counted by one `INSERT … ON CONFLICT DO UPDATE … RETURNING` (SQLite ≥ 3.35
//! and PostgreSQL alike), so concurrent failures on any number of servers each count once.

use async_trait::async_trait;
use emerald_query::{FieldKind, FieldSpec, ListSpec, Ops, Param};
use uuid::Uuid;

use super::sql::{build_list, build_list_with, BeginWrite, SqlStore};
use crate::domain::model::audit::{AuthEvent, CompanyQuota, StoredAuthEvent};
use crate::domain::model::caller::Scope;
use crate::domain::store::{Guard, ListParams, Page};
use crate::domain::Result;

/// `GET /api/audit/` filters and sort keys. `event` and `outcome` are stored lower-case
/// (`login`, `refresh`, `block`, `unblock`, `throttle_clear`; `success`, `failure`,
/// `throttled`, `blocked`); the list grammar's enums are upper-case, so they are text fields.
pub(crate) static LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "event_id", column: "e.event_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "user_id", column: "e.user_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "company_id", column: "e.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "actor_id", column: "e.actor_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "event", column: "e.event", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "outcome", column: "e.outcome", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "email", column: "e.email", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "client_addr", column: "e.client_addr", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "e.time_created", kind: FieldKind::Time, ops: Ops::DEFAULT },
        FieldSpec { key: "object_type", column: "e.object_type", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "object_id", column: "e.object_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
    ],
    sort_fields: &[("time_created", "e.time_created")],
    default_sort: &[("time_created", true)],
    tiebreak_column: "e.event_id",
    meta: None,
    ignore_keys: &[],
};

const COLUMNS: &str = "SELECT e.event_id, e.time_created, e.event, e.outcome, e.user_id, e.company_id, e.email, \
     e.actor_id, e.client_addr, e.object_type, e.object_id, e.value_before, e.value_after, e.comment";

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: Uuid,
    time_created: f64,
    event: String,
    outcome: String,
    user_id: Option<Uuid>,
    company_id: Option<Uuid>,
    email: Option<String>,
    actor_id: Option<Uuid>,
    client_addr: Option<String>,
    object_type: Option<String>,
    object_id: Option<Uuid>,
    value_before: Option<String>,
    value_after: Option<String>,
    comment: Option<String>,
}

impl From<EventRow> for StoredAuthEvent {
    fn from(r: EventRow) -> Self {
        let EventRow {
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
            value_before,
            value_after,
            comment,
        } = r;
        StoredAuthEvent {
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
            before: value_before,
            after: value_after,
            comment,
        }
    }
}

tx_fn! {
    /// Insert audit events inside an open transaction: the change they record commits (or rolls
    /// back) with them.
    pub(crate) async fn insert_events(tx, events: &[AuthEvent]) -> Result<()> {
        for e in events {
            let object = e.object.as_ref();
            sqlx::query(
                "INSERT INTO auth_events (event_id, time_created, event, outcome, user_id, company_id, email, actor_id, client_addr, \
                 object_type, object_id, value_before, value_after, comment) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(e.event_id)
            .bind(e.time_created)
            .bind(e.event)
            .bind(e.outcome)
            .bind(e.user_id)
            .bind(e.company_id)
            .bind(e.email.clone())
            .bind(e.actor_id)
            .bind(e.client_addr.clone())
            .bind(object.map(|o| o.object_type.to_owned()))
            .bind(object.map(|o| o.object_id))
            .bind(object.and_then(|o| o.before.clone()))
            .bind(object.and_then(|o| o.after.clone()))
            .bind(object.and_then(|o| o.comment.clone()))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Guard for SqlStore {
    async fn login_locked_until(&self, keys: &[String]) -> Result<f64> {
        let mut latest = 0.0f64;
        // One or two keys: a query each keeps the SQL identical on both backends.
        for key in keys {
            let until: Option<f64> = on_db!(&self.db, |pool| sqlx::query_scalar(
                "SELECT locked_until FROM login_throttle WHERE throttle_key = $1"
            )
            .bind(key)
            .fetch_optional(pool)
            .await)?;
            latest = latest.max(until.unwrap_or(0.0));
        }
        Ok(latest)
    }

    async fn record_login_failure(&self, key: &str, now: f64, window_start: f64) -> Result<u32> {
        let n: i64 = on_db!(&self.db, |pool| {
            sqlx::query_scalar(
            "INSERT INTO login_throttle (throttle_key, failures, locked_until, last_failure) VALUES ($1, 1, 0, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
             failures = CASE WHEN login_throttle.last_failure < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
             last_failure = $2 \
             RETURNING CAST(failures AS BIGINT)"
        )
        .bind(key)
        .bind(now)
        .bind(window_start)
        .fetch_one(pool)
        .await
        })?;
        Ok(n.clamp(0, u32::MAX as i64) as u32)
    }

    async fn lock_login(&self, key: &str, until: f64) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query(
            "UPDATE login_throttle SET locked_until = $1 WHERE throttle_key = $2 AND locked_until < $1"
        )
        .bind(until)
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn clear_login_failures(&self, keys: Option<&[String]>) -> Result<u64> {
        let Some(keys) = keys else {
            return Ok(on_db!(&self.db, |pool| sqlx::query("DELETE FROM login_throttle")
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?);
        };
        let mut n = 0;
        for key in keys {
            n += on_db!(&self.db, |pool| sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
                .bind(key)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(n)
    }

    async fn prune_login_failures(&self, before: f64) -> Result<u64> {
        Ok(on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM login_throttle WHERE last_failure < $1 AND locked_until < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    async fn insert_auth_events(&self, events: &[AuthEvent]) -> Result<()> {
        on_db!(&self.db, |pool| {
            // One transaction: a request's objects are recorded together (one commit).
            let mut tx = pool.begin_write().await?;
            insert_events(&mut tx, events).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn list_auth_events(&self, scope: Scope, params: &ListParams) -> Result<Page<StoredAuthEvent>> {
        let mut base = Vec::new();
        if let Scope::Company(c) = scope {
            base.push(("e.company_id = ?", Param::Uuid(c)));
        }
        let l = build_list(self.dialect(), &LIST, params, COLUMNS, "FROM auth_events e", base)?;
        let page: Page<EventRow> = self.fetch_page(&l).await?;
        Ok(page.map(StoredAuthEvent::from))
    }

    async fn auth_events_after(
        &self,
        scope: Scope,
        params: &ListParams,
        after: Option<(f64, Uuid)>,
        limit: u64,
    ) -> Result<Vec<StoredAuthEvent>> {
        let params = params.chunk(limit);
        let mut base: Vec<(String, Vec<Param>)> = Vec::new();
        if let Scope::Company(c) = scope {
            base.push(("e.company_id = ?".to_owned(), vec![Param::Uuid(c)]));
        }
        if let Some((t, id)) = after {
            // One sort key (`time_created`), then the tiebreak `event_id` in the same direction.
            let query = emerald_query::parse(&params.0, &LIST, crate::domain::time::now())?;
            let desc = query.sorting.first().is_none_or(|s| s.desc);
            let op = if desc { "<" } else { ">" };
            base.push((
                format!("(e.time_created {op} ? OR (e.time_created = ? AND e.event_id {op} ?))"),
                vec![Param::Float(t), Param::Float(t), Param::Uuid(id)],
            ));
        }
        let l = build_list_with(self.dialect(), &LIST, &params, COLUMNS, "FROM auth_events e", base)?;
        let page: Page<EventRow> = self.fetch_page(&l).await?;
        Ok(page.items.into_iter().map(StoredAuthEvent::from).collect())
    }

    async fn prune_auth_events(&self, before: f64) -> Result<u64> {
        Ok(on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM auth_events WHERE time_created < $1 AND event <> 'decision'"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    async fn object_events(&self, object_id: Uuid) -> Result<Vec<StoredAuthEvent>> {
        let sql = format!("{COLUMNS} FROM auth_events e WHERE e.object_id = $1 ORDER BY e.time_created, e.event_id");
        let rows: Vec<EventRow> = on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(object_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(StoredAuthEvent::from).collect())
    }

    async fn company_quota(&self, company: Uuid) -> Result<Option<CompanyQuota>> {
        let row: Option<(Option<i32>, Option<i32>)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT requests_per_minute, expensive_per_minute FROM company_quotas WHERE company_id = $1"
        )
        .bind(company)
        .fetch_optional(pool)
        .await)?;
        let to_u32 = |v: Option<i32>| v.map(|n| n.max(0) as u32);
        Ok(row.map(|(r, e)| CompanyQuota { requests_per_minute: to_u32(r), expensive_per_minute: to_u32(e) }))
    }

    async fn set_company_quota(&self, company: Uuid, q: &CompanyQuota, audit: &[AuthEvent]) -> Result<bool> {
        let to_i32 = |v: Option<u32>| v.map(|n| n.min(i32::MAX as u32) as i32);
        let (r, e) = (to_i32(q.requests_per_minute), to_i32(q.expensive_per_minute));
        let clear = r.is_none() && e.is_none();
        // The override and its audit event in one transaction. The write comes first: a
        // SQLite transaction that reads before it writes cannot wait for a concurrent writer
        // (SQLITE_BUSY at once, its snapshot being stale), one that writes first waits out the
        // busy timeout like any write. A missing company writes nothing and rolls back.
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let company_exists = if clear {
                sqlx::query("DELETE FROM company_quotas WHERE company_id = $1").bind(company).execute(&mut *tx).await?;
                let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM companies WHERE company_id = $1")
                    .bind(company)
                    .fetch_optional(&mut *tx)
                    .await?;
                exists.is_some()
            } else {
                sqlx::query(
                    "INSERT INTO company_quotas (company_id, requests_per_minute, expensive_per_minute) \
                     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM companies WHERE company_id = $1) \
                     ON CONFLICT (company_id) DO UPDATE SET requests_per_minute = $2, expensive_per_minute = $3",
                )
                .bind(company)
                .bind(r)
                .bind(e)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0
            };
            if !company_exists {
                return Ok(false);
            }
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
