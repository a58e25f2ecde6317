//! The console's screens. Each one calls the domain function of the `/api` route it mirrors,
//! with the session's caller: visibility and permissions are the API's.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::forms::notice;
use super::html::{query_value, Html};
use super::orders::{self, Refusal};
use super::{error_page, page, settings, text, Session};
use crate::api::collections::file_response;
use crate::api::reports::{csv_line, stream_folder_report, RowWriter};
use crate::api::AppState;
use crate::domain::analyses::service::Overrides;
use crate::domain::folders::service::{FolderDetails, FolderWith};
use crate::domain::model::analysis::{AnalysisDetails, AnalysisState, AnalysisType, Resolution};
use crate::domain::model::audit::StoredAuthEvent;
use crate::domain::model::role::UserType;
use crate::domain::store::ListParams;
use crate::domain::Error;

/// Rows per page of a list.
pub(super) const PAGE_SIZE: u64 = 25;
/// The folder-list filters the console passes to the API's list grammar (spec §6.3).
const FOLDER_FILTERS: [&str; 7] = [
    "resolution_status",
    "time_created.min",
    "time_created.max",
    "analyse.type",
    "meta_data",
    "company_id",
    "folder_id",
];
const STATUSES: [&str; 7] = ["INITIAL", "PROCESSING", "FAILED", "FINISHED", "SUCCESS", "DECLINED", "OPERATOR_REQUIRED"];
const TYPES: [&str; 4] = ["QUALITY", "BIOMETRY", "COLLECTION", "DOCUMENTS"];

