//! Editing an order on its page (issue #20): add files (`add_media`, what
//! `POST /api/folders/{id}/media/` runs), request analyses again (`request_analyses`, what
//! `POST /api/folders/{id}/analyses/` runs), replace the folder's meta_data (`change_meta`, what
//! `POST /api/folders/{id}/meta_data` runs), and delete a file or an analysis after a typed
//! confirmation (`delete_media` / `delete_analysis`, what `DELETE /api/media/{id}` and
//! `DELETE /api/analyses/{id}` run). Each runs as the signed-in user; the forms show only to
//! the roles the domain lets do it (the folder's `Access`: ADMIN, CLIENT ADMIN of its company,
//! the CLIENT who owns it write; ADMIN and CLIENT ADMIN delete), and the domain checks again.
//!
//! The order page re-polls while an analysis runs (htmx swaps `#main`): the forms carry
//! `hx-preserve` and an id unique to the order, so what a user is typing survives the refresh.

use axum::extract::{Path, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::collections::MetaForm;
use super::forms::{
    alert, form_error, is_input_error, meta_text, parse_meta, see_other, submit, textarea, upload_progress,
    upload_redirect, DeleteForm,
};
use super::html::Html;
use super::manage::ADD_MEDIA_SLOTS;
use super::manage::{
    analyses_fieldset, analysis_requests, creates_orders, file_slots, media_meta, slot_count, tag_files, Choices,
    Sources,
};
use super::pages::order_page;
use super::{error_page, text, Session};
use crate::api::oz::multipart::FormUpload;
use crate::api::AppState;
use crate::domain::folders::service::FolderDetails;
use crate::domain::meta::MetaTarget;
use crate::domain::model::analysis::{Analysis, AnalysisState, Resolution};
use crate::domain::model::media::{Folder, Media};
use crate::domain::model::metadata::{MetaChange, MetaData, ObjectKind};
use crate::domain::model::role::UserType;
use crate::domain::model::upload::{Upload, UploadPayload};
use crate::domain::Error;

/// A refused change, shown on the order page above its form, with what was sent (so that
/// nothing typed is lost).
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// The form: `meta`, `metakey`, `mediakey` (its file's id in `fields` as `media_id`), `media`,
    /// `rerun`, `comment`, `delete`.
    pub form: &'static str,
    pub fields: Vec<(String, String)>,
}

/// Whether the role changes orders it sees (add files, analyses, meta_data): the domain's
/// `Access::Write`, which every role but the operators has on the orders it sees.
pub fn edits_orders(t: UserType) -> bool {
    creates_orders(t)
}

/// Whether the role sets an order's `resolution_comment` (what `comment_folder` lets:
/// OPERATOR, CLIENT OPERATOR).
pub fn comments_orders(t: UserType) -> bool {
    matches!(t, UserType::Operator | UserType::ClientOperator)
}

/// Whether an analysis of the order awaits an operator's decision: then the decision form
/// carries the order's comment, and the comment form of its own is not shown.
pub fn awaits_decision(f: &FolderDetails) -> bool {
    f.analyses.iter().flatten().any(|a| {
        a.analysis.state == AnalysisState::Finished && a.analysis.resolution_status == Resolution::OperatorRequired
    })
}

/// The order's `resolution_comment` (what `PATCH /api/folders/{id}` runs): a small form for the
/// roles the API lets change it, whenever the API takes it — before any analysis, while they
/// run, after the decision — except where a decision form on the page carries it (or showing
/// its refusal).
pub fn comment_form(b: &mut Html, session: &Session, f: &FolderDetails, refused: Option<&Refusal>) {
    let refused = refused.and_then(|r| r.of("comment"));
    if !comments_orders(session.caller.user_type) || (awaits_decision(f) && refused.is_none()) {
        return;
    }
    let folder = &f.folder;
    let id = folder.folder_id;
    let current = folder.resolution_comment.as_deref().unwrap_or("");
    b.s("<div id=\"comment-").t(id).s("\">");
    if let Some(r) = refused {
        alert(b, &r.message);
    }
    let typed = refused.and_then(|r| field(&r.fields, "comment")).unwrap_or(current);
    // Preserved while the comment is unchanged (a re-poll keeps what is typed); a new comment
    // brings a new form.
    let version = version_of(current);
    b.s("<form method=\"post\" class=\"edit\" hx-preserve=\"true\" id=\"comment-form-").t(id).s("-").t(version);
    b.s("\" action=\"").t(&session.base).s("/orders/").t(id).s("/comment\">");
    super::forms::csrf_field(b, session);
    textarea(b, &format!("oc-{id}"), "comment", text::ORDER_COMMENT, typed);
    submit(b, text::SAVE_COMMENT, false);
    b.s("</form></div>");
}

