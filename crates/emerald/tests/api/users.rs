//! Spec §7.2 and §3: users, roles, who manages whom, and tenancy.

use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn concurrent_edits_of_different_fields_all_stand(app) {
        // A block, a rename and fifteen meta_data merges sent at once: each PATCH writes only
        // what it changed onto the row as stored then, so none undoes another (a whole-row
        // write of what a merge had read would unblock the user and drop keys).
        let c = app.company("Concurrent users").await;
        let (id, _, _) = app.user(Some(c), "CLIENT").await;
        let url = format!("/api/users/{id}");
        let mut edits = vec![json!({"is_active": false}), json!({"first_name": "Renamed"})];
        edits.extend((0..15).map(|i| json!({"meta_data": {format!("k{i:02}"): i}})));
        let sent = edits.into_iter().map(|body| app.patch(&url, &app.admin_token, body));
        for r in futures::future::join_all(sent).await {
            r.assert_status(200);
        }
        let u = app.get(&url, &app.admin_token).await.assert_status(200).body.clone();
        assert_eq!(u["is_active"], json!(false), "{u}");
        assert_eq!(u["first_name"], json!("Renamed"), "{u}");
        let keys = u["meta_data"].as_object().unwrap().len();
        assert_eq!(keys, 15, "{u}");
    }

    async fn admin_creates_every_role(app) {
        let c = app.company("Roles").await;
        for role in ["ADMIN", "OPERATOR", "CLIENT", "CLIENT ADMIN", "CLIENT OPERATOR", "CLIENT SERVICE"] {
            let email = format!("{}@roles.test", role.replace(' ', "-").to_lowercase());
            let r = app.post("/api/users", &app.admin_token, json!({"email": email, "password": PASSWORD, "user_type": role.to_lowercase(),
                "company_id": c, "first_name": "A", "last_name": "B", "middle_name": "C"})).await;
            r.assert_status(201);
            assert_eq!(r.body["user_type"], role);
            // ADMIN and OPERATOR never belong to a company (spec §3.1).
            let expect_company = if matches!(role, "ADMIN" | "OPERATOR") { json!(null) } else { json!(c) };
            assert_eq!(r.body["company_id"], expect_company, "{role}");
            assert!(r.body.get("password").is_none());
            let id = r.id("user_id");
            let mut expected = r.body.clone();
            expected["user_id"] = json!(id);
            assert_eq!(app.get(&format!("/api/users/{id}"), &app.admin_token).await.body, expected);
            app.login(&email, PASSWORD).await.assert_status(200);
        }
    }

    async fn user_shape_and_legacy_spellings(app) {
        let c = app.company("Legacy").await;
        let r = app.post("/api/users", &app.admin_token, json!({"email": "Legacy@Example.com", "password": PASSWORD, "company_id": c,
            "is_admin": true, "can_start_analyse_quality": false, "can_start_analyze_biometry": false, "meta_data": {"iin": "123"}})).await;
        r.assert_status(201);
        let id = r.id("user_id");
        assert_eq!(r.body, json!({"user_id": id, "user_type": "CLIENT ADMIN", "email": "Legacy@Example.com", "first_name": "",
            "last_name": "", "middle_name": null, "company_id": c, "is_admin": true, "is_service": false,
            "is_active": true, "can_start_analysis_biometry": false, "can_start_analysis_quality": false, "can_start_analysis_collection": true,
            "can_start_analysis_documents": true, "can_start_analyse_biometry": false, "can_start_analyse_quality": false,
            "meta_data": {"iin": "123"}, "technical_meta_data": {}}));
    }

    async fn user_input_errors(app) {
        let c = app.company("Errors").await;
        let ok = json!({"email": "a@b.c", "password": PASSWORD, "company_id": c});
        app.post("/api/users", &app.admin_token, ok.clone()).await.assert_status(201);
        // Duplicate, case-insensitively.
        let r = app.post("/api/users", &app.admin_token, json!({"email": "A@B.C", "password": PASSWORD, "company_id": c})).await;
        r.assert_error(400, 4);
        assert_eq!(r.body["error_details"], json!({"key_path": "email"}));
        app.post("/api/users", &app.admin_token, json!({"password": PASSWORD, "company_id": c})).await.assert_error(400, 3);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "company_id": c})).await.assert_error(400, 3);
        app.post("/api/users", &app.admin_token, json!({"email": "not-an-email", "password": PASSWORD, "company_id": c})).await.assert_error(400, 4);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "password": "short", "company_id": c})).await.assert_error(400, 4);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "password": PASSWORD, "company_id": c, "user_type": "BOSS"})).await.assert_error(400, 4);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "password": PASSWORD, "company_id": "nope"})).await.assert_error(400, 4);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "password": PASSWORD, "company_id": Uuid::new_v4()})).await.assert_error(404, 10);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "password": PASSWORD})).await.assert_error(400, 3);
        app.post("/api/users", &app.admin_token, json!({"email": ["x"], "password": PASSWORD, "company_id": c})).await.assert_error(400, 5);
        app.post("/api/users", &app.admin_token, json!({"email": "x@y.z", "password": PASSWORD, "company_id": c, "is_service": "yes"})).await.assert_error(400, 5);
        app.get("/api/users/123", &app.admin_token).await.assert_error(400, 4);
        app.get(&format!("/api/users/{}", Uuid::new_v4()), &app.admin_token).await.assert_error(404, 10);
    }

    async fn visibility_by_role_and_company(app) {
        let mine = app.company("Mine").await;
        let other = app.company("Other").await;
        let (client_id, _, client) = app.user(Some(mine), "CLIENT").await;
        let (peer_id, _, _) = app.user(Some(mine), "CLIENT").await;
        let (stranger_id, _, _) = app.user(Some(other), "CLIENT ADMIN").await;
        let (_, _, cop) = app.user(Some(mine), "CLIENT OPERATOR").await;
        let (_, _, cadmin) = app.user(Some(mine), "CLIENT ADMIN").await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;

        // A CLIENT sees only itself.
        let list = app.get("/api/users", &client).await;
        assert_eq!(list.body.as_array().unwrap().iter().map(|u| u["user_id"].clone()).collect::<Vec<_>>(), vec![json!(client_id)]);
        app.get(&format!("/api/users/{client_id}"), &client).await.assert_status(200);
        app.get(&format!("/api/users/{peer_id}"), &client).await.assert_error(404, 10);
        // Company operators and admins see the company, never another one.
        for token in [&cop, &cadmin] {
            let list = app.get("/api/users", token).await;
            assert_eq!(list.body.as_array().unwrap().len(), 4);
            assert!(list.body.as_array().unwrap().iter().all(|u| u["company_id"] == json!(mine)));
            app.get(&format!("/api/users/{peer_id}"), token).await.assert_status(200);
            app.get(&format!("/api/users/{stranger_id}"), token).await.assert_error(404, 10);
        }
        // Global roles see everyone.
        assert!(app.get("/api/users", &operator).await.body.as_array().unwrap().len() >= 7);
        app.get(&format!("/api/users/{stranger_id}"), &operator).await.assert_status(200);
    }

    async fn who_may_create_users(app) {
        let mine = app.company("Mine").await;
        let other = app.company("Other").await;
        let (_, _, cadmin) = app.user(Some(mine), "CLIENT ADMIN").await;
        // A CLIENT ADMIN creates in its own company (company_id optional).
        let r = app.post("/api/users", &cadmin, json!({"email": "new1@x.y", "password": PASSWORD, "user_type": "CLIENT OPERATOR"})).await;
        r.assert_status(201);
        assert_eq!(r.body["company_id"], json!(mine));
        app.post("/api/users", &cadmin, json!({"email": "new2@x.y", "password": PASSWORD, "user_type": "ADMIN"})).await.assert_error(403, 9);
        app.post("/api/users", &cadmin, json!({"email": "new3@x.y", "password": PASSWORD, "company_id": other})).await.assert_error(404, 10);
        for role in ["CLIENT", "CLIENT OPERATOR", "CLIENT SERVICE", "OPERATOR"] {
            let company = if role == "OPERATOR" { None } else { Some(mine) };
            let (_, _, token) = app.user(company, role).await;
            app.post("/api/users", &token, json!({"email": "new4@x.y", "password": PASSWORD, "company_id": mine})).await.assert_error(403, 9);
        }
    }

    async fn users_edit_themselves_but_not_their_privileges(app) {
        let c = app.company("Self").await;
        let (id, email, token) = app.user(Some(c), "CLIENT").await;
        let r = app.patch(&format!("/api/users/{id}"), &token, json!({"first_name": "Ann", "middle_name": "M", "meta_data": {"k": 1}})).await;
        r.assert_status(200);
        assert_eq!((r.body["first_name"].clone(), r.body["middle_name"].clone(), r.body["meta_data"].clone()), (json!("Ann"), json!("M"), json!({"k": 1})));
        let r = app.patch(&format!("/api/users/{id}"), &token, json!({"middle_name": null, "last_name": "Lee"})).await;
        assert_eq!(r.body["middle_name"], json!(null));
        assert_eq!(r.body["first_name"], "Ann");
        app.patch(&format!("/api/users/{id}"), &token, json!({"user_type": "CLIENT ADMIN"})).await.assert_error(403, 9);
        app.patch(&format!("/api/users/{id}"), &token, json!({"can_start_analysis_quality": false})).await.assert_error(403, 9);
        // A new password works at once; the old one no longer does.
        app.patch(&format!("/api/users/{id}"), &token, json!({"password": "brand-new-password"})).await.assert_status(200);
        app.login(&email, PASSWORD).await.assert_error(401, 7);
        app.login(&email, "brand-new-password").await.assert_status(200);
        app.patch(&format!("/api/users/{id}"), &token, json!({"password": "short"})).await.assert_error(400, 4);
    }

    async fn own_password_change_checks_old_password(app) {
        // GAP-12 [I]: `old_password` on PATCH /api/users/{own id} is checked before anything
        // changes; wrong ones count against the account's login throttle (5 by default).
        let c = app.company("Old password").await;
        let (id, email, token) = app.user(Some(c), "CLIENT").await;
        let (other, _, _) = app.user(Some(c), "CLIENT").await;
        let url = format!("/api/users/{id}");
        let r = app.patch(&url, &token, json!({"password": "next-password-1", "old_password": "wrong-password", "first_name": "Changed"})).await;
        r.assert_error(400, 4);
        assert_eq!(r.body["error_details"]["key_path"], "old_password", "{}", r.text);
        // Nothing changed.
        app.login(&email, "next-password-1").await.assert_error(401, 7);
        assert_eq!(app.get(&url, &token).await.body["first_name"], "Test");
        app.login(&email, PASSWORD).await.assert_status(200);
        // The right one: the change is made.
        let r = app.patch(&url, &token, json!({"password": "next-password-1", "old_password": PASSWORD})).await;
        r.assert_status(200);
        app.login(&email, PASSWORD).await.assert_error(401, 7);
        app.login(&email, "next-password-1").await.assert_status(200);
        // Only for the caller's own account (an ADMIN resetting another's gives none).
        let r = app.patch(&format!("/api/users/{other}"), &app.admin_token, json!({"password": "next-password-2", "old_password": ADMIN_PASSWORD})).await;
        r.assert_error(400, 4);
        assert_eq!(r.body["error_details"]["key_path"], "old_password");
        app.patch(&format!("/api/users/{other}"), &app.admin_token, json!({"password": "next-password-2"})).await.assert_status(200);
        // Wrong guesses lock the account out like failed logins (code 101), here and at login.
        for _ in 0..5 {
            app.patch(&url, &token, json!({"password": "next-password-3", "old_password": "guess"})).await.assert_error(400, 4);
        }
        app.patch(&url, &token, json!({"password": "next-password-3", "old_password": "next-password-1"})).await.assert_error(429, 101);
        app.login(&email, "next-password-1").await.assert_error(429, 101);
    }

    async fn client_admin_manages_its_company_users(app) {
        let mine = app.company("Mine").await;
        let other = app.company("Other").await;
        let (cadmin_id, _, cadmin) = app.user(Some(mine), "CLIENT ADMIN").await;
        let (uid, _, utoken) = app.user(Some(mine), "CLIENT").await;
        let (stranger, _, _) = app.user(Some(other), "CLIENT").await;
        let r = app.patch(&format!("/api/users/{uid}"), &cadmin, json!({"user_type": "client operator", "can_start_analysis_collection": false})).await;
        r.assert_status(200);
        assert_eq!(r.body["user_type"], "CLIENT OPERATOR");
        assert_eq!(r.body["can_start_analysis_collection"], false);
        app.patch(&format!("/api/users/{uid}"), &cadmin, json!({"user_type": "OPERATOR"})).await.assert_error(403, 9);
        app.patch(&format!("/api/users/{uid}"), &cadmin, json!({"company_id": other})).await.assert_error(404, 10);
        app.patch(&format!("/api/users/{stranger}"), &cadmin, json!({"first_name": "x"})).await.assert_error(404, 10);
        app.delete(&format!("/api/users/{stranger}"), &cadmin).await.assert_error(404, 10);
        app.delete(&format!("/api/users/{cadmin_id}"), &cadmin).await.assert_error(400, 4);
        app.delete(&format!("/api/users/{uid}"), &utoken).await.assert_error(403, 9);
        app.delete(&format!("/api/users/{uid}"), &cadmin).await.assert_status(204);
        // A deleted user's token dies with it.
        app.get("/api/users", &utoken).await.assert_error(401, 7);
        app.get(&format!("/api/users/{uid}"), &cadmin).await.assert_error(404, 10);
    }

    async fn list_filters_sorting_and_paging(app) {
        let a = app.company("A").await;
        let b = app.company("B").await;
        for (company, role, name, size) in [(a, "CLIENT", "Zed", 10), (a, "CLIENT ADMIN", "Amy", 20), (b, "CLIENT", "Bob", 30), (b, "CLIENT OPERATOR", "Cyd", 40)] {
            let r = app.post("/api/users", &app.admin_token, json!({"email": format!("{}@list.test", name.to_lowercase()), "password": PASSWORD,
                "company_id": company, "user_type": role, "first_name": name, "meta_data": {"team": {"name": name, "size": size}}})).await;
            r.assert_status(201);
        }
        let emails = |r: &Res| -> Vec<String> { r.body.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect() };
        let t = &app.admin_token;
        assert_eq!(emails(&app.get(&format!("/api/users?company_id={a}&sorting=email{{asc}}"), t).await), ["amy@list.test", "zed@list.test"]);
        assert_eq!(emails(&app.get("/api/users?user_type=client%20admin", t).await), ["amy@list.test"]);
        assert_eq!(emails(&app.get("/api/users?user_type=CLIENT,CLIENT%20OPERATOR&sorting=email", t).await), ["zed@list.test", "cyd@list.test", "bob@list.test"]);
        assert_eq!(emails(&app.get("/api/users?search_text=BO", t).await), ["bob@list.test"]);
        assert_eq!(emails(&app.get("/api/users?meta_data=team.name==Cyd", t).await), ["cyd@list.test"]);
        assert_eq!(emails(&app.get("/api/users?meta_data=team.size>25&sorting=email{asc}", t).await), ["bob@list.test", "cyd@list.test"]);
        assert_eq!(emails(&app.get("/api/users?meta_data=team.size>=20,team.name!=Bob&sorting=email{asc}", t).await), ["amy@list.test", "cyd@list.test"]);
        assert_eq!(emails(&app.get("/api/users?sorting=email{asc}&limit=2&offset=1", t).await), ["amy@list.test", "bob@list.test"]);
        let r = app.get("/api/users?limit=5001", t).await;
        r.assert_error(400, 4);
        assert_eq!(r.body["error_message"], "Invalid limit value for pagination - exceed max available");
        app.get("/api/users?offset=-1", t).await.assert_error(400, 4);
        app.get("/api/users?sorting=shoe_size{asc}", t).await.assert_error(400, 4);
        app.get("/api/users?sorting=email{up}", t).await.assert_error(400, 4);
        app.get("/api/users?company_id=xyz", t).await.assert_error(400, 5);
        app.get("/api/users?meta_data=garbage", t).await.assert_error(400, 3);
        app.get("/api/users?time_created.min=yesterday-ish", t).await.assert_error(400, 4);
        assert_eq!(app.get("/api/users?time_created.min=now&time_created.max=1", t).await.body, json!([]));
    }
}