/// UTC `YYYY-MM-DD HH:MM:SS` of UNIX seconds.
pub fn utc(t: f64) -> String {
    let (y, m, d, h, mi, s) = crate::domain::time::civil(t.floor() as i64);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

pub(super) fn parse_query(raw: Option<String>) -> Vec<(String, String)> {
    raw.as_deref().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

pub(super) fn get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
}

pub(super) fn offset_of(q: &[(String, String)]) -> u64 {
    get(q, "offset").and_then(|o| o.parse().ok()).unwrap_or(0)
}

/// The API list parameters from the console's filter query: only the known filters, empty
/// values dropped, the date inputs as whole UTC days.
pub(super) fn folder_params(q: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in FOLDER_FILTERS {
        if let Some(v) = get(q, key) {
            let v = v.trim();
            let v = match key {
                "time_created.max" if v.len() == 10 => format!("{v}T23:59:59.999999"),
                _ => v.to_owned(),
            };
            out.push((key.to_owned(), v));
        }
    }
    out
}

/// The filter query again, for paging links and the export.
fn filter_query(q: &[(String, String)]) -> String {
    let mut out = String::new();
    for key in FOLDER_FILTERS {
        if let Some(v) = get(q, key) {
            out.push_str(key);
            out.push('=');
            out.push_str(&query_value(v));
            out.push('&');
        }
    }
    out
}

fn meta_str(meta: &serde_json::Map<String, Value>, key: &str) -> String {
    match meta.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

pub(super) fn badge(h: &mut Html, value: &str) {
    h.s("<span class=\"badge\" data-status=\"").t(value).s("\">").t(value).s("</span>");
}

fn folder_link(h: &mut Html, base: &str, id: Uuid) {
    let short = id.to_string();
    h.s("<a href=\"").t(base).s("/orders/").t(id).s("\" title=\"").t(id).s("\"><code>").t(&short[..8]).s("</code></a>");
}

fn first_thumb(h: &mut Html, base: &str, f: &FolderDetails) {
    let media = f.analyses.iter().flatten().flat_map(|a| a.source_media.iter()).find(|m| m.has_thumb);
    if let Some(m) = media {
        h.s("<img class=\"thumb\" loading=\"lazy\" alt=\"\" src=\"").t(base).s("/media/").t(m.folder_id).s("/");
        h.t(m.media_id).s("_thumb.jpg\">");
    }
}

/// The orders table shared by the list and the review queue.
pub(super) fn orders_table(h: &mut Html, base: &str, items: &[FolderDetails], waiting: bool) {
    h.s("<div class=\"scroll\"><table><thead><tr>");
    for col in [
        text::COL_THUMB,
        text::COL_FOLDER,
        text::COL_CREATED,
        text::COL_COMPANY,
        text::COL_USER,
        text::COL_STATUS,
        text::COL_SYSTEM,
    ] {
        h.el("<th scope=\"col\">", col, "</th>");
    }
    h.el("<th scope=\"col\">", text::COL_ANALYSES, "</th>").el("<th scope=\"col\">", text::COL_TRANSACTION, "</th>");
    if waiting {
        h.el("<th scope=\"col\">", text::COL_WAITING, "</th>");
    }
    h.s("</tr></thead><tbody>");
    let now = crate::domain::time::now();
    for f in items {
        let folder = &f.folder;
        h.s("<tr><td>");
        first_thumb(h, base, f);
        h.s("</td><td>");
        folder_link(h, base, folder.folder_id);
        h.s("</td><td>").time(folder.time_created).s("</td>");
        // The page's owners and companies, read once for the page (GAP-9).
        let company = f.company.as_ref().and_then(|c| c.as_ref()).map(|c| c.name.as_str());
        let user = f.user.as_ref().and_then(|u| u.as_ref()).map(|u| u.email.as_str());
        h.el("<td class=\"company\">", company.unwrap_or(""), "</td>");
        h.el("<td class=\"user\">", user.unwrap_or(""), "</td><td>");
        badge(h, folder.resolution_status.as_str());
        h.s("</td><td>");
        if let Some(r) = &folder.system_resolution {
            badge(h, r);
        }
        h.s("</td><td>");
        for a in f.analyses.iter().flatten() {
            let a = &a.analysis;
            h.s("<span class=\"chip\" data-status=\"").t(a.resolution_status.as_str()).s("\">");
            h.t(a.kind.as_str()).s(": ").t(a.resolution_status.as_str()).s("</span> ");
        }
        h.s("</td>").el("<td>", meta_str(folder.meta_data.as_map(), "transaction_id"), "</td>");
        if waiting {
            let mins = ((now - folder.time_updated) / 60.0).max(0.0).round() as i64;
            h.el("<td>", format!("{mins} min"), "</td>");
        }
        h.s("</tr>");
    }
    h.s("</tbody></table></div>");
}

/// How many orders the company page lists.
const RECENT_ORDERS: u64 = 10;

/// The company page's recent orders (spec §4.7): the newest the caller sees, in the orders
/// list's table, with a link to the whole list filtered by the company.
pub(super) async fn recent_orders(b: &mut Html, state: &AppState, session: &Session, company_id: Uuid) {
    let base = &session.base;
    let params = ListParams(vec![
        ("company_id".into(), company_id.to_string()),
        ("sorting".into(), "time_created{desc}".into()),
        ("limit".into(), RECENT_ORDERS.to_string()),
        ("total_omit".into(), "true".into()),
    ]);
    let with = FolderWith { media: false, analyses: true, user: true, company: true };
    let Ok(list) = state.domain.list_folders(&session.caller, &params, with).await else {
        return;
    };
    b.s("<section id=\"orders\"><h2>").t(text::COMPANY_RECENT_ORDERS).s("</h2>");
    if list.items.is_empty() {
        b.el("<p>", text::NO_COMPANY_ORDERS, "</p>");
    } else {
        orders_table(b, base, &list.items, false);
    }
    b.s("<p><a href=\"").t(base).s("?company_id=").t(company_id).s("\">").t(text::COMPANY_ORDERS);
    b.s("</a></p></section>");
}

pub(super) fn pager(h: &mut Html, path: &str, filters: &str, offset: u64, shown: usize, total: Option<u64>) {
    let more = total.is_some_and(|t| offset + (shown as u64) < t);
    pager_with(h, path, filters, offset, shown, total, more);
}

/// The pager of a list whose total is not counted: "next" when the page was followed by more.
fn pager_with(h: &mut Html, path: &str, filters: &str, offset: u64, shown: usize, total: Option<u64>, more: bool) {
    let links = PagerLinks { path, filters, param: "offset", step: PAGE_SIZE, label: "pages" };
    pager_links(h, &links, offset, shown, total, more);
}

/// Where a pager's links go: the page's path and the query they keep (`filters`, ending with
/// `&` when not empty), the list's offset parameter and its page size, and the pager's
/// accessible name (a page with two paged lists names each).
pub(super) struct PagerLinks<'a> {
    pub path: &'a str,
    pub filters: &'a str,
    pub param: &'a str,
    pub step: u64,
    pub label: &'a str,
}

/// The pager of one of several lists on a page, each paged by its own offset parameter.
pub(super) fn pager_of(h: &mut Html, links: &PagerLinks<'_>, offset: u64, shown: usize, total: Option<u64>) {
    let more = total.is_some_and(|t| offset + (shown as u64) < t);
    pager_links(h, links, offset, shown, total, more);
}

fn pager_links(h: &mut Html, l: &PagerLinks<'_>, offset: u64, shown: usize, total: Option<u64>, more: bool) {
    let (path, filters, param) = (l.path, l.filters, l.param);
    h.s("<nav class=\"pager\" aria-label=\"").t(l.label).s("\">");
    if offset > 0 {
        let prev = offset.saturating_sub(l.step);
        h.s("<a rel=\"prev\" href=\"").t(path).s("?").t(filters).t(format!("{param}={prev}")).s("\">");
        h.t(text::PREVIOUS).s("</a> ");
    }
    let end = offset + shown as u64;
    h.t(format!("{} {}–{}", text::SHOWING, if shown == 0 { 0 } else { offset + 1 }, end));
    if let Some(t) = total {
        h.t(format!(" {} {t}", text::OF));
    }
    if more {
        h.s(" <a rel=\"next\" href=\"").t(path).s("?").t(filters).t(format!("{param}={end}")).s("\">");
        h.t(text::NEXT).s("</a>");
    }
    h.s("</nav>");
}

/// One page of folders for the orders list and the review queue, without counting them all:
/// a COUNT over a million folders with a filter costs more than the page itself (a full
/// scan), so the page asks for one row more than it shows and offers "next" when it came.
/// The total is known only when it is all on this first page.
async fn folder_page(
    state: &AppState,
    session: &Session,
    mut params: Vec<(String, String)>,
    offset: u64,
) -> Result<(Vec<FolderDetails>, Option<u64>, bool), Error> {
    params.extend([
        ("offset".into(), offset.to_string()),
        ("limit".into(), (PAGE_SIZE + 1).to_string()),
        ("total_omit".into(), "true".into()),
    ]);
    let with = FolderWith { media: false, analyses: true, user: true, company: true };
    let mut items = state.domain.list_folders(&session.caller, &ListParams(params), with).await?.items;
    let more = items.len() as u64 > PAGE_SIZE;
    items.truncate(PAGE_SIZE as usize);
    let total = (offset == 0 && !more).then_some(items.len() as u64);
    Ok((items, total, more))
}

fn select(h: &mut Html, name: &'static str, label: &'static str, options: &[&str], current: Option<&str>) {
    h.s("<label for=\"f-").s(name).s("\">").t(label).s("</label><select id=\"f-").s(name).s("\" name=\"").s(name);
    h.s("\"><option value=\"\">").t(text::FILTER_ANY).s("</option>");
    for o in options {
        h.s("<option");
        if current == Some(*o) {
            h.s(" selected");
        }
        h.s(">").t(o).s("</option>");
    }
    h.s("</select>");
}

pub(super) fn input(h: &mut Html, name: &'static str, label: &'static str, kind: &'static str, current: Option<&str>) {
    h.s("<label for=\"f-").s(name).s("\">").t(label).s("</label><input id=\"f-").s(name).s("\" name=\"").s(name);
    h.s("\" type=\"").s(kind).s("\" value=\"").t(current.unwrap_or("")).s("\">");
}

/// `GET {base}`: the orders list, as `GET /api/folders/` shows them to this user.
pub async fn orders(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let q = parse_query(raw);
    let offset = offset_of(&q);
    let mut params = folder_params(&q);
    params.push(("sorting".into(), "time_created{desc}".into()));
    let mut b = Html::new();
    b.el("<h1>", text::ORDERS_TITLE, "</h1>");
    if let Some(d) = get(&q, "deleted").filter(|d| d.len() == 8 && d.chars().all(|c| c.is_ascii_hexdigit())) {
        b.el("<p class=\"note\" role=\"status\">", format!("{} {d}", text::ORDER_DELETED), "</p>");
    }
    b.s("<form method=\"get\" action=\"").t(base).s("\" class=\"filters\"><fieldset><legend>").t(text::FILTERS);
    b.s("</legend>");
    select(&mut b, "resolution_status", text::FILTER_STATUS, &STATUSES, get(&q, "resolution_status"));
    input(&mut b, "time_created.min", text::FILTER_FROM, "date", get(&q, "time_created.min"));
    input(&mut b, "time_created.max", text::FILTER_TO, "date", get(&q, "time_created.max"));
    select(&mut b, "analyse.type", text::FILTER_TYPE, &TYPES, get(&q, "analyse.type"));
    input(&mut b, "meta_data", text::FILTER_META, "text", get(&q, "meta_data"));
    if session.caller.user_type.is_global() {
        input(&mut b, "company_id", text::FILTER_COMPANY, "text", get(&q, "company_id"));
    }
    input(&mut b, "folder_id", text::FILTER_FOLDER, "text", get(&q, "folder_id"));
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::APPLY).s("</button> <a href=\"").t(base);
    b.s("\">").t(text::RESET).s("</a></div></fieldset></form>");
    saved_filters(&mut b);
    match folder_page(&state, &session, params, offset).await {
        Ok((items, _, _)) if items.is_empty() && offset == 0 => {
            b.el("<p>", text::NO_ORDERS, "</p>");
        }
        Ok((items, total, more)) => {
            b.s("<p><a class=\"export\" hx-boost=\"false\" download href=\"").t(base).s("/export.csv?");
            b.t(filter_query(&q).trim_end_matches('&')).s("\">").t(text::EXPORT_FILTERED).s("</a></p>");
            orders_table(&mut b, base, &items, false);
            pager_with(&mut b, base, &filter_query(&q), offset, items.len(), total, more);
        }
        Err(e @ (Error::InvalidValue { .. } | Error::InvalidType { .. } | Error::InvalidStructure { .. })) => {
            b.el("<p class=\"error\" role=\"alert\">", e.to_string(), "</p>");
        }
        Err(e) => return error_page(base, e),
    }
    page(&state, &session, text::ORDERS_TITLE, b)
}

