//! Reports and statistics (spec §16 [I]): the folder list as CSV with chosen metadata keys as
//! extra columns (one page, or every matching folder streamed), and the count of unique
//! persons by a metadata key over a time window.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::FolderReportQuery;
use super::oz::json::ok;
use super::oz::query::OzQuery;
use super::AppState;
use crate::domain::folders::service::{FolderDetails, FolderWith};
use crate::domain::folders::statistics::{
    parse_granularity, parse_utc_offset, Performance, PeriodCounts, LATENCY_P90_TARGET_SECS, PERSON_KEY_DEFAULT,
    QUEUE_TARGET, SCORE_BINS,
};
use crate::domain::model::audit::StoredAuthEvent;
use crate::domain::model::caller::Caller;
use crate::domain::store::{FolderCursor, Granularity, ListParams, Percentiles, Periods};
use crate::domain::time::iso8601;
use crate::domain::{Domain, Error, Result};

/// Most extra metadata columns in one report.
pub const META_KEYS_MAX: usize = 50;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(folders_report))
        .routes(routes!(unique_persons))
        .routes(routes!(order_statistics))
        .routes(routes!(performance_statistics))
}

/// The fixed columns of the folder report, then one per requested metadata key.
const FOLDER_COLUMNS: [&str; 8] = [
    "folder_id",
    "time_created",
    "time_updated",
    "user_id",
    "company_id",
    "resolution_status",
    "system_resolution",
    "media_count",
];

