//! Operations over HTTP (issue #20): webhook delivery history and redelivery (GAP-5) against a
//! real local receiver that fails first, `GET /api/health` (GAP-15), the audit of creations,
//! edits, deletions and deliveries (GAP-4), and the console screens that show them; per role,
//! on SQLite and (with `DATABASE_URL`) PostgreSQL.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use emerald::domain::model::audit::AuthEvent;

use crate::analyses::Receiver;
use crate::both_backends;
use crate::console::console_login;
use crate::helpers::fixtures::*;
use crate::helpers::*;

/// A folder with one photo, made by `token`, sending its results to `endpoint` when given.
async fn folder(app: &TestApp, token: &str, endpoint: Option<&str>) -> Uuid {
    let mut payload = json!({"media:tags": {"a": ["photo_selfie"]}});
    if let Some(url) = endpoint {
        payload["resolution_endpoint"] = json!(url);
    }
    let parts = vec![Part::File("a", "a.jpg", jpeg(64, 48)), Part::Payload(payload.to_string())];
    app.upload("/api/folders/", token, parts).await.assert_status(201).id("folder_id")
}

/// Poll the folder's deliveries until `done` holds (at most 30 s).
async fn deliveries_until(app: &TestApp, token: &str, folder_id: Uuid, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.get(&format!("/api/folders/{folder_id}/webhook_deliveries"), token).await;
        r.assert_status(200);
        if done(&r.body) {
            return r.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "deliveries never reached the state awaited: {}", r.text);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The audit events `GET /api/audit?{query}` lists to `token`.
async fn audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/audit?{query}&limit=100"), token).await;
    r.assert_status(200);
    r.body["items"].as_array().unwrap().clone()
}

/// The same, once there are `n` (a delivery's end is audited just after it is recorded).
async fn audit_until(app: &TestApp, token: &str, query: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = audit(app, token, query).await;
        if events.len() >= n {
            return events;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} events awaited for {query}: {events:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `GET {path}` as text with `token`: (status, content-type, body).
async fn get_csv(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let res = app.client.get(app.url(path)).header("X-Forensic-Access-Token", token).send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ctype, res.text().await.unwrap())
}

/// The records of an RFC 4180 CSV text, as the import reads a meta_data CSV
/// (`emerald::import::csv_records`); the text ends with a full line.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    assert!(text.is_empty() || text.ends_with('\n'), "the CSV ends with a full line: {text:?}");
    let records = emerald::import::csv_records(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    records.into_iter().map(|(_, r)| r).collect()
}

/// The audit CSV `GET /api/audit.csv?{query}` gives `token`, as maps of column → cell.
async fn audit_csv(app: &TestApp, token: &str, query: &str) -> Vec<std::collections::HashMap<String, String>> {
    let (status, ctype, text) = get_csv(app, &format!("/api/audit.csv?{query}"), token).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(ctype, "text/csv; charset=utf-8");
    let mut records = csv_records(&text);
    let header = records.remove(0);
    assert_eq!(
        header,
        [
            "event_id",
            "time_created",
            "time_created_utc",
            "event",
            "outcome",
            "user_id",
            "company_id",
            "email",
            "actor_id",
            "client_addr",
            "object_type",
            "object_id",
            "before",
            "after",
            "comment"
        ]
    );
    records
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}

/// Make every insert into `auth_events` fail (`on`), or stop doing so, with a trigger in the
/// app's own database: a change whose audit event cannot be stored must not happen.
async fn refuse_audit_inserts(app: &TestApp, on: bool) {
    use sqlx::Connection;
    match app.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", app.data_dir.path().join("emerald.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let sql = if on {
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON auth_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
            } else {
                "DROP TRIGGER refuse_audit"
            };
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(app.config.database_url.as_deref().unwrap()).await.unwrap();
            let sqls: &[&str] = if on {
                &["CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
                  "CREATE TRIGGER refuse_audit BEFORE INSERT ON auth_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()"]
            } else {
                &["DROP TRIGGER refuse_audit ON auth_events", "DROP FUNCTION refuse_audit()"]
            };
            for sql in sqls {
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
        }
    }
}

/// Run one statement with one id bound on the test server's database (to put a case in a
/// state the engine would take a real photo pair to reach).
async fn exec_with_id(app: &TestApp, sql: &str, id: Uuid) {
    use sqlx::Connection;
    match app.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", app.data_dir.path().join("emerald.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(app.config.database_url.as_deref().unwrap()).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut c).await.unwrap();
        }
    }
}

