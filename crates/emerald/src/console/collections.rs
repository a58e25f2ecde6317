//! Collections (blacklists) and their persons: list, create, rename, edit meta_data, delete an empty
//! collection; add a person with photos, edit, add and delete photos, delete a person (refused
//! while COLLECTION analyses matched it, naming their orders); bulk import of a ZIP or of loose
//! photos. Every action runs the domain function of its `/api/collections/…` route as the
//! signed-in user; the forms are shown only to who may use them (ADMIN, CLIENT ADMIN in its
//! company), and the domain checks every action again.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::forms::{
    alert, answer, field, form_error, is_input_error, list_head, meta_text, notice, page_params, parse_meta, post_form,
    see_other, status_of, submit, textarea, typed_delete, DeleteForm,
};
use super::html::Html;
use super::pages::{dl_row, dl_time, json_block, pager, parse_query};
use super::{error_page, page, streamed_page, text, Session};
use crate::api::oz::multipart::FormUpload;
use crate::api::AppState;
use crate::domain::collections::persons::EnrolMode;
use crate::domain::collections::service::{creates_collections, manages_collections_of, NewCollection, PersonDetails};
use crate::domain::meta::MetaTarget;
use crate::domain::model::collection::Collection;
use crate::domain::model::metadata::{MetaChange, MetaData, ObjectKind};
use crate::domain::model::role::UserType;
use crate::domain::model::upload::{Upload, UploadPayload};
use crate::domain::store::ListParams;
use crate::domain::{Domain, Error};
use crate::import::{
    import_persons_as, place_photo, unpack_zip, ImportEvent, ImportReport, MetaCsv, PersonOutcome, PHOTO_TAGS,
};

/// The meta_data key that holds a person's name (spec §12's examples).
const PERSON_INFO: &str = "person_info";
const NAME_KEYS: [&str; 3] = ["first_name", "middle_name", "last_name"];
/// How many orders a refused person delete links to.
const MATCHES_SHOWN: usize = 20;

fn meta_str(meta: &Map<String, Value>, key: &str) -> String {
    match meta.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// A person's display name: `person_info`'s names, else a `name`-like key.
pub fn person_name(meta: &Map<String, Value>) -> String {
    if let Some(Value::Object(info)) = meta.get(PERSON_INFO) {
        let name: Vec<String> = NAME_KEYS.iter().map(|k| meta_str(info, k)).filter(|v| !v.is_empty()).collect();
        if !name.is_empty() {
            return name.join(" ");
        }
    }
    for key in ["name", "full_name", "person_name", "import_key"] {
        let v = meta_str(meta, key);
        if !v.is_empty() {
            return v;
        }
    }
    format!("{} {}", meta_str(meta, "first_name"), meta_str(meta, "last_name")).trim().to_owned()
}

fn parse_uuid(raw: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::not_exist(what))
}

/// A form post on a collection: its CSRF token checked, then the collection's id parsed (the
/// error page otherwise).
fn checked_post(session: &Session, csrf: &str, cid: &str) -> Result<Uuid, Response> {
    session.check_csrf(csrf)?;
    parse_uuid(cid, "Collection").map_err(|e| error_page(&session.base, e))
}

#[derive(Deserialize, Default)]
pub struct CollectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    meta_data: String,
}

/// `GET {base}/collections` (`GET /api/collections/`), with the create form for ADMIN and
/// CLIENT ADMIN.
pub async fn collections(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let q = parse_query(raw);
    collections_page(&state, &session, &q, None, &CollectionForm::default()).await
}

async fn collections_page(
    state: &AppState,
    session: &Session,
    q: &[(String, String)],
    error: Option<(StatusCode, String)>,
    values: &CollectionForm,
) -> Response {
    let base = &session.base;
    let offset = super::pages::offset_of(q);
    let p = match state.domain.list_collections(&session.caller, &page_params(offset)).await {
        Ok(p) => p,
        Err(e) => return error_page(base, e),
    };
    let counts = match state.domain.persons_per_collection(&p.items).await {
        Ok(c) => c,
        Err(e) => return error_page(base, e),
    };
    let mut b = Html::new();
    let shows_form = creates_collections(&session.caller);
    list_head(&mut b, text::COLLECTIONS_TITLE, q, error.as_ref(), shows_form);
    let status = error.as_ref().map(|(s, _)| *s).unwrap_or(StatusCode::OK);
    if p.items.is_empty() {
        b.el("<p>", text::NO_COLLECTIONS, "</p>");
    } else {
        b.s("<div class=\"scroll\"><table><thead><tr>");
        for col in [text::ALIAS, text::COMPANY, text::PERSONS, text::CREATED] {
            b.el("<th scope=\"col\">", col, "</th>");
        }
        b.s("</tr></thead><tbody>");
        for c in &p.items {
            b.s("<tr><td><a href=\"").t(base).s("/collections/").t(c.collection_id).s("\">").t(&c.alias);
            let n = counts.iter().find(|(id, _)| *id == c.collection_id).map(|(_, n)| *n).unwrap_or(0);
            b.s("</a></td><td><code>").t(c.company_id).s("</code></td>").el("<td class=\"num\">", n, "</td>");
            b.s("<td>").time(c.time_created).s("</td></tr>");
        }
        b.s("</tbody></table></div>");
        pager(&mut b, &format!("{base}/collections"), "", offset, p.items.len(), p.total);
    }
    if shows_form {
        b.s("<section><h2>").t(text::NEW_COLLECTION).s("</h2>");
        if let Some((_, message)) = &error {
            alert(&mut b, message);
        }
        post_form(&mut b, session, "/collections", "edit", false);
        field(&mut b, "alias", "alias", text::ALIAS, "text", &values.alias, true);
        if session.caller.user_type == UserType::Admin {
            company_select(&mut b, state, session, &values.company_id).await;
        }
        textarea(&mut b, "meta_data", "meta_data", text::META_DATA_JSON, &values.meta_data);
        submit(&mut b, text::CREATE_COLLECTION, false);
        b.s("</form></section>");
    }
    (status, page(state, session, text::COLLECTIONS_TITLE, b)).into_response()
}