/// The saved filters of the orders list: kept in the browser's storage by console.js, which
/// shows this block (hidden without the script, which alone can use it).
fn saved_filters(b: &mut Html) {
    b.s("<section class=\"saved-filters\" data-saved-filters=\"orders\" hidden><h2>").t(text::SAVED_FILTERS);
    b.s("</h2><p class=\"muted\" data-empty>").t(text::SAVED_FILTERS_NONE).s("</p>");
    b.s("<ul data-list data-remove=\"").t(text::SAVED_FILTER_REMOVE).s("\"></ul><div class=\"save-filter\">");
    b.s("<label for=\"sf-name\">").t(text::SAVE_FILTER_NAME).s("</label>");
    b.s("<input id=\"sf-name\" type=\"text\" maxlength=\"80\" autocomplete=\"off\">");
    b.s("<button type=\"button\" data-save-filter>").t(text::SAVE_FILTER).s("</button></div></section>");
}

/// `GET {base}/review`: the OPERATOR_REQUIRED folders, oldest first. With `?skip={folder_id}`
/// (the order page's "next case", key N) it goes on to the oldest case nobody else holds
/// other than that one, or shows the queue when there is none.
pub async fn review(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let q = parse_query(raw);
    let offset = offset_of(&q);
    let params = vec![
        ("resolution_status".to_owned(), "OPERATOR_REQUIRED".to_owned()),
        ("sorting".into(), "time_created{asc}".into()),
    ];
    let (items, total, more) = match folder_page(&state, &session, params, offset).await {
        Ok(p) => p,
        Err(e) => return error_page(base, e),
    };
    let mut b = Html::new();
    b.el("<h1>", text::REVIEW_TITLE, "</h1>");
    if session.caller.user_type == UserType::Admin {
        b.el("<p class=\"note\">", text::ADMIN_CANNOT_DECIDE, "</p>");
    }
    // "Next case" passes by the cases other operators hold (GAP-10).
    let ids: Vec<Uuid> = items.iter().map(|f| f.folder.folder_id).collect();
    let claims = match state.domain.folder_claims(&session.caller, &ids).await {
        Ok(c) => c,
        Err(e) => return error_page(base, e),
    };
    let held = |id: Uuid| claims.iter().any(|c| c.folder_id == id && c.user_id != session.caller.user_id);
    // The oldest case nobody else holds in the whole queue, not only on this page; `skip`
    // (the order page's "next case", key N) goes straight to it, passing by the case left.
    let skip = get(&q, "skip").and_then(|s| Uuid::parse_str(s).ok());
    let next = match state.domain.next_case(&session.caller, skip).await {
        Ok(n) => n,
        Err(e) => return error_page(base, e),
    };
    if let (Some(_), Some(n)) = (skip, next) {
        let to = format!("{base}/orders/{n}");
        return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    }
    match items.first() {
        None => {
            b.el("<p>", text::REVIEW_EMPTY, "</p>");
        }
        Some(_) => {
            if let Some(next) = next {
                b.s("<p><a class=\"button\" data-key=\"n\" href=\"").t(base).s("/orders/").t(next).s("\">");
                b.t(text::NEXT_CASE).s("</a></p>");
            }
            let n_held = ids.iter().filter(|id| held(**id)).count();
            if n_held > 0 {
                b.el("<p class=\"note\">", format!("{n_held} {}", text::HELD_BY_OTHERS), "</p>");
            }
            orders_table(&mut b, base, &items, true);
            pager_with(&mut b, &format!("{base}/review"), "", offset, items.len(), total, more);
        }
    }
    page(&state, &session, text::NAV_REVIEW, b)
}

