//! The operator web console (issue #20, docs/console.md): server-rendered HTML at
//! `EMERALD_CONSOLE_BASE_PATH` (default `/console`), served by the same binary as `/api`.
//!
//! Every page runs the same domain functions as the REST route it mirrors, with the logged-in
//! user as the [`Caller`], so a role sees and does exactly what the API lets it. The session is
//! the user's access token in an HttpOnly, SameSite=Strict cookie scoped to the console path;
//! `/api` reads only the token headers, never this cookie. Every POST carries a CSRF token
//! derived from the session. Responses carry a strict CSP: no inline script, no inline style.

// The console's checks answer with the refusal page itself (`Result<_, Response>`, as axum's
// rejections do); boxing every such page would add noise for no measurable gain.
#![allow(clippy::result_large_err)]

mod accounts;
mod charts;
mod collections;
mod forms;
pub mod html;
mod manage;
mod ops;
mod orders;
mod pages;
mod statistics;
pub mod text;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::oz::client::ClientAddr;
use crate::api::AppState;
use crate::domain::identity::abuse::RequestClass;
use crate::domain::model::account::User;
use crate::domain::model::caller::Caller;
use crate::domain::model::role::UserType;
use crate::domain::Error;
use html::Html;

/// The session cookie's name.
pub const COOKIE: &str = "emerald_console";
/// The console's Content-Security-Policy: scripts and styles only from our own files.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTMX_JS: &str = include_str!("../../assets/htmx.min.js");
const CONSOLE_CSS: &str = include_str!("../../assets/console.css");
/// The statistics page's own script (chart choices per browser, PNG export); no other page loads it.
const STATISTICS_JS: &str = include_str!("../../assets/statistics.js");
const CONSOLE_JS: &str = include_str!("../../assets/console.js");
/// The console script's path under `{base}`: named by the first 16 hex digits of its sha256,
/// so it is cached for a year and a new binary's script is a new URL.
pub fn console_js_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| format!("/assets/console-{}.js", &hex::encode(Sha256::digest(CONSOLE_JS.as_bytes()))[..16]))
}
/// sha256 of the vendored htmx (npm htmx.org@2.0.11, dist/htmx.min.js; see NOTICE).
pub const HTMX_SHA256: &str = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717";

/// `--console`, `--console-base-path`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sub-path, starting with `/`, no trailing slash (e.g. `/console`).
    pub base: String,
    /// Mark the cookie `Secure` (the public URL is https); also set when a request arrives with
    /// `X-Forwarded-Proto: https`.
    pub secure_cookie: bool,
}

impl Settings {
    /// Check a configured base path: `/` followed by path characters, not under `/api` or
    /// `/static`, no trailing slash.
    pub fn new(base: &str, public_url: Option<&str>) -> anyhow::Result<Settings> {
        let base = base.trim().trim_end_matches('/');
        let ok_chars = base.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
        let reserved = ["/api", "/static", "/metrics", "/openapi.json"]
            .iter()
            .any(|r| base == *r || base.starts_with(&format!("{r}/")));
        if !base.starts_with('/') || base.len() < 2 || !ok_chars || base.contains("//") || reserved {
            anyhow::bail!(
                "EMERALD_CONSOLE_BASE_PATH must be a path such as /console (letters, digits, - _ . /), \
                 not /, /api or /static: {base:?}"
            );
        }
        let secure_cookie = public_url.is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
        Ok(Settings { base: base.to_owned(), secure_cookie })
    }
}

