//! Statistics (spec §16 [I], GAP-6) and review claims (GAP-10) on both backends. Every figure
//! is an aggregate query: GROUP BY over time buckets, percentiles by window functions
//! (nearest rank), histograms by a computed bin — no rows are loaded to count them.
//!
//! Every query with a window start (`time_created.min`; the console always gives one) costs
//! what the window holds, not what the tables hold: at 1M folders, joining `meta_index` or
//! `analyses` the other way round read every row of the person key or every analysis ever made
//! (seconds for the console's 7 days). SQLite walks the window's folders (the time index, or the
//! tenancy index with its time column) and looks their metadata and analyses up per folder —
//! the order of a `CROSS JOIN` is kept. PostgreSQL's planner, told only the folders' time range,
//! hashed the whole `analyses` or `meta_index` table for a window of a few thousand folders; so
//! the analyses get their own lower time bound (an analysis is never older than its folder) and
//! the person key is looked up per folder by a `LATERAL` subquery that `OFFSET 0` keeps from
//! being flattened. Without a window start every folder is asked for, and both planners' usual
//! choice (the other table first, a hash join or a Bloom filter on the folders) is the fastest.

use async_trait::async_trait;
use emerald_query::{Dialect, Param};
use uuid::Uuid;

use super::folders::{folder_conditions, id_list, visibility_conditions, FOLDER_LIST, IDS_PER_QUERY};
use super::guard::insert_events;
use super::sql::{number_placeholders, on_foreign_key, BeginWrite, SqlStore};
use crate::domain::model::audit::AuthEvent;
use crate::domain::store::{
    Claims, FolderClaim, Granularity, ListParams, Percentiles, Periods, Statistics, Visibility,
};
use crate::domain::{Error, Result};

/// The folder list's filters (§6.3, `resolution_status`, `analyse.type`) and the caller's
/// visibility as one condition on `folders f`, its placeholders numbered from `first`.
fn folder_where(dialect: Dialect, vis: Visibility, params: &ListParams, first: usize) -> Result<(String, Vec<Param>)> {
    let query = emerald_query::parse(&params.0, &FOLDER_LIST, crate::domain::time::now())?;
    let mut base = visibility_conditions(vis, "f");
    base.extend(folder_conditions(params)?);
    let mut conds = Vec::with_capacity(base.len() + 1);
    let mut binds = Vec::new();
    for (frag, ps) in base {
        conds.push(number_placeholders(&frag, first + binds.len()));
        binds.extend(ps);
    }
    let (filter, ps) = query.where_sql(&FOLDER_LIST, dialect, first + binds.len());
    conds.push(filter);
    binds.extend(ps);
    Ok((format!("({})", conds.join(") AND (")), binds))
}

/// The first day (`YYYY-MM-DD`) of the bucket of the UNIX time `col`, in the periods' fixed
/// offset from UTC (the time moved by the offset, then bucketed as UTC).
fn bucket(dialect: Dialect, p: Periods, col: &str) -> String {
    // An integer the server parsed (within ±14 h), never text of the request.
    let col = match p.utc_offset {
        0 => col.to_owned(),
        off => format!("({col} + ({off}))"),
    };
    match (dialect, p.granularity) {
        (_, Granularity::Total) => "'total'".to_owned(),
        (Dialect::Sqlite, Granularity::Day) => format!("strftime('%Y-%m-%d', {col}, 'unixepoch')"),
        // Back six days, then forward to a Monday (a Monday stays itself).
        (Dialect::Sqlite, Granularity::Week) => format!("date({col}, 'unixepoch', '-6 days', 'weekday 1')"),
        (Dialect::Sqlite, Granularity::Month) => format!("strftime('%Y-%m-01', {col}, 'unixepoch')"),
        (Dialect::Postgres, g) => {
            let unit = match g {
                Granularity::Day => "day",
                Granularity::Week => "week",
                Granularity::Month | Granularity::Total => "month",
            };
            format!("to_char(date_trunc('{unit}', to_timestamp({col}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')")
        }
    }
}