/// Whether the role deletes files and analyses of orders it sees (`Access::Manage`).
pub fn deletes_in_orders(t: UserType) -> bool {
    matches!(t, UserType::Admin | UserType::ClientAdmin)
}

impl Refusal {
    fn of(&self, form: &str) -> Option<&Refusal> {
        (self.form == form).then_some(self)
    }
}

/// The refusal's message when its form is not on the page (a role without the form that
/// posted anyway, or a delete): at the top.
pub fn refusal_on_top(b: &mut Html, session: &Session, refused: Option<&Refusal>) {
    let Some(r) = refused else { return };
    let shown = match r.form {
        "meta" | "metakey" | "mediakey" | "media" | "rerun" => edits_orders(session.caller.user_type),
        "comment" => comments_orders(session.caller.user_type),
        _ => false,
    };
    if !shown {
        alert(b, &r.message);
    }
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The folder's meta_data as a JSON textarea (replaced as typed), under the shown meta_data.
pub fn meta_form(b: &mut Html, session: &Session, folder: &Folder, refused: Option<&Refusal>) {
    if !edits_orders(session.caller.user_type) {
        return;
    }
    let id = folder.folder_id;
    let refused = refused.and_then(|r| r.of("meta"));
    // The message stays outside the preserved element, so that htmx shows it.
    if let Some(r) = refused {
        alert(b, &r.message);
    }
    meta_editor_start(b, &format!("meta-{id}"), &folder.meta_data, text::EDIT_ORDER_META, refused.is_some());
    let typed = match refused {
        Some(r) => field(&r.fields, "meta_data").unwrap_or("").to_owned(),
        None => meta_text(folder.meta_data.as_map()),
    };
    super::forms::post_form(b, session, &format!("/orders/{id}/meta"), "edit", false);
    textarea(b, &format!("m-{id}"), "meta_data", text::META_DATA_JSON, &typed);
    submit(b, text::SAVE, false);
    b.s("</form></details></div>");
}

/// The opening of a meta_data editor (`meta_form`, `key_editor`): a `<div id="{dom_id}">` holding
/// a `<details>` htmx preserves while the meta_data is unchanged (its id ends with
/// `meta_version`), open when the page shows the editor's refusal.
fn meta_editor_start(b: &mut Html, dom_id: &str, meta: &MetaData, summary: &str, open: bool) {
    b.s("<div id=\"").t(dom_id).s("\"><details class=\"edit\" hx-preserve=\"true\" id=\"").t(dom_id);
    b.s("-").t(meta_version(meta)).s("\"");
    if open {
        b.s(" open");
    }
    b.s("><summary>").t(summary).s("</summary>");
}

/// A short digest of a meta_data, in the ids of its preserved editors: while the page re-polls
/// (meta_data unchanged) htmx keeps them and what is typed in them; after a change (a boosted
/// form's response) the new id brings the new values instead of the old.
fn meta_version(meta: &MetaData) -> String {
    version_of(&meta.to_value().to_string())
}

/// A short digest of a value shown in a preserved form (8 hex digits).
fn version_of(shown: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(shown.as_bytes())[..4])
}

/// A meta_data value as a tree: text as text, other scalars as JSON, arrays and objects as
/// nested lists (every key and value escaped).
fn value_tree(b: &mut Html, v: &Value) {
    match v {
        Value::String(s) => {
            b.t(s);
        }
        Value::Array(items) => {
            b.s("<ol class=\"tree\">");
            for item in items {
                b.s("<li>");
                value_tree(b, item);
                b.s("</li>");
            }
            b.s("</ol>");
        }
        Value::Object(map) => {
            b.s("<ul class=\"tree\">");
            for (k, item) in map {
                b.s("<li><code>").t(k).s("</code>: ");
                value_tree(b, item);
                b.s("</li>");
            }
            b.s("</ul>");
        }
        other => {
            b.el("<code>", other.to_string(), "</code>");
        }
    }
}

