//! Spec §8, §10, §11, §13.1: analyses end to end over HTTP with the real models and real
//! photos — single request, asynchronous request and polling, the queue across restarts and
//! dead workers, webhooks, Instant mode, faults.
//!
//! The photos come from `scripts/fetch-test-images.sh` (`~/.cache/emerald/test-images`), the
//! models from `scripts/fetch-models.sh`; a test whose files are absent prints SKIPPED.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::fixtures::*;
use crate::helpers::*;

/// A real photo from the test-image cache, or None (and SKIPPED printed).
pub fn photo(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("EMERALD_TEST_IMAGES").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/emerald/test-images")
    });
    match std::fs::read(dir.join(name)) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("SKIPPED: {name} is not in {} (run scripts/fetch-test-images.sh)", dir.display());
            None
        }
    }
}

/// The photos, and a loaded engine; None (SKIPPED printed) otherwise.
fn ready(app: &TestApp, names: &[&str]) -> Option<Vec<Vec<u8>>> {
    if let Err(e) = app.domain.faces() {
        eprintln!("SKIPPED: the face engine is not loaded ({e}); run scripts/fetch-models.sh");
        return None;
    }
    names.iter().map(|n| photo(n)).collect()
}

/// A CLIENT in a fresh company: (company, token).
async fn client(app: &TestApp) -> (Uuid, String) {
    let c = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
    let (_, _, t) = app.user(Some(c), "CLIENT").await;
    (c, t)
}

fn part(name: &'static str, bytes: Vec<u8>) -> Part {
    Part::File(name, "photo.jpg", bytes)
}

/// Poll `GET /api/analyses/{id}` until it leaves PROCESSING (at most 60 s).
pub(crate) async fn wait_analysis(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.get(&format!("/api/analyses/{id}"), token).await;
        r.assert_status(200);
        if r.body["state"] != "PROCESSING" {
            return r.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "analysis {id} still PROCESSING after 60 s: {}", r.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[track_caller]
fn assert_score(v: &Value) -> f64 {
    let x = v.as_f64().unwrap_or_else(|| panic!("score in {v}"));
    assert!((0.0..=1.0).contains(&x), "score {x} outside [0, 1]");
    x
}

/// Two different people with a BIOMETRY band from 0 to 0.999: an OPERATOR_REQUIRED case,
/// (folder_id, analyse_id).
async fn operator_required_case(app: &TestApp, token: &str, p: &[Vec<u8>]) -> (Uuid, String) {
    let band = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]},
        "analyses": [{"type": "biometry", "params": {"threshold_min": 0.0, "threshold_max": 0.999}}]})
    .to_string();
    let r = app
        .upload("/api/folders/", token, vec![part("a", p[0].clone()), part("b", p[1].clone()), Part::Payload(band)])
        .await;
    r.assert_status(201);
    assert_eq!(r.body["analyses"][0]["resolution_status"], "OPERATOR_REQUIRED", "{}", r.text);
    (r.id("folder_id"), r.body["analyses"][0]["analyse_id"].as_str().unwrap().to_owned())
}

