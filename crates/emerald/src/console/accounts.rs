//! Users, companies and the signed-in user's profile. Users: list, create (ADMIN any role and
//! company; CLIENT ADMIN the CLIENT roles of its company), edit, block/unblock, delete; companies:
//! list, create and delete (ADMIN), name and meta_data (ADMIN, a CLIENT ADMIN its own), the
//! company's decision thresholds (ADMIN; GAP-14), its collections and links to its orders and
//! statistics; profile: names and a password change that needs the current password. Every
//! action runs the domain function of its `/api/users…` or `/api/companies…` route as the
//! signed-in user. No open sign-up: users exist only when an ADMIN or CLIENT ADMIN creates them.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use rand::Rng;
use serde::Deserialize;
use uuid::Uuid;

use super::collections::company_select;
use super::forms::{
    alert, answer, checkbox, field, form_error, list_head, meta_text, notice, page_params, parse_meta, post_form,
    see_other, submit, textarea, ticked, typed_delete, DeleteForm,
};
use super::html::Html;
use super::orders::{key_editor, KeyEditor, MetaKeyForm, Refusal};
use super::pages::{dl_row, dl_time, get, json_block, offset_of, pager, pager_of, parse_query, PagerLinks};
use super::{error_page, page, text, Session};
use crate::api::AppState;
use crate::domain::identity::companies::{CompanyPatch, CompanyThresholds, ThresholdSource};
use crate::domain::identity::credentials::{Email, Password};
use crate::domain::identity::users::{check_name, creates_users, edits_user_meta, manages_user, NewUser, UserPatch};
use crate::domain::meta::MetaTarget;
use crate::domain::model::account::{AnalysisPermissions, Company, User};
use crate::domain::model::analysis::{ThresholdChange, ThresholdPatch, BAND_KEYS, THRESHOLD_KEYS};
use crate::domain::model::metadata::{MetaChange, ObjectKind};
use crate::domain::model::role::UserType;
use crate::domain::store::ListParams;
use crate::domain::{Domain, Error};

/// Users and collections a page on the company page.
const COMPANY_LIST_PAGE: u64 = 100;
/// Length of a password the console makes up when none is typed.
const GENERATED_PASSWORD_CHARS: usize = 16;

fn parse_uuid(raw: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw.trim()).map_err(|_| Error::not_exist(what))
}

fn yes_no(v: bool) -> &'static str {
    if v {
        text::YES
    } else {
        text::NO
    }
}

/// The roles a caller may give (the domain refuses the others too).
fn grantable_roles(t: UserType) -> &'static [UserType] {
    const CLIENT_ROLES: [UserType; 4] =
        [UserType::Client, UserType::ClientAdmin, UserType::ClientOperator, UserType::ClientService];
    match t {
        UserType::Admin => &UserType::ALL,
        UserType::ClientAdmin => &CLIENT_ROLES,
        _ => &[],
    }
}

fn role_select(h: &mut Html, session: &Session, chosen: &str) {
    h.s("<label for=\"u-role\">").t(text::ROLE).s("</label><select id=\"u-role\" name=\"user_type\">");
    for r in grantable_roles(session.caller.user_type) {
        h.s("<option");
        if r.as_str() == chosen {
            h.s(" selected");
        }
        h.s(">").t(r.as_str()).s("</option>");
    }
    h.s("</select>");
}

fn generated_password() -> String {
    rand::rngs::OsRng
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(GENERATED_PASSWORD_CHARS)
        .map(char::from)
        .collect()
}

/// The user form's fields, as sent (create and edit).
#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    middle_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    user_type: String,
    #[serde(default)]
    company_id: String,
    is_service: Option<String>,
    can_biometry: Option<String>,
    can_quality: Option<String>,
    can_collection: Option<String>,
    can_documents: Option<String>,
    #[serde(default)]
    meta_data: String,
}

impl UserForm {
    fn of(u: &User) -> UserForm {
        let on = |v: bool| v.then(|| "on".to_owned());
        UserForm {
            csrf: String::new(),
            email: u.email.clone(),
            password: String::new(),
            first_name: u.first_name.clone(),
            middle_name: u.middle_name.clone().unwrap_or_default(),
            last_name: u.last_name.clone(),
            user_type: u.user_type.as_str().to_owned(),
            company_id: u.company_id.map(|c| c.to_string()).unwrap_or_default(),
            is_service: on(u.is_service),
            can_biometry: on(u.can_start.biometry),
            can_quality: on(u.can_start.quality),
            can_collection: on(u.can_start.collection),
            can_documents: on(u.can_start.documents),
            meta_data: meta_text(u.meta_data.as_map()),
        }
    }

    fn fresh() -> UserForm {
        let on = Some("on".to_owned());
        UserForm {
            user_type: UserType::Client.as_str().to_owned(),
            can_biometry: on.clone(),
            can_quality: on.clone(),
            can_collection: on.clone(),
            can_documents: on,
            ..UserForm::default()
        }
    }

    fn company(&self) -> Result<Option<Uuid>, Error> {
        match self.company_id.trim() {
            "" => Ok(None),
            c => parse_uuid(c, "Company").map(Some),
        }
    }

    fn middle(&self) -> Result<Option<String>, Error> {
        let m = check_name("middle_name", &self.middle_name)?;
        Ok(Some(m).filter(|m| !m.is_empty()))
    }

    fn can_start(&self) -> AnalysisPermissions {
        AnalysisPermissions {
            biometry: ticked(&self.can_biometry),
            quality: ticked(&self.can_quality),
            collection: ticked(&self.can_collection),
            documents: ticked(&self.can_documents),
        }
    }
}

