//! The console's operations screens: an order's webhook deliveries with redelivery (the domain
//! functions of `GET /api/folders/{id}/webhook_deliveries` and `POST …/redeliver`), the ADMIN's
//! system page (`GET /api/health`), and the audit trail (`GET /api/audit`).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::Form;
use uuid::Uuid;

use super::forms::{csrf_field, see_other};
use super::html::Html;
use super::pages::{badge, dl_row, dl_time, get, input, offset_of, pager, parse_query, PAGE_SIZE};
use super::{error_page, message_page, page, settings, text, CsrfForm, Session};
use crate::api::reports::stream_audit_report;
use crate::api::AppState;
use crate::domain::analyses::webhooks::{endpoint_of, DeliveryHistory};
use crate::domain::model::media::Folder;
use crate::domain::model::role::UserType;
use crate::domain::store::ListParams;
use crate::domain::system::{Health, QueueHealth, WebhooksHealth};
use crate::domain::Error;

/// Whether the role may ask for a redelivery (the domain checks the folder's owner again).
fn may_redeliver(t: UserType) -> bool {
    match t {
        UserType::Admin | UserType::ClientAdmin | UserType::Client | UserType::ClientService => true,
        UserType::Operator | UserType::ClientOperator => false,
    }
}

/// An order's webhook deliveries, newest first, each with its attempts; the redeliver button
/// when the folder has a `resolution_endpoint` and the role may use it.
pub fn deliveries(b: &mut Html, session: &Session, folder: &Folder, list: &[DeliveryHistory]) {
    let endpoint = endpoint_of(&folder.technical_meta_data);
    b.s("<section id=\"webhooks\"><h2>").t(text::WEBHOOKS).s("</h2>");
    if let Some(url) = &endpoint {
        b.s("<p>").t(text::WEBHOOK_ENDPOINT).s(": <code>").t(url).s("</code></p>");
    }
    if list.is_empty() {
        b.el("<p class=\"muted\">", text::WEBHOOKS_EMPTY, "</p>");
    } else {
        b.s("<div class=\"scroll\"><table><thead><tr>");
        for col in [
            text::COL_TIME,
            text::COL_DELIVERY,
            text::COL_ATTEMPT,
            text::COL_ANSWER,
            text::COL_DURATION,
            text::COL_OUTCOME,
        ] {
            b.el("<th scope=\"col\">", col, "</th>");
        }
        b.s("</tr></thead><tbody>");
        for h in list.iter().rev() {
            let d = &h.delivery;
            let short = d.delivery_id.to_string()[..8].to_owned();
            if h.attempts.is_empty() {
                b.s("<tr><td>").time(d.time_created).s("</td><td><code>").t(&short).s("</code> ");
                badge(b, &d.status);
                b.el("</td><td colspan=\"4\" class=\"muted\">", text::NOT_SENT_YET, "</td></tr>");
            }
            for a in h.attempts.iter().rev() {
                b.s("<tr><td>").time(a.time_created).s("</td><td><code>").t(&short).s("</code> ");
                badge(b, &d.status);
                b.el("</td><td>", a.attempt, "</td><td>");
                match (a.http_status, &a.error) {
                    (Some(code), _) => {
                        b.t(format!("HTTP {code}"));
                    }
                    (None, Some(e)) => {
                        b.t(e);
                    }
                    (None, None) => {}
                }
                b.el("</td><td>", format!("{:.0} ms", a.duration * 1000.0), "</td><td>");
                badge(b, &a.outcome);
                b.s("</td></tr>");
            }
        }
        b.s("</tbody></table></div>");
    }
    if endpoint.is_some() && may_redeliver(session.caller.user_type) {
        b.s("<form method=\"post\" action=\"").t(&session.base).s("/orders/").t(folder.folder_id).s("/redeliver\">");
        csrf_field(b, session);
        b.s("<button type=\"submit\">").t(text::REDELIVER).s("</button></form>");
    }
    b.s("</section>");
}