/// The value of a key as its change form shows it: text as it is, anything else as JSON.
fn value_text(v: &Value) -> (String, bool) {
    match v {
        Value::String(s) => (s.clone(), false),
        other => (other.to_string(), true),
    }
}

/// The value input and its kind (text or JSON) of a key form.
fn value_inputs(b: &mut Html, id: &str, label: &str, value: &str, json: bool) {
    b.s("<input id=\"").t(id).s("\" name=\"value\" type=\"text\" autocomplete=\"off\" spellcheck=\"false\" ");
    b.s("aria-label=\"").t(label).s("\" value=\"").t(value).s("\"> ");
    b.s("<select name=\"as\" aria-label=\"").t(text::META_VALUE_KIND).s("\"><option value=\"text\"");
    if !json {
        b.s(" selected");
    }
    b.s(">").t(text::META_AS_TEXT).s("</option><option value=\"json\"");
    if json {
        b.s(" selected");
    }
    b.s(">").t(text::META_AS_JSON).s("</option></select> ");
}

/// The folder's meta_data as an editable tree (spec §4.4): `key_editor` on the order's
/// meta_data (what `PATCH` and `DELETE /api/folders/{id}/meta_data/` run); audited like the raw
/// JSON edit (`meta_form`, kept beside it).
pub fn meta_tree_form(b: &mut Html, session: &Session, folder: &Folder, refused: Option<&Refusal>) {
    if !edits_orders(session.caller.user_type) {
        return;
    }
    let id = folder.folder_id;
    let editor = KeyEditor {
        dom_id: format!("meta-keys-{id}"),
        path: format!("/orders/{id}/meta/key"),
        input_id: id,
        meta: &folder.meta_data,
        summary: text::EDIT_META_KEYS,
    };
    key_editor(b, session, &editor, refused.and_then(|r| r.of("metakey")));
}

/// A file's meta_data as an editable tree under its card (what `PATCH` and
/// `DELETE /api/media/{id}/meta_data/` run), for the roles the API lets change it (the
/// folder's `Access::Write`); the others see it read-only (the card's JSON).
pub fn media_meta_form(b: &mut Html, session: &Session, m: &Media, refused: Option<&Refusal>) {
    if !edits_orders(session.caller.user_type) {
        return;
    }
    let (folder, media) = (m.folder_id, m.media_id);
    let editor = KeyEditor {
        dom_id: format!("media-keys-{media}"),
        path: format!("/orders/{folder}/media/{media}/meta/key"),
        input_id: media,
        meta: &m.meta_data,
        summary: text::EDIT_MEDIA_META_KEYS,
    };
    let media_id = media.to_string();
    let refused = refused.filter(|r| r.form == "mediakey" && field(&r.fields, "media_id") == Some(media_id.as_str()));
    key_editor(b, session, &editor, refused);
}

/// What a key/value meta_data editor edits: a folder's meta_data or one of its files' (and on
/// their pages a user's or a company's, `accounts`).
pub(super) struct KeyEditor<'a> {
    /// The id of its element (the anchor a change goes back to).
    pub dom_id: String,
    /// Its forms' path under the console base; the delete is `{path}/delete`.
    pub path: String,
    /// The object's id, in the ids of its inputs (unique on the page).
    pub input_id: Uuid,
    pub meta: &'a MetaData,
    pub summary: &'static str,
}

