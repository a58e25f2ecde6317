//! Form pieces shared by the console's write screens: labelled inputs, the CSRF field, the
//! typed confirmation of a delete, a meta_data JSON field, the notice after a redirect, and
//! errors shown above the form they came from.

use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::html::Html;
use super::{error_page, text, Session};
use crate::domain::model::metadata::MetaData;
use crate::domain::Error;

/// `303 See Other` to a console path (after a successful POST).
pub fn see_other(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// After an upload form (create order, add files): `303 See Other` to `location`, as after any
/// POST; for console.js's upload (an `XMLHttpRequest` sending `HX-Request`, as htmx does) `200`
/// with `HX-Redirect: location` instead, which the script follows itself (an XHR would follow a
/// 303 silently, losing the address's fragment and fetching the page only to have it loaded again).
pub fn upload_redirect(headers: &HeaderMap, location: String) -> Response {
    if headers.contains_key("hx-request") {
        return (StatusCode::OK, [(HeaderName::from_static("hx-redirect"), location)]).into_response();
    }
    see_other(location)
}

/// The upload progress of a multipart form (console.js, §4.5): hidden, shown by the script
/// while it sends the form with `XMLHttpRequest`; a Cancel button aborts the upload. Without
/// the script the form is a plain multipart POST and this stays hidden.
pub fn upload_progress(h: &mut Html) {
    h.s("<div class=\"upload-progress\" hidden data-upload-progress data-sending=\"").t(text::UPLOAD_SENDING);
    h.s("\" data-storing=\"").t(text::UPLOAD_STORING).s("\" data-cancelled=\"").t(text::UPLOAD_CANCELLED);
    h.s("\" data-failed=\"").t(text::UPLOAD_FAILED).s("\"><progress max=\"100\" value=\"0\" aria-label=\"");
    h.t(text::UPLOAD_PROGRESS).s("\"></progress> <output data-upload-status aria-live=\"polite\"></output> ");
    h.s("<button type=\"button\" class=\"secondary\" data-upload-cancel>").t(text::UPLOAD_CANCEL).s("</button></div>");
}

/// The session's CSRF token as a hidden field.
pub fn csrf_field(h: &mut Html, session: &Session) {
    h.s("<input type=\"hidden\" name=\"csrf\" value=\"").t(&session.csrf).s("\">");
}

/// `<form method="post" action="{base}{path}">` with the CSRF field.
pub fn post_form(h: &mut Html, session: &Session, path: &str, class: &'static str, multipart: bool) {
    h.s("<form method=\"post\" class=\"").s(class).s("\" action=\"").t(&session.base).t(path).s("\"");
    if multipart {
        // Uploads go as a normal form post (htmx boosting would read the whole file into memory).
        h.s(" enctype=\"multipart/form-data\" hx-boost=\"false\"");
    }
    h.s(">");
    csrf_field(h, session);
}

/// A labelled input; `id` is unique on the page.
pub fn field(
    h: &mut Html,
    id: &str,
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    value: &str,
    required: bool,
) {
    h.s("<label for=\"").t(id).s("\">").t(label).s("</label><input id=\"").t(id).s("\" name=\"").s(name);
    h.s("\" type=\"").s(kind).s("\" value=\"").t(value).s("\"");
    if required {
        h.s(" required");
    }
    if kind == "password" {
        h.s(" autocomplete=\"new-password\"");
    }
    h.s(">");
}

/// A labelled textarea.
pub fn textarea(h: &mut Html, id: &str, name: &'static str, label: &'static str, value: &str) {
    h.s("<label for=\"").t(id).s("\">").t(label).s("</label><textarea id=\"").t(id).s("\" name=\"").s(name);
    h.s("\" rows=\"4\" spellcheck=\"false\">").t(value).s("</textarea>");
}

/// A labelled checkbox sending `value="on"` when ticked.
pub fn checkbox(h: &mut Html, id: &str, name: &'static str, label: &'static str, on: bool) {
    h.s("<label class=\"check\" for=\"").t(id).s("\"><input type=\"checkbox\" id=\"").t(id).s("\" name=\"").s(name);
    h.s("\" value=\"on\"");
    if on {
        h.s(" checked");
    }
    h.s("> ").t(label).s("</label>");
}

pub fn submit(h: &mut Html, label: &'static str, danger: bool) {
    h.s("<div class=\"actions\"><button type=\"submit\"");
    if danger {
        h.s(" class=\"danger\"");
    }
    h.s(">").t(label).s("</button></div>");
}

/// An error above a form (escaped, announced).
pub fn alert(h: &mut Html, message: &str) {
    h.el("<p class=\"error\" role=\"alert\">", message, "</p>");
}

/// The notice a redirect asked for (`?done=…`): only the catalog's fixed words are shown, so a
/// crafted link cannot put text on the page.
pub fn notice(h: &mut Html, q: &[(String, String)]) {
    let Some(done) = q.iter().rev().find(|(k, _)| k == "done").map(|(_, v)| v.as_str()) else { return };
    if let Some((_, words)) = text::NOTICES.iter().find(|(code, _)| *code == done) {
        h.el("<p class=\"note\" role=\"status\">", words, "</p>");
    }
}

/// The delete section of an object's page: typing `expected` (shown) confirms.
pub fn typed_delete(
    h: &mut Html,
    session: &Session,
    path: &str,
    heading: &'static str,
    explain: &'static str,
    expected: &str,
) {
    h.s("<section class=\"danger-zone\"><h2>").t(heading).s("</h2>");
    post_form(h, session, path, "delete", false);
    let id = format!("confirm-{}", path.rsplit('/').nth(1).unwrap_or("x"));
    h.s("<label for=\"").t(&id).s("\">").t(explain).s(" <code>").t(expected).s("</code></label>");
    h.s("<input id=\"").t(&id).s("\" name=\"confirm\" type=\"text\" autocomplete=\"off\" required> ");
    h.s("<button type=\"submit\" class=\"danger\">").t(text::DELETE_BUTTON).s("</button></form></section>");
}

/// The form of every typed delete.
#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: String,
}

