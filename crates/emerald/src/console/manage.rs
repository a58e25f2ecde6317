//! The console's write and overview screens: create an order (the domain function of
//! `POST /api/folders/`, then that of `POST /api/folders/{id}/analyses/`), delete an order after
//! a typed confirmation (`DELETE /api/folders/{id}`). Statistics live in `statistics`, the
//! ADMIN's system page in `ops` (beside the audit screen and webhook redelivery).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde_json::{json, Value};
use uuid::Uuid;

use super::forms::{see_other, typed_delete, DeleteForm};
use super::html::Html;
use super::pages::input;
use super::{error_page, message_page, page, settings, text, Session};
use crate::api::oz::analysis_request::parse_analyses;
use crate::api::oz::multipart::FormUpload;
use crate::api::AppState;
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::store::ListParams;
use crate::domain::Error;

/// File inputs on the create-order form (each with its own content type).
pub const FILE_SLOTS: usize = 4;

/// The content types a file can be given, and the §6.7 tags each means.
pub const CONTENT_TYPES: [(&str, &str, &[&str]); 11] = [
    ("selfie", text::CT_SELFIE, &["photo_selfie"]),
    ("id_front", text::CT_ID_FRONT, &["photo_id", "photo_id_front"]),
    ("id_back", text::CT_ID_BACK, &["photo_id", "photo_id_back"]),
    ("video_scan", text::CT_VIDEO_SCAN, &["video_selfie", "video_selfie_scan", "orientation_portrait"]),
    ("video_blank", text::CT_VIDEO_BLANK, &["video_selfie", "video_selfie_blank", "orientation_portrait"]),
    ("video_left", text::CT_VIDEO_LEFT, &["video_selfie", "video_selfie_left", "orientation_portrait"]),
    ("video_right", text::CT_VIDEO_RIGHT, &["video_selfie", "video_selfie_right", "orientation_portrait"]),
    ("video_down", text::CT_VIDEO_DOWN, &["video_selfie", "video_selfie_down", "orientation_portrait"]),
    ("video_high", text::CT_VIDEO_HIGH, &["video_selfie", "video_selfie_high", "orientation_portrait"]),
    ("video_smile", text::CT_VIDEO_SMILE, &["video_selfie", "video_selfie_smile", "orientation_portrait"]),
    ("video_eyes", text::CT_VIDEO_EYES, &["video_selfie", "video_selfie_eyes", "orientation_portrait"]),
];