/// A meta_data as an editable tree: each top-level key with its value (nested values as nested
/// lists), a change form (a merge of that one key, as `PATCH …/meta_data/`) and a delete button
/// (as `DELETE …/meta_data/?key=`), and a form adding a key.
pub(super) fn key_editor(b: &mut Html, session: &Session, e: &KeyEditor<'_>, refused: Option<&Refusal>) {
    let (id, path) = (e.input_id, e.path.as_str());
    if let Some(r) = refused {
        alert(b, &r.message);
    }
    meta_editor_start(b, &e.dom_id, e.meta, e.summary, refused.is_some());
    let map = e.meta.as_map();
    if !map.is_empty() {
        b.s("<div class=\"scroll\"><table class=\"meta-keys\"><thead><tr><th scope=\"col\">").t(text::META_KEY);
        b.s("</th><th scope=\"col\">").t(text::META_VALUE).s("</th><th scope=\"col\">").t(text::META_CHANGE);
        b.s("</th><th scope=\"col\">").t(text::META_DELETE).s("</th></tr></thead><tbody>");
        for (n, (key, value)) in map.iter().enumerate() {
            b.s("<tr><th scope=\"row\"><code>").t(key).s("</code></th><td>");
            value_tree(b, value);
            b.s("</td><td>");
            super::forms::post_form(b, session, path, "meta-key", false);
            b.s("<input type=\"hidden\" name=\"key\" value=\"").t(key).s("\">");
            let (shown, json) = value_text(value);
            value_inputs(b, &format!("mk-{id}-{n}"), &format!("{} {key}", text::META_VALUE_OF), &shown, json);
            b.s("<button type=\"submit\">").t(text::META_CHANGE).s("</button></form></td><td>");
            super::forms::post_form(b, session, &format!("{path}/delete"), "meta-key", false);
            b.s("<input type=\"hidden\" name=\"key\" value=\"")
                .t(key)
                .s("\"><button type=\"submit\" class=\"danger\" ");
            b.s("aria-label=\"").t(format!("{} {key}", text::META_DELETE_KEY)).s("\">").t(text::META_DELETE);
            b.s("</button></form></td></tr>");
        }
        b.s("</tbody></table></div>");
    }
    let fields = refused.map(|r| r.fields.as_slice()).unwrap_or(&[]);
    super::forms::post_form(b, session, path, "meta-key add", false);
    b.s("<label for=\"mk-").t(id).s("-new\">").t(text::META_ADD_KEY).s("</label><input id=\"mk-").t(id);
    b.s("-new\" name=\"key\" type=\"text\" autocomplete=\"off\" required value=\"");
    b.t(field(fields, "key").unwrap_or("")).s("\"> ");
    let json = field(fields, "as") == Some("json");
    value_inputs(b, &format!("mv-{id}-new"), text::META_NEW_VALUE, field(fields, "value").unwrap_or(""), json);
    b.s("<button type=\"submit\">").t(text::META_ADD).s("</button></form></details></div>");
}

/// `s` quoted for a POSIX shell: in single quotes, a `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The curl command reading this order over the API (spec §4.4 "copy as curl"): the token is
/// left to the shell (`$TOKEN`, never the session's), the URL quoted.
pub fn curl_command(origin: &str, id: Uuid) -> String {
    let url = format!("{origin}/api/folders/{id}/");
    format!("curl -H \"X-Forensic-Access-Token: $TOKEN\" {}", shell_quote(&url))
}

/// "Copy as curl": the command in a read-only textarea (selectable without script), and a
/// button console.js shows, copying it to the clipboard.
pub fn curl_section(b: &mut Html, session: &Session, id: Uuid) {
    b.s("<section id=\"curl\"><h2>").t(text::CURL_TITLE).s("</h2>");
    b.el("<p class=\"note\">", text::CURL_NOTE, "</p>");
    b.s("<label for=\"curl-").t(id).s("\">").t(text::CURL_LABEL).s("</label>");
    b.s("<textarea id=\"curl-").t(id).s("\" class=\"curl\" rows=\"2\" readonly spellcheck=\"false\">");
    b.t(curl_command(&session.origin, id)).s("</textarea>");
    b.s("<p hidden><button type=\"button\" data-copy=\"curl-").t(id).s("\" data-copied=\"").t(text::CURL_COPIED);
    b.s("\" data-copy-failed=\"").t(text::CURL_COPY_FAILED).s("\">").t(text::CURL_BUTTON).s("</button> ");
    b.s("<output data-copy-status aria-live=\"polite\"></output></p></section>");
}

/// The typed delete of one file or analysis, folded under its card or panel.
fn inline_delete(b: &mut Html, session: &Session, path: &str, id: Uuid, summary: &'static str, explain: &'static str) {
    let short = id.to_string()[..8].to_owned();
    b.s("<details class=\"inline-delete\" hx-preserve=\"true\" id=\"del-").t(id).s("\"><summary>").t(summary);
    b.s("</summary>");
    super::forms::post_form(b, session, path, "photo-delete", false);
    b.s("<label for=\"confirm-").t(id).s("\">").t(explain).s(" <code>").t(&short).s("</code></label>");
    b.s("<input id=\"confirm-").t(id).s("\" name=\"confirm\" type=\"text\" autocomplete=\"off\" required> ");
    b.s("<button type=\"submit\" class=\"danger\">").t(summary).s("</button></form></details>");
}