/// Nearest-rank p50/p90, the count and the maximum of `v` per `t`, over `source` (a SELECT of
/// `t` and `v`).
fn percentile_sql(source: &str) -> String {
    format!(
        "WITH u AS ({source}), r AS (SELECT t, v, ROW_NUMBER() OVER (PARTITION BY t ORDER BY v) AS rn, \
         COUNT(*) OVER (PARTITION BY t) AS n FROM u) \
         SELECT t, MAX(n), MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN v END), \
         MAX(CASE WHEN rn = (n * 90 + 99) / 100 THEN v END), MAX(v) FROM r GROUP BY t ORDER BY t"
    )
}

type PercentileRow = (String, i64, Option<f64>, Option<f64>, Option<f64>);

fn percentiles((t, n, p50, p90, max): PercentileRow) -> (String, Percentiles) {
    (t, Percentiles { count: n.max(0) as u64, p50, p90, max })
}

/// The score an analysis of each type is judged by, as a float (NULL when absent).
fn score_expr(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "CASE a.type WHEN 'QUALITY' THEN json_extract(a.results_data, '$.confidence_spoofing') \
             WHEN 'BIOMETRY' THEN json_extract(a.results_data, '$.min_confidence') \
             WHEN 'COLLECTION' THEN json_extract(a.results_data, '$.max_confidence') END"
        }
        Dialect::Postgres => {
            "CASE a.type WHEN 'QUALITY' THEN (a.results_data->>'confidence_spoofing')::float8 \
             WHEN 'BIOMETRY' THEN (a.results_data->>'min_confidence')::float8 \
             WHEN 'COLLECTION' THEN (a.results_data->>'max_confidence')::float8 END"
        }
    }
}

impl SqlStore {
    async fn percentile_rows(&self, sql: &str, params: &[Param]) -> Result<Vec<(String, Percentiles)>> {
        let rows: Vec<PercentileRow> =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(sql), params).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(percentiles).collect())
    }
}

/// Seconds an analysis may seem older than its folder (the clocks of several nodes disagree):
/// an analysis is requested after its folder was created, so none of a window's analyses was
/// created before the window's start less this.
const ANALYSIS_CLOCK_SLACK: f64 = 3600.0;

/// The window's start when the parameters give one (`time_created.min` or `.greater`; the
/// latest when several): no folder of the window was created before it.
pub(crate) fn window_start(params: &ListParams) -> Option<f64> {
    let now = crate::domain::time::now();
    params
        .0
        .iter()
        .filter(|(k, _)| k == "time_created.min" || k == "time_created.greater")
        .filter_map(|(_, v)| emerald_query::parse_datetime(v, now).ok())
        .reduce(f64::max)
}

/// `FROM` the folders `f` with their analyses `a`. With a window start, SQLite walks the
/// window's folders and looks their analyses up (`analyses_folder`), and PostgreSQL is told the
/// analyses' own lower time bound, so that it reads the analyses of the window's time range
/// (`analyses_time`) instead of every analysis ever made. Without one, all are asked for.
fn analyses_of_folders(dialect: Dialect, params: &ListParams) -> String {
    match (dialect, window_start(params)) {
        (Dialect::Sqlite, Some(_)) => "FROM folders f CROSS JOIN analyses a ON a.folder_id = f.folder_id".to_owned(),
        (Dialect::Postgres, Some(t)) => format!(
            "FROM folders f JOIN analyses a ON a.folder_id = f.folder_id AND a.time_created >= {}",
            t - ANALYSIS_CLOCK_SLACK
        ),
        (_, None) => "FROM folders f JOIN analyses a ON a.folder_id = f.folder_id".to_owned(),
    }
}

