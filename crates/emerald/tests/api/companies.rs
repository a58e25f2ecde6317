//! Spec §7.1 and §3: companies, ADMIN-managed, each company seeing only itself.

use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn admin_creates_reads_updates_and_deletes_a_company(app) {
        let r = app.post("/api/companies", &app.admin_token, json!({"name": "Acme Bank", "meta_data": {"tier": "gold"}})).await;
        r.assert_status(201);
        let id = r.id("company_id");
        assert_eq!(r.body, json!({"company_id": id, "name": "Acme Bank", "meta_data": {"tier": "gold"}, "technical_meta_data": {}}));
        let got = app.get(&format!("/api/companies/{id}"), &app.admin_token).await;
        assert_eq!(got.body, r.body);
        let patched = app.patch(&format!("/api/companies/{id}/"), &app.admin_token, json!({"name": "Acme Bank Ltd", "meta_data": {"region": "EU"}})).await;
        patched.assert_status(200);
        assert_eq!(patched.body["name"], "Acme Bank Ltd");
        assert_eq!(patched.body["meta_data"], json!({"tier": "gold", "region": "EU"}));
        app.delete(&format!("/api/companies/{id}/"), &app.admin_token).await.assert_status(204);
        app.get(&format!("/api/companies/{id}"), &app.admin_token).await.assert_error(404, 10);
        app.delete(&format!("/api/companies/{id}"), &app.admin_token).await.assert_error(404, 10);
    }

    async fn search_text_matches_any_part_of_the_name(app) {
        app.company("Northwind Traders").await;
        app.company("Southwind Imports").await;
        app.company("Contoso 100%_Safe").await;
        let names = |r: &Res| -> Vec<String> { r.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect() };
        let r = app.get("/api/companies/?search_text=WIND", &app.admin_token).await;
        assert_eq!(names(&r), ["Northwind Traders", "Southwind Imports"]);
        let r = app.get("/api/companies?search_text=north", &app.admin_token).await;
        assert_eq!(names(&r), ["Northwind Traders"]);
        // LIKE wildcards in the search are literal characters.
        let r = app.get("/api/companies?search_text=%25_", &app.admin_token).await;
        assert_eq!(names(&r), ["Contoso 100%_Safe"]);
        let r = app.get("/api/companies?search_text=nothing-like-this", &app.admin_token).await;
        assert_eq!(r.body, json!([]));
    }

    async fn company_users_see_only_their_own_company(app) {
        let mine = app.company("Mine").await;
        let other = app.company("Other").await;
        for role in ["CLIENT", "CLIENT ADMIN", "CLIENT OPERATOR", "CLIENT SERVICE"] {
            let (_, _, token) = app.user(Some(mine), role).await;
            let list = app.get("/api/companies", &token).await;
            assert_eq!(list.body.as_array().unwrap().len(), 1, "{role}");
            assert_eq!(list.body[0]["company_id"], json!(mine));
            app.get(&format!("/api/companies/{mine}"), &token).await.assert_status(200);
            // Another company is invisible, not forbidden.
            app.get(&format!("/api/companies/{other}"), &token).await.assert_error(404, 10);
            app.post("/api/companies", &token, json!({"name": "Nope"})).await.assert_error(403, 9);
            app.delete(&format!("/api/companies/{mine}"), &token).await.assert_error(403, 9);
        }
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        assert!(app.get("/api/companies", &operator).await.body.as_array().unwrap().len() >= 2);
        app.patch(&format!("/api/companies/{mine}"), &operator, json!({"name": "x"})).await.assert_error(403, 9);
    }

    async fn client_admin_renames_its_own_company_only(app) {
        let mine = app.company("Mine").await;
        let other = app.company("Other").await;
        let (_, _, ca) = app.user(Some(mine), "CLIENT ADMIN").await;
        app.patch(&format!("/api/companies/{mine}"), &ca, json!({"name": "Mine Renamed"})).await.assert_status(200);
        app.patch(&format!("/api/companies/{other}"), &ca, json!({"name": "Hijack"})).await.assert_error(404, 10);
        let (_, _, client) = app.user(Some(mine), "CLIENT").await;
        app.patch(&format!("/api/companies/{mine}"), &client, json!({"name": "x"})).await.assert_error(403, 9);
    }

    async fn company_input_errors(app) {
        app.post("/api/companies", &app.admin_token, json!({})).await.assert_error(400, 3);
        app.post("/api/companies", &app.admin_token, json!({"name": "  "})).await.assert_error(400, 4);
        app.post("/api/companies", &app.admin_token, json!({"name": 12})).await.assert_error(400, 5);
        app.post("/api/companies", &app.admin_token, json!({"name": "x", "meta_data": [1]})).await.assert_error(400, 5);
        app.get("/api/companies/not-a-uuid", &app.admin_token).await.assert_error(400, 4);
        app.get(&format!("/api/companies/{}", Uuid::new_v4()), &app.admin_token).await.assert_error(404, 10);
        app.patch(&format!("/api/companies/{}", Uuid::new_v4()), &app.admin_token, json!({"name": "x"})).await.assert_error(404, 10);
    }

    async fn a_company_with_users_cannot_be_deleted(app) {
        let c = app.company("Busy").await;
        let (uid, _, _) = app.user(Some(c), "CLIENT").await;
        let r = app.delete(&format!("/api/companies/{c}"), &app.admin_token).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("1 users"));
        app.delete(&format!("/api/users/{uid}"), &app.admin_token).await.assert_status(204);
        app.delete(&format!("/api/companies/{c}"), &app.admin_token).await.assert_status(204);
    }
}