/// The inputs of the user form; `editing` leaves the password optional.
async fn user_fields(h: &mut Html, state: &AppState, session: &Session, v: &UserForm, editing: bool) {
    field(h, "u-email", "email", text::EMAIL, "email", &v.email, true);
    let label = if editing { text::NEW_PASSWORD_OPTIONAL } else { text::PASSWORD_OR_GENERATED };
    field(h, "u-password", "password", label, "password", "", false);
    if !editing {
        // console.js fills the field with a password made in the browser and shows it once.
        h.s("<p class=\"generate\" hidden><button type=\"button\" data-generate-password=\"u-password\">");
        h.t(text::GENERATE_PASSWORD).s("</button> <output for=\"u-password\" data-generated data-note=\"");
        h.t(text::GENERATED_PASSWORD_NOTE).s("\"></output></p>");
    }
    field(h, "u-first", "first_name", text::FIRST_NAME, "text", &v.first_name, false);
    field(h, "u-middle", "middle_name", text::MIDDLE_NAME, "text", &v.middle_name, false);
    field(h, "u-last", "last_name", text::LAST_NAME, "text", &v.last_name, false);
    role_select(h, session, &v.user_type);
    if session.caller.user_type == UserType::Admin {
        company_select(h, state, session, &v.company_id).await;
        h.el("<p class=\"note\">", text::COMPANY_NOTE, "</p>");
    }
    h.s("<fieldset><legend>").t(text::PERMISSIONS).s("</legend>");
    checkbox(h, "u-service", "is_service", text::SERVICE, ticked(&v.is_service));
    checkbox(h, "u-biometry", "can_biometry", text::AN_BIOMETRY, ticked(&v.can_biometry));
    checkbox(h, "u-quality", "can_quality", text::AN_QUALITY, ticked(&v.can_quality));
    checkbox(h, "u-collection", "can_collection", text::AN_COLLECTION, ticked(&v.can_collection));
    checkbox(h, "u-documents", "can_documents", text::AN_DOCUMENTS, ticked(&v.can_documents));
    h.s("</fieldset>");
    textarea(h, "u-meta", "meta_data", text::META_DATA_JSON, &v.meta_data);
}

fn user_link(h: &mut Html, base: &str, u: &User) {
    h.s("<a href=\"").t(base).s("/users/").t(u.user_id).s("\">").t(&u.email).s("</a>");
}

/// `GET {base}/users` (`GET /api/users/`: ADMIN all, company roles their company, CLIENT self),
/// with the create form for ADMIN and CLIENT ADMIN.
pub async fn users(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let q = parse_query(raw);
    users_page(&state, &session, &q, None, &UserForm::fresh()).await
}

async fn users_page(
    state: &AppState,
    session: &Session,
    q: &[(String, String)],
    error: Option<(StatusCode, String)>,
    values: &UserForm,
) -> Response {
    let base = &session.base;
    let offset = offset_of(q);
    let p = match state.domain.list_users(&session.caller, None, &page_params(offset)).await {
        Ok(p) => p,
        Err(e) => return error_page(base, e),
    };
    let mut b = Html::new();
    let shows_form = creates_users(&session.caller);
    list_head(&mut b, text::USERS_TITLE, q, error.as_ref(), shows_form);
    b.s("<div class=\"scroll\"><table><thead><tr>");
    for col in [text::EMAIL, text::NAME, text::ROLE, text::COMPANY, text::ACTIVE, text::SERVICE] {
        b.el("<th scope=\"col\">", col, "</th>");
    }
    b.s("</tr></thead><tbody>");
    for u in &p.items {
        b.s("<tr><td>");
        user_link(&mut b, base, u);
        b.s("</td>").el("<td>", format!("{} {}", u.first_name, u.last_name), "</td>");
        b.el("<td>", u.user_type.as_str(), "</td><td>");
        match u.company_id {
            Some(c) => b.el("<code>", c, "</code>"),
            None => b.t(text::NONE),
        };
        b.s("</td>").el("<td>", yes_no(u.is_active), "</td>").el("<td>", yes_no(u.is_service), "</td></tr>");
    }
    b.s("</tbody></table></div>");
    pager(&mut b, &format!("{base}/users"), "", offset, p.items.len(), p.total);
    if shows_form {
        b.s("<section id=\"new-user\"><h2>").t(text::NEW_USER).s("</h2>");
        if let Some((_, m)) = &error {
            alert(&mut b, m);
        }
        post_form(&mut b, session, "/users", "edit", false);
        user_fields(&mut b, state, session, values, false).await;
        submit(&mut b, text::CREATE_USER, false);
        b.s("</form></section>");
    }
    let status = error.map(|(s, _)| s).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::USERS_TITLE, b)).into_response()
}

/// `POST {base}/users`: `create_user` (`POST /api/users/`). An empty password is made up here
/// and shown once on the answer page (no e-mail is sent).
pub async fn create_user(State(state): State<AppState>, session: Session, Form(f): Form<UserForm>) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let generated = f.password.is_empty().then(generated_password);
    let password = generated.clone().unwrap_or_else(|| f.password.clone());
    let new = || -> Result<NewUser, Error> {
        Ok(NewUser {
            email: Email::parse(&f.email)?,
            password: Password::parse(&password)?,
            user_type: f.user_type.parse()?,
            company_id: f.company()?,
            first_name: check_name("first_name", &f.first_name)?,
            last_name: check_name("last_name", &f.last_name)?,
            middle_name: f.middle()?,
            is_service: ticked(&f.is_service),
            can_start: f.can_start(),
            meta_data: parse_meta(&f.meta_data, "meta_data")?,
        })
    };
    let created = match new() {
        Ok(n) => state.domain.create_user(&session.caller, n).await,
        Err(e) => Err(e),
    };
    let user = match created {
        Ok(u) => u,
        Err(e) => {
            return match form_error(&session.base, e) {
                Ok(err) => users_page(&state, &session, &[], Some(err), &f).await,
                Err(r) => r,
            }
        }
    };
    let Some(generated) = generated else {
        return see_other(format!("{}/users/{}?done=user_created", session.base, user.user_id));
    };
    let mut b = Html::new();
    b.el("<h1>", text::USER_CREATED, "</h1><dl>");
    dl_row(&mut b, text::EMAIL, &user.email);
    b.s("<dt>").t(text::PASSWORD).s("</dt><dd><code id=\"generated-password\">").t(&generated).s("</code></dd></dl>");
    b.el("<p class=\"note\" role=\"status\">", text::PASSWORD_SHOWN_ONCE, "</p>");
    b.s("<p><a href=\"").t(&session.base).s("/users/").t(user.user_id).s("\">").t(text::OPEN_USER).s("</a></p>");
    page(&state, &session, text::USER_CREATED, b)
}