/// `FROM` the folders `f`, each with its text value `mi.value_text` of the metadata path `$1`.
/// With a window start (`bounded`) the value is looked up for each folder of the window in
/// `meta_index_object_path` (migration 0018; a covering index). Without one the planners join
/// the other way (the key's rows, then their folders), which is faster for all of history.
pub(crate) fn folders_with_meta(dialect: Dialect, bounded: bool) -> &'static str {
    match (dialect, bounded) {
        (Dialect::Sqlite, true) => {
            "FROM folders f CROSS JOIN meta_index mi ON mi.object_id = f.folder_id AND mi.path = $1 \
             AND mi.object_kind = 'folder' AND mi.value_text IS NOT NULL"
        }
        (Dialect::Postgres, true) => {
            "FROM folders f CROSS JOIN LATERAL (SELECT mi.value_text FROM meta_index mi WHERE mi.object_id = f.folder_id \
             AND mi.path = $1 AND mi.object_kind = 'folder' AND mi.value_text IS NOT NULL OFFSET 0) mi"
        }
        (_, false) => {
            "FROM folders f JOIN meta_index mi ON mi.object_id = f.folder_id AND mi.path = $1 \
             AND mi.object_kind = 'folder' AND mi.value_text IS NOT NULL"
        }
    }
}