/// The companies an ADMIN may put a collection (or a user) in.
pub async fn company_select(h: &mut Html, state: &AppState, session: &Session, chosen: &str) {
    let companies = state
        .domain
        .list_companies(&session.caller, None, &ListParams(vec![("limit".into(), "500".into())]))
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    h.s("<label for=\"company_id\">").t(text::COMPANY).s("</label><select id=\"company_id\" name=\"company_id\">");
    h.s("<option value=\"\">").t(text::CHOOSE).s("</option>");
    for c in &companies {
        let id = c.company_id.to_string();
        h.s("<option value=\"").t(&id).s("\"");
        if chosen == id {
            h.s(" selected");
        }
        h.s(">").t(&c.name).s("</option>");
    }
    h.s("</select>");
}

/// `POST {base}/collections`: `create_collection` (`POST /api/collections/`).
pub async fn create_collection(
    State(state): State<AppState>,
    session: Session,
    Form(f): Form<CollectionForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let company_id = match f.company_id.trim() {
        "" => None,
        c => match parse_uuid(c, "Company") {
            Ok(id) => Some(id),
            Err(e) => return collections_page(&state, &session, &[], Some((status_of(&e), e.to_string())), &f).await,
        },
    };
    let created = match parse_meta(&f.meta_data, "meta_data") {
        Ok(meta_data) => {
            let new = NewCollection { alias: f.alias.clone(), company_id, meta_data };
            state.domain.create_collection(&session.caller, new).await
        }
        Err(e) => Err(e),
    };
    let to = |c: Collection| format!("{}/collections/{}?done=collection_created", session.base, c.collection_id);
    answer(&session.base, created, to, |err| collections_page(&state, &session, &[], Some(err), &f)).await
}

/// `GET {base}/collections/{cid}`: its persons (`GET /api/collections/{cid}/persons/`) and, for
/// who manages it, the edit, add-person, import and delete forms.
pub async fn collection(
    State(state): State<AppState>,
    session: Session,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = parse_query(raw);
    collection_page(&state, &session, &cid, &q, None).await
}

/// What a form on the collection page sent back: the error and the form it belongs to.
struct Refused {
    status: StatusCode,
    message: String,
    /// The form's id on the page (`rename`, `edit`, `person`, `import`, `delete`).
    form: &'static str,
    /// What the form sent, shown in it again (the rename form's alias).
    value: Option<String>,
}

async fn collection_page(
    state: &AppState,
    session: &Session,
    cid: &str,
    q: &[(String, String)],
    refused: Option<Refused>,
) -> Response {
    let base = &session.base;
    let cid = match parse_uuid(cid, "Collection") {
        Ok(id) => id,
        Err(e) => return error_page(base, e),
    };
    let c = match state.domain.get_collection(&session.caller, cid).await {
        Ok(c) => c,
        Err(e) => return error_page(base, e),
    };
    let offset = super::pages::offset_of(q);
    // Name search over the persons' meta_data (GAP-9's `search_text`).
    let search = super::pages::get(q, "search_text").map(str::trim).unwrap_or("").to_owned();
    let mut params = page_params(offset);
    if !search.is_empty() {
        params.0.push(("search_text".into(), search.clone()));
    }
    let p = match state.domain.list_persons(&session.caller, cid, &params).await {
        Ok(p) => p,
        Err(e) => return error_page(base, e),
    };
    let persons = match state.domain.persons_per_collection(std::slice::from_ref(&c)).await {
        Ok(counts) => counts.first().map(|(_, n)| *n).unwrap_or(0),
        Err(e) => return error_page(base, e),
    };
    let manages = manages_collections_of(&session.caller, c.company_id);
    let error_for = |b: &mut Html, form: &str| {
        if let Some(r) = refused.as_ref().filter(|r| r.form == form) {
            alert(b, &r.message);
        }
    };
    let mut b = Html::new();
    b.s("<h1>").t(text::COLLECTION).s(": ").t(&c.alias).s("</h1>");
    notice(&mut b, q);
    if let (false, Some(r)) = (manages, refused.as_ref()) {
        alert(&mut b, &r.message);
    }
    b.s("<dl>");
    dl_row(&mut b, text::COMPANY, c.company_id);
    dl_time(&mut b, text::CREATED, c.time_created);
    dl_row(&mut b, text::PERSONS, persons);
    b.s("</dl><h2>").t(text::META_DATA).s("</h2>");
    json_block(&mut b, &c.meta_data.to_value());
    b.el("<h2>", text::PERSONS, "</h2>");
    b.s("<form method=\"get\" action=\"").t(base).s("/collections/").t(cid).s("\" class=\"filters\"><fieldset>");
    b.s("<label for=\"f-search\">").t(text::SEARCH_PERSONS).s("</label>");
    b.s("<input id=\"f-search\" name=\"search_text\" type=\"search\" value=\"").t(&search).s("\">");
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::SEARCH).s("</button></div></fieldset></form>");
    if p.items.is_empty() {
        b.el("<p>", text::NO_PERSONS, "</p>");
    }
    b.s("<div class=\"cards\">");
    for d in &p.items {
        person_card(&mut b, base, cid, d);
    }
    b.s("</div>");
    if !p.items.is_empty() {
        let filters = if search.is_empty() {
            String::new()
        } else {
            format!("search_text={}&", super::html::query_value(&search))
        };
        pager(&mut b, &format!("{base}/collections/{cid}"), &filters, offset, p.items.len(), p.total);
    }
    if manages {
        let path = format!("/collections/{cid}");
        b.s("<section id=\"add-person\"><h2>").t(text::ADD_PERSON).s("</h2>");
        error_for(&mut b, "person");
        post_form(&mut b, session, &format!("{path}/persons"), "edit", true);
        person_fields(&mut b, &Map::new());
        photo_input(&mut b, "photos", text::PHOTOS_TO_ENROL, "image/*");
        submit(&mut b, text::ADD_PERSON, false);
        b.s("</form></section><section id=\"import\"><h2>").t(text::BULK_IMPORT).s("</h2>");
        b.el("<p class=\"note\">", text::BULK_IMPORT_NOTE, "</p>");
        error_for(&mut b, "import");
        post_form(&mut b, session, &format!("{path}/import"), "edit", true);
        photo_input(&mut b, "import", text::IMPORT_FILES, ".zip,image/*");
        b.s("<label for=\"f-meta_data_csv\">").t(text::IMPORT_META_CSV).s("</label>");
        b.s("<input id=\"f-meta_data_csv\" name=\"meta_data_csv\" type=\"file\" accept=\".csv,text/csv\">");
        submit(&mut b, text::IMPORT_BUTTON, false);
        b.s("</form></section><section id=\"rename\"><h2>").t(text::RENAME_COLLECTION).s("</h2>");
        error_for(&mut b, "rename");
        post_form(&mut b, session, &format!("{path}/rename"), "edit", false);
        let typed = refused.as_ref().filter(|r| r.form == "rename").and_then(|r| r.value.as_deref());
        field(&mut b, "c-alias", "alias", text::ALIAS, "text", typed.unwrap_or(&c.alias), true);
        submit(&mut b, text::RENAME, false);
        b.s("</form></section><section id=\"edit\"><h2>").t(text::EDIT_COLLECTION).s("</h2>");
        error_for(&mut b, "edit");
        post_form(&mut b, session, &format!("{path}/edit"), "edit", false);
        textarea(&mut b, "c-meta", "meta_data", text::META_DATA_JSON, &meta_text(c.meta_data.as_map()));
        submit(&mut b, text::SAVE, false);
        b.s("</form></section>");
        error_for(&mut b, "delete");
        if persons > 0 {
            b.s("<section class=\"danger-zone\"><h2>").t(text::DELETE_COLLECTION).s("</h2>");
            b.el("<p class=\"muted\">", text::DELETE_COLLECTION_NOT_EMPTY, "</p></section>");
        } else {
            typed_delete(
                &mut b,
                session,
                &format!("{path}/delete"),
                text::DELETE_COLLECTION,
                text::DELETE_COLLECTION_CONFIRM,
                &c.alias,
            );
        }
    }
    let status = refused.map(|r| r.status).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::COLLECTIONS_TITLE, b)).into_response()
}