/// `GET {base}/users/{id}` (`GET /api/users/{id}`), with the edit, block and delete forms for
/// who manages that user.
pub async fn user(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = parse_query(raw);
    user_page(&state, &session, &id, &q, None, None, None).await
}

async fn user_page(
    state: &AppState,
    session: &Session,
    id: &str,
    q: &[(String, String)],
    error: Option<(StatusCode, String)>,
    values: Option<&UserForm>,
    keys: Option<&Refusal>,
) -> Response {
    let base = &session.base;
    let u = match parse_uuid(id, "User") {
        Ok(id) => match state.domain.get_user(&session.caller, id).await {
            Ok(u) => u,
            Err(e) => return error_page(base, e),
        },
        Err(e) => return error_page(base, e),
    };
    let mut b = Html::new();
    b.s("<h1>").t(text::USER).s(" ").t(&u.email).s("</h1>");
    notice(&mut b, q);
    if let Some((_, m)) = &error {
        alert(&mut b, m);
    }
    b.s("<dl>");
    dl_row(&mut b, "user_id", u.user_id);
    dl_row(&mut b, text::NAME, format!("{} {} {}", u.first_name, u.middle_name.as_deref().unwrap_or(""), u.last_name));
    dl_row(&mut b, text::ROLE, u.user_type.as_str());
    b.s("<dt>").t(text::COMPANY).s("</dt><dd>");
    match u.company_id {
        Some(c) => b.el("<code>", c, "</code>"),
        None => b.t(text::NONE),
    };
    b.s("</dd>");
    dl_row(&mut b, text::ACTIVE, yes_no(u.is_active));
    dl_row(&mut b, text::SERVICE, yes_no(u.is_service));
    let c = &u.can_start;
    let can =
        [("QUALITY", c.quality), ("BIOMETRY", c.biometry), ("COLLECTION", c.collection), ("DOCUMENTS", c.documents)];
    let can: Vec<&str> = can.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    dl_row(&mut b, text::PERMISSIONS, can.join(", "));
    dl_time(&mut b, text::CREATED, u.time_created);
    b.s("</dl><h2>").t(text::META_DATA).s("</h2>");
    json_block(&mut b, &u.meta_data.to_value());
    if edits_user_meta(&session.caller, &u) {
        let editor = KeyEditor {
            dom_id: format!("meta-keys-{}", u.user_id),
            path: format!("/users/{}/meta/key", u.user_id),
            input_id: u.user_id,
            meta: &u.meta_data,
            summary: text::EDIT_USER_META_KEYS,
        };
        key_editor(&mut b, session, &editor, keys);
    } else if let Some(r) = keys {
        // A role without the editor that posted anyway: the refusal where the editor would be.
        alert(&mut b, &r.message);
    }
    if u.user_id == session.caller.user_id {
        b.s("<p><a href=\"").t(base).s("/profile\">").t(text::NAV_PROFILE).s("</a></p>");
    }
    if manages_user(&session.caller, &u) {
        let path = format!("/users/{}", u.user_id);
        b.s("<section id=\"edit\"><h2>").t(text::EDIT_USER).s("</h2>");
        post_form(&mut b, session, &format!("{path}/edit"), "edit", false);
        let current = UserForm::of(&u);
        user_fields(&mut b, state, session, values.unwrap_or(&current), true).await;
        submit(&mut b, text::SAVE, false);
        b.s("</form></section>");
        if u.user_id != session.caller.user_id {
            b.s("<section id=\"block\"><h2>").t(if u.is_active { text::BLOCK_USER } else { text::UNBLOCK_USER });
            b.s("</h2>");
            post_form(&mut b, session, &format!("{path}/block"), "block", false);
            b.s("<input type=\"hidden\" name=\"active\" value=\"").s(if u.is_active { "false" } else { "true" });
            b.s("\">").el(
                "<p class=\"note\">",
                if u.is_active { text::BLOCK_NOTE } else { text::UNBLOCK_NOTE },
                "</p>",
            );
            submit(&mut b, if u.is_active { text::BLOCK_USER } else { text::UNBLOCK_USER }, u.is_active);
            b.s("</form></section>");
            typed_delete(
                &mut b,
                session,
                &format!("{path}/delete"),
                text::DELETE_USER,
                text::DELETE_USER_CONFIRM,
                &u.email,
            );
        }
    }
    let status = error.map(|(s, _)| s).or(keys.map(|r| r.status)).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::USER, b)).into_response()
}

