//! The web console (issue #20): real HTTP on the real server. Login and its cookie, the CSRF
//! token on every POST, the CSP, the cookie refused by `/api`, per-role visibility, escaping of
//! hostile values, the CSV-injection guard.

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::analyses::wait_analysis;
use crate::helpers::fixtures::*;
use crate::helpers::*;

const HOSTILE: &str = "<script>alert(1)</script>";

/// A client that does not follow redirects (the tests look at them).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) struct Console {
    cookie: String,
}

/// Log in through the console's form; the session cookie (`name=value`).
pub(crate) async fn console_login(app: &TestApp, email: &str, password: &str) -> (Console, reqwest::Response) {
    let res = browser()
        .post(app.url("/console/login"))
        .form(&[("email", email), ("password", password), ("next", "/console/users")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login");
    let set = res.headers().get(SET_COOKIE).expect("Set-Cookie").to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    (Console { cookie }, res)
}

impl Console {
    /// The session cookie (`name=value`), for requests built by hand.
    pub(crate) fn cookie(&self) -> &str {
        &self.cookie
    }

    pub(crate) async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let res = browser().get(app.url(path)).header("Cookie", &self.cookie).send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.text().await.unwrap())
    }

    pub(crate) async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let res = browser().post(app.url(path)).header("Cookie", &self.cookie).form(form).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// POST a form: the status, the `Location` (empty without one) and the body.
    pub(crate) async fn send(
        &self,
        app: &TestApp,
        path: &str,
        form: &[(&'static str, String)],
    ) -> (StatusCode, String, String) {
        let res = browser().post(app.url(path)).header("Cookie", &self.cookie).form(form).send().await.unwrap();
        let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        (res.status(), location, res.text().await.unwrap())
    }

    /// The CSRF token of this session, from the logout form of any page.
    pub(crate) async fn csrf(&self, app: &TestApp) -> String {
        let (_, _, body) = self.get(app, "/console").await;
        let at = body.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
        body[at..at + 32].to_owned()
    }
}

/// A console form: the CSRF token, then the fields.
fn csrf_form(csrf: &str, fields: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut v = vec![("csrf", csrf.to_owned())];
    v.extend(fields.iter().map(|(k, x)| (*k, (*x).to_owned())));
    v
}

async fn folder_with(app: &TestApp, token: &str, meta: serde_json::Value, file: &'static str) -> Uuid {
    let payload = json!({"folder:meta_data": meta, "media:tags": {"photo1": ["photo_selfie"]}}).to_string();
    app.upload("/api/folders/", token, vec![Part::File("photo1", file, jpeg(64, 48)), Part::Payload(payload)])
        .await
        .assert_status(201)
        .id("folder_id")
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_for_the_console_path_only() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Without a session every page sends to the login form, and back afterwards.
    let res = browser().get(app.url("/console/orders/x?y=1")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/console/login?next=%2Fconsole%2Forders%2Fx%3Fy%3D1");
    let login = browser().get(app.url("/console/login")).send().await.unwrap();
    let csp = login.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    let body = login.text().await.unwrap();
    assert!(body.contains("<label for=\"email\">") && body.contains("id=\"password\""), "labelled inputs");
    assert!(!body.contains("<script>") && !body.contains(" style="), "no inline script or style: {body}");

    // A wrong password: the form again, 401, no cookie.
    let bad = browser()
        .post(app.url("/console/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers().get(SET_COOKIE).is_none());

    let (console, res) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.headers()[LOCATION], "/console/users", "back to where the user was going");
    let set = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("emerald_console="), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.split("; ").any(|f| f == flag), "{flag} in {set}");
    }
    // Over https (behind a proxy) the cookie is Secure.
    let https = browser()
        .post(app.url("/console/login"))
        .header("X-Forwarded-Proto", "https")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(https.headers()[SET_COOKIE].to_str().unwrap().contains("; Secure"));
    // The next parameter cannot send the user off the console.
    let off = browser()
        .post(app.url("/console/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", "//evil.example/console")])
        .send()
        .await
        .unwrap();
    assert_eq!(off.headers()[LOCATION], "/console");

    let (status, headers, body) = console.get(&app, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'self'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(body.contains(ADMIN_EMAIL) && body.contains("ADMIN"), "who is logged in");
    // The vendored htmx is served from our own origin and is the file NOTICE names.
    let (status, _, js) = console.get(&app, "/console/assets/htmx-2.0.11.min.js").await;
    assert_eq!(status, StatusCode::OK);
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(js.as_bytes())), emerald::console::HTMX_SHA256);

    // /api never accepts the cookie: only the token headers authenticate there.
    let api = browser().get(app.url("/api/folders/")).header("Cookie", &console.cookie).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_post_needs_the_csrf_token_and_logout_ends_the_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (console, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Logout without the token, or with another session's: refused, still logged in.
    let (status, body) = console.post(&app, "/console/logout", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (other, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let foreign = other.csrf(&app).await;
    assert_eq!(console.post(&app, "/console/logout", &[("csrf", &foreign)]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(console.get(&app, "/console").await.0, StatusCode::OK);
    // A decision without the token is refused before anything else.
    let id = Uuid::new_v4().to_string();
    let (status, _) =
        console.post(&app, &format!("/console/analyses/{id}/decision"), &[("resolution", "SUCCESS")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A login posted from another site is refused.
    let cross = browser()
        .post(app.url("/console/login"))
        .header("Origin", "https://evil.example")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(cross.headers().get(SET_COOKIE).is_none());
    // Our own form, as a browser posts it: Origin is this server (a real browser found that
    // `Referrer-Policy: no-referrer` made it `null`: the pages now say `same-origin`).
    let (_, headers, _) = console.get(&app, "/console/login").await;
    assert_eq!(headers["referrer-policy"], "same-origin");
    for (origin, expected) in
        [(format!("http://{}", app.addr), StatusCode::SEE_OTHER), ("null".into(), StatusCode::FORBIDDEN)]
    {
        let res = browser()
            .post(app.url("/console/login"))
            .header("Origin", origin.as_str())
            .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "Origin: {origin}");
    }

    let csrf = console.csrf(&app).await;
    assert_eq!(console.post(&app, "/console/logout", &[("csrf", &csrf)]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(console.get(&app, "/console").await.0, StatusCode::SEE_OTHER, "the session is gone");
    assert_eq!(other.get(&app, "/console").await.0, StatusCode::OK, "only that session");
}

/// A session that ran out (`EMERALD_SESSION_TTL` of 0: every session is expired at once) or was
/// logged out sends to the login form with `why=`, which the form words; a form posted with a
/// gone session comes back to the page it was on (its same-origin `Referer`), never to the
/// POST's path; an htmx request gets `HX-Redirect` so that the whole page goes to the form.
#[tokio::test]
async fn a_gone_session_sends_to_the_login_form_saying_why() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.session_ttl = 0.0).await;
    let (console, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, headers, _) = console.get(&app, "/console/users?offset=25").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/login?next=%2Fconsole%2Fusers%3Foffset%3D25&why=expired");
    let login = |path: &str| browser().get(app.url(path)).send();
    let page = login("/console/login?next=%2Fconsole%2Fusers&why=expired").await.unwrap().text().await.unwrap();
    assert!(page.contains("<p class=\"note\" role=\"status\">Your session expired"), "{page}");
    assert!(page.contains("name=\"next\" value=\"/console/users\""), "{page}");
    let page = login("/console/login?why=ended").await.unwrap().text().await.unwrap();
    assert!(page.contains("Your session has ended"), "{page}");
    for why in ["", "?why=%3Cscript%3E", "?why=expired2"] {
        let page = login(&format!("/console/login{why}")).await.unwrap().text().await.unwrap();
        assert!(!page.contains("role=\"status\"") && !page.contains("&lt;script"), "{why}: {page}");
    }

    // htmx (a boosted link, the order page's re-polling): HX-Redirect, no swap of the form.
    let res = browser()
        .get(app.url("/console/statistics"))
        .header("Cookie", console.cookie())
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["hx-redirect"], "/console/login?next=%2Fconsole%2Fstatistics&why=expired");
    assert!(res.text().await.unwrap().is_empty());

    // A form: back to the page it was sent from, if that page is ours.
    let host = app.url("").trim_start_matches("http://").to_owned();
    for (referer, next) in [
        (Some(format!("http://{host}/console/companies?x=1")), "%2Fconsole%2Fcompanies%3Fx%3D1"),
        (Some("http://evil.example/console/companies".to_owned()), "%2Fconsole"),
        (Some(format!("http://{host}/elsewhere")), "%2Fconsole"),
        (None, "%2Fconsole"),
    ] {
        let mut req = browser().post(app.url("/console/companies")).header("Cookie", console.cookie());
        if let Some(r) = &referer {
            req = req.header("Referer", r);
        }
        let res = req.form(&[("name", "Never made"), ("csrf", "x")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{referer:?}");
        assert_eq!(res.headers()[LOCATION], format!("/console/login?next={next}&why=expired"), "{referer:?}");
    }
    // The same setting expires the API's tokens at once.
    let token = app.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(app.get("/api/companies/", &token).await.status, StatusCode::UNAUTHORIZED, "the token is expired too");

    // A session logged out (or unknown): "ended". Without a cookie: no reason.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (console, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = console.csrf(&app).await;
    assert_eq!(console.post(&app, "/console/logout", &[("csrf", &csrf)]).await.0, StatusCode::SEE_OTHER);
    let (status, headers, _) = console.get(&app, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/login?next=%2Fconsole&why=ended");
    let res = browser().get(app.url("/console")).send().await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/console/login?next=%2Fconsole");
}

#[tokio::test]
async fn each_role_sees_what_the_api_shows_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (a, b) = (app.company("A").await, app.company("B").await);
    let (_, email_a, token_a) = app.user(Some(a), "CLIENT").await;
    let (_, email_b, _) = app.user(Some(b), "CLIENT").await;
    let (_, email_op, _) = app.user(None, "OPERATOR").await;
    let (_, email_svc, _) = app.user(Some(a), "CLIENT SERVICE").await;
    let folder = folder_with(&app, &token_a, json!({"transaction_id": "tx-1"}), "selfie.jpg").await;
    let short = &folder.to_string()[..8];

    for (email, sees) in [(email_a.as_str(), true), (email_b.as_str(), false), (email_op.as_str(), true)] {
        let (console, _) = console_login(&app, email, PASSWORD).await;
        let (status, _, body) = console.get(&app, "/console").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.contains(short), sees, "{email} sees the folder in the list: {body}");
        let (status, _, page) = console.get(&app, &format!("/console/orders/{folder}")).await;
        assert_eq!(status, if sees { StatusCode::OK } else { StatusCode::NOT_FOUND }, "{email}: {page}");
        let (status, _, _) = console.get(&app, &format!("/console/media/{folder}/x_thumb.jpg")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Menus follow the role: a CLIENT has no review queue, only global roles see companies.
        assert_eq!(body.contains("/console/review\""), email != email_a && email != email_b, "{email}");
        assert_eq!(body.contains("/console/companies\""), email == email_op, "{email}");
    }
    // The list filters are the API's: a meta_data filter that does not match hides the folder,
    // a bad one shows the API's message, not a 5xx.
    let (console, _) = console_login(&app, &email_a, PASSWORD).await;
    let (_, _, body) = console.get(&app, "/console?meta_data=transaction_id%3D%3Dtx-2").await;
    assert!(!body.contains(short));
    let (_, _, body) = console.get(&app, "/console?meta_data=transaction_id%3D%3Dtx-1&resolution_status=INITIAL").await;
    assert!(body.contains(short), "{body}");
    let (status, _, body) = console.get(&app, "/console?time_created.min=not-a-date").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("role=\"alert\""), "{body}");
    // A CLIENT sees only itself in the users list; ADMIN sees everyone.
    let (_, _, users) = console.get(&app, "/console/users").await;
    assert!(users.contains(&email_a) && !users.contains(&email_b), "{users}");
    let (admin, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, _, users) = admin.get(&app, "/console/users").await;
    assert!(users.contains(&email_a) && users.contains(&email_b));
    let (_, _, companies) = admin.get(&app, "/console/companies").await;
    assert!(companies.contains(&a.to_string()) && companies.contains(&b.to_string()));
    // A service account is a machine: no console login.
    let res = browser()
        .post(app.url("/console/login"))
        .form(&[("email", email_svc.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_orders_list_pages_without_counting_and_pages_go_compressed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let a = app.company("A").await;
    let (_, email, token) = app.user(Some(a), "CLIENT").await;
    let mut folders = Vec::new();
    for i in 0..26 {
        folders.push(folder_with(&app, &token, json!({"transaction_id": format!("tx-{i}")}), "selfie.jpg").await);
    }
    let (console, _) = console_login(&app, &email, PASSWORD).await;
    let rows = |body: &str| body.matches("<tr><td>").count();
    // Newest first, 25 a page: the first page offers "next" without a total (nothing counted).
    let (_, _, first) = console.get(&app, "/console").await;
    assert_eq!(rows(&first), 25, "{first}");
    assert!(first.contains(&folders[25].to_string()[..8]) && !first.contains(&folders[0].to_string()[..8]));
    assert!(first.contains("rel=\"next\" href=\"/console?offset=25\""), "{first}");
    assert!(!first.contains("rel=\"prev\"") && !first.contains("Showing 1–25 of"), "{first}");
    // The last page: the oldest folder, a way back, no way on.
    let (_, _, last) = console.get(&app, "/console?offset=25").await;
    assert_eq!(rows(&last), 1, "{last}");
    assert!(last.contains(&folders[0].to_string()[..8]));
    assert!(last.contains("rel=\"prev\"") && !last.contains("rel=\"next\""), "{last}");
    // A filter whose answer fits on the first page shows its total; filters stay in the links.
    let (_, _, one) = console.get(&app, "/console?meta_data=transaction_id%3D%3Dtx-3").await;
    assert_eq!(rows(&one), 1, "{one}");
    assert!(one.contains("Showing 1–1 of 1") && one.contains(&folders[3].to_string()[..8]), "{one}");

    // Pages, CSS and JS go gzip-compressed to a browser that accepts it; images as they are.
    let js = format!("/console{}", emerald::console::console_js_path());
    for path in ["/console", "/console/assets/console.css", "/console/assets/htmx-2.0.11.min.js", &js] {
        let res = browser()
            .get(app.url(path))
            .header("Cookie", &console.cookie)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "{path}");
        let zipped = res.bytes().await.unwrap();
        let plain = browser().get(app.url(path)).header("Cookie", &console.cookie).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}: only when asked");
        let plain = plain.bytes().await.unwrap();
        assert!(zipped.len() * 2 < plain.len(), "{path}: {} gzipped of {} bytes", zipped.len(), plain.len());
    }
}

/// console.js: one own script from our own origin, under a content-named path cached for a year,
/// included with `defer` by every page; the CSP stays as strict as without it.
#[tokio::test]
async fn the_console_script_is_served_from_its_own_content_named_path_under_the_same_csp() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let path = format!("/console{}", emerald::console::console_js_path());
    assert!(path.starts_with("/console/assets/console-") && path.ends_with(".js"), "{path}");
    let (console, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, headers, page) = console.get(&app, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_SECURITY_POLICY], emerald::console::CSP);
    let tag = format!("<script src=\"{path}\" defer></script>");
    assert!(page.contains(&tag), "{tag} in {page}");
    // The login page (no session) has it too: its times and nothing else need none, but one
    // layout serves every page.
    let login = browser().get(app.url("/console/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains(&tag), "{login}");

    // Served without a session (a script holds no data), typed, cached for good, same headers.
    let res = browser().get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/javascript; charset=utf-8");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_eq!(csp, emerald::console::CSP);
    assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    let js = res.text().await.unwrap();
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(js.as_bytes()));
    assert!(path.contains(&digest[..16]), "the path names the content: {path} vs {digest}");
    // No eval-like call, no HTML written from values, no request of its own but the upload
    // forms' POST to their own action (the progress bar, §4.5.4).
    for banned in [
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "fetch(",
        "sendBeacon",
        "WebSocket",
        "EventSource",
        "http://",
        "https://",
    ] {
        assert!(!js.contains(banned), "console.js uses {banned}");
    }
    assert_eq!(js.matches("new XMLHttpRequest()").count(), 1, "one request: the upload");
    assert_eq!(js.matches(".open(").count(), 1);
    assert!(js.contains("xhr.open('POST', form.action);"), "the upload goes to the form's own action");
    // Another content, another URL: an old path is not served.
    let (status, _, _) = console.get(&app, "/console/assets/console.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Times are <time> elements: UTC as text and title, ISO 8601 in datetime, for the script.
    let (_, _, users) = console.get(&app, "/console/system").await;
    let at = users.find("<time datetime=\"").expect("a <time> on the system page");
    let time = &users[at..at + users[at..].find("</time>").unwrap() + 7];
    let iso = &time[16..36];
    assert!(iso.len() == 20 && &iso[10..11] == "T" && iso.ends_with('Z'), "{time}");
    let shown = format!("{} {} UTC", &iso[..10], &iso[11..19]);
    assert_eq!(time, format!("<time datetime=\"{iso}\" title=\"{shown}\">{shown}</time>"));
}

#[tokio::test]
async fn hostile_values_are_escaped_and_csv_cells_cannot_be_formulas() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, email, token) = app.user(Some(app.company("A").await), "CLIENT").await;
    let meta = json!({"transaction_id": "=HYPERLINK(\"http://evil\")", "note": HOSTILE, HOSTILE: "\"><img src=x>"});
    let folder = folder_with(&app, &token, meta, "<script>alert(1)</script>.jpg").await;
    let (console, _) = console_login(&app, &email, PASSWORD).await;
    for path in ["/console".to_owned(), format!("/console/orders/{folder}")] {
        let (status, _, body) = console.get(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains(HOSTILE) && !body.contains("<img src=x>"), "{path} escapes: {body}");
        assert_eq!(body.matches("<script").count(), 2, "{path}: only the htmx and console.js script elements");
    }
    let (_, _, body) = console.get(&app, &format!("/console/orders/{folder}")).await;
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "shown, escaped: {body}");
    // The thumbnail is served through the console with the session's permission check.
    let media = app.get(&format!("/api/folders/{folder}/media"), &token).await.body[0]["media_id"].clone();
    let media = media.as_str().unwrap();
    let (status, headers, _) = console.get(&app, &format!("/console/media/{folder}/{media}_thumb.jpg")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/jpeg");

    let (status, headers, csv) = console.get(&app, "/console/export.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.starts_with("folder_id,time_created,"), "{csv}");
    assert!(csv.contains(&folder.to_string()));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""), "formula defused: {csv}");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "{csv}");
}

#[tokio::test]
async fn decisions_run_the_api_rules_and_the_console_can_be_switched_off_or_moved() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let company = app.company("A").await;
    let (_, _, token) = app.user(Some(company), "CLIENT").await;
    let (_, op_email, _) = app.user(Some(company), "CLIENT OPERATOR").await;
    let folder = folder_with(&app, &token, json!({}), "selfie.jpg").await;
    let analyses =
        app.post(&format!("/api/folders/{folder}/analyses/"), &token, json!({"analyses": [{"type": "QUALITY"}]})).await;
    analyses.assert_status(201);
    let analyse_id = analyses.body[0]["analyse_id"].as_str().unwrap().to_owned();
    // The analysis runs (the test server has workers); then decisions go through the API's rules.
    assert_eq!(wait_analysis(&app, &token, &analyse_id).await["state"], "FINISHED");
    // ADMIN may not decide (the API's 403).
    let path = format!("/console/analyses/{analyse_id}/decision");
    let (admin, _) = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = admin.csrf(&app).await;
    let (status, _) = admin.post(&app, &path, &[("csrf", &csrf), ("resolution", "SUCCESS")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (op, _) = console_login(&app, &op_email, PASSWORD).await;
    let csrf = op.csrf(&app).await;
    let (status, _) = op.post(&app, &path, &[("csrf", &csrf), ("resolution", "DECLINED")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "declining needs a comment");
    // The engine's SUCCESS is not a case awaiting a decision (GAP-3): refused, no form shown.
    let (status, body) = op.post(&app, &path, &[("csrf", &csrf), ("resolution", "DECLINED"), ("comment", "no")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not awaiting a decision"), "{body}");
    let (_, _, page) = op.get(&app, &format!("/console/orders/{folder}")).await;
    assert!(!page.contains("class=\"decision\"") && page.contains("No decision has been taken"), "{page}");
    let (_, _, review) = op.get(&app, "/console/review").await;
    assert!(review.contains("Review queue"), "{review}");

    // A real OPERATOR_REQUIRED case (two different people, a BIOMETRY band): decided in the
    // console, read back over /api, shown in the order's history and in the audit trail.
    if let Some(p) = face_photos("console decision", &["obama.jpg", "biden.jpg"]) {
        let band = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]},
            "analyses": [{"type": "biometry", "params": {"threshold_min": 0.0, "threshold_max": 0.999}}]})
        .to_string();
        let r = app
            .upload(
                "/api/folders/",
                &token,
                vec![
                    Part::File("a", "a.jpg", p[0].clone()),
                    Part::File("b", "b.jpg", p[1].clone()),
                    Part::Payload(band),
                ],
            )
            .await;
        r.assert_status(201);
        assert_eq!(r.body["analyses"][0]["resolution_status"], "OPERATOR_REQUIRED", "{}", r.text);
        let folder = r.id("folder_id");
        let analyse_id = r.body["analyses"][0]["analyse_id"].as_str().unwrap().to_owned();
        let (_, _, page) = op.get(&app, &format!("/console/orders/{folder}")).await;
        assert!(page.contains("class=\"decision\""), "the decision form: {page}");
        // The decision form carries the order's comment: no comment form of its own beside it.
        assert!(page.contains("name=\"folder_comment\""), "{page}");
        assert!(!page.contains(&format!("action=\"/console/orders/{folder}/comment\"")), "{page}");
        let (_, _, review) = op.get(&app, "/console/review").await;
        assert!(review.contains(&folder.to_string()), "the case is in the queue: {review}");
        // "Next case" (key N in console.js) on the order page: the oldest case other than this
        // one, else the queue.
        let next = format!("/console/review?skip={folder}");
        assert!(page.contains(&format!("data-key=\"n\" href=\"{next}\"")), "{page}");
        let (status, _, queue) = op.get(&app, &next).await;
        assert!(status == StatusCode::OK && queue.contains("Review queue"), "no other case: {queue}");
        let (status, headers, _) = op.get(&app, &format!("/console/review?skip={}", Uuid::nil())).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[LOCATION], format!("/console/orders/{folder}"));
        // GAP-10: opening the case claimed it; another operator's queue passes it by, and its
        // order page says who holds it.
        assert!(page.contains("You hold this case for review until"), "{page}");
        let (_, op2_email, op2_token) = app.user(Some(company), "CLIENT OPERATOR").await;
        let op2 = console_login(&app, &op2_email, PASSWORD).await.0;
        let (_, _, review2) = op2.get(&app, "/console/review").await;
        assert!(
            review2.contains("1 cases on this page are held") && !review2.contains("Open the oldest case"),
            "{review2}"
        );
        let (_, _, held) = op2.get(&app, &format!("/console/orders/{folder}")).await;
        assert!(held.contains("Another operator is reviewing this case until"), "{held}");
        app.post(&format!("/api/folders/{folder}/claim"), &op2_token, json!({})).await.assert_error(409, 4);
        let path = format!("/console/analyses/{analyse_id}/decision");
        let (status, body) =
            op.post(&app, &path, &[("csrf", &csrf), ("resolution", "DECLINED"), ("comment", HOSTILE)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let a = app.get(&format!("/api/analyses/{analyse_id}"), &token).await;
        assert_eq!(a.body["resolution_status"], "DECLINED", "the API shows the console's decision");
        // The decision released the case.
        app.post(&format!("/api/folders/{folder}/claim"), &op2_token, json!({})).await.assert_status(200);
        assert_eq!(a.body["resolution_comment"], HOSTILE);
        // Decided: a second decision is refused.
        let (status, _) = op.post(&app, &path, &[("csrf", &csrf), ("resolution", "SUCCESS")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // The order page's history: who, before → after, the comment escaped.
        let (_, _, page) = op.get(&app, &format!("/console/orders/{folder}")).await;
        let history = &page[page.find("id=\"history\"").expect("history section")..];
        assert!(history.contains(&op_email) && history.contains("OPERATOR_REQUIRED") && history.contains("DECLINED"));
        assert!(history.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains(HOSTILE), "{page}");
        let audit = app.get(&format!("/api/audit?object_id={analyse_id}&event=decision"), &app.admin_token).await;
        assert_eq!(audit.body["total_count"], 1, "{}", audit.text);
        assert_eq!(audit.body["items"][0]["comment"], HOSTILE);
        assert_eq!(audit.body["items"][0]["after"], "DECLINED");
    }

    let off = TestApp::spawn_with(Backend::Sqlite, |c| c.console = emerald::config::Switch::Off).await;
    assert_eq!(browser().get(off.url("/console/login")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let moved = TestApp::spawn_with(Backend::Sqlite, |c| c.console_base_path = "/ops/console/".into()).await;
    let res = browser()
        .post(moved.url("/ops/console/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/ops/console");
    assert!(res.headers()[SET_COOKIE].to_str().unwrap().contains("Path=/ops/console;"));
    assert!(emerald::console::Settings::new("/api", None).is_err());
    assert!(emerald::console::Settings::new("console", None).is_err());
}

#[tokio::test]
async fn the_console_can_listen_apart_from_the_api() {
    // EMERALD_CONSOLE_LISTEN: the console on its own port, and not on the API's.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.console_listen = Some("127.0.0.1:0".into())).await;
    let at = app.console_addr.expect("the console's own listener");
    assert_ne!(at.port(), app.addr.port());
    let url = |path: &str| format!("http://{at}{path}");
    for (method, path) in [
        (reqwest::Method::GET, "/console/login"),
        (reqwest::Method::POST, "/console/login"),
        (reqwest::Method::GET, "/console"),
    ] {
        let res = browser().request(method, app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path} on the API's listener");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error_code"], json!(10), "the Oz 404: {body}");
    }
    // The API is still there (the helper logged in over it), and only there.
    app.get("/api/folders/", &app.admin_token).await.assert_status(200);
    for path in ["/api/folders/", "/api/authorize/auth", "/metrics", "/openapi.json"] {
        let res = browser().get(url(path)).header("X-Forensic-Access-Token", &app.admin_token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path} on the console's listener");
    }
    // The console works on its listener: the login form, a session, a page, its assets.
    let form = browser().get(url("/console/login")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'self'"));
    let res = browser()
        .post(url("/console/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/console");
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = browser().get(url("/console/")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(ADMIN_EMAIL), "logged in");
    let css = browser().get(url("/console/assets/console.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);

    // With the console off, the setting opens no listener.
    let off = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.console = emerald::config::Switch::Off;
        c.console_listen = Some("127.0.0.1:0".into());
    })
    .await;
    assert!(off.console_addr.is_none());
    // A listen address that cannot be bound fails the start with its name.
    let mut config = app.config.clone();
    config.listen = "127.0.0.1:0".into();
    config.console_listen = Some(app.addr.to_string());
    let err = emerald::App::build(config).await.err().expect("the port is taken");
    assert!(format!("{err:#}").contains("EMERALD_CONSOLE_LISTEN"), "{err:#}");
}

impl Console {
    async fn post_multipart(
        &self,
        app: &TestApp,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> (StatusCode, String, String) {
        let res = browser().post(app.url(path)).header("Cookie", &self.cookie).multipart(form).send().await.unwrap();
        let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        (res.status(), location, res.text().await.unwrap())
    }
}

/// A create-order form: the CSRF token, a file per `(input number, name, content type)` (a
/// JPEG of its own size each), the transaction id, then `fields`.
fn create_form(
    csrf: &str,
    files: &[(&str, &str, &'static str)],
    transaction_id: &'static str,
    fields: &[(&'static str, &'static str)],
) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new().text("csrf", csrf.to_owned());
    for (n, (input, name, kind)) in files.iter().enumerate() {
        let width = 64 + 2 * n as u32;
        f = f.part(format!("file{input}"), file_part(name, jpeg(width, 48))).text(format!("kind{input}"), *kind);
    }
    f = f.text("transaction_id", transaction_id);
    for (k, v) in fields {
        f = f.text(*k, *v);
    }
    f
}

fn file_part(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("application/octet-stream").unwrap()
}

#[tokio::test]
async fn sqlite_create_order_and_typed_delete() {
    create_order_with_tags_and_analyses_then_delete_it_after_typing_its_id(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_create_order_and_typed_delete() {
    if postgres_available() {
        create_order_with_tags_and_analyses_then_delete_it_after_typing_its_id(Backend::Postgres).await;
    }
}

async fn create_order_with_tags_and_analyses_then_delete_it_after_typing_its_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Orders Co").await;
    let (_, client_email, client_token) = app.user(Some(company), "CLIENT").await;
    let (_, op_email, _) = app.user(Some(company), "CLIENT OPERATOR").await;
    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let (status, _, form) = client.get(&app, "/console/orders/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("name=\"file4\""), "{form}");
    assert!(form.contains("<label for=\"kind1\">") && form.contains("value=\"video_scan\""), "labelled slots: {form}");
    let csrf = client.csrf(&app).await;
    let make = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part("file1", file_part("selfie.jpg", jpeg(64, 48)))
            .text("kind1", "selfie")
            .text("mkey1", "source")
            .text("mval1", " desk 4 ")
            .part("file2", file_part("front.jpg", jpeg(80, 50)))
            .text("kind2", "id_front")
            // Slots the browser sends empty are ignored.
            .part("file3", file_part("", Vec::new()))
            .text("kind3", "selfie")
            .text("analysis", "quality")
            .text("transaction_id", "tx-console-1")
            .text("iin", "=1+1")
    };
    // Without the CSRF token nothing is created.
    let (status, _, _) = client.post_multipart(&app, "/console/orders/new", make("wrong")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/folders/", &client_token).await.body["total_count"], 0);
    let (status, location, body) = client.post_multipart(&app, "/console/orders/new", make(&csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let folder_id = location.strip_prefix("/console/orders/").expect("to the new order").to_owned();
    // console.js's upload (XMLHttpRequest with HX-Request, for its progress bar): the same
    // order made, and told where to go by HX-Redirect instead of a 303 the XHR would follow.
    assert!(form.contains("hx-boost=\"false\" data-upload ") && form.contains("data-upload-progress"), "{form}");
    assert!(form.contains("<div class=\"upload-progress\" hidden") && form.contains("Cancel the upload"), "{form}");
    let res = browser()
        .post(app.url("/console/orders/new"))
        .header("Cookie", client.cookie())
        .header("HX-Request", "true")
        .multipart(make(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(LOCATION).is_none());
    let xhr_location = res.headers().get("hx-redirect").expect("HX-Redirect").to_str().unwrap().to_owned();
    let xhr_folder = xhr_location.strip_prefix("/console/orders/").expect("to the new order").to_owned();
    assert_ne!(xhr_folder, folder_id);
    app.get(&format!("/api/folders/{xhr_folder}"), &client_token).await.assert_status(200);
    // A refusal to the script is the page the form shows without it (no redirect).
    let res = browser()
        .post(app.url("/console/orders/new"))
        .header("Cookie", client.cookie())
        .header("HX-Request", "true")
        .multipart(reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("analysis", "quality"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("hx-redirect").is_none());
    assert!(res.text().await.unwrap().contains("Choose at least one file"));
    app.delete(&format!("/api/folders/{xhr_folder}"), &app.admin_token).await.assert_status(204);
    // A video's orientation, per input: landscape as chosen, portrait by default; an unknown
    // one refused (escaped), nothing stored.
    assert!(form.contains("<label for=\"orient1\">Orientation (video or ZIP)</label>"), "{form}");
    assert!(form.contains("name=\"orient1\" data-orientation-of=\"file1\"><option value=\"portrait\" selected>"));
    let videos = |orient: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("file1", file_part("wide.mp4", mp4()))
            .text("kind1", "video_blank")
            .text("orient1", orient.to_owned())
            .part("file2", file_part("tall.mp4", mp4()))
            .text("kind2", "video_eyes")
    };
    let (status, _, body) = client.post_multipart(&app, "/console/orders/new", videos(HOSTILE)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Unknown orientation") && !body.contains(HOSTILE), "{body}");
    let (status, to, body) = client.post_multipart(&app, "/console/orders/new", videos("landscape")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let video_folder = to.strip_prefix("/console/orders/").expect("to the new order").to_owned();
    let v = app.get(&format!("/api/folders/{video_folder}"), &client_token).await;
    let tags_of = |name: &str| {
        v.body["media"].as_array().unwrap().iter().find(|m| m["original_name"] == name).unwrap()["tags"].clone()
    };
    assert_eq!(
        tags_of("wide.mp4"),
        json!(["video_selfie", "video_selfie_blank", "orientation_landscape"]),
        "{}",
        v.text
    );
    assert_eq!(tags_of("tall.mp4"), json!(["video_selfie", "video_selfie_eyes", "orientation_portrait"]));
    app.delete(&format!("/api/folders/{video_folder}"), &app.admin_token).await.assert_status(204);
    let f = app.get(&format!("/api/folders/{folder_id}?with_analyses=true"), &client_token).await;
    f.assert_status(200);
    assert_eq!(f.body["meta_data"], json!({"transaction_id": "tx-console-1", "iin": "=1+1"}));
    let media = f.body["media"].as_array().unwrap();
    assert_eq!(media.len(), 2, "{}", f.text);
    let tags_of = |name: &str| media.iter().find(|m| m["original_name"] == name).unwrap()["tags"].clone();
    assert_eq!(tags_of("selfie.jpg"), json!(["photo_selfie"]));
    assert_eq!(tags_of("front.jpg"), json!(["photo_id", "photo_id_front"]));
    // The file meta_data row of the first input (`media:meta_data`), none on the second.
    let meta_of = |name: &str| media.iter().find(|m| m["original_name"] == name).unwrap()["meta_data"].clone();
    assert_eq!(meta_of("selfie.jpg"), json!({"source": "desk 4"}));
    assert_eq!(meta_of("front.jpg"), json!({}));
    assert_eq!(f.body["analyses"].as_array().unwrap().len(), 1);
    assert_eq!(f.body["analyses"][0]["type"], "QUALITY");
    // No file: the form again with a message; an unknown content type is refused.
    let none = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("analysis", "quality");
    let (status, _, body) = client.post_multipart(&app, "/console/orders/new", none).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Choose at least one file") && body.contains("name=\"file1\""), "{body}");
    let odd = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file1", file_part("x.jpg", jpeg(64, 48)))
        .text("kind1", HOSTILE);
    let (status, _, body) = client.post_multipart(&app, "/console/orders/new", odd).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Unknown content type") && !body.contains(HOSTILE), "{body}");
    assert_eq!(app.get("/api/folders/", &client_token).await.body["total_count"], 1);

    // An operator does not create orders: no menu entry, the form is refused.
    let op = console_login(&app, &op_email, PASSWORD).await.0;
    let (_, _, home) = op.get(&app, "/console").await;
    assert!(!home.contains("/console/orders/new"), "{home}");
    assert_eq!(op.get(&app, "/console/orders/new").await.0, StatusCode::FORBIDDEN);

    // "Copy as curl": the API's URL of this order at the request's origin, the token left to
    // the shell ($TOKEN), never the session's; the command works with a real token.
    let (_, _, page) = client.get(&app, &location).await;
    let origin = app.url("");
    let command =
        format!("curl -H &quot;X-Forensic-Access-Token: $TOKEN&quot; &#39;{origin}/api/folders/{folder_id}/&#39;");
    assert!(page.contains(&format!("readonly spellcheck=\"false\">{command}</textarea>")), "{page}");
    assert!(page.contains("data-copy=\"curl-") && page.contains("<p hidden><button type=\"button\""), "{page}");
    let session_token = client.cookie().split_once('=').unwrap().1;
    assert!(!page.contains(session_token), "the session's token is not on the page");
    let over_api = browser()
        .get(format!("{origin}/api/folders/{folder_id}/"))
        .header("X-Forensic-Access-Token", &client_token)
        .send()
        .await
        .unwrap();
    assert_eq!(over_api.status(), StatusCode::OK);
    // Behind a proxy, the forwarded scheme and host.
    let res = browser()
        .get(app.url(&location))
        .header("Cookie", client.cookie())
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "kyc.example")
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("&#39;https://kyc.example/api/folders/{folder_id}/&#39;</textarea>")), "{page}");

    // Delete: not offered to the CLIENT (refused if tried); the ADMIN types the id's start.
    let (_, _, page) = client.get(&app, &location).await;
    assert!(!page.contains(&format!("/console/orders/{folder_id}/delete\"")), "{page}");
    assert!(!page.contains("class=\"photo-delete\""), "no file or analysis delete either: {page}");
    let path = format!("/console/orders/{folder_id}/delete");
    let (status, _) = client.post(&app, &path, &[("csrf", &csrf), ("confirm", &folder_id[..8])]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    let admin_csrf = admin.csrf(&app).await;
    let (_, _, page) = admin.get(&app, &location).await;
    assert!(
        page.contains(&format!("/console/orders/{folder_id}/delete\"")) && page.contains("name=\"confirm\""),
        "{page}"
    );
    let (status, _) = admin.post(&app, &path, &[("csrf", &admin_csrf), ("confirm", "deadbeef")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin.post(&app, &path, &[("csrf", "x"), ("confirm", &folder_id[..8])]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.get(&format!("/api/folders/{folder_id}"), &client_token).await.assert_status(200);
    let (status, _) = admin.post(&app, &path, &[("csrf", &admin_csrf), ("confirm", &folder_id[..8])]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.get(&format!("/api/folders/{folder_id}"), &client_token).await.assert_error(404, 10);
    let (_, _, home) = admin.get(&app, &format!("/console?deleted={}", &folder_id[..8])).await;
    assert!(home.contains(&format!("Order deleted: {}", &folder_id[..8])), "{home}");
}

async fn media_count(app: &TestApp, folder: Uuid, token: &str) -> usize {
    app.get(&format!("/api/folders/{folder}/media"), token).await.body.as_array().unwrap().len()
}

async fn meta_now(app: &TestApp, folder: Uuid, token: &str) -> serde_json::Value {
    app.get(&format!("/api/folders/{folder}/meta_data"), token).await.body
}

async fn analyses_now(app: &TestApp, folder: Uuid, token: &str) -> Vec<serde_json::Value> {
    app.get(&format!("/api/folders/{folder}/analyses"), token).await.body.as_array().unwrap().clone()
}

/// The number of orders `token` sees over the API.
async fn orders_seen(app: &TestApp, token: &str) -> u64 {
    app.get("/api/folders/", token).await.body["total_count"].as_u64().unwrap()
}

#[tokio::test]
async fn sqlite_create_order_with_options_and_many_files() {
    create_form_takes_the_band_the_options_and_more_than_four_files(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_create_order_with_options_and_many_files() {
    if postgres_available() {
        create_form_takes_the_band_the_options_and_more_than_four_files(Backend::Postgres).await;
    }
}

async fn create_form_takes_the_band_the_options_and_more_than_four_files(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Options Co").await;
    let (_, email, token) = app.user(Some(company), "CLIENT").await;
    let client = console_login(&app, &email, PASSWORD).await.0;
    let (status, _, form) = client.get(&app, "/console/orders/new").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["threshold_min", "threshold_max", "decision_threshold", "decision_count", "extract_best_shot"] {
        assert!(form.contains(&format!("name=\"{name}\"")), "{name}: {form}");
        assert!(name == "extract_best_shot" || form.contains(&format!("<label for=\"{name}\">")), "labelled {name}");
    }
    assert!(form.contains("name=\"file1\" type=\"file\" multiple"), "several files per input: {form}");
    assert!(form.contains("At most 10 files in one upload, each at most 10 MiB."), "{form}");
    assert!(form.contains("/console/orders/new?slots=8\"") && !form.contains("name=\"file5\""), "{form}");
    let (_, _, more) = client.get(&app, "/console/orders/new?slots=8").await;
    assert!(more.contains("name=\"file8\"") && more.contains("name=\"kind8\"") && !more.contains("name=\"file9\""));
    // Never more inputs than the upload takes files.
    let (_, _, most) = client.get(&app, "/console/orders/new?slots=99").await;
    assert!(most.contains("name=\"file10\"") && !most.contains("name=\"file11\"") && !most.contains("?slots="));

    let csrf = client.csrf(&app).await;
    let files = [("1", "a.jpg", "selfie"), ("2", "b.jpg", "selfie")];
    let with_options = |opts: &[(&'static str, &'static str)]| create_form(&csrf, &files, "tx-options", opts);
    // Bad options: the form again with a clear message and what was typed; nothing stored.
    let bad: [(&[(&'static str, &'static str)], &str); 7] = [
        (&[("analysis", "biometry"), ("threshold_min", "abc")], "threshold_min is not a number: &quot;abc&quot;"),
        (&[("analysis", "biometry"), ("threshold_max", "1.5")], "threshold_max must be a number from 0 to 1."),
        (
            &[("analysis", "biometry"), ("threshold_min", "0.9"), ("threshold_max", "0.5")],
            "threshold_min must not be above threshold_max.",
        ),
        (
            &[("analysis", "quality"), ("threshold_min", "0.5")],
            "threshold_min and threshold_max apply to the face match",
        ),
        (
            &[("analysis", "quality"), ("decision_count", "5")],
            "decision_threshold and decision_count apply to the blacklist",
        ),
        (
            &[("analysis", "collection"), ("decision_count", "0")],
            "decision_count must be a whole number from 1 to 100.",
        ),
        (&[("analysis", "biometry"), ("threshold_min", "-0.1")], "threshold_min must be a number from 0 to 1."),
    ];
    for (opts, message) in bad {
        let (status, _, body) = client.post_multipart(&app, "/console/orders/new", with_options(opts)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{opts:?}: {body}");
        assert!(body.contains("role=\"alert\"") && body.contains(message), "{opts:?}: {body}");
        assert!(body.contains("value=\"tx-options\""), "the typed values come back: {body}");
        let (k, v) = opts[1];
        assert!(body.contains(&format!("name=\"{k}\"")) && body.contains(&format!("value=\"{v}\"")), "{k}={v} kept");
    }
    assert_eq!(orders_seen(&app, &token).await, 0, "nothing was created");

    // Six files, three of them in one input: each carries its input's tags; the band and the
    // options reach the analyses.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file1", file_part("s1.jpg", jpeg(64, 48)))
        .part("file1", file_part("s2.jpg", jpeg(66, 48)))
        .part("file1", file_part("s3.jpg", jpeg(68, 48)))
        .text("kind1", "selfie")
        .part("file2", file_part("front.jpg", jpeg(80, 50)))
        .text("kind2", "id_front")
        .text("kind3", "selfie")
        .text("kind4", "selfie")
        .part("file5", file_part("back.jpg", jpeg(80, 52)))
        .part("file5", file_part("back2.jpg", jpeg(80, 54)))
        .text("kind5", "id_back")
        .text("analysis", "quality")
        .text("analysis", "biometry")
        .text("threshold_min", "0.6")
        .text("threshold_max", "0.9");
    let (status, location, body) = client.post_multipart(&app, "/console/orders/new", form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let folder_id = location.strip_prefix("/console/orders/").expect("to the new order").to_owned();
    let f = app.get(&format!("/api/folders/{folder_id}?with_analyses=true"), &token).await;
    let media = f.body["media"].as_array().unwrap();
    assert_eq!(media.len(), 6, "{}", f.text);
    let tags_of = |name: &str| media.iter().find(|m| m["original_name"] == name).unwrap()["tags"].clone();
    for name in ["s1.jpg", "s2.jpg", "s3.jpg"] {
        assert_eq!(tags_of(name), json!(["photo_selfie"]), "{name}");
    }
    assert_eq!(tags_of("front.jpg"), json!(["photo_id", "photo_id_front"]));
    for name in ["back.jpg", "back2.jpg"] {
        assert_eq!(tags_of(name), json!(["photo_id", "photo_id_back"]), "{name}");
    }
    let analyses = f.body["analyses"].as_array().unwrap();
    let of = |t: &str| analyses.iter().find(|a| a["type"] == t).unwrap_or_else(|| panic!("{t} in {}", f.text));
    assert_eq!(of("BIOMETRY")["params"]["threshold_min"], json!(0.6));
    assert_eq!(of("BIOMETRY")["threshold"], json!(0.9));
    // The best shot checkbox was not sent: off.
    assert_eq!(of("QUALITY")["params"]["extract_best_shot"], json!(false));
    let (_, _, page) = client.get(&app, &location).await;
    assert!(page.contains("Operator band (threshold_min to threshold_max)") && page.contains("0.6 – 0.9"), "{page}");

    // Over the file limit (10): refused before anything is stored, with the limit named.
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("kind1", "selfie");
    for i in 0..11 {
        form = form.part("file1", file_part(&format!("m{i}.jpg"), jpeg(64, 48)));
    }
    let (status, _, body) = client.post_multipart(&app, "/console/orders/new", form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Too many files: at most 10 files per request") && body.contains("name=\"file1\""), "{body}");
    assert_eq!(orders_seen(&app, &token).await, 1);

    // An upload of more than 2 MiB in all (axum's default body limit) goes through: files are
    // bounded per file and per count instead.
    let big = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file1", file_part("n1.jpg", noisy_jpeg(1000, 900)))
        .part("file1", file_part("n2.jpg", noisy_jpeg(1000, 900)))
        .text("kind1", "selfie");
    let (status, _, body) = client.post_multipart(&app, "/console/orders/new", big).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(orders_seen(&app, &token).await, 2);
}

#[tokio::test]
async fn sqlite_create_form_capabilities_and_source_media() {
    create_form_sends_capabilities_and_the_files_of_each_analysis(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_create_form_capabilities_and_source_media() {
    if postgres_available() {
        create_form_sends_capabilities_and_the_files_of_each_analysis(Backend::Postgres).await;
    }
}

/// The create form's DOCUMENTS `capabilities` (a non-negative integer, as the API takes it)
/// and, per analysis, the file inputs it takes (sent as the stored media's ids in
/// `source_media`); bad choices refused before anything is stored.
async fn create_form_sends_capabilities_and_the_files_of_each_analysis(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Sources Co").await;
    let (_, email, token) = app.user(Some(company), "CLIENT").await;
    let client = console_login(&app, &email, PASSWORD).await.0;
    let (_, _, form) = client.get(&app, "/console/orders/new").await;
    assert!(form.contains("<label for=\"capabilities\">") && form.contains("name=\"capabilities\""), "{form}");
    for kind in ["quality", "biometry", "documents", "collection"] {
        for i in 1..=4 {
            let input = format!("id=\"src_{kind}-{i}\" name=\"src_{kind}\" value=\"{i}\"");
            assert!(form.contains(&input), "{input}: {form}");
        }
        assert!(!form.contains(&format!("name=\"src_{kind}\" value=\"5\"")), "one choice per file input");
    }
    let csrf = client.csrf(&app).await;
    let files = [("1", "a.jpg", "selfie"), ("2", "b.jpg", "selfie"), ("3", "front.jpg", "id_front")];
    let with = |opts: &[(&'static str, &'static str)]| create_form(&csrf, &files, "tx-sources", opts);
    let bad: [(&[(&'static str, &'static str)], &str); 6] = [
        (&[("analysis", "documents"), ("capabilities", "-3")], "capabilities must be a whole number, 0 or more."),
        (&[("analysis", "documents"), ("capabilities", "1e3")], "capabilities must be a whole number, 0 or more."),
        (&[("analysis", "quality"), ("capabilities", "492")], "capabilities applies to the document check"),
        (
            &[("analysis", "quality"), ("src_quality", "4")],
            "QUALITY was given a choice naming no file of this form: &quot;4&quot;",
        ),
        (
            &[("analysis", "quality"), ("src_quality", HOSTILE)],
            "QUALITY was given a choice naming no file of this form: &quot;&lt;script",
        ),
        (
            &[("analysis", "quality"), ("src_biometry", "1")],
            "BIOMETRY: files were chosen for an analysis that is not ticked",
        ),
    ];
    for (opts, message) in bad {
        let (status, _, body) = client.post_multipart(&app, "/console/orders/new", with(opts)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{opts:?}: {body}");
        assert!(body.contains("role=\"alert\"") && body.contains(message), "{opts:?}: {body}");
        assert!(!body.contains(HOSTILE) && body.contains("value=\"tx-sources\""), "{body}");
    }
    // What was ticked comes back ticked.
    let (_, _, body) = client.post_multipart(&app, "/console/orders/new", with(bad[5].0)).await;
    assert!(body.contains("name=\"src_biometry\" value=\"1\" checked"), "{body}");
    assert_eq!(orders_seen(&app, &token).await, 0, "nothing was created");

    // QUALITY on the second selfie only, BIOMETRY between the first selfie and the document,
    // DOCUMENTS with its capabilities on the document; COLLECTION not ticked.
    let good = [
        ("analysis", "quality"),
        ("src_quality", "2"),
        ("analysis", "biometry"),
        ("src_biometry", "1"),
        ("src_biometry", "3"),
        ("analysis", "documents"),
        ("capabilities", "492"),
        ("src_documents", "3"),
    ];
    let (status, location, body) = client.post_multipart(&app, "/console/orders/new", with(&good)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let folder = location.trim_start_matches("/console/orders/").to_owned();
    let media = app.get(&format!("/api/folders/{folder}/media"), &token).await.body;
    let id_of = |name: &str| {
        media.as_array().unwrap().iter().find(|m| m["original_name"] == name).unwrap()["media_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let analyses = app.get(&format!("/api/folders/{folder}/analyses"), &token).await.body;
    let by = |t: &str| analyses.as_array().unwrap().iter().find(|a| a["type"] == t).expect(t).clone();
    let sources = |a: &Value| {
        let mut ids: Vec<String> = a["source_media"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["media_id"].as_str().or(m.as_str()).unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(sources(&by("QUALITY")), vec![id_of("b.jpg")]);
    let mut pair = vec![id_of("a.jpg"), id_of("front.jpg")];
    pair.sort();
    assert_eq!(sources(&by("BIOMETRY")), pair);
    let documents = by("DOCUMENTS");
    assert_eq!(sources(&documents), vec![id_of("front.jpg")]);
    assert_eq!(documents["params"]["capabilities"], json!(492));
    assert_eq!(analyses.as_array().unwrap().len(), 3);
    // The order page's "request analyses" form offers the order's files by name; a file of
    // another order or no file id is refused (nothing requested); then QUALITY on the first
    // selfie only.
    let (_, _, page) = client.get(&app, &location).await;
    let a = id_of("a.jpg");
    assert!(page.contains("name=\"capabilities\""), "{page}");
    assert!(page.contains(&format!("name=\"src_quality\" value=\"{a}\"> a.jpg (IMAGE_FOLDER)")), "{page}");
    let rerun_path = format!("{location}/analyses");
    let other = folder_with(&app, &token, json!({}), "elsewhere.jpg").await;
    let elsewhere = app.get(&format!("/api/folders/{other}/media"), &token).await.body[0]["media_id"].clone();
    let rerun = |src: &str| {
        let mut f = csrf_form(&csrf, &[("analysis", "quality")]);
        f.push(("src_quality", src.to_owned()));
        f
    };
    let (status, _, body) = client.send(&app, &rerun_path, &rerun(elsewhere.as_str().unwrap())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("is not in this folder"), "{body}");
    let (status, _, body) = client.send(&app, &rerun_path, &rerun(HOSTILE)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("QUALITY was given a choice naming no file of this form") && !body.contains(HOSTILE),
        "{body}"
    );
    let now = || async { app.get(&format!("/api/folders/{folder}/analyses"), &token).await.body };
    assert_eq!(now().await.as_array().unwrap().len(), 3);
    let (status, _, body) = client.send(&app, &rerun_path, &rerun(&a)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let all = now().await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    let quality: Vec<Vec<String>> =
        all.as_array().unwrap().iter().filter(|x| x["type"] == "QUALITY").map(sources).collect();
    assert!(quality.contains(&vec![a.clone()]) && quality.contains(&vec![id_of("b.jpg")]), "{quality:?}");
}

#[tokio::test]
async fn sqlite_order_editing() {
    order_page_edits_follow_the_api_rules(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_order_editing() {
    if postgres_available() {
        order_page_edits_follow_the_api_rules(Backend::Postgres).await;
    }
}

async fn order_page_edits_follow_the_api_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (app.company("Edit A").await, app.company("Edit B").await);
    let (_, client_email, token) = app.user(Some(a), "CLIENT").await;
    let (_, cadmin_email, _) = app.user(Some(a), "CLIENT ADMIN").await;
    let (_, cop_email, _) = app.user(Some(a), "CLIENT OPERATOR").await;
    let (_, op_email, _) = app.user(None, "OPERATOR").await;
    let (_, other_email, _) = app.user(Some(b), "CLIENT ADMIN").await;
    let folder = folder_with(&app, &token, json!({"transaction_id": "tx-edit"}), "first.jpg").await;
    let other_folder = folder_with(&app, &token, json!({}), "elsewhere.jpg").await;
    let page_path = format!("/console/orders/{folder}");

    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let cadmin = console_login(&app, &cadmin_email, PASSWORD).await.0;
    let cop = console_login(&app, &cop_email, PASSWORD).await.0;
    let op = console_login(&app, &op_email, PASSWORD).await.0;
    let other = console_login(&app, &other_email, PASSWORD).await.0;
    let (csrf, cadmin_csrf) = (client.csrf(&app).await, cadmin.csrf(&app).await);

    // Who gets which form: the owner CLIENT and the company's CLIENT ADMIN add files, request
    // analyses and edit meta_data; only the CLIENT ADMIN deletes files and analyses; the
    // operators get none; another company's CLIENT ADMIN does not see the order.
    let add = format!("action=\"/console/orders/{folder}/media\"");
    let rerun = format!("action=\"/console/orders/{folder}/analyses\"");
    let meta = format!("action=\"/console/orders/{folder}/meta\"");
    let first_media = app.get(&format!("/api/folders/{folder}/media"), &token).await.body[0]["media_id"].clone();
    let media_delete = format!("/console/orders/{folder}/media/{}/delete", first_media.as_str().unwrap());
    for (who, console, writes, deletes) in [
        ("client", &client, true, false),
        ("client admin", &cadmin, true, true),
        ("client operator", &cop, false, false),
        ("operator", &op, false, false),
    ] {
        let (status, _, page) = console.get(&app, &page_path).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert_eq!(page.contains(&add), writes, "{who}: add media");
        assert_eq!(page.contains(&rerun), writes, "{who}: request analyses");
        assert_eq!(page.contains(&meta), writes, "{who}: meta_data");
        assert_eq!(page.contains(&media_delete), deletes, "{who}: delete a file");
        if writes {
            assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"kind2\""), "{who}");
            assert!(page.contains("name=\"threshold_min\"") && page.contains("hx-preserve"), "{who}");
        }
    }
    assert_eq!(other.get(&app, &page_path).await.0, StatusCode::NOT_FOUND);

    // Add files: CSRF first; the operators and the other company are refused; nothing added.
    let files = |csrf: &str, name: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part("file1", file_part(name, jpeg(70, 50)))
            .text("kind1", "id_front")
    };
    let add_path = format!("/console/orders/{folder}/media");
    assert_eq!(client.post_multipart(&app, &add_path, files("nope", "x.jpg")).await.0, StatusCode::FORBIDDEN);
    let cop_csrf = cop.csrf(&app).await;
    let (status, _, body) = cop.post_multipart(&app, &add_path, files(&cop_csrf, "x.jpg")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("role=\"alert\""), "the refusal is said: {body}");
    let other_csrf = other.csrf(&app).await;
    assert_eq!(other.post_multipart(&app, &add_path, files(&other_csrf, "x.jpg")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(media_count(&app, folder, &token).await, 1);
    // Bad input: no file, an unknown content type, a file that is no image; nothing added.
    let (status, _, body) =
        client.post_multipart(&app, &add_path, reqwest::multipart::Form::new().text("csrf", csrf.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Choose at least one file") && body.contains(&add), "{body}");
    let odd = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file1", file_part("x.jpg", jpeg(64, 48)))
        .text("kind1", HOSTILE);
    let (status, _, body) = client.post_multipart(&app, &add_path, odd).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Unknown content type") && !body.contains(HOSTILE), "{body}");
    let junk = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file1", file_part("ok.jpg", jpeg(64, 48)))
        .part("file2", file_part(HOSTILE, b"not an image at all".to_vec()))
        .text("kind1", "selfie")
        .text("kind2", "selfie");
    let (status, _, body) = client.post_multipart(&app, &add_path, junk).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("is rejected") && !body.contains(HOSTILE), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the file is named, escaped: {body}");
    assert_eq!(media_count(&app, folder, &token).await, 1, "all or nothing");
    // A hostile file name goes in with its input's tags and shows escaped.
    let (status, location, body) = client.post_multipart(&app, &add_path, files(&csrf, HOSTILE)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.starts_with(&format!("/console/orders/{folder}?done=media_added")), "{location}");
    // A file's meta_data row: a key and a text value for the files of its input.
    let with_meta = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file1", file_part("meta-a.jpg", jpeg(70, 52)))
        .part("file1", file_part("meta-b.jpg", jpeg(72, 52)))
        .text("kind1", "selfie")
        .text("mkey1", "source")
        .text("mval1", HOSTILE)
        .part("file2", file_part("meta-c.jpg", jpeg(74, 52)))
        .text("kind2", "selfie");
    let (status, _, body) = client.post_multipart(&app, &add_path, with_meta).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let all = app.get(&format!("/api/folders/{folder}/media"), &token).await.body;
    for (name, meta) in [
        ("meta-a.jpg", json!({"source": HOSTILE})),
        ("meta-b.jpg", json!({"source": HOSTILE})),
        ("meta-c.jpg", json!({})),
    ] {
        let m = all.as_array().unwrap().iter().find(|m| m["original_name"] == name).expect(name);
        assert_eq!(m["meta_data"], meta, "{name}");
    }
    let (_, _, page) = client.get(&app, &page_path).await;
    assert!(page.contains("&quot;source&quot;: &quot;&lt;script&gt;") && !page.contains(HOSTILE), "{page}");
    assert!(page.contains("<label for=\"mkey1\">File meta_data: key (optional)</label>"), "{page}");
    for m in all.as_array().unwrap().iter().filter(|m| m["original_name"].as_str().unwrap().starts_with("meta-")) {
        app.delete(&format!("/api/media/{}", m["media_id"].as_str().unwrap()), &app.admin_token)
            .await
            .assert_status(204);
    }
    // From console.js (HX-Request): HX-Redirect to the same place, the fragment kept.
    let res = browser()
        .post(app.url(&add_path))
        .header("Cookie", client.cookie())
        .header("HX-Request", "true")
        .multipart(files(&csrf, "by-script.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["hx-redirect"], format!("/console/orders/{folder}?done=media_added#add-media").as_str());
    let media_now = app.get(&format!("/api/folders/{folder}/media"), &token).await.body;
    let by_script = media_now.as_array().unwrap().iter().find(|m| m["original_name"] == "by-script.jpg").unwrap();
    app.delete(&format!("/api/media/{}", by_script["media_id"].as_str().unwrap()), &app.admin_token)
        .await
        .assert_status(204);
    let media = app.get(&format!("/api/folders/{folder}/media"), &token).await.body;
    let added = media.as_array().unwrap().iter().find(|m| m["original_name"] == HOSTILE).expect("added").clone();
    assert_eq!(added["tags"], json!(["photo_id", "photo_id_front"]));
    let (_, _, page) = client.get(&app, &location).await;
    assert!(page.contains("Files added to the order.") && !page.contains(HOSTILE), "{page}");
    assert_eq!(page.matches("<script").count(), 2, "only the htmx and console.js script elements");
    // The company's CLIENT ADMIN adds files to the CLIENT's order too.
    let (status, _, _) = cadmin.post_multipart(&app, &add_path, files(&cadmin_csrf, "by-admin.jpg")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(media_count(&app, folder, &token).await, 3);

    // Request analyses: CSRF, roles, bad options and none ticked refused, the options kept.
    let rerun_path = format!("/console/orders/{folder}/analyses");
    let biometry = [("analysis", "biometry"), ("threshold_min", "0.55"), ("threshold_max", "0.95")];
    assert_eq!(client.send(&app, &rerun_path, &csrf_form("bad", &biometry)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(cop.send(&app, &rerun_path, &csrf_form(&cop_csrf, &biometry)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(other.send(&app, &rerun_path, &csrf_form(&other_csrf, &biometry)).await.0, StatusCode::NOT_FOUND);
    let (status, _, body) = client.send(&app, &rerun_path, &csrf_form(&csrf, &[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Tick at least one analysis.") && body.contains(&rerun), "{body}");
    let reversed = [("analysis", "biometry"), ("threshold_min", "0.97"), ("threshold_max", "0.95")];
    let (status, _, body) = client.send(&app, &rerun_path, &csrf_form(&csrf, &reversed)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("threshold_min must not be above threshold_max."), "{body}");
    assert!(body.contains("value=\"0.97\"") && body.contains("value=\"biometry\" checked"), "what was sent: {body}");
    assert!(analyses_now(&app, folder, &token).await.is_empty());
    let (status, location, body) = client.send(&app, &rerun_path, &csrf_form(&csrf, &biometry)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, format!("/console/orders/{folder}?done=analyses_requested"));
    let list = analyses_now(&app, folder, &token).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["type"], "BIOMETRY");
    assert_eq!(list[0]["params"]["threshold_min"], json!(0.55));
    assert_eq!(list[0]["threshold"], json!(0.95));
    let (_, _, page) = client.get(&app, &location).await;
    assert!(page.contains("Analyses requested.") && page.contains("0.55 – 0.95"), "{page}");
    // Twice: a new analysis beside the first.
    let (status, _, _) = cadmin.send(&app, &rerun_path, &csrf_form(&cadmin_csrf, &[("analysis", "quality")])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(analyses_now(&app, folder, &token).await.len(), 2);

    // meta_data: replaced as typed; bad JSON or not an object is refused with the text kept.
    let meta_path = format!("/console/orders/{folder}/meta");
    let hostile = json!({"transaction_id": "tx-edited", "note": HOSTILE, HOSTILE: "\"><img src=x>"}).to_string();
    let (status, _) = client.post(&app, &meta_path, &[("csrf", "x"), ("meta_data", &hostile)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = op.post(&app, &meta_path, &[("csrf", &op.csrf(&app).await), ("meta_data", &hostile)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = other.post(&app, &meta_path, &[("csrf", &other_csrf), ("meta_data", &hostile)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let broken = format!("{{\"note\": \"{HOSTILE}\", ");
    let (status, body) = client.post(&app, &meta_path, &[("csrf", &csrf), ("meta_data", &broken)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("meta_data is not valid JSON") && !body.contains(HOSTILE), "{body}");
    assert!(body.contains("{&quot;note&quot;: &quot;&lt;script&gt;"), "the typed text comes back: {body}");
    let (status, body) = client.post(&app, &meta_path, &[("csrf", &csrf), ("meta_data", "[1, 2]")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("role=\"alert\"") && body.contains("[1, 2]</textarea>"), "{body}");
    assert_eq!(meta_now(&app, folder, &token).await, json!({"transaction_id": "tx-edit"}), "unchanged");
    let (status, body) = client.post(&app, &meta_path, &[("csrf", &csrf), ("meta_data", &hostile)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(meta_now(&app, folder, &token).await, serde_json::from_str::<serde_json::Value>(&hostile).unwrap());
    let (_, _, page) = client.get(&app, &format!("{page_path}?done=saved")).await;
    assert!(page.contains("Saved.") && !page.contains(HOSTILE) && !page.contains("<img src=x>"), "{page}");
    assert_eq!(page.matches("<script").count(), 2);
    // Emptied: {}.
    let (status, _) = cadmin.post(&app, &meta_path, &[("csrf", &cadmin_csrf), ("meta_data", "")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(meta_now(&app, folder, &token).await, json!({}));

    // meta_data key by key (a tree): each key shown with its value, nested values as lists;
    // a key set (text or JSON: the API's PATCH merge) or deleted (its DELETE ?key=), the
    // others kept; audited like the raw edit.
    let tree = json!({"transaction_id": "tx-tree", "nested": {"a": [1, "x"]}});
    app.post(&format!("/api/folders/{folder}/meta_data"), &token, tree.clone()).await.assert_status(200);
    let (_, _, page) = client.get(&app, &page_path).await;
    assert!(page.contains(&format!("id=\"meta-keys-{folder}\"")), "{page}");
    let nested =
        "<ul class=\"tree\"><li><code>a</code>: <ol class=\"tree\"><li><code>1</code></li><li>x</li></ol></li></ul>";
    assert!(page.contains(nested), "{page}");
    assert!(
        page.contains("name=\"key\" value=\"nested\"") && page.contains("value=\"{&quot;a&quot;:[1,&quot;x&quot;]}\"")
    );
    let (_, _, op_page) = op.get(&app, &page_path).await;
    assert!(!op_page.contains("meta-keys-") && !op_page.contains("/meta/key"), "no key editing for an operator");
    let audit_url = format!("/api/audit?object_id={folder}&event=update");
    let audited = || async { app.get(&audit_url, &app.admin_token).await.body["total_count"].as_u64().unwrap() };
    let edits_before = audited().await;
    let key_path = format!("/console/orders/{folder}/meta/key");
    let key_delete = format!("/console/orders/{folder}/meta/key/delete");
    let set = [("key", "channel"), ("value", HOSTILE), ("as", "text")];
    assert_eq!(client.send(&app, &key_path, &csrf_form("x", &set)).await.0, StatusCode::FORBIDDEN);
    let op_csrf = op.csrf(&app).await;
    assert_eq!(op.send(&app, &key_path, &csrf_form(&op_csrf, &set)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(other.send(&app, &key_path, &csrf_form(&other_csrf, &set)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(op.send(&app, &key_delete, &csrf_form(&op_csrf, &[("key", "nested")])).await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = client.send(&app, &key_path, &csrf_form(&csrf, &[("key", " "), ("value", "v")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("The key must not be empty."), "{body}");
    let bad_json = [("key", "score"), ("value", "{\"open"), ("as", "json")];
    let (status, _, body) = client.send(&app, &key_path, &csrf_form(&csrf, &bad_json)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("score: the value is not valid JSON") && body.contains("value=\"{&quot;open\""), "{body}");
    assert!(
        body.contains("\" open><summary>Edit the order&#39;s meta_data key by key"),
        "open, what was typed: {body}"
    );
    // The preserved editors' ids carry the meta_data's version: a page after a change does not
    // keep the old values (htmx keeps an element whose id is on both pages).
    let version = |page: &str| {
        let at = page.find(&format!("id=\"meta-keys-{folder}-")).expect("the versioned editor");
        page[at..at + 60].split('"').nth(1).unwrap().to_owned()
    };
    let before_change = version(&client.get(&app, &page_path).await.2);
    assert_eq!(meta_now(&app, folder, &token).await, tree, "unchanged");
    assert_eq!(audited().await, edits_before);
    let (status, location, body) = client.send(&app, &key_path, &csrf_form(&csrf, &set)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, format!("/console/orders/{folder}?done=saved#meta-keys-{folder}"));
    let after_change = version(&client.get(&app, &page_path).await.2);
    assert_ne!(before_change, after_change);
    assert_eq!(after_change, version(&client.get(&app, &page_path).await.2), "unchanged while nothing changes");
    let json_value = [("key", "score"), ("value", " [0.5, {\"k\": true}] "), ("as", "json")];
    assert_eq!(cadmin.send(&app, &key_path, &csrf_form(&cadmin_csrf, &json_value)).await.0, StatusCode::SEE_OTHER);
    let changed = [("key", "transaction_id"), ("value", "tx-tree-2"), ("as", "text")];
    assert_eq!(client.send(&app, &key_path, &csrf_form(&csrf, &changed)).await.0, StatusCode::SEE_OTHER);
    let expected = json!({"transaction_id": "tx-tree-2", "nested": {"a": [1, "x"]}, "channel": HOSTILE, "score": [0.5, {"k": true}]});
    assert_eq!(meta_now(&app, folder, &token).await, expected);
    let (status, location, _) = client.send(&app, &key_delete, &csrf_form(&csrf, &[("key", "nested")])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/console/orders/{folder}?done=meta_key_deleted#meta-keys-{folder}"));
    assert_eq!(
        meta_now(&app, folder, &token).await,
        json!({"transaction_id": "tx-tree-2", "channel": HOSTILE, "score": [0.5, {"k": true}]})
    );
    assert_eq!(audited().await, edits_before + 4, "each key change audited");
    let (_, _, page) = client.get(&app, &format!("{page_path}?done=meta_key_deleted")).await;
    assert!(page.contains("Key deleted.") && !page.contains(HOSTILE), "{page}");
    assert!(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"), "the value escaped: {page}");
    assert_eq!(page.matches("<script").count(), 2);
    let (status, body) = client.post(&app, &meta_path, &[("csrf", &csrf), ("meta_data", "")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // Delete a file: the CLIENT ADMIN, after typing the start of its id.
    let first = media.as_array().unwrap().iter().find(|m| m["original_name"] == "first.jpg").unwrap()["media_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let del = format!("/console/orders/{folder}/media/{first}/delete");
    let (status, _) = client.post(&app, &del, &[("csrf", &csrf), ("confirm", &first[..8])]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a CLIENT does not delete");
    let (status, _) = cadmin.post(&app, &del, &[("csrf", "x"), ("confirm", &first[..8])]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "CSRF");
    let (status, body) = cadmin.post(&app, &del, &[("csrf", &cadmin_csrf), ("confirm", "deadbeef")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("nothing was deleted"), "{body}");
    let (status, _) = other.post(&app, &del, &[("csrf", &other_csrf), ("confirm", &first[..8])]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A file of another order through this order's path: not found, still there.
    let elsewhere = app.get(&format!("/api/folders/{other_folder}/media"), &token).await.body[0]["media_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = format!("/console/orders/{folder}/media/{elsewhere}/delete");
    let (status, _) = cadmin.post(&app, &wrong, &[("csrf", &cadmin_csrf), ("confirm", &elsewhere[..8])]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.get(&format!("/api/media/{elsewhere}"), &token).await.assert_status(200);
    assert_eq!(media_count(&app, folder, &token).await, 3);
    let (_, _, page) = cadmin.get(&app, &page_path).await;
    assert!(page.contains(&format!("{del}\"")) && page.contains(&format!("id=\"confirm-{first}\"")), "{page}");
    let (status, body) = cadmin.post(&app, &del, &[("csrf", &cadmin_csrf), ("confirm", &first[..8])]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    app.get(&format!("/api/media/{first}"), &token).await.assert_error(404, 10);
    assert_eq!(media_count(&app, folder, &token).await, 2);

    // Delete an analysis: the same rules; the order keeps the other one.
    let quality = analyses_now(&app, folder, &token).await.into_iter().find(|a| a["type"] == "QUALITY").unwrap();
    let aid = quality["analyse_id"].as_str().unwrap().to_owned();
    let del = format!("/console/orders/{folder}/analyses/{aid}/delete");
    let (status, _) = client.post(&app, &del, &[("csrf", &csrf), ("confirm", &aid[..8])]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = cadmin.post(&app, &del, &[("csrf", "x"), ("confirm", &aid[..8])]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = cadmin.post(&app, &del, &[("csrf", &cadmin_csrf), ("confirm", "0000")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let wrong = format!("/console/orders/{other_folder}/analyses/{aid}/delete");
    let (status, _) = cadmin.post(&app, &wrong, &[("csrf", &cadmin_csrf), ("confirm", &aid[..8])]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(analyses_now(&app, folder, &token).await.len(), 2);
    let (status, location) = {
        let (s, _) = cadmin.post(&app, &del, &[("csrf", &cadmin_csrf), ("confirm", &aid)]).await;
        (s, format!("{page_path}?done=analysis_deleted"))
    };
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.get(&format!("/api/analyses/{aid}"), &token).await.assert_error(404, 10);
    let left = analyses_now(&app, folder, &token).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["type"], "BIOMETRY");
    let (_, _, page) = cadmin.get(&app, &location).await;
    assert!(page.contains("Analysis deleted.") && !page.contains(&aid), "{page}");
}

#[tokio::test]
async fn sqlite_media_meta_data_editing() {
    media_meta_data_is_edited_key_by_key(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_media_meta_data_editing() {
    if postgres_available() {
        media_meta_data_is_edited_key_by_key(Backend::Postgres).await;
    }
}

/// A file's meta_data on the order page: the key/value editor under its card for the roles the
/// API lets change it (what `PATCH`/`DELETE /api/media/{id}/meta_data/` run), read-only for the
/// others; CSRF, audit, escaping, a file of another order refused.
async fn media_meta_data_is_edited_key_by_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (app.company("Media meta A").await, app.company("Media meta B").await);
    let (_, client_email, token) = app.user(Some(a), "CLIENT").await;
    let (_, cop_email, _) = app.user(Some(a), "CLIENT OPERATOR").await;
    let (_, other_email, _) = app.user(Some(b), "CLIENT ADMIN").await;
    let folder = folder_with(&app, &token, json!({}), "card.jpg").await;
    let other_folder = folder_with(&app, &token, json!({}), "elsewhere.jpg").await;
    let first_media = |f: Uuid| {
        let app = &app;
        let token = token.clone();
        async move {
            let list = app.get(&format!("/api/folders/{f}/media"), &token).await.body;
            Uuid::parse_str(list[0]["media_id"].as_str().unwrap()).unwrap()
        }
    };
    let (media, elsewhere) = (first_media(folder).await, first_media(other_folder).await);
    let meta_url = format!("/api/media/{media}/meta_data");
    app.post(&meta_url, &token, json!({"source": "upload", "nested": {"a": [1, "x"]}})).await.assert_status(200);
    let page_path = format!("/console/orders/{folder}");
    let key_path = format!("/console/orders/{folder}/media/{media}/meta/key");
    let key_delete = format!("{key_path}/delete");

    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let cop = console_login(&app, &cop_email, PASSWORD).await.0;
    let other = console_login(&app, &other_email, PASSWORD).await.0;
    let (csrf, cop_csrf, other_csrf) = (client.csrf(&app).await, cop.csrf(&app).await, other.csrf(&app).await);

    // The writer gets the editor under the card (each key with its value); the operator sees
    // the file's meta_data read-only, without a form.
    let (_, _, page) = client.get(&app, &page_path).await;
    assert!(page.contains(&format!("<div id=\"media-keys-{media}\">")), "{page}");
    assert!(page.contains(&format!("action=\"{key_path}\"")) && page.contains(&format!("action=\"{key_delete}\"")));
    assert!(page.contains("Edit this file&#39;s meta_data") && page.contains("name=\"key\" value=\"nested\""));
    let (status, _, op_page) = cop.get(&app, &page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(op_page.contains("&quot;source&quot;: &quot;upload&quot;"), "read-only: {op_page}");
    assert!(!op_page.contains("media-keys-") && !op_page.contains("/meta/key"), "no editor: {op_page}");

    let audit_url = format!("/api/audit?object_id={media}&event=update");
    let audited = || async { app.get(&audit_url, &app.admin_token).await.body["total_count"].as_u64().unwrap() };
    let edits_before = audited().await;
    let meta_now = || async { app.get(&meta_url, &token).await.body };

    // Refusals: CSRF, a read-only role, another company, a file of another order through this
    // order's path, an empty key, a value that is no JSON; nothing changed, nothing audited.
    let set = [("key", "channel"), ("value", HOSTILE), ("as", "text")];
    assert_eq!(client.send(&app, &key_path, &csrf_form("x", &set)).await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = cop.send(&app, &key_path, &csrf_form(&cop_csrf, &set)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("role=\"alert\""), "the refusal is said: {body}");
    let (status, _, _) = cop.send(&app, &key_delete, &csrf_form(&cop_csrf, &[("key", "source")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(other.send(&app, &key_path, &csrf_form(&other_csrf, &set)).await.0, StatusCode::NOT_FOUND);
    let wrong = format!("/console/orders/{folder}/media/{elsewhere}/meta/key");
    assert_eq!(client.send(&app, &wrong, &csrf_form(&csrf, &set)).await.0, StatusCode::NOT_FOUND);
    let junk = format!("/console/orders/{folder}/media/not-an-id/meta/key");
    assert_eq!(client.send(&app, &junk, &csrf_form(&csrf, &set)).await.0, StatusCode::NOT_FOUND);
    let (status, _, body) = client.send(&app, &key_path, &csrf_form(&csrf, &[("key", " "), ("value", "v")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("The key must not be empty."), "{body}");
    let bad_json = [("key", "score"), ("value", "{\"open"), ("as", "json")];
    let (status, _, body) = client.send(&app, &key_path, &csrf_form(&csrf, &bad_json)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("score: the value is not valid JSON") && body.contains("value=\"{&quot;open\""), "{body}");
    assert!(body.contains("\" open><summary>Edit this file&#39;s meta_data"), "the file's editor open: {body}");
    assert!(!body.contains("\" open><summary>Edit the order&#39;s meta_data"), "not the order's: {body}");
    assert_eq!(meta_now().await, json!({"source": "upload", "nested": {"a": [1, "x"]}}), "unchanged");
    assert_eq!(audited().await, edits_before);

    // Add a key (text, hostile), add one as JSON, change one, delete one: the others stay.
    let (status, location, body) = client.send(&app, &key_path, &csrf_form(&csrf, &set)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, format!("/console/orders/{folder}?done=saved#media-keys-{media}"));
    let json_value = [("key", "score"), ("value", " [0.5, {\"k\": true}] "), ("as", "json")];
    assert_eq!(client.send(&app, &key_path, &csrf_form(&csrf, &json_value)).await.0, StatusCode::SEE_OTHER);
    let changed = [("key", "source"), ("value", "camera"), ("as", "text")];
    assert_eq!(client.send(&app, &key_path, &csrf_form(&csrf, &changed)).await.0, StatusCode::SEE_OTHER);
    let (status, location, _) = client.send(&app, &key_delete, &csrf_form(&csrf, &[("key", "nested")])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/console/orders/{folder}?done=meta_key_deleted#media-keys-{media}"));
    assert_eq!(meta_now().await, json!({"source": "camera", "channel": HOSTILE, "score": [0.5, {"k": true}]}));
    assert_eq!(audited().await, edits_before + 4, "each key change audited");
    let folder_meta = app.get(&format!("/api/folders/{folder}/meta_data"), &token).await.body;
    assert_eq!(folder_meta, json!({}), "the order's own meta_data untouched");
    let other_meta = app.get(&format!("/api/media/{elsewhere}/meta_data"), &token).await.body;
    assert_eq!(other_meta, json!({}), "the other order's file untouched");
    let (_, _, page) = client.get(&app, &format!("{page_path}?done=meta_key_deleted")).await;
    assert!(page.contains("Key deleted.") && !page.contains(HOSTILE), "{page}");
    assert!(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"), "the value escaped: {page}");
    assert_eq!(page.matches("<script").count(), 2);
}

#[tokio::test]
async fn sqlite_comment_after_the_decision() {
    a_decided_orders_comment_is_set_by_the_roles_the_api_lets(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_comment_after_the_decision() {
    if postgres_available() {
        a_decided_orders_comment_is_set_by_the_roles_the_api_lets(Backend::Postgres).await;
    }
}

/// `resolution_comment`: a form for OPERATOR and CLIENT OPERATOR (what `PATCH /api/folders/{id}`
/// lets) before any analysis and after the decision, through `comment_folder`; audited, CSRF,
/// escaped, the API's limit.
async fn a_decided_orders_comment_is_set_by_the_roles_the_api_lets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (app.company("Comment A").await, app.company("Comment B").await);
    let (_, client_email, token) = app.user(Some(a), "CLIENT").await;
    let (_, cop_email, _) = app.user(Some(a), "CLIENT OPERATOR").await;
    let (_, op_email, _) = app.user(None, "OPERATOR").await;
    let (_, other_email, _) = app.user(Some(b), "CLIENT OPERATOR").await;
    let folder = folder_with(&app, &token, json!({}), "selfie.jpg").await;
    let page_path = format!("/console/orders/{folder}");
    let path = format!("/console/orders/{folder}/comment");
    let action = format!("action=\"{path}\"");
    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let cop = console_login(&app, &cop_email, PASSWORD).await.0;
    let op = console_login(&app, &op_email, PASSWORD).await.0;
    let other = console_login(&app, &other_email, PASSWORD).await.0;
    let (csrf, cop_csrf, op_csrf) = (client.csrf(&app).await, cop.csrf(&app).await, op.csrf(&app).await);
    let other_csrf = other.csrf(&app).await;

    // No analysis yet: the API takes a comment then, so the deciding roles get the form (the
    // CLIENT does not); one set now stands.
    assert!(cop.get(&app, &page_path).await.2.contains(&action));
    assert!(!client.get(&app, &page_path).await.2.contains(&action));
    let early = vec![("csrf", cop_csrf.clone()), ("comment", "called the customer".to_owned())];
    assert_eq!(cop.send(&app, &path, &early).await.0, StatusCode::SEE_OTHER);
    let read = app.get(&format!("/api/folders/{folder}"), &token).await;
    assert_eq!(read.body["resolution_comment"], "called the customer");
    let cleared = vec![("csrf", cop_csrf.clone()), ("comment", String::new())];
    assert_eq!(cop.send(&app, &path, &cleared).await.0, StatusCode::SEE_OTHER);
    let analyses =
        app.post(&format!("/api/folders/{folder}/analyses/"), &token, json!({"analyses": [{"type": "QUALITY"}]})).await;
    analyses.assert_status(201);
    let analyse_id = analyses.body[0]["analyse_id"].as_str().unwrap().to_owned();
    assert_eq!(wait_analysis(&app, &token, &analyse_id).await["state"], "FINISHED");

    // Decided: the deciding roles get the form, the CLIENT does not.
    for (who, console, shown) in [("client operator", &cop, true), ("operator", &op, true), ("client", &client, false)]
    {
        let (status, _, page) = console.get(&app, &page_path).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert_eq!(page.contains(&action), shown, "{who}: {page}");
    }
    let comment_now =
        || async { app.get(&format!("/api/folders/{folder}"), &token).await.body["resolution_comment"].clone() };
    let audit_url = format!("/api/audit?object_id={folder}&event=update");
    let audited = || async { app.get(&audit_url, &app.admin_token).await.body["total_count"].as_u64().unwrap() };
    let before = audited().await;

    // Refusals: CSRF, the CLIENT (the API's 403, said), another company (404), over the limit
    // (400, the typed text back); nothing changed or audited.
    let set = |csrf: &str, comment: &str| vec![("csrf", csrf.to_owned()), ("comment", comment.to_owned())];
    assert_eq!(cop.send(&app, &path, &set("x", "late")).await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = client.send(&app, &path, &set(&csrf, "late")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("role=\"alert\"") && body.contains("only an OPERATOR or CLIENT OPERATOR"), "{body}");
    assert_eq!(other.send(&app, &path, &set(&other_csrf, "late")).await.0, StatusCode::NOT_FOUND);
    let long = format!("{HOSTILE}{}", "x".repeat(4096));
    let (status, _, body) = cop.send(&app, &path, &set(&cop_csrf, &long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("resolution_comment has more than 4096 characters"), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;xxx") && !body.contains(HOSTILE), "typed back: {body}");
    let bogus = format!("/console/orders/{}/comment", Uuid::new_v4());
    assert_eq!(cop.send(&app, &bogus, &set(&cop_csrf, "late")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(comment_now().await, Value::Null);
    assert_eq!(audited().await, before);

    // Set (hostile, escaped), set again unchanged (nothing audited), changed by the OPERATOR,
    // cleared.
    let (status, location, body) = cop.send(&app, &path, &set(&cop_csrf, HOSTILE)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, format!("{page_path}?done=comment_saved#comment-{folder}"));
    assert_eq!(comment_now().await, json!(HOSTILE));
    let (_, _, page) = cop.get(&app, &location).await;
    assert!(page.contains("Comment saved.") && !page.contains(HOSTILE), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;</textarea>"), "the form holds it: {page}");
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(cop.send(&app, &path, &set(&cop_csrf, HOSTILE)).await.0, StatusCode::SEE_OTHER);
    assert_eq!(audited().await, before + 1, "unchanged: nothing recorded");
    assert_eq!(op.send(&app, &path, &set(&op_csrf, " second look ")).await.0, StatusCode::SEE_OTHER);
    assert_eq!(comment_now().await, json!("second look"));
    assert_eq!(cop.send(&app, &path, &set(&cop_csrf, "  ")).await.0, StatusCode::SEE_OTHER);
    assert_eq!(comment_now().await, Value::Null, "emptied: cleared");
    assert_eq!(audited().await, before + 3);
}

#[tokio::test]
async fn sqlite_statistics_in_local_time() {
    statistics_page_counts_the_days_of_the_browsers_offset(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_statistics_in_local_time() {
    if postgres_available() {
        statistics_page_counts_the_days_of_the_browsers_offset(Backend::Postgres).await;
    }
}

/// The statistics page in a fixed offset (`utc_offset`, which console.js sets to the browser's):
/// the window's dates and the periods are that offset's days; the page says which; UTC without it.
async fn statistics_page_counts_the_days_of_the_browsers_offset(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Local Co").await;
    let (user, email, _) = app.user(Some(company), "CLIENT").await;
    // 2025-03-31 22:30 and 2025-04-01 00:30 UTC: both 1 April at +03:00, both 31 March at -05:30.
    crate::statistics::seed_around_midnight(&app, company, user).await;
    let client = console_login(&app, &email, PASSWORD).await.0;
    let orders = |page: &str| {
        let at = page.find("<dt>Orders created</dt><dd>").expect("the count") + "<dt>Orders created</dt><dd>".len();
        page[at..].split('<').next().unwrap().to_owned()
    };
    let csv_rows = |csv: &str| csv.trim_end().split("\r\n").skip(1).map(str::to_owned).collect::<Vec<_>>();
    let window = "time_created.min=2025-03-31&time_created.max=2025-04-01";

    // UTC (no script): two days with one order each.
    let (_, _, page) = client.get(&app, &format!("/console/statistics?{window}")).await;
    assert!(
        page.contains("Dates and periods are UTC days.")
            && page.contains("name=\"utc_offset\" data-utc-offset value=\"\"")
    );
    assert_eq!(orders(&page), "2");
    let (_, _, csv) = client.get(&app, &format!("/console/statistics.csv?chart=orders&{window}")).await;
    let rows = csv_rows(&csv);
    assert!(rows.len() == 2 && rows[0].starts_with("2025-03-31,1,") && rows[1].starts_with("2025-04-01,1,"), "{csv}");

    // +03:00: both on 1 April; the page says so and its links carry the offset.
    let (_, _, page) = client.get(&app, &format!("/console/statistics?{window}&utc_offset=%2B03:00")).await;
    assert!(page.contains("Dates and periods are days at UTC+03:00 (this browser&#39;s offset"), "{page}");
    assert!(page.contains("name=\"utc_offset\" data-utc-offset value=\"+03:00\""), "{page}");
    assert!(page.contains("utc_offset=%2B03%3A00&amp;"), "the tabs and CSV links keep it: {page}");
    assert_eq!(orders(&page), "2");
    let (_, _, csv) =
        client.get(&app, &format!("/console/statistics.csv?chart=orders&{window}&utc_offset=%2B03:00")).await;
    let rows = csv_rows(&csv);
    assert!(rows.len() == 2 && rows[0].starts_with("2025-03-31,0,") && rows[1].starts_with("2025-04-01,2,"), "{csv}");
    // The window's dates are the offset's days: 31 March at +03:00 holds neither order, at
    // -05:30 both, in UTC one.
    let day = "time_created.min=2025-03-31&time_created.max=2025-03-31";
    for (offset, count) in [("%2B03:00", "0"), ("-05:30", "2"), ("Z", "1")] {
        let (_, _, page) = client.get(&app, &format!("/console/statistics?{day}&utc_offset={offset}")).await;
        assert_eq!(orders(&page), count, "{offset}");
    }
    // A malformed offset: said, and the page in UTC.
    let (status, _, page) = client.get(&app, &format!("/console/statistics?{window}&utc_offset={HOSTILE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("role=\"alert\">Invalid utc_offset value") && !page.contains(HOSTILE), "{page}");
    assert!(page.contains("Dates and periods are UTC days.") && orders(&page) == "2", "{page}");
    let (status, _, body) =
        client.get(&app, &format!("/console/statistics.csv?chart=orders&utc_offset={HOSTILE}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the CSV is refused: {body}");
    assert!(body.contains("Invalid utc_offset value") && !body.contains(HOSTILE), "{body}");
}

#[tokio::test]
async fn sqlite_statistics_and_system_page() {
    statistics_count_within_the_window_and_the_system_page_is_for_admin(Backend::Sqlite, "sqlite").await;
}

#[tokio::test]
async fn postgres_statistics_and_system_page() {
    if postgres_available() {
        statistics_count_within_the_window_and_the_system_page_is_for_admin(Backend::Postgres, "postgres").await;
    }
}

/// §4.8: each chart drawn as bars, a line or donuts as its GET form chose (an image with a
/// title and its numbers as a table), unknown choices read as bars, the page's own script
/// loaded on this page only, and unique persons by another meta_data key, escaped.
#[tokio::test]
async fn statistics_charts_have_kinds_and_persons_another_key() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let company = app.company("Charts Co").await;
    let (_, email, token) = app.user(Some(company), "CLIENT").await;
    for (iin, phone) in [("1", "+1"), ("1", "+2"), ("2", "+2")] {
        folder_with(&app, &token, json!({"iin": iin, "phone": phone}), "selfie.jpg").await;
    }
    folder_with(&app, &token, json!({"phone": HOSTILE}), "selfie.jpg").await;
    let client = console_login(&app, &email, PASSWORD).await.0;

    // Bars by default, both charts with their choosers; the PNG button waits for the script.
    let (status, _, page) = client.get(&app, "/console/statistics").await;
    assert_eq!(status, StatusCode::OK);
    for part in [
        "<script src=\"/console/assets/statistics.js\" defer></script>",
        "<li><a hx-boost=\"false\" href=\"/console/statistics\">Statistics</a></li>",
        "<svg class=\"chart\" id=\"chart-orders\" viewBox=\"0 0 720 200\" role=\"img\" \
         aria-labelledby=\"chart-orders-title\"><title id=\"chart-orders-title\">Orders over time by status</title>",
        "aria-labelledby=\"chart-types-title\"><title id=\"chart-types-title\">Analyses by type and result</title>",
        "<form method=\"get\" action=\"/console/statistics\" class=\"chart-kind\" data-chart=\"orders\">",
        "<select id=\"kind-orders\" name=\"chart_orders\"><option value=\"bars\" selected>Bars</option>",
        "<input type=\"hidden\" name=\"chart_types\" value=\"bars\">",
        "class=\"png\" data-chart=\"orders\" hidden>Save as PNG</button>",
        "<rect data-status=\"INITIAL\"",
        "<dt>Unique persons by iin</dt><dd>2 (3 orders carry iin)</dd>",
        "<summary>The chart&#39;s numbers</summary>",
        "<th scope=\"row\">QUALITY</th><td class=\"num\">0</td>",
        // The score histograms: bars or a line (no donut), each its own image and PNG button.
        "<form method=\"get\" action=\"/console/statistics\" class=\"chart-kind\" data-chart=\"scores\">",
        "<select id=\"kind-scores\" name=\"chart_scores\"><option value=\"bars\" selected>Bars</option>\
         <option value=\"line\">Line</option></select> <button type=\"submit\">Show</button></form>",
        "<svg class=\"chart\" id=\"chart-scores-quality\" viewBox=\"0 0 200 110\" role=\"img\" \
         aria-labelledby=\"chart-scores-quality-title\"><title id=\"chart-scores-quality-title\">\
         QUALITY confidence_spoofing (0)</title>",
        "class=\"png\" data-chart=\"scores-biometry\" hidden>Save as PNG</button>",
        "class=\"png\" data-chart=\"scores-collection\" hidden>Save as PNG</button>",
        "<input type=\"hidden\" name=\"chart_scores\" value=\"bars\">",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    assert_eq!(page.matches("class=\"png\" data-chart=").count(), 2 + 3, "{page}");
    // Only this page loads the script; it is served from the console's own path.
    let (_, _, orders) = client.get(&app, "/console").await;
    assert!(!orders.contains("statistics.js"), "{orders}");
    let (status, headers, js) = client.get(&app, "/console/assets/statistics.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert!(headers[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    assert!(js.contains("localStorage") && js.contains("toBlob") && !js.contains("eval("), "{js}");
    // No address but the SVG namespace's name (not a request).
    let addresses = js.replace("http://www.w3.org/2000/svg", "");
    assert!(!addresses.contains("http://") && !addresses.contains("https://"), "no request off-origin: {js}");

    // Lines: orders per status and analyses per type over the 7 days; the choices go along.
    let (_, _, line) = client.get(&app, "/console/statistics?chart_orders=line&chart_types=line").await;
    for part in [
        "<polyline class=\"line\" data-status=\"INITIAL\" points=\"",
        "<polyline class=\"line\" data-type=\"QUALITY\" points=\"",
        "<title id=\"chart-types-title\">Analyses over time by type</title>",
        "<option value=\"line\" selected>Line</option>",
        "<input type=\"hidden\" name=\"chart_orders\" value=\"line\">",
        "tab=performance",
        "chart_orders=line&amp;chart_types=line&amp;chart_scores=bars&amp;tab=performance",
        "chart_orders=line&amp;chart_types=line&amp;chart_scores=bars&amp;chart=orders",
        "<span class=\"badge\" data-type=\"BIOMETRY\">BIOMETRY</span>",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert_eq!(line.matches("<polyline ").count(), 6 + 4, "a line per status and per type: {line}");
    assert_eq!(line.matches("<circle class=\"point\" data-status=").count(), 6 * 7, "{line}");
    // The line's last point is the day with the 4 orders, at the top.
    assert!(line.contains("<title>") && line.contains(" INITIAL 4</title>"), "{line}");

    // Donuts: one of the window's orders by status, one per analysis type.
    let (_, _, donut) = client.get(&app, "/console/statistics?chart_orders=donut&chart_types=donut").await;
    assert!(donut.contains("<path data-status=\"INITIAL\" d=\"M90.00 10.00A80 80"), "{donut}");
    assert!(donut.contains("<title>INITIAL 4 (100.0 %)</title>"), "{donut}");
    assert!(donut.contains("<svg class=\"chart\" id=\"chart-types\" viewBox=\"0 0 720 200\""), "{donut}");
    for t in ["QUALITY", "BIOMETRY", "COLLECTION", "DOCUMENTS"] {
        assert!(donut.contains(&format!("text-anchor=\"middle\">{t}</text>")), "{t} in {donut}");
    }
    assert_eq!(donut.matches("<circle class=\"ring\"").count(), 1 + 4, "{donut}");

    // The histograms as lines (a point per bin), kept by the other charts' forms and the CSV
    // link; they have no donut: asked for one, they are bars.
    let (_, _, scores) = client.get(&app, "/console/statistics?chart_scores=line").await;
    for part in [
        "<polyline class=\"line\" data-type=\"QUALITY\" points=\"5.0,100.0 15.0,100.0 ",
        "<polyline class=\"line\" data-type=\"COLLECTION\" points=\"",
        "<option value=\"line\" selected>Line</option></select> <button type=\"submit\">Show</button></form>",
        "<input type=\"hidden\" name=\"chart_scores\" value=\"line\">",
        "chart_scores=line&amp;chart=scores",
    ] {
        assert!(scores.contains(part), "{part} in {scores}");
    }
    assert_eq!(scores.matches("<circle class=\"point\" data-type=\"BIOMETRY\"").count(), 20, "{scores}");
    let (_, _, no_donut) = client.get(&app, "/console/statistics?chart_scores=donut").await;
    assert!(no_donut.contains("<input type=\"hidden\" name=\"chart_scores\" value=\"bars\">"), "{no_donut}");
    assert!(!no_donut.contains("data-type=\"QUALITY\" points="), "{no_donut}");

    // Another word is bars, and is not written back.
    let (status, _, odd) = client.get(&app, "/console/statistics?chart_orders=%22%3E%3Cb%3Epie&chart_types=pie").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        odd.contains("<option value=\"bars\" selected>") && !odd.contains("&lt;b&gt;pie") && !odd.contains("=\"pie"),
        "{odd}"
    );

    // Persons by another key: the field, the tiles, the CSV; the key and values escaped.
    let (_, _, phone) = client.get(&app, "/console/statistics?person_key=phone").await;
    for part in [
        "<input id=\"f-person_key\" name=\"person_key\" type=\"text\" maxlength=\"100\" value=\"phone\">",
        "<dt>Unique persons by phone</dt><dd>3 (4 orders carry phone)</dd>",
        "person_key=phone&amp;chart_orders=bars",
        "<input type=\"hidden\" name=\"person_key\" value=\"phone\">",
    ] {
        assert!(phone.contains(part), "{part} in {phone}");
    }
    assert!(!phone.contains(HOSTILE), "{phone}");
    let (_, _, csv) = client.get(&app, "/console/statistics.csv?chart=orders&person_key=phone").await;
    assert!(csv.trim_end().ends_with(",4,0,0,0,0,0,4,3"), "3 phones among 4 orders today: {csv}");
    let (_, _, csv) = client.get(&app, "/console/statistics.csv?chart=orders").await;
    assert!(csv.trim_end().ends_with(",4,0,0,0,0,0,4,2"), "2 iins: {csv}");
    let (status, _, hostile) =
        client.get(&app, "/console/statistics?person_key=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!hostile.contains(HOSTILE), "{hostile}");
    assert!(
        hostile.contains("<dt>Unique persons by &lt;script&gt;alert(1)&lt;/script&gt;</dt><dd>0 (0 orders carry"),
        "{hostile}"
    );
}

async fn statistics_count_within_the_window_and_the_system_page_is_for_admin(backend: Backend, db: &str) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Stats Co").await;
    let (_, client_email, token) = app.user(Some(company), "CLIENT").await;
    let (_, _, stranger) = app.user(Some(app.company("Other Co").await), "CLIENT").await;
    for iin in ["1", "1", "2"] {
        folder_with(&app, &token, json!({"iin": iin}), "selfie.jpg").await;
    }
    folder_with(&app, &stranger, json!({}), "selfie.jpg").await;
    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let (status, _, body) = client.get(&app, "/console/statistics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<dt>Orders created</dt><dd>3</dd>"), "its own 3 orders: {body}");
    assert!(body.contains("<dt>Unique persons by iin</dt><dd>2 (3 orders carry iin)</dd>"), "{body}");
    assert!(body.contains("aria-label=\"INITIAL 3\""), "{body}");
    assert!(body.contains("<th scope=\"row\">QUALITY</th>"), "{body}");
    let (_, _, past) =
        client.get(&app, "/console/statistics?time_created.min=2001-01-01&time_created.max=2001-01-31").await;
    assert!(past.contains("<dt>Orders created</dt><dd>0</dd>"), "{past}");
    let (status, _, bad) = client.get(&app, "/console/statistics?time_created.min=yesterday-ish").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bad.contains("class=\"error\""), "{bad}");
    let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    let (_, _, all) = admin.get(&app, "/console/statistics").await;
    assert!(all.contains("<dt>Orders created</dt><dd>4</dd>"), "{all}");
    // GAP-6: the figures come from /api/statistics/*: bars over the 7 days with their CSV, a
    // company filter for ADMIN, a user filter for a CLIENT ADMIN, weeks, the performance tab.
    let (_, _, one) = admin.get(&app, &format!("/console/statistics?company_id={company}")).await;
    assert!(one.contains("<dt>Orders created</dt><dd>3</dd>") && one.contains("name=\"company_id\""), "{one}");
    assert!(body.contains("<svg class=\"chart\"") && body.contains("<rect data-status=\"INITIAL\""), "{body}");
    assert!(body.contains("/console/statistics.csv?") && !body.contains("name=\"company_id\""), "{body}");
    let (status, headers, csv) = client.get(&app, "/console/statistics.csv?chart=orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines[0], "period,total,SUCCESS,DECLINED,OPERATOR_REQUIRED,FAILED,PROCESSING,INITIAL,unique_persons");
    assert_eq!(lines.len(), 8, "a row for each of the 7 days: {csv}");
    assert!(lines[7].ends_with(",3,0,0,0,0,0,3,2"), "{csv}");
    let (_, _, weeks) = client.get(&app, "/console/statistics?granularity=week").await;
    assert!(weeks.contains("<option value=\"week\" selected>"), "{weeks}");
    let (_, _, perf) = client.get(&app, "/console/statistics?tab=performance").await;
    assert!(perf.contains("Processing time of analyses") && perf.contains("Analyses unfinished now"), "{perf}");
    let (_, _, latency) = client.get(&app, "/console/statistics.csv?chart=latency").await;
    assert!(latency.starts_with("type,count,p50_s,p90_s,max_s\r\n"), "{latency}");
    let (_, _, scores) = client.get(&app, "/console/statistics.csv?chart=scores").await;
    assert_eq!(scores.trim_end().split("\r\n").count(), 61, "20 bins of 3 types: {scores}");
    let (_, cadmin_email, _) = app.user(Some(company), "CLIENT ADMIN").await;
    let cadmin = console_login(&app, &cadmin_email, PASSWORD).await.0;
    let (_, _, by_user) = cadmin.get(&app, "/console/statistics").await;
    assert!(by_user.contains("name=\"user_id\"") && by_user.contains(&client_email), "{by_user}");

    // The system page: ADMIN only, with the database, engine and decoder status.
    let (_, _, home) = client.get(&app, "/console").await;
    assert!(!home.contains("/console/system"), "{home}");
    assert_eq!(client.get(&app, "/console/system").await.0, StatusCode::FORBIDDEN);
    let (status, _, sys) = admin.get(&app, "/console/system").await;
    assert_eq!(status, StatusCode::OK);
    let answers = format!("{db} answers");
    for needle in
        ["Database", answers.as_str(), "Face engine", "Video decoder", "Jobs in the queue", env!("CARGO_PKG_VERSION")]
    {
        assert!(sys.contains(needle), "{needle} in {sys}");
    }
}

impl Console {
    /// A form post: status, `Location` (empty without one), body.
    async fn submit(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let res = browser().post(app.url(path)).header("Cookie", &self.cookie).form(form).send().await.unwrap();
        let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        (res.status(), location, res.text().await.unwrap())
    }
}

/// The id a redirect names after `prefix` (up to `?`).
fn id_after(location: &str, prefix: &str) -> Uuid {
    let rest = location.strip_prefix(prefix).unwrap_or_else(|| panic!("{location} starts with {prefix}"));
    Uuid::parse_str(rest.split(['?', '/']).next().unwrap()).unwrap()
}

fn image_part(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("image/jpeg").unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    for (name, bytes) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

#[tokio::test]
async fn sqlite_collections_and_persons() {
    collections_and_persons_run_the_api_rules_in_the_console(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_collections_and_persons() {
    if postgres_available() {
        collections_and_persons_run_the_api_rules_in_the_console(Backend::Postgres).await;
    }
}

async fn collections_and_persons_run_the_api_rules_in_the_console(backend: Backend) {
    // As production builds it: COLLECTION analyses search the collections gallery.
    let app = TestApp::spawn(backend).await.respawn_default().await;
    let (a, b) = (app.company("A").await, app.company("B").await);
    let (_, ca_email, ca_token) = app.user(Some(a), "CLIENT ADMIN").await;
    let (_, client_email, client_token) = app.user(Some(a), "CLIENT").await;
    let (_, other_email, _) = app.user(Some(b), "CLIENT ADMIN").await;
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let csrf = ca.csrf(&app).await;
    let (_, _, list) = ca.get(&app, "/console/collections").await;
    assert!(list.contains("action=\"/console/collections\"") && list.contains("<label for=\"alias\">"), "{list}");

    // Create: the CSRF token first, then the API's rules (meta_data must be an object).
    let (status, _, _) = ca.submit(&app, "/console/collections", &[("alias", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) =
        ca.submit(&app, "/console/collections", &[("csrf", &csrf), ("alias", "x"), ("meta_data", "[1]")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("role=\"alert\"") && body.contains("meta_data"), "{body}");
    assert_eq!(app.get("/api/collections/", &ca_token).await.body, json!([]));
    let meta = json!({"note": HOSTILE}).to_string();
    let (status, location, body) =
        ca.submit(&app, "/console/collections", &[("csrf", &csrf), ("alias", HOSTILE), ("meta_data", &meta)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let cid = id_after(&location, "/console/collections/");
    let c = app.get(&format!("/api/collections/{cid}"), &ca_token).await;
    assert_eq!((c.body["alias"].clone(), c.body["company_id"].clone()), (json!(HOSTILE), json!(a.to_string())));
    let (_, _, page) = ca.get(&app, &location).await;
    assert!(page.contains("Collection created.") && !page.contains(HOSTILE), "escaped: {page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for form in ["/persons\"", "/import\"", "/edit\"", "/delete\""] {
        assert!(page.contains(&format!("action=\"/console/collections/{cid}{form}")), "{form} in {page}");
    }
    // Edit replaces the meta_data, as POST …/meta_data does.
    let path = format!("/console/collections/{cid}/edit");
    let (status, _, _) = ca.submit(&app, &path, &[("csrf", &csrf), ("meta_data", "{\"list\": \"sanctions\"}")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/collections/{cid}"), &ca_token).await.body["meta_data"],
        json!({"list": "sanctions"})
    );

    // A CLIENT reads its company's collection, with no form, and is refused a change; another
    // company's CLIENT ADMIN does not see it.
    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let client_csrf = client.csrf(&app).await;
    let (status, _, page) = client.get(&app, &format!("/console/collections/{cid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("method=\"post\" class=\"edit\""), "no forms for a CLIENT: {page}");
    let (_, _, list) = client.get(&app, "/console/collections").await;
    assert!(list.contains(&cid.to_string()) && !list.contains("action=\"/console/collections\""), "{list}");
    let (status, _, _) = client.submit(&app, &path, &[("csrf", &client_csrf), ("meta_data", "{}")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) =
        client.submit(&app, "/console/collections", &[("csrf", &client_csrf), ("alias", "mine")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = console_login(&app, &other_email, PASSWORD).await.0;
    assert_eq!(other.get(&app, &format!("/console/collections/{cid}")).await.0, StatusCode::NOT_FOUND);

    // An empty collection is deleted after typing its alias.
    let (_, location, _) = ca.submit(&app, "/console/collections", &[("csrf", &csrf), ("alias", "empty one")]).await;
    let empty = id_after(&location, "/console/collections/");
    let del = format!("/console/collections/{empty}/delete");
    let (status, _, _) = ca.submit(&app, &del, &[("csrf", &csrf), ("confirm", "empty")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, location, _) = ca.submit(&app, &del, &[("csrf", &csrf), ("confirm", "empty one")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/console/collections?done=collection_deleted"));
    app.get(&format!("/api/collections/{empty}"), &ca_token).await.assert_error(404, 10);

    let Some(p) = face_photos("console persons", &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
    // Add a person: names into person_info, the rest of the meta_data as typed, the photos
    // tagged as enrolment photos.
    let add = format!("/console/collections/{cid}/persons");
    let person_form = |csrf: &str, photo: Vec<u8>, name: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .text("first_name", HOSTILE)
            .text("last_name", "Obama")
            .text("meta_data", "{\"iin\": \"770101\"}")
            .part("photos", image_part(name, photo))
    };
    let (status, _, _) = ca.post_multipart(&app, &add, person_form("wrong", p[0].clone(), "obama.jpg")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A photo without a face: nothing stored, the file named.
    let (status, _, body) = ca.post_multipart(&app, &add, person_form(&csrf, jpeg(64, 48), "noface.jpg")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("noface.jpg") && body.contains("role=\"alert\""), "{body}");
    assert_eq!(app.get(&format!("/api/collections/{cid}/persons/"), &ca_token).await.body, json!([]));
    let (status, location, body) = ca.post_multipart(&app, &add, person_form(&csrf, p[0].clone(), "obama.jpg")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let pid = id_after(&location, &format!("/console/collections/{cid}/persons/"));
    let person = app.get(&format!("/api/collections/{cid}/persons/{pid}"), &ca_token).await;
    assert_eq!(
        person.body["meta_data"],
        json!({"iin": "770101", "person_info": {"first_name": HOSTILE, "last_name": "Obama"}})
    );
    assert_eq!(person.body["images"][0]["tags"], json!(["photo_selfie", "orientation_portrait"]), "{}", person.text);
    let (_, _, page) = ca.get(&app, &location).await;
    assert!(page.contains("Person added.") && !page.contains(HOSTILE), "{page}");
    let (_, _, page) = client.get(&app, &format!("/console/collections/{cid}/persons/{pid}")).await;
    assert!(!page.contains("name=\"confirm\""), "a CLIENT deletes nothing: {page}");

    // A COLLECTION analysis on another photo of him hits the person: the order page links it,
    // and the person cannot be deleted while the analysis exists (the refusal links the order).
    let payload = json!({"media:tags": {"a": ["photo_selfie"]},
        "analyses": [{"type": "collection", "collection_id": cid.to_string()}]})
    .to_string();
    let r = app
        .upload(
            "/api/folders/",
            &client_token,
            vec![Part::File("a", "probe.jpg", p[1].clone()), Part::Payload(payload)],
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.body["analyses"][0]["results_media"][0]["person_id"], json!(pid.to_string()), "{}", r.text);
    let folder = r.id("folder_id");
    let analyse_id = r.body["analyses"][0]["analyse_id"].as_str().unwrap().to_owned();
    let (_, _, order) = client.get(&app, &format!("/console/orders/{folder}")).await;
    assert!(order.contains(&format!("href=\"/console/collections/{cid}/persons/{pid}\"")), "the hit: {order}");
    // GAP-9: the person page's Hits list that order; the collections list counts persons; the
    // persons grid searches names (a search that finds nobody still offers no delete).
    let (_, _, page) = ca.get(&app, &format!("/console/collections/{cid}/persons/{pid}")).await;
    let hits = &page[page.find("id=\"hits\"").expect("the hits section")..];
    assert!(hits.contains(&format!("href=\"/console/orders/{folder}\"")), "{hits}");
    let (_, _, list) = ca.get(&app, "/console/collections").await;
    assert!(list.contains("<td class=\"num\">1</td>"), "{list}");
    let (_, _, found) = ca.get(&app, &format!("/console/collections/{cid}?search_text=OBAMA")).await;
    assert!(found.contains(&format!("/persons/{pid}\"")) && found.contains("value=\"OBAMA\""), "{found}");
    let (_, _, nobody) = ca.get(&app, &format!("/console/collections/{cid}?search_text=nobody")).await;
    assert!(!nobody.contains(&format!("/persons/{pid}\"")), "{nobody}");
    assert!(!nobody.contains(&format!("action=\"/console/collections/{cid}/delete\"")), "{nobody}");
    let del = format!("/console/collections/{cid}/persons/{pid}/delete");
    let short = pid.to_string()[..8].to_owned();
    let (status, _, _) = ca.submit(&app, &del, &[("csrf", &csrf), ("confirm", "nope")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = client.submit(&app, &del, &[("csrf", &client_csrf), ("confirm", &short)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = ca.submit(&app, &del, &[("csrf", &csrf), ("confirm", &short)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("related analyses") && body.contains(&format!("href=\"/console/orders/{folder}\"")),
        "{body}"
    );
    app.get(&format!("/api/collections/{cid}/persons/{pid}"), &ca_token).await.assert_status(200);
    app.delete(&format!("/api/analyses/{analyse_id}"), &app.admin_token).await.assert_status(204);
    let (status, location, _) = ca.submit(&app, &del, &[("csrf", &csrf), ("confirm", &short)]).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("/console/collections/{cid}?done=person_deleted")));
    app.get(&format!("/api/collections/{cid}/persons/{pid}"), &ca_token).await.assert_error(404, 10);

    // Bulk import: a ZIP with a person folder (person.json for its meta_data), a photo at the
    // top and a folder whose only photo has no face; then again: the persons are skipped.
    let noface = jpeg(64, 48);
    let archive = zip_of(&[
        ("alice/1.jpg", p[0].as_slice()),
        ("alice/person.json", br#"{"person_info": {"first_name": "Alice"}}"#.as_slice()),
        ("biden.jpg", p[2].as_slice()),
        ("carol/x.jpg", noface.as_slice()),
        ("../escape.jpg", noface.as_slice()),
    ]);
    let import = format!("/console/collections/{cid}/import");
    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part("import", reqwest::multipart::Part::bytes(archive.clone()).file_name("persons.zip"))
    };
    let (status, _, _) = client.post_multipart(&app, &import, form(&client_csrf)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, report) = ca.post_multipart(&app, &import, form(&csrf)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report.contains("<dt>Persons imported</dt><dd>2</dd>"), "{report}");
    assert!(report.contains("<dt>Files left out</dt><dd>2</dd>"), "carol's faceless photo, the escape: {report}");
    assert!(report.contains("carol/x.jpg") && report.contains("the path leaves the archive"), "{report}");
    let persons = app.get(&format!("/api/collections/{cid}/persons/"), &ca_token).await;
    let mut keys: Vec<String> = persons
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["meta_data"]["import_key"].as_str().unwrap().into())
        .collect();
    keys.sort();
    assert_eq!(keys, ["alice", "biden"]);
    let alice = persons.body.as_array().unwrap().iter().find(|p| p["meta_data"]["import_key"] == "alice").unwrap();
    assert_eq!(alice["meta_data"]["person_info"], json!({"first_name": "Alice"}));
    let (_, _, again) = ca.post_multipart(&app, &import, form(&csrf)).await;
    assert!(again.contains("<dt>Persons skipped (imported before)</dt><dd>2</dd>"), "{again}");
    assert_eq!(app.get(&format!("/api/collections/{cid}/persons/"), &ca_token).await.body.as_array().unwrap().len(), 2);
    // Loose photos: one person each, named after the file.
    let loose = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("import", image_part("obama-2.jpg", p[1].clone()));
    let (_, _, report) = ca.post_multipart(&app, &import, loose).await;
    assert!(report.contains("<dt>Persons imported</dt><dd>1</dd>"), "{report}");

    // A collection with persons is not deleted: no typed form, and the domain's refusal.
    let (_, _, page) = ca.get(&app, &format!("/console/collections/{cid}")).await;
    assert!(!page.contains(&format!("/console/collections/{cid}/delete\"")), "{page}");
    let (status, _, body) =
        ca.submit(&app, &format!("/console/collections/{cid}/delete"), &[("csrf", &csrf), ("confirm", HOSTILE)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Collection is not empty"), "{body}");
}

/// The password the console made up, from the page that shows it once.
#[tokio::test]
async fn sqlite_collection_rename() {
    a_collection_is_renamed_on_its_page_by_whoever_may_create_one(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_collection_rename() {
    if postgres_available() {
        a_collection_is_renamed_on_its_page_by_whoever_may_create_one(Backend::Postgres).await;
    }
}

async fn a_collection_is_renamed_on_its_page_by_whoever_may_create_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (app.company("A").await, app.company("B").await);
    let (_, ca_email, ca_token) = app.user(Some(a), "CLIENT ADMIN").await;
    let (_, client_email, _) = app.user(Some(a), "CLIENT").await;
    let (_, other_email, _) = app.user(Some(b), "CLIENT ADMIN").await;
    let cid = app
        .post("/api/collections/", &ca_token, json!({"alias": "blacklist"}))
        .await
        .assert_status(201)
        .id("collection_id");
    app.post("/api/collections/", &ca_token, json!({"alias": "vip"})).await.assert_status(201);
    let alias_now = || async { app.get(&format!("/api/collections/{cid}"), &ca_token).await.body["alias"].clone() };
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let csrf = ca.csrf(&app).await;
    let page_path = format!("/console/collections/{cid}");
    let rename = format!("{page_path}/rename");
    let (_, _, page) = ca.get(&app, &page_path).await;
    assert!(page.contains(&format!("action=\"{rename}\"")), "the rename form: {page}");
    assert!(page.contains("name=\"alias\" type=\"text\" value=\"blacklist\" required"), "{page}");

    // The CSRF token first; then the API's alias rules, the refusal above the form with what
    // was typed kept in it (escaped).
    let (status, _, _) = ca.submit(&app, &rename, &[("alias", "watchlist")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = ca.submit(&app, &rename, &[("csrf", &csrf), ("alias", "vip")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("role=\"alert\">This company already has a collection with this alias"), "{body}");
    assert!(body.contains("value=\"vip\""), "the typed alias kept: {body}");
    let (status, _, body) = ca.submit(&app, &rename, &[("csrf", &csrf), ("alias", "   ")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Invalid alias"), "{body}");
    let long = "x".repeat(257);
    let (status, _, body) = ca.submit(&app, &rename, &[("csrf", &csrf), ("alias", &long)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let hostile_typed = format!("vip{HOSTILE}");
    app.post("/api/collections/", &ca_token, json!({"alias": hostile_typed})).await.assert_status(201);
    let (status, _, body) = ca.submit(&app, &rename, &[("csrf", &csrf), ("alias", &hostile_typed)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.contains(HOSTILE) && body.contains("value=\"vip&lt;script&gt;"), "escaped: {body}");
    assert_eq!(alias_now().await, "blacklist");

    // Renamed: the redirect says so, the page and the API show the new alias (escaped).
    let (status, location, _) = ca.submit(&app, &rename, &[("csrf", &csrf), ("alias", HOSTILE)]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page_path}?done=collection_renamed").as_str())
    );
    assert_eq!(alias_now().await, HOSTILE);
    let (_, _, page) = ca.get(&app, &location).await;
    assert!(page.contains("Collection renamed.") && !page.contains(HOSTILE), "escaped: {page}");
    assert!(page.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""), "{page}");
    let audit = app.get(&format!("/api/audit?object_id={cid}&event=update"), &app.admin_token).await;
    assert_eq!(audit.body["items"][0]["before"], "blacklist", "{}", audit.text);
    assert_eq!(audit.body["items"][0]["after"], HOSTILE, "{}", audit.text);

    // A CLIENT sees no rename form and is refused one; another company's CLIENT ADMIN does
    // not see the collection at all.
    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let client_csrf = client.csrf(&app).await;
    let (status, _, page) = client.get(&app, &page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&rename), "{page}");
    let (status, _, _) = client.submit(&app, &rename, &[("csrf", &client_csrf), ("alias", "mine")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = console_login(&app, &other_email, PASSWORD).await.0;
    let other_csrf = other.csrf(&app).await;
    let (status, _, _) = other.submit(&app, &rename, &[("csrf", &other_csrf), ("alias", "theirs")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(alias_now().await, HOSTILE);
    // ADMIN renames any company's.
    let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    let admin_csrf = admin.csrf(&app).await;
    let (status, _, _) = admin.submit(&app, &rename, &[("csrf", &admin_csrf), ("alias", "fraud")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(alias_now().await, "fraud");
}

#[tokio::test]
async fn sqlite_company_page_paging() {
    the_company_page_pages_its_users_and_collections(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_company_page_paging() {
    if postgres_available() {
        the_company_page_pages_its_users_and_collections(Backend::Postgres).await;
    }
}

/// The part of a page from `<section id="{id}">` to its end.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("<section id=\"{id}\">")).unwrap_or_else(|| panic!("section {id} in {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap()]
}

/// The ids linked as `{prefix}{id}"` in `html`, in order.
fn linked_ids(html: &str, prefix: &str) -> Vec<Uuid> {
    html.split(prefix).skip(1).filter_map(|rest| rest.get(..36).and_then(|id| Uuid::parse_str(id).ok())).collect()
}

async fn the_company_page_pages_its_users_and_collections(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Big Co").await;
    let (_, ca_email, ca_token) = app.user(Some(company), "CLIENT ADMIN").await;
    // 102 users (the CLIENT ADMIN and 101 more) and 103 collections; another company's are
    // never listed.
    for i in 0..101 {
        let body = json!({"email": format!("u{i:03}@paging.example"), "password": PASSWORD, "user_type": "CLIENT",
            "company_id": company, "first_name": "P", "last_name": format!("{i}")});
        app.post("/api/users/", &app.admin_token, body).await.assert_status(201);
    }
    for i in 0..103 {
        app.post("/api/collections/", &ca_token, json!({"alias": format!("c{i:03}")})).await.assert_status(201);
    }
    let other = app.company("Other Co").await;
    app.user(Some(other), "CLIENT").await;
    app.post("/api/collections/", &app.admin_token, json!({"alias": "theirs", "company_id": other}))
        .await
        .assert_status(201);
    let api_ids = |r: Res, key: &str| -> Vec<Uuid> {
        r.body["items"]
            .as_array()
            .or(r.body.as_array())
            .unwrap()
            .iter()
            .map(|v| Uuid::parse_str(v[key].as_str().unwrap()).unwrap())
            .collect()
    };
    let all_users =
        api_ids(app.get(&format!("/api/users/?company_id={company}&limit=-1"), &app.admin_token).await, "user_id");
    let all_collections = api_ids(
        app.get(&format!("/api/collections/?company_id={company}&limit=-1"), &app.admin_token).await,
        "collection_id",
    );
    assert_eq!((all_users.len(), all_collections.len()), (102, 103));

    for (who, email, password) in
        [("ADMIN", ADMIN_EMAIL, ADMIN_PASSWORD), ("CLIENT ADMIN", ca_email.as_str(), PASSWORD)]
    {
        let console = console_login(&app, email, password).await.0;
        let path = format!("/console/companies/{company}");
        let (status, _, first) = console.get(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        let (users, collections) = (section(&first, "users"), section(&first, "collections"));
        let page1_users = linked_ids(users, "href=\"/console/users/");
        let page1_collections = linked_ids(collections, "href=\"/console/collections/");
        assert_eq!((page1_users.len(), page1_collections.len()), (100, 100), "{who}: {first}");
        assert!(users.contains("Showing 1–100 of 102"), "{who}: {users}");
        assert!(collections.contains("Showing 1–100 of 103"), "{who}: {collections}");
        // Each list's "next" moves it alone; the other keeps its place.
        let users_next = format!("href=\"{path}?collections_offset=0&amp;users_offset=100\"");
        assert!(users.contains(&users_next) && !users.contains("rel=\"prev\""), "{who}: {users}");
        let collections_next = format!("href=\"{path}?users_offset=0&amp;collections_offset=100\"");
        assert!(collections.contains(&collections_next), "{who}: {collections}");

        let (_, _, second) = console.get(&app, &format!("{path}?collections_offset=100&users_offset=100")).await;
        let (users2, collections2) = (section(&second, "users"), section(&second, "collections"));
        let page2_users = linked_ids(users2, "href=\"/console/users/");
        let page2_collections = linked_ids(collections2, "href=\"/console/collections/");
        assert!(users2.contains("Showing 101–102 of 102") && !users2.contains("rel=\"next\""), "{who}: {users2}");
        assert!(
            users2.contains(&format!("href=\"{path}?collections_offset=100&amp;users_offset=0\"")),
            "{who}: {users2}"
        );
        assert!(collections2.contains("Showing 101–103 of 103"), "{who}: {collections2}");
        // Both pages together are exactly the company's users and collections, once each.
        let mut seen_users: Vec<Uuid> = page1_users.into_iter().chain(page2_users).collect();
        let mut seen_collections: Vec<Uuid> = page1_collections.into_iter().chain(page2_collections).collect();
        seen_users.sort();
        seen_collections.sort();
        let (mut want_users, mut want_collections) = (all_users.clone(), all_collections.clone());
        want_users.sort();
        want_collections.sort();
        assert_eq!(seen_users, want_users, "{who}");
        assert_eq!(seen_collections, want_collections, "{who}");
        // A mixed page: users on their second page, collections on their first.
        let (_, _, mixed) = console.get(&app, &format!("{path}?users_offset=100")).await;
        assert_eq!(linked_ids(section(&mixed, "users"), "href=\"/console/users/").len(), 2, "{who}");
        assert_eq!(linked_ids(section(&mixed, "collections"), "href=\"/console/collections/").len(), 100, "{who}");
        // A bad or hostile offset is the first page.
        let (status, _, bad) =
            console.get(&app, &format!("{path}?users_offset=%3Cscript%3E&collections_offset=-1")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(section(&bad, "users").contains("Showing 1–100 of 102") && !bad.contains(HOSTILE), "{who}: {bad}");
    }
}

#[tokio::test]
async fn sqlite_account_meta_keys() {
    users_and_companies_meta_data_is_edited_key_by_key(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_account_meta_keys() {
    if postgres_available() {
        users_and_companies_meta_data_is_edited_key_by_key(Backend::Postgres).await;
    }
}

async fn users_and_companies_meta_data_is_edited_key_by_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (app.company("A").await, app.company("B").await);
    let (_, ca_email, ca_token) = app.user(Some(a), "CLIENT ADMIN").await;
    let (client_id, client_email, _) = app.user(Some(a), "CLIENT").await;
    let (_, _, other_token) = app.user(Some(b), "CLIENT ADMIN").await;
    let (_, other_email, _) = app.user(Some(b), "CLIENT ADMIN").await;
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let csrf = ca.csrf(&app).await;
    let start = json!({"note": HOSTILE, "n": 1, "tags": ["x", {"deep": HOSTILE}]});
    // The CLIENT ADMIN edits its company's CLIENT and its own company, as the API lets it.
    for (api, console) in [
        (format!("/api/users/{client_id}"), format!("/console/users/{client_id}")),
        (format!("/api/companies/{a}"), format!("/console/companies/{a}")),
    ] {
        app.post(&format!("{api}/meta_data"), &ca_token, start.clone()).await.assert_status(200);
        let meta_now = || async { app.get(&format!("{api}/meta_data"), &ca_token).await.body };
        assert_eq!(meta_now().await, start);
        let id = console.rsplit('/').next().unwrap().to_owned();
        let set = format!("{console}/meta/key");
        let (status, _, page) = ca.get(&app, &console).await;
        assert_eq!(status, StatusCode::OK);
        // The tree (every key and value escaped), a change and a delete form per key, the add
        // form, and the raw JSON editor kept beside it.
        assert!(!page.contains(HOSTILE), "escaped: {page}");
        for part in [
            format!("<div id=\"meta-keys-{id}\">"),
            format!("action=\"{set}\""),
            format!("action=\"{set}/delete\""),
            "<code>note</code>".to_owned(),
            "<li><code>deep</code>: &lt;script&gt;alert(1)&lt;/script&gt;</li>".to_owned(),
            "name=\"meta_data\"".to_owned(),
        ] {
            assert!(page.contains(&part), "{part} in {page}");
        }
        let audited = || async {
            app.get(&format!("/api/audit?object_id={id}&event=update"), &app.admin_token).await.body["total_count"]
                .as_u64()
                .unwrap()
        };
        let audits = audited().await;

        // The CSRF token first; then a text value, a JSON value, a JSON null (removes the key,
        // as PATCH does) and a delete, each a change of that key only, audited.
        let (status, _, _) = ca.submit(&app, &set, &[("key", "tier"), ("value", "gold"), ("as", "text")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, location, _) =
            ca.submit(&app, &set, &[("csrf", &csrf), ("key", " tier "), ("value", "gold"), ("as", "text")]).await;
        assert_eq!((status, location.clone()), (StatusCode::SEE_OTHER, format!("{console}?done=saved#meta-keys-{id}")));
        let (_, _, page) = ca.get(&app, &location).await;
        assert!(page.contains("Saved.") && page.contains("<code>tier</code>"), "{page}");
        let (status, _, _) =
            ca.submit(&app, &set, &[("csrf", &csrf), ("key", "n"), ("value", "{\"a\": [1, 2]}"), ("as", "json")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) =
            ca.submit(&app, &set, &[("csrf", &csrf), ("key", "tags"), ("value", "null"), ("as", "json")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, location, _) =
            ca.submit(&app, &format!("{set}/delete"), &[("csrf", &csrf), ("key", "note")]).await;
        assert_eq!(
            (status, location),
            (StatusCode::SEE_OTHER, format!("{console}?done=meta_key_deleted#meta-keys-{id}"))
        );
        assert_eq!(meta_now().await, json!({"n": {"a": [1, 2]}, "tier": "gold"}));
        assert_eq!(audited().await, audits + 4);

        // Refusals: above the editor, what was typed kept (escaped), nothing changed.
        let (status, _, body) =
            ca.submit(&app, &set, &[("csrf", &csrf), ("key", HOSTILE), ("value", "{oops"), ("as", "json")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("role=\"alert\"") && !body.contains(HOSTILE), "{body}");
        assert!(
            body.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\"") && body.contains("value=\"{oops\""),
            "{body}"
        );
        assert!(body.contains("<option value=\"json\" selected>"), "the kind kept: {body}");
        let (status, _, body) = ca.submit(&app, &set, &[("csrf", &csrf), ("key", "  "), ("value", "x")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, _, _) = ca.submit(&app, &format!("{set}/delete"), &[("csrf", &csrf), ("key", "")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(meta_now().await, json!({"n": {"a": [1, 2]}, "tier": "gold"}));
        assert_eq!(audited().await, audits + 4);

        // Another company's CLIENT ADMIN does not see it.
        let other = console_login(&app, &other_email, PASSWORD).await.0;
        let other_csrf = other.csrf(&app).await;
        let (status, _, _) = other.submit(&app, &set, &[("csrf", &other_csrf), ("key", "k"), ("value", "v")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.get(&format!("{api}/meta_data"), &other_token).await.assert_error(404, 10);
    }

    // A CLIENT edits its own meta_data (the API lets it), sees no editor on its company's page
    // and is refused a change there; the company's CLIENT ADMIN's page is not its to see.
    let client = console_login(&app, &client_email, PASSWORD).await.0;
    let client_csrf = client.csrf(&app).await;
    let own = format!("/console/users/{client_id}");
    let (_, _, page) = client.get(&app, &own).await;
    assert!(page.contains(&format!("action=\"{own}/meta/key\"")), "{page}");
    let (status, _, _) = client
        .submit(&app, &format!("{own}/meta/key"), &[("csrf", &client_csrf), ("key", "mine"), ("value", "1")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/api/users/{client_id}/meta_data"), &ca_token).await.body["mine"], "1");
    let company_page = format!("/console/companies/{a}");
    let (status, _, page) = client.get(&app, &company_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("/meta/key\"") && page.contains("tier"), "{page}");
    let (status, _, body) = client
        .submit(&app, &format!("{company_page}/meta/key"), &[("csrf", &client_csrf), ("key", "k"), ("value", "v")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("role=\"alert\""), "the refusal shown: {body}");
    assert!(app.get(&format!("/api/companies/{a}/meta_data"), &ca_token).await.body.get("k").is_none());
}

fn generated_password(page: &str) -> String {
    let at = page.find("id=\"generated-password\">").expect("generated password") + "id=\"generated-password\">".len();
    page[at..at + page[at..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn sqlite_users_companies_and_profile() {
    users_companies_and_the_profile_follow_the_role_matrix(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_users_companies_and_profile() {
    if postgres_available() {
        users_companies_and_the_profile_follow_the_role_matrix(Backend::Postgres).await;
    }
}

async fn users_companies_and_the_profile_follow_the_role_matrix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    let csrf = admin.csrf(&app).await;
    // ADMIN creates a company and its CLIENT ADMIN (the password made up and shown once).
    let (status, location, _) = admin.submit(&app, "/console/companies", &[("csrf", &csrf), ("name", HOSTILE)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let company = id_after(&location, "/console/companies/");
    let (_, _, page) = admin.get(&app, "/console/companies").await;
    assert!(page.contains(&company.to_string()) && !page.contains(HOSTILE), "{page}");
    let (_, _, page) = admin.get(&app, "/console/users").await;
    assert!(page.contains("<option>ADMIN</option>") && page.contains("name=\"company_id\""), "{page}");
    let company_s = company.to_string();
    let ca_email = format!("ca-{}@example.com", Uuid::new_v4().simple());
    let new_ca = [
        ("csrf", csrf.as_str()),
        ("email", ca_email.as_str()),
        ("password", ""),
        ("user_type", "CLIENT ADMIN"),
        ("company_id", company_s.as_str()),
        ("first_name", "Carla"),
        ("can_quality", "on"),
    ];
    let (status, _, _) = admin.submit(&app, "/console/users", &new_ca[1..]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let (status, _, page) = admin.submit(&app, "/console/users", &new_ca).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ca_password = generated_password(&page);
    assert_eq!(ca_password.len(), 16);
    let login = app.login(&ca_email, &ca_password).await;
    login.assert_status(200);
    let ca_id = Uuid::parse_str(login.body["user_id"].as_str().unwrap()).unwrap();
    let u = app.get(&format!("/api/users/{ca_id}"), &app.admin_token).await;
    assert_eq!(u.body["user_type"], "CLIENT ADMIN");
    assert_eq!(u.body["company_id"], json!(company_s));
    assert_eq!(
        (u.body["can_start_analysis_quality"].clone(), u.body["can_start_analysis_biometry"].clone()),
        (json!(true), json!(false))
    );

    // The CLIENT ADMIN creates CLIENT roles of its company only.
    let ca = console_login(&app, &ca_email, &ca_password).await.0;
    let ca_csrf = ca.csrf(&app).await;
    let (_, _, page) = ca.get(&app, "/console/users").await;
    assert!(!page.contains("<option>ADMIN</option>") && page.contains("<option>CLIENT OPERATOR</option>"), "{page}");
    assert!(!page.contains("name=\"company_id\""), "its own company, no choice: {page}");
    let client_email = format!("client-{}@example.com", Uuid::new_v4().simple());
    let mut new_client = vec![
        ("csrf", ca_csrf.as_str()),
        ("email", client_email.as_str()),
        ("password", "Client-pass-1"),
        ("user_type", "ADMIN"),
        ("first_name", HOSTILE),
        ("last_name", "Client"),
        ("can_quality", "on"),
        ("can_documents", "on"),
    ];
    let (status, _, page) = ca.submit(&app, "/console/users", &new_client).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    new_client[3] = ("user_type", "CLIENT");
    let (status, location, page) = ca.submit(&app, "/console/users", &new_client).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let client_id = id_after(&location, "/console/users/");
    let (_, _, page) = ca.get(&app, "/console/users").await;
    assert!(page.contains(&client_email) && !page.contains(HOSTILE), "escaped: {page}");
    app.token_of(&client_email, "Client-pass-1").await;

    // Edit: every field of the form, meta_data replaced.
    let edit = format!("/console/users/{client_id}/edit");
    let changed = [
        ("csrf", ca_csrf.as_str()),
        ("email", client_email.as_str()),
        ("user_type", "CLIENT OPERATOR"),
        ("first_name", "Cleo"),
        ("last_name", "Client"),
        ("can_quality", "on"),
        ("meta_data", "{\"desk\": \"7\"}"),
    ];
    let (status, _, page) = ca.submit(&app, &edit, &changed).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let u = app.get(&format!("/api/users/{client_id}"), &app.admin_token).await;
    assert_eq!(u.body["user_type"], "CLIENT OPERATOR");
    assert_eq!(u.body["first_name"], "Cleo");
    assert_eq!(u.body["can_start_analysis_documents"], false);
    assert_eq!(u.body["meta_data"], json!({"desk": "7"}));
    // Block, then unblock.
    let block = format!("/console/users/{client_id}/block");
    let (status, _, _) = ca.submit(&app, &block, &[("csrf", &ca_csrf), ("active", "false")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.login(&client_email, "Client-pass-1").await.body["error_code"], 211);
    let (_, _, page) = ca.get(&app, &format!("/console/users/{client_id}")).await;
    assert!(page.contains("Unblock this user"), "{page}");
    ca.submit(&app, &block, &[("csrf", &ca_csrf), ("active", "true")]).await;
    app.login(&client_email, "Client-pass-1").await.assert_status(200);

    // A CLIENT: only itself, no create form, every change refused.
    let (_, plain_email, _) = app.user(Some(company), "CLIENT").await;
    let plain = console_login(&app, &plain_email, PASSWORD).await.0;
    let plain_csrf = plain.csrf(&app).await;
    let (_, _, page) = plain.get(&app, "/console/users").await;
    assert!(!page.contains(&client_email) && !page.contains("action=\"/console/users\""), "{page}");
    assert!(!page.contains("/console/companies\""), "no companies menu for a CLIENT: {page}");
    assert_eq!(plain.get(&app, &format!("/console/users/{client_id}")).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = plain.submit(&app, "/console/users", &new_client).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another session's CSRF token");
    let mut as_plain = new_client.clone();
    as_plain[0] = ("csrf", plain_csrf.as_str());
    let (status, _, _) = plain.submit(&app, "/console/users", &as_plain).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Companies: the CLIENT ADMIN renames its own, deletes none; ADMIN's delete is refused
    // while the company has users.
    let (_, _, page) = ca.get(&app, &format!("/console/companies/{company}")).await;
    assert!(page.contains("/edit\"") && !page.contains("name=\"confirm\""), "{page}");
    let (status, _, _) = ca
        .submit(&app, &format!("/console/companies/{company}/edit"), &[("csrf", &ca_csrf), ("name", "Renamed Co")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/api/companies/{company}"), &app.admin_token).await.body["name"], "Renamed Co");
    let del_company = format!("/console/companies/{company}/delete");
    let (status, _, _) = ca.submit(&app, &del_company, &[("csrf", &ca_csrf), ("confirm", "Renamed Co")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, page) = admin.submit(&app, &del_company, &[("csrf", &csrf), ("confirm", "Renamed Co")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("users; delete them first"), "{page}");

    // Delete a user after typing its e-mail.
    let del = format!("/console/users/{client_id}/delete");
    let (status, _, _) = ca.submit(&app, &del, &[("csrf", &ca_csrf), ("confirm", "someone@else")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, location, _) = ca.submit(&app, &del, &[("csrf", &ca_csrf), ("confirm", &client_email)]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/console/users?done=user_deleted"));
    app.get(&format!("/api/users/{client_id}"), &app.admin_token).await.assert_error(404, 10);

    // The profile: names, and a password change that needs the current password.
    let (status, _, page) = plain.get(&app, "/console/profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<label for=\"p-current\">"), "{page}");
    let (status, _, _) = plain
        .submit(&app, "/console/profile", &[("csrf", &plain_csrf), ("first_name", "Pat"), ("last_name", HOSTILE)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = plain.get(&app, "/console/profile").await;
    assert!(page.contains("value=\"Pat\"") && !page.contains(HOSTILE), "{page}");
    let pw = "/console/profile/password";
    let new_pw = "Another-pass-2";
    let (status, _, page) =
        plain.submit(&app, pw, &[("csrf", &plain_csrf), ("current", PASSWORD), ("new", new_pw), ("repeat", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The two new passwords differ"), "{page}");
    let (status, _, page) = plain
        .submit(&app, pw, &[("csrf", &plain_csrf), ("current", "wrong-one"), ("new", new_pw), ("repeat", new_pw)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The current password is wrong"), "{page}");
    app.login(&plain_email, PASSWORD).await.assert_status(200);
    let (status, location, _) = plain
        .submit(&app, pw, &[("csrf", &plain_csrf), ("current", PASSWORD), ("new", new_pw), ("repeat", new_pw)])
        .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/console/profile?done=password_changed"));
    app.login(&plain_email, new_pw).await.assert_status(200);
    assert_ne!(app.login(&plain_email, PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn sqlite_company_page_thresholds_meta_data_and_links() {
    company_page_thresholds_meta_data_and_links(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_company_page_thresholds_meta_data_and_links() {
    if postgres_available() {
        company_page_thresholds_meta_data_and_links(Backend::Postgres).await;
    }
}

/// The company page (GAP-14, issue #20): ADMIN reads and changes the decision thresholds
/// (CSRF, typed values checked, errors shown with what was typed), edits the name and
/// meta_data, and follows links to the company's collections, orders and statistics; a CLIENT
/// ADMIN and an OPERATOR read the thresholds and are refused their change, as over the API.
async fn company_page_thresholds_meta_data_and_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let company = app.company("Page Co").await;
    let (_, ca_email, ca_token) = app.user(Some(company), "CLIENT ADMIN").await;
    let (_, op_email, _) = app.user(None, "OPERATOR").await;
    let cid =
        app.post("/api/collections", &ca_token, json!({"alias": HOSTILE})).await.assert_status(201).id("collection_id");
    let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    let csrf = admin.csrf(&app).await;
    let page_path = format!("/console/companies/{company}");
    let (status, _, page) = admin.get(&app, &page_path).await;
    assert_eq!(status, StatusCode::OK);
    for part in [
        "id=\"thresholds\"".to_owned(),
        format!("action=\"/console/companies/{company}/thresholds\""),
        "name=\"biometry\" type=\"number\" step=\"any\" min=\"0\" max=\"1\"".to_owned(),
        "placeholder=\"0.85\"".to_owned(),
        format!("href=\"/console?company_id={company}\""),
        format!("href=\"/console/statistics?company_id={company}\""),
        format!("href=\"/console/collections/{cid}\">&lt;script&gt;alert(1)&lt;/script&gt;</a>"),
        "<textarea id=\"c-meta\" name=\"meta_data\"".to_owned(),
    ] {
        assert!(page.contains(&part), "{part} in {page}");
    }
    assert!(!page.contains(HOSTILE), "escaped: {page}");
    // Its recent orders and its last 7 days (spec §4.7): none yet; then its order is listed and
    // counted, another company's is not.
    assert!(page.contains("id=\"orders\"") && page.contains("No orders yet."), "{page}");
    assert!(page.contains("<dt>Orders created</dt><dd>0</dd>"), "{page}");
    let ours = folder_with(&app, &ca_token, json!({}), "ours.jpg").await;
    let elsewhere = app.company("Elsewhere Co").await;
    let (_, _, elsewhere_token) = app.user(Some(elsewhere), "CLIENT").await;
    let theirs = folder_with(&app, &elsewhere_token, json!({}), "theirs.jpg").await;
    let (_, _, page) = admin.get(&app, &page_path).await;
    assert!(page.contains(&format!("href=\"/console/orders/{ours}\"")), "{page}");
    assert!(!page.contains(&format!("/console/orders/{theirs}")), "{page}");
    assert!(page.contains("<dt>Orders created</dt><dd>1</dd>"), "{page}");
    assert!(page.contains("aria-label=\"INITIAL 1\"") && page.contains("aria-label=\"SUCCESS 0\""), "{page}");
    let thresholds = || {
        let (app, url) = (&app, format!("/api/companies/{company}/thresholds"));
        async move { app.get(&url, &app.admin_token).await.body }
    };
    let untouched = thresholds().await;
    assert_eq!(untouched["source"], "installation");

    // The CSRF token first; then every value is checked and the form shown again as typed.
    let path = format!("{page_path}/thresholds");
    let good = [("quality", "0.3"), ("biometry", ""), ("collection", "0.95")];
    let (status, _, _) = admin.submit(&app, &path, &good).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = admin.submit(&app, &path, &[&[("csrf", "0".repeat(32).as_str())][..], &good].concat()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another token");
    let (status, _, page) = admin
        .submit(&app, &path, &[("csrf", &csrf), ("quality", HOSTILE), ("biometry", "0.9"), ("collection", "")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("role=\"alert\"") && page.contains("is not a number"), "{page}");
    assert!(!page.contains(HOSTILE) && page.contains("value=\"&lt;script&gt;"), "typed value kept, escaped: {page}");
    let (status, _, page) = admin
        .submit(&app, &path, &[("csrf", &csrf), ("quality", "0.3"), ("biometry", "1.5"), ("collection", "")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("expected a number in [0, 1]") && page.contains("value=\"1.5\""), "{page}");
    assert_eq!(thresholds().await, untouched, "nothing stored");
    let (status, location, _) = admin.submit(&app, &path, &[&[("csrf", csrf.as_str())][..], &good].concat()).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page_path}?done=thresholds_saved#thresholds").as_str())
    );
    let t = thresholds().await;
    assert_eq!(
        (t["quality"].clone(), t["biometry"].clone(), t["collection"].clone()),
        (json!(0.3), json!(0.85), json!(0.95))
    );
    assert_eq!(t["sources"], json!({"quality": "company", "biometry": "installation", "collection": "company"}));
    let (_, _, page) = admin.get(&app, &format!("{page_path}?done=thresholds_saved")).await;
    assert!(page.contains("Thresholds saved") && page.contains("<td>this company</td>"), "{page}");
    assert!(
        page.contains(
            "name=\"quality\" type=\"number\" step=\"any\" min=\"0\" max=\"1\" inputmode=\"decimal\" value=\"0.3\""
        ),
        "{page}"
    );

    // The operator bands (GAP-14): none by default; set on the form, shown as the zone from
    // the edge to the threshold; one above its threshold refused; a form without the band
    // fields keeps them, an empty field clears.
    assert!(page.contains("<tr><th scope=\"row\">BIOMETRY operator band</th><td>none</td><td>–</td>"), "{page}");
    assert!(page.contains("name=\"biometry_min\" type=\"number\"") && page.contains("placeholder=\"none\""), "{page}");
    let banded = [("csrf", csrf.as_str()), ("quality", "0.3"), ("biometry", ""), ("collection", "0.95")];
    let (status, _, page) =
        admin.submit(&app, &path, &[&banded[..], &[("biometry_min", "0.9"), ("collection_min", "")]].concat()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("biometry_min: 0.9 is above the biometry threshold (0.85)"), "{page}");
    assert_eq!(thresholds().await, t, "nothing stored");
    let (status, _, _) =
        admin.submit(&app, &path, &[&banded[..], &[("biometry_min", "0.6"), ("collection_min", "0.5")]].concat()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let t = thresholds().await;
    assert_eq!((t["biometry_min"].clone(), t["collection_min"].clone()), (json!(0.6), json!(0.5)), "{t}");
    let (_, _, page) = admin.get(&app, &page_path).await;
    for part in [
        "<tr><th scope=\"row\">BIOMETRY operator band</th><td>0.6 – 0.85</td><td>this company</td>",
        "<tr><th scope=\"row\">COLLECTION operator band</th><td>0.5 – 0.95</td><td>this company</td>",
        "name=\"biometry_min\" type=\"number\" step=\"any\" min=\"0\" max=\"1\" inputmode=\"decimal\" value=\"0.6\"",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    let (status, _, _) = admin.submit(&app, &path, &banded).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(thresholds().await["biometry_min"], json!(0.6), "kept by a form without the band");
    let (status, _, _) = admin.submit(&app, &path, &[&banded[..], &[("collection_min", "")]].concat()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let t = thresholds().await;
    assert_eq!((t["biometry_min"].clone(), t["collection_min"].clone()), (json!(0.6), Value::Null), "{t}");

    // Name and meta_data in one form: bad JSON changes nothing, an object replaces it.
    let edit = format!("{page_path}/edit");
    let (status, _, page) =
        admin.submit(&app, &edit, &[("csrf", &csrf), ("name", "Renamed"), ("meta_data", "[1]")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("role=\"alert\"") && page.contains("value=\"Renamed\""), "{page}");
    assert_eq!(app.get(&format!("/api/companies/{company}"), &app.admin_token).await.body["name"], "Page Co");
    let meta = json!({"tier": HOSTILE}).to_string();
    let (status, _, _) = admin.submit(&app, &edit, &[("csrf", &csrf), ("name", "Page Co"), ("meta_data", &meta)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let c = app.get(&format!("/api/companies/{company}"), &app.admin_token).await;
    assert_eq!(c.body["meta_data"], json!({"tier": HOSTILE}));
    let (_, _, page) = admin.get(&app, &page_path).await;
    assert!(!page.contains(HOSTILE) && page.contains("&lt;script&gt;"), "escaped: {page}");
    // A form without the meta_data field (the rename only) keeps it.
    admin.submit(&app, &edit, &[("csrf", &csrf), ("name", "Page Co")]).await;
    assert_eq!(
        app.get(&format!("/api/companies/{company}"), &app.admin_token).await.body["meta_data"],
        json!({"tier": HOSTILE})
    );

    // The CLIENT ADMIN reads the thresholds, has no form for them and is refused; it edits its
    // own company's meta_data, as over the API.
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let ca_csrf = ca.csrf(&app).await;
    let (_, _, page) = ca.get(&app, &page_path).await;
    assert!(page.contains("id=\"thresholds\"") && page.contains("<td>0.95</td>"), "{page}");
    assert!(!page.contains("name=\"biometry\"") && !page.contains("/thresholds\""), "no form: {page}");
    assert!(
        page.contains(&format!("href=\"/console?company_id={company}\""))
            && !page.contains("/console/statistics?company_id"),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/console/orders/{ours}\"")), "its company's orders: {page}");
    assert!(page.contains("<dt>Orders created</dt><dd>1</dd>"), "{page}");
    let (status, _, page) =
        ca.submit(&app, &path, &[("csrf", &ca_csrf), ("quality", "0.9"), ("biometry", ""), ("collection", "")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("role=\"alert\"") && !page.contains("name=\"quality\""),
        "the refusal shown, no form: {page}"
    );
    let (status, _, _) =
        ca.submit(&app, &edit, &[("csrf", &ca_csrf), ("name", "Page Co"), ("meta_data", "{\"by\": \"ca\"}")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/companies/{company}"), &app.admin_token).await.body["meta_data"],
        json!({"by": "ca"})
    );
    // An OPERATOR reads, and is refused too.
    let op = console_login(&app, &op_email, PASSWORD).await.0;
    let op_csrf = op.csrf(&app).await;
    let (status, _, page) = op.get(&app, &page_path).await;
    assert!(status == StatusCode::OK && !page.contains("name=\"quality\""), "{page}");
    let (status, _, _) =
        op.submit(&app, &path, &[("csrf", &op_csrf), ("quality", "0.9"), ("biometry", ""), ("collection", "")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = op.submit(&app, &edit, &[("csrf", &op_csrf), ("name", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(thresholds().await, t, "unchanged by the refused");
}

/// Console spec §4.6: a person refused deletion for its COLLECTION matches; a role that deletes
/// analyses is offered "delete these N analyses, then the person" (typed confirmation), which
/// runs `DELETE /api/analyses/{id}`'s and the person deletion's domain functions, audited; a
/// role that may not is neither offered it nor let through when it posts anyway.
#[tokio::test]
async fn a_person_is_deleted_with_its_matching_analyses_by_a_role_that_deletes_analyses() {
    let app = TestApp::spawn(Backend::Sqlite).await.respawn_default().await;
    let Some(p) = face_photos("delete with analyses", &["obama.jpg", "obama2.jpg", "obama3.jpg"]) else { return };
    let company = app.company("Matches").await;
    let (_, ca_email, ca_token) = app.user(Some(company), "CLIENT ADMIN").await;
    let (_, client_email, client_token) = app.user(Some(company), "CLIENT").await;
    let (_, cop_email, _) = app.user(Some(company), "CLIENT OPERATOR").await;
    let (_, op_email, _) = app.user(None, "OPERATOR").await;
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let csrf = ca.csrf(&app).await;
    let (status, location, body) =
        ca.submit(&app, "/console/collections", &[("csrf", &csrf), ("alias", "watch"), ("meta_data", "")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let cid = id_after(&location, "/console/collections/");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("first_name", "Barack")
        .part("photos", image_part("obama.jpg", p[0].clone()));
    let (status, location, body) = ca.post_multipart(&app, &format!("/console/collections/{cid}/persons"), form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let pid = id_after(&location, &format!("/console/collections/{cid}/persons/"));
    // Two orders whose COLLECTION analyses match him.
    let mut analyses = Vec::new();
    for photo in [&p[1], &p[2]] {
        let payload = json!({"media:tags": {"a": ["photo_selfie"]},
            "analyses": [{"type": "collection", "collection_id": cid.to_string()}]})
        .to_string();
        let r = app
            .upload(
                "/api/folders/",
                &client_token,
                vec![Part::File("a", "probe.jpg", photo.clone()), Part::Payload(payload)],
            )
            .await;
        r.assert_status(201);
        assert_eq!(r.body["analyses"][0]["results_media"][0]["person_id"], json!(pid.to_string()), "{}", r.text);
        analyses.push(r.body["analyses"][0]["analyse_id"].as_str().unwrap().to_owned());
    }
    let person_url = format!("/api/collections/{cid}/persons/{pid}");
    let del = format!("/console/collections/{cid}/persons/{pid}/delete");
    let both = format!("/console/collections/{cid}/persons/{pid}/delete-with-analyses");
    let short = pid.to_string()[..8].to_owned();
    let ids = analyses.join(",");

    // The CLIENT ADMIN is refused the plain deletion and offered the combined one, with both ids.
    let (status, _, body) = ca.submit(&app, &del, &[("csrf", &csrf), ("confirm", &short)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("Delete these 2 analyses, then the person") && body.contains(&format!("action=\"{both}\"")),
        "{body}"
    );
    for a in &analyses {
        assert!(body.contains(a.as_str()), "{a} in {body}");
    }

    // Roles that may not delete analyses: no offer (no deletion at all), refused when posting.
    for (email, label) in [(&client_email, "CLIENT"), (&cop_email, "CLIENT OPERATOR"), (&op_email, "OPERATOR")] {
        let c = console_login(&app, email, PASSWORD).await.0;
        let c_csrf = c.csrf(&app).await;
        let (_, _, page) = c.get(&app, &format!("/console/collections/{cid}/persons/{pid}")).await;
        assert!(!page.contains("delete-with-analyses"), "{label}: {page}");
        let (status, _, body) =
            c.submit(&app, &both, &[("csrf", &c_csrf), ("confirm", &short), ("analyses", &ids)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{label}: {body}");
    }
    // Without CSRF, with a wrong confirmation, with the analyses shown not the current ones
    // (the page again with the current ones offered): nothing deleted.
    let (status, _, _) = ca.submit(&app, &both, &[("confirm", &short), ("analyses", &ids)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = ca.submit(&app, &both, &[("csrf", &csrf), ("confirm", "nope"), ("analyses", &ids)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, body) =
        ca.submit(&app, &both, &[("csrf", &csrf), ("confirm", &short), ("analyses", analyses[0].as_str())]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("nothing was deleted") && body.contains("Delete these 2 analyses"), "{body}");
    let (status, _, _) = ca.submit(&app, &both, &[("csrf", &csrf), ("confirm", &short), ("analyses", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for a in &analyses {
        app.get(&format!("/api/analyses/{a}"), &ca_token).await.assert_status(200);
    }
    app.get(&person_url, &ca_token).await.assert_status(200);

    // Confirmed: the analyses, then the person, are gone, each deletion in the audit.
    let (status, location, body) =
        ca.submit(&app, &both, &[("csrf", &csrf), ("confirm", &short), ("analyses", &ids)]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, format!("/console/collections/{cid}?done=person_deleted").as_str()),
        "{body}"
    );
    for a in &analyses {
        app.get(&format!("/api/analyses/{a}"), &ca_token).await.assert_error(404, 10);
        let ev = app.get(&format!("/api/audit?object_id={a}&event=delete"), &ca_token).await;
        assert_eq!(ev.body["total_count"], 1, "{}", ev.text);
    }
    app.get(&person_url, &ca_token).await.assert_error(404, 10);
    let ev = app.get(&format!("/api/audit?object_id={pid}&event=delete"), &ca_token).await;
    assert_eq!(ev.body["total_count"], 1, "{}", ev.text);
}

/// Console spec §4.6: the bulk import "streams progress": past its checks the answer is a
/// chunked page whose lines (one per person, in its own chunk, as the person is done) come
/// before the chunk of the report; the report ends it; sent again, the imported are skipped.
#[tokio::test]
async fn the_bulk_import_streams_a_line_per_person_before_its_report() {
    let app = TestApp::spawn(Backend::Sqlite).await.respawn_default().await;
    let Some(p) = face_photos("import progress", &["obama.jpg", "biden.jpg", "obama2.jpg"]) else { return };
    let company = app.company("Progress").await;
    let (_, ca_email, ca_token) = app.user(Some(company), "CLIENT ADMIN").await;
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let csrf = ca.csrf(&app).await;
    let (status, location, body) =
        ca.submit(&app, "/console/collections", &[("csrf", &csrf), ("alias", "progress"), ("meta_data", "")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let cid = id_after(&location, "/console/collections/");
    let noface = jpeg(64, 48);
    let archive = zip_of(&[
        ("alice/1.jpg", p[0].as_slice()),
        ("bob/1.jpg", p[1].as_slice()),
        ("carol/x.jpg", noface.as_slice()),
        ("dave/1.jpg", p[2].as_slice()),
    ]);
    let import = format!("/console/collections/{cid}/import");
    let send = || async {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("import", reqwest::multipart::Part::bytes(archive.clone()).file_name("persons.zip"));
        // As a browser asks (pages go compressed, this one does not: each line leaves as made).
        let mut res = browser()
            .post(app.url(&import))
            .header("Cookie", &ca.cookie)
            .header("Accept-Encoding", "gzip")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("content-encoding").is_none(), "{:?}", res.headers());
        assert_eq!(res.headers()["x-accel-buffering"], "no");
        assert!(res.headers().get(reqwest::header::CONTENT_LENGTH).is_none(), "{:?}", res.headers());
        assert_eq!(res.headers()["transfer-encoding"], "chunked");
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
        let mut chunks = Vec::new();
        while let Some(c) = res.chunk().await.unwrap() {
            chunks.push(String::from_utf8_lossy(&c).into_owned());
        }
        chunks
    };
    let chunks = send().await;
    let at =
        |part: &str| chunks.iter().position(|c| c.contains(part)).unwrap_or_else(|| panic!("{part} in {chunks:#?}"));
    let lines = [
        "<li data-outcome=\"imported\">1/4 <code>alice</code>: imported (photos: 1)</li>",
        "<li data-outcome=\"imported\">2/4 <code>bob</code>: imported (photos: 1)</li>",
        "<li data-outcome=\"not-imported\">3/4 <code>carol</code>: not imported: ",
        "<li data-outcome=\"imported\">4/4 <code>dave</code>: imported (photos: 1)</li>",
    ];
    let start = at("4 person folders to import");
    let report = at("<dt>Persons imported</dt><dd>3</dd>");
    let mut before = start;
    for line in lines {
        let i = at(line);
        assert!(
            before < i && i < report,
            "{line}: chunk {i}, after {before}, before the report's {report}: {chunks:#?}"
        );
        before = i;
    }
    let page = chunks.concat();
    assert!(page.contains("files left out: 1</li>") && page.contains("<td>carol/x.jpg</td>"), "{page}");
    assert!(page.contains("The import is done.") && page.trim_end().ends_with("</html>"), "{page}");
    let persons = app.get(&format!("/api/collections/{cid}/persons/"), &ca_token).await;
    assert_eq!(persons.body.as_array().unwrap().len(), 3, "{}", persons.text);

    // Again: the three imported are skipped, line by line; carol is tried again.
    let again = send().await.concat();
    for part in [
        "<li data-outcome=\"skipped\">1/4 <code>alice</code>: skipped (imported before)</li>",
        "<li data-outcome=\"not-imported\">3/4 <code>carol</code>",
        "<dt>Persons skipped (imported before)</dt><dd>3</dd>",
        "<dt>Persons imported</dt><dd>0</dd>",
    ] {
        assert!(again.contains(part), "{part} in {again}");
    }
    assert_eq!(app.get(&format!("/api/collections/{cid}/persons/"), &ca_token).await.body.as_array().unwrap().len(), 3);
}

/// Console spec §4.6: the bulk import takes a meta_data CSV beside the ZIP (the person column,
/// then meta_data keys), merged into each person's meta_data over its `person.json`; a bad CSV,
/// or one naming a person the upload lacks, is refused before anything is imported.
#[tokio::test]
async fn the_bulk_import_merges_a_meta_data_csv_or_refuses_it_before_importing() {
    let app = TestApp::spawn(Backend::Sqlite).await.respawn_default().await;
    let Some(p) = face_photos("import meta_data csv", &["obama.jpg", "biden.jpg"]) else { return };
    let company = app.company("Imports").await;
    let (_, ca_email, ca_token) = app.user(Some(company), "CLIENT ADMIN").await;
    let ca = console_login(&app, &ca_email, PASSWORD).await.0;
    let csrf = ca.csrf(&app).await;
    let (status, location, body) =
        ca.submit(&app, "/console/collections", &[("csrf", &csrf), ("alias", "csv"), ("meta_data", "")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let cid = id_after(&location, "/console/collections/");
    let (_, _, page) = ca.get(&app, &location).await;
    assert!(page.contains("name=\"meta_data_csv\""), "the CSV input: {page}");
    let archive = zip_of(&[
        ("alice/1.jpg", p[0].as_slice()),
        ("alice/person.json", br#"{"iin": "0", "city": "Astana"}"#.as_slice()),
        ("biden.jpg", p[1].as_slice()),
    ]);
    let import = format!("/console/collections/{cid}/import");
    let form = |csv: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("import", reqwest::multipart::Part::bytes(archive.clone()).file_name("persons.zip"))
            .part("meta_data_csv", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("meta.csv"))
    };
    let persons = || async { app.get(&format!("/api/collections/{cid}/persons/"), &ca_token).await.body };
    // Refused before anything is imported, the line and reason said.
    for (csv, why) in [
        ("person,iin\nalice,1,extra\n", "line 2: 3 cells, the header has 2"),
        ("person\nalice\n", "at least one meta_data key"),
        ("person,iin\nalice,\"1\n", "not closed"),
        ("person,import_key\nalice,x\n", "set by the import"),
        ("person,iin\ncarol,3\n", "persons the upload does not have: carol"),
    ] {
        let (status, _, body) = ca.post_multipart(&app, &import, form(csv)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{csv:?}: {body}");
        assert!(body.contains(why) && body.contains("role=\"alert\""), "{csv:?}: {body}");
        assert_eq!(persons().await, json!([]), "nothing imported for {csv:?}");
    }
    // Merged: the CSV's cells over person.json's keys; an empty cell leaves the key out.
    let csv = "\u{feff}person,iin,note\r\nalice,770101,\"=a, \"\"b\"\"\"\r\nbiden,,vip\r\n";
    let (status, _, report) = ca.post_multipart(&app, &import, form(csv)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report.contains("<dt>Persons imported</dt><dd>2</dd>"), "{report}");
    let list = persons().await;
    let meta_of = |key: &str| {
        list.as_array().unwrap().iter().find(|p| p["meta_data"]["import_key"] == key).unwrap()["meta_data"].clone()
    };
    assert_eq!(
        meta_of("alice"),
        json!({"iin": "770101", "city": "Astana", "note": "=a, \"b\"", "import_key": "alice"})
    );
    assert_eq!(meta_of("biden"), json!({"note": "vip", "import_key": "biden"}));
}