/// One CSV field: a value starting with `= + - @` (or tab / carriage return) gets a leading
/// `'` so that spreadsheets do not run it as a formula (CSV injection); then RFC 4180 quoting.
/// Used by `GET /api/folders/?format=csv` and the console's export.
pub fn csv_field(out: &mut String, s: &str) {
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// A metadata value by dotted path; strings as they are, other JSON as JSON text.
fn meta_cell(meta: &serde_json::Map<String, Value>, path: &str) -> String {
    let mut parts = path.split('.');
    let first = parts.next().and_then(|k| meta.get(k));
    let found = parts.try_fold(first, |v, p| {
        Some(match v? {
            Value::Object(m) => m.get(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    });
    match found.flatten() {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// `meta_keys=a,b`: the metadata columns asked for (at most [`META_KEYS_MAX`], code 4 beyond).
pub fn parse_meta_keys(meta_keys: &str) -> Result<Vec<String>> {
    let keys: Vec<String> = meta_keys.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect();
    if keys.len() > META_KEYS_MAX {
        return Err(Error::invalid_value(
            format!("At most {META_KEYS_MAX} meta_keys"),
            serde_json::json!({ "key_path": "meta_keys" }),
        ));
    }
    Ok(keys)
}

/// One CSV line (CRLF-terminated) of these cells, each through [`csv_field`].
pub fn csv_line<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, c.as_ref());
    }
    out.push_str("\r\n");
}

/// The folder report's header line: the fixed columns, then `meta_data.<key>` per key.
pub fn folder_csv_header(out: &mut String, keys: &[String]) {
    let cells: Vec<String> =
        FOLDER_COLUMNS.iter().map(|c| c.to_string()).chain(keys.iter().map(|k| format!("meta_data.{k}"))).collect();
    csv_line(out, &cells);
}

/// One folder's line of the report (`media_count` is empty unless its media were read).
pub fn folder_csv_row(out: &mut String, d: &FolderDetails, keys: &[String]) {
    let f = &d.folder;
    let opt = |u: Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let mut cells = vec![
        f.folder_id.to_string(),
        f.time_created.to_string(),
        f.time_updated.to_string(),
        f.user_id.to_string(),
        opt(f.company_id),
        f.resolution_status.as_str().to_owned(),
        f.system_resolution.clone().unwrap_or_default(),
        d.media.as_ref().map(|m| m.len().to_string()).unwrap_or_default(),
    ];
    cells.extend(keys.iter().map(|k| meta_cell(f.meta_data.as_map(), k)));
    csv_line(out, &cells);
}

fn csv_response(body: Body, filename: &'static str) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `GET /api/folders/?format=csv&meta_keys=iin,transaction_id`: one page of the list.
pub fn folders_csv(folders: Vec<FolderDetails>, meta_keys: &str) -> Result<Response> {
    let keys = parse_meta_keys(meta_keys)?;
    let mut out = String::new();
    folder_csv_header(&mut out, &keys);
    for d in &folders {
        folder_csv_row(&mut out, d, &keys);
    }
    Ok(csv_response(Body::from(out), "folders.csv"))
}

/// Folders per chunk of a streamed report (one query for the folders, one for their media or
/// analyses): what the server holds of a report at any time, whatever its length.
pub const REPORT_CHUNK: u64 = 500;

/// Writes one folder's CSV line.
pub type RowWriter = Box<dyn Fn(&mut String, &FolderDetails) + Send + Sync>;

/// A streamed folder report: `header`, then one line per folder the caller sees among
/// `params`' filters, read [`REPORT_CHUNK`] at a time with keyset paging
/// ([`crate::domain::Domain::folder_report_chunk`]), each chunk sent before the next is read
/// (the body is pulled as the client reads it: memory stays constant however many folders
/// match). The first chunk is read before answering, so bad filters get the error envelope; a
/// failure later cuts the response short (the client sees an incomplete chunked body) and is
/// logged. Used by `GET /api/reports/folders.csv` and the console's export.
pub async fn stream_folder_report(
    domain: Domain,
    caller: Caller,
    params: ListParams,
    with: FolderWith,
    header_line: String,
    write_row: RowWriter,
    filename: &'static str,
) -> Result<Response> {
    let first = domain.folder_report_chunk(&caller, &params, with, None, REPORT_CHUNK).await?;
    let read = move |after: FolderCursor| {
        let (domain, caller, params) = (domain.clone(), caller.clone(), params.clone());
        async move { domain.folder_report_chunk(&caller, &params, with, Some(&after), REPORT_CHUNK).await }
    };
    let chunks =
        report_chunks(first, read, |d: &FolderDetails| FolderCursor::from(&d.folder), write_row, "folder report");
    Ok(csv_response(csv_body(header_line, chunks), filename))
}

/// The CSV lines of a keyset-paged report: `first` (the chunk read before answering), then
/// `read(key of the last row)` after every full chunk, each chunk's rows written by
/// `write_row` and sent before the next is read. A failure to read cuts the stream short with
/// an error, logged as `what`'s.
fn report_chunks<T, K, R, Fut>(
    first: Vec<T>,
    read: R,
    key: fn(&T) -> K,
    write_row: impl Fn(&mut String, &T) + Send + 'static,
    what: &'static str,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send
where
    T: Send + 'static,
    K: Send + 'static,
    R: Fn(K) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>>> + Send,
{
    struct State<T, K, R, W> {
        read: R,
        write_row: W,
        pending: Option<Vec<T>>,
        after: Option<K>,
    }
    let start = State { read, write_row, pending: Some(first), after: None };
    futures::stream::unfold(Some(start), move |state| async move {
        let mut c = state?;
        let chunk = match (c.pending.take(), c.after.take()) {
            (Some(chunk), _) => chunk,
            (None, Some(after)) => match (c.read)(after).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    tracing::error!(error = %e, "{what}: reading the next chunk failed; the response is cut short");
                    return Some((Err(std::io::Error::other(e.to_string())), None));
                }
            },
            (None, None) => return None,
        };
        if chunk.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(chunk.len() * 192);
        for row in &chunk {
            (c.write_row)(&mut out, row);
        }
        // A short chunk was the last one; after a full one, the next query says.
        let more = (chunk.len() as u64) == REPORT_CHUNK;
        c.after = chunk.last().map(key);
        Some((Ok(Bytes::from(out)), more.then_some(c)))
    })
}

/// `header_line`, then the report's chunks. Fused: a layer may poll again after the end (the
/// console's gzip does), which a bare `unfold` answers with a panic.
fn csv_body(header_line: String, chunks: impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static) -> Body {
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(header_line)) }).chain(chunks).fuse();
    Body::from_stream(body)
}

/// The columns of the audit CSV: those of `GET /api/audit`'s items, in order, with
/// `time_created_utc` (ISO 8601, UTC, microseconds) beside the UNIX seconds.
pub const AUDIT_COLUMNS: [&str; 15] = [
    "event_id",
    "time_created",
    "time_created_utc",
    "event",
    "outcome",
    "user_id",
    "company_id",
    "email",
    "actor_id",
    "client_addr",
    "object_type",
    "object_id",
    "before",
    "after",
    "comment",
];