/// `POST {base}/users/{id}/edit`: `update_user` (`PATCH /api/users/{id}`) with every field of
/// the form; an empty password keeps the current one.
pub async fn edit_user(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<UserForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let patch = || -> Result<(Uuid, UserPatch), Error> {
        let uid = parse_uuid(&id, "User")?;
        let can = f.can_start();
        Ok((
            uid,
            UserPatch {
                email: Some(Email::parse(&f.email)?),
                password: Some(f.password.as_str()).filter(|p| !p.is_empty()).map(Password::parse).transpose()?,
                old_password: None,
                user_type: Some(f.user_type.parse()?),
                company_id: f.company()?,
                first_name: Some(check_name("first_name", &f.first_name)?),
                last_name: Some(check_name("last_name", &f.last_name)?),
                middle_name: Some(f.middle()?),
                is_service: Some(ticked(&f.is_service)),
                is_active: None,
                can_start_biometry: Some(can.biometry),
                can_start_quality: Some(can.quality),
                can_start_collection: Some(can.collection),
                can_start_documents: Some(can.documents),
                meta_data: None,
            },
        ))
    };
    let updated = match patch() {
        Ok((uid, p)) => match parse_meta(&f.meta_data, "meta_data") {
            Ok(meta) => replace_user(&state.domain, &session, uid, p, meta).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let to = |u: User| format!("{}/users/{}?done=saved", session.base, u.user_id);
    answer(&session.base, updated, to, |err| user_page(&state, &session, &id, &[], Some(err), Some(&f), None)).await
}

/// The user's fields, then its meta_data replaced as typed (`POST /api/users/{id}/meta_data`),
/// both as the caller.
async fn replace_user(
    domain: &Domain,
    session: &Session,
    id: Uuid,
    patch: UserPatch,
    meta: crate::domain::model::metadata::MetaData,
) -> Result<User, Error> {
    let user = domain.update_user(&session.caller, id, patch).await?;
    if user.meta_data.as_map() != meta.as_map() {
        let target = MetaTarget { kind: ObjectKind::User, id, parent: None };
        domain.change_meta(&session.caller, target, MetaChange::Replace(meta)).await?;
    }
    Ok(user)
}

#[derive(Deserialize)]
pub struct BlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

/// `POST {base}/users/{id}/block`: `is_active` through `update_user` (`PATCH /api/users/{id}`
/// `{"is_active": false|true}`); blocking ends the user's logins and tokens (code 211).
pub async fn block_user(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<BlockForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let active = f.active == "true";
    let outcome = match parse_uuid(&id, "User") {
        Ok(uid) => {
            let patch = UserPatch { is_active: Some(active), ..UserPatch::default() };
            state.domain.update_user(&session.caller, uid, patch).await
        }
        Err(e) => Err(e),
    };
    let done = if active { "user_unblocked" } else { "user_blocked" };
    let to = |u: User| format!("{}/users/{}?done={done}", session.base, u.user_id);
    answer(&session.base, outcome, to, |err| user_page(&state, &session, &id, &[], Some(err), None, None)).await
}

/// `POST {base}/users/{id}/delete`: `delete_user` (`DELETE /api/users/{id}`) after typing the
/// user's e-mail.
pub async fn delete_user(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let u = match parse_uuid(&id, "User") {
        Ok(uid) => match state.domain.get_user(&session.caller, uid).await {
            Ok(u) => u,
            Err(e) => return error_page(&session.base, e),
        },
        Err(e) => return error_page(&session.base, e),
    };
    let email = u.email.to_lowercase();
    let typed = f.confirm.trim().to_lowercase();
    let checked = DeleteForm { csrf: f.csrf.clone(), confirm: typed };
    if let Err(r) = checked.check(&session, &[email.as_str()]) {
        return r;
    }
    let deleted = state.domain.delete_user(&session.caller, u.user_id).await;
    let to = |()| format!("{}/users?done=user_deleted", session.base);
    answer(&session.base, deleted, to, |err| user_page(&state, &session, &id, &[], Some(err), None, None)).await
}

#[derive(Deserialize, Default)]
pub struct CompanyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    meta_data: String,
}

/// `GET {base}/companies` (`GET /api/companies/`), with the create form for ADMIN.
pub async fn companies(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let q = parse_query(raw);
    companies_page(&state, &session, &q, None, &CompanyForm::default()).await
}

async fn companies_page(
    state: &AppState,
    session: &Session,
    q: &[(String, String)],
    error: Option<(StatusCode, String)>,
    values: &CompanyForm,
) -> Response {
    let base = &session.base;
    let offset = offset_of(q);
    let p = match state.domain.list_companies(&session.caller, None, &page_params(offset)).await {
        Ok(p) => p,
        Err(e) => return error_page(base, e),
    };
    let mut b = Html::new();
    let shows_form = session.caller.user_type == UserType::Admin;
    list_head(&mut b, text::COMPANIES_TITLE, q, error.as_ref(), shows_form);
    b.s("<div class=\"scroll\"><table><thead><tr>");
    for col in [text::NAME, "company_id", text::CREATED] {
        b.el("<th scope=\"col\">", col, "</th>");
    }
    b.s("</tr></thead><tbody>");
    for c in &p.items {
        b.s("<tr><td><a href=\"").t(base).s("/companies/").t(c.company_id).s("\">").t(&c.name).s("</a></td>");
        b.el("<td><code>", c.company_id, "</code></td>").s("<td>").time(c.time_created).s("</td></tr>");
    }
    b.s("</tbody></table></div>");
    pager(&mut b, &format!("{base}/companies"), "", offset, p.items.len(), p.total);
    if shows_form {
        b.s("<section id=\"new-company\"><h2>").t(text::NEW_COMPANY).s("</h2>");
        if let Some((_, m)) = &error {
            alert(&mut b, m);
        }
        post_form(&mut b, session, "/companies", "edit", false);
        field(&mut b, "c-name", "name", text::NAME, "text", &values.name, true);
        textarea(&mut b, "c-meta", "meta_data", text::META_DATA_JSON, &values.meta_data);
        submit(&mut b, text::CREATE_COMPANY, false);
        b.s("</form></section>");
    }
    let status = error.map(|(s, _)| s).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::COMPANIES_TITLE, b)).into_response()
}

/// `POST {base}/companies`: `create_company` (`POST /api/companies/`, ADMIN).
pub async fn create_company(State(state): State<AppState>, session: Session, Form(f): Form<CompanyForm>) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let created = match parse_meta(&f.meta_data, "meta_data") {
        Ok(meta) => state.domain.create_company(&session.caller, &f.name, meta).await,
        Err(e) => Err(e),
    };
    let to = |c: Company| format!("{}/companies/{}?done=company_created", session.base, c.company_id);
    answer(&session.base, created, to, |err| companies_page(&state, &session, &[], Some(err), &f)).await
}