fn person_card(b: &mut Html, base: &str, cid: Uuid, d: &PersonDetails) {
    let person = &d.person;
    b.s("<figure class=\"card\"><a href=\"").t(base).s("/collections/").t(cid).s("/persons/").t(person.person_id);
    b.s("\">");
    if let Some(img) = d.images.iter().find(|i| i.has_thumb) {
        b.s("<img loading=\"lazy\" alt=\"\" src=\"").t(base).s("/collections/").t(cid).s("/images/");
        b.t(img.media_id).s("_thumb.jpg\">");
    }
    let name = person_name(person.meta_data.as_map());
    b.s("<figcaption>").t(if name.is_empty() { person.person_id.to_string() } else { name });
    b.s("<br>").t(format!("{}: {}", text::PHOTOS, d.images.len())).s("</figcaption></a></figure>");
}

/// The name inputs and the other meta_data of a person, from its current meta_data.
fn person_fields(b: &mut Html, meta: &Map<String, Value>) {
    let info = match meta.get(PERSON_INFO) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    field(b, "p-first", "first_name", text::FIRST_NAME, "text", &meta_str(&info, "first_name"), false);
    field(b, "p-middle", "middle_name", text::MIDDLE_NAME, "text", &meta_str(&info, "middle_name"), false);
    field(b, "p-last", "last_name", text::LAST_NAME, "text", &meta_str(&info, "last_name"), false);
    let mut rest = meta.clone();
    if info.keys().all(|k| NAME_KEYS.contains(&k.as_str())) {
        rest.shift_remove(PERSON_INFO);
    }
    textarea(b, "p-meta", "meta_data", text::OTHER_META_DATA, &meta_text(&rest));
}

fn photo_input(b: &mut Html, name: &'static str, label: &'static str, accept: &'static str) {
    b.s("<label for=\"f-").s(name).s("\">").t(label).s("</label><input id=\"f-").s(name).s("\" name=\"").s(name);
    b.s("\" type=\"file\" multiple required accept=\"").s(accept).s("\">");
}

/// A person's meta_data from the form: the other meta_data, with `person_info` holding the
/// names typed (its other keys kept).
fn person_meta(fields: &[(String, String)]) -> Result<MetaData, Error> {
    let get = |k: &str| fields.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.trim()).unwrap_or("");
    let mut meta = parse_meta(get("meta_data"), "meta_data")?.into_value();
    let map = meta.as_object_mut().expect("meta_data is an object");
    let mut info = match map.shift_remove(PERSON_INFO) {
        Some(Value::Object(m)) => m,
        Some(other) => {
            map.insert(PERSON_INFO.into(), other);
            Map::new()
        }
        None => Map::new(),
    };
    for key in NAME_KEYS {
        let v = get(key);
        if v.is_empty() {
            info.shift_remove(key);
        } else {
            info.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    if !info.is_empty() {
        map.insert(PERSON_INFO.into(), Value::Object(info));
    }
    MetaData::parse(meta, "person:meta_data")
}

/// The photos of a console upload, each tagged as an enrolment photo; parts renamed `photo1…`
/// so that errors name them in order.
fn enrolment_upload(mut upload: Upload, person_meta: MetaData) -> Upload {
    let tags: Vec<String> = PHOTO_TAGS.iter().map(|t| (*t).to_owned()).collect();
    for (i, f) in upload.files.iter_mut().enumerate() {
        f.key = format!("photo{}", i + 1);
    }
    let media_tags = upload.files.iter().map(|f| (f.key.clone(), tags.clone())).collect();
    Upload { files: upload.files, payload: UploadPayload { person_meta, media_tags, ..UploadPayload::default() } }
}

fn field_of<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// A refused write on the collection page: input errors above their form, others as a page.
async fn refuse_on_collection(
    state: &AppState,
    session: &Session,
    cid: &str,
    form: &'static str,
    e: Error,
) -> Response {
    match form_error(&session.base, e) {
        Ok((status, message)) => {
            collection_page(state, session, cid, &[], Some(Refused { status, message, form, value: None })).await
        }
        Err(r) => r,
    }
}

/// `POST {base}/collections/{cid}/persons`: `add_person` (`POST /api/collections/{cid}/persons/`),
/// all or nothing: a rejected photo stores nothing and names the file.
pub async fn add_person(
    State(state): State<AppState>,
    session: Session,
    Path(cid): Path<String>,
    upload: Result<FormUpload, Error>,
) -> Response {
    let FormUpload(upload, fields) = match upload {
        Ok(u) => u,
        Err(e) => return refuse_on_collection(&state, &session, &cid, "person", e).await,
    };
    let id = match checked_post(&session, field_of(&fields, "csrf"), &cid) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let meta = match person_meta(&fields) {
        Ok(m) => m,
        Err(e) => return refuse_on_collection(&state, &session, &cid, "person", e).await,
    };
    let upload = enrolment_upload(upload, meta);
    match state.domain.add_person(&session.caller, id, upload, EnrolMode::AllOrNothing).await {
        Ok(enrolled) => match enrolled.persons.first() {
            Some(p) => {
                see_other(format!("{}/collections/{id}/persons/{}?done=person_added", session.base, p.person.person_id))
            }
            None => see_other(format!("{}/collections/{id}", session.base)),
        },
        Err(e) => refuse_on_collection(&state, &session, &cid, "person", e).await,
    }
}

#[derive(Deserialize)]
pub struct MetaForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) meta_data: String,
}