#[async_trait]
impl Statistics for SqlStore {
    async fn order_counts(
        &self,
        vis: Visibility,
        params: &ListParams,
        g: Periods,
    ) -> Result<Vec<(String, String, u64)>> {
        let (w, binds) = folder_where(self.dialect(), vis, params, 1)?;
        let sql = format!(
            "SELECT {} AS period, COALESCE(f.system_resolution, 'INITIAL') AS status, COUNT(*) FROM folders f \
             WHERE {w} GROUP BY 1, 2 ORDER BY 1, 2",
            bucket(self.dialect(), g, "f.time_created")
        );
        let rows: Vec<(String, String, i64)> =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&sql), &binds).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(p, s, n)| (p, s, n.max(0) as u64)).collect())
    }

    async fn person_counts(
        &self,
        vis: Visibility,
        params: &ListParams,
        g: Periods,
        key: &str,
    ) -> Result<Vec<(String, u64, u64)>> {
        let (w, mut binds) = folder_where(self.dialect(), vis, params, 2)?;
        binds.insert(0, Param::Text(key.to_owned()));
        // The total is one aggregate row (also over no folders), not a group by a constant.
        let group = if g.granularity == Granularity::Total { "" } else { " GROUP BY 1 ORDER BY 1" };
        let sql = format!(
            "SELECT {} AS period, COUNT(*), COUNT(DISTINCT mi.value_text) {} WHERE {w}{group}",
            bucket(self.dialect(), g, "f.time_created"),
            folders_with_meta(self.dialect(), window_start(params).is_some())
        );
        let rows: Vec<(String, i64, i64)> =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&sql), &binds).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(p, f, n)| (p, f.max(0) as u64, n.max(0) as u64)).collect())
    }

    async fn analysis_counts(
        &self,
        vis: Visibility,
        params: &ListParams,
        g: Periods,
    ) -> Result<Vec<(String, String, String, u64)>> {
        let (w, binds) = folder_where(self.dialect(), vis, params, 1)?;
        let sql = format!(
            "SELECT {} AS period, a.type, a.resolution_status, COUNT(*) {} \
             WHERE {w} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            bucket(self.dialect(), g, "f.time_created"),
            analyses_of_folders(self.dialect(), params)
        );
        let rows: Vec<(String, String, String, i64)> =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&sql), &binds).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(p, t, r, n)| (p, t, r, n.max(0) as u64)).collect())
    }

    async fn analysis_latency(&self, vis: Visibility, params: &ListParams) -> Result<Vec<(String, Percentiles)>> {
        let (w, binds) = folder_where(self.dialect(), vis, params, 1)?;
        let from = analyses_of_folders(self.dialect(), params);
        let mut out = Vec::new();
        // Per type, then over all types (a second pass: the same rows under one key).
        for t in ["a.type", "'ALL'"] {
            let source = format!(
                "SELECT {t} AS t, a.time_finished - a.time_created AS v {from} \
                 WHERE a.time_finished IS NOT NULL AND {w}"
            );
            out.extend(self.percentile_rows(&percentile_sql(&source), &binds).await?);
        }
        Ok(out)
    }

    async fn decision_latency(&self, vis: Visibility, params: &ListParams) -> Result<Percentiles> {
        let (w, binds) = folder_where(self.dialect(), vis, params, 1)?;
        let from = analyses_of_folders(self.dialect(), params);
        // From each analysis's result to its first decision (analyses never decided are left
        // out). Each analysis's decision is looked up (`auth_events_object`): joined, SQLite
        // scans the whole audit table (every login and creation), and so does PostgreSQL's
        // hash join — which is the faster for all of history, without a window start.
        let source = match (self.dialect(), window_start(params)) {
            (Dialect::Postgres, None) => format!(
                "SELECT 'ALL' AS t, MIN(e.time_created) - MAX(a.time_finished) AS v {from} \
                 JOIN auth_events e ON e.object_id = a.analyse_id AND e.event = 'decision' \
                 WHERE a.time_finished IS NOT NULL AND {w} GROUP BY a.analyse_id"
            ),
            _ => format!(
                "SELECT 'ALL' AS t, v FROM (SELECT (SELECT MIN(e.time_created) FROM auth_events e \
                 WHERE e.object_id = a.analyse_id AND e.event = 'decision') - a.time_finished AS v {from} \
                 WHERE a.time_finished IS NOT NULL AND {w}) d WHERE v IS NOT NULL"
            ),
        };
        let rows = self.percentile_rows(&percentile_sql(&source), &binds).await?;
        Ok(rows.into_iter().next().map(|(_, p)| p).unwrap_or_default())
    }

    async fn score_histogram(
        &self,
        vis: Visibility,
        params: &ListParams,
        bins: u32,
    ) -> Result<Vec<(String, u32, u64)>> {
        let (w, binds) = folder_where(self.dialect(), vis, params, 1)?;
        let top = bins.max(1) - 1;
        let bin = match self.dialect() {
            Dialect::Sqlite => format!("MAX(MIN(CAST(s * {bins} AS INTEGER), {top}), 0)"),
            Dialect::Postgres => format!("GREATEST(LEAST(FLOOR(s * {bins})::bigint, {top}), 0)"),
        };
        let sql = format!(
            "SELECT t, {bin} AS b, COUNT(*) FROM (SELECT a.type AS t, {} AS s {} \
             WHERE a.state = 'FINISHED' AND {w}) x WHERE s IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
            score_expr(self.dialect()),
            analyses_of_folders(self.dialect(), params)
        );
        let rows: Vec<(String, i64, i64)> =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&sql), &binds).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(t, b, n)| (t, b.clamp(0, top as i64) as u32, n.max(0) as u64)).collect())
    }

    async fn unfinished(&self, vis: Visibility) -> Result<(u64, Option<f64>)> {
        let mut sql = String::from("SELECT COUNT(*), MIN(a.time_created) FROM analyses a WHERE a.state = 'PROCESSING'");
        let mut binds = Vec::new();
        for (frag, ps) in visibility_conditions(vis, "a") {
            sql.push_str(" AND ");
            sql.push_str(&number_placeholders(&frag, binds.len() + 1));
            binds.extend(ps);
        }
        let (n, oldest): (i64, Option<f64>) =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&sql), &binds).fetch_one(pool).await)?;
        Ok((n.max(0) as u64, oldest))
    }
}