both_backends! {
    async fn quality_single_request_on_a_real_photo(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let (company, token) = client(&app).await;
        let payload = json!({
            "folder:meta_data": {"transaction_id": "tx-1"},
            "media:tags": {"photo1": ["photo_selfie"]},
            "analyses": [{"type": "QUALITY", "meta_data": {"example1": "some_example1"}, "params": {}}]
        });
        let r = app.upload("/api/folders/", &token, vec![part("photo1", p[0].clone()), Part::Payload(payload.to_string())]).await;
        r.assert_status(201);
        let folder = &r.body;
        assert_eq!(folder["resolution_status"], "FINISHED", "{}", r.text);
        let a = &folder["analyses"][0];
        assert_eq!(a["type"], "QUALITY");
        assert_eq!(a["state"], "FINISHED");
        assert_eq!(a["resolution"], a["resolution_status"]);
        assert!(a["resolution_status"] == "SUCCESS" || a["resolution_status"] == "DECLINED", "{a}");
        assert_eq!(folder["system_resolution"], a["resolution_status"]);
        assert_eq!(a["company_id"], json!(company.to_string()));
        assert_eq!(a["threshold"], json!(0.5));
        assert_eq!(a["meta_data"], json!({"example1": "some_example1"}));
        assert_eq!(a["error"], Value::Null);
        let media_id = folder["media"][0]["media_id"].clone();
        assert_eq!(a["source_media"][0]["media_id"], media_id);
        let rm = &a["results_media"][0];
        assert_eq!(rm["source_media_id"], media_id);
        assert_eq!(rm["analyse_id"], a["analyse_id"]);
        let c = assert_score(&rm["results_data"]["confidence_spoofing"]);
        assert_eq!(a["results_data"]["confidence_spoofing"], json!(c));
        let expected = if c >= 0.5 { "DECLINED" } else { "SUCCESS" };
        assert_eq!(a["resolution_status"], expected);
        // The best shot is stored and served with the folder's visibility.
        let url = rm["output_images"][0]["original_url"].as_str().expect("best shot url").to_owned();
        assert!(url.contains("/bestshot_"), "{url}");
        let (st, ct, bytes) = app.get_bytes(&url, Some(&token)).await;
        assert_eq!(st.as_u16(), 200);
        assert_eq!(ct.as_deref(), Some("image/jpeg"));
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
        let (_, other) = client(&app).await;
        assert_eq!(app.get_bytes(&url, Some(&other)).await.0.as_u16(), 404);
        // Polling reads the same analysis; the folder list filters on the result.
        let id = a["analyse_id"].as_str().unwrap();
        let got = app.get(&format!("/api/analyses/{id}"), &token).await;
        assert_eq!(got.body["results_data"], a["results_data"]);
        let f = app.get(&format!("/api/folders/?resolution_status={expected}&with_analyses=true"), &token).await;
        assert_eq!(f.body["total_count"], 1, "{}", f.text);
        assert_eq!(f.body["items"][0]["analyses"][0]["analyse_id"], a["analyse_id"]);
        // Deleting the folder deletes the best shot too.
        let before = app.blob_files().len();
        app.delete(&format!("/api/folders/{}", folder["folder_id"].as_str().unwrap()), &app.admin_token).await.assert_status(204);
        assert_eq!(app.blob_files().len(), before - 2, "original and best shot are gone (no thumbnail was asked for)");
    }

    async fn operators_decide_finished_analyses(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let (company, token) = client(&app).await;
        let (operator_id, _, operator) = app.user(Some(company), "CLIENT OPERATOR").await;
        let (global_id, _, global) = app.user(None, "OPERATOR").await;
        let (_, other_company) = client(&app).await;
        // A finished QUALITY and a FAILED COLLECTION (no collections component in this app).
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}, {"type": "collection"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        let folder_id = r.id("folder_id");
        let quality = r.body["analyses"].as_array().unwrap().iter().find(|a| a["type"] == "QUALITY").unwrap()["analyse_id"].as_str().unwrap().to_owned();
        let collection = r.body["analyses"].as_array().unwrap().iter().find(|a| a["type"] == "COLLECTION").unwrap()["analyse_id"].as_str().unwrap().to_owned();
        let url = format!("/api/analyses/{quality}");
        assert_eq!((r.body["analyses"][0]["decided_by"].clone(), r.body["analyses"][0]["decided_at"].clone()), (Value::Null, Value::Null));
        // Who decides: OPERATOR and CLIENT OPERATOR only; another company does not see it.
        app.patch(&url, &token, json!({"resolution_status": "DECLINED"})).await.assert_error(403, 9);
        app.patch(&url, &app.admin_token, json!({"resolution_status": "DECLINED"})).await.assert_error(403, 9);
        app.patch(&url, &other_company, json!({"resolution_status": "DECLINED"})).await.assert_error(404, 10);
        // What: SUCCESS or DECLINED, on a FINISHED analysis.
        app.patch(&url, &operator, json!({"resolution_status": "MAYBE"})).await.assert_error(400, 4);
        app.patch(&url, &operator, json!({"resolution_status": "PROCESSING"})).await.assert_error(400, 4);
        app.patch(&url, &operator, json!({"resolution_comment": "x"})).await.assert_status(400);
        let r = app.patch(&format!("/api/analyses/{collection}"), &operator, json!({"resolution_status": "SUCCESS"})).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("FAILED"), "{}", r.text);
        // Not awaiting a decision (the engine said SUCCESS): refused when the decision is made
        // conditional on a pending case (GAP-3, what the console sends), allowed otherwise (§8.9).
        let r = app.patch(&url, &operator, json!({"resolution_status": "DECLINED", "force": false})).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("not awaiting a decision"), "{}", r.text);
        // The decision, any letter case, with a comment.
        let r = app.patch(&url, &operator, json!({"resolution_status": "declined", "resolution_comment": "a printed photo"})).await;
        r.assert_status(200);
        assert_eq!(r.body["resolution_status"], "DECLINED", "{}", r.text);
        assert_eq!(r.body["resolution"], "DECLINED");
        assert_eq!(r.body["resolution_comment"], "a printed photo");
        assert_eq!(r.body["state"], "FINISHED");
        // Who decided and when are fields of the analysis (GAP-3).
        assert_eq!(r.body["decided_by"], json!(operator_id.to_string()), "{}", r.text);
        let first_at = r.body["decided_at"].as_f64().unwrap();
        assert!((r.body["time_updated"].as_f64().unwrap() - first_at).abs() < 1e-6, "{}", r.text);
        let r = app.patch(&url, &global, json!({"resolution_status": "SUCCESS", "force": true})).await;
        r.assert_status(200);
        let now = app.get(&url, &token).await.body;
        assert_eq!(now["resolution_status"], "SUCCESS");
        assert_eq!(now["decided_by"], json!(global_id.to_string()));
        assert!(now["decided_at"].as_f64().unwrap() >= first_at);
        // The folder's status follows (the FAILED COLLECTION still makes it FAILED).
        let f = app.get(&format!("/api/folders/{folder_id}?with_analyses=true"), &token).await;
        assert_eq!(f.body["resolution_status"], "FAILED", "{}", f.text);
        app.delete(&format!("/api/analyses/{collection}"), &app.admin_token).await.assert_status(204);
        let f = app.get(&format!("/api/folders/{folder_id}"), &token).await;
        assert_eq!(f.body["system_resolution"], "SUCCESS", "{}", f.text);
    }

    async fn biometry_same_person_success_different_people_declined(app) {
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
        let (_, token) = client(&app).await;
        let payload = |a: &str| json!({"media:tags": {"a": ["photo_selfie"], "b": [a]}, "analyses": [{"type": "biometry"}]}).to_string();
        let same = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), part("b", p[1].clone()), Part::Payload(payload("photo_selfie"))]).await;
        same.assert_status(201);
        let a = &same.body["analyses"][0];
        assert_eq!(a["resolution_status"], "SUCCESS", "{}", same.text);
        let min = assert_score(&a["results_data"]["min_confidence"]);
        let max = assert_score(&a["results_data"]["max_confidence"]);
        assert!(min >= 0.85 && min <= max, "{min} {max}");
        assert_eq!(a["results_media"].as_array().unwrap().len(), 2);
        assert_eq!(a["results_media"][0]["results_data"]["min_confidence"], json!(min));
        assert_eq!(same.body["system_resolution"], "SUCCESS");
        // A document photo counts as a face-bearing media (§8.3).
        let diff = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), part("b", p[2].clone()), Part::Payload(payload("photo_id_front"))]).await;
        diff.assert_status(201);
        let a = &diff.body["analyses"][0];
        assert_eq!(a["resolution_status"], "DECLINED", "{}", diff.text);
        assert!(assert_score(&a["results_data"]["min_confidence"]) < 0.85);
        assert_eq!(diff.body["system_resolution"], "DECLINED");
        assert_eq!(diff.body["resolution_status"], "FINISHED");
        // The operator band of the request (§8.2): below max, at or above min.
        let band = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]},
            "analyses": [{"type": "biometry", "params": {"threshold_min": 0.0, "threshold_max": 0.999}}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), part("b", p[2].clone()), Part::Payload(band)]).await;
        assert_eq!(r.body["analyses"][0]["resolution_status"], "OPERATOR_REQUIRED", "{}", r.text);
        assert_eq!(r.body["system_resolution"], "OPERATOR_REQUIRED");
        assert_eq!(r.body["analyses"][0]["threshold"], json!(0.999));
    }

    async fn biometry_results_list_every_compared_pair(app) {
        // GAP-11 [I]: `results_data.pairs[]` = {media_ids: [a, b], confidence} per compared pair,
        // in media order; min/max_confidence are their extremes; a faceless media is in none.
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
        let c = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
        let (_, email, token) = app.user(Some(c), "CLIENT").await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"], "c": ["photo_selfie"], "d": ["photo_selfie"]},
            "analyses": [{"type": "biometry"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), part("b", p[1].clone()), part("c", p[2].clone()),
            Part::File("d", "blank.jpg", jpeg(64, 48)), Part::Payload(payload)]).await;
        r.assert_status(201);
        let folder_id = r.id("folder_id");
        let a = r.body["analyses"][0].clone();
        let m: Vec<String> = a["source_media"].as_array().unwrap().iter().map(|m| m["media_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(m.len(), 4, "{}", r.text);
        let pairs = a["results_data"]["pairs"].as_array().unwrap_or_else(|| panic!("pairs: {}", r.text)).clone();
        let named: Vec<(String, String)> = pairs.iter().map(|p| {
            let ids = p["media_ids"].as_array().unwrap();
            assert_eq!(ids.len(), 2, "{p}");
            (ids[0].as_str().unwrap().to_owned(), ids[1].as_str().unwrap().to_owned())
        }).collect();
        let pair = |i: usize, j: usize| (m[i].clone(), m[j].clone());
        assert_eq!(named, vec![pair(0, 1), pair(0, 2), pair(1, 2)], "the blank photo is compared with nothing");
        let conf: Vec<f64> = pairs.iter().map(|p| assert_score(&p["confidence"])).collect();
        assert!(conf[0] >= 0.85, "the same man: {conf:?}");
        assert!(conf[1] < 0.85 && conf[2] < 0.85, "another man: {conf:?}");
        let (lo, hi) = (conf.iter().cloned().fold(f64::MAX, f64::min), conf.iter().cloned().fold(f64::MIN, f64::max));
        assert_eq!(a["results_data"]["min_confidence"], json!(lo));
        assert_eq!(a["results_data"]["max_confidence"], json!(hi));
        // Per media, min/max over the pairs it is in.
        for (i, id) in m.iter().enumerate().take(3) {
            let mine: Vec<f64> = named.iter().zip(&conf).filter(|((x, y), _)| x == id || y == id).map(|(_, c)| *c).collect();
            let rd = &a["results_media"][i]["results_data"];
            assert_eq!(rd["min_confidence"], json!(mine.iter().cloned().fold(f64::MAX, f64::min)), "{rd}");
            assert_eq!(rd["max_confidence"], json!(mine.iter().cloned().fold(f64::MIN, f64::max)), "{rd}");
        }
        // Stored: the analysis read back carries the same pairs.
        let stored = app.get(&format!("/api/analyses/{}", a["analyse_id"].as_str().unwrap()), &token).await;
        assert_eq!(stored.body["results_data"]["pairs"], json!(pairs));
        // The console's order page shows them as a table, by file name.
        let (console, _) = crate::console::console_login(&app, &email, PASSWORD).await;
        let (status, _, page) = console.get(&app, &format!("/console/orders/{folder_id}")).await;
        assert_eq!(status, 200);
        let at = page.find("<table class=\"pairs\">").unwrap_or_else(|| panic!("no pairs table: {page}"));
        let table = &page[at..at + page[at..].find("</table>").unwrap()];
        assert_eq!(table.matches("<tr><td>").count(), 3, "{table}");
        assert!(table.contains(&format!("photo.jpg ({})", &m[0][..8])), "{table}");
        assert!(table.contains(&format!("{:.4}", conf[0])), "{table}");
        assert!(!table.contains(&m[3][..8]), "{table}");
    }

    async fn conditional_decisions_only_on_cases_awaiting_one_and_in_the_audit(app) {
        let Some(p) = ready(&app, &["obama.jpg", "biden.jpg"]) else { return };
        let (company, token) = client(&app).await;
        let (operator_id, operator_email, operator) = app.user(Some(company), "CLIENT OPERATOR").await;
        let (_, _, global) = app.user(None, "OPERATOR").await;
        let (_, _, company_admin) = app.user(Some(company), "CLIENT ADMIN").await;
        let (other, _) = client(&app).await;
        let (_, _, other_admin) = app.user(Some(other), "CLIENT ADMIN").await;
        let (folder_id, analyse_id) = operator_required_case(&app, &token, &p).await;
        let url = format!("/api/analyses/{analyse_id}");
        let r = app.patch(&url, &operator, json!({"resolution_status": "DECLINED", "resolution_comment": "not the same man"})).await;
        r.assert_status(200);
        assert_eq!(r.body["resolution_status"], "DECLINED");
        assert_eq!(app.get(&format!("/api/folders/{folder_id}"), &token).await.body["system_resolution"], "DECLINED");
        // Decided: a second, conditional decision is refused (code 4); an overruling one is taken.
        let r = app.patch(&url, &global, json!({"resolution_status": "SUCCESS", "force": false})).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("DECLINED"), "{}", r.text);
        app.patch(&url, &global, json!({"resolution_status": "SUCCESS", "force": true})).await.assert_status(200);
        // Both decisions are in the audit trail, with who, before, after and the comment.
        let audit = app.get(&format!("/api/audit?object_id={analyse_id}&event=decision&sorting=time_created{{asc}}"), &app.admin_token).await;
        audit.assert_status(200);
        assert_eq!(audit.body["total_count"], 2, "{}", audit.text);
        let first = &audit.body["items"][0];
        assert_eq!(first["event"], "decision");
        assert_eq!(first["outcome"], "success");
        assert_eq!(first["object_type"], "analysis");
        assert_eq!(first["object_id"], analyse_id.as_str());
        assert_eq!(first["user_id"], operator_id.to_string());
        assert_eq!(first["email"], operator_email.to_lowercase());
        assert_eq!(first["company_id"], company.to_string());
        assert_eq!(first["before"], "OPERATOR_REQUIRED");
        assert_eq!(first["after"], "DECLINED");
        assert_eq!(first["comment"], "not the same man");
        let second = &audit.body["items"][1];
        assert_eq!((second["before"].as_str(), second["after"].as_str()), (Some("DECLINED"), Some("SUCCESS")));
        assert!(second["comment"].is_null());
        // Filter by event; the company's CLIENT ADMIN reads them, another company's does not.
        let r = app.get("/api/audit?event=decision", &company_admin).await;
        assert_eq!(r.assert_status(200).body["total_count"], 2, "{}", r.text);
        assert_eq!(app.get("/api/audit?event=decision", &other_admin).await.body["total_count"], 0);
        app.get("/api/audit", &operator).await.assert_error(403, 9);
        // A refused decision records nothing.
        let r = app.get(&format!("/api/audit?object_id={analyse_id}&event=decision"), &app.admin_token).await;
        assert_eq!(r.body["total_count"], 2);

        // Two operators deciding the same case at once, each only if it is still pending (what
        // the console sends): exactly one wins.
        let (_, analyse_id) = operator_required_case(&app, &token, &p).await;
        let url = format!("/api/analyses/{analyse_id}");
        let (a, b) = tokio::join!(
            app.patch(&url, &operator, json!({"resolution_status": "SUCCESS", "force": false})),
            app.patch(&url, &global, json!({"resolution_status": "DECLINED", "resolution_comment": "late", "force": false}))
        );
        let mut codes = [a.status.as_u16(), b.status.as_u16()];
        codes.sort();
        assert_eq!(codes, [200, 400], "{} / {}", a.text, b.text);
        let r = app.get(&format!("/api/audit?object_id={analyse_id}&event=decision"), &app.admin_token).await;
        assert_eq!(r.body["total_count"], 1, "{}", r.text);
    }

    async fn biometry_takes_media_added_later_without_tags(app) {
        // A web client's flow (§8.3): a tagged selfie, then a second photo added to the folder with
        // no payload at all, then BIOMETRY: every media of the folder counts, tags or not.
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg"]) else { return };
        let (_, token) = client(&app).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}}).to_string();
        let folder_id = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await.id("folder_id");
        app.upload(&format!("/api/folders/{folder_id}/media/"), &token, vec![part("b", p[1].clone())]).await.assert_status(201);
        let r = app.post(&format!("/api/folders/{folder_id}/analyses"), &token, json!({"analyses": [{"type": "biometry"}]})).await;
        r.assert_status(201);
        assert_eq!(r.body[0]["source_media"].as_array().unwrap().len(), 2, "{}", r.text);
        let b = wait_analysis(&app, &token, r.body[0]["analyse_id"].as_str().unwrap()).await;
        assert_eq!(b["resolution_status"], "SUCCESS", "{b}");
    }

    async fn async_request_polling_lists_metadata_and_deletion(app) {
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg"]) else { return };
        let (_, token) = client(&app).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_id", "photo_id_front"], "c": ["photo_id_back"]}}).to_string();
        let f = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), part("b", p[1].clone()), part("c", jpeg(32, 32)), Part::Payload(payload)]).await;
        f.assert_status(201);
        let folder_id = f.id("folder_id");
        let r = app.post(&format!("/api/folders/{folder_id}/analyses/"), &token, json!({"analyses": [
            {"type": "quality", "params": {"extract_best_shot": false}, "meta_data": {"k": "q"}},
            {"type": "Biometry", "meta_data": {"k": "b"}},
        ]})).await;
        r.assert_status(201);
        let list = r.body.as_array().expect("an array of analyses").clone();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["group_id"], list[1]["group_id"]);
        for a in &list {
            assert_eq!(a["state"], "PROCESSING");
            assert_eq!(a["resolution"], "PROCESSING");
            assert_eq!(a["results_data"], Value::Null);
        }
        // Default assignment: QUALITY takes the selfie only, BIOMETRY selfie + document front (not its back).
        assert_eq!(list[0]["source_media"].as_array().unwrap().len(), 1);
        assert_eq!(list[1]["source_media"].as_array().unwrap().len(), 2);
        let q = wait_analysis(&app, &token, list[0]["analyse_id"].as_str().unwrap()).await;
        let b = wait_analysis(&app, &token, list[1]["analyse_id"].as_str().unwrap()).await;
        assert_eq!(q["state"], "FINISHED");
        assert_eq!(q["results_media"][0]["output_images"], json!([]), "extract_best_shot=false stores none");
        assert_eq!(b["resolution_status"], "SUCCESS", "{b}");
        let folder = app.get(&format!("/api/folders/{folder_id}?with_analyses=true"), &token).await;
        assert_eq!(folder.body["resolution_status"], "FINISHED");
        assert_eq!(folder.body["analyses"].as_array().unwrap().len(), 2);
        // Folder list filters (§8.7): type, state (state or result), exclusions.
        let base = format!("/api/folders/{folder_id}/analyses");
        let only = |q: &str| { let p = format!("{base}?{q}"); let t = token.clone(); let app = &app; async move { app.get(&p, &t).await } };
        assert_eq!(only("type=BIOMETRY").await.body.as_array().unwrap().len(), 1);
        assert_eq!(only("type=biometry,quality").await.body.as_array().unwrap().len(), 2);
        assert_eq!(only("type.exclude=QUALITY").await.body[0]["type"], "BIOMETRY");
        assert_eq!(only("state=FINISHED").await.body.as_array().unwrap().len(), 2);
        assert_eq!(only("state=SUCCESS").await.body.as_array().unwrap().iter().filter(|a| a["type"] == "BIOMETRY").count(), 1);
        assert_eq!(only("state=PROCESSING").await.body, json!([]));
        assert_eq!(only(&format!("analyse_id={}", list[0]["analyse_id"].as_str().unwrap())).await.body.as_array().unwrap().len(), 1);
        only("state=BOGUS").await.assert_error(400, 4);
        // The global list: envelope, filters, metadata search; other companies see nothing.
        let g = app.get(&format!("/api/analyses/?folder_id={folder_id}&meta_data=k==b"), &token).await;
        assert_eq!(g.body["total_count"], 1, "{}", g.text);
        assert_eq!(g.body["items"][0]["type"], "BIOMETRY");
        let (_, other) = client(&app).await;
        assert_eq!(app.get("/api/analyses/", &other).await.body["total_count"], 0);
        app.get(&format!("/api/analyses/{}", list[0]["analyse_id"].as_str().unwrap()), &other).await.assert_error(404, 10);
        // Metadata endpoints of an analysis (§9).
        let meta = format!("/api/analyses/{}/meta_data", list[0]["analyse_id"].as_str().unwrap());
        assert_eq!(app.get(&meta, &token).await.body, json!({"k": "q"}));
        assert_eq!(app.patch(&meta, &token, json!({"x": 1})).await.body, json!({"k": "q", "x": 1}));
        assert_eq!(app.get("/api/analyses/?meta_data=x==1", &token).await.body["total_count"], 1);
        app.delete(&meta, &token).await.assert_status(204);
        assert_eq!(app.get(&meta, &token).await.body, json!({}));
        // Deleting: CLIENT may not; ADMIN may; the folder result follows the remaining one.
        let bio = list[1]["analyse_id"].as_str().unwrap();
        app.delete(&format!("/api/analyses/{bio}"), &token).await.assert_error(403, 9);
        app.delete(&format!("/api/analyses/{bio}"), &app.admin_token).await.assert_status(204);
        app.get(&format!("/api/analyses/{bio}"), &token).await.assert_error(404, 10);
        let folder = app.get(&format!("/api/folders/{folder_id}"), &token).await;
        assert_eq!(folder.body["system_resolution"], q["resolution_status"]);
        app.delete(&format!("/api/analyses/{}", list[0]["analyse_id"].as_str().unwrap()), &app.admin_token).await.assert_status(204);
        let folder = app.get(&format!("/api/folders/{folder_id}"), &token).await;
        assert_eq!((folder.body["resolution_status"].clone(), folder.body["system_resolution"].clone()), (json!("INITIAL"), Value::Null));
    }

    async fn requests_that_cannot_run_are_refused(app) {
        let (company, token) = client(&app).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_id_back"]}}).to_string();
        let f = app.upload("/api/folders/", &token, vec![part("a", jpeg(64, 48)), part("b", jpeg(64, 48)), Part::Payload(payload)]).await;
        let folder_id = f.id("folder_id");
        let path = format!("/api/folders/{folder_id}/analyses");
        app.post(&path, &token, json!({"analyses": [{"type": "dna"}]})).await.assert_error(400, 4);
        app.post(&path, &token, json!({"analyses": [{"source_media": []}]})).await.assert_error(400, 3);
        app.post(&path, &token, json!({"analyses": "quality"})).await.assert_error(400, 5);
        app.post(&path, &token, json!({"analyses": []})).await.assert_error(400, 4);
        app.post(&path, &token, json!({})).await.assert_error(400, 3);
        app.post(&path, &token, json!({"analyses": [{"type": "quality", "source_media": [Uuid::new_v4()]}]})).await.assert_error(400, 4);
        app.post(&path, &token, json!({"analyses": [{"type": "quality", "source_media": ["nope"]}]})).await.assert_error(400, 4);
        app.post(&path, &token, json!({"analyses": [{"type": "quality", "params": {"extract_best_shot": "yes"}}]})).await.assert_error(400, 5);
        app.post(&path, &token, json!({"analyses": [{"type": "quality"}], "resolution_endpoint": "ftp://x"})).await.assert_error(400, 4);
        // Besides the selfie only a document's back: BIOMETRY has nothing to compare.
        let r = app.post(&path, &token, json!({"analyses": [{"type": "biometry"}]})).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("BIOMETRY"), "{}", r.text);
        // A folder of untagged media has nothing for QUALITY, nor for DOCUMENTS (no photo tagged photo_id…).
        let bare = app.upload("/api/folders/", &token, vec![part("x", jpeg(32, 32))]).await.id("folder_id");
        let r = app.post(&format!("/api/folders/{bare}/analyses"), &token, json!({"analyses": [{"type": "documents"}]})).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("DOCUMENTS"), "{}", r.text);
        app.post(&format!("/api/folders/{bare}/analyses"), &token, json!({"analyses": [{"type": "quality"}]})).await.assert_error(400, 4);
        // The permission flag, another company's folder, an OPERATOR.
        let (_, _, no_quality) = app.user(Some(company), "CLIENT").await;
        let own = app.upload("/api/folders/", &no_quality, vec![part("a", jpeg(64, 48)), Part::Payload(json!({"media:tags": {"a": ["photo_selfie"]}}).to_string())]).await.id("folder_id");
        let uid = app.get("/api/users/", &no_quality).await.body[0]["user_id"].as_str().unwrap().to_owned();
        app.patch(&format!("/api/users/{uid}"), &app.admin_token, json!({"can_start_analysis_quality": false})).await.assert_status(200);
        app.post(&format!("/api/folders/{own}/analyses"), &no_quality, json!({"analyses": [{"type": "quality"}]})).await.assert_error(403, 9);
        let (_, other) = client(&app).await;
        app.post(&path, &other, json!({"analyses": [{"type": "quality"}]})).await.assert_error(404, 10);
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        app.post(&path, &operator, json!({"analyses": [{"type": "quality"}]})).await.assert_error(403, 9);
        // A single request with a bad analysis stores nothing.
        let files = app.blob_files().len();
        let bad = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "biometry"}]}).to_string();
        app.upload("/api/folders/", &token, vec![part("a", jpeg(64, 48)), Part::Payload(bad)]).await.assert_error(400, 4);
        assert_eq!(app.blob_files().len(), files);
        // Nothing was queued by the refusals.
        assert_eq!(app.get(&format!("/api/folders/{folder_id}"), &token).await.body["resolution_status"], "INITIAL");
    }

    async fn corrupt_media_fails_its_analysis_not_the_worker(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let (_, token) = client(&app).await;
        // An MP4 container head without a video passes the upload probe; decoding it fails.
        let payload = json!({"media:tags": {"v": ["video_selfie", "video_selfie_blank"]}, "analyses": [{"type": "quality"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![Part::File("v", "v.mp4", mp4()), Part::Payload(payload)]).await;
        r.assert_status(201);
        let a = &r.body["analyses"][0];
        assert_eq!((a["state"].clone(), a["resolution_status"].clone()), (json!("FAILED"), json!("FAILED")), "{}", r.text);
        assert_eq!(a["error"]["error_code"], 4);
        assert!(a["error"]["error_message"].as_str().unwrap().contains("media "), "{a}");
        assert_eq!(r.body["resolution_status"], "FAILED");
        assert_eq!(r.body["system_resolution"], "FAILED");
        // A photo without a face: QUALITY finishes DECLINED with the reason.
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", jpeg(320, 240)), Part::Payload(payload.clone())]).await;
        let a = &r.body["analyses"][0];
        assert_eq!((a["state"].clone(), a["resolution_status"].clone()), (json!("FINISHED"), json!("DECLINED")), "{}", r.text);
        assert_eq!(a["results_media"][0]["results_data"]["error_message"], "no face found in the media");
        // The workers are still there.
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        assert_eq!(r.body["analyses"][0]["state"], "FINISHED", "{}", r.text);
    }

    async fn a_face_cropped_too_tightly_is_not_judged_for_liveness(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let (_, token) = client(&app).await;
        // The photo cut down to the face and a tenth around it: no context for the anti-spoof
        // model, so neither a pass nor an attack, but a failed analysis that says why.
        let [x, y, w, h] = app.domain.faces().unwrap().enrol(&p[0]).unwrap().face_box;
        let photo = image::load_from_memory(&p[0]).unwrap().to_rgb8();
        let (x0, y0) = ((x - 0.05 * w).max(0.0) as u32, (y - 0.05 * h).max(0.0) as u32);
        let crop = image::imageops::crop_imm(&photo, x0, y0, (1.1 * w) as u32, (1.1 * h) as u32).to_image();
        let mut tight = std::io::Cursor::new(Vec::new());
        crop.write_to(&mut tight, image::ImageFormat::Jpeg).unwrap();
        let tight = tight.into_inner();
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}).to_string();
        for path in ["/api/folders/", "/api/instant/folders/"] {
            let r = app.upload(path, &token, vec![part("a", tight.clone()), Part::Payload(payload.clone())]).await;
            assert!(r.status.is_success(), "{}", r.text);
            let a = r.body.get("analyses").map_or(&r.body[0], |list| &list[0]);
            assert_eq!((a["state"].clone(), a["resolution_status"].clone()), (json!("FAILED"), json!("FAILED")), "{path}: {}", r.text);
            assert_eq!(a["error"]["error_code"], 4, "{a}");
            assert!(a["error"]["error_message"].as_str().unwrap().contains("cannot assess liveness"), "{a}");
            let data = &a["results_media"][0]["results_data"];
            assert_eq!(data["confidence_spoofing"], Value::Null, "{a}");
            assert!(data["error_message"].as_str().unwrap().starts_with("cannot assess liveness"), "{a}");
        }
        // The whole photo is judged as before.
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        assert_eq!(r.body["analyses"][0]["state"], "FINISHED", "{}", r.text);
    }

    async fn collection_without_the_component_fails_with_a_reason(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let (_, token) = client(&app).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "collection"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        let a = &r.body["analyses"][0];
        assert_eq!(a["state"], "FAILED", "{}", r.text);
        assert_eq!(a["error"]["error_code"], 2);
        assert!(a["error"]["error_message"].as_str().unwrap().contains("collections component"));
        assert_eq!(a["collection"], json!({"alias": null}));
    }

    async fn single_request_answers_202_when_the_wait_runs_out(app) {
        let api = app.restart(|c| { c.role = emerald::config::Role::Api; c.single_request_timeout = 0.3; }).await;
        let token2 = api.admin_token.clone();
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}).to_string();
        let r = api.upload("/api/folders/", &token2, vec![part("a", jpeg(64, 48)), Part::Payload(payload)]).await;
        r.assert_status(202);
        assert_eq!(r.body["resolution_status"], "PROCESSING");
        assert_eq!(r.body["system_resolution"], "PROCESSING");
        assert_eq!(r.body["analyses"][0]["state"], "PROCESSING");
        assert_eq!(api.domain.store.count_jobs().await.unwrap(), 1, "an api-only node runs no worker");
    }

    async fn analyses_no_worker_runs_expire_as_failed(app) {
        // An api-only node: nobody runs the analysis, so it expires (spec §8.8).
        let api = app.restart(|c| {
            c.role = emerald::config::Role::Api;
            c.single_request_timeout = 0.1;
            c.analysis_expire_timeout = 0.5;
            c.analysis_expire_beat = 0.1;
        }).await;
        let token = api.admin_token.clone();
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}).to_string();
        let r = api.upload("/api/folders/", &token, vec![part("a", jpeg(64, 48)), Part::Payload(payload)]).await;
        r.assert_status(202);
        let folder_id = r.id("folder_id");
        let id = r.body["analyses"][0]["analyse_id"].as_str().unwrap().to_owned();
        let done = wait_analysis(&api, &token, &id).await;
        assert_eq!(done["state"], "FAILED", "{done}");
        assert_eq!(done["resolution_status"], "FAILED", "{done}");
        assert!(done["error"]["error_message"].as_str().unwrap().contains("expired"), "{done}");
        assert_eq!(api.domain.store.count_jobs().await.unwrap(), 0, "the job goes with it");
        let folder = api.get(&format!("/api/folders/{folder_id}"), &token).await;
        assert_eq!(folder.body["resolution_status"], "FAILED", "{}", folder.text);
    }

    async fn a_restart_in_the_middle_of_the_queue_resumes_it(app) {
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg"]) else { return };
        // An api-only node queues the work and stops before anything runs.
        let api = app.restart(|c| c.role = emerald::config::Role::Api).await;
        let token = api.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}}).to_string();
        let f = api.upload("/api/folders/", &token, vec![part("a", p[0].clone()), part("b", p[1].clone()), Part::Payload(payload)]).await;
        let folder_id = f.id("folder_id");
        let r = api.post(&format!("/api/folders/{folder_id}/analyses"), &token, json!({"analyses": [{"type": "quality"}, {"type": "biometry"}]})).await;
        r.assert_status(201);
        assert_eq!(api.domain.store.count_jobs().await.unwrap(), 2);
        // A new process on the same database and files, with workers.
        let all = api.restart(|c| c.role = emerald::config::Role::All).await;
        let token = all.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        for a in r.body.as_array().unwrap() {
            let done = wait_analysis(&all, &token, a["analyse_id"].as_str().unwrap()).await;
            assert_eq!(done["state"], "FINISHED", "{done}");
        }
        assert_eq!(all.domain.store.count_jobs().await.unwrap(), 0);
        let folder = all.get(&format!("/api/folders/{folder_id}"), &token).await;
        assert_eq!(folder.body["resolution_status"], "FINISHED");
    }

    async fn a_dead_worker_s_job_is_retried_then_failed(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let api = app.restart(|c| { c.role = emerald::config::Role::Api; c.job_lease = 0.2; c.analysis_max_attempts = 2; }).await;
        let token = api.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}}).to_string();
        let f = api.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        let folder_id = f.id("folder_id");
        let apath = format!("/api/folders/{folder_id}/analyses");
        let request = || api.post(&apath, &token, json!({"analyses": [{"type": "quality"}]}));
        let store = api.domain.store.clone();
        let now = || emerald::domain::time::now();
        // 1. A worker claims the job and dies (never renews its lease); the next claim after
        //    the lease runs the job to its end.
        let first = request().await.body[0]["analyse_id"].as_str().unwrap().to_owned();
        let ghost = store.claim_job("ghost", now(), 0.2).await.unwrap().expect("a due job");
        assert_eq!(ghost.attempts, 1);
        assert!(store.claim_job("other", now(), 0.2).await.unwrap().is_none(), "a leased job is not claimed twice");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(emerald::jobs::run_one(&api.domain, &api.workers, "live").await.unwrap());
        assert_eq!(wait_analysis(&api, &token, &first).await["state"], "FINISHED");
        // 2. Every claim dies: past max_attempts the analysis FAILS with the reason.
        let second = request().await.body[0]["analyse_id"].as_str().unwrap().to_owned();
        for attempt in 1..=2 {
            let j = store.claim_job("ghost", now(), 0.2).await.unwrap().expect("claimable again after the lease");
            assert_eq!(j.attempts, attempt);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(emerald::jobs::run_one(&api.domain, &api.workers, "live").await.unwrap());
        let a = wait_analysis(&api, &token, &second).await;
        assert_eq!(a["state"], "FAILED", "{a}");
        assert!(a["error"]["error_message"].as_str().unwrap().contains("interrupted 2 times"), "{a}");
        assert_eq!(store.count_jobs().await.unwrap(), 0);
    }

    async fn processes_on_postgresql_wake_each_other_at_once(app) {
        if app.backend != Backend::Postgres {
            eprintln!("SKIPPED: wake-ups between processes need PostgreSQL (LISTEN/NOTIFY); SQLite processes poll");
            return;
        }
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        // Both processes poll once a minute: only the wake-ups can make this quick. An API
        // process takes the single request; a worker process on the same database runs it.
        let api = app.restart(|c| {
            c.role = emerald::config::Role::Api;
            c.queue_poll = 60.0;
            c.single_request_timeout = 20.0;
        }).await;
        let worker = api.sibling(|c| c.role = emerald::config::Role::Worker).await;
        assert_eq!(worker.domain.queue.poll, Duration::from_secs(60));
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}).to_string();
        for _ in 0..2 {
            let r = api.upload("/api/folders/", &api.admin_token, vec![part("a", p[0].clone()), Part::Payload(payload.clone())]).await;
            // 202 would say the request's wait (20 s) ran out before it heard of the result.
            r.assert_status(201);
            assert_eq!(r.body["analyses"][0]["state"], "FINISHED", "{}", r.text);
            assert_eq!(r.body["resolution_status"], "FINISHED");
        }
    }

    async fn several_processes_share_one_queue_without_double_claims(app) {
        let api = app.restart(|c| { c.role = emerald::config::Role::Api; c.job_lease = 600.0; }).await;
        let token = api.admin_token.clone();
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}}).to_string();
        let folder_id = api.upload("/api/folders/", &token, vec![part("a", jpeg(32, 32)), Part::Payload(payload)]).await.id("folder_id");
        let many: Vec<Value> = (0..30).map(|_| json!({"type": "quality"})).collect();
        api.post(&format!("/api/folders/{folder_id}/analyses"), &token, json!({"analyses": many})).await.assert_status(201);
        let other = api.sibling(|c| c.role = emerald::config::Role::Api).await;
        // Six claimers over two processes' pools race for the 30 jobs.
        let claimed = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..6 {
            let store = if i % 2 == 0 { api.domain.store.clone() } else { other.domain.store.clone() };
            let claimed = claimed.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(j) = store.claim_job(&format!("w{i}"), emerald::domain::time::now(), 600.0).await.unwrap() {
                    claimed.lock().unwrap().push(j.job_id);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut ids = claimed.lock().unwrap().clone();
        assert_eq!(ids.len(), 30);
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 30, "a job was claimed twice");
    }

    async fn webhooks_are_signed_retried_and_delivered(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let receiver = Receiver::start(2).await;
        let app = app.restart(|c| {
            c.webhook_secret = Some("s3cret".into());
            c.webhook_backoff = 0.05;
            c.webhook_allow_private = true;
        }).await;
        let token = app.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "resolution_endpoint": receiver.url(),
            "analyses": [{"type": "quality"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        r.assert_status(201);
        let folder_id = r.id("folder_id");
        assert_eq!(r.body["technical_meta_data"]["resolution_endpoint"], json!(receiver.url()));
        let hits = receiver.wait_for(3).await;
        // Two failures, then a success; the same delivery id every time; a valid signature.
        let ids: Vec<&str> = hits.iter().map(|h| h.delivery.as_str()).collect();
        assert!(ids.iter().all(|d| *d == ids[0]), "{ids:?}");
        for h in &hits {
            assert_eq!(h.signature, emerald::domain::analyses::webhooks::signature(b"s3cret", &h.body));
        }
        let body: Value = serde_json::from_slice(&hits[2].body).unwrap();
        assert_eq!(body["folder_id"], json!(folder_id.to_string()));
        assert_eq!(body["resolution_status"], "FINISHED");
        assert_eq!(body["analyses"][0]["state"], "FINISHED");
        assert_eq!(body["media"].as_array().unwrap().len(), 1);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let d = app.domain.store.deliveries_of(folder_id).await.unwrap();
            if d.len() == 1 && d[0].status == "delivered" {
                assert_eq!(d[0].attempts, 3);
                assert_eq!(d[0].last_http_status, Some(200));
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "delivery not recorded: {d:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Requested later through the analyses endpoint: a second delivery, once more.
        app.post(&format!("/api/folders/{folder_id}/analyses"), &token, json!({"analyses": [{"type": "quality"}], "resolution_endpoint": receiver.url()})).await.assert_status(201);
        let hits = receiver.wait_for(4).await;
        assert_ne!(hits[3].delivery, hits[0].delivery);
    }

    async fn an_operator_decision_sends_the_folder_again(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let receiver = Receiver::start(0).await;
        let app = app.restart(|c| c.webhook_allow_private = true).await;
        let token = app.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "resolution_endpoint": receiver.url(),
            "analyses": [{"type": "quality"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await;
        r.assert_status(201);
        let analyse_id = r.body["analyses"][0]["analyse_id"].as_str().unwrap().to_owned();
        let first = receiver.wait_for(1).await;
        let sent: Value = serde_json::from_slice(&first[0].body).unwrap();
        assert_eq!(sent["analyses"][0]["resolution_status"], "SUCCESS", "{sent}");
        // The operator overrules the engine: the integrator is told, with the new result.
        app.patch(&format!("/api/analyses/{analyse_id}"), &operator, json!({"resolution_status": "DECLINED", "resolution_comment": "a mask", "force": true}))
            .await
            .assert_status(200);
        let hits = receiver.wait_for(2).await;
        assert_ne!(hits[1].delivery, hits[0].delivery);
        let sent: Value = serde_json::from_slice(&hits[1].body).unwrap();
        assert_eq!(sent["analyses"][0]["resolution_status"], "DECLINED", "{sent}");
        assert_eq!(sent["analyses"][0]["resolution_comment"], "a mask");
        assert_eq!(sent["system_resolution"], "DECLINED");
        // A refused decision (not SUCCESS/DECLINED) queues nothing.
        app.patch(&format!("/api/analyses/{analyse_id}"), &operator, json!({"resolution_status": "PROCESSING"})).await.assert_error(400, 4);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.count(), 2);
        assert_eq!(app.domain.store.deliveries_of(r.id("folder_id")).await.unwrap().len(), 2);
    }

    async fn webhooks_to_private_addresses_are_refused_by_default(app) {
        let Some(p) = ready(&app, &["obama.jpg"]) else { return };
        let receiver = Receiver::start(0).await;
        let (_, token) = client(&app).await;
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "resolution_endpoint": receiver.url(), "analyses": [{"type": "quality"}]}).to_string();
        let folder_id = app.upload("/api/folders/", &token, vec![part("a", p[0].clone()), Part::Payload(payload)]).await.id("folder_id");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let d = app.domain.store.deliveries_of(folder_id).await.unwrap();
            if d.first().is_some_and(|d| d.status == "failed") {
                assert!(d[0].last_error.as_deref().unwrap().contains("non-public address"), "{d:?}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "delivery not refused: {d:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(receiver.count(), 0);
    }

    async fn a_media_several_analyses_use_goes_through_the_engine_once(app) {
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg"]) else { return };
        let (_, token) = client(&app).await;
        let runs = || app.domain.engine_runs.load(std::sync::atomic::Ordering::Relaxed);
        let request = |analyses: Value, path: &'static str| {
            let payload = json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_id", "photo_id_front"]}, "analyses": analyses}).to_string();
            app.upload(path, &token, vec![part("a", p[0].clone()), part("b", p[1].clone()), Part::Payload(payload)])
        };
        let sources = |a: &Value| -> Vec<String> { a["source_media"].as_array().unwrap().iter().map(|m| m["media_id"].as_str().unwrap().to_owned()).collect() };
        // Each alone: QUALITY runs the engine over its media, BIOMETRY over its own.
        let r0 = runs();
        let alone_q = request(json!([{"type": "quality"}]), "/api/folders/").await;
        alone_q.assert_status(201);
        let q_runs = runs() - r0;
        let r0 = runs();
        let alone_b = request(json!([{"type": "biometry"}]), "/api/folders/").await;
        alone_b.assert_status(201);
        let b_runs = runs() - r0;
        assert_eq!(q_runs as usize, sources(&alone_q.body["analyses"][0]).len());
        assert_eq!(b_runs as usize, sources(&alone_b.body["analyses"][0]).len());
        // Together in one request (two workers take them at once): each media once.
        let r0 = runs();
        let both = request(json!([{"type": "quality"}, {"type": "biometry"}]), "/api/folders/").await;
        both.assert_status(201);
        let together = runs() - r0;
        let of_type = |f: &Value, t: &str| f["analyses"].as_array().unwrap().iter().find(|a| a["type"] == t).unwrap().clone();
        let (q, b) = (&of_type(&both.body, "QUALITY"), &of_type(&both.body, "BIOMETRY"));
        let mut distinct: Vec<String> = sources(q).into_iter().chain(sources(b)).collect();
        let (named, _) = (distinct.len(), distinct.sort());
        distinct.dedup();
        assert!(distinct.len() < named, "the two analyses share a media: {distinct:?}");
        assert_eq!(together as usize, distinct.len(), "engine passes for QUALITY + BIOMETRY (alone: {q_runs} + {b_runs})");
        // The same results as alone; no best shot where none was asked for.
        let close = |x: &Value, y: &Value| (assert_score(x) - assert_score(y)).abs() < 1e-4;
        let conf = |a: &Value| a["results_media"][0]["results_data"]["confidence_spoofing"].clone();
        assert!(close(&conf(q), &conf(&alone_q.body["analyses"][0])), "{q} vs {}", alone_q.body["analyses"][0]);
        let min = |a: &Value| a["results_data"]["min_confidence"].clone();
        assert!(close(&min(b), &min(&alone_b.body["analyses"][0])), "{b} vs {}", alone_b.body["analyses"][0]);
        let shots = |a: &Value| a["results_media"][0]["output_images"].as_array().unwrap().len();
        assert_eq!(shots(q), shots(&alone_q.body["analyses"][0]), "{q}");
        // Instant mode shares too, and keeps nothing once it has answered.
        let r0 = runs();
        let instant = request(json!([{"type": "quality", "params": {"extract_best_shot": false}}, {"type": "biometry"}]), "/api/instant/folders/").await;
        instant.assert_status(200);
        assert_eq!((runs() - r0) as usize, distinct.len());
        let (iq, ib) = (of_type(&instant.body, "QUALITY"), of_type(&instant.body, "BIOMETRY"));
        assert!(close(&conf(&iq), &conf(q)));
        assert!(close(&min(&ib), &min(b)));
        assert_eq!(shots(&iq), 0, "no best shot was asked for: {iq}");
        let group = |a: &Value| a["group_id"].as_str().unwrap().parse::<Uuid>().unwrap();
        assert!(app.domain.face_cache.holds_group(group(q)), "the request's shared results are kept a while");
        assert!(!app.domain.face_cache.holds_group(group(&iq)), "Instant results kept after the request");
    }

    async fn instant_mode_writes_nothing(app) {
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg"]) else { return };
        let (_, token) = client(&app).await;
        let tables_before = table_counts(&app).await;
        let files_before = dir_listing(app.data_dir.path());
        let payload = json!({
            "folder:meta_data": {"k": "v"},
            "media:tags": {"a": ["photo_selfie"], "b": ["photo_id", "photo_id_front"]},
            "analyses": [{"type": "quality", "params": {"extract_best_shot": true}}, {"type": "biometry"}, {"type": "collection"}]
        }).to_string();
        let r = app.upload("/api/instant/folders/", &token, vec![part("a", p[0].clone()), part("b", p[1].clone()), Part::Payload(payload)]).await;
        r.assert_status(200);
        let f = &r.body;
        assert_eq!(f["meta_data"], json!({"k": "v"}));
        assert_eq!(f["media"][0]["original_url"], Value::Null);
        let q = &f["analyses"][0];
        assert_eq!(q["state"], "FINISHED", "{}", r.text);
        assert_score(&q["results_media"][0]["results_data"]["confidence_spoofing"]);
        assert!(q["results_media"][0]["output_images"][0]["original_url"].as_str().unwrap().starts_with("data:image/jpeg;base64,"));
        assert_eq!(f["analyses"][1]["resolution_status"], "SUCCESS");
        assert_eq!(f["analyses"][2]["state"], "FAILED", "no collections component here");
        assert_eq!(f["resolution_status"], "FAILED");
        // Nothing stored: every table's row count and the data directory are as before.
        assert_eq!(table_counts(&app).await, tables_before);
        assert_eq!(dir_listing(app.data_dir.path()), files_before);
        app.get(&format!("/api/folders/{}", f["folder_id"].as_str().unwrap()), &token).await.assert_error(404, 10);
        // Authentication: a token by default; none on request; or switched off.
        app.upload("/api/instant/folders/", "bad", vec![part("a", p[0].clone())]).await.assert_error(401, 7);
        let open = app.restart(|c| c.instant_auth = emerald::config::InstantAuth::None).await;
        let r = open.client.post(open.url("/api/instant/folders/")).multipart(reqwest::multipart::Form::new()
            .part("a", reqwest::multipart::Part::bytes(p[0].clone()).file_name("a.jpg"))
            .text("payload", json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}).to_string()))
            .send().await.unwrap();
        let r = into_res(r).await;
        r.assert_status(200);
        assert_eq!(r.body["analyses"][0]["state"], "FINISHED");
        assert_eq!(r.body["user_id"], json!(Uuid::nil().to_string()));
        let off = open.restart(|c| c.instant_auth = emerald::config::InstantAuth::Off).await;
        let token = off.token_of(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        off.upload("/api/instant/folders/", &token, vec![part("a", p[0].clone())]).await.assert_error(501, 2);
    }

    async fn collection_searches_the_collections_gallery_and_records_hits(app) {
        let Some(p) = ready(&app, &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
        // As production builds it: COLLECTION analyses search the collections gallery.
        let app = app.respawn_default().await;
        let company = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
        let (_, _, admin) = app.user(Some(company), "CLIENT ADMIN").await;
        let (_, _, token) = app.user(Some(company), "CLIENT").await;
        let cid = app.post("/api/collections/", &admin, json!({"alias": "blacklist"})).await.assert_status(201).id("collection_id");
        let enrol = json!({"media:tags": {"image1": ["photo_selfie"]}}).to_string();
        let r = app.upload(&format!("/api/collections/{cid}/persons/"), &admin, vec![Part::File("image1", "obama.jpg", p[0].clone()), Part::Payload(enrol)]).await;
        r.assert_status(201);
        let person = r.id("person_id");
        // A different photo of the same person: a hit.
        let payload = json!({"media:tags": {"a": ["photo_selfie"]},
            "analyses": [{"type": "collection", "collection_id": cid.to_string(), "params": {"decision_count": 3}}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[1].clone()), Part::Payload(payload)]).await;
        let a = &r.body["analyses"][0];
        assert_eq!(a["state"], "FINISHED", "{}", r.text);
        assert_eq!(a["resolution_status"], "DECLINED", "{}", r.text);
        assert_eq!(a["collection"], json!({"alias": "blacklist"}));
        assert_eq!(a["results_media"][0]["person_id"], json!(person.to_string()));
        assert!(a["results_data"]["max_confidence"].as_f64().unwrap() > 0.5, "{}", r.text);
        let analyse_id = a["analyse_id"].as_str().unwrap().to_owned();
        assert_eq!(count_rows(&app, "collection_matches").await, 1);
        // A matched person cannot be deleted (spec §12).
        let del = app.delete(&format!("/api/collections/{cid}/persons/{person}"), &admin).await;
        assert_ne!(del.status, 204, "{}", del.text);
        // Someone else: no hit, SUCCESS.
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "collection"}]}).to_string();
        let r = app.upload("/api/folders/", &token, vec![part("a", p[2].clone()), Part::Payload(payload)]).await;
        let a2 = &r.body["analyses"][0];
        assert_eq!(a2["resolution_status"], "SUCCESS", "{}", r.text);
        assert_eq!(a2["results_media"][0]["person_id"], Value::Null);
        assert_eq!(a2["collection"], json!({"alias": null}));
        assert_eq!(count_rows(&app, "collection_matches").await, 1);
        // Instant mode searches the same collections read-only: the hit, and nothing recorded.
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "collection"}]}).to_string();
        let r = app.upload("/api/instant/folders/", &token, vec![part("a", p[1].clone()), Part::Payload(payload)]).await;
        r.assert_status(200);
        let ai = &r.body["analyses"][0];
        assert_eq!(ai["resolution_status"], "DECLINED", "{}", r.text);
        assert_eq!(ai["results_media"][0]["person_id"], json!(person.to_string()), "{}", r.text);
        assert_eq!(count_rows(&app, "collection_matches").await, 1);
        // Renamed: new analyses name the collection by its new alias, the analysis made
        // before keeps the alias it matched under ([I], docs/collections.md).
        app.patch(&format!("/api/collections/{cid}/"), &admin, json!({"alias": "watchlist"})).await.assert_status(200);
        let old = app.get(&format!("/api/analyses/{analyse_id}"), &token).await;
        assert_eq!(old.body["collection"], json!({"alias": "blacklist"}), "{}", old.text);
        // An ADMIN's folder (no company) hitting a company's collection: the hit is recorded
        // under the collection's company.
        let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "collection", "collection_id": cid.to_string()}]}).to_string();
        let r = app.upload("/api/folders/", &app.admin_token, vec![part("a", p[1].clone()), Part::Payload(payload)]).await;
        let a3 = &r.body["analyses"][0];
        assert_eq!(a3["state"], "FINISHED", "{}", r.text);
        assert_eq!(a3["results_media"][0]["person_id"], json!(person.to_string()), "{}", r.text);
        assert_eq!(a3["collection"], json!({"alias": "watchlist"}), "{}", r.text);
        assert_eq!(count_rows(&app, "collection_matches").await, 2);
        app.delete(&format!("/api/analyses/{}", a3["analyse_id"].as_str().unwrap()), &app.admin_token).await.assert_status(204);
        // Deleting the analysis frees the person.
        app.delete(&format!("/api/analyses/{analyse_id}"), &app.admin_token).await.assert_status(204);
        assert_eq!(count_rows(&app, "collection_matches").await, 0);
        app.delete(&format!("/api/collections/{cid}/persons/{person}"), &admin).await.assert_status(204);
    }
}