/// `POST {base}/collections/{cid}/edit`: replace its meta_data (`POST /api/collections/{cid}/meta_data`).
pub async fn edit_collection(
    State(state): State<AppState>,
    session: Session,
    Path(cid): Path<String>,
    Form(f): Form<MetaForm>,
) -> Response {
    let id = match checked_post(&session, &f.csrf, &cid) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let target = MetaTarget { kind: ObjectKind::Collection, id, parent: None };
    let changed = match parse_meta(&f.meta_data, "meta_data") {
        Ok(m) => state.domain.change_meta(&session.caller, target, MetaChange::Replace(m)).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => see_other(format!("{}/collections/{id}?done=saved", session.base)),
        Err(e) => refuse_on_collection(&state, &session, &cid, "edit", e).await,
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    alias: String,
}

/// `POST {base}/collections/{cid}/rename`: `rename_collection` (`PATCH /api/collections/{cid}/`,
/// [I]); a refused alias is shown in the form again with the reason.
pub async fn rename_collection(
    State(state): State<AppState>,
    session: Session,
    Path(cid): Path<String>,
    Form(f): Form<RenameForm>,
) -> Response {
    let id = match checked_post(&session, &f.csrf, &cid) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let renamed = state.domain.rename_collection(&session.caller, id, &f.alias).await;
    let to = |_| format!("{}/collections/{id}?done=collection_renamed", session.base);
    answer(&session.base, renamed, to, |(status, message)| {
        let refused = Refused { status, message, form: "rename", value: Some(f.alias.clone()) };
        collection_page(&state, &session, &cid, &[], Some(refused))
    })
    .await
}

/// `POST {base}/collections/{cid}/delete`: `delete_collection` (`DELETE /api/collections/{cid}/`)
/// after typing its alias; refused while persons remain.
pub async fn delete_collection(
    State(state): State<AppState>,
    session: Session,
    Path(cid): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let id = match checked_post(&session, &f.csrf, &cid) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let c: Collection = match state.domain.get_collection(&session.caller, id).await {
        Ok(c) => c,
        Err(e) => return error_page(&session.base, e),
    };
    if let Err(r) = f.check(&session, &[c.alias.as_str(), cid.as_str()]) {
        return r;
    }
    match state.domain.delete_collection(&session.caller, id).await {
        Ok(()) => see_other(format!("{}/collections?done=collection_deleted", session.base)),
        Err(e) => refuse_on_collection(&state, &session, &cid, "delete", e).await,
    }
}

/// `POST {base}/collections/{cid}/import`: a ZIP (one folder per person, `person.json` for its
/// meta_data: the layout of `emerald collections import`) or loose photos (one person each,
/// named after the file), unpacked into a temporary directory and imported person by person
/// with `add_person` as the signed-in user. Persons already imported (same `import_key`) are
/// skipped, so a failed import is simply sent again. Refusals before the first person (the
/// CSRF token, the rights, no file, a bad meta_data CSV or one naming persons the upload lacks,
/// no face engine) are the collection page with the form's error; past them the answer is a
/// page written as the import goes (a line per person as it is done), ending with the report.
/// The import runs in a task of its own that ends with the answer: a browser that goes away
/// stops it after the person being imported, and sending the form again resumes it.
pub async fn import(
    State(state): State<AppState>,
    session: Session,
    Path(cid): Path<String>,
    upload: Result<FormUpload, Error>,
) -> Response {
    let FormUpload(mut upload, fields) = match upload {
        Ok(u) => u,
        Err(e) => return refuse_on_collection(&state, &session, &cid, "import", e).await,
    };
    if let Err(r) = session.check_csrf(field_of(&fields, "csrf")) {
        return r;
    }
    let base = &session.base;
    // The meta_data CSV beside the ZIP (an empty file input sends an empty, nameless part).
    let (csv_files, files): (Vec<_>, Vec<_>) =
        std::mem::take(&mut upload.files).into_iter().partition(|f| f.key == "meta_data_csv");
    upload.files = files;
    let csv_files: Vec<_> = csv_files.into_iter().filter(|f| f.size > 0 || !f.original_name.is_empty()).collect();
    let id = match parse_uuid(&cid, "Collection") {
        Ok(id) => id,
        Err(e) => return error_page(base, e),
    };
    let c = match state.domain.get_collection(&session.caller, id).await {
        Ok(c) => c,
        Err(e) => return error_page(base, e),
    };
    // Refuse before unpacking anything (the domain refuses every person all the same).
    if !manages_collections_of(&session.caller, c.company_id) {
        return error_page(base, Error::Forbidden(None));
    }
    if upload.files.is_empty() {
        let e = Error::invalid_value(text::NO_FILES, serde_json::json!({ "key_path": "import" }));
        return refuse_on_collection(&state, &session, &cid, "import", e).await;
    }
    // A bad CSV is refused before anything is unpacked or imported.
    let meta_csv = match meta_csv_of(&csv_files).await {
        Ok(m) => m,
        Err(why) => {
            let e = Error::invalid_value(
                format!("{}: {why}", text::IMPORT_META_CSV_BAD),
                serde_json::json!({ "key_path": "meta_data_csv" }),
            );
            return refuse_on_collection(&state, &session, &cid, "import", e).await;
        }
    };
    let spool = match state.domain.spool_dir() {
        Ok(s) => s.to_path_buf(),
        Err(e) => return error_page(base, e),
    };
    let max_bytes = state.domain.upload_limits().max_file_bytes;
    let unpacked = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let dir =
            tempfile::Builder::new().prefix("import-").tempdir_in(&spool).map_err(|e| format!("unpacking: {e}"))?;
        let mut rejected = Vec::new();
        for f in &upload.files {
            let crate::domain::model::upload::FileContent::Spooled(path) = &f.content else { continue };
            let outcome = if f.original_name.to_ascii_lowercase().ends_with(".zip") {
                unpack_zip(path, dir.path(), max_bytes).map(|r| rejected.extend(r))
            } else {
                place_photo(path, &f.original_name, dir.path())
            };
            if let Err(why) = outcome {
                rejected.push((std::path::PathBuf::from(&f.original_name), why));
            }
        }
        Ok((dir, rejected))
    })
    .await;
    let (dir, rejected) = match unpacked {
        Ok(Ok(x)) => x,
        Ok(Err(why)) => return error_page(base, Error::internal(anyhow::anyhow!(why))),
        Err(e) => return error_page(base, Error::internal(e)),
    };

    // The import in its own task (the directory goes with it), its events over a channel.
    let root = dir.path().to_path_buf();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ImportMsg>();
    let (domain, caller) = (state.domain.clone(), session.caller.clone());
    let task = tokio::spawn(async move {
        let events = tx.clone();
        let mut on_event = move |e: ImportEvent| {
            let _ = events.send(ImportMsg::Event(e));
        };
        let result = import_persons_as(&domain, &caller, id, dir.path(), meta_csv.as_ref(), &mut on_event).await;
        drop(dir);
        let _ = tx.send(ImportMsg::End(result.err().map(|e| e.to_string())));
    });
    let guard = AbortOnDrop(task);
    // Its first word: started (the page begins), or refused by its checks (nothing imported).
    let persons = match rx.recv().await {
        Some(ImportMsg::Event(ImportEvent::Started { persons })) => persons,
        Some(ImportMsg::End(Some(why))) => {
            let e = Error::invalid_value(why, serde_json::json!({ "key_path": "import" }));
            return refuse_on_collection(&state, &session, &cid, "import", e).await;
        }
        _ => return error_page(base, Error::internal(anyhow::anyhow!("the import ended before it started"))),
    };
    let mut first = Html::new();
    first.s("<h1>").t(text::IMPORT_TITLE).s(": ").t(&c.alias).s("</h1>");
    first.el("<p class=\"note\">", format!("{persons} {}", text::IMPORT_RUNNING), "</p>");
    first.s("<ol class=\"import-progress\">");
    let run = ImportRun {
        rx,
        _guard: guard,
        root,
        persons,
        done: 0,
        report: ImportReport { rejected, ..ImportReport::default() },
        ended: false,
        base: base.clone(),
        collection_id: c.collection_id,
    };
    let rest = futures::stream::unfold(run, |mut run| async move {
        if run.ended {
            return None;
        }
        let mut b = Html::new();
        match run.rx.recv().await {
            Some(ImportMsg::Event(ImportEvent::Person { key, outcome, rejected })) => {
                run.person(&mut b, key, outcome, rejected)
            }
            Some(ImportMsg::Event(ImportEvent::Started { .. })) => {}
            Some(ImportMsg::End(why)) => run.end(&mut b, why),
            None => run.end(&mut b, Some(text::IMPORT_ENDED_UNEXPECTEDLY.to_owned())),
        }
        Some((b, run))
    });
    streamed_page(&state, &session, text::IMPORT_TITLE, first, rest)
}