pub(super) fn dl_row(h: &mut Html, label: &'static str, value: impl std::fmt::Display) {
    h.el("<dt>", label, "</dt>").el("<dd>", value, "</dd>");
}

/// A `<dt>`/`<dd>` row whose value is a moment (see [`Html::time`]).
pub(super) fn dl_time(h: &mut Html, label: &'static str, t: f64) {
    h.el("<dt>", label, "</dt>").s("<dd>").time(t).s("</dd>");
}

pub(super) fn json_block(h: &mut Html, v: &Value) {
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    h.el("<pre class=\"json\">", pretty, "</pre>");
}

/// A score bar from 0 to 1 with the threshold marked and the operator band `[band_min,
/// threshold)` drawn as the OPERATOR_REQUIRED zone (SVG attributes: no inline style).
fn score_bar(h: &mut Html, score: Option<f64>, threshold: Option<f64>, band_min: Option<f64>, label: &str) {
    let Some(score) = score else {
        h.el("<p class=\"muted\">", format!("{label}: {}", text::NO_SCORE), "</p>");
        return;
    };
    let pct = |v: f64| (v.clamp(0.0, 1.0) * 100.0 * 100.0).round() / 100.0;
    let above = threshold.is_some_and(|t| score >= t);
    h.s("<figure class=\"score\"><svg viewBox=\"0 0 100 12\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"");
    h.t(format!("{label} {score:.4}")).s("\"><rect class=\"track\" x=\"0\" y=\"2\" width=\"100\" height=\"8\"/>");
    if let (Some(lo), Some(t)) = (band_min, threshold) {
        if lo < t {
            h.s("<rect class=\"band\" data-status=\"OPERATOR_REQUIRED\" x=\"").t(pct(lo)).s("\" y=\"0\" width=\"");
            h.t(((pct(t) - pct(lo)) * 100.0).round() / 100.0).s("\" height=\"12\"><title>");
            h.t(format!("OPERATOR_REQUIRED {lo} – {t}")).s("</title></rect>");
        }
    }
    h.s("<rect class=\"")
        .s(if above { "fill above" } else { "fill below" })
        .s("\" x=\"0\" y=\"2\" height=\"8\" width=\"");
    h.t(pct(score)).s("\"/>");
    if let Some(t) = threshold {
        h.s("<line class=\"threshold\" y1=\"0\" y2=\"12\" x1=\"").t(pct(t)).s("\" x2=\"").t(pct(t)).s("\"/>");
    }
    h.s("</svg><figcaption>").t(format!("{label} {score:.4}"));
    if let Some(t) = threshold {
        h.t(format!(" · {} {t:.4}", text::THRESHOLD));
    }
    h.s("</figcaption></figure>");
}

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// A COLLECTION result's hits: each matched person linked to its page, with the collection's
/// alias and the score (the person page checks who may see it).
fn collection_hits(h: &mut Html, base: &str, m: &crate::domain::model::analysis::MediaResult) {
    let matches = m.results_data.get("matches").and_then(Value::as_array).cloned().unwrap_or_default();
    let id = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
    let mut shown = false;
    for hit in &matches {
        let (Some(pid), Some(cid)) = (id(hit, "person_id"), id(hit, "collection_id")) else { continue };
        let alias = hit.get("alias").and_then(Value::as_str).unwrap_or("");
        let score = number(hit.get("confidence")).map(|c| format!(" ({c:.4})")).unwrap_or_default();
        h.s("<p class=\"hit\">").t(text::HIT_PERSON).s(": <a href=\"").t(base).s("/collections/").t(cid);
        h.s("/persons/").t(pid).s("\"><code>").t(pid).s("</code></a> ").t(alias).t(score).s("</p>");
        shown = true;
    }
    if let (false, Some(pid)) = (shown, m.person_id) {
        h.s("<p class=\"hit\">").t(text::HIT_PERSON).s(": <code>").t(pid).s("</code></p>");
    }
}

/// A BIOMETRY analysis' compared pairs (`results_data.pairs`, GAP-11): both media by file
/// name, the confidence, and whether it reaches the threshold.
fn biometry_pairs(h: &mut Html, d: &AnalysisDetails, data: &serde_json::Map<String, Value>) {
    let Some(pairs) = data.get("pairs").and_then(Value::as_array).filter(|p| !p.is_empty()) else { return };
    let name = |id: &str| {
        let m = d.source_media.iter().find(|m| m.media_id.to_string() == id);
        m.map(|m| format!("{} ({})", m.original_name, &id[..8.min(id.len())])).unwrap_or_else(|| id.to_owned())
    };
    h.s("<table class=\"pairs\"><caption>").t(text::PAIRS).s("</caption><thead><tr>");
    for col in [text::PAIR_MEDIA, text::PAIR_MEDIA, text::PAIR_CONFIDENCE] {
        h.el("<th scope=\"col\">", col, "</th>");
    }
    h.s("</tr></thead><tbody>");
    let threshold = d.analysis.threshold;
    for p in pairs {
        let ids: Vec<&str> = p
            .get("media_ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let [a, b] = ids[..] else { continue };
        let c = number(p.get("confidence"));
        let status = match (c, threshold) {
            (Some(c), Some(t)) if c >= t => "SUCCESS",
            (Some(_), Some(_)) => "DECLINED",
            _ => "",
        };
        h.el("<tr><td>", name(a), "</td>").el("<td>", name(b), "</td>");
        h.s("<td data-status=\"")
            .t(status)
            .s("\">")
            .t(c.map(|c| format!("{c:.4}")).unwrap_or_default())
            .s("</td></tr>");
    }
    h.s("</tbody></table>");
}

/// What the decision form of a case shows: the order's comment as it stands (editable), and
/// whether another operator holds the case (then a "decide anyway" box, `force`).
#[derive(Clone, Copy)]
struct DecisionContext<'a> {
    folder_comment: Option<&'a str>,
    held_by_other: bool,
}

fn analysis_panel(h: &mut Html, base: &str, session: &Session, d: &AnalysisDetails, decide: Option<DecisionContext>) {
    let a = &d.analysis;
    h.s("<section class=\"analysis\" aria-labelledby=\"a-").t(a.analyse_id).s("\"><h3 id=\"a-").t(a.analyse_id);
    h.s("\">").t(a.kind.as_str()).s(" ");
    badge(h, a.resolution_status.as_str());
    h.s("</h3><dl>");
    dl_row(h, text::STATE, a.state.as_str());
    if let Some(t) = a.threshold {
        dl_row(h, text::THRESHOLD, t);
    }
    let band = a.band_min();
    if let Some(lo) = band {
        let hi = a.threshold.map(|t| t.to_string()).unwrap_or_default();
        let label = if a.kind == AnalysisType::Collection { text::BAND_COLLECTION } else { text::BAND };
        dl_row(h, label, format!("{lo} – {hi}"));
    }
    if let Some(c) = &a.resolution_comment {
        dl_row(h, text::COMMENT, c);
    }
    if let Some(e) = &a.error {
        dl_row(h, text::ERROR, format!("{} ({})", e.message, e.code));
    }
    h.s("</dl>");
    let data = a.results_data.clone().unwrap_or_default();
    let rule = match a.kind {
        AnalysisType::Quality => {
            score_bar(h, number(data.get("confidence_spoofing")), a.threshold, None, "confidence_spoofing");
            for m in &a.results_media {
                let name =
                    d.source_media.iter().find(|s| s.media_id == m.source_media_id).map(|s| s.original_name.as_str());
                let label = format!("{} {}", name.unwrap_or("media"), "confidence_spoofing");
                score_bar(h, number(m.results_data.get("confidence_spoofing")), a.threshold, None, &label);
            }
            text::RULE_QUALITY
        }
        AnalysisType::Biometry => {
            score_bar(h, number(data.get("min_confidence")), a.threshold, band, "min_confidence");
            score_bar(h, number(data.get("max_confidence")), a.threshold, None, "max_confidence");
            biometry_pairs(h, d, &data);
            text::RULE_BIOMETRY
        }
        AnalysisType::Collection => {
            score_bar(h, number(data.get("max_confidence")), a.threshold, band, "max_confidence");
            for m in &a.results_media {
                collection_hits(h, base, m);
            }
            text::RULE_COLLECTION
        }
        _ => text::RULE_DOCUMENTS,
    };
    match band {
        Some(_) => h.el("<p class=\"rule\">", format!("{rule}; {}", text::RULE_BAND), "</p>"),
        None => h.el("<p class=\"rule\">", rule, "</p>"),
    };
    h.s("<details><summary>results_data</summary>");
    json_block(h, &Value::Object(data));
    h.s("</details>");
    let decide =
        decide.filter(|_| a.state == AnalysisState::Finished && a.resolution_status == Resolution::OperatorRequired);
    if let Some(ctx) = decide {
        h.s("<form method=\"post\" class=\"decision\" action=\"").t(base).s("/analyses/").t(a.analyse_id);
        h.s("/decision\"><fieldset><legend>").t(text::DECISION).s("</legend>");
        h.s("<input type=\"hidden\" name=\"csrf\" value=\"").t(&session.csrf).s("\">");
        h.s("<label for=\"c-").t(a.analyse_id).s("\">").t(text::DECISION_COMMENT).s("</label>");
        h.s("<textarea id=\"c-").t(a.analyse_id).s("\" name=\"comment\" rows=\"2\"></textarea>");
        // The order's own comment (`PATCH /api/folders/{id}`), as it stands.
        h.s("<label for=\"fc-").t(a.analyse_id).s("\">").t(text::ORDER_COMMENT).s("</label>");
        h.s("<textarea id=\"fc-").t(a.analyse_id).s("\" name=\"folder_comment\" rows=\"2\">");
        h.t(ctx.folder_comment.unwrap_or("")).s("</textarea>");
        if ctx.held_by_other {
            h.s("<label><input type=\"checkbox\" name=\"force\" value=\"true\"> ").t(text::DECIDE_ANYWAY).s("</label>");
        }
        h.s("<div class=\"actions\"><button type=\"submit\" name=\"resolution\" value=\"SUCCESS\" accesskey=\"a\">");
        h.t(text::DECIDE_SUCCESS).s("</button> <button type=\"submit\" name=\"resolution\" value=\"DECLINED\" ");
        h.s("accesskey=\"d\" class=\"danger\">").t(text::DECIDE_DECLINED).s("</button></div></fieldset></form>");
    }
    super::orders::analysis_delete(h, session, a);
    h.s("</section>");
}

/// `GET {base}/orders/{id}`: one folder with its media and analyses (`GET /api/folders/{id}`),
/// and the forms that change it (`orders`).
pub async fn order(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return error_page(&session.base, Error::not_exist("Folder")) };
    order_page(&state, &session, id, &parse_query(raw), None).await
}