/// `GET {base}/companies/{id}` (`GET /api/companies/{id}`): its decision thresholds, meta_data,
/// users and collections, its recent orders and last 7 days' statistics with links to the
/// whole orders list and statistics page, and the edit, thresholds and delete forms for who may
/// use them.
pub async fn company(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = parse_query(raw);
    company_page(&state, &session, &id, &q, None).await
}

/// Which form of the company page an error (and the values typed into it) belongs to.
enum CompanyFormError<'a> {
    Edit(&'a EditCompanyForm),
    /// The key/value meta_data editor (its message shown by the editor).
    MetaKey(&'a Refusal),
    Thresholds(&'a ThresholdsForm),
    Delete,
}

async fn company_page(
    state: &AppState,
    session: &Session,
    id: &str,
    q: &[(String, String)],
    error: Option<(CompanyFormError<'_>, (StatusCode, String))>,
) -> Response {
    let base = &session.base;
    let c: Company = match parse_uuid(id, "Company") {
        Ok(cid) => match state.domain.get_company(&session.caller, cid).await {
            Ok(c) => c,
            Err(e) => return error_page(base, e),
        },
        Err(e) => return error_page(base, e),
    };
    let error_of = |which: fn(&CompanyFormError<'_>) -> bool| {
        error.as_ref().filter(|(f, _)| which(f)).map(|(_, (_, m))| m.as_str())
    };
    let mut b = Html::new();
    b.s("<h1>").t(text::COMPANY).s(" ").t(&c.name).s("</h1>");
    notice(&mut b, q);
    if let Some(m) = error_of(|f| matches!(f, CompanyFormError::Delete)) {
        alert(&mut b, m);
    }
    b.s("<dl>");
    dl_row(&mut b, "company_id", c.company_id);
    dl_time(&mut b, text::CREATED, c.time_created);
    b.s("</dl><p>");
    // The orders list filtered by company (for a company's own users the list is theirs anyway).
    b.s("<a href=\"").t(base).s("?company_id=").t(c.company_id).s("\">").t(text::COMPANY_ORDERS).s("</a>");
    if session.caller.user_type.is_global() {
        b.s(" · <a hx-boost=\"false\" href=\"").t(base).s("/statistics?company_id=").t(c.company_id).s("\">");
        b.t(text::COMPANY_STATISTICS).s("</a>");
    }
    b.s("</p>");
    // GAP-14: the thresholds its new analyses get, and where each comes from.
    if let Ok(t) = state.domain.company_thresholds(&session.caller, c.company_id).await {
        let typed = match &error {
            Some((CompanyFormError::Thresholds(f), _)) => Some(*f),
            _ => None,
        };
        thresholds_section(&mut b, session, &c, &t, typed, error_of(|f| matches!(f, CompanyFormError::Thresholds(_))));
    }
    b.s("<h2>").t(text::META_DATA).s("</h2>");
    json_block(&mut b, &c.meta_data.to_value());
    let key_refusal = match &error {
        Some((CompanyFormError::MetaKey(r), _)) => Some(*r),
        _ => None,
    };
    if Domain::may_edit_company(&session.caller, c.company_id) {
        let editor = KeyEditor {
            dom_id: format!("meta-keys-{}", c.company_id),
            path: format!("/companies/{}/meta/key", c.company_id),
            input_id: c.company_id,
            meta: &c.meta_data,
            summary: text::EDIT_COMPANY_META_KEYS,
        };
        key_editor(&mut b, session, &editor, key_refusal);
    } else if let Some(r) = key_refusal {
        // A role without the editor that posted anyway: the refusal where the editor would be.
        alert(&mut b, &r.message);
    }
    company_lists(&mut b, state, session, &c, q).await;
    super::pages::recent_orders(&mut b, state, session, c.company_id).await;
    super::statistics::company_summary(&mut b, state, session, c.company_id).await;
    let path = format!("/companies/{}", c.company_id);
    if Domain::may_edit_company(&session.caller, c.company_id) {
        b.s("<section id=\"edit\"><h2>").t(text::EDIT_COMPANY).s("</h2>");
        let typed = match &error {
            Some((CompanyFormError::Edit(f), _)) => Some(*f),
            _ => None,
        };
        if let Some(m) = error_of(|f| matches!(f, CompanyFormError::Edit(_))) {
            alert(&mut b, m);
        }
        post_form(&mut b, session, &format!("{path}/edit"), "edit", false);
        let meta = meta_text(c.meta_data.as_map());
        let (name, meta) = match typed {
            Some(f) => (f.name.as_str(), f.meta_data.as_deref().unwrap_or(&meta)),
            None => (c.name.as_str(), meta.as_str()),
        };
        field(&mut b, "c-name", "name", text::NAME, "text", name, true);
        textarea(&mut b, "c-meta", "meta_data", text::META_DATA_JSON, meta);
        submit(&mut b, text::SAVE, false);
        b.s("</form></section>");
    }
    if session.caller.user_type == UserType::Admin {
        typed_delete(
            &mut b,
            session,
            &format!("{path}/delete"),
            text::DELETE_COMPANY,
            text::DELETE_COMPANY_CONFIRM,
            &c.name,
        );
    }
    let status = error.map(|(_, (s, _))| s).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::COMPANY, b)).into_response()
}

/// The company's users and collections (`list_users` / `list_collections` with `company_id`,
/// as far as the caller sees them), each 100 a page with a pager of its own
/// (`users_offset`, `collections_offset`; each list's links keep the other's place).
async fn company_lists(b: &mut Html, state: &AppState, session: &Session, c: &Company, q: &[(String, String)]) {
    let base = &session.base;
    let at = |key: &str| get(q, key).and_then(|o| o.parse::<u64>().ok()).unwrap_or(0);
    let (users_at, collections_at) = (at("users_offset"), at("collections_offset"));
    let params = |offset: u64| {
        ListParams(vec![
            ("company_id".into(), c.company_id.to_string()),
            ("offset".into(), offset.to_string()),
            ("limit".into(), COMPANY_LIST_PAGE.to_string()),
        ])
    };
    let path = format!("{base}/companies/{}", c.company_id);
    // One list's pager: its links move it and keep the other list's place (`keep`).
    let pager = |b: &mut Html, param: &str, at: u64, keep: String, shown: usize, total: Option<u64>, label: &str| {
        let links = PagerLinks { path: &path, filters: &keep, param, step: COMPANY_LIST_PAGE, label };
        pager_of(b, &links, at, shown, total);
    };
    if let Ok(users) = state.domain.list_users(&session.caller, None, &params(users_at)).await {
        b.s("<section id=\"users\"><h2>").t(text::USERS_TITLE).s("</h2><ul>");
        for u in &users.items {
            b.s("<li>");
            user_link(b, base, u);
            b.s(" (").t(u.user_type.as_str()).s(")</li>");
        }
        b.s("</ul>");
        let keep = format!("collections_offset={collections_at}&");
        pager(b, "users_offset", users_at, keep, users.items.len(), users.total, text::USERS_TITLE);
        b.s("</section>");
    }
    if let Ok(collections) = state.domain.list_collections(&session.caller, &params(collections_at)).await {
        b.s("<section id=\"collections\"><h2>").t(text::COLLECTIONS_TITLE).s("</h2>");
        if collections.items.is_empty() && collections_at == 0 {
            b.el("<p>", text::NO_COLLECTIONS, "</p>");
        } else {
            b.s("<ul>");
            for col in &collections.items {
                b.s("<li><a href=\"").t(base).s("/collections/").t(col.collection_id).s("\">").t(&col.alias);
                b.s("</a></li>");
            }
            b.s("</ul>");
            let (shown, total) = (collections.items.len(), collections.total);
            let keep = format!("users_offset={users_at}&");
            pager(b, "collections_offset", collections_at, keep, shown, total, text::COLLECTIONS_TITLE);
        }
        b.s("</section>");
    }
}

/// The thresholds table (GAP-14), with the form that changes them for ADMIN (the domain
/// refuses everyone else too); `typed` are the values of a refused submission.
fn thresholds_section(
    b: &mut Html,
    session: &Session,
    c: &Company,
    t: &CompanyThresholds,
    typed: Option<&ThresholdsForm>,
    error: Option<&str>,
) {
    b.s("<section id=\"thresholds\"><h2>").t(text::THRESHOLDS).s("</h2>");
    b.el("<p class=\"note\">", text::THRESHOLDS_NOTE, "</p>");
    b.s("<div class=\"scroll\"><table><thead><tr>");
    for col in [text::FILTER_TYPE, text::THRESHOLD_APPLIES, text::THRESHOLD_FROM, text::THRESHOLD_SERVER] {
        b.el("<th scope=\"col\">", col, "</th>");
    }
    b.s("</tr></thead><tbody>");
    let rows = [
        ("QUALITY", "quality", t.effective.quality, t.installation.quality),
        ("BIOMETRY", "biometry", t.effective.biometry, t.installation.biometry),
        ("COLLECTION", "collection", t.effective.collection, t.installation.collection),
    ];
    for (kind, key, effective, installation) in rows {
        let from = match t.source(key) {
            ThresholdSource::Company => text::FROM_COMPANY,
            ThresholdSource::Installation => text::FROM_INSTALLATION,
        };
        b.el("<tr><th scope=\"row\">", kind, "</th>").el("<td>", effective, "</td>").el("<td>", from, "</td>");
        b.el("<td>", installation, "</td></tr>");
    }
    // The operator bands (GAP-14): the company's own or none (the server has none).
    let bands = [
        ("BIOMETRY", "biometry_min", t.effective.biometry_min, t.effective.biometry),
        ("COLLECTION", "collection_min", t.effective.collection_min, t.effective.collection),
    ];
    for (kind, _, min, threshold) in bands {
        b.el("<tr><th scope=\"row\">", format!("{kind} {}", text::OPERATOR_BAND), "</th>");
        match min {
            Some(lo) => b.el("<td>", format!("{lo} – {threshold}"), "</td>").el("<td>", text::FROM_COMPANY, "</td>"),
            None => b.el("<td>", text::NO_BAND, "</td>").el("<td>", "–", "</td>"),
        };
        b.el("<td>", text::NO_BAND, "</td></tr>");
    }
    b.s("</tbody></table></div>");
    b.el("<p class=\"note\">", text::OPERATOR_BAND_NOTE, "</p>");
    // Also a refusal shown to a role without the form (a forced POST).
    if let Some(m) = error {
        alert(b, m);
    }
    if session.caller.user_type == UserType::Admin {
        b.el("<h3>", text::EDIT_THRESHOLDS, "</h3>");
        post_form(b, session, &format!("/companies/{}/thresholds", c.company_id), "edit", false);
        b.el("<p class=\"note\">", text::THRESHOLDS_FORM_NOTE, "</p>");
        for (kind, key, _, installation) in rows {
            let value = match typed {
                Some(f) => f.value(key).to_owned(),
                None => t.overrides.get(key).map(|v| v.to_string()).unwrap_or_default(),
            };
            let id = format!("t-{key}");
            b.s("<label for=\"").t(&id).s("\">").t(kind).s("</label><input id=\"").t(&id).s("\" name=\"").t(key);
            b.s("\" type=\"number\" step=\"any\" min=\"0\" max=\"1\" inputmode=\"decimal\" value=\"").t(&value);
            b.s("\" placeholder=\"").t(installation).s("\">");
        }
        for (kind, key, min, _) in bands {
            let value = match typed {
                Some(f) => f.value(key).to_owned(),
                None => min.map(|v| v.to_string()).unwrap_or_default(),
            };
            let id = format!("t-{key}");
            b.s("<label for=\"").t(&id).s("\">").t(format!("{kind} {}", text::OPERATOR_BAND_FROM));
            b.s("</label><input id=\"").t(&id).s("\" name=\"").t(key);
            b.s("\" type=\"number\" step=\"any\" min=\"0\" max=\"1\" inputmode=\"decimal\" value=\"").t(&value);
            b.s("\" placeholder=\"").t(text::NO_BAND).s("\">");
        }
        submit(b, text::SAVE_THRESHOLDS, false);
        b.s("</form>");
    }
    b.s("</section>");
}

#[derive(Deserialize)]
pub struct EditCompanyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// Absent (an older form) keeps the meta_data; present replaces it (empty is `{}`).
    meta_data: Option<String>,
}