/// The console's routes under `base`; every response gets the security headers, and pages,
/// CSS and JS go gzip-compressed to browsers that accept it (images, and pages written while
/// they are made, are sent as they are).
pub fn routes(base: &str) -> Router<AppState> {
    let p = |tail: &str| format!("{base}{tail}");
    Router::new()
        .route(base, get(pages::orders))
        .route(&p("/login"), get(login_page).post(login))
        .route(&p("/logout"), post(logout))
        .route(&p("/review"), get(pages::review))
        .route(&p("/orders/new"), get(manage::new_order).post(manage::create_order).layer(uploads()))
        .route(&p("/orders/{folder_id}"), get(pages::order))
        .route(&p("/orders/{folder_id}/delete"), post(manage::delete_order))
        .route(&p("/orders/{folder_id}/media"), post(orders::add_media).layer(uploads()))
        .route(&p("/orders/{folder_id}/analyses"), post(orders::rerun))
        .route(&p("/orders/{folder_id}/meta"), post(orders::edit_meta))
        .route(&p("/orders/{folder_id}/comment"), post(orders::edit_comment))
        .route(&p("/orders/{folder_id}/meta/key"), post(orders::set_meta_key))
        .route(&p("/orders/{folder_id}/meta/key/delete"), post(orders::delete_meta_key))
        .route(&p("/orders/{folder_id}/media/{media_id}/delete"), post(orders::delete_media))
        .route(&p("/orders/{folder_id}/media/{media_id}/meta/key"), post(orders::set_media_meta_key))
        .route(&p("/orders/{folder_id}/media/{media_id}/meta/key/delete"), post(orders::delete_media_meta_key))
        .route(&p("/orders/{folder_id}/analyses/{analyse_id}/delete"), post(orders::delete_analysis))
        .route(&p("/statistics"), get(statistics::statistics))
        .route(&p("/statistics.csv"), get(statistics::statistics_csv))
        .route(&p("/system"), get(ops::system))
        .route(&p("/audit"), get(ops::audit))
        .route(&p("/audit.csv"), get(ops::audit_csv))
        .route(&p("/orders/{folder_id}/redeliver"), post(ops::redeliver))
        .route(&p("/analyses/{analyse_id}/decision"), post(pages::decide))
        .route(&p("/media/{folder_id}/{file}"), get(pages::media_file))
        .route(&p("/collections"), get(collections::collections).post(collections::create_collection))
        .route(&p("/collections/{collection_id}"), get(collections::collection))
        .route(&p("/collections/{collection_id}/edit"), post(collections::edit_collection))
        .route(&p("/collections/{collection_id}/rename"), post(collections::rename_collection))
        .route(&p("/collections/{collection_id}/delete"), post(collections::delete_collection))
        .route(&p("/collections/{collection_id}/persons"), post(collections::add_person).layer(uploads()))
        .route(&p("/collections/{collection_id}/import"), post(collections::import).layer(uploads()))
        .route(&p("/collections/{collection_id}/persons/{person_id}"), get(collections::person))
        .route(&p("/collections/{collection_id}/persons/{person_id}/edit"), post(collections::edit_person))
        .route(
            &p("/collections/{collection_id}/persons/{person_id}/photos"),
            post(collections::add_photos).layer(uploads()),
        )
        .route(
            &p("/collections/{collection_id}/persons/{person_id}/photos/{media_id}/delete"),
            post(collections::delete_photo),
        )
        .route(&p("/collections/{collection_id}/persons/{person_id}/delete"), post(collections::delete_person))
        .route(
            &p("/collections/{collection_id}/persons/{person_id}/delete-with-analyses"),
            post(collections::delete_person_with_analyses),
        )
        .route(&p("/collections/{collection_id}/images/{file}"), get(pages::person_image))
        .route(&p("/users"), get(accounts::users).post(accounts::create_user))
        .route(&p("/users/{user_id}"), get(accounts::user))
        .route(&p("/users/{user_id}/edit"), post(accounts::edit_user))
        .route(&p("/users/{user_id}/meta/key"), post(accounts::set_user_meta_key))
        .route(&p("/users/{user_id}/meta/key/delete"), post(accounts::delete_user_meta_key))
        .route(&p("/users/{user_id}/block"), post(accounts::block_user))
        .route(&p("/users/{user_id}/delete"), post(accounts::delete_user))
        .route(&p("/companies"), get(accounts::companies).post(accounts::create_company))
        .route(&p("/companies/{company_id}"), get(accounts::company))
        .route(&p("/companies/{company_id}/edit"), post(accounts::edit_company))
        .route(&p("/companies/{company_id}/meta/key"), post(accounts::set_company_meta_key))
        .route(&p("/companies/{company_id}/meta/key/delete"), post(accounts::delete_company_meta_key))
        .route(&p("/companies/{company_id}/thresholds"), post(accounts::company_thresholds))
        .route(&p("/companies/{company_id}/delete"), post(accounts::delete_company))
        .route(&p("/profile"), get(accounts::profile).post(accounts::edit_profile))
        .route(&p("/profile/password"), post(accounts::change_password))
        .route(&p("/export.csv"), get(pages::export_csv))
        .route(&p("/assets/htmx-2.0.11.min.js"), get(htmx_js))
        .route(&p("/assets/console.css"), get(console_css))
        .route(&p(statistics::STATISTICS_JS_PATH), get(statistics_js))
        .route(&p(console_js_path()), get(console_js))
        .layer(from_fn(security_headers))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true).compress_when(
            tower_http::compression::Predicate::and(
                tower_http::compression::DefaultPredicate::new(),
                |_: StatusCode, _: axum::http::Version, _: &HeaderMap, ext: &axum::http::Extensions| {
                    ext.get::<Streamed>().is_none()
                },
            ),
        ))
}

