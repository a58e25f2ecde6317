//! Spec §7.1 and §3: companies, ADMIN-managed, each company seeing only itself.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::fixtures::*;
use crate::helpers::*;

both_backends! {
    async fn concurrent_threshold_edits_all_stand(app) {
        // Three PATCHes of different thresholds at once: each applies to what is stored then.
        let c = app.company("Concurrent thresholds").await;
        let url = format!("/api/companies/{c}/thresholds");
        let edits = [json!({"quality": 0.6}), json!({"biometry": 0.9}), json!({"collection": 0.95})];
        let sent = edits.into_iter().map(|body| app.patch(&url, &app.admin_token, body));
        for r in futures::future::join_all(sent).await {
            r.assert_status(200);
        }
        let body = app.get(&url, &app.admin_token).await.assert_status(200).body.clone();
        assert_eq!(body["sources"], json!({"quality": "company", "biometry": "company", "collection": "company"}), "{body}");
        assert_eq!((&body["quality"], &body["biometry"], &body["collection"]), (&json!(0.6), &json!(0.9), &json!(0.95)));
    }

    async fn concurrent_company_edits_all_stand(app) {
        // A rename and fifteen meta_data merges at once: none undoes another.
        let c = app.company("Concurrent").await;
        let url = format!("/api/companies/{c}");
        let mut edits = vec![json!({"name": "Renamed concurrently"})];
        edits.extend((0..15).map(|i| json!({"meta_data": {format!("k{i:02}"): i}})));
        let sent = edits.into_iter().map(|body| app.patch(&url, &app.admin_token, body));
        for r in futures::future::join_all(sent).await {
            r.assert_status(200);
        }
        let body = app.get(&url, &app.admin_token).await.assert_status(200).body.clone();
        assert_eq!(body["name"], json!("Renamed concurrently"), "{body}");
        assert_eq!(body["meta_data"].as_object().unwrap().len(), 15, "{body}");
    }

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

/// GAP-14 [I]: a company's decision thresholds are the ones its analyses get; every analysis
/// carries its `threshold` (a request's params override; null for DOCUMENTS).
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
        json!({"company_id": c.to_string(), "quality": 0.4, "biometry": 0.8, "collection": 0.9,
            "biometry_min": null, "collection_min": null, "source": "installation",
            "sources": {"quality": "installation", "biometry": "installation", "collection": "installation"},
            "installation": {"quality": 0.4, "biometry": 0.8, "collection": 0.9}})
    );
    assert_eq!(app.get(&url, &app.admin_token).await.body, r.body);
    app.get(&url, &stranger).await.assert_error(404, 10);
    app.get(&format!("/api/companies/{}/thresholds", Uuid::new_v4()), &app.admin_token).await.assert_error(404, 10);
    app.get("/api/companies/nope/thresholds", &token).await.assert_error(400, 4);
    let r =
        app.client.put(app.url(&url)).header("X-Forensic-Access-Token", &app.admin_token).json(&json!({})).send().await;
    assert_eq!(r.unwrap().status().as_u16(), 405, "PATCH changes them, PUT does not exist");

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

/// A folder of two selfies of `token`'s company with these analyses (not waited for): the
/// `threshold` of each new analysis, in order, and their ids.
async fn new_analyses(app: &TestApp, token: &str, analyses: Value) -> (Vec<Value>, Vec<String>) {
    let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}}).to_string();
    let parts =
        vec![Part::File("a", "a.jpg", jpeg(64, 48)), Part::File("b", "b.jpg", jpeg(64, 48)), Part::Payload(payload)];
    let folder = app.upload("/api/folders/", token, parts).await.assert_status(201).id("folder_id");
    let r = app.post(&format!("/api/folders/{folder}/analyses/"), token, json!({ "analyses": analyses })).await;
    r.assert_status(201);
    let items = r.body.as_array().unwrap();
    let ids = items.iter().map(|a| a["analyse_id"].as_str().unwrap().to_owned()).collect();
    (items.iter().map(|a| a["threshold"].clone()).collect(), ids)
}