/// A webhook receiver on a random local port: answers 500 to the first `failures` requests,
/// then 200; records every request.
pub(crate) struct Receiver {
    addr: std::net::SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub(crate) body: Vec<u8>,
    pub(crate) signature: String,
    pub(crate) delivery: String,
}

impl Receiver {
    pub(crate) async fn start(failures: usize) -> Receiver {
        use axum::http::{HeaderMap, StatusCode};
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = hits.clone();
        let handler = move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let mut all = seen.lock().unwrap();
                all.push(Hit {
                    body: body.to_vec(),
                    signature: h("x-oz-signature"),
                    delivery: h("x-emerald-delivery"),
                });
                if all.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver { addr, hits, _server: server }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub(crate) fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let hits = self.hits.lock().unwrap().clone();
            if hits.len() >= n {
                return hits;
            }
            assert!(tokio::time::Instant::now() < deadline, "the receiver got {} of {n} requests", hits.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn count_rows(app: &TestApp, table: &str) -> i64 {
    count_tables(app).await.get(table).copied().unwrap_or(-1)
}

/// Row count of every table of the app's database.
async fn count_tables(app: &TestApp) -> BTreeMap<String, i64> {
    use sqlx::Connection;
    let mut out = BTreeMap::new();
    match app.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}?mode=ro", app.data_dir.path().join("emerald.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&mut c)
                .await
                .unwrap();
            for n in names {
                let k: i64 =
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{n}\"")).fetch_one(&mut c).await.unwrap();
                out.insert(n, k);
            }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(app.config.database_url.as_deref().unwrap()).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            for n in names {
                let k: i64 =
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{n}\"")).fetch_one(&mut c).await.unwrap();
                out.insert(n, k);
            }
        }
    }
    out
}