/// Marks a page written while it is made ([`streamed_page`]): it goes uncompressed, so that
/// each part leaves when it is made (an encoder may hold parts back to fill its blocks).
#[derive(Clone, Copy)]
struct Streamed;

/// The upload forms' bodies are not capped as a whole (axum's default is 2 MiB): the upload
/// reader bounds each file (`OZ_ATTACHMENT_MAX_SIZE`) and their number
/// (`OZ_ATTACHMENT_MAX_COUNT`), as on the API's upload routes.
fn uploads() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::disable()
}

async fn security_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

async fn htmx_js() -> Response {
    asset("text/javascript; charset=utf-8", HTMX_JS)
}

/// Immutable: its URL changes with its content (`console_js_path`).
async fn console_js() -> Response {
    let cache = "public, max-age=31536000, immutable";
    ([(header::CONTENT_TYPE, "application/javascript; charset=utf-8"), (header::CACHE_CONTROL, cache)], CONSOLE_JS)
        .into_response()
}

async fn console_css() -> Response {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

async fn statistics_js() -> Response {
    asset("text/javascript; charset=utf-8", STATISTICS_JS)
}

pub(crate) fn settings(s: &AppState) -> &Settings {
    s.console.as_deref().expect("console routes exist only with console settings")
}

/// The CSRF token of a session: derived from its secret access token, so a page of another
/// site can neither read nor compute it.
fn csrf_of(access_token: &str) -> String {
    hex::encode(&Sha256::digest(format!("emerald-console-csrf\0{access_token}").as_bytes())[..16])
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty()).then(|| v.to_owned())
    })
}

/// The logged-in console user. Without a valid session the request is sent to the login page
/// (and back afterwards).
pub struct Session {
    pub caller: Caller,
    pub user: User,
    pub csrf: String,
    /// The console's base path.
    pub base: String,
    /// The sliding session's lifetime in seconds (`EMERALD_SESSION_TTL`), renewed by every
    /// request, for the header's countdown; None when sessions do not slide.
    pub ttl: Option<f64>,
    /// `scheme://host[:port]` of the API: `EMERALD_PUBLIC_URL`, else the request's (as in the
    /// API's media links).
    pub origin: String,
}

impl Session {
    /// Refuse a state change whose form does not carry this session's CSRF token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        if same(sent, &self.csrf) {
            Ok(())
        } else {
            Err(message_page(&self.base, StatusCode::FORBIDDEN, text::ERROR_TITLE, text::CSRF_REFUSED))
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let base = &settings(state).base;
        let to_login = |why: Option<&str>| login_redirect(base, parts, why);
        let Some(token) = cookie_token(&parts.headers) else { return Err(to_login(None)) };
        let caller = match state.domain.authenticate(&token, false).await {
            Ok(c) => c,
            // The login page says why the session is gone (the cookie was sent, so there was one).
            Err(Error::AuthExpired) => return Err(to_login(Some(WHY_EXPIRED))),
            Err(Error::AuthInvalid(_)) => return Err(to_login(Some(WHY_ENDED))),
            Err(Error::UserBlocked) => return Err(to_login(None)),
            Err(e) => return Err(error_page(base, e)),
        };
        if caller.user_type == UserType::ClientService {
            return Err(message_page(base, StatusCode::FORBIDDEN, text::ERROR_TITLE, text::LOGIN_SERVICE_REFUSED));
        }
        state.domain.charge_quota(&caller, RequestClass::Ordinary).await.map_err(|e| error_page(base, e))?;
        let user = state.domain.get_user(&caller, caller.user_id).await.map_err(|e| error_page(base, e))?;
        let auth = &state.domain.auth;
        let ttl = auth.extend_on_use.then_some(auth.session_ttl);
        // The API's origin as its own media links name it (`EMERALD_PUBLIC_URL`, else this
        // request's scheme and host), for "Copy as curl".
        let origin = crate::api::oz::base_url::BaseUrl::from_request_parts(parts, state).await.map(|b| b.0);
        let origin = origin.unwrap_or_else(|_| "http://localhost".into());
        Ok(Session { caller, user, csrf: csrf_of(&token), base: base.clone(), ttl, origin })
    }
}