/// GAP-14 [I]: an ADMIN gives a company its own thresholds; its new analyses get them (a
/// request's own params still win), other companies and older analyses keep theirs, `null`
/// returns to the installation's, absent keys are kept, and each change is audited.
async fn company_overrides_decide_new_analyses_of_that_company_only(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.quality_threshold = 0.4;
        c.biometry_threshold = 0.8;
        c.collection_threshold = 0.9;
    })
    .await;
    let (a, b) = (app.company("Override A").await, app.company("Override B").await);
    let (_, _, ta) = app.user(Some(a), "CLIENT").await;
    let (_, _, tb) = app.user(Some(b), "CLIENT").await;
    let two = json!([{"type": "QUALITY"}, {"type": "BIOMETRY"}]);
    let (before, old_ids) = new_analyses(&app, &ta, two.clone()).await;
    assert_eq!(before, [json!(0.4), json!(0.8)]);

    let url = format!("/api/companies/{a}/thresholds");
    let r = app.patch(&url, &app.admin_token, json!({"biometry": 0.9, "quality": 0.3})).await;
    r.assert_status(200);
    assert_eq!(
        r.body,
        json!({"company_id": a.to_string(), "quality": 0.3, "biometry": 0.9, "collection": 0.9,
            "biometry_min": null, "collection_min": null, "source": "company",
            "sources": {"quality": "company", "biometry": "company", "collection": "installation"},
            "installation": {"quality": 0.4, "biometry": 0.8, "collection": 0.9}})
    );
    assert_eq!(app.get(&url, &ta).await.body, r.body, "the company's users read what applies to them");
    assert_eq!(app.get(&url, &app.admin_token).await.body, r.body);

    // The score histograms draw the line a company's analyses get: its own for its users and
    // for an ADMIN filtering on it, the installation's otherwise.
    let line = |token: String, query: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/statistics/performance{query}"), &token).await;
            r.assert_status(200);
            r.body["histograms"].as_array().unwrap().iter().map(|h| h["threshold"].clone()).collect::<Vec<_>>()
        }
    };
    let own = [json!(0.3), json!(0.9), json!(0.9)];
    assert_eq!(line(ta.clone(), String::new()).await, own);
    assert_eq!(line(app.admin_token.clone(), format!("?company_id={a}")).await, own);
    assert_eq!(line(app.admin_token.clone(), String::new()).await, [json!(0.4), json!(0.8), json!(0.9)]);
    assert_eq!(line(tb.clone(), String::new()).await, [json!(0.4), json!(0.8), json!(0.9)]);

    // New analyses of A get the company's values; the request's threshold_max still wins.
    let three =
        json!([{"type": "QUALITY"}, {"type": "BIOMETRY"}, {"type": "BIOMETRY", "params": {"threshold_max": 0.95}}]);
    assert_eq!(new_analyses(&app, &ta, three.clone()).await.0, [json!(0.3), json!(0.9), json!(0.95)]);
    // B is untouched, and so are A's analyses made before the change.
    assert_eq!(new_analyses(&app, &tb, three).await.0, [json!(0.4), json!(0.8), json!(0.95)]);
    assert_eq!(app.get(&format!("/api/companies/{b}/thresholds"), &tb).await.body["source"], "installation");
    for (id, t) in old_ids.iter().zip(&before) {
        assert_eq!(&app.get(&format!("/api/analyses/{id}"), &ta).await.body["threshold"], t);
    }

    // null returns to the installation's; an absent key keeps its value; {} changes nothing.
    let r = app.patch(&url, &app.admin_token, json!({"quality": null, "collection": 0.97})).await;
    r.assert_status(200);
    assert_eq!(
        (r.body["quality"].clone(), r.body["biometry"].clone(), r.body["collection"].clone()),
        (json!(0.4), json!(0.9), json!(0.97))
    );
    assert_eq!(r.body["sources"], json!({"quality": "installation", "biometry": "company", "collection": "company"}));
    assert_eq!(app.patch(&url, &app.admin_token, json!({})).await.body, r.body);
    assert_eq!(new_analyses(&app, &ta, two.clone()).await.0, [json!(0.4), json!(0.9)]);
    let r = app.patch(&url, &app.admin_token, json!({"biometry": null, "collection": null})).await;
    assert_eq!((r.body["source"].clone(), r.body["biometry"].clone()), (json!("installation"), json!(0.8)));
    assert_eq!(new_analyses(&app, &ta, two).await.0, [json!(0.4), json!(0.8)]);

    // Each change is in the audit trail, with before and after, for the company's CLIENT ADMIN too.
    let (_, _, ca) = app.user(Some(a), "CLIENT ADMIN").await;
    let audit = app.get(&format!("/api/audit?object_id={a}&limit=100"), &ca).await;
    audit.assert_status(200);
    let changes: Vec<(Value, Value)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object_type"] == "company_thresholds")
        .map(|e| (e["before"].clone(), e["after"].clone()))
        .collect();
    assert_eq!(changes.len(), 3, "{}", audit.text);
    assert!(changes.contains(&(
        json!("quality=installation, biometry=installation, collection=installation"),
        json!("quality=0.3, biometry=0.9, collection=installation")
    )));
}