/// A file card's delete (ADMIN, CLIENT ADMIN).
pub fn media_delete(b: &mut Html, session: &Session, m: &Media) {
    if deletes_in_orders(session.caller.user_type) {
        let path = format!("/orders/{}/media/{}/delete", m.folder_id, m.media_id);
        inline_delete(b, session, &path, m.media_id, text::DELETE_MEDIA, text::DELETE_MEDIA_CONFIRM);
    }
}

/// An analysis panel's delete (ADMIN, CLIENT ADMIN).
pub fn analysis_delete(b: &mut Html, session: &Session, a: &Analysis) {
    if deletes_in_orders(session.caller.user_type) {
        let path = format!("/orders/{}/analyses/{}/delete", a.folder_id, a.analyse_id);
        inline_delete(b, session, &path, a.analyse_id, text::DELETE_ANALYSIS, text::DELETE_ANALYSIS_CONFIRM);
    }
}

/// The add-files form: file inputs with their content types, as on the create form.
pub fn add_media_form(b: &mut Html, state: &AppState, session: &Session, id: Uuid, refused: Option<&Refusal>) {
    if !edits_orders(session.caller.user_type) {
        return;
    }
    let refused = refused.and_then(|r| r.of("media"));
    let fields = refused.map(|r| r.fields.as_slice()).unwrap_or(&[]);
    let limits = state.domain.upload_limits();
    b.s("<section id=\"add-media\"><h2>").t(text::ADD_MEDIA).s("</h2>");
    b.el("<p class=\"note\">", text::ADD_MEDIA_NOTE, "</p>");
    if let Some(r) = refused {
        alert(b, &r.message);
    }
    b.s("<form method=\"post\" class=\"create\" enctype=\"multipart/form-data\" hx-boost=\"false\" data-upload ");
    b.s("hx-preserve=\"true\" id=\"media-").t(id).s("\" action=\"").t(&session.base).s("/orders/").t(id);
    b.s("/media\">");
    super::forms::csrf_field(b, session);
    b.s("<fieldset><legend>").t(text::FILES).s("</legend>");
    file_slots(b, fields, slot_count(None, fields, ADD_MEDIA_SLOTS, limits.max_files), limits);
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::ADD_MEDIA_BUTTON).s("</button>");
    upload_progress(b);
    b.s("</div>");
    b.s("</fieldset></form></section>");
}

/// The request-analyses form: the create form's analyses and options.
pub async fn rerun_form(
    b: &mut Html,
    state: &AppState,
    session: &Session,
    id: Uuid,
    media: &[Media],
    refused: Option<&Refusal>,
) {
    if !edits_orders(session.caller.user_type) {
        return;
    }
    let refused = refused.and_then(|r| r.of("rerun"));
    let fields = refused.map(|r| r.fields.as_slice()).unwrap_or(&[]);
    b.s("<section id=\"rerun\"><h2>").t(text::RERUN).s("</h2>");
    b.el("<p class=\"note\">", text::RERUN_NOTE, "</p>");
    if let Some(r) = refused {
        alert(b, &r.message);
    }
    b.s("<form method=\"post\" class=\"create\" hx-preserve=\"true\" id=\"rerun-").t(id).s("\" action=\"");
    b.t(&session.base).s("/orders/").t(id).s("/analyses\">");
    super::forms::csrf_field(b, session);
    b.fragment(analyses_fieldset(state, session, fields, refused.is_none(), Choices::Media(media)).await);
    b.s("<fieldset class=\"details\"><legend>").t(text::ORDER_DETAILS).s("</legend>");
    super::pages::input(b, "resolution_endpoint", text::WEBHOOK_URL, "url", field(fields, "resolution_endpoint"));
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::RERUN_BUTTON).s("</button></div>");
    b.s("</fieldset></form></section>");
}

fn parse_id(raw: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::not_exist(what))
}

/// A refused change: input errors and refusals on the order page above their form (status of
/// the API's answer); anything else as its own page.
async fn refuse(
    state: &AppState,
    session: &Session,
    id: Uuid,
    form: &'static str,
    fields: Vec<(String, String)>,
    e: Error,
) -> Response {
    match form_error(&session.base, e) {
        Ok((status, message)) => refuse_with(state, session, id, Refusal { status, message, form, fields }).await,
        Err(r) => r,
    }
}