/// `?why=` values of the login page: the session ran out (`EMERALD_SESSION_TTL` without a
/// request) or is no longer known (logged out elsewhere, the user's sessions revoked).
const WHY_EXPIRED: &str = "expired";
const WHY_ENDED: &str = "ended";

/// To the login page, and back afterwards: to the page asked for, or for a form sent with a
/// gone session (a POST cannot be replayed by a redirect) to the page the form was on (its
/// same-origin `Referer`), where the user sends it again. An htmx request (a boosted link or
/// form, the order page's re-polling) gets `HX-Redirect`, so that the whole page goes to the
/// login form instead of the form being swapped into the page it was on.
fn login_redirect(base: &str, parts: &Parts, why: Option<&str>) -> Response {
    let asked = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(base).to_owned();
    let next = if parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD {
        asked
    } else {
        referer_path(&parts.headers).unwrap_or_else(|| base.to_owned())
    };
    let mut location = format!("{base}/login?next={}", html::query_value(&safe_next(base, Some(&next))));
    if let Some(why) = why {
        location.push_str("&why=");
        location.push_str(why);
    }
    if parts.headers.contains_key("hx-request") {
        return (StatusCode::OK, [(HeaderName::from_static("hx-redirect"), location)]).into_response();
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The path and query of a same-origin `Referer` (our pages send it: `Referrer-Policy:
/// same-origin`).
fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer.split_once("://")?.1;
    let (origin_host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    (origin_host == host).then_some(path)
}

/// A domain error as a page, with the status the API would answer.
pub fn error_page(base: &str, e: Error) -> Response {
    let (_, status) = crate::api::oz::error::code_and_status(&e);
    if status.is_server_error() {
        tracing::error!(error = ?e, "console request failed");
    }
    message_page(base, status, text::ERROR_TITLE, &e.to_string())
}

/// A bare page with one message (no navigation: also used before login).
pub fn message_page(base: &str, status: StatusCode, title: &'static str, message: &str) -> Response {
    let mut b = Html::new();
    b.el("<h1>", title, "</h1>").el("<p class=\"error\" role=\"alert\">", message, "</p>");
    (status, html_response(document(None, base, title, b))).into_response()
}

fn html_response(page: Html) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], page.into_string()).into_response()
}

/// Which menu entries a role reaches (the server checks every action again).
fn nav(h: &mut Html, base: &str, s: &Session) {
    let t = s.caller.user_type;
    h.s("<nav aria-label=\"main\"><ul>");
    let link = |h: &mut Html, path: &'static str, label: &'static str| {
        h.s("<li><a href=\"").t(base).s(path).s("\">").t(label).s("</a></li>");
    };
    link(h, "", text::NAV_ORDERS);
    if manage::creates_orders(t) {
        link(h, "/orders/new", text::NAV_NEW_ORDER);
    }
    if !matches!(t, UserType::Client) {
        link(h, "/review", text::NAV_REVIEW);
    }
    link(h, "/collections", text::NAV_COLLECTIONS);
    link(h, "/users", text::NAV_USERS);
    if t.is_global() || t == UserType::ClientAdmin {
        link(h, "/companies", text::NAV_COMPANIES);
    }
    // A whole page load: its own script comes with it (htmx's boost swaps only the body).
    h.s("<li><a hx-boost=\"false\" href=\"").t(base).s("/statistics\">").t(text::NAV_STATISTICS).s("</a></li>");
    // A download, not a page: htmx must not fetch it to swap it in.
    h.s("<li><a hx-boost=\"false\" download href=\"").t(base).s("/export.csv\">").t(text::NAV_EXPORT).s("</a></li>");
    if t == UserType::Admin || t == UserType::ClientAdmin {
        link(h, "/audit", text::NAV_AUDIT);
    }
    if t == UserType::Admin {
        link(h, "/system", text::NAV_SYSTEM);
    }
    h.s("</ul><label class=\"privacy-switch\" hidden><input type=\"checkbox\" data-privacy> ").t(text::PRIVACY_BLUR);
    h.s("</label>");
    if let Some(ttl) = s.ttl {
        // console.js counts it down from each response (every request renews the session).
        h.s("<span class=\"countdown\" hidden data-session-ttl=\"").t(ttl).s("\" data-before=\"");
        h.t(text::SESSION_LEFT).s("\" data-unit=\"").t(text::SESSION_LEFT_UNIT).s("\" data-ended=\"");
        h.t(text::SESSION_OVER).s("\"></span>");
    }
    h.s("<form method=\"post\" action=\"").t(base).s("/logout\" class=\"logout\">");
    h.s("<input type=\"hidden\" name=\"csrf\" value=\"").t(&s.csrf).s("\">");
    h.s("<a class=\"who\" href=\"").t(base).s("/profile\" title=\"").t(text::NAV_PROFILE).s("\">");
    h.t(format!("{} {} ({})", text::SIGNED_IN_AS, s.user.email, t.as_str())).s("</a>");
    h.s("<button type=\"submit\">").t(text::LOGOUT_BUTTON).s("</button></form></nav>");
}