#[tokio::test]
async fn sqlite_company_overrides_decide_new_analyses_of_that_company_only() {
    company_overrides_decide_new_analyses_of_that_company_only(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_company_overrides_decide_new_analyses_of_that_company_only() {
    if !postgres_available() {
        return;
    }
    company_overrides_decide_new_analyses_of_that_company_only(Backend::Postgres).await;
}

/// Only an ADMIN sets thresholds (403 code 9 for every other role that sees the company, 404
/// for one that does not); bad input is an Oz error and changes nothing.
async fn company_thresholds_are_set_by_an_admin_only_and_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.company("Guarded").await;
    let other = app.company("Guarded other").await;
    let url = format!("/api/companies/{c}/thresholds");
    for role in ["CLIENT ADMIN", "CLIENT", "CLIENT OPERATOR", "CLIENT SERVICE"] {
        let (_, _, token) = app.user(Some(c), role).await;
        app.get(&url, &token).await.assert_status(200);
        app.patch(&url, &token, json!({"biometry": 0.5})).await.assert_error(403, 9);
        let (_, _, stranger) = app.user(Some(other), role).await;
        app.patch(&url, &stranger, json!({"biometry": 0.5})).await.assert_error(404, 10);
    }
    let (_, _, operator) = app.user(None, "OPERATOR").await;
    app.get(&url, &operator).await.assert_status(200);
    app.patch(&url, &operator, json!({"biometry": 0.5})).await.assert_error(403, 9);
    let anonymous = app.client.patch(app.url(&url)).json(&json!({"biometry": 0.5})).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let admin = &app.admin_token;
    let r = app.patch(&url, admin, json!({"biometry": 1.5})).await;
    r.assert_error(400, 4);
    assert_eq!(r.body["error_details"]["key_path"], "biometry", "{}", r.text);
    app.patch(&url, admin, json!({"quality": -0.1})).await.assert_error(400, 4);
    // All or nothing: the valid key of a refused change is not stored.
    app.patch(&url, admin, json!({"quality": 0.2, "collection": 1.01})).await.assert_error(400, 4);
    let r = app.patch(&url, admin, json!({"speed": 0.5})).await;
    r.assert_error(400, 4);
    assert!(r.body["error_message"].as_str().unwrap().contains("speed"), "{}", r.text);
    app.patch(&url, admin, json!({"documents": 0.5})).await.assert_error(400, 4);
    app.patch(&url, admin, json!({"quality": "0.5"})).await.assert_error(400, 5);
    app.patch(&url, admin, json!({"quality": true})).await.assert_error(400, 5);
    app.patch(&url, admin, json!([0.5])).await.assert_error(400, 3);
    let raw =
        app.client.patch(app.url(&url)).header("X-Forensic-Access-Token", admin).body("{nope").send().await.unwrap();
    into_res(raw).await.assert_error(400, 3);
    app.patch("/api/companies/nope/thresholds", admin, json!({"quality": 0.5})).await.assert_error(400, 4);
    let gone = format!("/api/companies/{}/thresholds", Uuid::new_v4());
    app.patch(&gone, admin, json!({"quality": 0.5})).await.assert_error(404, 10);
    let r = app.get(&url, admin).await;
    assert_eq!(
        (r.body["source"].clone(), r.body["quality"].clone()),
        (json!("installation"), json!(0.5)),
        "{}",
        r.text
    );

    // The bounds are allowed; the overrides go with the company.
    let r = app.patch(&url, admin, json!({"quality": 0, "biometry": 1})).await;
    assert_eq!((r.body["quality"].clone(), r.body["biometry"].clone()), (json!(0.0), json!(1.0)), "{}", r.text);
    let empty = app.company("Guarded empty").await;
    let url = format!("/api/companies/{empty}/thresholds");
    app.patch(&url, admin, json!({"collection": 0.7})).await.assert_status(200);
    app.delete(&format!("/api/companies/{empty}"), admin).await.assert_status(204);
    app.get(&url, admin).await.assert_error(404, 10);
}

#[tokio::test]
async fn sqlite_company_thresholds_are_set_by_an_admin_only_and_checked() {
    company_thresholds_are_set_by_an_admin_only_and_checked(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_company_thresholds_are_set_by_an_admin_only_and_checked() {
    if !postgres_available() {
        return;
    }
    company_thresholds_are_set_by_an_admin_only_and_checked(Backend::Postgres).await;
}

/// A company's thresholds decide its analyses on real photos (GAP-14): QUALITY at 0 declines
/// every photo and at 1 passes it; BIOMETRY of two photos of one person at 1 declines and at 0
/// succeeds; the request's `threshold_max` overrides the company's; a company without
/// overrides decides with the installation's.
async fn company_thresholds_change_the_decision(backend: Backend) {
    let Some(p) = face_photos("company_thresholds_change_the_decision", &["obama.jpg", "obama2.jpg"]) else { return };
    let app = TestApp::spawn(backend).await;
    let (strict, lenient, plain) =
        (app.company("Strict").await, app.company("Lenient").await, app.company("Plain").await);
    app.patch(
        &format!("/api/companies/{strict}/thresholds"),
        &app.admin_token,
        json!({"quality": 0.0, "biometry": 1.0}),
    )
    .await
    .assert_status(200);
    app.patch(
        &format!("/api/companies/{lenient}/thresholds"),
        &app.admin_token,
        json!({"quality": 1.0, "biometry": 0.0}),
    )
    .await
    .assert_status(200);
    let decide = |company: Uuid, analyses: Value| {
        let app = &app;
        let p = &p;
        async move {
            let (_, _, token) = app.user(Some(company), "CLIENT").await;
            let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}, "analyses": analyses});
            let parts = vec![
                Part::File("a", "a.jpg", p[0].clone()),
                Part::File("b", "b.jpg", p[1].clone()),
                Part::Payload(payload.to_string()),
            ];
            let r = app.upload("/api/folders/", &token, parts).await;
            r.assert_status(201);
            // QUALITY first (the folder lists its analyses in no particular order).
            let mut analyses = r.body["analyses"].as_array().unwrap().clone();
            analyses.sort_by_key(|a| a["type"] != "QUALITY");
            let out: Vec<(Value, Value, Value)> = analyses
                .iter()
                .map(|a| {
                    assert_eq!(a["state"], "FINISHED", "{a}");
                    let score = match a["type"].as_str().unwrap() {
                        "QUALITY" => a["results_data"]["confidence_spoofing"].clone(),
                        _ => a["results_data"]["min_confidence"].clone(),
                    };
                    (a["resolution_status"].clone(), a["threshold"].clone(), score)
                })
                .collect();
            out
        }
    };
    let both = json!([{"type": "QUALITY"}, {"type": "BIOMETRY"}]);
    let s = decide(strict, both.clone()).await;
    assert_eq!((s[0].0.clone(), s[0].1.clone()), (json!("DECLINED"), json!(0.0)), "{s:?}");
    assert!(s[1].2.as_f64().unwrap() < 1.0, "two different photos: {s:?}");
    assert_eq!((s[1].0.clone(), s[1].1.clone()), (json!("DECLINED"), json!(1.0)), "{s:?}");
    let l = decide(lenient, both.clone()).await;
    assert!(l[0].2.as_f64().unwrap() < 1.0, "{l:?}");
    assert_eq!((l[0].0.clone(), l[0].1.clone()), (json!("SUCCESS"), json!(1.0)), "{l:?}");
    assert_eq!((l[1].0.clone(), l[1].1.clone()), (json!("SUCCESS"), json!(0.0)), "{l:?}");
    // The request's own threshold wins over the company's.
    let own = decide(strict, json!([{"type": "BIOMETRY", "params": {"threshold_max": 0.0}}])).await;
    assert_eq!((own[0].0.clone(), own[0].1.clone()), (json!("SUCCESS"), json!(0.0)), "{own:?}");
    // Without overrides: the installation's (0.5 and 0.85), decided by the same rule.
    let d = decide(plain, both).await;
    let (q, bio) = (d[0].2.as_f64().unwrap(), d[1].2.as_f64().unwrap());
    assert_eq!((d[0].1.clone(), d[1].1.clone()), (json!(0.5), json!(0.85)));
    assert_eq!(d[0].0, json!(if q >= 0.5 { "DECLINED" } else { "SUCCESS" }), "{d:?}");
    assert_eq!(d[1].0, json!(if bio >= 0.85 { "SUCCESS" } else { "DECLINED" }), "{d:?}");
}