impl DeleteForm {
    /// The CSRF token, then the typed confirmation: one of `accepted` (trimmed, exact).
    pub fn check(&self, session: &Session, accepted: &[&str]) -> Result<(), Response> {
        session.check_csrf(&self.csrf)?;
        let typed = self.confirm.trim();
        if typed.is_empty() || !accepted.contains(&typed) {
            return Err(super::message_page(
                &session.base,
                StatusCode::BAD_REQUEST,
                text::ERROR_TITLE,
                text::DELETE_CONFIRM_MISMATCH,
            ));
        }
        Ok(())
    }
}

/// A meta_data field as typed: empty is `{}`, otherwise a JSON object (the API's rules).
pub fn parse_meta(raw: &str, key_path: &str) -> Result<MetaData, Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(MetaData::default());
    }
    let value: Value = serde_json::from_str(raw).map_err(|e| {
        Error::invalid_value(format!("{key_path} is not valid JSON: {e}"), serde_json::json!({ "key_path": key_path }))
    })?;
    MetaData::parse(value, key_path)
}

/// meta_data for a textarea: pretty JSON, or nothing when empty.
pub fn meta_text(meta: &serde_json::Map<String, Value>) -> String {
    if meta.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(meta).unwrap_or_default()
    }
}

/// Whether a domain error is the caller's input (shown above the form) rather than a page of
/// its own (not found, forbidden, our fault).
pub fn is_input_error(e: &Error) -> bool {
    matches!(e, Error::InvalidValue { .. } | Error::InvalidType { .. } | Error::InvalidStructure { .. })
}

/// The status the API answers for this error.
pub fn status_of(e: &Error) -> StatusCode {
    crate::api::oz::error::code_and_status(e).1
}

/// An input error becomes `Ok((status, message))` to show above the form again; any other
/// error is its own page.
pub fn form_error(base: &str, e: Error) -> Result<(StatusCode, String), Response> {
    if is_input_error(&e) || matches!(e, Error::Forbidden(_) | Error::Throttled { .. }) {
        Ok((status_of(&e), e.to_string()))
    } else {
        Err(error_page(base, e))
    }
}

/// A checkbox's value.
pub fn ticked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| v == "on" || v == "true")
}

/// The answer to a write: a redirect to `to(value)` on success; the form's page again (`again`)
/// with an input error or a refusal above it; any other error as its own page.
pub async fn answer<T, Fut>(
    base: &str,
    result: Result<T, Error>,
    to: impl FnOnce(T) -> String,
    again: impl FnOnce((StatusCode, String)) -> Fut,
) -> Response
where
    Fut: std::future::Future<Output = Response>,
{
    match result {
        Ok(v) => see_other(to(v)),
        Err(e) => match form_error(base, e) {
            Ok(err) => again(err).await,
            Err(r) => r,
        },
    }
}

/// The head of a list page: its title, the notice of a redirect, and an error when the form it
/// belongs to is not on the page (the form shows its own error above it).
pub fn list_head(
    h: &mut Html,
    title: &'static str,
    q: &[(String, String)],
    error: Option<&(StatusCode, String)>,
    shows_form: bool,
) {
    h.el("<h1>", title, "</h1>");
    notice(h, q);
    if let (false, Some((_, m))) = (shows_form, error) {
        alert(h, m);
    }
}

/// One page of a list: `offset`, and the console's page size.
pub fn page_params(offset: u64) -> crate::domain::store::ListParams {
    crate::domain::store::ListParams(vec![
        ("offset".into(), offset.to_string()),
        ("limit".into(), super::pages::PAGE_SIZE.to_string()),
    ])
}
