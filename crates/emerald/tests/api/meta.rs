//! Spec §9: `…/meta_data` on users and companies — one semantics everywhere — and search.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::*;

/// Walk the whole contract on one object's metadata URL.
pub async fn walk_meta_contract(app: &TestApp, url: &str, token: &str) {
    app.delete(url, token).await.assert_status(204);
    assert_eq!(app.get(url, token).await.assert_status(200).body, json!({}));
    let r = app.post(url, token, json!({"transaction_id": "tx-1", "person": {"iin": "990101"}, "n": 5})).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"transaction_id": "tx-1", "person": {"iin": "990101"}, "n": 5}));
    // PATCH merges shallowly; null removes.
    let r = app.patch(url, token, json!({"n": 6, "person": null, "extra": [1, "two", {"3": true}]})).await;
    assert_eq!(r.body, json!({"transaction_id": "tx-1", "n": 6, "extra": [1, "two", {"3": true}]}));
    assert_eq!(app.get(url, token).await.body, r.body);
    // POST replaces.
    let r = app.post(url, token, json!({"only": "this", "a": 1, "b": 2})).await;
    assert_eq!(r.body, json!({"only": "this", "a": 1, "b": 2}));
    // DELETE ?key= removes just those keys, plain DELETE clears.
    app.send(Method::DELETE, &format!("{url}?key=a&key=b&key=missing"), Some(token), None, None)
        .await
        .assert_status(204);
    assert_eq!(app.get(url, token).await.body, json!({"only": "this"}));
    app.delete(url, token).await.assert_status(204);
    assert_eq!(app.get(url, token).await.body, json!({}));
    // Bad bodies lose nothing.
    app.post(url, token, json!({"keep": 1})).await.assert_status(200);
    app.post(url, token, json!([1, 2])).await.assert_error(400, 5);
    app.patch(url, token, json!("text")).await.assert_error(400, 3);
    let big = "x".repeat(70 * 1024);
    app.patch(url, token, json!({"big": big})).await.assert_error(400, 4);
    assert_eq!(app.get(url, token).await.body, json!({"keep": 1}));
}

both_backends! {
    async fn user_meta_data_contract(app) {
        let c = app.company("Meta").await;
        let (id, _, token) = app.user(Some(c), "CLIENT").await;
        walk_meta_contract(&app, &format!("/api/users/{id}/meta_data"), &app.admin_token).await;
        // A user may edit its own metadata; trailing slash optional.
        walk_meta_contract(&app, &format!("/api/users/{id}/meta_data/"), &token).await;
    }

    async fn concurrent_patches_of_different_keys_all_land(app) {
        // Each PATCH merges into what is stored when it is written, not into what it read: 32
        // clients adding a key each at once leave 32 keys (a read-merge-write would lose some),
        // and none is answered with a server error (SQLite's one writer is waited for).
        let c = app.company("Concurrent meta").await;
        let url = format!("/api/companies/{c}/meta_data");
        app.post(&url, &app.admin_token, json!({"kept": true})).await.assert_status(200);
        let patches = (0..32).map(|i| app.patch(&url, &app.admin_token, json!({format!("k{i:02}"): i})));
        for r in futures::future::join_all(patches).await {
            r.assert_status(200);
        }
        let meta = app.get(&url, &app.admin_token).await.assert_status(200).body.clone();
        let mut want = serde_json::Map::new();
        want.insert("kept".into(), json!(true));
        for i in 0..32 {
            want.insert(format!("k{i:02}"), json!(i));
        }
        assert_eq!(meta, Value::Object(want));
    }

    async fn company_meta_data_contract(app) {
        let c = app.company("Meta Co").await;
        walk_meta_contract(&app, &format!("/api/companies/{c}/meta_data"), &app.admin_token).await;
        let (_, _, cadmin) = app.user(Some(c), "CLIENT ADMIN").await;
        walk_meta_contract(&app, &format!("/api/companies/{c}/meta_data/"), &cadmin).await;
    }

    async fn meta_data_access_follows_the_object(app) {
        let mine = app.company("Mine").await;
        let other = app.company("Other").await;
        let (peer, _, _) = app.user(Some(mine), "CLIENT").await;
        let (stranger, _, _) = app.user(Some(other), "CLIENT").await;
        let (_, _, client) = app.user(Some(mine), "CLIENT").await;
        let (_, _, cop) = app.user(Some(mine), "CLIENT OPERATOR").await;
        app.get(&format!("/api/users/{peer}/meta_data"), &client).await.assert_error(404, 10);
        app.get(&format!("/api/users/{peer}/meta_data"), &cop).await.assert_status(200);
        app.post(&format!("/api/users/{peer}/meta_data"), &cop, json!({"a": 1})).await.assert_error(403, 9);
        app.get(&format!("/api/users/{stranger}/meta_data"), &cop).await.assert_error(404, 10);
        app.post(&format!("/api/companies/{mine}/meta_data"), &client, json!({"a": 1})).await.assert_error(403, 9);
        app.get(&format!("/api/companies/{other}/meta_data"), &client).await.assert_error(404, 10);
        app.get(&format!("/api/users/{}/meta_data", Uuid::new_v4()), &app.admin_token).await.assert_error(404, 10);
        app.get("/api/users/zzz/meta_data", &app.admin_token).await.assert_error(400, 4);
    }

    async fn meta_data_search_follows_every_change(app) {
        let c = app.company("Search").await;
        let (id, _, _) = app.user(Some(c), "CLIENT").await;
        let url = format!("/api/users/{id}/meta_data");
        let find = |q: &'static str| {
            let app = &app;
            async move {
                let r = app.get(&format!("/api/users?{q}"), &app.admin_token).await;
                r.assert_status(200);
                r.body.as_array().unwrap().iter().map(|u| u["user_id"].clone()).collect::<Vec<Value>>()
            }
        };
        app.post(&url, &app.admin_token, json!({"transaction_id": "abc", "score": 7.5, "flag": true, "nothing": null, "list": ["x", "y"]})).await;
        assert_eq!(find("meta_data=transaction_id==abc").await, vec![json!(id)]);
        assert_eq!(find("meta_data=score==7.5").await, vec![json!(id)]);
        assert_eq!(find("meta_data=score<8,score>7").await, vec![json!(id)]);
        assert_eq!(find("meta_data=flag==true").await, vec![json!(id)]);
        // Lamb semantics (PostgreSQL `#>>`): `==null` matches JSON null and a missing key alike.
        assert!(find("meta_data=nothing==null").await.contains(&json!(id)));
        assert!(!find("meta_data=transaction_id==null").await.contains(&json!(id)));
        assert_eq!(find("meta_data=list.1==y").await, vec![json!(id)]);
        assert!(find("meta_data=transaction_id!=abc").await.is_empty());
        app.patch(&url, &app.admin_token, json!({"transaction_id": "def"})).await;
        assert!(find("meta_data=transaction_id==abc").await.is_empty());
        assert_eq!(find("meta_data=transaction_id==def").await, vec![json!(id)]);
        app.delete(&url, &app.admin_token).await;
        assert!(find("meta_data=transaction_id==def").await.is_empty());
        // PATCH of the user itself keeps the index too.
        app.patch(&format!("/api/users/{id}"), &app.admin_token, json!({"meta_data": {"transaction_id": "ghi"}})).await;
        assert_eq!(find("meta_data=transaction_id==ghi").await, vec![json!(id)]);
    }
}