async fn refuse_with(state: &AppState, session: &Session, id: Uuid, refusal: Refusal) -> Response {
    order_page(state, session, id, &[], Some(refusal)).await
}

/// `POST {base}/orders/{id}/media`: the files, tagged by their content type, through
/// `add_media` (what `POST /api/folders/{id}/media/` runs): all or nothing.
pub async fn add_media(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    upload: Result<FormUpload, Error>,
) -> Response {
    let Ok(id) = parse_id(&id, "Folder") else { return error_page(&session.base, Error::not_exist("Folder")) };
    let FormUpload(mut upload, fields) = match upload {
        Ok(u) => u,
        Err(e) => return refuse(&state, &session, id, "media", Vec::new(), e).await,
    };
    if let Err(r) = session.check_csrf(field(&fields, "csrf").unwrap_or("")) {
        return r;
    }
    if upload.files.is_empty() {
        let refusal =
            Refusal { status: StatusCode::BAD_REQUEST, message: text::NO_FILES.to_owned(), form: "media", fields };
        return refuse_with(&state, &session, id, refusal).await;
    }
    let media_tags = match tag_files(&mut upload.files, &fields) {
        Ok(t) => t,
        Err(message) => {
            let refusal = Refusal { status: StatusCode::BAD_REQUEST, message, form: "media", fields };
            return refuse_with(&state, &session, id, refusal).await;
        }
    };
    let media_meta = match media_meta(&upload.files, &fields) {
        Ok(m) => m,
        Err(e) => return refuse(&state, &session, id, "media", fields, e).await,
    };
    // Only the tags and meta_data of the form: nothing else of a crafted `payload` part is taken.
    let payload = UploadPayload { media_tags, media_meta, ..UploadPayload::default() };
    let upload = Upload { files: upload.files, payload };
    match state.domain.add_media(&session.caller, id, upload).await {
        Ok(_) => upload_redirect(&headers, format!("{}/orders/{id}?done=media_added#add-media", session.base)),
        Err(e) => refuse(&state, &session, id, "media", fields, e).await,
    }
}

/// `POST {base}/orders/{id}/analyses`: the ticked analyses with their options through
/// `request_analyses` (what `POST /api/folders/{id}/analyses/` runs).
pub async fn rerun(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    // The analyses are a repeated field: read the form as pairs.
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    if let Err(r) = session.check_csrf(field(&fields, "csrf").unwrap_or("")) {
        return r;
    }
    let Ok(id) = parse_id(&id, "Folder") else { return error_page(&session.base, Error::not_exist("Folder")) };
    let bad = |message: String, fields: Vec<(String, String)>| Refusal {
        status: StatusCode::BAD_REQUEST,
        message,
        form: "rerun",
        fields,
    };
    let requests = match analysis_requests(&fields, Some(Sources::MediaIds)) {
        Ok(Some(r)) => r,
        Ok(None) => return refuse_with(&state, &session, id, bad(text::NO_ANALYSIS_CHOSEN.to_owned(), fields)).await,
        Err(message) => return refuse_with(&state, &session, id, bad(message, fields)).await,
    };
    let endpoint = field(&fields, "resolution_endpoint").map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned);
    match state.domain.request_analyses(&session.caller, id, requests, endpoint).await {
        Ok(_) => see_other(format!("{}/orders/{id}?done=analyses_requested", session.base)),
        Err(e) => refuse(&state, &session, id, "rerun", fields, e).await,
    }
}

/// `POST {base}/orders/{id}/meta`: the folder's meta_data replaced as typed (`change_meta`,
/// what `POST /api/folders/{id}/meta_data` runs); the typed text comes back with an error.
pub async fn edit_meta(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = parse_id(&id, "Folder") else { return error_page(&session.base, Error::not_exist("Folder")) };
    let target = MetaTarget { kind: ObjectKind::Folder, id, parent: None };
    let changed = match parse_meta(&f.meta_data, "meta_data") {
        Ok(m) => state.domain.change_meta(&session.caller, target, MetaChange::Replace(m)).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => see_other(format!("{}/orders/{id}?done=saved", session.base)),
        Err(e) => {
            let fields = vec![("meta_data".to_owned(), f.meta_data.clone())];
            refuse(&state, &session, id, "meta", fields, e).await
        }
    }
}

