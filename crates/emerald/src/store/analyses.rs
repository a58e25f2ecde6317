//! Analyses on both backends (spec §8): rows, lists, results, deletion, and the folder status
//! recomputed in the same transaction as every change.
//!
//! Serialising per folder: every transaction that changes a folder's analyses starts by
//! updating the folder row. On PostgreSQL that row lock orders concurrent finishers of the same
//! folder (so exactly one of them sees the folder done and queues its webhook); on SQLite a
//! transaction that starts with a write holds the single write lock until it commits.

use async_trait::async_trait;
use emerald_query::{FieldKind, FieldSpec, ListSpec, MetaSpec, Ops, Param};
use serde_json::{json, Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use super::folders::{enum_values, placeholders, rows_by_ids, visibility_conditions};
use super::guard::insert_events;
use super::meta::write_meta_index;
use super::sql::{build_list_with, BeginWrite, Db, SqlStore};
use crate::domain::analyses::webhooks::endpoint_of;
use crate::domain::model::analysis::{
    folder_status, Analysis, AnalysisError, AnalysisParams, AnalysisState, AnalysisStatusRow, AnalysisType,
    MediaResult, Resolution,
};
use crate::domain::model::audit::AuthEvent;
use crate::domain::model::metadata::{MetaData, ObjectKind};
use crate::domain::store::{
    Analyses, AnalysisFinish, Decision, DeliveryPolicy, FinishEffect, JobKind, ListParams, NewJob, Page, Visibility,
};
use crate::domain::{Error, Result};

pub(crate) const ANALYSIS_COLUMNS: &str = "SELECT a.analyse_id, a.folder_id, a.company_id, a.user_id, a.group_id, a.type, a.state, \
    a.resolution_status, a.resolution_comment, a.threshold, a.params, a.source_media, a.results_data, a.results_media, a.error, \
    a.collection_alias, a.meta_data, a.technical_meta_data, a.time_created, a.time_updated, a.time_finished, \
    a.decided_by, a.decided_at, a.threshold_min";

/// `GET /api/analyses/` and a folder's analyses (spec §8.7). `state` is compiled by
/// [`state_condition`]: it matches `state` or `resolution_status` (spec §8.7 [I]).
pub(crate) static ANALYSIS_LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "analyse_id", column: "a.analyse_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "analysis_id", column: "a.analyse_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "folder_id", column: "a.folder_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "group_id", column: "a.group_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "company_id", column: "a.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "user_id", column: "a.user_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec {
            key: "type",
            column: "a.type",
            kind: FieldKind::Enum(&["QUALITY", "BIOMETRY", "COLLECTION", "DOCUMENTS", "LIVENESS=QUALITY"]),
            ops: Ops::DEFAULT,
        },
        FieldSpec {
            key: "resolution_status",
            column: "a.resolution_status",
            kind: FieldKind::Enum(&["PROCESSING", "FAILED", "SUCCESS", "DECLINED", "OPERATOR_REQUIRED"]),
            ops: Ops::DEFAULT,
        },
        FieldSpec { key: "time_created", column: "a.time_created", kind: FieldKind::Time, ops: Ops::ALL },
        FieldSpec { key: "time_updated", column: "a.time_updated", kind: FieldKind::Time, ops: Ops::ALL },
    ],
    sort_fields: &[("time_created", "a.time_created"), ("time_updated", "a.time_updated")],
    default_sort: &[("time_created", true)],
    tiebreak_column: "a.analyse_id",
    meta: Some(MetaSpec { object_kind: "analysis", id_column: "a.analyse_id" }),
    ignore_keys: &[],
};

/// Values a `state` filter accepts: states and results alike.
pub(crate) const STATE_VALUES: [&str; 6] =
    ["PROCESSING", "FAILED", "FINISHED", "SUCCESS", "DECLINED", "OPERATOR_REQUIRED"];