/// One audit event's CSV line (every cell through the CSV-injection guard).
fn audit_csv_row(out: &mut String, e: &StoredAuthEvent) {
    let id = |u: Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    csv_line(
        out,
        &[
            e.event_id.to_string(),
            e.time_created.to_string(),
            iso8601(e.time_created),
            e.event.clone(),
            e.outcome.clone(),
            id(e.user_id),
            id(e.company_id),
            text(&e.email),
            id(e.actor_id),
            text(&e.client_addr),
            text(&e.object_type),
            id(e.object_id),
            text(&e.before),
            text(&e.after),
            text(&e.comment),
        ],
    );
}

/// A streamed audit CSV: the header, then one line per event the caller may read among
/// `params`' filters and sorting (default newest first), [`REPORT_CHUNK`] at a time with
/// keyset paging ([`Domain::audit_report_chunk`]): constant memory, no row cap. The first
/// chunk is read before answering, so a refusal (403) or bad filters get the error envelope; a
/// failure later cuts the body short and is logged. `GET /api/audit.csv` and the console's
/// audit export.
pub async fn stream_audit_report(domain: Domain, caller: Caller, params: ListParams) -> Result<Response> {
    let first = domain.audit_report_chunk(&caller, &params, None, REPORT_CHUNK).await?;
    let read = move |after: (f64, uuid::Uuid)| {
        let (domain, caller, params) = (domain.clone(), caller.clone(), params.clone());
        async move { domain.audit_report_chunk(&caller, &params, Some(after), REPORT_CHUNK).await }
    };
    let chunks =
        report_chunks(first, read, |e: &StoredAuthEvent| (e.time_created, e.event_id), audit_csv_row, "audit report");
    let mut header_line = String::new();
    csv_line(&mut header_line, &AUDIT_COLUMNS);
    Ok(csv_response(csv_body(header_line, chunks), "audit.csv"))
}

/// The folder list's filters (§6.3: `time_created`/`time_updated` `.min/.max`,
/// `resolution_status`, `folder_id`, `user_id`, `company_id`, `meta_data`, `analyse.type`) and
/// `sorting` (default `time_created{desc}`) as a CSV report of every matching folder the
/// caller sees, streamed: `offset`, `limit` and `total_omit` are ignored. The columns and the
/// CSV-injection guard are those of `GET /api/folders/?format=csv`; `meta_keys=a,b` adds
/// metadata columns (at most 50). Visibility as in the folder list. Spec §16 [I], GAP-7.
#[utoipa::path(get, path = "/api/reports/folders.csv", tag = "statistics",
    params(FolderReportQuery),
    responses((status = 200, description = "the report, streamed (chunked)", content_type = "text/csv", body = String)),
    security(("token" = [])))]
async fn folders_report(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let keys = parse_meta_keys(q.text("meta_keys").unwrap_or_default())?;
    let mut header_line = String::new();
    folder_csv_header(&mut header_line, &keys);
    let with = FolderWith { media: true, analyses: false, user: false, company: false };
    let write_row: RowWriter = Box::new(move |out: &mut String, d: &FolderDetails| folder_csv_row(out, d, &keys));
    stream_folder_report(s.domain.clone(), caller, q.0, with, header_line, write_row, "folders.csv").await
}

/// Unique persons among folders, by a metadata key.
#[derive(Serialize, ToSchema)]
pub struct UniquePersonsView {
    pub key: String,
    /// Folders in the window that carry the key.
    pub folders: u64,
    /// Distinct values of the key among them.
    pub unique_persons: u64,
    /// `folders / unique_persons` (conversion: attempts per person); null when no person.
    pub folders_per_person: Option<f64>,
}

/// Count unique persons by a folder metadata key (default `iin`) over `time_created.min/.max`,
/// within what the caller may see. Spec §9, §16 [I].
#[utoipa::path(get, path = "/api/statistics/unique_persons", tag = "statistics",
    params(("key" = Option<String>, Query), ("time_created.min" = Option<String>, Query), ("time_created.max" = Option<String>, Query)),
    responses((status = 200, body = UniquePersonsView)), security(("token" = [])))]
async fn unique_persons(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let key = q.text("key").map(str::trim).filter(|k| !k.is_empty()).unwrap_or("iin").to_owned();
    let now = crate::domain::time::now();
    let time =
        |k: &str| q.text(k).filter(|v| !v.trim().is_empty()).map(|v| emerald_query::parse_datetime(v, now)).transpose();
    let (min, max) = (time("time_created.min").map_err(Error::from)?, time("time_created.max").map_err(Error::from)?);
    let c = s.domain.count_persons(&caller, &key, min, max).await?;
    let per = (c.persons > 0).then(|| c.folders as f64 / c.persons as f64);
    Ok(ok(UniquePersonsView { key, folders: c.folders, unique_persons: c.persons, folders_per_person: per })
        .into_response())
}