/// A key of a user's or a company's meta_data set or removed (`MetaKeyForm::change`: a merge
/// of that key, what `PATCH /api/users|companies/{id}/meta_data/` runs, or its removal, what
/// `DELETE …/meta_data/?key=` runs) through `change_meta` as the caller, which checks the
/// API's roles; audited like any meta_data edit. Back to the editor; a refusal shows the page
/// again with the message above the editor and what was typed in its add form.
async fn change_account_key(
    state: &AppState,
    session: &Session,
    kind: ObjectKind,
    id: &str,
    f: MetaKeyForm,
    delete: bool,
) -> Response {
    if let Err(r) = session.check_csrf(f.csrf()) {
        return r;
    }
    let (what, page_path) = match kind {
        ObjectKind::User => ("User", "users"),
        _ => ("Company", "companies"),
    };
    let oid = match parse_uuid(id, what) {
        Ok(oid) => oid,
        Err(e) => return error_page(&session.base, e),
    };
    let (change, done) = f.change(delete);
    let changed = match change {
        Ok(c) => state.domain.change_meta(&session.caller, MetaTarget { kind, id: oid, parent: None }, c).await,
        Err(e) => Err(e),
    };
    let to = |_| format!("{}/{page_path}/{oid}?done={done}#meta-keys-{oid}", session.base);
    answer(&session.base, changed, to, |(status, message)| async move {
        let fields = if delete { Vec::new() } else { f.fields() };
        let refusal = Refusal { status, message, form: "metakey", fields };
        match kind {
            ObjectKind::User => user_page(state, session, id, &[], None, None, Some(&refusal)).await,
            _ => {
                let err = (CompanyFormError::MetaKey(&refusal), (status, String::new()));
                company_page(state, session, id, &[], Some(err)).await
            }
        }
    })
    .await
}