/// A key form of the meta_data tree: the key, and for a change its value and its kind.
#[derive(Deserialize)]
pub struct MetaKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default, rename = "as")]
    kind: String,
}

impl MetaKeyForm {
    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }

    pub(super) fn fields(&self) -> Vec<(String, String)> {
        vec![("key".into(), self.key.clone()), ("value".into(), self.value.clone()), ("as".into(), self.kind.clone())]
    }

    /// The trimmed key, refused when empty.
    fn key(&self) -> Result<String, Error> {
        let key = self.key.trim();
        if key.is_empty() {
            return Err(Error::invalid_value(text::META_KEY_EMPTY, serde_json::json!({ "key_path": "key" })));
        }
        Ok(key.to_owned())
    }
}

impl MetaKeyForm {
    /// The change the form asks for, and the notice after it: the key removed (`delete`), or
    /// set (`patch`).
    pub(super) fn change(&self, delete: bool) -> (Result<MetaChange, Error>, &'static str) {
        if delete {
            (self.key().map(|key| MetaChange::RemoveKeys(vec![key])), "meta_key_deleted")
        } else {
            (self.patch().map(MetaChange::Merge), "saved")
        }
    }

    /// The merge setting the key to the typed value (text, or JSON when `as=json`).
    fn patch(&self) -> Result<MetaData, Error> {
        let key = self.key()?;
        let value = if self.kind == "json" {
            serde_json::from_str(self.value.trim()).map_err(|e| {
                Error::invalid_value(
                    format!("{key}: {} {e}", text::META_NOT_JSON),
                    serde_json::json!({ "key_path": key }),
                )
            })?
        } else {
            Value::String(self.value.clone())
        };
        let mut map = serde_json::Map::new();
        map.insert(key, value);
        MetaData::parse(Value::Object(map), "meta_data")
    }
}

/// A key set (`delete` false) or removed on the folder's meta_data (`media` None) or on one of
/// its files' (only a file of this order): `change_meta` with a merge of that key (what
/// `PATCH …/meta_data/` runs with `{key: value}`; a JSON `null` removes the key, as there) or
/// removing it (what `DELETE …/meta_data/?key=` runs); the other keys stay. Audited like any
/// meta_data edit. Back to the editor's anchor.
async fn change_key(
    state: &AppState,
    session: &Session,
    id: &str,
    media: Option<&str>,
    f: MetaKeyForm,
    delete: bool,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = parse_id(id, "Folder") else { return error_page(&session.base, Error::not_exist("Folder")) };
    let (target, form, anchor, mut fields) = match media {
        None => {
            let target = MetaTarget { kind: ObjectKind::Folder, id, parent: None };
            (target, "metakey", format!("meta-keys-{id}"), Vec::new())
        }
        Some(mid) => {
            let Ok(mid) = parse_id(mid, "Media") else { return error_page(&session.base, Error::not_exist("Media")) };
            match state.domain.get_media(&session.caller, mid).await {
                Ok(m) if m.folder_id == id => {}
                Ok(_) => return error_page(&session.base, Error::not_exist("Media")),
                Err(e) => return error_page(&session.base, e),
            }
            let target = MetaTarget { kind: ObjectKind::Media, id: mid, parent: None };
            (target, "mediakey", format!("media-keys-{mid}"), vec![("media_id".to_owned(), mid.to_string())])
        }
    };
    let (change, done) = f.change(delete);
    let changed = match change {
        Ok(c) => state.domain.change_meta(&session.caller, target, c).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => see_other(format!("{}/orders/{id}?done={done}#{anchor}", session.base)),
        Err(e) => {
            if !delete {
                fields.extend(f.fields());
            }
            refuse(state, session, id, form, fields, e).await
        }
    }
}

/// `POST {base}/orders/{id}/meta/key`: one key of the folder's meta_data set (`change_key`).
pub async fn set_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_key(&state, &session, &id, None, f, false).await
}

/// `POST {base}/orders/{id}/meta/key/delete`: one key of the folder's meta_data removed
/// (`change_key`).
pub async fn delete_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_key(&state, &session, &id, None, f, true).await
}

/// `POST {base}/orders/{id}/media/{media_id}/meta/key`: one key of a file's meta_data set
/// (`change_key`, what `PATCH /api/media/{id}/meta_data/` runs).
pub async fn set_media_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path((id, mid)): Path<(String, String)>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_key(&state, &session, &id, Some(&mid), f, false).await
}