/// One period of `GET /api/statistics/orders` (spec §16 [I]): orders by summary status, or —
/// with `group_by=type` — analyses of one type by result.
#[derive(Serialize, ToSchema)]
pub struct PeriodView {
    /// First day of the period (UTC), `YYYY-MM-DD`.
    pub period: String,
    /// The analysis type (`group_by=type` only).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub analysis_type: Option<String>,
    pub total: u64,
    #[serde(rename = "SUCCESS")]
    pub success: u64,
    #[serde(rename = "DECLINED")]
    pub declined: u64,
    #[serde(rename = "OPERATOR_REQUIRED")]
    pub operator_required: u64,
    #[serde(rename = "FAILED")]
    pub failed: u64,
    #[serde(rename = "PROCESSING")]
    pub processing: u64,
    /// Orders without analyses (orders only).
    #[serde(rename = "INITIAL", skip_serializing_if = "Option::is_none")]
    pub initial: Option<u64>,
    /// Distinct values of `person_key` among the period's orders (orders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_persons: Option<u64>,
}

impl From<PeriodCounts> for PeriodView {
    fn from(p: PeriodCounts) -> Self {
        let orders = p.analysis_type.is_none();
        PeriodView {
            success: p.count("SUCCESS"),
            declined: p.count("DECLINED"),
            operator_required: p.count("OPERATOR_REQUIRED"),
            failed: p.count("FAILED"),
            processing: p.count("PROCESSING"),
            initial: orders.then(|| p.count("INITIAL")),
            unique_persons: p.unique_persons,
            period: p.period,
            analysis_type: p.analysis_type,
            total: p.total,
        }
    }
}

/// `granularity=day|week|month` (or the spec's `group_by=day|week|month`; default day) with
/// `utc_offset=±HH:MM` (default UTC), and whether `group_by=type` asks for counts per analysis
/// type.
pub fn statistics_grouping(q: &OzQuery) -> Result<(Periods, bool)> {
    let by_type = q.text("group_by").is_some_and(|g| g.trim().eq_ignore_ascii_case("type"));
    let g = match (q.text("granularity").filter(|v| !v.trim().is_empty()), q.text("group_by")) {
        (Some(v), _) => parse_granularity("granularity", v)?,
        (None, Some(v)) if !by_type && !v.trim().is_empty() => parse_granularity("group_by", v)?,
        _ => Granularity::Day,
    };
    let utc_offset = match q.text("utc_offset") {
        Some(v) => parse_utc_offset("utc_offset", v)?,
        None => 0,
    };
    Ok((Periods { granularity: g, utc_offset }, by_type))
}

/// Orders per day, week or month by summary status, with unique persons by a folder metadata
/// key (`person_key`, default `iin`); with `group_by=type`, analyses per period, type and
/// result. Takes the folder list's filters (§6.3: `time_created.min/max`, `company_id`,
/// `user_id`, `resolution_status`, `analyse.type`, `meta_data`) within what the caller sees.
/// Periods without orders are left out. The periods are UTC days, weeks and months, or those of
/// a fixed offset from UTC (`utc_offset`, e.g. `+03:00`, `-05:30`, within ±14:00; a fixed offset
/// does not follow a daylight-saving change inside the window). Spec §16 [I], GAP-6.
#[utoipa::path(get, path = "/api/statistics/orders", tag = "statistics",
    params(("group_by" = Option<String>, Query, description = "day, week, month or type"),
        ("granularity" = Option<String>, Query, description = "day (default), week or month"),
        ("utc_offset" = Option<String>, Query, description = "fixed offset from UTC the periods' days start at, \
±HH:MM within ±14:00 (default UTC; send + as %2B); it does not follow a daylight-saving change inside the window"),
        ("person_key" = Option<String>, Query, description = "folder metadata key of a person (default iin)"),
        ("time_created.min" = Option<String>, Query), ("time_created.max" = Option<String>, Query),
        ("company_id" = Option<String>, Query), ("user_id" = Option<String>, Query)),
    responses((status = 200, body = Vec<PeriodView>)), security(("token" = [])))]
async fn order_statistics(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let (g, by_type) = statistics_grouping(&q)?;
    let rows = if by_type {
        s.domain.analysis_statistics(&caller, &q.0, g).await?
    } else {
        let key = q.text("person_key").or(q.text("key")).map(str::trim).filter(|k| !k.is_empty());
        s.domain.order_statistics(&caller, &q.0, g, key.unwrap_or(PERSON_KEY_DEFAULT)).await?
    };
    Ok(ok(rows.into_iter().map(PeriodView::from).collect::<Vec<_>>()).into_response())
}