/// The order page; a refused change shows above its form, with its status.
pub(super) async fn order_page(
    state: &AppState,
    session: &Session,
    id: Uuid,
    q: &[(String, String)],
    refused: Option<Refusal>,
) -> Response {
    let base = &settings(state).base;
    let with = FolderWith { media: true, analyses: true, user: true, company: true };
    let f = match state.domain.get_folder(&session.caller, id, with).await {
        Ok(f) => f,
        Err(e) => return error_page(base, e),
    };
    let folder = &f.folder;
    let refused = refused.as_ref();
    let mut b = Html::new();
    let processing = f.analyses.iter().flatten().any(|a| a.analysis.state == AnalysisState::Processing);
    // A refusal stays on screen until the user acts (no refresh would clear its message).
    if processing && refused.is_none() {
        // htmx reloads the page body while analyses run (no script of ours); the forms keep
        // what is typed in them (`hx-preserve`).
        b.s("<div hx-get=\"").t(base).s("/orders/").t(id).s("\" hx-trigger=\"every 3s\" hx-select=\"#main\" ");
        b.s("hx-target=\"#main\" hx-swap=\"outerHTML\"></div>");
        b.el("<p class=\"note\" role=\"status\">", text::PROCESSING_NOTE, "</p>");
    }
    b.s("<h1>").t(text::ORDER_TITLE).s(" <code>").t(id).s("</code></h1>");
    notice(&mut b, q);
    orders::refusal_on_top(&mut b, session, refused);
    let held_by_other = review_claim(&mut b, state, session, folder).await;
    if matches!(session.caller.user_type, UserType::Operator | UserType::ClientOperator) {
        // N presses this link, A and D the decision's buttons, Z zooms the evidence (console.js).
        b.s("<p class=\"keys\"><a data-key=\"n\" href=\"").t(base).s("/review?skip=").t(id).s("\">");
        b.t(text::NEXT_CASE_AFTER).s("</a> <span class=\"muted\" data-keys-help hidden>").t(text::KEYS_HELP);
        b.s("</span></p>");
    }
    b.s("<section><h2>").t(text::SUMMARY).s("</h2><dl>");
    b.s("<dt>").t(text::COL_STATUS).s("</dt><dd>");
    badge(&mut b, folder.resolution_status.as_str());
    b.s("</dd><dt>").t(text::COL_SYSTEM).s("</dt><dd>");
    if let Some(r) = &folder.system_resolution {
        badge(&mut b, r);
    }
    b.s("</dd>");
    dl_time(&mut b, text::COL_CREATED, folder.time_created);
    dl_time(&mut b, text::UPDATED, folder.time_updated);
    if let Some(Some(c)) = &f.company {
        dl_row(&mut b, text::COMPANY, &c.name);
    }
    if let Some(Some(u)) = &f.user {
        dl_row(&mut b, text::USER, &u.email);
    }
    if let Some(c) = &folder.resolution_comment {
        dl_row(&mut b, text::COMMENT, c);
    }
    b.s("</dl>");
    orders::comment_form(&mut b, session, &f, refused);
    b.s("<h3>").t(text::META_DATA).s("</h3>");
    json_block(&mut b, &folder.meta_data.to_value());
    orders::meta_tree_form(&mut b, session, folder, refused);
    orders::meta_form(&mut b, session, folder, refused);
    b.s("</section><section><h2>").t(text::EVIDENCE).s("</h2><div class=\"cards\">");
    for m in f.media.iter().flatten() {
        b.s("<figure class=\"card\">");
        let original = format!("{}.{}", m.media_id, m.extension);
        if m.has_thumb {
            b.s("<a hx-boost=\"false\" href=\"").t(base).s("/media/").t(m.folder_id).s("/").t(&original).s("\">");
            b.s("<img loading=\"lazy\" src=\"").t(base).s("/media/").t(m.folder_id).s("/").t(m.media_id);
            b.s("_thumb.jpg\" alt=\"").t(&m.original_name).s("\"></a>");
        } else {
            b.s("<a hx-boost=\"false\" href=\"").t(base).s("/media/").t(m.folder_id).s("/").t(&original).s("\">");
            b.t(text::ORIGINAL);
            b.s("</a>");
        }
        b.s("<figcaption>").el("<strong>", &m.original_name, "</strong><br>").t(m.kind.as_str());
        b.s("<br>").t(text::TAGS).s(": ");
        for tag in &m.tags {
            b.el("<span class=\"chip\">", tag, "</span> ");
        }
        if !m.meta_data.as_map().is_empty() {
            json_block(&mut b, &m.meta_data.to_value());
        }
        b.s("</figcaption>");
        orders::media_meta_form(&mut b, session, m, refused);
        orders::media_delete(&mut b, session, m);
        b.s("</figure>");
    }
    b.s("</div>");
    orders::add_media_form(&mut b, state, session, id, refused);
    b.s("</section><section><h2>").t(text::ANALYSES).s("</h2>");
    let can_decide = matches!(session.caller.user_type, UserType::Operator | UserType::ClientOperator);
    let decide =
        can_decide.then_some(DecisionContext { folder_comment: folder.resolution_comment.as_deref(), held_by_other });
    for a in f.analyses.iter().flatten() {
        analysis_panel(&mut b, base, session, a, decide);
    }
    b.s("</section>");
    orders::rerun_form(&mut b, state, session, id, f.media.as_deref().unwrap_or(&[]), refused).await;
    match state.domain.folder_decisions(&session.caller, id).await {
        Ok(events) => decision_history(&mut b, &f, &events),
        Err(e) => return error_page(base, e),
    }
    match state.domain.webhook_deliveries(&session.caller, id).await {
        Ok(list) => super::ops::deliveries(&mut b, session, folder, &list),
        Err(e) => return error_page(base, e),
    }
    orders::curl_section(&mut b, session, id);
    super::manage::delete_form(&mut b, session, id);
    let status = refused.map(|r| r.status).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::ORDER_TITLE, b)).into_response()
}