/// What the import's task says: a step, or its end (with the error that stopped it).
enum ImportMsg {
    Event(ImportEvent),
    End(Option<String>),
}

/// Stops the import's task when the answer is dropped (the browser went away).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running import's page: its progress lines, then the report.
struct ImportRun {
    rx: tokio::sync::mpsc::UnboundedReceiver<ImportMsg>,
    _guard: AbortOnDrop,
    /// The unpacked directory (the report names files under it).
    root: std::path::PathBuf,
    persons: usize,
    done: usize,
    report: ImportReport,
    ended: bool,
    base: String,
    collection_id: Uuid,
}

impl ImportRun {
    /// One person's line (`n/N key: what became of it`).
    fn person(
        &mut self,
        b: &mut Html,
        key: String,
        outcome: PersonOutcome,
        rejected: Vec<(std::path::PathBuf, String)>,
    ) {
        self.done += 1;
        let (class, words) = match &outcome {
            PersonOutcome::Imported { photos } => {
                self.report.persons_imported += 1;
                self.report.photos_imported += photos;
                ("imported", format!("{} ({}: {photos})", text::IMPORT_PERSON_IMPORTED, text::IMPORT_PHOTOS))
            }
            PersonOutcome::Skipped => {
                self.report.persons_skipped += 1;
                ("skipped", text::IMPORT_PERSON_SKIPPED.to_owned())
            }
            PersonOutcome::NotImported(why) => ("not-imported", format!("{}: {why}", text::IMPORT_PERSON_NOT_IMPORTED)),
        };
        let left_out = if rejected.is_empty() {
            String::new()
        } else {
            format!("; {}: {}", text::IMPORT_FILES_LEFT_OUT, rejected.len())
        };
        b.s("<li data-outcome=\"").s(class).s("\">").t(format!("{}/{} ", self.done, self.persons));
        b.el("<code>", &key, "</code>").t(format!(": {words}{left_out}")).s("</li>");
        self.report.rejected.extend(rejected);
    }

    /// The end: why it stopped (if it did), then the report.
    fn end(&mut self, b: &mut Html, stopped: Option<String>) {
        self.ended = true;
        b.s("</ol>");
        match stopped {
            Some(why) => alert(b, &format!("{}: {why}. {}", text::IMPORT_STOPPED, text::IMPORT_SEND_AGAIN)),
            None => {
                b.el("<p class=\"note\" role=\"status\">", text::IMPORT_DONE, "</p>");
            }
        }
        let root = self.root.clone();
        for (p, _) in self.report.rejected.iter_mut() {
            if let Ok(rel) = p.strip_prefix(&root) {
                *p = rel.to_path_buf();
            }
        }
        import_report(b, &self.base, self.collection_id, &self.report);
    }
}
/// The meta_data CSV of an import, parsed whole (at most one; UTF-8).
async fn meta_csv_of(files: &[crate::domain::model::upload::ReceivedFile]) -> Result<Option<MetaCsv>, String> {
    use crate::domain::model::upload::FileContent;
    let file = match files {
        [] => return Ok(None),
        [f] => f,
        _ => return Err("send one meta_data CSV".into()),
    };
    let bytes = match &file.content {
        FileContent::Memory(b) => b.to_vec(),
        FileContent::Spooled(path) => tokio::fs::read(path).await.map_err(|e| format!("cannot read it: {e}"))?,
    };
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    MetaCsv::parse(&text).map(Some)
}