/// Roles that create orders (the domain refuses the others too).
pub fn creates_orders(t: UserType) -> bool {
    matches!(t, UserType::Admin | UserType::Client | UserType::ClientAdmin)
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

fn checkbox(h: &mut Html, name: &'static str, value: &'static str, label: &'static str, on: bool, enabled: bool) {
    h.s("<label class=\"check\"><input type=\"checkbox\" name=\"").s(name).s("\" value=\"").s(value).s("\"");
    if on && enabled {
        h.s(" checked");
    }
    if !enabled {
        h.s(" disabled");
    }
    h.s("> ").t(label).s("</label>");
}

/// The create-order form, with the values sent back after an error.
async fn order_form(state: &AppState, session: &Session, fields: &[(String, String)], error: Option<&str>) -> Html {
    let base = &settings(state).base;
    let can = &session.user.can_start;
    let mut b = Html::new();
    b.el("<h1>", text::NEW_ORDER_TITLE, "</h1>");
    if let Some(e) = error {
        b.el("<p class=\"error\" role=\"alert\">", e, "</p>");
    }
    b.s("<form method=\"post\" enctype=\"multipart/form-data\" class=\"create\" hx-boost=\"false\" action=\"").t(base);
    b.s("/orders/new\"><input type=\"hidden\" name=\"csrf\" value=\"").t(&session.csrf).s("\">");
    b.s("<fieldset><legend>").t(text::FILES).s("</legend>");
    b.el("<p class=\"note\">", text::FILES_NOTE, "</p>");
    for i in 1..=FILE_SLOTS {
        let chosen = field(fields, &format!("kind{i}")).unwrap_or("selfie");
        b.s("<div class=\"slot\"><label for=\"file").t(i).s("\">").t(format!("{} {i}", text::FILE)).s("</label>");
        b.s("<input id=\"file").t(i).s("\" name=\"file").t(i).s("\" type=\"file\" accept=\"image/*,video/*,.zip\">");
        b.s("<label for=\"kind").t(i).s("\">").t(text::CONTENT_TYPE).s("</label><select id=\"kind").t(i);
        b.s("\" name=\"kind").t(i).s("\">");
        for (value, label, _) in CONTENT_TYPES {
            b.s("<option value=\"").s(value).s("\"");
            if chosen == value {
                b.s(" selected");
            }
            b.s(">").t(label).s("</option>");
        }
        b.s("</select></div>");
    }
    b.s("</fieldset><fieldset><legend>").t(text::ANALYSES).s("</legend>");
    // Liveness is ticked on a fresh form; the others need more than one selfie, so they are
    // ticked by the user (the analyses are checked by the API's rules all the same).
    let asked = |v: &str| fields.iter().any(|(k, x)| k == "analysis" && x == v);
    checkbox(&mut b, "analysis", "quality", text::AN_QUALITY, fields.is_empty() || asked("quality"), can.quality);
    checkbox(&mut b, "analysis", "biometry", text::AN_BIOMETRY, asked("biometry"), can.biometry);
    checkbox(
        &mut b,
        "analysis",
        "documents",
        text::AN_DOCUMENTS,
        fields.iter().any(|(_, x)| x == "documents"),
        can.documents,
    );
    let collections = state
        .domain
        .list_collections(&session.caller, &ListParams(vec![("limit".into(), "200".into())]))
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    checkbox(
        &mut b,
        "analysis",
        "collection",
        text::AN_COLLECTION,
        fields.iter().any(|(_, x)| x == "collection"),
        can.collection && !collections.is_empty(),
    );
    if !collections.is_empty() {
        let chosen = field(fields, "collection_id");
        b.s("<label for=\"collection_id\">")
            .t(text::COLLECTION)
            .s("</label><select id=\"collection_id\" name=\"collection_id\">");
        for c in &collections {
            let id = c.collection_id.to_string();
            b.s("<option value=\"").t(&id).s("\"");
            if chosen == Some(id.as_str()) {
                b.s(" selected");
            }
            b.s(">").t(&c.alias).s("</option>");
        }
        b.s("</select>");
    }
    b.s("</fieldset><fieldset class=\"details\"><legend>").t(text::ORDER_DETAILS).s("</legend>");
    input(&mut b, "transaction_id", "transaction_id", "text", field(fields, "transaction_id"));
    input(&mut b, "iin", "iin", "text", field(fields, "iin"));
    input(&mut b, "resolution_endpoint", text::WEBHOOK_URL, "url", field(fields, "resolution_endpoint"));
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::CREATE_ORDER).s("</button></div>");
    b.s("</fieldset></form>");
    b
}

/// `GET {base}/orders/new`: the create-order form (ADMIN, CLIENT, CLIENT ADMIN).
pub async fn new_order(State(state): State<AppState>, session: Session) -> Response {
    let base = &settings(&state).base;
    if !creates_orders(session.caller.user_type) {
        return message_page(base, StatusCode::FORBIDDEN, text::ERROR_TITLE, text::CANNOT_CREATE);
    }
    let b = order_form(&state, &session, &[], None).await;
    page(&state, &session, text::NEW_ORDER_TITLE, b)
}