/// The audit trail's decisions on this order's analyses: who, when, before → after, comment.
fn decision_history(b: &mut Html, f: &FolderDetails, events: &[StoredAuthEvent]) {
    b.s("<section id=\"history\"><h2>").t(text::HISTORY).s("</h2>");
    if events.is_empty() {
        b.el("<p class=\"muted\">", text::HISTORY_EMPTY, "</p></section>");
        return;
    }
    b.s("<div class=\"scroll\"><table><thead><tr>");
    for col in [text::COL_TIME, text::COL_WHO, text::COL_ANALYSIS, text::COL_CHANGE, text::COMMENT] {
        b.el("<th scope=\"col\">", col, "</th>");
    }
    b.s("</tr></thead><tbody>");
    for e in events {
        let kind = e.object_id.and_then(|id| {
            f.analyses.iter().flatten().find(|a| a.analysis.analyse_id == id).map(|a| a.analysis.kind.as_str())
        });
        let who = e.email.clone().or(e.user_id.map(|u| u.to_string())).unwrap_or_default();
        b.s("<tr><td>").time(e.time_created).s("</td>").el("<td>", who, "</td><td>");
        b.t(kind.unwrap_or("")).s(" <code>").t(e.object_id.map(|i| i.to_string()[..8].to_owned()).unwrap_or_default());
        b.s("</code></td><td>");
        badge(b, e.before.as_deref().unwrap_or(""));
        b.s(" → ");
        badge(b, e.after.as_deref().unwrap_or(""));
        b.el("</td><td>", e.comment.as_deref().unwrap_or(""), "</td></tr>");
    }
    b.s("</tbody></table></div></section>");
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    resolution: String,
    #[serde(default)]
    comment: String,
    /// The order's `resolution_comment` as the form shows it (absent: left as it is).
    #[serde(default)]
    folder_comment: Option<String>,
    /// "Decide anyway" on a case another operator holds.
    #[serde(default)]
    force: Option<String>,
}