#[async_trait]
impl Claims for SqlStore {
    async fn claim_folder(&self, c: &FolderClaim, now: f64, audit: &[AuthEvent]) -> Result<FolderClaim> {
        // One statement: a claim of another user that has not expired is left as it is.
        let upsert =
            "INSERT INTO folder_claims (folder_id, user_id, time_created, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (folder_id) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at, \
             time_created = CASE WHEN folder_claims.user_id = excluded.user_id AND folder_claims.expires_at > $5 \
             THEN folder_claims.time_created ELSE excluded.time_created END \
             WHERE folder_claims.user_id = excluded.user_id OR folder_claims.expires_at <= $5";
        let read = "SELECT folder_id, user_id, time_created, expires_at FROM folder_claims WHERE folder_id = $1";
        let row: (Uuid, Uuid, f64, f64) = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(upsert)
                .bind(c.folder_id)
                .bind(c.user_id)
                .bind(c.time_created)
                .bind(c.expires_at)
                .bind(now)
                .execute(&mut *tx)
                .await
                // The folder deleted since the caller looked at it.
                .map_err(|e| on_foreign_key(e, || Error::not_exist("Folder")))?;
            let row: (Uuid, Uuid, f64, f64) = sqlx::query_as(read).bind(c.folder_id).fetch_one(&mut *tx).await?;
            // Taken now (not an extension, not refused): the audit event goes with it.
            if row.1 == c.user_id && row.2 == c.time_created {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok::<_, crate::domain::Error>(row)
        })?;
        Ok(FolderClaim { folder_id: row.0, user_id: row.1, time_created: row.2, expires_at: row.3 })
    }

    async fn release_folder(
        &self,
        folder_id: Uuid,
        user_id: Uuid,
        now: f64,
        audit: &[AuthEvent],
    ) -> Result<(bool, bool)> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let released =
                sqlx::query("DELETE FROM folder_claims WHERE folder_id = $1 AND user_id = $2 AND expires_at > $3")
                    .bind(folder_id)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
            sqlx::query("DELETE FROM folder_claims WHERE folder_id = $1 AND (user_id = $2 OR expires_at <= $3)")
                .bind(folder_id)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM folder_claims WHERE folder_id = $1")
                .bind(folder_id)
                .fetch_one(&mut *tx)
                .await?;
            if released {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok((held == 0, released))
        })
    }

    async fn next_unclaimed(
        &self,
        vis: Visibility,
        user_id: Uuid,
        now: f64,
        skip: Option<Uuid>,
    ) -> Result<Option<Uuid>> {
        let params = ListParams(vec![("resolution_status".into(), "OPERATOR_REQUIRED".into())]);
        let (w, binds) = folder_where(self.dialect(), vis, &params, 3)?;
        // Two: the first may be the case skipped.
        let sql = format!(
            "SELECT f.folder_id FROM folders f WHERE {w} AND NOT EXISTS (SELECT 1 FROM folder_claims c \
             WHERE c.folder_id = f.folder_id AND c.user_id <> $1 AND c.expires_at > $2) \
             ORDER BY f.time_created, f.folder_id LIMIT 2"
        );
        let ids: Vec<Uuid> = on_db!(&self.db, |pool| {
            bind_params!(sqlx::query_scalar(&sql).bind(user_id).bind(now), &binds).fetch_all(pool).await
        })?;
        Ok(ids.into_iter().find(|id| Some(*id) != skip))
    }

    async fn folder_claims(&self, folder_ids: &[Uuid], now: f64) -> Result<Vec<FolderClaim>> {
        let mut out = Vec::new();
        for chunk in folder_ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT folder_id, user_id, time_created, expires_at FROM folder_claims \
                 WHERE expires_at > $1 AND folder_id IN ({})",
                id_list(chunk.len(), 2)
            );
            let rows: Vec<(Uuid, Uuid, f64, f64)> = on_db!(&self.db, |pool| {
                let mut q = sqlx::query_as(&sql).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
            })?;
            out.extend(rows.into_iter().map(|(folder_id, user_id, time_created, expires_at)| FolderClaim {
                folder_id,
                user_id,
                time_created,
                expires_at,
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod claim_tests {
    use super::*;

    /// A folder deleted between the caller's look at it and its claim: 404, not a database
    /// error (a 500 before, met by `bench/race.py` at 12 concurrent clients).
    #[tokio::test]
    async fn claiming_a_folder_that_is_gone_is_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::connect(None, dir.path()).await.unwrap();
        let claim =
            FolderClaim { folder_id: Uuid::new_v4(), user_id: Uuid::new_v4(), time_created: 1.0, expires_at: 2.0 };
        match store.claim_folder(&claim, 1.0, &[]).await {
            Err(Error::NotExist(what)) => assert_eq!(what, "Folder not exist"),
            other => panic!("expected NotExist, got {other:?}"),
        }
    }
}