/// The import's report: the counts, the files left out and why, the way back.
fn import_report(b: &mut Html, base: &str, collection_id: Uuid, report: &ImportReport) {
    b.s("<dl class=\"report\">");
    dl_row(b, text::PERSONS_IMPORTED, report.persons_imported);
    dl_row(b, text::PHOTOS_IMPORTED, report.photos_imported);
    dl_row(b, text::PERSONS_SKIPPED, report.persons_skipped);
    dl_row(b, text::FILES_REJECTED, report.rejected.len());
    b.s("</dl>");
    if !report.rejected.is_empty() {
        b.s("<div class=\"scroll\"><table id=\"rejected\"><thead><tr>");
        b.el("<th scope=\"col\">", text::FILE, "</th>").el("<th scope=\"col\">", text::REASON, "</th>");
        b.s("</tr></thead><tbody>");
        for (path, why) in &report.rejected {
            b.el("<tr><td>", path.display(), "</td>").el("<td>", why, "</td></tr>");
        }
        b.s("</tbody></table></div>");
    }
    b.s("<p><a href=\"").t(base).s("/collections/").t(collection_id).s("\">");
    b.t(text::BACK_TO_COLLECTION).s("</a></p>");
}

/// `GET {base}/collections/{cid}/persons/{pid}` (`GET /api/collections/{cid}/persons/{pid}`).
pub async fn person(
    State(state): State<AppState>,
    session: Session,
    Path((cid, pid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = parse_query(raw);
    person_page(&state, &session, &cid, &pid, &q, None).await
}

/// A refused write on the person page; `orders` are the orders whose analyses matched it,
/// `analyses` all those analyses (the API's `details.analyse_ids`).
struct PersonRefusal {
    status: StatusCode,
    message: String,
    form: &'static str,
    orders: Vec<Uuid>,
    analyses: Vec<Uuid>,
}

async fn person_page(
    state: &AppState,
    session: &Session,
    cid: &str,
    pid: &str,
    q: &[(String, String)],
    refused: Option<PersonRefusal>,
) -> Response {
    let base = &session.base;
    let (cid, pid) = match (parse_uuid(cid, "Person"), parse_uuid(pid, "Person")) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => return error_page(base, e),
    };
    let d = match state.domain.get_person(&session.caller, cid, pid).await {
        Ok(d) => d,
        Err(e) => return error_page(base, e),
    };
    let manages = manages_collections_of(&session.caller, d.person.company_id);
    let error_for = |b: &mut Html, form: &str| {
        if let Some(r) = refused.as_ref().filter(|r| r.form == form) {
            alert(b, &r.message);
            if !r.orders.is_empty() {
                b.s("<p>").t(text::MATCHED_IN_ORDERS).s("</p><ul class=\"matches\">");
                for o in &r.orders {
                    b.s("<li><a href=\"").t(base).s("/orders/").t(o).s("\"><code>").t(o).s("</code></a></li>");
                }
                b.s("</ul>");
            }
        }
    };
    let mut b = Html::new();
    let name = person_name(d.person.meta_data.as_map());
    b.s("<h1>").t(text::PERSON).s(" ").t(if name.is_empty() { pid.to_string() } else { name }).s("</h1>");
    notice(&mut b, q);
    if !manages {
        error_for(&mut b, "photo");
        error_for(&mut b, "photos");
        error_for(&mut b, "edit");
        error_for(&mut b, "delete");
    }
    b.s("<dl>");
    b.s("<dt>").t(text::COLLECTION).s("</dt><dd><a href=\"").t(base).s("/collections/").t(cid).s("\"><code>");
    b.t(cid).s("</code></a></dd>");
    dl_row(&mut b, "person_id", pid);
    dl_time(&mut b, text::CREATED, d.person.time_created);
    b.s("</dl><h2>").t(text::META_DATA).s("</h2>");
    json_block(&mut b, &d.person.meta_data.to_value());
    b.el("<h2>", text::PHOTOS, "</h2>");
    if manages {
        error_for(&mut b, "photo");
    }
    b.s("<div class=\"cards\">");
    for img in &d.images {
        b.s("<figure class=\"card\">");
        if img.has_thumb {
            b.s("<a hx-boost=\"false\" href=\"").t(base).s("/collections/").t(cid).s("/images/").t(img.media_id);
            b.s(".").t(&img.extension);
            b.s("\"><img loading=\"lazy\" src=\"").t(base).s("/collections/").t(cid).s("/images/").t(img.media_id);
            b.s("_thumb.jpg\" alt=\"").t(&img.original_name).s("\"></a>");
        }
        b.el("<figcaption>", &img.original_name, "");
        if manages && d.images.len() > 1 {
            let short = img.media_id.to_string()[..8].to_owned();
            post_form(
                &mut b,
                session,
                &format!("/collections/{cid}/persons/{pid}/photos/{}/delete", img.media_id),
                "photo-delete",
                false,
            );
            let id = format!("confirm-{}", img.media_id);
            b.s("<label for=\"")
                .t(&id)
                .s("\">")
                .t(text::DELETE_PHOTO_CONFIRM)
                .s(" <code>")
                .t(&short)
                .s("</code></label>");
            b.s("<input id=\"").t(&id).s("\" name=\"confirm\" type=\"text\" autocomplete=\"off\" required> ");
            b.s("<button type=\"submit\" class=\"danger\">").t(text::DELETE_PHOTO).s("</button></form>");
        }
        b.s("</figcaption></figure>");
    }
    b.s("</div>");
    person_hits(&mut b, state, session, (cid, pid), q).await;
    if manages {
        let path = format!("/collections/{cid}/persons/{pid}");
        b.s("<section id=\"add-photos\"><h2>").t(text::ADD_PHOTOS).s("</h2>");
        error_for(&mut b, "photos");
        post_form(&mut b, session, &format!("{path}/photos"), "edit", true);
        photo_input(&mut b, "photos", text::PHOTOS_TO_ENROL, "image/*");
        submit(&mut b, text::ADD_PHOTOS, false);
        b.s("</form></section><section id=\"edit\"><h2>").t(text::EDIT_PERSON).s("</h2>");
        error_for(&mut b, "edit");
        post_form(&mut b, session, &format!("{path}/edit"), "edit", false);
        person_fields(&mut b, d.person.meta_data.as_map());
        submit(&mut b, text::SAVE, false);
        b.s("</form></section>");
        error_for(&mut b, "delete");
        // Refused for its matches: a role that deletes analyses is offered to delete them
        // first, then the person, behind the same typed confirmation (console spec §4.6).
        let matched = refused.as_ref().filter(|r| r.form == "delete").map(|r| &r.analyses);
        if let Some(ids) = matched.filter(|ids| !ids.is_empty() && Domain::deletes_analyses(&session.caller)) {
            delete_with_analyses_form(&mut b, session, &path, ids, &pid.to_string()[..8]);
        }
        typed_delete(
            &mut b,
            session,
            &format!("{path}/delete"),
            text::DELETE_PERSON,
            text::DELETE_PERSON_CONFIRM,
            &pid.to_string()[..8],
        );
    }
    let status = refused.map(|r| r.status).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::PERSON, b)).into_response()
}