async fn table_counts(app: &TestApp) -> BTreeMap<String, i64> {
    count_tables(app).await
}

/// Every file and directory under `dir` (names and sizes of non-database files).
fn dir_listing(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                if p.is_dir() {
                    out.push(format!("{rel}/"));
                    walk(base, &p, out);
                } else if rel.starts_with("emerald.db") {
                    // The database's own files are compared by row counts.
                    out.push(rel);
                } else {
                    out.push(format!("{rel} {}", e.metadata().map(|m| m.len()).unwrap_or(0)));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A real selfie video (internal data set, used only where present): QUALITY finishes with a
/// score and a best frame.
#[tokio::test]
async fn quality_on_a_real_selfie_video() {
    let path = std::path::Path::new("/work/shared/data/faces-dev/videos/live/les_live.mp4");
    let Ok(video) = std::fs::read(path) else {
        eprintln!("SKIPPED: {} is not present", path.display());
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    if ready(&app, &[]).is_none() {
        return;
    }
    let (_, token) = client(&app).await;
    let payload = json!({"media:tags": {"v": ["video_selfie", "video_selfie_blank", "orientation_portrait"]},
        "analyses": [{"type": "quality"}]})
    .to_string();
    let r = app.upload("/api/folders/", &token, vec![Part::File("v", "live.mp4", video), Part::Payload(payload)]).await;
    r.assert_status(201);
    let a = &r.body["analyses"][0];
    assert_eq!(a["state"], "FINISHED", "{}", r.text);
    assert_eq!(a["source_media"][0]["media_type"], "VIDEO_FOLDER");
    assert_score(&a["results_media"][0]["results_data"]["confidence_spoofing"]);
    let url = a["results_media"][0]["output_images"][0]["original_url"].as_str().expect("a best frame").to_owned();
    assert_eq!(app.get_bytes(&url, Some(&token)).await.0.as_u16(), 200);
}