/// `POST {base}/orders/{id}/media/{media_id}/meta/key/delete`: one key of a file's meta_data
/// removed (`change_key`, what `DELETE /api/media/{id}/meta_data/?key=` runs).
pub async fn delete_media_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path((id, mid)): Path<(String, String)>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_key(&state, &session, &id, Some(&mid), f, true).await
}

/// The comment form (`comment_form`).
#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: String,
}

/// `POST {base}/orders/{id}/comment`: the order's `resolution_comment` set as typed (empty
/// clears it) through `comment_folder`, what `PATCH /api/folders/{id}` runs (its roles, its
/// 4,096-character limit; audited when it changes).
pub async fn edit_comment(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = parse_id(&id, "Folder") else { return error_page(&session.base, Error::not_exist("Folder")) };
    match state.domain.comment_folder(&session.caller, id, Some(f.comment.clone())).await {
        Ok(_) => see_other(format!("{}/orders/{id}?done=comment_saved#comment-{id}", session.base)),
        Err(e) => refuse(&state, &session, id, "comment", vec![("comment".to_owned(), f.comment)], e).await,
    }
}

/// `POST {base}/orders/{id}/media/{media_id}/delete`: `delete_media` (what
/// `DELETE /api/media/{id}` runs) after typing the start of the file's id; only a file of
/// this order.
pub async fn delete_media(
    State(state): State<AppState>,
    session: Session,
    Path((id, mid)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let short = mid.get(..8).unwrap_or(&mid).to_owned();
    if let Err(r) = f.check(&session, &[short.as_str(), mid.as_str()]) {
        return r;
    }
    let (Ok(id), Ok(mid)) = (parse_id(&id, "Folder"), parse_id(&mid, "Media")) else {
        return error_page(&session.base, Error::not_exist("Media"));
    };
    let deleted = match state.domain.get_media(&session.caller, mid).await {
        Ok(m) if m.folder_id == id => state.domain.delete_media(&session.caller, mid).await,
        Ok(_) => Err(Error::not_exist("Media")),
        Err(e) => Err(e),
    };
    match deleted {
        Ok(()) => see_other(format!("{}/orders/{id}?done=media_deleted", session.base)),
        Err(e) if is_input_error(&e) || matches!(e, Error::Forbidden(_)) => {
            refuse(&state, &session, id, "delete", Vec::new(), e).await
        }
        Err(e) => error_page(&session.base, e),
    }
}

/// `POST {base}/orders/{id}/analyses/{analyse_id}/delete`: `delete_analysis` (what
/// `DELETE /api/analyses/{id}` runs; the folder's status is computed again) after typing the
/// start of its id; only an analysis of this order.
pub async fn delete_analysis(
    State(state): State<AppState>,
    session: Session,
    Path((id, aid)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let short = aid.get(..8).unwrap_or(&aid).to_owned();
    if let Err(r) = f.check(&session, &[short.as_str(), aid.as_str()]) {
        return r;
    }
    let (Ok(id), Ok(aid)) = (parse_id(&id, "Folder"), parse_id(&aid, "Analysis")) else {
        return error_page(&session.base, Error::not_exist("Analysis"));
    };
    let deleted = match state.domain.get_analysis(&session.caller, aid).await {
        Ok(a) if a.analysis.folder_id == id => state.domain.delete_analysis(&session.caller, aid).await,
        Ok(_) => Err(Error::not_exist("Analysis")),
        Err(e) => Err(e),
    };
    match deleted {
        Ok(()) => see_other(format!("{}/orders/{id}?done=analysis_deleted", session.base)),
        Err(e) if is_input_error(&e) || matches!(e, Error::Forbidden(_)) => {
            refuse(&state, &session, id, "delete", Vec::new(), e).await
        }
        Err(e) => error_page(&session.base, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curl_command_quotes_its_url_and_leaves_the_token_to_the_shell() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        let id = Uuid::nil();
        assert_eq!(
            curl_command("https://kyc.example", id),
            "curl -H \"X-Forensic-Access-Token: $TOKEN\" \
             'https://kyc.example/api/folders/00000000-0000-0000-0000-000000000000/'"
        );
        assert!(curl_command("http://x'; rm -rf /", id)
            .starts_with("curl -H \"X-Forensic-Access-Token: $TOKEN\" 'http://x'\\''; rm"));
    }
}
