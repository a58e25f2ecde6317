//! Issue #23: login throttling, blocked users, the auth audit, request quotas and fair claiming
//! across companies — over HTTP, on both stores.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::*;

/// A login with an `X-Forwarded-For` header.
async fn login_via(app: &TestApp, email: &str, password: &str, forwarded_for: &str) -> Res {
    let body = json!({"credentials": {"email": email, "password": password}});
    let res = app
        .client
        .post(app.url("/api/authorize/auth"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&body)
        .send()
        .await
        .expect("request");
    into_res(res).await
}

#[track_caller]
fn retry_after(r: &Res) -> u64 {
    r.assert_error(429, 101);
    assert_eq!(r.body["error_message"], "Too many requests");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(r.body["error_details"]["retry_after"], json!(secs));
    secs
}

/// A quick throttle: locked after 3 failures for 1 s, doubling up to 2 s; addresses not counted.
fn quick_throttle(c: &mut emerald::Config) {
    c.login_max_failures = 3;
    c.login_address_max_failures = 0;
    c.login_backoff = 1.0;
    c.login_backoff_max = 2.0;
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/audit/?{query}"), &app.admin_token).await;
    r.assert_status(200);
    r.body["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn the_throttle_engages_after_the_failures_and_releases_after_the_backoff(app) {
        let app = app.restart(quick_throttle).await;
        let (_, email, _) = app.user(Some(app.company("Throttled").await), "CLIENT").await;
        for _ in 0..3 {
            app.login(&email, "wrong-password").await.assert_error(401, 7);
        }
        // Locked: even the right password is refused, without being checked.
        let r = app.login(&email, PASSWORD).await;
        assert_eq!(retry_after(&r), 1);
        // Other accounts are not affected.
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // One more wrong password after the lock: locked again, twice as long.
        app.login(&email, "wrong-password").await.assert_error(401, 7);
        assert_eq!(retry_after(&app.login(&email, PASSWORD).await), 2);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        // Capped at 2 s; the right password is accepted after the lock and resets the count.
        app.login(&email, PASSWORD).await.assert_status(200);
        for _ in 0..2 {
            app.login(&email, "wrong-password").await.assert_error(401, 7);
        }
        app.login(&email, PASSWORD).await.assert_status(200);
        // Unknown accounts are counted as well (a guesser learns nothing from the answers).
        for _ in 0..3 {
            app.login("nobody@example.com", "wrong-password").await.assert_error(401, 7);
        }
        retry_after(&app.login("nobody@example.com", "wrong-password").await);
    }

    async fn two_servers_on_one_database_share_the_throttle(app) {
        let app = app.restart(|c| { quick_throttle(c); c.login_backoff = 600.0; c.login_backoff_max = 900.0; }).await;
        let other = app.sibling(|_| {}).await;
        let (_, email, _) = app.user(Some(app.company("Shared").await), "CLIENT").await;
        // Failures split across the two servers add up; the lock holds on both.
        app.login(&email, "wrong-password").await.assert_error(401, 7);
        other.login(&email, "wrong-password").await.assert_error(401, 7);
        app.login(&email, "wrong-password").await.assert_error(401, 7);
        retry_after(&other.login(&email, PASSWORD).await);
        retry_after(&app.login(&email, PASSWORD).await);
        // Cleared on one, cleared on both.
        other.delete(&format!("/api/authorize/throttle?email={email}"), &other.admin_token).await.assert_status(204);
        app.login(&email, PASSWORD).await.assert_status(200);
    }

    async fn an_admin_clears_a_lockout(app) {
        let app = app.restart(|c| { quick_throttle(c); c.login_backoff = 600.0; c.login_backoff_max = 900.0; }).await;
        let (_, email, token) = app.user(Some(app.company("Cleared").await), "CLIENT ADMIN").await;
        for _ in 0..3 {
            app.login(&email, "wrong-password").await.assert_error(401, 7);
        }
        assert_eq!(retry_after(&app.login(&email, PASSWORD).await), 600);
        // Only an ADMIN may clear it.
        app.delete(&format!("/api/authorize/throttle?email={email}"), &token).await.assert_error(403, 9);
        app.delete("/api/authorize/throttle?address=not-an-ip", &app.admin_token).await.assert_error(400, 4);
        app.delete(&format!("/api/authorize/throttle?email={}", email.to_uppercase()), &app.admin_token).await.assert_status(204);
        app.login(&email, PASSWORD).await.assert_status(200);
        let cleared = audit(&app, "event=throttle_clear").await;
        assert_eq!(cleared.len(), 1);
        assert_eq!(cleared[0]["email"], json!(email.to_lowercase()));
    }

    async fn addresses_are_counted_and_forwarded_for_only_from_trusted_proxies(app) {
        // Behind a trusted proxy (the loopback the tests connect from): the forwarded client.
        let app = app.restart(|c| {
            c.login_max_failures = 0;
            c.login_address_max_failures = 2;
            c.login_backoff = 600.0;
            c.trusted_proxies = Some("127.0.0.1/32, ::1".into());
        }).await;
        let (_, email, _) = app.user(Some(app.company("Proxied").await), "CLIENT").await;
        login_via(&app, "a@example.com", "wrong-password", "198.51.100.7").await.assert_error(401, 7);
        // A client-written left part of the header does not change the address counted.
        login_via(&app, "b@example.com", "wrong-password", "10.9.9.9, 198.51.100.7").await.assert_error(401, 7);
        retry_after(&login_via(&app, &email, PASSWORD, "198.51.100.7").await);
        login_via(&app, &email, PASSWORD, "198.51.100.8").await.assert_status(200);
        let throttled = audit(&app, "outcome=throttled").await;
        assert_eq!(throttled[0]["client_addr"], "198.51.100.7");
        // Without trusted proxies the header is ignored: every attempt is the TCP peer's.
        let app = app.restart(|c| c.trusted_proxies = None).await;
        app.delete("/api/authorize/throttle", &app.admin_token).await.assert_status(204);
        login_via(&app, "c@example.com", "wrong-password", "198.51.100.1").await.assert_error(401, 7);
        login_via(&app, "d@example.com", "wrong-password", "198.51.100.2").await.assert_error(401, 7);
        retry_after(&login_via(&app, &email, PASSWORD, "198.51.100.3").await);
        let throttled = audit(&app, "outcome=throttled").await;
        assert_eq!(throttled[0]["client_addr"], "127.0.0.1");
    }

    async fn a_blocked_user_s_live_token_stops_working_at_once(app) {
        let c = app.company("Blocked").await;
        let (id, email, token) = app.user(Some(c), "CLIENT").await;
        let (_, _, company_admin) = app.user(Some(c), "CLIENT ADMIN").await;
        let (_, _, stranger) = app.user(Some(app.company("Other").await), "CLIENT ADMIN").await;
        let me = format!("/api/users/{id}");
        let first = app.login(&email, PASSWORD).await;
        app.get(&me, &token).await.assert_status(200);
        assert_eq!(app.get(&me, &token).await.body["is_active"], true);
        // Another company's admin cannot see it; a user cannot block anyone.
        app.patch(&me, &stranger, json!({"is_active": false})).await.assert_error(404, 10);
        app.patch(&me, &token, json!({"is_active": true})).await.assert_error(403, 9);
        let r = app.patch(&me, &app.admin_token, json!({"is_active": false})).await;
        r.assert_status(200);
        assert_eq!(r.body["is_active"], false);
        // At once: the live token, a refresh, and a login with the right password.
        let r = app.get(&me, &token).await;
        r.assert_error(403, 211);
        assert_eq!(r.body["error_message"], "User profile is blocked");
        let refresh = json!({"expire_token": first.body["expire_token"]});
        app.post("/api/authorize/refresh", first.body["access_token"].as_str().unwrap(), refresh.clone()).await.assert_error(403, 211);
        app.login(&email, PASSWORD).await.assert_error(403, 211);
        // A wrong password still answers 7: being blocked is not revealed to a guesser.
        app.login(&email, "wrong-password").await.assert_error(401, 7);
        // The company's admin unblocks it: the same token works again.
        app.patch(&me, &company_admin, json!({"is_active": true})).await.assert_status(200);
        app.get(&me, &token).await.assert_status(200);
        app.login(&email, PASSWORD).await.assert_status(200);
        // Listed by the flag; nobody blocks themselves.
        let admin_id = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.id("user_id");
        app.patch(&format!("/api/users/{admin_id}"), &app.admin_token, json!({"is_active": false})).await.assert_error(400, 4);
        // Nor changes their own role (the last ADMIN demoting itself locks everyone out).
        let r = app.patch(&format!("/api/users/{admin_id}"), &app.admin_token, json!({"user_type": "OPERATOR"})).await;
        r.assert_error(400, 4);
        assert_eq!(r.body["error_details"]["key_path"], "user_type");
        let r = app.patch(&format!("/api/users/{admin_id}"), &app.admin_token, json!({"user_type": "admin", "first_name": "Root"})).await;
        r.assert_status(200);
        assert_eq!(r.body["user_type"], "ADMIN");
        app.patch(&me, &app.admin_token, json!({"is_active": false})).await.assert_status(200);
        let listed = app.get(&format!("/api/users/?is_active=false&company_id={c}"), &app.admin_token).await;
        assert_eq!(listed.body.as_array().unwrap().len(), 1, "{}", listed.text);
        // Every node sees it: a second server on the same database refuses the token too.
        let other = app.sibling(|_| {}).await;
        other.get(&me, &token).await.assert_error(403, 211);
        let blocks = audit(&app, &format!("user_id={id}&event=block")).await;
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0]["outcome"], "success");
        assert!(blocks[0]["actor_id"].is_string());
    }

    async fn the_audit_records_who_when_where_and_how_never_secrets(app) {
        let c = app.company("Audited").await;
        let (id, email, _) = app.user(Some(c), "CLIENT").await;
        let (_, _, company_admin) = app.user(Some(c), "CLIENT ADMIN").await;
        let (_, _, client) = app.user(Some(c), "CLIENT").await;
        app.login(&email, "wrong-password").await.assert_error(401, 7);
        let pair = app.login(&email, PASSWORD).await;
        let access = pair.body["access_token"].as_str().unwrap().to_owned();
        app.post("/api/authorize/refresh", &access, json!({"expire_token": pair.body["expire_token"]})).await.assert_status(200);
        let r = app.get(&format!("/api/audit/?user_id={id}&sorting=time_created%7Basc%7D"), &app.admin_token).await;
        r.assert_status(200);
        for secret in ["wrong-password", PASSWORD, access.as_str(), pair.body["expire_token"].as_str().unwrap()] {
            assert!(!r.text.contains(secret), "a secret in the audit: {}", r.text);
        }
        let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["total_count", "offset", "limit", "items"]);
        let seen: Vec<(String, String)> = r.body["items"].as_array().unwrap().iter()
            .map(|e| (e["event"].as_str().unwrap().to_owned(), e["outcome"].as_str().unwrap().to_owned()))
            .collect();
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(seen, pairs(&[("login", "success"), ("login", "failure"), ("login", "success"), ("refresh", "success")]));
        let first = &r.body["items"][1];
        assert_eq!(first["email"], json!(email.to_lowercase()));
        assert_eq!(first["client_addr"], "127.0.0.1");
        assert_eq!(first["company_id"], json!(c));
        assert!(first["time_created"].as_f64().unwrap() > 1.7e9);
        // Filters by outcome and time; a CLIENT ADMIN sees its company's events, a CLIENT none.
        let failures = audit(&app, &format!("outcome=failure&time_created.min={}", first["time_created"])).await;
        assert_eq!(failures.len(), 1);
        let own = app.get("/api/audit/?outcome=failure", &company_admin).await;
        assert_eq!(own.body["total_count"], 1, "{}", own.text);
        app.get("/api/audit/", &client).await.assert_error(403, 9);
    }

    async fn quotas_answer_429_with_retry_after_and_lose_nothing_accepted(app) {
        let app = app.restart(|c| {
            c.quota_token_requests = 4;
            c.quota_token_expensive = 2;
            c.quota_company_requests = 0;
            c.quota_company_expensive = 0;
            c.role = emerald::config::Role::Api;
        }).await;
        let c = app.company("Quota").await;
        let (_, _, token) = app.user(Some(c), "CLIENT").await;
        // Two expensive requests pass: an upload and an analysis request.
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}}).to_string();
        let f = app.upload("/api/folders/", &token, vec![Part::File("a", "a.jpg", fixtures::jpeg(64, 64)), Part::Payload(payload.clone())]).await;
        f.assert_status(201);
        let folder_id = f.id("folder_id");
        let a = app.post(&format!("/api/folders/{folder_id}/analyses"), &token, json!({"analyses": [{"type": "quality"}]})).await;
        a.assert_status(201);
        // The third is refused before anything is stored.
        let refused = app.upload("/api/folders/", &token, vec![Part::File("a", "a.jpg", fixtures::jpeg(64, 64)), Part::Payload(payload)]).await;
        let wait = retry_after(&refused);
        assert!((1..=30).contains(&wait), "{wait}");
        // Ordinary requests have their own budget: 4 a minute, 2 already spent by the uploads.
        app.get(&format!("/api/folders/{folder_id}"), &token).await.assert_status(200);
        app.get(&format!("/api/folders/{folder_id}"), &token).await.assert_status(200);
        let r = app.get(&format!("/api/folders/{folder_id}"), &token).await;
        assert!((1..=15).contains(&retry_after(&r)));
        // Nothing accepted was lost: one folder, its media, its queued analysis.
        let folders = app.get("/api/folders/", &app.admin_token).await;
        assert_eq!(folders.body["total_count"], 1, "{}", folders.text);
        let folder = app.get(&format!("/api/folders/{folder_id}?with_analyses=true"), &app.admin_token).await;
        assert_eq!(folder.body["media"].as_array().unwrap().len(), 1, "{}", folder.text);
        assert_eq!(folder.body["analyses"][0]["analyse_id"], a.body[0]["analyse_id"], "{}", folder.text);
        assert_eq!(app.domain.store.count_jobs().await.unwrap(), 1);
        // A token of its own: the per-token budget is fresh.
        let (_, _, other) = app.user(Some(c), "CLIENT").await;
        app.get(&format!("/api/users/?company_id={c}"), &other).await.assert_status(200);
        // ADMIN is not limited.
        for _ in 0..6 {
            app.get("/api/folders/", &app.admin_token).await.assert_status(200);
        }
    }

    async fn a_company_override_sets_its_quota(app) {
        let app = app.restart(|c| { c.quota_token_requests = 0; c.quota_company_requests = 100; }).await;
        let c = app.company("Override").await;
        let (_, _, a) = app.user(Some(c), "CLIENT").await;
        let (_, _, b) = app.user(Some(c), "CLIENT").await;
        let path = format!("/api/companies/{c}/quotas");
        let r = app.get(&path, &a).await;
        r.assert_status(200);
        assert_eq!(r.body, json!({"requests_per_minute": null, "expensive_per_minute": null,
            "effective_requests_per_minute": 100, "effective_expensive_per_minute": 1800}));
        app.send(Method::PUT, &path, Some(&a), Some(&json!({"requests_per_minute": 3})), None).await.assert_error(403, 9);
        let r = app.send(Method::PUT, &path, Some(&app.admin_token), Some(&json!({"requests_per_minute": 3})), None).await;
        r.assert_status(200);
        assert_eq!(r.body["effective_requests_per_minute"], 3);
        // Two tokens of the company share its 3 a minute.
        app.get("/api/folders/", &a).await.assert_status(200);
        app.get("/api/folders/", &b).await.assert_status(200);
        app.get("/api/folders/", &a).await.assert_status(200);
        retry_after(&app.get("/api/folders/", &b).await);
        let missing = format!("/api/companies/{}/quotas", Uuid::new_v4());
        app.send(Method::PUT, &missing, Some(&app.admin_token), Some(&json!({"requests_per_minute": 3})), None).await.assert_error(404, 10);
    }

    async fn two_companies_both_make_progress_when_one_has_a_backlog(app) {
        let app = app.restart(|c| c.role = emerald::config::Role::Api).await;
        let queue = |company: &'static str| {
            let app = &app;
            async move {
                let (_, _, token) = app.user(Some(app.company(company).await), "CLIENT").await;
                let payload = json!({"media:tags": {"a": ["photo_selfie"]}}).to_string();
                let f = app.upload("/api/folders/", &token, vec![Part::File("a", "a.jpg", fixtures::jpeg(64, 64)), Part::Payload(payload)]).await;
                let folder_id = f.id("folder_id");
                (token, folder_id)
            }
        };
        let (busy, busy_folder) = queue("Busy").await;
        let many: Vec<Value> = (0..8).map(|_| json!({"type": "quality"})).collect();
        app.post(&format!("/api/folders/{busy_folder}/analyses"), &busy, json!({"analyses": many})).await.assert_status(201);
        let (quiet, quiet_folder) = queue("Quiet").await;
        let r = app.post(&format!("/api/folders/{quiet_folder}/analyses"), &quiet, json!({"analyses": [{"type": "quality"}]})).await;
        r.assert_status(201);
        let quiet_analysis: Uuid = r.body[0]["analyse_id"].as_str().unwrap().parse().unwrap();
        // Two workers claim: the backlog's oldest job, then the quiet company's — not the
        // backlog's seven older ones.
        let store = app.domain.store.clone();
        let now = emerald::domain::time::now();
        let first = store.claim_job("w1", now, 60.0).await.unwrap().expect("a job");
        assert_ne!(first.ref_id, quiet_analysis);
        let second = store.claim_job("w2", now, 60.0).await.unwrap().expect("a job");
        assert_eq!(second.ref_id, quiet_analysis, "the quiet company's job is claimed second");
        // With neither running anything more, the backlog drains.
        let mut claimed = 2;
        while store.claim_job("w3", now, 60.0).await.unwrap().is_some() {
            claimed += 1;
        }
        assert_eq!(claimed, 9);
    }
}
