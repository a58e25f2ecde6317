//! Reports and statistics (spec §16 [I]): the folder list as CSV with chosen metadata keys as
//! extra columns, and the count of unique persons by a metadata key over a time window.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::oz::json::ok;
use super::oz::query::OzQuery;
use super::AppState;
use crate::domain::folders::service::FolderDetails;
use crate::domain::model::caller::Caller;
use crate::domain::{Error, Result};

/// Most extra metadata columns in one report.
pub const META_KEYS_MAX: usize = 50;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(unique_persons))
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

/// `GET /api/folders/?format=csv&meta_keys=iin,transaction_id`.
pub fn folders_csv(folders: Vec<FolderDetails>, meta_keys: &str) -> Result<Response> {
    let keys: Vec<&str> = meta_keys.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
    if keys.len() > META_KEYS_MAX {
        return Err(Error::invalid_value(
            format!("At most {META_KEYS_MAX} meta_keys"),
            serde_json::json!({ "key_path": "meta_keys" }),
        ));
    }
    let mut out = String::new();
    let header_row: Vec<String> =
        FOLDER_COLUMNS.iter().map(|c| c.to_string()).chain(keys.iter().map(|k| format!("meta_data.{k}"))).collect();
    for (i, h) in header_row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, h);
    }
    out.push_str("\r\n");
    for d in folders {
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
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, c);
        }
        out.push_str("\r\n");
    }
    let mut res = (StatusCode::OK, out).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"folders.csv\""));
    Ok(res)
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