/// A case awaiting a decision: a folder of `token`'s with a QUALITY analysis, run by the
/// workers, then marked FINISHED / OPERATOR_REQUIRED (as a score in the operator band leaves
/// it), created at `time_created`: (folder_id, analyse_id).
async fn review_case(app: &TestApp, token: &str, time_created: f64) -> (Uuid, Uuid) {
    let f = folder(app, token, None).await;
    let r = app.post(&format!("/api/folders/{f}/analyses"), token, json!({"analyses": [{"type": "quality"}]})).await;
    r.assert_status(201);
    let a: Uuid = r.body[0]["analyse_id"].as_str().unwrap().parse().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.get(&format!("/api/analyses/{a}"), token).await.body["state"] == "PROCESSING" {
        assert!(tokio::time::Instant::now() < deadline, "the analysis never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    exec_with_id(
        app,
        "UPDATE analyses SET state = 'FINISHED', resolution_status = 'OPERATOR_REQUIRED' WHERE analyse_id = $1",
        a,
    )
    .await;
    let sql = format!(
        "UPDATE folders SET resolution_status = 'FINISHED', system_resolution = 'OPERATOR_REQUIRED', \
         time_created = {time_created} WHERE folder_id = $1"
    );
    exec_with_id(app, &sql, f).await;
    (f, a)
}

both_backends! {
    async fn webhook_deliveries_keep_every_attempt_and_can_be_sent_again(app) {
        let receiver = Receiver::start(1).await;
        let app = app.restart(|c| {
            c.webhook_allow_private = true;
            c.webhook_backoff = 0.05;
        }).await;
        let company = app.company(&format!("Hooks {}", Uuid::new_v4().simple())).await;
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let (_, _, client_operator) = app.user(Some(company), "CLIENT_OPERATOR").await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        let (_, _, stranger) = app.user(Some(app.company(&format!("Other {}", Uuid::new_v4().simple())).await), "CLIENT").await;
        let folder_id = folder(&app, &client, Some(&receiver.url())).await;
        let path = format!("/api/folders/{folder_id}/webhook_deliveries");
        // Nothing sent yet: a folder without analyses has not finished anything.
        assert_eq!(app.get(&path, &client).await.assert_status(200).body, json!([]));
        // Redelivery is for whoever may request analyses on the folder.
        app.post(&format!("{path}/redeliver"), &operator, json!({})).await.assert_error(403, 9);
        app.post(&format!("{path}/redeliver"), &client_operator, json!({})).await.assert_error(403, 9);
        app.post(&format!("{path}/redeliver"), &stranger, json!({})).await.assert_error(404, 10);
        app.get(&path, &stranger).await.assert_error(404, 10);
        let r = app.post(&format!("{path}/redeliver/"), &client, json!({})).await;
        r.assert_status(201);
        let delivery_id = r.id("delivery_id");
        assert_eq!(r.body["status"], "pending", "{}", r.text);
        assert_eq!(r.body["url"], json!(receiver.url()));
        assert_eq!(r.body["attempt_count"], 0);
        assert_eq!(r.body["attempts"], json!([]));
        // The receiver answers 500 once, then 200: two attempts, the same delivery id.
        let hits = receiver.wait_for(2).await;
        assert!(hits.iter().all(|h| h.delivery == delivery_id.to_string()), "{hits:?}");
        let sent: Value = serde_json::from_slice(&hits[1].body).unwrap();
        assert_eq!(sent["folder_id"], json!(folder_id.to_string()));
        let list = deliveries_until(&app, &client, folder_id, |b| b[0]["status"] == "delivered").await;
        let d = &list[0];
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(d["delivery_id"], json!(delivery_id.to_string()));
        assert_eq!(d["attempt_count"], 2);
        assert_eq!(d["last_http_status"], 200);
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2, "{d}");
        assert_eq!((attempts[0]["attempt"].clone(), attempts[0]["http_status"].clone()), (json!(1), json!(500)));
        assert_eq!(attempts[0]["outcome"], "retrying");
        assert_eq!(attempts[0]["error"], "the endpoint answered HTTP 500");
        assert_eq!((attempts[1]["attempt"].clone(), attempts[1]["http_status"].clone()), (json!(2), json!(200)));
        assert_eq!(attempts[1]["outcome"], "delivered");
        assert_eq!(attempts[1]["error"], Value::Null);
        for a in attempts {
            assert_eq!(a["url"], json!(receiver.url()));
            assert!(a["duration"].as_f64().unwrap() >= 0.0 && a["duration"].as_f64().unwrap() < 30.0, "{a}");
            assert!(a["time_created"].as_f64().unwrap() >= d["time_created"].as_f64().unwrap(), "{d}");
        }
        // Readers of the folder read its deliveries: an OPERATOR, the company's CLIENT OPERATOR.
        assert_eq!(app.get(&path, &operator).await.assert_status(200).body, list);
        assert_eq!(app.get(&path, &client_operator).await.assert_status(200).body, list);
        // Sent again: a second delivery, delivered at the first attempt.
        let again = app.post(&format!("{path}/redeliver"), &app.admin_token, json!({})).await;
        again.assert_status(201);
        receiver.wait_for(3).await;
        let list = deliveries_until(&app, &client, folder_id, |b| b.as_array().unwrap().len() == 2 && b[1]["status"] == "delivered").await;
        assert_eq!(list[1]["delivery_id"], again.body["delivery_id"]);
        assert_eq!(list[1]["attempts"].as_array().unwrap().len(), 1);
        // The redeliveries and the deliveries' ends are in the audit trail, for the ADMIN and
        // for the company's CLIENT ADMIN.
        let (_, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        for token in [&app.admin_token, &client_admin] {
            let events = audit(&app, token, &format!("object_id={folder_id}&event=redeliver")).await;
            assert_eq!(events.len(), 2, "{events:?}");
            assert_eq!(events[1]["object_type"], "folder");
            assert_eq!(events[1]["after"], "pending");
            let ended = audit_until(&app, token, &format!("object_id={folder_id}&event=webhook"), 2).await;
            assert_eq!(ended.len(), 2, "{ended:?}");
            assert!(ended.iter().all(|e| e["outcome"] == "success" && e["after"] == "delivered"), "{ended:?}");
        }
        // A folder without a resolution_endpoint has nowhere to send to.
        let plain = folder(&app, &client, None).await;
        app.post(&format!("/api/folders/{plain}/webhook_deliveries/redeliver"), &client, json!({})).await.assert_error(400, 4);
        app.get(&format!("/api/folders/{}/webhook_deliveries", Uuid::new_v4()), &client).await.assert_error(404, 10);
        app.get("/api/folders/not-an-id/webhook_deliveries", &client).await.assert_error(400, 4);
        // Deleting the folder deletes its deliveries and their attempts.
        app.delete(&format!("/api/folders/{folder_id}"), &app.admin_token).await.assert_status(204);
        app.get(&path, &app.admin_token).await.assert_error(404, 10);
    }

    async fn health_is_for_the_admin_and_reports_the_checks(app) {
        let company = app.company(&format!("Health {}", Uuid::new_v4().simple())).await;
        for role in ["CLIENT", "CLIENT_ADMIN", "CLIENT_OPERATOR"] {
            let (_, _, token) = app.user(Some(company), role).await;
            app.get("/api/health", &token).await.assert_error(403, 9);
        }
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        app.get("/api/health", &operator).await.assert_error(403, 9);
        let r = app.send(reqwest::Method::GET, "/api/health", None, None, None).await;
        r.assert_error(401, 6);
        let h = app.get("/api/health/", &app.admin_token).await;
        h.assert_status(200);
        let b = &h.body;
        let backend = match app.backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" };
        assert_eq!(b["database"]["ok"], true, "{}", h.text);
        assert_eq!(b["database"]["backend"], backend);
        assert_eq!(b["blob_store"]["ok"], true, "{}", h.text);
        assert_eq!(b["blob_store"]["error"], Value::Null);
        assert_eq!(b["version"], env!("CARGO_PKG_VERSION"));
        assert!(b["disk"]["free_bytes"].as_u64().unwrap() > 0, "{}", h.text);
        assert!(b["disk"]["total_bytes"].as_u64().unwrap() >= b["disk"]["free_bytes"].as_u64().unwrap());
        assert_eq!(b["disk"]["path"], json!(app.data_dir.path().display().to_string()));
        assert_eq!(b["job_queue"]["ok"], true, "{}", h.text);
        assert_eq!(b["job_queue"]["queued"], 0);
        assert_eq!(b["job_queue"]["processing_analyses"], 0);
        assert_eq!(b["webhooks"]["ok"], true);
        assert_eq!(b["webhooks"]["failed_deliveries"], 0);
        assert_eq!(b["webhooks"]["recent_failures"], json!([]));
        assert_eq!(b["models"]["collections"], json!(app.domain.blacklist.is_some()));
        assert_eq!(b["models"]["ok"], json!(app.domain.faces().is_ok()));
        let expected = if app.domain.faces().is_ok() && b["disk"]["ok"] == true { "ok" } else { "degraded" };
        assert_eq!(b["status"], expected, "{}", h.text);
        // The blob probe leaves nothing behind.
        assert!(app.blob_files().iter().all(|f| !f.to_string_lossy().contains("health")), "{:?}", app.blob_files());

        // A webhook to a private address is refused at once (not allowed here): a failure
        // the health check reports, with the folder to look at.
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let folder_id = folder(&app, &client, Some("http://127.0.0.1:9/hook")).await;
        app.post(&format!("/api/folders/{folder_id}/webhook_deliveries/redeliver"), &client, json!({})).await.assert_status(201);
        let list = deliveries_until(&app, &client, folder_id, |b| b[0]["status"] == "failed").await;
        let attempt = &list[0]["attempts"][0];
        assert_eq!(attempt["outcome"], "failed");
        assert_eq!(attempt["http_status"], Value::Null);
        assert!(attempt["error"].as_str().unwrap().contains("non-public address"), "{attempt}");
        let b = app.get("/api/health", &app.admin_token).await.body;
        assert_eq!(b["webhooks"]["ok"], false);
        assert_eq!(b["webhooks"]["failed_deliveries"], 1);
        assert_eq!(b["webhooks"]["failed_attempts"], 1);
        assert_eq!(b["webhooks"]["recent_failures"][0]["folder_id"], json!(folder_id.to_string()));
        assert_eq!(b["status"], "degraded");
        let ended = audit_until(&app, &app.admin_token, &format!("object_id={folder_id}&event=webhook"), 1).await;
        assert_eq!(ended.len(), 1);
        assert_eq!((ended[0]["outcome"].clone(), ended[0]["after"].clone()), (json!("failure"), json!("failed")));

        // The routes are in the OpenAPI document.
        let doc = app.send(reqwest::Method::GET, "/openapi.json", None, None, None).await.body;
        for (path, method) in [("/api/health", "get"), ("/api/folders/{folder_id}/webhook_deliveries", "get"),
            ("/api/folders/{folder_id}/webhook_deliveries/redeliver", "post")] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path} in /openapi.json");
        }
        assert!(doc["paths"]["/api/health"]["get"]["responses"]["403"].is_object());
        // Its own schema names: Oz API Lite's `HealthView` and the statistics' `QueueView` are
        // other objects.
        assert!(doc["components"]["schemas"]["ServerHealthView"]["properties"]["job_queue"].is_object(), "{doc}");
        assert!(doc["components"]["schemas"]["HealthQueueView"]["properties"]["due"].is_object(), "{doc}");
        assert!(doc["components"]["schemas"]["QueueView"]["properties"]["unfinished"].is_object(), "{doc}");

        // The console's system page shows the same checks, to the ADMIN only.
        let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
        let (status, _, page) = admin.get(&app, "/console/system").await;
        assert_eq!(status, StatusCode::OK);
        for needle in ["Media storage", "writable and readable", "Free storage", "Webhook failures (24 h)",
            "1 failed attempts, 1 deliveries given up", "data-status=\"degraded\"", &format!("/console/orders/{folder_id}#webhooks")] {
            assert!(page.contains(needle), "{needle} in {page}");
        }
    }

    async fn creations_edits_and_deletions_are_audited(app) {
        let company = app.company(&format!("Audit {}", Uuid::new_v4().simple())).await;
        let (client_id, _, client) = app.user(Some(company), "CLIENT").await;
        let (_, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let (_, _, other_admin) = app.user(Some(app.company(&format!("Else {}", Uuid::new_v4().simple())).await), "CLIENT_ADMIN").await;
        let r = app.upload("/api/folders/", &client, vec![Part::File("a", "a.jpg", jpeg(64, 48)),
            Part::Payload(json!({"media:tags": {"a": ["photo_selfie"]}}).to_string())]).await;
        r.assert_status(201);
        let folder_id = r.id("folder_id");
        let media_id = r.body["media"][0]["media_id"].as_str().unwrap().to_owned();
        let created = audit(&app, &client_admin, &format!("object_id={folder_id}&event=create")).await;
        assert_eq!(created.len(), 1, "{created:?}");
        assert_eq!(created[0]["user_id"], json!(client_id.to_string()));
        assert_eq!(created[0]["object_type"], "folder");
        let m = audit(&app, &app.admin_token, &format!("object_id={media_id}")).await;
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!((m[0]["event"].clone(), m[0]["after"].clone()), (json!("create"), json!("IMAGE_FOLDER")));
        assert!(m[0]["comment"].as_str().unwrap().contains(&folder_id.to_string()), "{m:?}");
        // Another company's CLIENT ADMIN sees none of it.
        assert!(audit(&app, &other_admin, &format!("object_id={folder_id}")).await.is_empty());
        // Media added later, analyses requested.
        let added = app.upload(&format!("/api/folders/{folder_id}/media"), &client,
            vec![Part::File("b", "b.jpg", jpeg(64, 48)), Part::Payload(json!({"media:tags": {"b": ["photo_selfie"]}}).to_string())]).await;
        added.assert_status(201);
        let second = added.body[0]["media_id"].as_str().unwrap().to_owned();
        assert_eq!(audit(&app, &client_admin, &format!("object_id={second}&event=create")).await.len(), 1);
        let a = app.post(&format!("/api/folders/{folder_id}/analyses"), &client, json!({"analyses": [{"type": "quality"}]})).await;
        a.assert_status(201);
        let analyse_id = a.body[0]["analyse_id"].as_str().unwrap().to_owned();
        let ev = audit(&app, &client_admin, &format!("object_id={analyse_id}")).await;
        assert_eq!((ev[0]["event"].clone(), ev[0]["after"].clone()), (json!("create"), json!("QUALITY")), "{ev:?}");
        // A meta_data edit: before and after.
        app.post(&format!("/api/folders/{folder_id}/meta_data"), &client, json!({"iin": "123"})).await.assert_status(200);
        app.patch(&format!("/api/folders/{folder_id}/meta_data"), &client, json!({"iin": "456"})).await.assert_status(200);
        let mut edits = audit(&app, &client_admin, &format!("object_id={folder_id}&event=update")).await;
        edits.reverse();
        assert_eq!(edits.len(), 2, "{edits:?}");
        assert_eq!((edits[0]["before"].clone(), edits[0]["after"].clone()), (json!("{}"), json!("{\"iin\":\"123\"}")));
        assert_eq!((edits[1]["before"].clone(), edits[1]["after"].clone()), (json!("{\"iin\":\"123\"}"), json!("{\"iin\":\"456\"}")));
        assert_eq!(edits[1]["comment"], "meta_data");
        // Deletions: a media, then the folder.
        app.delete(&format!("/api/media/{second}"), &client_admin).await.assert_status(204);
        let gone = audit(&app, &client_admin, &format!("object_id={second}&event=delete")).await;
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0]["before"], "IMAGE_FOLDER");
        app.delete(&format!("/api/folders/{folder_id}"), &client_admin).await.assert_status(204);
        let gone = audit(&app, &app.admin_token, &format!("object_id={folder_id}&event=delete")).await;
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0]["comment"], "1 media, 1 analyses");
        // The history stays after the objects are gone, and filters by action and user.
        let mine = audit(&app, &app.admin_token, &format!("user_id={client_id}&event=create")).await;
        assert_eq!(mine.len(), 4, "folder, two media, one analysis: {mine:?}");

        // Users and companies, created and deleted by the ADMIN.
        let co = app.company(&format!("Gone {}", Uuid::new_v4().simple())).await;
        let (uid, email, _) = app.user(Some(co), "CLIENT").await;
        app.delete(&format!("/api/users/{uid}"), &app.admin_token).await.assert_status(204);
        app.delete(&format!("/api/companies/{co}"), &app.admin_token).await.assert_status(204);
        let u = audit(&app, &app.admin_token, &format!("object_id={uid}")).await;
        let seen: Vec<(&str, &str)> = u.iter().map(|e| (e["event"].as_str().unwrap(), e["comment"].as_str().unwrap())).collect();
        assert_eq!(seen, [("delete", email.as_str()), ("create", email.as_str())], "{u:?}");
        assert_eq!((u[1]["after"].clone(), u[0]["before"].clone()), (json!("CLIENT"), json!("CLIENT")));
        let c = audit(&app, &app.admin_token, &format!("object_id={co}")).await;
        let seen: Vec<&str> = c.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(seen, ["delete", "create"], "{c:?}");

        // The console's audit screen reads the same list, with the same filters.
        let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
        let (status, _, page) = admin.get(&app, &format!("/console/audit?object_id={folder_id}&event=delete")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("1 media, 1 analyses"), "{page}");
        assert!(page.contains(&format!("/console/orders/{folder_id}")), "{page}");
        assert!(!page.contains("meta_data</td>"), "only deletions: {page}");
        let (_, _, bad) = admin.get(&app, "/console/audit?object_id=nope").await;
        assert!(bad.contains("class=\"error\""), "{bad}");
        let (_, client_email, _) = app.user(Some(company), "CLIENT").await;
        let client_console = console_login(&app, &client_email, PASSWORD).await.0;
        assert_eq!(client_console.get(&app, "/console/audit").await.0, StatusCode::FORBIDDEN);
        let (_, _, home) = client_console.get(&app, "/console").await;
        assert!(!home.contains("/console/audit"), "{home}");
    }

    async fn collections_persons_and_their_photos_are_audited(app) {
        let company = app.company(&format!("Audit coll {}", Uuid::new_v4().simple())).await;
        let (admin_id, _, admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let (_, _, other_admin) = app.user(Some(app.company(&format!("Else {}", Uuid::new_v4().simple())).await), "CLIENT_ADMIN").await;
        let cid = app.post("/api/collections/", &admin, json!({"alias": "watch"})).await.assert_status(201).id("collection_id");
        let created = audit(&app, &admin, &format!("object_id={cid}")).await;
        assert_eq!(created.len(), 1, "{created:?}");
        assert_eq!((created[0]["event"].clone(), created[0]["object_type"].clone()), (json!("create"), json!("collection")));
        assert_eq!((created[0]["comment"].clone(), created[0]["user_id"].clone()), (json!("watch"), json!(admin_id.to_string())));
        assert!(audit(&app, &other_admin, &format!("object_id={cid}")).await.is_empty(), "another company's");

        // Persons and photos need the face models; without them the collection's deletion
        // is still audited.
        if let Some(p) = face_photos("collections_persons_and_their_photos_are_audited", &["obama.jpg", "obama2.jpg", "obama3.jpg"]) {
            let tags = json!({"image1": ["photo_selfie"], "image2": ["photo_selfie"]});
            let parts = vec![Part::File("image1", "obama.jpg", p[0].clone()), Part::File("image2", "obama2.jpg", p[1].clone()),
                Part::Payload(json!({"media:tags": tags}).to_string())];
            let r = app.upload(&format!("/api/collections/{cid}/persons/"), &admin, parts).await;
            r.assert_status(201);
            let pid = r.id("person_id");
            let images: Vec<String> = r.body["images"].as_array().unwrap().iter().map(|i| i["person_image_id"].as_str().unwrap().to_owned()).collect();
            let person = audit(&app, &admin, &format!("object_id={pid}")).await;
            assert_eq!(person.len(), 1, "{person:?}");
            assert_eq!((person[0]["event"].clone(), person[0]["object_type"].clone()), (json!("create"), json!("person")));
            assert_eq!(person[0]["comment"], json!(format!("collection {cid}: 2 photos")));
            let photo = audit(&app, &admin, &format!("object_id={}", images[1])).await;
            assert_eq!((photo[0]["event"].clone(), photo[0]["object_type"].clone()), (json!("create"), json!("person_image")));
            assert_eq!(photo[0]["comment"], json!(format!("person {pid} of collection {cid}: obama2.jpg")));
            assert!(audit(&app, &other_admin, &format!("object_id={pid}")).await.is_empty());
            // A photo added, then one deleted, then the person with what is left.
            let added = app.upload(&format!("/api/collections/{cid}/persons/{pid}/images/"), &admin, vec![Part::File("image1", "obama3.jpg", p[2].clone())]).await;
            added.assert_status(201);
            let third = added.body[0]["person_image_id"].as_str().unwrap().to_owned();
            assert_eq!(audit(&app, &admin, &format!("object_id={third}&event=create")).await.len(), 1);
            app.delete(&format!("/api/collections/{cid}/persons/{pid}/images/{}", images[0]), &admin).await.assert_status(204);
            let gone = audit(&app, &admin, &format!("object_id={}&event=delete", images[0])).await;
            assert_eq!(gone.len(), 1, "{gone:?}");
            assert_eq!(gone[0]["comment"], json!(format!("person {pid} of collection {cid}: obama.jpg")));
            app.delete(&format!("/api/collections/{cid}/persons/{pid}"), &admin).await.assert_status(204);
            let gone = audit(&app, &admin, &format!("object_id={pid}&event=delete")).await;
            assert_eq!(gone.len(), 1, "{gone:?}");
            assert_eq!(gone[0]["comment"], json!(format!("collection {cid}: 2 photos")));
            for id in [&images[1], &third] {
                assert_eq!(audit(&app, &admin, &format!("object_id={id}&event=delete")).await.len(), 1, "{id} went with the person");
            }
            let by_type = audit(&app, &admin, &format!("user_id={admin_id}&object_type=person_image")).await;
            assert_eq!(by_type.len(), 6, "three photos created, three deleted: {by_type:?}");
        }
        app.delete(&format!("/api/collections/{cid}"), &admin).await.assert_status(204);
        let events = audit(&app, &admin, &format!("object_id={cid}")).await;
        let seen: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(seen, ["delete", "create"], "{events:?}");
        assert_eq!(events[0]["comment"], "watch");
        // The console's audit screen links the collection.
        let console = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
        let (_, _, page) = console.get(&app, &format!("/console/audit?object_id={cid}")).await;
        assert!(page.contains(&format!("/console/collections/{cid}")) && page.contains("watch"), "{page}");
        // A refused deletion records nothing.
        let kept = app.post("/api/collections/", &admin, json!({"alias": "kept"})).await.assert_status(201).id("collection_id");
        app.delete(&format!("/api/collections/{kept}"), &other_admin).await.assert_error(404, 10);
        assert!(audit(&app, &admin, &format!("object_id={kept}&event=delete")).await.is_empty());
    }

    async fn the_order_page_lists_deliveries_and_redelivers_with_csrf(app) {
        let receiver = Receiver::start(0).await;
        let app = app.restart(|c| c.webhook_allow_private = true).await;
        let company = app.company(&format!("Console hooks {}", Uuid::new_v4().simple())).await;
        let (_, client_email, client) = app.user(Some(company), "CLIENT").await;
        let (_, operator_email, _) = app.user(None, "OPERATOR").await;
        let folder_id = folder(&app, &client, Some(&receiver.url())).await;
        let console = console_login(&app, &client_email, PASSWORD).await.0;
        let order = format!("/console/orders/{folder_id}");
        let (status, _, page) = console.get(&app, &order).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Webhook deliveries") && page.contains("Nothing has been sent"), "{page}");
        assert!(page.contains(&format!("{order}/redeliver")), "{page}");
        // Without the CSRF token nothing is sent.
        let (status, _) = console.post(&app, &format!("{order}/redeliver"), &[("csrf", "x")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(receiver.count(), 0);
        let csrf = console.csrf(&app).await;
        let (status, _) = console.post(&app, &format!("{order}/redeliver"), &[("csrf", &csrf)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        receiver.wait_for(1).await;
        deliveries_until(&app, &client, folder_id, |b| b[0]["status"] == "delivered").await;
        let (_, _, page) = console.get(&app, &order).await;
        assert!(page.contains("HTTP 200") && page.contains("data-status=\"delivered\""), "{page}");
        // An OPERATOR reads the deliveries but gets no button, and the server refuses the post.
        let operator = console_login(&app, &operator_email, PASSWORD).await.0;
        let (_, _, page) = operator.get(&app, &order).await;
        assert!(page.contains("HTTP 200"), "{page}");
        assert!(!page.contains(&format!("{order}/redeliver")), "{page}");
        let csrf = operator.csrf(&app).await;
        let (status, _) = operator.post(&app, &format!("{order}/redeliver"), &[("csrf", &csrf)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(receiver.count(), 1);
    }

    async fn user_edits_and_meta_edits_are_audited_under_the_objects_company(app) {
        let company = app.company(&format!("Edits {}", Uuid::new_v4().simple())).await;
        let other = app.company(&format!("Other {}", Uuid::new_v4().simple())).await;
        let (uid, email, client) = app.user(Some(company), "CLIENT").await;
        let (ca_id, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let (_, _, other_admin) = app.user(Some(other), "CLIENT_ADMIN").await;
        let admin_id = app.get("/api/users/me", &app.admin_token).await.assert_status(200).id("user_id");
        let url = format!("/api/users/{uid}");
        let docs = app.get(&url, &client_admin).await.assert_status(200).body["can_start_analysis_documents"].as_bool().unwrap();

        // A CLIENT ADMIN edits names, a flag and meta_data: one event, the changed fields only.
        app.patch(&url, &client_admin, json!({"first_name": "Renamed", "last_name": "CLIENT",
            "can_start_analysis_documents": !docs, "meta_data": {"k": "v"}})).await.assert_status(200);
        let ev = audit(&app, &client_admin, &format!("object_id={uid}&event=update")).await;
        assert_eq!(ev.len(), 1, "{ev:?}");
        let e = &ev[0];
        assert_eq!((e["user_id"].clone(), e["actor_id"].clone()), (json!(ca_id), json!(ca_id)));
        assert_eq!((e["company_id"].clone(), e["object_type"].clone()), (json!(company), json!("user")));
        assert_eq!(e["before"], json!(format!("first_name=Test; can_start_analysis_documents={docs}; meta_data={{}}")));
        assert_eq!(e["after"], json!(format!("first_name=Renamed; can_start_analysis_documents={}; meta_data={{\"k\":\"v\"}}", !docs)));
        assert_eq!(e["comment"], json!(email));

        // The user changes its own password: recorded that it changed, never the password.
        let secret = "a-new-secret-password-9";
        app.patch(&url, &client, json!({"password": secret, "old_password": PASSWORD})).await.assert_status(200);
        let r = app.get(&format!("/api/audit?object_id={uid}&event=update"), &app.admin_token).await;
        assert!(!r.text.contains(secret) && !r.text.contains(PASSWORD), "{}", r.text);
        let e = &r.body["items"][0];
        assert_eq!((e["user_id"].clone(), e["before"].clone(), e["after"].clone()), (json!(uid), Value::Null, Value::Null));
        assert_eq!(e["comment"], json!(format!("{email}; password changed")));

        // A block has its own event (no update); a patch that changes nothing records nothing.
        app.patch(&url, &client_admin, json!({"is_active": false, "first_name": "Renamed"})).await.assert_status(200);
        app.patch(&url, &client_admin, json!({"is_active": true})).await.assert_status(200);
        assert_eq!(audit(&app, &client_admin, &format!("object_id={uid}&event=update")).await.len(), 2);
        // A refused edit (the email is taken) records nothing either.
        app.patch(&url, &client_admin, json!({"email": ADMIN_EMAIL})).await.assert_error(400, 4);
        assert_eq!(audit(&app, &client_admin, &format!("object_id={uid}&event=update")).await.len(), 2);

        // The ADMIN changes the role, then moves the user to another company: both companies'
        // CLIENT ADMINs read the move.
        let role = app.patch(&url, &app.admin_token, json!({"user_type": "CLIENT OPERATOR"})).await;
        role.assert_status(200);
        let ev = audit(&app, &client_admin, &format!("object_id={uid}&event=update")).await;
        assert_eq!(ev[0]["actor_id"], json!(admin_id));
        assert_eq!((ev[0]["before"].clone(), ev[0]["after"].clone()),
            (json!("user_type=CLIENT"), json!(format!("user_type={}", role.body["user_type"].as_str().unwrap()))));
        assert!(audit(&app, &other_admin, &format!("object_id={uid}")).await.is_empty(), "not yet the other company's");
        app.patch(&url, &app.admin_token, json!({"company_id": other})).await.assert_status(200);
        for token in [&client_admin, &other_admin] {
            let ev = audit(&app, token, &format!("object_id={uid}&event=update")).await;
            assert_eq!(ev[0]["before"], json!(format!("company_id={company}")), "{ev:?}");
            assert_eq!(ev[0]["after"], json!(format!("company_id={other}")));
        }

        // An ADMIN's meta_data edit of a company's folder is that company's event.
        let f = folder(&app, &client_admin, None).await;
        app.post(&format!("/api/folders/{f}/meta_data"), &app.admin_token, json!({"iin": "7"})).await.assert_status(200);
        let ev = audit(&app, &client_admin, &format!("object_id={f}&event=update")).await;
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!((ev[0]["user_id"].clone(), ev[0]["company_id"].clone()), (json!(admin_id), json!(company)));
        assert_eq!((ev[0]["before"].clone(), ev[0]["after"].clone()), (json!("{}"), json!("{\"iin\":\"7\"}")));
        assert!(audit(&app, &other_admin, &format!("object_id={f}")).await.is_empty());
        // The same for the company's own meta_data.
        app.patch(&format!("/api/companies/{company}/meta_data"), &app.admin_token, json!({"tier": "gold"})).await.assert_status(200);
        let ev = audit(&app, &client_admin, &format!("object_id={company}&event=update")).await;
        assert_eq!((ev[0]["company_id"].clone(), ev[0]["object_type"].clone()), (json!(company), json!("company")), "{ev:?}");
    }

    async fn the_audit_csv_has_the_lists_rows_guarded_and_scoped(app) {
        let company = app.company(&format!("Csv {}", Uuid::new_v4().simple())).await;
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let (_, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let (_, _, other_admin) = app.user(Some(app.company(&format!("Else {}", Uuid::new_v4().simple())).await), "CLIENT_ADMIN").await;
        let f = folder(&app, &client, None).await;
        app.post(&format!("/api/folders/{f}/meta_data"), &client, json!({"note": "a, \"quoted\"\nline"})).await.assert_status(200);
        // A company named like a formula: its creation's comment starts with `=`.
        let evil = app.company(&format!("=HYPERLINK(\"http://x\",\"y\") {}", Uuid::new_v4().simple())).await;

        let listed = audit(&app, &client_admin, &format!("object_id={f}")).await;
        let rows = audit_csv(&app, &client_admin, &format!("object_id={f}&offset=1&limit=1")).await;
        assert_eq!(rows.len(), 2, "create and update, offset and limit ignored: {rows:?}");
        for (row, e) in rows.iter().zip(&listed) {
            for key in ["event_id", "event", "outcome", "user_id", "company_id", "object_type", "object_id", "comment"] {
                assert_eq!(row[key], e[key].as_str().unwrap_or(""), "{key}");
            }
            assert_eq!(row["time_created"].parse::<f64>().unwrap(), e["time_created"].as_f64().unwrap());
        }
        assert_eq!(rows[0]["after"], "{\"note\":\"a, \\\"quoted\\\"\\nline\"}", "quoting survives");
        assert_eq!(rows[1]["event"], "create");
        // The injection guard: the cell starts with `'`.
        let admin_rows = audit_csv(&app, &app.admin_token, &format!("object_id={evil}")).await;
        assert_eq!(admin_rows.len(), 1);
        assert!(admin_rows[0]["comment"].starts_with("'=HYPERLINK("), "{admin_rows:?}");
        // Sorting is the list's.
        let asc = audit_csv(&app, &client_admin, &format!("object_id={f}&sorting=time_created{{asc}}")).await;
        assert_eq!(asc.iter().map(|r| r["event"].as_str()).collect::<Vec<_>>(), ["create", "update"]);

        // Permissions: a CLIENT is refused, a CLIENT ADMIN reads only its company's rows,
        // another company's nothing of this one.
        let (status, _, text) = get_csv(&app, "/api/audit.csv", &client).await;
        assert_eq!(status, 403, "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["error_code"], 9);
        let own = audit_csv(&app, &client_admin, "").await;
        assert!(!own.is_empty() && own.iter().all(|r| r["company_id"] == company.to_string()), "{own:?}");
        assert!(audit_csv(&app, &other_admin, &format!("object_id={f}")).await.is_empty());
        assert!(audit_csv(&app, &app.admin_token, "").await.iter().any(|r| r["object_id"] == evil.to_string()));
        // Bad filters: the error envelope, before any CSV.
        let (status, _, text) = get_csv(&app, "/api/audit.csv?object_id=nope", &client_admin).await;
        assert_eq!(status, 400, "{text}");

        // Many events, several chunks, ties on time_created: every one once, in the list's order.
        let t0 = 1_700_000_000.0;
        let events: Vec<AuthEvent> = (0..1203)
            .map(|i| AuthEvent {
                event_id: Uuid::new_v4(),
                time_created: t0 + (i / 7) as f64,
                event: "update",
                outcome: "success",
                user_id: None,
                company_id: Some(company),
                email: None,
                actor_id: None,
                client_addr: None,
                object: None,
            })
            .collect();
        app.domain.store.insert_auth_events(&events).await.unwrap();
        let window = format!("time_created.max={}", t0 + 1000.0);
        for sorting in ["", "&sorting=time_created{asc}"] {
            let rows = audit_csv(&app, &client_admin, &format!("{window}{sorting}")).await;
            let r = app.get(&format!("/api/audit?{window}{sorting}&limit=-1&total_omit=true"), &client_admin).await;
            r.assert_status(200);
            let ids: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|e| e["event_id"].as_str().unwrap()).collect();
            assert_eq!(ids.len(), 1203);
            assert_eq!(rows.iter().map(|r| r["event_id"].as_str()).collect::<Vec<_>>(), ids, "{sorting}");
        }

        // The console's audit screen links the export of its filters; the export is the same CSV.
        let admin = console_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
        let (_, _, page) = admin.get(&app, &format!("/console/audit?object_id={f}")).await;
        assert!(page.contains(&format!("/console/audit.csv?object_id={f}\"")), "{page}");
        let (status, headers, text) = admin.get(&app, &format!("/console/audit.csv?object_id={f}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let ids: Vec<String> = csv_records(&text).into_iter().skip(1).map(|r| r[0].clone()).collect();
        assert_eq!(ids, listed.iter().map(|e| e["event_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>());
        let (_, client_email, _) = app.user(Some(company), "CLIENT").await;
        let client_console = console_login(&app, &client_email, PASSWORD).await.0;
        assert_eq!(client_console.get(&app, "/console/audit.csv").await.0, StatusCode::FORBIDDEN);
    }

    async fn folder_comments_review_claims_and_quota_overrides_are_audited(app) {
        let company = app.company(&format!("Trail {}", Uuid::new_v4().simple())).await;
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let (op_id, _, op) = app.user(Some(company), "CLIENT_OPERATOR").await;
        let (op2_id, _, op2) = app.user(Some(company), "CLIENT_OPERATOR").await;
        let (_, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let (_, _, other_admin) = app.user(Some(app.company(&format!("Else {}", Uuid::new_v4().simple())).await), "CLIENT_ADMIN").await;
        let f = folder(&app, &client, None).await;
        let folder_url = format!("/api/folders/{f}");
        let claim_url = format!("/api/folders/{f}/claim");

        // The folder's resolution_comment: set, the same again (nothing), changed, cleared.
        app.patch(&folder_url, &op, json!({"resolution_comment": "looks fine"})).await.assert_status(200);
        app.patch(&folder_url, &op, json!({"resolution_comment": " looks fine "})).await.assert_status(200);
        app.patch(&folder_url, &op, json!({"resolution_comment": "=not fine"})).await.assert_status(200);
        app.patch(&folder_url, &op, json!({"resolution_comment": null})).await.assert_status(200);
        // A refused edit records nothing.
        app.patch(&folder_url, &client, json!({"resolution_comment": "mine"})).await.assert_error(403, 9);
        let ev = audit(&app, &client_admin, &format!("object_id={f}&event=update&sorting=time_created{{asc}}")).await;
        let seen: Vec<(Value, Value, Value, Value)> = ev
            .iter()
            .map(|e| (e["object_type"].clone(), e["comment"].clone(), e["before"].clone(), e["after"].clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (json!("folder"), json!("resolution_comment"), Value::Null, json!("looks fine")),
                (json!("folder"), json!("resolution_comment"), json!("looks fine"), json!("=not fine")),
                (json!("folder"), json!("resolution_comment"), json!("=not fine"), Value::Null),
            ],
            "{ev:?}"
        );
        for e in &ev {
            assert_eq!((e["user_id"].clone(), e["company_id"].clone()), (json!(op_id), json!(company)), "{e}");
        }

        // Review claims: taking one is audited, extending it is not, a refused one is not;
        // releasing it is, releasing nothing is not.
        let taken = app.post(&claim_url, &op, json!({})).await;
        taken.assert_status(200);
        app.post(&claim_url, &op, json!({})).await.assert_status(200);
        app.post(&claim_url, &op2, json!({})).await.assert_error(409, 4);
        app.delete(&claim_url, &op2).await.assert_error(409, 4);
        let claims = audit(&app, &client_admin, &format!("object_id={f}&event=claim")).await;
        assert_eq!(claims.len(), 1, "{claims:?}");
        assert_eq!((claims[0]["user_id"].clone(), claims[0]["company_id"].clone()), (json!(op_id), json!(company)));
        assert_eq!((claims[0]["object_type"].clone(), claims[0]["outcome"].clone()), (json!("folder"), json!("success")));
        assert_eq!(claims[0]["after"].as_str().unwrap().parse::<f64>().unwrap(), taken.body["expires_at"].as_f64().unwrap());
        app.delete(&claim_url, &op).await.assert_status(204);
        app.delete(&claim_url, &op).await.assert_status(204);
        let releases = audit(&app, &client_admin, &format!("object_id={f}&event=release")).await;
        assert_eq!(releases.len(), 1, "{releases:?}");
        assert_eq!(releases[0]["user_id"], json!(op_id));
        // The other operator takes it now: its own event.
        app.post(&claim_url, &op2, json!({})).await.assert_status(200);
        let claims = audit(&app, &client_admin, &format!("object_id={f}&event=claim")).await;
        assert_eq!(claims.iter().map(|e| e["user_id"].clone()).collect::<Vec<_>>(), [json!(op2_id), json!(op_id)]);
        assert!(audit(&app, &other_admin, &format!("object_id={f}")).await.is_empty());

        // Quota overrides: set, the same again (nothing), cleared; a refused one records nothing.
        let quota_url = format!("/api/companies/{company}/quotas");
        let put = |token: &str, body: Value| {
            let (app, url, token) = (&app, quota_url.clone(), token.to_owned());
            async move { app.send(reqwest::Method::PUT, &url, Some(&token), Some(&body), None).await }
        };
        put(&app.admin_token, json!({"requests_per_minute": 500})).await.assert_status(200);
        put(&app.admin_token, json!({"requests_per_minute": 500})).await.assert_status(200);
        put(&client_admin, json!({"requests_per_minute": 1})).await.assert_error(403, 9);
        put(&app.admin_token, json!({"requests_per_minute": null, "expensive_per_minute": null})).await.assert_status(200);
        let q = audit(&app, &client_admin, &format!("object_id={company}&object_type=company_quota&sorting=time_created{{asc}}")).await;
        let seen: Vec<(Value, Value, Value)> =
            q.iter().map(|e| (e["event"].clone(), e["before"].clone(), e["after"].clone())).collect();
        let (none, five) = (
            "requests_per_minute=default, expensive_per_minute=default",
            "requests_per_minute=500, expensive_per_minute=default",
        );
        assert_eq!(seen, [(json!("update"), json!(none), json!(five)), (json!("update"), json!(five), json!(none))], "{q:?}");
        let admin_id = app.get("/api/users/me", &app.admin_token).await.assert_status(200).id("user_id");
        assert_eq!((q[0]["user_id"].clone(), q[0]["company_id"].clone()), (json!(admin_id), json!(company)));

        // The audit cannot be written: each change fails and nothing of it is stored.
        refuse_audit_inserts(&app, true).await;
        app.patch(&folder_url, &op, json!({"resolution_comment": "never"})).await.assert_status(500);
        app.delete(&claim_url, &op2).await.assert_status(500);
        put(&app.admin_token, json!({"expensive_per_minute": 7})).await.assert_status(500);
        refuse_audit_inserts(&app, false).await;
        assert_eq!(app.get(&folder_url, &op).await.body["resolution_comment"], Value::Null);
        app.post(&claim_url, &op, json!({})).await.assert_error(409, 4);
        let r = app.get(&quota_url, &app.admin_token).await;
        assert_eq!((r.body["requests_per_minute"].clone(), r.body["expensive_per_minute"].clone()), (Value::Null, Value::Null));
        // A claim whose event cannot be written is not taken either.
        app.delete(&claim_url, &op2).await.assert_status(204);
        refuse_audit_inserts(&app, true).await;
        app.post(&claim_url, &op, json!({})).await.assert_status(500);
        refuse_audit_inserts(&app, false).await;
        app.post(&claim_url, &op2, json!({})).await.assert_status(200);
        assert_eq!(audit(&app, &client_admin, &format!("object_id={f}&event=update")).await.len(), 3);
        assert_eq!(audit(&app, &client_admin, &format!("object_id={f}&event=claim")).await.len(), 3);
        assert_eq!(audit(&app, &client_admin, &format!("object_id={f}&event=release")).await.len(), 2);
        assert_eq!(audit(&app, &client_admin, &format!("object_id={company}&object_type=company_quota")).await.len(), 2);

        // The CSV carries each event's time as ISO 8601 UTC beside its UNIX seconds.
        let known = Uuid::new_v4();
        let at = AuthEvent {
            event_id: known,
            time_created: 1_709_210_096.5,
            event: "update",
            outcome: "success",
            user_id: None,
            company_id: Some(company),
            email: None,
            actor_id: None,
            client_addr: None,
            object: None,
        };
        app.domain.store.insert_auth_events(&[at]).await.unwrap();
        let rows = audit_csv(&app, &client_admin, "time_created.max=1709210097").await;
        let row = rows.iter().find(|r| r["event_id"] == known.to_string()).expect("the inserted event");
        assert_eq!((row["time_created"].as_str(), row["time_created_utc"].as_str()), ("1709210096.5", "2024-02-29T12:34:56.500000Z"));
        for row in audit_csv(&app, &client_admin, &format!("object_id={f}")).await {
            let t: f64 = row["time_created"].parse().unwrap();
            let utc = &row["time_created_utc"];
            assert!(utc.len() == 27 && utc.ends_with('Z') && &utc[10..11] == "T", "{utc}");
            // The date and time of day, counted from the seconds independently.
            let secs = t.floor() as i64;
            let hms = format!("{:02}:{:02}:{:02}", secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
            assert_eq!(&utc[11..19], hms, "{row:?}");
        }
    }

    async fn a_held_case_is_decided_by_its_holder_or_by_force_and_next_case_spans_the_queue(app) {
        let company = app.company(&format!("Held {}", Uuid::new_v4().simple())).await;
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let (op_id, op_email, op) = app.user(Some(company), "CLIENT_OPERATOR").await;
        let (_, op2_email, op2) = app.user(Some(company), "CLIENT_OPERATOR").await;
        let (_, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let t0 = 1_600_000_000.0;
        // 31 cases, oldest first: 26 are left after the five decided below, more than a page
        // of the review queue (25).
        let mut cases = Vec::new();
        for i in 0..31 {
            cases.push(review_case(&app, &client, t0 + f64::from(i)).await);
        }
        let decide = |token: &str, a: Uuid, body: Value| {
            let (app, token) = (&app, token.to_owned());
            async move { app.patch(&format!("/api/analyses/{a}"), &token, body).await }
        };

        // The first operator holds the oldest case: the second is refused over /api (code 4,
        // 409, the holder named), also with `force: false`; the holder's claim stands.
        let (f0, a0) = cases[0];
        app.post(&format!("/api/folders/{f0}/claim"), &op, json!({})).await.assert_status(200);
        let r = decide(&op2, a0, json!({"resolution_status": "SUCCESS"})).await;
        r.assert_error(409, 4);
        assert_eq!(r.body["error_details"]["user_id"], json!(op_id), "{}", r.text);
        decide(&op2, a0, json!({"resolution_status": "SUCCESS", "force": false})).await.assert_error(409, 4);
        assert_eq!(app.get(&format!("/api/analyses/{a0}"), &client).await.body["resolution_status"], "OPERATOR_REQUIRED");
        // The holder decides as before.
        decide(&op, a0, json!({"resolution_status": "SUCCESS", "force": false})).await.assert_status(200);

        // An unclaimed case: anyone who decides decides.
        let (_, a1) = cases[1];
        decide(&op2, a1, json!({"resolution_status": "DECLINED", "resolution_comment": "no"})).await.assert_status(200);

        // Held by the first operator: an explicit `force: true` decides it anyway.
        let (f2, a2) = cases[2];
        app.post(&format!("/api/folders/{f2}/claim"), &op, json!({})).await.assert_status(200);
        decide(&op2, a2, json!({"resolution_status": "SUCCESS", "force": true})).await.assert_status(200);
        let ev = audit(&app, &client_admin, &format!("object_id={a2}&event=decision")).await;
        assert_eq!(ev.len(), 1, "{ev:?}");

        // In the console: the held case's page offers "decide anyway"; without it the decision
        // is refused (409), with it taken. The order's comment is set by the same form.
        let (f3, a3) = cases[3];
        let console_op = console_login(&app, &op_email, PASSWORD).await.0;
        let console_op2 = console_login(&app, &op2_email, PASSWORD).await.0;
        let (_, _, page) = console_op.get(&app, &format!("/console/orders/{f3}")).await;
        assert!(page.contains("You hold this case") && page.contains("name=\"folder_comment\""), "{page}");
        assert!(!page.contains("name=\"force\""), "the holder is not offered to force: {page}");
        let (_, _, held) = console_op2.get(&app, &format!("/console/orders/{f3}")).await;
        assert!(held.contains("Another operator is reviewing this case") && held.contains("name=\"force\""), "{held}");
        let csrf = console_op2.csrf(&app).await;
        let path = format!("/console/analyses/{a3}/decision");
        let form = [("csrf", csrf.as_str()), ("resolution", "SUCCESS"), ("folder_comment", "checked by two")];
        let (status, body) = console_op2.post(&app, &path, &form).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("held by another operator"), "{body}");
        let f3_now = app.get(&format!("/api/folders/{f3}"), &client).await;
        assert_eq!(f3_now.body["resolution_comment"], Value::Null, "nothing changed: {}", f3_now.text);
        let forced = [("csrf", csrf.as_str()), ("resolution", "SUCCESS"), ("folder_comment", " checked by two "), ("force", "true")];
        let (status, body) = console_op2.post(&app, &path, &forced).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(app.get(&format!("/api/analyses/{a3}"), &client).await.body["resolution_status"], "SUCCESS");
        assert_eq!(app.get(&format!("/api/folders/{f3}"), &client).await.body["resolution_comment"], "checked by two");
        let ev = audit(&app, &client_admin, &format!("object_id={f3}&event=update")).await;
        assert_eq!((ev.len(), ev[0]["after"].clone()), (1, json!("checked by two")), "{ev:?}");
        // The holder's own form, the comment unchanged: decided, nothing more audited.
        let (f4, a4) = cases[4];
        console_op.get(&app, &format!("/console/orders/{f4}")).await;
        let csrf_op = console_op.csrf(&app).await;
        let form = [("csrf", csrf_op.as_str()), ("resolution", "SUCCESS"), ("folder_comment", "")];
        let (status, body) = console_op.post(&app, &format!("/console/analyses/{a4}/decision"), &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert!(audit(&app, &client_admin, &format!("object_id={f4}&event=update")).await.is_empty());

        // "Next case" looks at the whole queue, not its page: 26 cases remain (5..31), the
        // second operator holds the first page's 25; the link opens the 26th, on page 2.
        for (f, _) in &cases[5..30] {
            app.post(&format!("/api/folders/{f}/claim"), &op2, json!({})).await.assert_status(200);
        }
        let (_, _, review) = console_op.get(&app, "/console/review").await;
        assert!(review.contains("25 cases on this page are held"), "{review}");
        let next = format!("/console/orders/{}\"", cases[30].0);
        assert!(review.contains("Open the oldest case") && review.contains(&next), "{review}");
        // The second operator's next case is the oldest, which it holds itself.
        let (_, _, review2) = console_op2.get(&app, "/console/review").await;
        let first = review2.find("Open the oldest case").expect("a next case");
        let link = format!("/console/orders/{}\"", cases[5].0);
        assert!(review2[..first].ends_with(&format!("{link}>")), "{review2}");
        // Once the second operator holds the last one too, the first has no next case.
        app.post(&format!("/api/folders/{}/claim", cases[30].0), &op2, json!({})).await.assert_status(200);
        let (_, _, review) = console_op.get(&app, "/console/review").await;
        assert!(!review.contains("Open the oldest case"), "{review}");
    }

    async fn a_change_and_its_audit_event_are_stored_together_or_not_at_all(app) {
        let company = app.company(&format!("Tx {}", Uuid::new_v4().simple())).await;
        let (uid, email, _) = app.user(Some(company), "CLIENT").await;
        let (_, _, client_admin) = app.user(Some(company), "CLIENT_ADMIN").await;
        let f = folder(&app, &client_admin, None).await;
        let user_url = format!("/api/users/{uid}");
        refuse_audit_inserts(&app, true).await;
        // The audit cannot be written: the changes fail, and nothing of them is stored.
        app.patch(&user_url, &client_admin, json!({"first_name": "Never"})).await.assert_status(500);
        assert_eq!(app.get(&user_url, &client_admin).await.body["first_name"], "Test");
        app.post(&format!("/api/folders/{f}/meta_data"), &client_admin, json!({"k": "v"})).await.assert_status(500);
        assert_eq!(app.get(&format!("/api/folders/{f}/meta_data"), &client_admin).await.body, json!({}));
        app.delete(&format!("/api/folders/{f}"), &client_admin).await.assert_status(500);
        app.get(&format!("/api/folders/{f}"), &client_admin).await.assert_status(200);
        app.post(&format!("/api/folders/{f}/analyses"), &client_admin, json!({"analyses": [{"type": "quality"}]})).await.assert_status(500);
        let analyses = app.get(&format!("/api/folders/{f}/analyses"), &client_admin).await;
        assert_eq!(analyses.body.as_array().map(Vec::len), Some(0), "{}", analyses.text);
        // An auth event that cannot be recorded is logged, and the login goes on.
        app.login(&email, PASSWORD).await.assert_status(200);
        refuse_audit_inserts(&app, false).await;
        app.patch(&user_url, &client_admin, json!({"first_name": "Now"})).await.assert_status(200);
        let ev = audit(&app, &client_admin, &format!("object_id={uid}&event=update")).await;
        assert_eq!(ev.len(), 1, "only the edit that happened: {ev:?}");
        assert_eq!(ev[0]["after"], "first_name=Now");
        assert!(audit(&app, &client_admin, &format!("object_id={f}&event=update")).await.is_empty());
        assert!(audit(&app, &client_admin, &format!("object_id={f}&event=delete")).await.is_empty());
    }
}
