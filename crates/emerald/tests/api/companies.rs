//! Spec §7.1 and §3: companies, ADMIN-managed, each company seeing only itself.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::fixtures::*;
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

/// GAP-14 [I]: a company's decision thresholds, read-only, are the ones its analyses get; every
/// analysis carries its `threshold` (a request's params override; null for DOCUMENTS).
async fn thresholds_are_readable_per_company_and_on_every_analysis(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.quality_threshold = 0.4;
        c.biometry_threshold = 0.8;
        c.collection_threshold = 0.9;
    })
    .await;
    let c = app.company("Thresholds").await;
    let other = app.company("Thresholds other").await;
    let (_, _, token) = app.user(Some(c), "CLIENT").await;
    let (_, _, stranger) = app.user(Some(other), "CLIENT").await;
    let url = format!("/api/companies/{c}/thresholds");
    let r = app.get(&url, &token).await;
    r.assert_status(200);
    assert_eq!(
        r.body,
        json!({"company_id": c.to_string(), "quality": 0.4, "biometry": 0.8, "collection": 0.9, "source": "installation"})
    );
    assert_eq!(app.get(&url, &app.admin_token).await.body, r.body);
    app.get(&url, &stranger).await.assert_error(404, 10);
    app.get(&format!("/api/companies/{}/thresholds", Uuid::new_v4()), &app.admin_token).await.assert_error(404, 10);
    app.get("/api/companies/nope/thresholds", &token).await.assert_error(400, 4);
    let r =
        app.client.put(app.url(&url)).header("X-Forensic-Access-Token", &app.admin_token).json(&json!({})).send().await;
    assert_eq!(r.unwrap().status().as_u16(), 405, "read-only");

    // The analyses of that company: the same values, or the request's.
    let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}}).to_string();
    let folder = app
        .upload(
            "/api/folders/",
            &token,
            vec![
                Part::File("a", "a.jpg", jpeg(64, 48)),
                Part::File("b", "b.jpg", jpeg(64, 48)),
                Part::Payload(payload),
            ],
        )
        .await
        .assert_status(201)
        .id("folder_id");
    let r = app
        .post(
            &format!("/api/folders/{folder}/analyses/"),
            &token,
            json!({"analyses": [{"type": "QUALITY"}, {"type": "BIOMETRY"}, {"type": "BIOMETRY", "params": {"threshold_max": 0.95}}]}),
        )
        .await;
    r.assert_status(201);
    let got: Vec<Value> = r.body.as_array().unwrap().iter().map(|a| a["threshold"].clone()).collect();
    assert_eq!(got, [json!(0.4), json!(0.8), json!(0.95)], "{}", r.text);
    let list = app.get(&format!("/api/analyses/?folder_id={folder}"), &token).await;
    for a in list.body["items"].as_array().unwrap() {
        assert!(a.as_object().unwrap().contains_key("threshold"), "{a}");
    }
}

#[tokio::test]
async fn sqlite_thresholds_are_readable_per_company_and_on_every_analysis() {
    thresholds_are_readable_per_company_and_on_every_analysis(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_thresholds_are_readable_per_company_and_on_every_analysis() {
    if !postgres_available() {
        return;
    }
    thresholds_are_readable_per_company_and_on_every_analysis(Backend::Postgres).await;
}