/// The person's "Hits" (GAP-9): the orders whose COLLECTION analysis matched it
/// (`GET /api/analyses/?person_id=`), as far as the user sees them, newest first, paged.
async fn person_hits(
    b: &mut Html,
    state: &AppState,
    session: &Session,
    (cid, pid): (Uuid, Uuid),
    q: &[(String, String)],
) {
    let base = &session.base;
    let offset = super::pages::offset_of(q);
    let mut params = page_params(offset);
    params.0.extend([("person_id".to_owned(), pid.to_string()), ("type".to_owned(), "COLLECTION".to_owned())]);
    b.s("<section id=\"hits\"><h2>").t(text::HITS).s("</h2>");
    let page = match state.domain.list_analyses(&session.caller, &params).await {
        Ok(p) => p,
        Err(e) => {
            alert(b, &e.to_string());
            b.s("</section>");
            return;
        }
    };
    if page.items.is_empty() {
        b.el("<p>", text::NO_HITS, "</p></section>");
        return;
    }
    b.s("<div class=\"scroll\"><table><thead><tr>");
    for col in [text::COL_FOLDER, text::COL_CREATED, text::COL_STATUS, "max_confidence"] {
        b.el("<th scope=\"col\">", col, "</th>");
    }
    b.s("</tr></thead><tbody>");
    for d in &page.items {
        let a = &d.analysis;
        let score = a.results_data.as_ref().and_then(|r| r.get("max_confidence")).and_then(Value::as_f64);
        b.s("<tr><td><a href=\"")
            .t(base)
            .s("/orders/")
            .t(a.folder_id)
            .s("\"><code>")
            .t(a.folder_id)
            .s("</code></a></td>");
        b.s("<td>").time(a.time_created).s("</td><td>");
        super::pages::badge(b, a.resolution_status.as_str());
        b.el("</td><td class=\"num\">", score.map(|s| format!("{s:.4}")).unwrap_or_default(), "</td></tr>");
    }
    b.s("</tbody></table></div>");
    pager(b, &format!("{base}/collections/{cid}/persons/{pid}"), "", offset, page.items.len(), page.total);
    b.s("</section>");
}

/// A refused write on the person page. A refusal naming matched analyses (the API's
/// `details.analyse_ids`) links the orders they belong to, as far as the user sees them.
async fn refuse_on_person(
    state: &AppState,
    session: &Session,
    (cid, pid): (&str, &str),
    form: &'static str,
    e: Error,
) -> Response {
    let mut orders = Vec::new();
    let mut analyses = Vec::new();
    if let Error::InvalidValue { details, .. } | Error::Conflict { details, .. } = &e {
        let ids = details.get("analyse_ids").and_then(Value::as_array).cloned().unwrap_or_default();
        analyses = ids.iter().filter_map(Value::as_str).filter_map(|s| Uuid::parse_str(s).ok()).collect();
        for id in analyses.iter().copied().take(MATCHES_SHOWN) {
            if let Ok(a) = state.domain.get_analysis(&session.caller, id).await {
                if !orders.contains(&a.analysis.folder_id) {
                    orders.push(a.analysis.folder_id);
                }
            }
        }
    }
    // The matches changed under a "delete these N analyses" form: the page again, with the
    // current ones offered.
    let answered = match e {
        Error::Conflict { .. } => Ok((StatusCode::CONFLICT, e.to_string())),
        e => form_error(&session.base, e),
    };
    match answered {
        Ok((status, message)) => {
            let refusal = PersonRefusal { status, message, form, orders, analyses };
            person_page(state, session, cid, pid, &[], Some(refusal)).await
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    middle_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    meta_data: String,
}

/// `POST {base}/collections/{cid}/persons/{pid}/edit`: replace the person's meta_data
/// (`POST /api/collections/{cid}/persons/{pid}/meta_data`) with the names and the rest typed.
pub async fn edit_person(
    State(state): State<AppState>,
    session: Session,
    Path((cid, pid)): Path<(String, String)>,
    Form(f): Form<PersonForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let (id_c, id_p) = match (parse_uuid(&cid, "Person"), parse_uuid(&pid, "Person")) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => return error_page(&session.base, e),
    };
    let fields: Vec<(String, String)> = [
        ("first_name", &f.first_name),
        ("middle_name", &f.middle_name),
        ("last_name", &f.last_name),
        ("meta_data", &f.meta_data),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).clone()))
    .collect();
    let target = MetaTarget { kind: ObjectKind::Person, id: id_p, parent: Some(id_c) };
    let changed = match person_meta(&fields) {
        Ok(m) => state.domain.change_meta(&session.caller, target, MetaChange::Replace(m)).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => see_other(format!("{}/collections/{id_c}/persons/{id_p}?done=saved", session.base)),
        Err(e) => refuse_on_person(&state, &session, (&cid, &pid), "edit", e).await,
    }
}