/// `POST {base}/analyses/{id}/decision`: the operator's decision, through the domain function
/// of `PATCH /api/analyses/{id}`; back to the order.
pub async fn decide(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let base = &settings(&state).base;
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = Uuid::parse_str(&id) else { return error_page(base, Error::not_exist("Analysis")) };
    let resolution = match f.resolution.as_str() {
        "SUCCESS" => Resolution::Success,
        "DECLINED" => Resolution::Declined,
        _ => {
            return error_page(
                base,
                Error::invalid_value(
                    "resolution must be SUCCESS or DECLINED",
                    serde_json::json!({"key_path": "resolution"}),
                ),
            )
        }
    };
    let comment = Some(f.comment.trim().to_owned()).filter(|c| !c.is_empty());
    if resolution == Resolution::Declined && comment.is_none() {
        return super::message_page(base, StatusCode::BAD_REQUEST, text::ERROR_TITLE, text::DECISION_COMMENT_REQUIRED);
    }
    let overrides = Overrides { decided: false, claim: f.force.as_deref() == Some("true") };
    match state.domain.decide_analysis(&session.caller, id, resolution, comment, overrides).await {
        Ok(d) => {
            // The order's comment, through `PATCH /api/folders/{id}`'s function (unchanged:
            // nothing is written or audited).
            if let Some(c) = f.folder_comment {
                if let Err(e) = state.domain.comment_folder(&session.caller, d.analysis.folder_id, Some(c)).await {
                    return error_page(base, e);
                }
            }
            // The decision releases the case (the order page claims it again while another
            // of its analyses still awaits a decision).
            let _ = state.domain.release_folder(&session.caller, d.analysis.folder_id).await;
            let to = format!("{base}/orders/{}", d.analysis.folder_id);
            (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
        }
        Err(e) => error_page(base, e),
    }
}

/// Opening a case that awaits a decision claims it for an operator (GAP-10,
/// `POST /api/folders/{id}/claim`); the page says who holds it. True when another operator
/// holds it (a decision is then refused unless forced).
async fn review_claim(
    b: &mut Html,
    state: &AppState,
    session: &Session,
    folder: &crate::domain::model::media::Folder,
) -> bool {
    let decides = matches!(session.caller.user_type, UserType::Operator | UserType::ClientOperator);
    if !decides || folder.system_resolution.as_deref() != Some("OPERATOR_REQUIRED") {
        return false;
    }
    match state.domain.claim_folder(&session.caller, folder.folder_id).await {
        Ok(c) => {
            b.el("<p class=\"note\" role=\"status\">", text::CASE_CLAIMED, " ").time(c.expires_at).s("</p>");
            false
        }
        Err(Error::Conflict { details, .. }) => {
            b.el("<p class=\"error\" role=\"alert\">", text::CASE_HELD, " ");
            if let Some(until) = details.get("expires_at").and_then(Value::as_f64) {
                b.time(until);
            }
            b.s("</p>");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "claiming a case for review");
            false
        }
    }
}

