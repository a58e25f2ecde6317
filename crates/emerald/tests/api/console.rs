//! The web console (issue #20): real HTTP on the real server. Login and its cookie, the CSRF
//! token on every POST, the CSP, the cookie refused by `/api`, per-role visibility, escaping of
//! hostile values, the CSV-injection guard.

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::fixtures::*;
use crate::helpers::*;

const HOSTILE: &str = "<script>alert(1)</script>";

/// A client that does not follow redirects (the tests look at them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

struct Console {
    cookie: String,
}

/// Log in through the console's form; the session cookie (`name=value`).
async fn console_login(app: &TestApp, email: &str, password: &str) -> (Console, reqwest::Response) {
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
    async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let res = browser().get(app.url(path)).header("Cookie", &self.cookie).send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.text().await.unwrap())
    }

    async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let res = browser().post(app.url(path)).header("Cookie", &self.cookie).form(form).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// The CSRF token of this session, from the logout form of any page.
    async fn csrf(&self, app: &TestApp) -> String {
        let (_, _, body) = self.get(app, "/console").await;
        let at = body.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
        body[at..at + 32].to_owned()
    }
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
    assert!(users.contains(&email_a) && !users.contains(&email_b));
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
        assert_eq!(body.matches("<script").count(), 1, "{path}: only the htmx script element");
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
    let mut state = String::new();
    for _ in 0..300 {
        state =
            app.get(&format!("/api/analyses/{analyse_id}"), &token).await.body["state"].as_str().unwrap().to_owned();
        if state != "PROCESSING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "FINISHED");
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
        let (_, _, review) = op.get(&app, "/console/review").await;
        assert!(review.contains(&folder.to_string()), "the case is in the queue: {review}");
        let path = format!("/console/analyses/{analyse_id}/decision");
        let (status, body) =
            op.post(&app, &path, &[("csrf", &csrf), ("resolution", "DECLINED"), ("comment", HOSTILE)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let a = app.get(&format!("/api/analyses/{analyse_id}"), &token).await;
        assert_eq!(a.body["resolution_status"], "DECLINED", "the API shows the console's decision");
        assert_eq!(a.body["resolution_comment"], HOSTILE);
        // Decided: a second decision is refused.
        let (status, _) = op.post(&app, &path, &[("csrf", &csrf), ("resolution", "SUCCESS")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // The order page's history: who, before → after, the comment escaped.
        let (_, _, page) = op.get(&app, &format!("/console/orders/{folder}")).await;
        let history = &page[page.find("id=\"history\"").expect("history section")..];
        assert!(history.contains(&op_email) && history.contains("OPERATOR_REQUIRED") && history.contains("DECLINED"));
        assert!(history.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains(HOSTILE), "{page}");
        let audit = app.get(&format!("/api/audit?object_id={analyse_id}"), &app.admin_token).await;
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
    let f = app.get(&format!("/api/folders/{folder_id}?with_analyses=true"), &client_token).await;
    f.assert_status(200);
    assert_eq!(f.body["meta_data"], json!({"transaction_id": "tx-console-1", "iin": "=1+1"}));
    let media = f.body["media"].as_array().unwrap();
    assert_eq!(media.len(), 2, "{}", f.text);
    let tags_of = |name: &str| media.iter().find(|m| m["original_name"] == name).unwrap()["tags"].clone();
    assert_eq!(tags_of("selfie.jpg"), json!(["photo_selfie"]));
    assert_eq!(tags_of("front.jpg"), json!(["photo_id", "photo_id_front"]));
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

    // Delete: not offered to the CLIENT (refused if tried); the ADMIN types the id's start.
    let (_, _, page) = client.get(&app, &location).await;
    assert!(!page.contains("/delete\""), "{page}");
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
    assert!(body.contains("<dt>Unique persons by iin</dt><dd>2 (3 orders carry an iin)</dd>"), "{body}");
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