/// `POST {base}/orders/{id}/redeliver`: `redeliver_webhook` (what `POST /api/folders/{id}/
/// webhook_deliveries/redeliver` runs); back to the order's deliveries.
pub async fn redeliver(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let base = &settings(&state).base;
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = Uuid::parse_str(&id) else { return error_page(base, Error::not_exist("Folder")) };
    match state.domain.redeliver_webhook(&session.caller, id).await {
        Ok(_) => see_other(format!("{base}/orders/{id}#webhooks")),
        Err(e) => error_page(base, e),
    }
}

fn status_row(h: &mut Html, label: &'static str, value: &str, ok: bool) {
    h.el("<dt>", label, "</dt><dd>");
    badge(h, if ok { "OK" } else { "FAILED" });
    h.s(" ").t(value).s("</dd>");
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn queue_text(q: &QueueHealth) -> String {
    let s = &q.stats;
    let mut out = format!("{} {}, {} {}, {} {}", s.queued, text::QUEUED, s.running, text::RUNNING, s.due, text::DUE);
    if let Some(age) = q.oldest_due_age {
        out.push_str(&format!("; {} {age:.0} s", text::OLDEST_DUE));
    }
    out
}

fn webhook_failures(b: &mut Html, base: &str, w: &WebhooksHealth) {
    let f = &w.failures;
    let summary = format!("{} {}, {} {}", f.attempts, text::FAILED_ATTEMPTS, f.deliveries, text::GIVEN_UP);
    status_row(b, text::WEBHOOK_FAILURES, &summary, w.ok);
    if f.recent.is_empty() {
        return;
    }
    b.s("<dt>").t(text::RECENT_FAILURES).s("</dt><dd><ul>");
    for a in &f.recent {
        b.s("<li>").time(a.time_created).s(" <a href=\"").t(base).s("/orders/").t(a.folder_id).s("#webhooks\"><code>");
        b.t(&a.folder_id.to_string()[..8]).s("</code></a> ").t(&a.url).s(" ");
        match (a.http_status, &a.error) {
            (Some(code), _) => b.t(format!("HTTP {code}")),
            (None, Some(e)) => b.t(e),
            (None, None) => b.t(""),
        };
        b.s(" ");
        badge(b, &a.outcome);
        b.s("</li>");
    }
    b.s("</ul></dd>");
}

fn health_list(b: &mut Html, base: &str, h: &Health) {
    b.s("<dl class=\"health\">");
    dl_row(b, text::VERSION, format!("Emerald {} (Oz API 6.0.1-compatible)", env!("CARGO_PKG_VERSION")));
    b.s("<dt>").t(text::HEALTH).s("</dt><dd>");
    badge(b, h.status.as_str());
    b.s("</dd>");
    let db = match &h.database.error {
        None => format!("{} {} ({} ms)", h.backend, text::OK, h.database.latency_ms),
        Some(e) => format!("{} {}: {e}", h.backend, text::FAILING),
    };
    status_row(b, text::DATABASE, &db, h.database.ok);
    let blobs = match &h.blob_store.error {
        None => format!("{} ({} ms)", text::BLOB_OK, h.blob_store.latency_ms),
        Some(e) => e.clone(),
    };
    status_row(b, text::BLOB_STORE, &blobs, h.blob_store.ok);
    match &h.models.face_engine {
        Ok(m) => {
            let s = format!("detector {}, embedder {}, liveness {}", m.detector, m.embedder, m.liveness);
            status_row(b, text::FACE_ENGINE, &s, true);
        }
        Err(why) => status_row(b, text::FACE_ENGINE, why, false),
    }
    match &h.models.documents_ocr {
        Ok(name) => status_row(b, text::DOCUMENTS_OCR, name, true),
        Err(why) => status_row(b, text::DOCUMENTS_OCR, why, false),
    }
    let collections = if h.models.collections { text::AVAILABLE } else { text::NOT_AVAILABLE };
    status_row(b, text::COLLECTIONS_COMPONENT, collections, h.models.collections);
    match &h.models.video_decoder {
        Ok(ff) => status_row(b, text::VIDEO_DECODER, ff, true),
        Err(why) => status_row(b, text::VIDEO_DECODER, why, false),
    }
    match &h.queue {
        Ok(q) => status_row(b, text::QUEUED_JOBS, &queue_text(q), q.ok),
        Err(e) => status_row(b, text::QUEUED_JOBS, e, false),
    }
    match &h.processing_analyses {
        Ok(n) => dl_row(b, text::PROCESSING_ANALYSES, n),
        Err(e) => dl_row(b, text::PROCESSING_ANALYSES, e),
    }
    let d = &h.disk;
    let disk = match (d.free_bytes, d.total_bytes, &d.error) {
        (Some(free), Some(total), _) => format!(
            "{} {} {} ({:.0} %) — {}",
            gib(free),
            text::OF,
            gib(total),
            d.free_ratio().unwrap_or(0.0) * 100.0,
            d.path
        ),
        (_, _, Some(e)) => e.clone(),
        _ => String::new(),
    };
    status_row(b, text::FREE_STORAGE, &disk, d.ok);
    match &h.webhooks {
        Ok(w) => webhook_failures(b, base, w),
        Err(e) => status_row(b, text::WEBHOOK_FAILURES, e, false),
    }
    dl_time(b, text::SERVER_TIME, h.time);
    b.s("</dl>");
}

/// `GET {base}/system`: the ADMIN's health page, from the domain function of `GET /api/health`.
pub async fn system(State(state): State<AppState>, session: Session) -> Response {
    let base = &settings(&state).base;
    let h = match state.domain.health(&session.caller).await {
        Ok(h) => h,
        Err(Error::Forbidden(_)) => {
            return message_page(base, axum::http::StatusCode::FORBIDDEN, text::ERROR_TITLE, text::ADMIN_ONLY)
        }
        Err(e) => return error_page(base, e),
    };
    let mut b = Html::new();
    b.el("<h1>", text::SYSTEM_TITLE, "</h1>");
    health_list(&mut b, base, &h);
    page(&state, &session, text::SYSTEM_TITLE, b)
}

/// The audit filters the console passes to the list grammar of `GET /api/audit`.
const AUDIT_FILTERS: [&str; 5] = ["object_id", "user_id", "event", "time_created.min", "time_created.max"];
/// The audited events, for the filter's choices.
const EVENTS: [&str; 14] = [
    "login",
    "logout",
    "refresh",
    "block",
    "unblock",
    "throttle_clear",
    "decision",
    "claim",
    "release",
    "create",
    "update",
    "delete",
    "redeliver",
    "webhook",
];

/// The console's audit filters, as the list grammar's parameters, and as the query string that
/// repeats them (paging, the export link).
fn audit_filters(q: &[(String, String)]) -> (Vec<(String, String)>, String) {
    let mut filters = String::new();
    let mut params = Vec::new();
    for key in AUDIT_FILTERS {
        if let Some(v) = get(q, key) {
            let v = v.trim();
            let value = match key {
                "time_created.max" if v.len() == 10 => format!("{v}T23:59:59.999999"),
                _ => v.to_owned(),
            };
            params.push((key.to_owned(), value));
            filters.push_str(key);
            filters.push('=');
            filters.push_str(&super::html::query_value(v));
            filters.push('&');
        }
    }
    (params, filters)
}

/// `GET {base}/audit.csv?<the audit filters>`: every event the screen's filters select, as
/// CSV, streamed by `GET /api/audit.csv`'s machinery (same permissions, same columns and
/// CSV-injection guard).
pub async fn audit_csv(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let (params, _) = audit_filters(&parse_query(raw));
    match stream_audit_report(state.domain.clone(), session.caller.clone(), ListParams(params)).await {
        Ok(res) => res,
        Err(e) => error_page(base, e),
    }
}

/// `GET {base}/audit`: the audit trail, newest first, filtered by object, user, action and
/// time; `list_auth_events`, what `GET /api/audit` runs (ADMIN; CLIENT ADMIN its company's).
pub async fn audit(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let q = parse_query(raw);
    let offset = offset_of(&q);
    let (mut params, filters) = audit_filters(&q);
    params.extend([("offset".into(), offset.to_string()), ("limit".into(), PAGE_SIZE.to_string())]);
    let mut b = Html::new();
    b.el("<h1>", text::AUDIT_TITLE, "</h1>");
    b.s("<form method=\"get\" action=\"").t(base).s("/audit\" class=\"filters\"><fieldset><legend>").t(text::FILTERS);
    b.s("</legend>");
    input(&mut b, "object_id", text::FILTER_OBJECT, "text", get(&q, "object_id"));
    input(&mut b, "user_id", text::FILTER_USER, "text", get(&q, "user_id"));
    b.s("<label for=\"f-event\">").t(text::FILTER_ACTION).s("</label><select id=\"f-event\" name=\"event\">");
    b.s("<option value=\"\">").t(text::FILTER_ANY).s("</option>");
    for e in EVENTS {
        b.s("<option");
        if get(&q, "event") == Some(e) {
            b.s(" selected");
        }
        b.s(">").t(e).s("</option>");
    }
    b.s("</select>");
    input(&mut b, "time_created.min", text::FILTER_FROM, "date", get(&q, "time_created.min"));
    input(&mut b, "time_created.max", text::FILTER_TO, "date", get(&q, "time_created.max"));
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::APPLY).s("</button> <a href=\"").t(base);
    b.s("/audit\">").t(text::RESET).s("</a></div></fieldset></form>");
    match state.domain.list_auth_events(&session.caller, &ListParams(params)).await {
        Ok(p) if p.items.is_empty() => {
            b.el("<p>", text::AUDIT_EMPTY, "</p>");
        }
        Ok(p) => {
            b.s("<p><a class=\"export\" hx-boost=\"false\" download href=\"").t(base).s("/audit.csv?");
            b.t(filters.trim_end_matches('&')).s("\">").t(text::AUDIT_EXPORT).s("</a></p>");
            b.s("<div class=\"scroll\"><table><thead><tr>");
            for col in [
                text::COL_TIME,
                text::COL_ACTION,
                text::COL_WHO,
                text::COL_OBJECT,
                text::COL_CHANGE,
                text::COMMENT,
                text::COL_ADDRESS,
            ] {
                b.el("<th scope=\"col\">", col, "</th>");
            }
            b.s("</tr></thead><tbody>");
            for e in &p.items {
                let who = match (&e.email, e.user_id) {
                    (Some(m), _) => m.clone(),
                    (None, Some(u)) => u.to_string(),
                    (None, None) => String::new(),
                };
                b.s("<tr><td>").time(e.time_created).s("</td><td>").t(&e.event).s(" ");
                badge(&mut b, &e.outcome);
                b.el("</td><td>", who, "</td><td>");
                if let (Some(kind), Some(id)) = (&e.object_type, e.object_id) {
                    b.t(kind).s(" ");
                    // Orders and collections have a page of their own to link.
                    let page = match kind.as_str() {
                        "folder" => Some("/orders/"),
                        "collection" => Some("/collections/"),
                        _ => None,
                    };
                    match page {
                        Some(p) => {
                            b.s("<a href=\"").t(base).s(p).t(id).s("\"><code>").t(id).s("</code></a>");
                        }
                        None => {
                            b.el("<code>", id, "</code>");
                        }
                    }
                }
                b.s("</td><td>");
                if e.before.is_some() || e.after.is_some() {
                    b.t(e.before.as_deref().unwrap_or("")).s(" → ").t(e.after.as_deref().unwrap_or(""));
                }
                b.el("</td><td>", e.comment.as_deref().unwrap_or(""), "</td>");
                b.el("<td>", e.client_addr.as_deref().unwrap_or(""), "</td></tr>");
            }
            b.s("</tbody></table></div>");
            pager(&mut b, &format!("{base}/audit"), &filters, offset, p.items.len(), p.total);
        }
        Err(e @ (Error::InvalidValue { .. } | Error::InvalidType { .. } | Error::InvalidStructure { .. })) => {
            b.el("<p class=\"error\" role=\"alert\">", e.to_string(), "</p>");
        }
        Err(e) => return error_page(base, e),
    }
    page(&state, &session, text::AUDIT_TITLE, b)
}