/// `GET {base}/media/{folder_id}/{file}`: a stored file, checked like `GET /static/…`.
pub async fn media_file(
    State(state): State<AppState>,
    session: Session,
    Path((folder_id, file)): Path<(String, String)>,
) -> Response {
    let base = &settings(&state).base;
    let Ok(folder_id) = Uuid::parse_str(&folder_id) else { return error_page(base, Error::not_exist("File")) };
    match state.domain.open_media_file(&session.caller, folder_id, &file).await {
        Ok(blob) => private_file(file_response(blob)),
        Err(e) => error_page(base, e),
    }
}

/// Files behind a login are cached by the browser only, and never sniffed.
fn private_file(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, max-age=300"));
    res
}

/// `GET {base}/collections/{cid}/images/{file}`: a person's photo, checked like `/static/collections/…`.
pub async fn person_image(
    State(state): State<AppState>,
    session: Session,
    Path((cid, file)): Path<(String, String)>,
) -> Response {
    let base = &settings(&state).base;
    let Ok(cid) = Uuid::parse_str(&cid) else { return error_page(base, Error::not_exist("File")) };
    match state.domain.open_person_image_file(&session.caller, cid, &file).await {
        Ok(blob) => private_file(file_response(blob)),
        Err(e) => error_page(base, e),
    }
}

/// `GET {base}/export.csv?<the orders filters>`: every order the user sees among the filters,
/// one row each, with every analysis type's outcome, score and threshold. Streamed in chunks
/// by the API report's machinery (`GET /api/reports/folders.csv`, GAP-7), so it has no row
/// cap and constant memory.
pub async fn export_csv(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let q = parse_query(raw);
    let mut header_row: Vec<String> = [
        "folder_id",
        "time_created",
        "company_id",
        "user_id",
        "resolution_status",
        "system_resolution",
        "resolution_comment",
        "transaction_id",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for t in TYPES {
        header_row.extend([format!("{t}.resolution"), format!("{t}.score"), format!("{t}.threshold")]);
    }
    let mut header_line = String::new();
    csv_line(&mut header_line, &header_row);
    let with = FolderWith { media: false, analyses: true, user: false, company: false };
    let mut params = folder_params(&q);
    params.push(("sorting".into(), "time_created{desc}".into()));
    let write_row: RowWriter = Box::new(|out: &mut String, f: &FolderDetails| {
        let folder = &f.folder;
        let mut row = vec![
            folder.folder_id.to_string(),
            utc(folder.time_created),
            folder.company_id.map(|c| c.to_string()).unwrap_or_default(),
            folder.user_id.to_string(),
            folder.resolution_status.as_str().to_owned(),
            folder.system_resolution.clone().unwrap_or_default(),
            folder.resolution_comment.clone().unwrap_or_default(),
            meta_str(folder.meta_data.as_map(), "transaction_id"),
        ];
        for t in TYPES {
            // The latest analysis of that type decides the row.
            let last = f.analyses.iter().flatten().rfind(|a| a.analysis.kind.as_str() == t);
            match last {
                Some(a) => {
                    let a = &a.analysis;
                    let data = a.results_data.clone().unwrap_or_default();
                    let score = ["confidence_spoofing", "min_confidence", "max_confidence"]
                        .iter()
                        .find_map(|k| number(data.get(*k)))
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    row.extend([
                        a.resolution_status.as_str().to_owned(),
                        score,
                        a.threshold.map(|t| t.to_string()).unwrap_or_default(),
                    ]);
                }
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        csv_line(out, &row);
    });
    let caller = session.caller.clone();
    let report = stream_folder_report(
        state.domain.clone(),
        caller,
        ListParams(params),
        with,
        header_line,
        write_row,
        "orders.csv",
    );
    match report.await {
        Ok(res) => res,
        Err(e) => error_page(base, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::reports::csv_field as csv_cell;

    #[test]
    fn a_score_bar_draws_the_operator_band_as_the_operator_required_zone() {
        let mut h = Html::new();
        score_bar(&mut h, Some(0.7), Some(0.85), Some(0.6), "min_confidence");
        let s = h.into_string();
        assert!(
            s.contains(
                "<rect class=\"band\" data-status=\"OPERATOR_REQUIRED\" x=\"60\" y=\"0\" width=\"25\" \
                 height=\"12\"><title>OPERATOR_REQUIRED 0.6 – 0.85</title></rect>"
            ),
            "{s}"
        );
        assert!(s.contains("<rect class=\"fill below\" x=\"0\" y=\"2\" height=\"8\" width=\"70\"/>"), "{s}");
        for (band, threshold) in [(None, Some(0.85)), (Some(0.6), None), (Some(0.9), Some(0.85))] {
            let mut h = Html::new();
            score_bar(&mut h, Some(0.7), threshold, band, "x");
            assert!(!h.into_string().contains("class=\"band\""), "{band:?} {threshold:?}");
        }
    }

    #[test]
    fn utc_formats_unix_seconds() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_709_210_096.5), "2024-02-29 12:34:56");
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_defused() {
        let mut out = String::new();
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "plain", "a,b", "=\"x\""] {
            csv_cell(&mut out, s);
            out.push('|');
        }
        assert_eq!(out, "'=1+1|'+1|'-1|'@SUM(A1)|plain|\"a,b\"|\"'=\"\"x\"\"\"|");
    }
}
