//! Spec §2: login, token headers, expiry with sliding extension, refresh, service accounts.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

both_backends! {
    async fn login_answers_a_token_pair_in_the_reference_layout(app) {
        let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        res.assert_status(200);
        assert_eq!(res.headers["content-type"], "application/json; charset=utf8");
        let keys: Vec<&str> = res.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["user_id", "session_id", "expire_date", "access_token", "expire_token", "user"]);
        let token = res.body["access_token"].as_str().unwrap();
        assert_eq!(token.len(), 128);
        assert!(token.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(token, res.body["expire_token"].as_str().unwrap());
        // The Oz bootstrap script: `awk '{print $8}'` of the one-line response, then [0-9a-z]*.
        let eighth = res.text.split_whitespace().nth(7).unwrap();
        assert_eq!(eighth.trim_matches(|c: char| !c.is_ascii_alphanumeric()), token);
        let expire = res.body["expire_date"].as_f64().unwrap();
        assert!(expire > now() + 800.0 && expire < now() + 1000.0, "expire_date {expire}");
        assert_eq!(res.body["user"]["user_type"], "ADMIN");
        assert!(res.body["user"].get("password").is_none());
    }

    async fn wrong_credentials_are_error_7(app) {
        app.login(ADMIN_EMAIL, "wrong-password").await.assert_error(401, 7);
        app.login("nobody@example.com", ADMIN_PASSWORD).await.assert_error(401, 7);
        // Logins are case-insensitive.
        app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD).await.assert_status(200);
    }

    async fn malformed_login_bodies_get_lamb_errors(app) {
        let r = app.send(Method::POST, "/api/authorize/auth", None, Some(&json!({})), None).await;
        r.assert_error(400, 3);
        assert_eq!(r.body["error_message"], "Could not locate field for key_path credentials from provided dict data");
        assert_eq!(r.body["error_details"], json!({"key_path": "credentials"}));
        let r = app.send(Method::POST, "/api/authorize/auth", None, Some(&json!({"credentials": {"email": ADMIN_EMAIL}})), None).await;
        r.assert_error(400, 3);
        assert_eq!(r.body["error_details"], json!({"key_path": "credentials.password"}));
        let r = app.send(Method::POST, "/api/authorize/auth", None, Some(&json!({"credentials": {"email": 7, "password": "x"}})), None).await;
        r.assert_error(400, 5);
        assert_eq!(r.body["error_message"], "Invalid data type for param credentials.email");
        let raw = app.client.post(app.url("/api/authorize/auth")).body("{\"credentials\": ").send().await.unwrap();
        let r = into_res(raw).await;
        r.assert_error(400, 3);
        assert_eq!(r.body["error_message"], "Could not parse body as JSON object");
        // No body at all.
        app.send(Method::POST, "/api/authorize/auth", None, None, None).await.assert_error(400, 3);
    }

    async fn json_is_read_whatever_the_content_type(app) {
        let body = json!({"credentials": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}});
        for ct in [None, Some("application/x-www-form-urlencoded"), Some("text/plain"), Some("application/json; charset=utf-8")] {
            app.send(Method::POST, "/api/authorize/auth", None, Some(&body), ct).await.assert_status(200);
        }
    }

    async fn token_headers_missing_unknown_and_both_spellings(app) {
        let r = app.send(Method::GET, "/api/users/", None, None, None).await;
        r.assert_error(401, 6);
        app.get("/api/users/", "0123456789abcdef").await.assert_error(401, 7);
        for header in ["X-Forensic-Access-Token", "X-Forensics-Access-Token", "x-forensic-access-token", "X-FORENSICS-ACCESS-TOKEN"] {
            let res = app.client.get(app.url("/api/users")).header(header, &app.admin_token).send().await.unwrap();
            assert_eq!(res.status(), 200, "header {header}");
        }
    }

    async fn refresh_renews_and_retires_the_old_pair_on_first_use(app) {
        let (_, email, _) = app.user(Some(app.company("Refresh Co").await), "CLIENT").await;
        let first = app.login(&email, PASSWORD).await;
        let old_access = first.body["access_token"].as_str().unwrap().to_owned();
        let old_expire = first.body["expire_token"].as_str().unwrap().to_owned();
        let renewed = app.post("/api/authorize/refresh/", &old_access, json!({"expire_token": old_expire})).await;
        renewed.assert_status(200);
        let new_access = renewed.body["access_token"].as_str().unwrap().to_owned();
        assert_ne!(new_access, old_access);
        assert!(renewed.body["expire_date"].as_f64().unwrap() > now());
        // The old pair works until the new one is used...
        app.get("/api/users", &old_access).await.assert_status(200);
        app.get("/api/users", &new_access).await.assert_status(200);
        // ...then it is gone.
        app.get("/api/users", &old_access).await.assert_error(401, 7);
        app.get("/api/users", &new_access).await.assert_status(200);
    }

    async fn refresh_errors_are_the_documented_ones(app) {
        let company = app.company("Refresh Errors").await;
        let (_, _, token_a) = app.user(Some(company), "CLIENT").await;
        let (_, email_b, _) = app.user(Some(company), "CLIENT").await;
        let r = app.post("/api/authorize/refresh", &token_a, json!({})).await;
        r.assert_error(400, 3);
        assert_eq!(r.body["error_message"], "Could not locate field for key_path expire_token from provided dict data");
        let r = app.post("/api/authorize/refresh", &token_a, json!({"expire_token": "nope"})).await;
        r.assert_error(401, 7);
        assert_eq!(r.body["error_message"], "Session not found");
        let b = app.login(&email_b, PASSWORD).await;
        let r = app.post("/api/authorize/refresh", &token_a, json!({"expire_token": b.body["expire_token"]})).await;
        r.assert_error(403, 9);
        assert_eq!(r.body["error_message"], "You have not access to refresh this session");
        let r = app.send(Method::POST, "/api/authorize/refresh", None, Some(&json!({"expire_token": "x"})), None).await;
        r.assert_error(401, 6);
    }

    async fn service_accounts_get_long_lived_tokens(app) {
        let (_, email, _) = app.user(Some(app.company("Svc").await), "CLIENT SERVICE").await;
        let r = app.login(&email, PASSWORD).await;
        assert!(r.body["expire_date"].as_f64().unwrap() > now() + 4.0 * 365.0 * 86400.0);
        assert_eq!(r.body["user"]["is_service"], true);
    }

    async fn logout_ends_only_the_session_of_the_token_used(app) {
        let (user_id, email, first) = app.user(None, "OPERATOR").await;
        let second = app.token_of(&email, PASSWORD).await;
        let pair = app.login(&email, PASSWORD).await;
        let third = pair.body["access_token"].as_str().unwrap().to_owned();
        let expire = pair.body["expire_token"].as_str().unwrap().to_owned();
        app.send(Method::POST, "/api/authorize/logout", None, None, None).await.assert_error(401, 6);
        let r = app.send(Method::POST, "/api/authorize/logout", Some(&third), None, None).await;
        r.assert_status(204);
        assert!(r.text.is_empty(), "{}", r.text);
        // That session is gone: its access token, and its refresh token with it.
        app.get("/api/users/me", &third).await.assert_error(401, 7);
        app.send(Method::POST, "/api/authorize/logout", Some(&third), None, None).await.assert_error(401, 7);
        let refresh = json!({"expire_token": expire});
        let r = app.send(Method::POST, "/api/authorize/refresh", Some(&third), Some(&refresh), Some("application/json")).await;
        assert_eq!(r.status.as_u16(), 401, "{}", r.text);
        // The user's other sessions still work.
        app.get("/api/users/me", &first).await.assert_status(200);
        app.get("/api/users/me", &second).await.assert_status(200);
        // The audit shows it.
        let events = app.get(&format!("/api/audit?user_id={user_id}&event=logout"), &app.admin_token).await;
        assert_eq!(events.assert_status(200).body["total_count"], 1, "{}", events.text);
        assert_eq!(events.body["items"][0]["outcome"], "success");
    }

    async fn users_me_is_the_user_of_the_token(app) {
        let company = app.company("Me Co").await;
        let (user_id, email, token) = app.user(Some(company), "CLIENT OPERATOR").await;
        let r = app.get("/api/users/me", &token).await;
        r.assert_status(200);
        assert_eq!(r.body["user_id"], user_id.to_string());
        assert_eq!(r.body["email"], email);
        assert_eq!(r.body["user_type"], "CLIENT OPERATOR");
        assert_eq!(r.body["company_id"], company.to_string());
        assert!(r.body.get("password").is_none());
        // With a trailing slash too, and it is the same object as /api/users/{id}.
        let slash = app.get("/api/users/me/", &token).await;
        assert_eq!(slash.assert_status(200).body, r.body);
        assert_eq!(app.get(&format!("/api/users/{user_id}"), &token).await.body, r.body);
        let admin = app.get("/api/users/me", &app.admin_token).await;
        assert_eq!(admin.body["user_type"], "ADMIN");
        app.send(Method::GET, "/api/users/me", None, None, None).await.assert_error(401, 6);
        app.get("/api/users/me", "not-a-token").await.assert_error(401, 7);
    }
}