/// Nearest-rank percentiles of durations, seconds (null without any).
#[derive(Serialize, ToSchema)]
pub struct PercentilesView {
    pub count: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
}

impl From<&Percentiles> for PercentilesView {
    fn from(p: &Percentiles) -> Self {
        PercentilesView { count: p.count, p50: p.p50, p90: p.p90, max: p.max }
    }
}

/// One analysis type's processing time.
#[derive(Serialize, ToSchema)]
pub struct TypeLatencyView {
    #[serde(rename = "type")]
    pub analysis_type: String,
    #[serde(flatten)]
    pub latency: PercentilesView,
}

#[derive(Serialize, ToSchema)]
pub struct QueueView {
    /// Analyses PROCESSING now (whatever the time filters).
    pub unfinished: u64,
    /// Seconds since the oldest of them was requested.
    pub oldest_age: Option<f64>,
}

/// The monitoring targets of spec §18.6 and whether they are met.
#[derive(Serialize, ToSchema)]
pub struct TargetsView {
    pub latency_p90: f64,
    pub latency_p90_met: bool,
    pub queue: u64,
    pub queue_met: bool,
}

/// One type's score distribution: `counts[i]` analyses scored in `[i, i + 1) * bin_width`.
#[derive(Serialize, ToSchema)]
pub struct HistogramView {
    #[serde(rename = "type")]
    pub analysis_type: String,
    /// The `results_data` key read.
    pub score: String,
    pub threshold: f64,
    /// [I] The operator band's lower edge (GAP-14), when the company has one; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_min: Option<f64>,
    pub bin_width: f64,
    pub counts: Vec<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct PerformanceView {
    /// Processing time (`time_finished - time_created`) of all analyses.
    pub latency: PercentilesView,
    pub by_type: Vec<TypeLatencyView>,
    /// From the result to the first operator decision.
    pub decision: PercentilesView,
    pub queue: QueueView,
    pub targets: TargetsView,
    pub histograms: Vec<HistogramView>,
}

impl From<Performance> for PerformanceView {
    fn from(p: Performance) -> Self {
        let all = p.latency.iter().find(|(t, _)| t == "ALL").map(|(_, l)| l.clone()).unwrap_or_default();
        let met = all.p90.is_none_or(|v| v < LATENCY_P90_TARGET_SECS);
        PerformanceView {
            latency: (&all).into(),
            by_type: p
                .latency
                .iter()
                .filter(|(t, _)| t != "ALL")
                .map(|(t, l)| TypeLatencyView { analysis_type: t.clone(), latency: l.into() })
                .collect(),
            decision: (&p.decision).into(),
            queue: QueueView { unfinished: p.unfinished, oldest_age: p.oldest_unfinished_age },
            targets: TargetsView {
                latency_p90: LATENCY_P90_TARGET_SECS,
                latency_p90_met: met,
                queue: QUEUE_TARGET,
                queue_met: p.unfinished < QUEUE_TARGET,
            },
            histograms: p
                .histograms
                .into_iter()
                .map(|h| HistogramView {
                    analysis_type: h.analysis_type.to_owned(),
                    score: h.score.to_owned(),
                    threshold: h.threshold,
                    threshold_min: h.band_min,
                    bin_width: 1.0 / SCORE_BINS as f64,
                    counts: h.bins,
                })
                .collect(),
        }
    }
}

/// Performance of the selected folders' analyses: p50/p90/max processing time overall and
/// per type, time from result to operator decision, the unfinished queue against the §18.6
/// targets (p90 < 20 s, queue < 20), and QUALITY/BIOMETRY/COLLECTION score histograms with
/// the thresholds. Same filters as `/api/statistics/orders`. Spec §16 [I], GAP-6.
#[utoipa::path(get, path = "/api/statistics/performance", tag = "statistics",
    params(("time_created.min" = Option<String>, Query), ("time_created.max" = Option<String>, Query),
        ("company_id" = Option<String>, Query), ("user_id" = Option<String>, Query)),
    responses((status = 200, body = PerformanceView)), security(("token" = [])))]
async fn performance_statistics(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let p = s.domain.performance(&caller, &q.0).await?;
    Ok(ok(PerformanceView::from(p)).into_response())
}