/// `POST {base}/orders/new`: the files with their tags and the order's meta_data through
/// `create_folder` (what `POST /api/folders/` runs), then the ticked analyses through
/// `request_analyses` (what `POST /api/folders/{id}/analyses/` runs); then the order page.
pub async fn create_order(
    State(state): State<AppState>,
    session: Session,
    upload: Result<FormUpload, Error>,
) -> Response {
    let base = settings(&state).base.clone();
    let FormUpload(mut upload, fields) = match upload {
        Ok(u) => u,
        Err(e) => {
            let (_, status) = crate::api::oz::error::code_and_status(&e);
            let b = order_form(&state, &session, &[], Some(&e.to_string())).await;
            return (status, page(&state, &session, text::NEW_ORDER_TITLE, b)).into_response();
        }
    };
    if let Err(r) = session.check_csrf(field(&fields, "csrf").unwrap_or("")) {
        return r;
    }
    let fail = |status: StatusCode, msg: String| {
        let state = state.clone();
        let fields = fields.clone();
        let session = &session;
        async move {
            let b = order_form(&state, session, &fields, Some(&msg)).await;
            (status, page(&state, session, text::NEW_ORDER_TITLE, b)).into_response()
        }
    };
    if upload.files.is_empty() {
        return fail(StatusCode::BAD_REQUEST, text::NO_FILES.to_owned()).await;
    }
    // Each file's tags from its slot's content type.
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for f in &upload.files {
        let kind = field(&fields, &f.key.replacen("file", "kind", 1)).unwrap_or("selfie");
        let Some((_, _, t)) = CONTENT_TYPES.iter().find(|(v, _, _)| *v == kind) else {
            return fail(StatusCode::BAD_REQUEST, format!("{} {kind:?}", text::UNKNOWN_CONTENT_TYPE)).await;
        };
        tags.insert(f.key.clone(), t.iter().map(|s| (*s).to_owned()).collect());
    }
    let mut meta = serde_json::Map::new();
    for key in ["transaction_id", "iin"] {
        if let Some(v) = field(&fields, key) {
            meta.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    let folder_meta = match MetaData::parse(Value::Object(meta), "folder:meta_data") {
        Ok(m) => m,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()).await,
    };
    let mut requests = Vec::new();
    for (k, v) in &fields {
        if k != "analysis" {
            continue;
        }
        let req = match v.as_str() {
            "collection" => json!({"type": "collection", "collection_id": field(&fields, "collection_id")}),
            t @ ("quality" | "biometry" | "documents") => json!({ "type": t }),
            other => return fail(StatusCode::BAD_REQUEST, format!("{} {other:?}", text::UNKNOWN_ANALYSIS)).await,
        };
        requests.push(req);
    }
    let requests = if requests.is_empty() {
        None
    } else {
        match parse_analyses(Value::Array(requests), "analyses") {
            Ok(r) => Some(r),
            Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()).await,
        }
    };
    let endpoint = field(&fields, "resolution_endpoint").map(str::to_owned);
    upload.payload.media_tags = tags;
    upload.payload.folder_meta = folder_meta;
    upload.payload.analyses = None;
    // The webhook target is stored on the folder by its creation (as over the API).
    upload.payload.resolution_endpoint = endpoint;
    let created = match state.domain.create_folder(&session.caller, upload).await {
        Ok(c) => c,
        Err(e) => {
            let (_, status) = crate::api::oz::error::code_and_status(&e);
            return fail(status, e.to_string()).await;
        }
    };
    let folder_id = created.folder.folder_id;
    if let Some(requests) = requests {
        if let Err(e) = state.domain.request_analyses(&session.caller, folder_id, requests, None).await {
            // The order exists with its media: say so (so that it is not sent twice), and why
            // the analyses were refused.
            let (_, status) = crate::api::oz::error::code_and_status(&e);
            let mut b = Html::new();
            b.el("<h1>", text::NEW_ORDER_TITLE, "</h1>");
            b.el("<p class=\"error\" role=\"alert\">", format!("{} {e}", text::ANALYSES_REFUSED), "</p>");
            b.s("<p><a href=\"").t(&base).s("/orders/").t(folder_id).s("\">").t(text::OPEN_CREATED_ORDER).s("</a></p>");
            return (status, page(&state, &session, text::NEW_ORDER_TITLE, b)).into_response();
        }
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("{base}/orders/{folder_id}"))]).into_response()
}

/// The typed confirmation of a delete: the first 8 characters of the folder id.
pub fn confirmation_of(id: Uuid) -> String {
    id.to_string()[..8].to_owned()
}

/// The delete form on an order page (ADMIN, CLIENT ADMIN; the domain decides).
pub fn delete_form(b: &mut Html, session: &Session, id: Uuid) {
    if !matches!(session.caller.user_type, UserType::Admin | UserType::ClientAdmin) {
        return;
    }
    let path = format!("/orders/{id}/delete");
    typed_delete(b, session, &path, text::DELETE_ORDER, text::DELETE_CONFIRM_LABEL, &confirmation_of(id));
}

/// `POST {base}/orders/{id}/delete`: `delete_folder` (what `DELETE /api/folders/{id}` runs),
/// only when the typed confirmation matches.
pub async fn delete_order(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let base = &settings(&state).base;
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = Uuid::parse_str(&id) else { return error_page(base, Error::not_exist("Folder")) };
    if let Err(r) = f.check(&session, &[confirmation_of(id).as_str(), id.to_string().as_str()]) {
        return r;
    }
    match state.domain.delete_folder(&session.caller, id).await {
        Ok(()) => see_other(format!("{base}?deleted={}", confirmation_of(id))),
        Err(e) => error_page(base, e),
    }
}