/// `POST {base}/users/{id}/meta/key`: one key of the user's meta_data set.
pub async fn set_user_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_account_key(&state, &session, ObjectKind::User, &id, f, false).await
}

/// `POST {base}/users/{id}/meta/key/delete`: one key of the user's meta_data removed.
pub async fn delete_user_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_account_key(&state, &session, ObjectKind::User, &id, f, true).await
}

/// `POST {base}/companies/{id}/meta/key`: one key of the company's meta_data set.
pub async fn set_company_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_account_key(&state, &session, ObjectKind::Company, &id, f, false).await
}

/// `POST {base}/companies/{id}/meta/key/delete`: one key of the company's meta_data removed.
pub async fn delete_company_meta_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<MetaKeyForm>,
) -> Response {
    change_account_key(&state, &session, ObjectKind::Company, &id, f, true).await
}

/// `POST {base}/companies/{id}/edit`: `update_company` (`PATCH /api/companies/{id}` `{name}`),
/// then the meta_data replaced as typed (`change_meta`, what `POST
/// /api/companies/{id}/meta_data` runs), both as the caller; nothing changes when the
/// meta_data is not a JSON object.
pub async fn edit_company(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<EditCompanyForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let outcome = async {
        let cid = parse_uuid(&id, "Company")?;
        let meta = f.meta_data.as_deref().map(|m| parse_meta(m, "meta_data")).transpose()?;
        let patch = CompanyPatch { name: Some(f.name.clone()), meta_data: None };
        let company = state.domain.update_company(&session.caller, cid, patch).await?;
        if let Some(meta) = meta.filter(|m| m.as_map() != company.meta_data.as_map()) {
            let target = MetaTarget { kind: ObjectKind::Company, id: cid, parent: None };
            state.domain.change_meta(&session.caller, target, MetaChange::Replace(meta)).await?;
        }
        Ok::<Company, Error>(company)
    }
    .await;
    let to = |c: Company| format!("{}/companies/{}?done=saved", session.base, c.company_id);
    answer(&session.base, outcome, to, |err| {
        company_page(&state, &session, &id, &[], Some((CompanyFormError::Edit(&f), err)))
    })
    .await
}

#[derive(Deserialize)]
pub struct ThresholdsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    quality: String,
    #[serde(default)]
    biometry: String,
    #[serde(default)]
    collection: String,
    /// The bands' edges: absent (a form from before them) keeps them, empty clears.
    biometry_min: Option<String>,
    collection_min: Option<String>,
}

impl ThresholdsForm {
    fn value(&self, key: &str) -> &str {
        match key {
            "quality" => &self.quality,
            "biometry" => &self.biometry,
            "biometry_min" => self.biometry_min.as_deref().unwrap_or(""),
            "collection_min" => self.collection_min.as_deref().unwrap_or(""),
            _ => &self.collection,
        }
    }

    /// Every field as typed: a number sets the company's own, empty clears it (a band's edge
    /// left out of the form is kept).
    fn patch(&self) -> Result<ThresholdPatch, Error> {
        let mut patch = ThresholdPatch::default();
        let sent = |key: &str| match key {
            "biometry_min" => self.biometry_min.is_some(),
            "collection_min" => self.collection_min.is_some(),
            _ => true,
        };
        for key in THRESHOLD_KEYS.into_iter().chain(BAND_KEYS).filter(|k| sent(k)) {
            let raw = self.value(key).trim();
            let change = if raw.is_empty() {
                ThresholdChange::Clear
            } else {
                ThresholdChange::Set(raw.parse::<f64>().map_err(|_| {
                    Error::invalid_value(
                        format!("{key} {raw:?} {}", text::THRESHOLD_NOT_A_NUMBER),
                        serde_json::json!({ "key_path": key }),
                    )
                })?)
            };
            patch.set(key, change);
        }
        Ok(patch)
    }
}