mod expiry {
    use super::*;

    async fn expired_token_is_error_8_and_can_still_refresh(backend: Backend) {
        if backend == Backend::Postgres && !postgres_available() {
            return;
        }
        let app = TestApp::spawn_with(backend, |c| c.session_ttl = 0.0).await;
        let pair = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let access = pair.body["access_token"].as_str().unwrap();
        app.get("/api/users", access).await.assert_error(401, 8);
        // The expire token renews an expired access token (that is what it is for).
        let r = app.post("/api/authorize/refresh", access, json!({"expire_token": pair.body["expire_token"]})).await;
        r.assert_status(200);
    }

    #[tokio::test]
    async fn sqlite_expired_token() {
        expired_token_is_error_8_and_can_still_refresh(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres_expired_token() {
        expired_token_is_error_8_and_can_still_refresh(Backend::Postgres).await;
    }

    /// Sliding expiry is about time passing, so this one test waits for real time: a 1.5 s TTL
    /// kept alive by use for twice its length, then left to expire.
    #[tokio::test]
    async fn sqlite_use_extends_the_session_until_it_is_left_idle() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.session_ttl = 1.5).await;
        let token = app.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(600)).await;
            app.get("/api/users", &token).await.assert_status(200);
        }
        tokio::time::sleep(Duration::from_millis(2600)).await;
        app.get("/api/users", &token).await.assert_error(401, 8);
    }
}