/// The whole document around a page body.
fn document(session: Option<&Session>, base: &str, title: &str, body: Html) -> Html {
    document_with(session, base, title, body, None)
}

/// The document, with a page's own script (a path under `{base}`) when it has one.
fn document_with(session: Option<&Session>, base: &str, title: &str, body: Html, script: Option<&'static str>) -> Html {
    let mut h = Html::new();
    h.s("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.s("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    // Error pages (a refused delete, a form with a wrong value) are pages to show: htmx swaps
    // them in like any other, without reporting a script error. Settling leaves `style` alone:
    // htmx's default copies it between elements of the same id across a swap, an inline style
    // write that the CSP refuses (seen in the browser test after a boosted redeliver and on the
    // statistics page).
    h.s("<meta name=\"htmx-config\" content='{\"allowEval\":false,\"includeIndicatorStyles\":false,");
    h.s("\"attributesToSettle\":[\"class\",\"width\",\"height\"],");
    h.s("\"allowScriptTags\":false,\"responseHandling\":[{\"code\":\"204\",\"swap\":false},");
    h.s("{\"code\":\"[2345]..\",\"swap\":true,\"error\":false}]}'>");
    h.s("<title>").t(title).s(" · ").t(text::PRODUCT).s("</title>");
    // No favicon request (it would 404 outside the console's path).
    h.s("<link rel=\"icon\" href=\"data:,\">");
    h.s("<link rel=\"stylesheet\" href=\"").t(base).s("/assets/console.css\">");
    h.s("<script src=\"").t(base).s("/assets/htmx-2.0.11.min.js\" defer></script>");
    h.s("<script src=\"").t(base).t(console_js_path()).s("\" defer></script>");
    if let Some(path) = script {
        h.s("<script src=\"").t(base).s(path).s("\" defer></script>");
    }
    h.s("</head><body hx-boost=\"true\"><a class=\"skip\" href=\"#main\">").t(text::SKIP_TO_CONTENT).s("</a>");
    h.s("<header><a class=\"brand\" href=\"").t(base).s("\">").t(text::PRODUCT).s("</a>");
    if let Some(s) = session {
        nav(&mut h, base, s);
    }
    h.s("</header><main id=\"main\">").fragment(body).s("</main><footer>Emerald ");
    h.t(env!("CARGO_PKG_VERSION")).s("</footer></body></html>");
    h
}

/// A full page for a logged-in user.
pub fn page(state: &AppState, s: &Session, title: &str, body: Html) -> Response {
    html_response(document(Some(s), &settings(state).base, title, body))
}

/// A full page written while it is made (a chunked response the browser shows as it comes):
/// the page up to and with `first` at once, then each part of `rest` as the stream yields it,
/// then the page's end. Proxies are asked not to hold it back (`X-Accel-Buffering: no`), and it
/// is not compressed.
pub fn streamed_page(
    state: &AppState,
    s: &Session,
    title: &str,
    mut first: Html,
    rest: impl futures::Stream<Item = Html> + Send + 'static,
) -> Response {
    use futures::StreamExt;
    const CUT: &str = "<!--emerald:rest-->";
    first.s(CUT);
    let whole = document(Some(s), &settings(state).base, title, first).into_string();
    let (head, tail) = match whole.split_once(CUT) {
        Some((head, tail)) => (head.to_owned(), tail.to_owned()),
        None => (whole, String::new()),
    };
    let body = futures::stream::once(async move { head })
        .chain(rest.map(Html::into_string))
        .chain(futures::stream::once(async move { tail }))
        .map(Ok::<_, std::convert::Infallible>);
    let mut res = Response::new(axum::body::Body::from_stream(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
    res.extensions_mut().insert(Streamed);
    res
}

/// A full page with its own script (loaded on a whole page load: links to such a page carry
/// `hx-boost="false"`).
pub fn page_with_script(state: &AppState, s: &Session, title: &str, body: Html, script: &'static str) -> Response {
    html_response(document_with(Some(s), &settings(state).base, title, body, Some(script)))
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
    /// Why the user was sent here (`WHY_EXPIRED`, `WHY_ENDED`); anything else shows nothing.
    #[serde(default)]
    why: Option<String>,
}

/// Only a path inside the console is a place to return to after login.
fn safe_next(base: &str, next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == base || n.starts_with(&format!("{base}/")) || n.starts_with(&format!("{base}?")))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with(&format!("{base}/logout")) =>
        {
            n.to_owned()
        }
        _ => base.to_owned(),
    }
}

fn login_form(base: &str, next: &str, error: Option<&str>, why: Option<&str>) -> Html {
    let mut b = Html::new();
    b.el("<h1>", text::LOGIN_TITLE, "</h1>");
    let reason = match why {
        Some(WHY_EXPIRED) => Some(text::SESSION_EXPIRED),
        Some(WHY_ENDED) => Some(text::SESSION_ENDED),
        _ => None,
    };
    if let Some(r) = reason.filter(|_| error.is_none()) {
        b.el("<p class=\"note\" role=\"status\">", r, "</p>");
    }
    if let Some(e) = error {
        b.el("<p class=\"error\" role=\"alert\">", e, "</p>");
    }
    b.s("<form method=\"post\" action=\"").t(base).s("/login\" class=\"login\" hx-boost=\"false\">");
    b.s("<input type=\"hidden\" name=\"next\" value=\"").t(next).s("\">");
    b.s("<label for=\"email\">").t(text::EMAIL).s("</label>");
    b.s("<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus>");
    b.s("<label for=\"password\">").t(text::PASSWORD).s("</label>");
    b.s("<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>");
    b.s("<button type=\"submit\">").t(text::LOGIN_BUTTON).s("</button></form>");
    b
}

async fn login_page(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    let base = &settings(&state).base;
    let next = safe_next(base, q.next.as_deref());
    html_response(document(None, base, text::LOGIN_TITLE, login_form(base, &next, None, q.why.as_deref())))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// A login form posted from another site is refused: browsers send `Origin` on POST. (Our
/// pages' `Referrer-Policy: same-origin` keeps that header a real origin on our own forms:
/// under `no-referrer` browsers send `Origin: null`, which is refused like any other site.)
fn cross_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
            origin_host != host
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let st = settings(&state);
    let base = &st.base;
    let next = safe_next(base, f.next.as_deref());
    if cross_origin(&headers) {
        return message_page(base, StatusCode::FORBIDDEN, text::ERROR_TITLE, text::CSRF_REFUSED);
    }
    let fail = |status: StatusCode, msg: &str| {
        (status, html_response(document(None, base, text::LOGIN_TITLE, login_form(base, &next, Some(msg), None))))
            .into_response()
    };
    let pair = match state.domain.login_from(&f.email, &f.password, client).await {
        Ok(p) => p,
        Err(Error::AuthInvalid(_)) => return fail(StatusCode::UNAUTHORIZED, text::LOGIN_FAILED),
        Err(e) => {
            let (_, status) = crate::api::oz::error::code_and_status(&e);
            return fail(status, &e.to_string());
        }
    };
    if pair.user.user_type == UserType::ClientService {
        if let Ok(caller) = state.domain.authenticate(&pair.access_token, false).await {
            let _ = state.domain.logout(&caller).await;
        }
        return fail(StatusCode::FORBIDDEN, text::LOGIN_SERVICE_REFUSED);
    }
    let secure = st.secure_cookie
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{COOKIE}={}; Path={base}; HttpOnly; SameSite=Strict{}",
        pair.access_token,
        if secure { "; Secure" } else { "" }
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, next), (header::SET_COOKIE, cookie)]).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(state): State<AppState>, session: Session, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let base = &settings(&state).base;
    if let Err(e) = state.domain.logout(&session.caller).await {
        return error_page(base, e);
    }
    let clear = format!("{COOKIE}=; Path={base}; HttpOnly; SameSite=Strict; Max-Age=0");
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("{base}/login")), (header::SET_COOKIE, clear)]).into_response()
}