/// `POST {base}/companies/{id}/thresholds`: `set_company_thresholds` (`PATCH
/// /api/companies/{id}/thresholds`, ADMIN) with the three values of the form.
pub async fn company_thresholds(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<ThresholdsForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let outcome = match (parse_uuid(&id, "Company"), f.patch()) {
        (Ok(cid), Ok(patch)) => state.domain.set_company_thresholds(&session.caller, cid, patch).await.map(|_| cid),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let to = |cid: Uuid| format!("{}/companies/{cid}?done=thresholds_saved#thresholds", session.base);
    answer(&session.base, outcome, to, |err| {
        company_page(&state, &session, &id, &[], Some((CompanyFormError::Thresholds(&f), err)))
    })
    .await
}

/// `POST {base}/companies/{id}/delete`: `delete_company` (`DELETE /api/companies/{id}`, ADMIN)
/// after typing its name; refused while it has users.
pub async fn delete_company(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let c = match parse_uuid(&id, "Company") {
        Ok(cid) => match state.domain.get_company(&session.caller, cid).await {
            Ok(c) => c,
            Err(e) => return error_page(&session.base, e),
        },
        Err(e) => return error_page(&session.base, e),
    };
    if let Err(r) = f.check(&session, &[c.name.as_str(), id.as_str()]) {
        return r;
    }
    let deleted = state.domain.delete_company(&session.caller, c.company_id).await;
    let to = |()| format!("{}/companies?done=company_deleted", session.base);
    answer(&session.base, deleted, to, |err| {
        company_page(&state, &session, &id, &[], Some((CompanyFormError::Delete, err)))
    })
    .await
}

/// `GET {base}/profile`: the signed-in user's names and password.
pub async fn profile(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let q = parse_query(raw);
    profile_page(&state, &session, &q, None)
}

fn profile_page(
    state: &AppState,
    session: &Session,
    q: &[(String, String)],
    error: Option<(&'static str, StatusCode, String)>,
) -> Response {
    let u = &session.user;
    let error_for = |b: &mut Html, form: &str| {
        if let Some((_, _, m)) = error.as_ref().filter(|(f, _, _)| *f == form) {
            alert(b, m);
        }
    };
    let mut b = Html::new();
    b.el("<h1>", text::PROFILE_TITLE, "</h1>");
    notice(&mut b, q);
    b.s("<dl>");
    dl_row(&mut b, text::EMAIL, &u.email);
    dl_row(&mut b, text::ROLE, u.user_type.as_str());
    b.s("</dl><section id=\"names\"><h2>").t(text::YOUR_NAME).s("</h2>");
    error_for(&mut b, "names");
    post_form(&mut b, session, "/profile", "edit", false);
    field(&mut b, "p-first", "first_name", text::FIRST_NAME, "text", &u.first_name, false);
    field(&mut b, "p-middle", "middle_name", text::MIDDLE_NAME, "text", u.middle_name.as_deref().unwrap_or(""), false);
    field(&mut b, "p-last", "last_name", text::LAST_NAME, "text", &u.last_name, false);
    submit(&mut b, text::SAVE, false);
    b.s("</form></section><section id=\"password\"><h2>").t(text::CHANGE_PASSWORD).s("</h2>");
    error_for(&mut b, "password");
    post_form(&mut b, session, "/profile/password", "edit", false);
    b.s("<label for=\"p-current\">").t(text::CURRENT_PASSWORD).s("</label>");
    b.s("<input id=\"p-current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required>");
    field(&mut b, "p-new", "new", text::NEW_PASSWORD, "password", "", true);
    field(&mut b, "p-repeat", "repeat", text::REPEAT_PASSWORD, "password", "", true);
    submit(&mut b, text::CHANGE_PASSWORD, false);
    b.s("</form></section>");
    let status = error.map(|(_, s, _)| s).unwrap_or(StatusCode::OK);
    (status, page(state, session, text::PROFILE_TITLE, b)).into_response()
}

#[derive(Deserialize)]
pub struct NamesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    middle_name: String,
    #[serde(default)]
    last_name: String,
}

/// `POST {base}/profile`: the user's own names (`PATCH /api/users/{own id}`).
pub async fn edit_profile(State(state): State<AppState>, session: Session, Form(f): Form<NamesForm>) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let patch = || -> Result<UserPatch, Error> {
        let middle = check_name("middle_name", &f.middle_name)?;
        Ok(UserPatch {
            first_name: Some(check_name("first_name", &f.first_name)?),
            last_name: Some(check_name("last_name", &f.last_name)?),
            middle_name: Some(Some(middle).filter(|m| !m.is_empty())),
            ..UserPatch::default()
        })
    };
    let outcome = match patch() {
        Ok(p) => state.domain.update_user(&session.caller, session.caller.user_id, p).await,
        Err(e) => Err(e),
    };
    let to = |_| format!("{}/profile?done=saved", session.base);
    let (state, session) = (&state, &session);
    answer(&session.base, outcome, to, |(status, m)| async move {
        profile_page(state, session, &[], Some(("names", status, m)))
    })
    .await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

/// `POST {base}/profile/password`: `change_own_password`, which checks the current password
/// (GAP-12; a wrong one counts against the login throttle).
pub async fn change_password(State(state): State<AppState>, session: Session, Form(f): Form<PasswordForm>) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    if f.new != f.repeat {
        return profile_page(
            &state,
            &session,
            &[],
            Some(("password", StatusCode::BAD_REQUEST, text::PASSWORDS_DIFFER.into())),
        );
    }
    let outcome = match Password::parse(&f.new) {
        Ok(p) => state.domain.change_own_password(&session.caller, &f.current, p).await,
        Err(e) => Err(e),
    };
    let to = |()| format!("{}/profile?done=password_changed", session.base);
    let (state, session) = (&state, &session);
    answer(&session.base, outcome, to, |(status, m)| async move {
        profile_page(state, session, &[], Some(("password", status, m)))
    })
    .await
}