#[tokio::test]
async fn sqlite_company_thresholds_change_the_decision() {
    company_thresholds_change_the_decision(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_company_thresholds_change_the_decision() {
    if !postgres_available() {
        return;
    }
    company_thresholds_change_the_decision(Backend::Postgres).await;
}

/// GAP-14 [I]: a company-wide operator band. An ADMIN sets the lower edges of the BIOMETRY and
/// COLLECTION bands (not above their thresholds); the company's new analyses get them as
/// `threshold_min` unless a BIOMETRY request sends its own; other companies, QUALITY and older
/// analyses do not; the statistics' histograms carry them; `null` removes a band; audited. On
/// real photos the band decides: a match under a threshold of 1 but in the band needs an
/// operator, and a request's own `threshold_min` at the threshold declines it.
async fn a_company_operator_band_applies_when_a_request_sends_none(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.biometry_threshold = 0.8;
        c.collection_threshold = 0.9;
    })
    .await;
    let (a, b) = (app.company("Band A").await, app.company("Band B").await);
    let (_, _, ta) = app.user(Some(a), "CLIENT").await;
    let (_, _, tb) = app.user(Some(b), "CLIENT").await;
    let url = format!("/api/companies/{a}/thresholds");
    let admin = &app.admin_token;
    let (old, old_ids) = new_analyses(&app, &ta, json!([{"type": "BIOMETRY"}])).await;
    assert_eq!(old, [json!(0.8)]);

    // Refused: above the threshold it lies under (as it then stands), out of [0, 1], not a number.
    let r = app.patch(&url, admin, json!({"biometry_min": 0.85})).await;
    r.assert_error(400, 4);
    assert_eq!(r.body["error_details"]["key_path"], "biometry_min", "{}", r.text);
    app.patch(&url, admin, json!({"collection_min": 1.2})).await.assert_error(400, 4);
    app.patch(&url, admin, json!({"collection_min": "0.5"})).await.assert_error(400, 5);
    // With the company's own threshold raised in the same change, the edge fits.
    app.patch(&url, admin, json!({"biometry_min": 0.85, "biometry": 0.9, "collection_min": 0.5}))
        .await
        .assert_status(200);
    let r = app.patch(&url, admin, json!({"biometry_min": 0.6, "biometry": null})).await;
    r.assert_status(200);
    assert_eq!(
        (r.body["biometry"].clone(), r.body["biometry_min"].clone(), r.body["collection_min"].clone()),
        (json!(0.8), json!(0.6), json!(0.5)),
        "{}",
        r.text
    );
    assert_eq!(r.body["source"], "company");
    assert_eq!(r.body["sources"]["biometry"], "installation");
    assert_eq!(app.get(&url, &ta).await.body, r.body, "its users read it");

    // New analyses: the band unless the BIOMETRY request sends its own; none for QUALITY.
    let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}}).to_string();
    let parts =
        vec![Part::File("a", "a.jpg", jpeg(64, 48)), Part::File("b", "b.jpg", jpeg(64, 48)), Part::Payload(payload)];
    let folder = app.upload("/api/folders/", &ta, parts).await.assert_status(201).id("folder_id");
    let r = app
        .post(
            &format!("/api/folders/{folder}/analyses/"),
            &ta,
            json!({"analyses": [{"type": "BIOMETRY"}, {"type": "BIOMETRY", "params": {"threshold_min": 0.7}},
                {"type": "COLLECTION"}, {"type": "QUALITY"}]}),
        )
        .await;
    r.assert_status(201);
    let items = r.body.as_array().unwrap();
    let mins: Vec<Value> = items.iter().map(|a| a.get("threshold_min").cloned().unwrap_or(Value::Null)).collect();
    assert_eq!(mins, [json!(0.6), json!(0.7), json!(0.5), Value::Null], "{}", r.text);
    assert!(items[3].get("threshold_min").is_none(), "absent without a band: {}", items[3]);
    let first = items[0]["analyse_id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/analyses/{first}"), &ta).await.body["threshold_min"], json!(0.6));
    // Another company and the analyses from before: no band.
    let (_, ids_b) = new_analyses(&app, &tb, json!([{"type": "BIOMETRY"}])).await;
    assert!(app.get(&format!("/api/analyses/{}", ids_b[0]), &tb).await.body.get("threshold_min").is_none());
    assert!(app.get(&format!("/api/analyses/{}", old_ids[0]), &ta).await.body.get("threshold_min").is_none());
    // The statistics' histograms of the company carry its band.
    let p = app.get("/api/statistics/performance", &ta).await;
    let h = p.body["histograms"].as_array().unwrap();
    let bands: Vec<Value> = h.iter().map(|h| h.get("threshold_min").cloned().unwrap_or(Value::Null)).collect();
    assert_eq!(bands, [Value::Null, json!(0.6), json!(0.5)], "{}", p.text);

    // null removes a band; analyses made with it keep it.
    let r = app.patch(&url, admin, json!({"collection_min": null})).await;
    assert_eq!((r.body["biometry_min"].clone(), r.body["collection_min"].clone()), (json!(0.6), Value::Null));
    let (_, ids) = new_analyses(&app, &ta, json!([{"type": "COLLECTION"}])).await;
    assert!(app.get(&format!("/api/analyses/{}", ids[0]), &ta).await.body.get("threshold_min").is_none());
    assert_eq!(
        app.get(&format!("/api/analyses/{}", items[2]["analyse_id"].as_str().unwrap()), &ta).await.body
            ["threshold_min"],
        json!(0.5)
    );

    // Audited: a band's edge appears when the company has one.
    let audit = app.get(&format!("/api/audit?object_id={a}&limit=100"), admin).await;
    let afters: Vec<Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object_type"] == "company_thresholds")
        .map(|e| e["after"].clone())
        .collect();
    assert!(
        afters.contains(&json!(
            "quality=installation, biometry=installation, collection=installation, biometry_min=0.6, collection_min=0.5"
        )),
        "{afters:?}"
    );

    // On real photos: two photos of one person score under 1, in the band [0, 1).
    let Some(p) =
        face_photos("a_company_operator_band_applies_when_a_request_sends_none", &["obama.jpg", "obama2.jpg"])
    else {
        return;
    };
    app.patch(&url, admin, json!({"biometry": 1.0, "biometry_min": 0.0})).await.assert_status(200);
    let decide = |analyses: Value| {
        let (app, p, ta) = (&app, &p, &ta);
        async move {
            let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}, "analyses": analyses});
            let parts = vec![
                Part::File("a", "a.jpg", p[0].clone()),
                Part::File("b", "b.jpg", p[1].clone()),
                Part::Payload(payload.to_string()),
            ];
            let r = app.upload("/api/folders/", ta, parts).await;
            r.assert_status(201);
            let a = r.body["analyses"][0].clone();
            assert_eq!(a["state"], "FINISHED", "{a}");
            assert!(a["results_data"]["min_confidence"].as_f64().unwrap() < 1.0, "{a}");
            (a["resolution_status"].clone(), a["threshold_min"].clone())
        }
    };
    assert_eq!(decide(json!([{"type": "BIOMETRY"}])).await, (json!("OPERATOR_REQUIRED"), json!(0.0)));
    let own = decide(json!([{"type": "BIOMETRY", "params": {"threshold_min": 1.0}}])).await;
    assert_eq!(own, (json!("DECLINED"), json!(1.0)), "the request's own band wins");
}

#[tokio::test]
async fn sqlite_a_company_operator_band_applies_when_a_request_sends_none() {
    a_company_operator_band_applies_when_a_request_sends_none(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_company_operator_band_applies_when_a_request_sends_none() {
    if !postgres_available() {
        return;
    }
    a_company_operator_band_applies_when_a_request_sends_none(Backend::Postgres).await;
}