/// `POST {base}/collections/{cid}/persons/{pid}/photos`: `add_person_images`
/// (`POST /api/collections/{cid}/persons/{pid}/images/`).
pub async fn add_photos(
    State(state): State<AppState>,
    session: Session,
    Path((cid, pid)): Path<(String, String)>,
    upload: Result<FormUpload, Error>,
) -> Response {
    let FormUpload(upload, fields) = match upload {
        Ok(u) => u,
        Err(e) => return refuse_on_person(&state, &session, (&cid, &pid), "photos", e).await,
    };
    if let Err(r) = session.check_csrf(field_of(&fields, "csrf")) {
        return r;
    }
    let (id_c, id_p) = match (parse_uuid(&cid, "Person"), parse_uuid(&pid, "Person")) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => return error_page(&session.base, e),
    };
    let upload = enrolment_upload(upload, MetaData::default());
    match state.domain.add_person_images(&session.caller, id_c, id_p, upload).await {
        Ok(_) => see_other(format!("{}/collections/{id_c}/persons/{id_p}?done=photos_added", session.base)),
        Err(e) => refuse_on_person(&state, &session, (&cid, &pid), "photos", e).await,
    }
}

/// `POST {base}/collections/{cid}/persons/{pid}/photos/{media_id}/delete`: `delete_person_image`
/// (`DELETE …/images/{id}/`) after typing the photo id's start; refused while matched.
pub async fn delete_photo(
    State(state): State<AppState>,
    session: Session,
    Path((cid, pid, mid)): Path<(String, String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let short = mid.get(..8).unwrap_or(&mid).to_owned();
    if let Err(r) = f.check(&session, &[short.as_str(), mid.as_str()]) {
        return r;
    }
    let ids = (parse_uuid(&cid, "Person"), parse_uuid(&pid, "Person"), parse_uuid(&mid, "Person image"));
    let (id_c, id_p, id_m) = match ids {
        (Ok(c), Ok(p), Ok(m)) => (c, p, m),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_page(&session.base, e),
    };
    match state.domain.delete_person_image(&session.caller, id_c, id_p, id_m).await {
        Ok(()) => see_other(format!("{}/collections/{id_c}/persons/{id_p}?done=photo_deleted", session.base)),
        Err(e) => refuse_on_person(&state, &session, (&cid, &pid), "photo", e).await,
    }
}

/// `POST {base}/collections/{cid}/persons/{pid}/delete`: `delete_person`
/// (`DELETE /api/collections/{cid}/persons/{pid}`) after typing the id's start; refused while
/// COLLECTION analyses matched the person, linking their orders.
pub async fn delete_person(
    State(state): State<AppState>,
    session: Session,
    Path((cid, pid)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let short = pid.get(..8).unwrap_or(&pid).to_owned();
    if let Err(r) = f.check(&session, &[short.as_str(), pid.as_str()]) {
        return r;
    }
    let (id_c, id_p) = match (parse_uuid(&cid, "Person"), parse_uuid(&pid, "Person")) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => return error_page(&session.base, e),
    };
    match state.domain.delete_person(&session.caller, id_c, id_p).await {
        Ok(()) => see_other(format!("{}/collections/{id_c}?done=person_deleted", session.base)),
        Err(e) if is_input_error(&e) => refuse_on_person(&state, &session, (&cid, &pid), "delete", e).await,
        Err(e) => error_page(&session.base, e),
    }
}

/// "Delete these N analyses, then the person": the analyses' ids travel with the form, so
/// what is deleted is what the user saw (the domain refuses when the matches changed).
fn delete_with_analyses_form(b: &mut Html, session: &Session, path: &str, ids: &[Uuid], expected: &str) {
    let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let heading =
        format!("{} {} {}", text::DELETE_ANALYSES_THEN_PERSON_1, ids.len(), text::DELETE_ANALYSES_THEN_PERSON_2);
    b.s("<section class=\"danger-zone\" id=\"delete-with-analyses\"><h2>").t(&heading).s("</h2>");
    post_form(b, session, &format!("{path}/delete-with-analyses"), "delete", false);
    b.s("<input type=\"hidden\" name=\"analyses\" value=\"").t(list.join(",")).s("\">");
    b.s("<label for=\"confirm-with-analyses\">").t(text::DELETE_PERSON_CONFIRM).s(" <code>").t(expected);
    b.s("</code></label><input id=\"confirm-with-analyses\" name=\"confirm\" type=\"text\" autocomplete=\"off\" required> ");
    b.s("<button type=\"submit\" class=\"danger\">").t(&heading).s("</button></form></section>");
}

#[derive(Deserialize)]
pub struct DeleteWithAnalysesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
    /// The analyses shown, comma-separated.
    #[serde(default)]
    analyses: String,
}

/// `POST {base}/collections/{cid}/persons/{pid}/delete-with-analyses`:
/// `delete_person_with_analyses` — each analysis through `delete_analysis`
/// (`DELETE /api/analyses/{id}`), then `delete_person`, after typing the person id's start.
pub async fn delete_person_with_analyses(
    State(state): State<AppState>,
    session: Session,
    Path((cid, pid)): Path<(String, String)>,
    Form(f): Form<DeleteWithAnalysesForm>,
) -> Response {
    let short = pid.get(..8).unwrap_or(&pid).to_owned();
    let confirm = DeleteForm { csrf: f.csrf, confirm: f.confirm };
    if let Err(r) = confirm.check(&session, &[short.as_str(), pid.as_str()]) {
        return r;
    }
    let (id_c, id_p) = match (parse_uuid(&cid, "Person"), parse_uuid(&pid, "Person")) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => return error_page(&session.base, e),
    };
    let mut shown = Vec::new();
    for raw in f.analyses.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Uuid::parse_str(raw) {
            Ok(id) => shown.push(id),
            Err(_) => {
                let e = Error::invalid_value(
                    format!("Invalid analysis id {raw:?}"),
                    serde_json::json!({ "key_path": "analyses" }),
                );
                return error_page(&session.base, e);
            }
        }
    }
    match state.domain.delete_person_with_analyses(&session.caller, id_c, id_p, &shown).await {
        Ok(_) => see_other(format!("{}/collections/{id_c}?done=person_deleted", session.base)),
        Err(e @ Error::Conflict { .. }) => refuse_on_person(&state, &session, (&cid, &pid), "delete", e).await,
        Err(e) => error_page(&session.base, e),
    }
}