/// `state=` / `state.exclude=`: matches the analysis `state` or its `resolution_status`.
fn state_condition(params: &ListParams) -> Result<Vec<(String, Vec<Param>)>> {
    let mut out = Vec::new();
    for (key, negate) in [("state", false), ("state.exclude", true)] {
        let values = enum_values(params, key)?;
        if values.is_empty() {
            continue;
        }
        if let Some(bad) = values.iter().find(|v| !STATE_VALUES.contains(&v.as_str())) {
            return Err(Error::invalid_value(
                format!("Invalid {key} value {bad}: expected one of {}", STATE_VALUES.join(", ")),
                json!({ "key_path": key }),
            ));
        }
        let ph = placeholders(values.len());
        let cond = format!("a.state IN ({ph}) OR a.resolution_status IN ({ph})");
        let cond = if negate { format!("NOT ({cond})") } else { cond };
        let mut ps: Vec<Param> = values.iter().cloned().map(Param::Text).collect();
        ps.extend(values.into_iter().map(Param::Text));
        out.push((cond, ps));
    }
    Ok(out)
}

/// `person_id=` (GAP-9): COLLECTION analyses that matched one of these persons.
fn person_condition(params: &ListParams) -> Result<Vec<(String, Vec<Param>)>> {
    let mut ids = Vec::new();
    for v in enum_values(params, "person_id")? {
        let id = Uuid::parse_str(&v).map_err(|_| {
            Error::invalid_value(
                format!("Invalid person_id value {v}: expected a UUID"),
                json!({ "key_path": "person_id" }),
            )
        })?;
        ids.push(Param::Uuid(id));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cond = format!(
        "EXISTS (SELECT 1 FROM collection_matches cm WHERE cm.analyse_id = a.analyse_id AND cm.person_id IN ({}))",
        placeholders(ids.len())
    );
    Ok(vec![(cond, ids)])
}

#[derive(sqlx::FromRow)]
pub(crate) struct AnalysisRow {
    analyse_id: Uuid,
    folder_id: Uuid,
    company_id: Option<Uuid>,
    user_id: Option<Uuid>,
    group_id: Uuid,
    #[sqlx(rename = "type")]
    analysis_type: String,
    state: String,
    resolution_status: String,
    resolution_comment: Option<String>,
    threshold: Option<f64>,
    params: Json<Value>,
    source_media: Json<Value>,
    results_data: Option<Json<Value>>,
    results_media: Json<Value>,
    error: Option<Json<Value>>,
    collection_alias: Option<String>,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
    time_finished: Option<f64>,
    decided_by: Option<Uuid>,
    decided_at: Option<f64>,
    threshold_min: Option<f64>,
}

fn stored<T>(what: &str) -> impl FnOnce(T) -> Error + '_
where
    T: std::fmt::Display,
{
    move |e| Error::internal(anyhow::anyhow!("stored analysis {what}: {e}"))
}

impl TryFrom<AnalysisRow> for Analysis {
    type Error = Error;

    fn try_from(r: AnalysisRow) -> Result<Self> {
        let AnalysisRow {
            analyse_id,
            folder_id,
            company_id,
            user_id,
            group_id,
            analysis_type,
            state,
            resolution_status,
            resolution_comment,
            threshold,
            params,
            source_media,
            results_data,
            results_media,
            error,
            collection_alias,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
            time_finished,
            decided_by,
            decided_at,
            threshold_min,
        } = r;
        let params = match params.0 {
            Value::Object(m) => AnalysisParams::from_raw(m, "params").map_err(stored("params"))?,
            _ => AnalysisParams::from_raw(Map::new(), "params")?,
        };
        let source_media: Vec<Uuid> = serde_json::from_value(source_media.0).map_err(stored("source_media"))?;
        let results_media: Vec<MediaResult> =
            serde_json::from_value(results_media.0).map_err(stored("results_media"))?;
        let error = error.map(|e| AnalysisError {
            code: e.0.get("error_code").and_then(Value::as_u64).unwrap_or(0) as u16,
            message: e.0.get("error_message").and_then(Value::as_str).unwrap_or_default().to_owned(),
        });
        Ok(Analysis {
            analyse_id,
            folder_id,
            company_id,
            user_id: user_id.unwrap_or_else(Uuid::nil),
            group_id,
            kind: AnalysisType::parse_stored(&analysis_type)?,
            state: AnalysisState::parse_stored(&state)?,
            resolution_status: Resolution::parse_stored(&resolution_status)?,
            resolution_comment,
            threshold,
            threshold_min,
            params,
            source_media,
            results_data: results_data.and_then(|v| match v.0 {
                Value::Object(m) => Some(m),
                _ => None,
            }),
            results_media,
            error,
            collection_alias,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
            time_finished,
            decided_by,
            decided_at,
        })
    }
}

fn error_json(e: &Option<AnalysisError>) -> Option<Json<Value>> {
    e.as_ref().map(|e| Json(json!({ "error_code": e.code, "error_message": e.message })))
}

fn results_media_json(m: &[MediaResult]) -> Result<Json<Value>> {
    serde_json::to_value(m).map(Json).map_err(Error::internal)
}

/// Analyses of these folders, oldest first.
pub(crate) async fn analyses_of(db: &Db, folder_ids: &[Uuid]) -> Result<Vec<Analysis>> {
    let sql = |ids: &str| {
        format!("{ANALYSIS_COLUMNS} FROM analyses a WHERE a.folder_id IN ({ids}) ORDER BY a.time_created, a.analyse_id")
    };
    rows_by_ids::<AnalysisRow>(db, sql, folder_ids).await?.into_iter().map(Analysis::try_from).collect()
}

/// Inside an open transaction `$tx`: recompute the folder's status from its analyses and
/// store it; evaluates to `(FolderStatus, technical_meta_data)` of the folder.
macro_rules! recompute_folder {
    ($tx:expr, $folder_id:expr, $t:expr) => {{
        let rows: Vec<(Uuid, String, String, f64, Option<f64>)> = sqlx::query_as(
            "SELECT group_id, state, resolution_status, time_created, time_finished FROM analyses WHERE folder_id = $1",
        )
        .bind($folder_id)
        .fetch_all(&mut *$tx)
        .await?;
        let mut status_rows = Vec::with_capacity(rows.len());
        for (group_id, state, resolution, time_created, time_finished) in rows {
            status_rows.push(AnalysisStatusRow {
                group_id,
                state: AnalysisState::parse_stored(&state)?,
                resolution: Resolution::parse_stored(&resolution)?,
                time_created,
                time_finished,
            });
        }
        let (status, result) = folder_status(&status_rows);
        sqlx::query(
            "UPDATE folders SET resolution_status = $1, system_resolution = $2, time_updated = $3 WHERE folder_id = $4",
        )
        .bind(status.as_str())
        .bind(result.map(|r| r.as_str()))
        .bind($t)
        .bind($folder_id)
        .execute(&mut *$tx)
        .await?;
        let technical: Option<Json<Value>> =
            sqlx::query_scalar("SELECT technical_meta_data FROM folders WHERE folder_id = $1")
                .bind($folder_id)
                .fetch_optional(&mut *$tx)
                .await?;
        (status, MetaData::from_stored(technical.map(|j| j.0).unwrap_or(Value::Null)))
    }};
}

/// Inside an open transaction `$tx`: enqueue jobs.
macro_rules! insert_jobs {
    ($tx:expr, $jobs:expr, $t:expr) => {{
        for j in $jobs {
            let j: &NewJob = j;
            sqlx::query(
                "INSERT INTO jobs (job_id, kind, ref_id, status, attempts, max_attempts, run_after, time_created, time_updated, company_id) \
                 VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6, $7)",
            )
            .bind(j.job_id)
            .bind(j.kind.as_str())
            .bind(j.ref_id)
            .bind(j.max_attempts as i32)
            .bind(j.run_after)
            .bind($t)
            .bind(j.company_id)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

tx_fn! {
    /// Queue a webhook delivery of the folder to `url`, with its job; returns its id.
    pub(super) async fn queue_delivery(tx, folder_id: Uuid, url: &str, webhooks: DeliveryPolicy, t: f64) -> Result<Uuid> {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, folder_id, url, status, attempts, time_created, time_updated) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
        )
        .bind(id)
        .bind(folder_id)
        .bind(url)
        .bind(t)
        .execute(&mut **tx)
        .await?;
        let job = NewJob { job_id: Uuid::new_v4(), kind: JobKind::Webhook, ref_id: id, max_attempts: webhooks.max_attempts, run_after: t, company_id: None };
        insert_jobs!(&mut **tx, [&job], t);
        Ok(id)
    }
}

#[async_trait]
impl Analyses for SqlStore {
    async fn insert_analyses(
        &self,
        folder_id: Uuid,
        analyses: &[Analysis],
        jobs: &[NewJob],
        resolution_endpoint: Option<&str>,
        t: f64,
        audit: &[AuthEvent],
    ) -> Result<bool> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query(
                "UPDATE folders SET resolution_status = 'PROCESSING', system_resolution = 'PROCESSING', time_updated = $1 WHERE folder_id = $2",
            )
            .bind(t)
            .bind(folder_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            if let Some(url) = resolution_endpoint {
                let technical: Json<Value> =
                    sqlx::query_scalar("SELECT technical_meta_data FROM folders WHERE folder_id = $1")
                        .bind(folder_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let mut map = MetaData::from_stored(technical.0).as_map().clone();
                map.insert(crate::domain::analyses::webhooks::ENDPOINT_KEY.into(), url.into());
                sqlx::query("UPDATE folders SET technical_meta_data = $1 WHERE folder_id = $2")
                    .bind(Json(Value::Object(map)))
                    .bind(folder_id)
                    .execute(&mut *tx)
                    .await?;
            }
            for a in analyses {
                sqlx::query(
                    "INSERT INTO analyses (analyse_id, folder_id, company_id, user_id, group_id, type, state, resolution_status, \
                     resolution_comment, threshold, params, source_media, results_data, results_media, error, collection_alias, \
                     meta_data, technical_meta_data, time_created, time_updated, time_finished, threshold_min) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
                     $22)",
                )
                .bind(a.analyse_id)
                .bind(a.folder_id)
                .bind(a.company_id)
                .bind(a.user_id)
                .bind(a.group_id)
                .bind(a.kind.as_str())
                .bind(a.state.as_str())
                .bind(a.resolution_status.as_str())
                .bind(&a.resolution_comment)
                .bind(a.threshold)
                .bind(Json(Value::Object(a.params.raw.clone())))
                .bind(Json(json!(a.source_media)))
                .bind(a.results_data.clone().map(|m| Json(Value::Object(m))))
                .bind(results_media_json(&a.results_media)?)
                .bind(error_json(&a.error))
                .bind(&a.collection_alias)
                .bind(Json(a.meta_data.to_value()))
                .bind(Json(a.technical_meta_data.to_value()))
                .bind(a.time_created)
                .bind(a.time_updated)
                .bind(a.time_finished)
                .bind(a.threshold_min)
                .execute(&mut *tx)
                .await?;
                write_meta_index(&mut tx, ObjectKind::Analysis, a.analyse_id, &a.meta_data).await?;
            }
            insert_jobs!(tx, jobs, t);
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn get_analysis(&self, id: Uuid) -> Result<Option<Analysis>> {
        let sql = format!("{ANALYSIS_COLUMNS} FROM analyses a WHERE a.analyse_id = $1");
        let row: Option<AnalysisRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(Analysis::try_from).transpose()
    }

    async fn list_analyses(
        &self,
        vis: Visibility,
        folder_id: Option<Uuid>,
        params: &ListParams,
    ) -> Result<Page<Analysis>> {
        let mut base = visibility_conditions(vis, "a");
        if let Some(f) = folder_id {
            base.push(("a.folder_id = ?".into(), vec![Param::Uuid(f)]));
        }
        base.extend(state_condition(params)?);
        base.extend(person_condition(params)?);
        let l = build_list_with(self.dialect(), &ANALYSIS_LIST, params, ANALYSIS_COLUMNS, "FROM analyses a", base)?;
        Ok(fetch_page!(&self.db, l, AnalysisRow, Analysis::try_from))
    }

    async fn finish_analysis(&self, d: &AnalysisFinish, webhooks: DeliveryPolicy) -> Result<Option<FinishEffect>> {
        let results_media = results_media_json(&d.results_media)?;
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // Lock the folder first (see the module doc).
            sqlx::query("UPDATE folders SET time_updated = $1 WHERE folder_id = (SELECT folder_id FROM analyses WHERE analyse_id = $2)")
                .bind(d.time)
                .bind(d.analyse_id)
                .execute(&mut *tx)
                .await?;
            let row: Option<(Uuid, Uuid, Option<Uuid>)> = sqlx::query_as(
                "UPDATE analyses SET state = $1, resolution_status = $2, results_data = $3, results_media = $4, error = $5, \
                 collection_alias = $6, time_finished = $7, time_updated = $7 WHERE analyse_id = $8 AND state = 'PROCESSING' \
                 RETURNING folder_id, group_id, company_id",
            )
            .bind(d.state.as_str())
            .bind(d.resolution.as_str())
            .bind(d.results_data.clone().map(|m| Json(Value::Object(m))))
            .bind(&results_media)
            .bind(error_json(&d.error))
            .bind(&d.collection_alias)
            .bind(d.time)
            .bind(d.analyse_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((folder_id, group_id, _company)) = row else {
                return Ok(None);
            };
            for m in &d.matches {
                insert_collection_match!(&mut *tx, m)?;
            }
            sqlx::query("DELETE FROM jobs WHERE ref_id = $1 AND kind = $2")
                .bind(d.analyse_id)
                .bind(JobKind::Analysis.as_str())
                .execute(&mut *tx)
                .await?;
            let (status, technical) = recompute_folder!(tx, folder_id, d.time);
            let folder_done = status != crate::domain::model::media::FolderStatus::Processing;
            let delivery = match (folder_done, endpoint_of(&technical)) {
                (true, Some(url)) => Some(queue_delivery(&mut tx, folder_id, &url, webhooks, d.time).await?),
                _ => None,
            };
            tx.commit().await?;
            Ok(Some(FinishEffect { folder_id, group_id, folder_done, delivery }))
        })
    }

    async fn delete_analysis(&self, id: Uuid, audit: &[AuthEvent]) -> Result<Option<Analysis>> {
        let Some(a) = self.get_analysis(id).await? else { return Ok(None) };
        let t = crate::domain::time::now();
        let gone = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE folders SET time_updated = $1 WHERE folder_id = $2")
                .bind(t)
                .bind(a.folder_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM collection_matches WHERE analyse_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM jobs WHERE ref_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM meta_index WHERE object_id = $1").bind(id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM analyses WHERE analyse_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            recompute_folder!(tx, a.folder_id, t);
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(n > 0)
        })?;
        Ok(gone.then_some(a))
    }

    async fn decide_analysis(
        &self,
        id: Uuid,
        decision: &Decision<'_>,
        webhooks: DeliveryPolicy,
        audit: &[AuthEvent],
    ) -> Result<Option<FinishEffect>> {
        let Decision { resolution, comment, only_from, unless_held, decided_by, time: t } = *decision;
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // Lock the folder first (see the module doc).
            sqlx::query("UPDATE folders SET time_updated = $1 WHERE folder_id = (SELECT folder_id FROM analyses WHERE analyse_id = $2)")
                .bind(t)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row: Option<(Uuid, Uuid)> = sqlx::query_as(
                "UPDATE analyses SET resolution_status = $1, resolution_comment = $2, time_updated = $3, decided_by = $6, decided_at = $3 \
                 WHERE analyse_id = $4 AND state = 'FINISHED' AND ($5 IS NULL OR resolution_status = $5) \
                 AND (NOT $7 OR NOT EXISTS (SELECT 1 FROM folder_claims c WHERE c.folder_id = analyses.folder_id \
                 AND c.user_id <> $6 AND c.expires_at > $3)) \
                 RETURNING folder_id, group_id",
            )
            .bind(resolution.as_str())
            .bind(comment)
            .bind(t)
            .bind(id)
            .bind(only_from.map(|r| r.as_str()))
            .bind(decided_by)
            .bind(unless_held)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((folder_id, group_id)) = row else { return Ok(None) };
            let (status, technical) = recompute_folder!(tx, folder_id, t);
            // The result the integrator was sent has changed: send the folder again, unless
            // analyses still running will send it when they finish.
            let folder_done = status != crate::domain::model::media::FolderStatus::Processing;
            let delivery = match (folder_done, endpoint_of(&technical)) {
                (true, Some(url)) => Some(queue_delivery(&mut tx, folder_id, &url, webhooks, t).await?),
                _ => None,
            };
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok::<_, Error>(Some(FinishEffect { folder_id, group_id, folder_done, delivery }))
        })
    }

    async fn group_pending(&self, group_id: Uuid) -> Result<u64> {
        let n: i64 = on_db!(&self.db, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM analyses WHERE group_id = $1 AND state = 'PROCESSING'")
                .bind(group_id)
                .fetch_one(pool)
                .await
        })?;
        Ok(n as u64)
    }

    async fn stale_analyses(&self, created_before: f64, limit: u32) -> Result<Vec<Uuid>> {
        // Served by the partial index `analyses_processing` (migration 0005).
        let sql = "SELECT analyse_id FROM analyses WHERE state = 'PROCESSING' AND time_created < $1 ORDER BY time_created LIMIT $2";
        Ok(on_db!(&self.db, |pool| sqlx::query_scalar(sql)
            .bind(created_before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?)
    }
}
