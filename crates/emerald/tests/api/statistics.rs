//! Issue #20's API additions for the console: statistics (§16 [I], GAP-6) computed by the
//! database, review claims (GAP-10), and the list conveniences of GAP-9 (`persons_count`,
//! person search and paging, `person_id` on the analyses list), over HTTP on both stores.
//! Tests that need real faces print "SKIPPED …" without the models or the test photos.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::fixtures::*;
use crate::helpers::*;

/// A folder with one JPEG (no analyses: INITIAL).
async fn plain_folder(app: &TestApp, token: &str, meta: Value) -> Uuid {
    let payload = json!({"folder:meta_data": meta, "media:tags": {"photo1": ["photo_selfie"]}}).to_string();
    app.upload("/api/folders/", token, vec![Part::File("photo1", "selfie.jpg", jpeg(64, 48)), Part::Payload(payload)])
        .await
        .assert_status(201)
        .id("folder_id")
}

/// A single-request BIOMETRY order of two photos (the answer waits for the result).
async fn biometry_order(app: &TestApp, token: &str, a: &[u8], b: &[u8], band: bool, iin: &str) -> Value {
    let mut analysis = json!({"type": "biometry"});
    if band {
        analysis["params"] = json!({"threshold_min": 0.0, "threshold_max": 0.999});
    }
    let payload =
        json!({"folder:meta_data": {"iin": iin}, "media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]},
        "analyses": [analysis]})
        .to_string();
    let parts =
        vec![Part::File("a", "a.jpg", a.to_vec()), Part::File("b", "b.jpg", b.to_vec()), Part::Payload(payload)];
    let r = app.upload("/api/folders/", token, parts).await;
    r.assert_status(201);
    r.body
}

/// Two folders of `user` with finished analyses (`bench-seed`'s), two hours apart around
/// midnight UTC at the end of March, a Monday: 2025-03-31 22:30 and 2025-04-01 00:30 UTC.
pub(crate) async fn seed_around_midnight(app: &TestApp, company: Uuid, user: Uuid) {
    let store = emerald::store::connect(app.config.database_url.as_deref(), &app.config.data_dir).await.unwrap();
    let t0 = emerald_query::parse_datetime("2025-03-31T22:30:00", 0.0).unwrap();
    let shape = emerald::store::seed::SeedShape { step: 7_200.0, analyses: true };
    let plan = emerald::store::seed::SeedPlan { company: Some(company), user, start: 0, n: 2, t0, shape };
    emerald::store::seed::seed_folders(&store, plan, |_| {}).await.unwrap();
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn days(date: &str) -> i64 {
    (emerald_query::parse_datetime(date, 0.0).unwrap() / 86_400.0).floor() as i64
}

fn rows(r: &Res) -> Vec<Value> {
    r.body.as_array().unwrap_or_else(|| panic!("an array: {}", r.text)).clone()
}

fn sum(rows: &[Value], key: &str) -> u64 {
    rows.iter().map(|r| r[key].as_u64().unwrap_or(0)).sum()
}

crate::both_backends! {
    async fn statistics_count_in_the_database_per_role_period_and_type(app) {
        let company = app.company("Stats A").await;
        let (_, _, token) = app.user(Some(company), "CLIENT").await;
        let (_, _, op) = app.user(Some(company), "CLIENT OPERATOR").await;
        let (_, _, cadmin) = app.user(Some(company), "CLIENT ADMIN").await;
        let other = app.company("Stats B").await;
        let (_, _, stranger) = app.user(Some(other), "CLIENT").await;
        for iin in ["1", "1", "2"] {
            plain_folder(&app, &token, json!({"iin": iin})).await;
        }
        plain_folder(&app, &stranger, json!({"iin": "9"})).await;
        // Real results when the models are here: one SUCCESS, one OPERATOR_REQUIRED decided.
        let faces = face_photos("statistics", &["obama.jpg", "obama2.jpg", "biden.jpg"]);
        if let Some(p) = &faces {
            let ok = biometry_order(&app, &token, &p[0], &p[1], false, "3").await;
            assert_eq!(ok["analyses"][0]["resolution_status"], "SUCCESS", "{ok}");
            let case = biometry_order(&app, &token, &p[0], &p[2], true, "3").await;
            assert_eq!(case["analyses"][0]["resolution_status"], "OPERATOR_REQUIRED", "{case}");
            let id = case["analyses"][0]["analyse_id"].as_str().unwrap();
            app.patch(&format!("/api/analyses/{id}"), &op, json!({"resolution_status": "DECLINED", "resolution_comment": "no"}))
                .await
                .assert_status(200);
        }
        let finished = if faces.is_some() { 2 } else { 0 };

        // Orders per day: one period (today), by summary status, unique persons by iin.
        let r = app.get("/api/statistics/orders", &token).await;
        let day = rows(r.assert_status(200));
        assert_eq!(day.len(), 1, "{}", r.text);
        let today = day[0]["period"].as_str().unwrap().to_owned();
        assert_eq!(today.len(), 10);
        assert_eq!(day[0]["total"], json!(3 + finished), "{}", r.text);
        assert_eq!(day[0]["INITIAL"], json!(3));
        assert_eq!(day[0]["SUCCESS"], json!(finished / 2));
        assert_eq!(day[0]["DECLINED"], json!(finished / 2), "the decision counts");
        assert_eq!(day[0]["OPERATOR_REQUIRED"], json!(0));
        assert_eq!(day[0]["unique_persons"], json!(if faces.is_some() { 3 } else { 2 }));
        // The same as the folder list says.
        let listed = app.get("/api/folders/?resolution_status=SUCCESS&limit=1", &token).await;
        assert_eq!(listed.body["total_count"], day[0]["SUCCESS"]);
        // Weeks start on Monday, months on the first; `group_by` (the spec's name) works too.
        let week = rows(&app.get("/api/statistics/orders?granularity=week", &token).await);
        let monday = week[0]["period"].as_str().unwrap();
        assert_eq!((days(monday) + 3).rem_euclid(7), 0, "{monday} is a Monday");
        assert!(days(&today) - days(monday) < 7);
        let month = rows(&app.get("/api/statistics/orders?group_by=MONTH", &token).await);
        assert_eq!(month[0]["period"], json!(format!("{}-01", &today[..7])));
        assert_eq!(month[0]["total"], day[0]["total"]);
        // Another person key.
        let by_key = rows(&app.get("/api/statistics/orders?person_key=nothing", &token).await);
        assert_eq!(by_key[0]["unique_persons"], json!(0));
        // Tenancy: the stranger sees its one order; ADMIN all, or one company's on request;
        // a CLIENT ADMIN its company's, also by user.
        assert_eq!(sum(&rows(&app.get("/api/statistics/orders", &stranger).await), "total"), 1);
        assert_eq!(sum(&rows(&app.get("/api/statistics/orders", &app.admin_token).await), "total"), 4 + finished);
        let only_a = app.get(&format!("/api/statistics/orders?company_id={company}"), &app.admin_token).await;
        assert_eq!(sum(&rows(&only_a), "total"), 3 + finished);
        assert_eq!(sum(&rows(&app.get("/api/statistics/orders", &cadmin).await), "total"), 3 + finished);
        let theirs = app.get(&format!("/api/statistics/orders?company_id={other}"), &cadmin).await;
        assert_eq!(rows(&theirs).len(), 0, "a company filter cannot widen the scope");
        // The folder filters apply (§6.3), and an empty window has no periods.
        let initial = rows(&app.get("/api/statistics/orders?resolution_status=INITIAL", &token).await);
        assert_eq!(sum(&initial, "total"), 3);
        let iin1 = rows(&app.get("/api/statistics/orders?meta_data=iin==1", &token).await);
        assert_eq!((sum(&iin1, "total"), sum(&iin1, "unique_persons")), (2, 1));
        assert_eq!(rows(&app.get("/api/statistics/orders?time_created.min=now", &token).await).len(), 0);

        // Analyses per type and result.
        let types = rows(&app.get("/api/statistics/orders?group_by=type", &token).await);
        if faces.is_some() {
            assert_eq!(types.len(), 1, "{types:?}");
            assert_eq!(types[0]["type"], "BIOMETRY");
            assert_eq!((types[0]["total"].clone(), types[0]["SUCCESS"].clone(), types[0]["DECLINED"].clone()), (json!(2), json!(1), json!(1)));
            assert!(types[0].get("INITIAL").is_none() && types[0].get("unique_persons").is_none());
        } else {
            assert!(types.is_empty());
        }

        // Performance: latency percentiles, time to decision, the queue, score histograms.
        let r = app.get("/api/statistics/performance", &token).await;
        let p = &r.assert_status(200).body;
        assert_eq!(p["latency"]["count"], json!(finished), "{}", r.text);
        assert_eq!(p["decision"]["count"], json!(finished / 2));
        // The same with a window start (the queries then look each folder's analyses up).
        let since = emerald::domain::time::now() - 3600.0;
        let w = app.get(&format!("/api/statistics/performance?time_created.min={since}"), &token).await;
        assert_eq!((w.body["latency"].clone(), w.body["decision"].clone()), (p["latency"].clone(), p["decision"].clone()), "{}", w.text);
        assert_eq!(w.body["histograms"], p["histograms"]);
        assert_eq!(p["queue"], json!({"unfinished": 0, "oldest_age": null}));
        assert_eq!(p["targets"]["latency_p90"], json!(20.0));
        assert_eq!(p["targets"]["queue_met"], json!(true));
        let hist: Vec<Value> = p["histograms"].as_array().unwrap().clone();
        assert_eq!(hist.iter().map(|h| h["type"].as_str().unwrap()).collect::<Vec<_>>(), ["QUALITY", "BIOMETRY", "COLLECTION"]);
        assert_eq!(hist[1]["counts"].as_array().unwrap().len(), 20);
        assert_eq!(hist[1]["threshold"], json!(0.85));
        let biometry_scored: u64 = hist[1]["counts"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(biometry_scored, finished);
        if faces.is_some() {
            let (p50, p90, max) = (p["latency"]["p50"].as_f64().unwrap(), p["latency"]["p90"].as_f64().unwrap(), p["latency"]["max"].as_f64().unwrap());
            assert!(0.0 <= p50 && p50 <= p90 && p90 <= max, "{}", r.text);
            assert_eq!(p["by_type"][0]["type"], "BIOMETRY");
            assert_eq!(p["by_type"][0]["count"], json!(2));
            assert!(p["decision"]["p50"].as_f64().unwrap() >= 0.0);
            // The two scores land in different bins, the match at or above the threshold.
            let bins = hist[1]["counts"].as_array().unwrap();
            assert_eq!(bins.iter().filter(|n| n.as_u64() == Some(1)).count(), 2, "{bins:?}");
            assert!(bins[17..].iter().any(|n| n.as_u64() == Some(1)), "{bins:?}");
        } else {
            assert_eq!(p["latency"]["p50"], Value::Null);
        }
        // The stranger's performance does not include ours.
        let theirs = app.get("/api/statistics/performance", &stranger).await;
        assert_eq!(theirs.body["latency"]["count"], json!(0));

        // Bad input is an Oz error, never a 500; no token is 401.
        app.get("/api/statistics/orders?granularity=year", &token).await.assert_error(400, 4);
        app.get("/api/statistics/orders?group_by=colour", &token).await.assert_error(400, 4);
        app.get("/api/statistics/orders?time_created.min=soon", &token).await.assert_error(400, 4);
        app.get("/api/statistics/performance?company_id=nope", &token).await.assert_status(400);
        let anon = app.send(reqwest::Method::GET, "/api/statistics/orders", None, None, None).await;
        anon.assert_error(401, 6);
    }

    async fn statistics_periods_follow_a_fixed_utc_offset(app) {
        // Two folders two hours apart around midnight UTC at the end of March (a Monday):
        // 2025-03-31 22:30 and 2025-04-01 00:30 UTC. In UTC they are two days and two months;
        // at +03:00 both are on 1 April, at -05:30 both on 31 March.
        let company = app.company("Stats offset").await;
        let (user, _, token) = app.user(Some(company), "CLIENT").await;
        seed_around_midnight(&app, company, user).await;
        let periods = |q: &'static str| {
            let app = &app;
            let token = &token;
            async move {
                let r = rows(&app.get(&format!("/api/statistics/orders?{q}"), token).await);
                r.iter().map(|p| (p["period"].as_str().unwrap().to_owned(), p["total"].as_u64().unwrap())).collect::<Vec<_>>()
            }
        };
        let p = |list: &[(&str, u64)]| list.iter().map(|(d, n)| ((*d).to_owned(), *n)).collect::<Vec<_>>();
        assert_eq!(periods("").await, p(&[("2025-03-31", 1), ("2025-04-01", 1)]));
        assert_eq!(periods("utc_offset=Z").await, p(&[("2025-03-31", 1), ("2025-04-01", 1)]));
        assert_eq!(periods("utc_offset=%2B03:00").await, p(&[("2025-04-01", 2)]));
        // An unencoded + arrives as a space: read as +.
        assert_eq!(periods("utc_offset=+03:00").await, p(&[("2025-04-01", 2)]));
        assert_eq!(periods("utc_offset=-05:30").await, p(&[("2025-03-31", 2)]));
        assert_eq!(periods("utc_offset=%2B00:29").await, p(&[("2025-03-31", 1), ("2025-04-01", 1)]), "22:59 and 00:59");
        assert_eq!(periods("utc_offset=%2B01:30").await, p(&[("2025-04-01", 2)]), "00:00 and 02:00");
        assert_eq!(periods("granularity=month").await, p(&[("2025-03-01", 1), ("2025-04-01", 1)]));
        assert_eq!(periods("granularity=month&utc_offset=%2B03:00").await, p(&[("2025-04-01", 2)]));
        assert_eq!(periods("granularity=month&utc_offset=-05:30").await, p(&[("2025-03-01", 2)]));
        assert_eq!(periods("granularity=week&utc_offset=%2B14:00").await, p(&[("2025-03-31", 2)]));
        // At -14:00 both are on Monday 31 March (08:30 and 10:30).
        assert_eq!(periods("granularity=week&utc_offset=-14:00").await, p(&[("2025-03-31", 2)]));
        assert_eq!(periods("utc_offset=-14:00").await, p(&[("2025-03-31", 2)]));
        // Unique persons per period follow the same days (a person each, by `pid`).
        let folders = app.get("/api/folders/", &token).await.body["items"].as_array().unwrap().clone();
        for (i, f) in folders.iter().enumerate() {
            let id = f["folder_id"].as_str().unwrap();
            app.post(&format!("/api/folders/{id}/meta_data"), &token, json!({"pid": format!("p-{i}")})).await.assert_status(200);
        }
        let r = rows(&app.get("/api/statistics/orders?utc_offset=%2B03:00&person_key=pid", &token).await);
        assert_eq!((r.len(), r[0]["unique_persons"].clone()), (1, json!(2)), "{r:?}");
        let r = rows(&app.get("/api/statistics/orders?person_key=pid", &token).await);
        assert_eq!(sum(&r, "unique_persons"), 2, "{r:?}");
        // The analyses per type too.
        let types = rows(&app.get("/api/statistics/orders?group_by=type&utc_offset=%2B03:00", &token).await);
        assert!(!types.is_empty() && types.iter().all(|t| t["period"] == "2025-04-01"), "{types:?}");
        let types = rows(&app.get("/api/statistics/orders?group_by=type", &token).await);
        assert!(types.iter().any(|t| t["period"] == "2025-03-31") && types.iter().any(|t| t["period"] == "2025-04-01"));
        // Malformed or beyond ±14:00: refused with the Oz envelope.
        for bad in ["%2B14:30", "-15:00", "3", "%2B3:00", "%2B03:60", "UTC%2B3", "%2B03:00:00", "nope"] {
            let r = app.get(&format!("/api/statistics/orders?utc_offset={bad}"), &token).await;
            r.assert_error(400, 4);
            assert!(r.text.contains("utc_offset"), "{bad}: {}", r.text);
        }
    }

    async fn statistics_count_only_the_folders_of_their_time_window(app) {
        // Six synthetic folders with finished analyses (bench-seed's mix), one a day from 400
        // days ago, and two orders made now: the statistics of a window count only its own
        // folders — their analyses, scores and persons — however they reach them.
        let company = app.company("Stats window").await;
        let (user, _, token) = app.user(Some(company), "CLIENT").await;
        let store = emerald::store::connect(app.config.database_url.as_deref(), &app.config.data_dir).await.unwrap();
        let now = emerald::domain::time::now();
        let old = 6u64;
        let shape = emerald::store::seed::SeedShape { step: 86_400.0, analyses: true };
        let plan = emerald::store::seed::SeedPlan { company: Some(company), user, start: 0, n: old, t0: now - 400.0 * 86_400.0, shape };
        emerald::store::seed::seed_folders(&store, plan, |_| {}).await.unwrap();
        // The old folders' iin are 000000000000 (three) and 000000000001 (three); one order of
        // now shares the first.
        plain_folder(&app, &token, json!({"iin": "000000000000"})).await;
        plain_folder(&app, &token, json!({"iin": "now"})).await;
        let outcomes: Vec<_> = (0..old).map(emerald::store::seed::folder_outcome).collect();
        let analyses: usize = outcomes.iter().map(|(_, t)| t.len()).sum();
        // Scored: finished (the first, QUALITY, carries a FAILED result) and of a scored type.
        let scored: usize = outcomes
            .iter()
            .map(|(r, t)| t.iter().enumerate().filter(|(k, ty)| **ty != "DOCUMENTS" && !(*k == 0 && *r == "FAILED")).count())
            .sum();
        let recent = format!("time_created.min={}", now - 30.0 * 86_400.0);
        let past = format!("time_created.min={}&time_created.max={}", now - 500.0 * 86_400.0, now - 100.0 * 86_400.0);

        // Orders and unique persons.
        let window = rows(&app.get(&format!("/api/statistics/orders?{recent}"), &token).await);
        assert_eq!(window.len(), 1, "{window:?}");
        assert_eq!((window[0]["total"].clone(), window[0]["INITIAL"].clone()), (json!(2), json!(2)));
        assert_eq!(window[0]["unique_persons"], json!(2));
        let before = rows(&app.get(&format!("/api/statistics/orders?{past}"), &token).await);
        assert_eq!((before.len(), sum(&before, "total"), sum(&before, "INITIAL")), (old as usize, old, 0), "{before:?}");
        assert_eq!(sum(&before, "unique_persons"), old, "one folder, one person a day");
        let months = rows(&app.get(&format!("/api/statistics/orders?{past}&granularity=month"), &token).await);
        assert_eq!(sum(&months, "total"), old);
        assert_eq!(sum(&rows(&app.get("/api/statistics/orders", &token).await), "total"), old + 2);
        let persons = |q: String| {
            let app = &app;
            let token = &token;
            async move {
                let r = app.get(&format!("/api/statistics/unique_persons?{q}"), token).await;
                (r.body["folders"].clone(), r.body["unique_persons"].clone())
            }
        };
        assert_eq!(persons(recent.clone()).await, (json!(2), json!(2)));
        assert_eq!(persons(past.clone()).await, (json!(old), json!(2)));
        assert_eq!(persons(String::new()).await, (json!(old + 2), json!(3)));

        // Analyses per type: none among the orders of now.
        assert!(rows(&app.get(&format!("/api/statistics/orders?group_by=type&{recent}"), &token).await).is_empty());
        let types = rows(&app.get(&format!("/api/statistics/orders?group_by=type&{past}"), &token).await);
        assert_eq!(sum(&types, "total"), analyses as u64, "{types:?}");
        let everything = rows(&app.get("/api/statistics/orders?group_by=type", &token).await);
        assert_eq!(sum(&everything, "total"), analyses as u64);

        // Performance: latency, decisions and score histograms of the window's analyses only.
        let perf = |q: String| {
            let app = &app;
            let token = &token;
            async move { app.get(&format!("/api/statistics/performance?{q}"), token).await.body }
        };
        let scores = |p: &Value| -> u64 {
            p["histograms"].as_array().unwrap().iter().flat_map(|h| h["counts"].as_array().unwrap().clone()).map(|n| n.as_u64().unwrap()).sum()
        };
        let p = perf(recent.clone()).await;
        assert_eq!((p["latency"]["count"].clone(), p["decision"]["count"].clone(), scores(&p)), (json!(0), json!(0), 0), "{p}");
        let p = perf(past.clone()).await;
        assert_eq!(p["latency"]["count"], json!(analyses), "{p}");
        assert_eq!(p["latency"]["p50"], json!(2.0), "the seed finishes every analysis in 2 s");
        assert_eq!(scores(&p), scored as u64, "{p}");
        assert_eq!(perf(String::new()).await["latency"]["count"], json!(analyses));
    }

    async fn review_claims_hold_a_case_for_one_operator(app) {
        let company = app.company("Claims").await;
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let (op1_id, _, op1) = app.user(Some(company), "CLIENT OPERATOR").await;
        let (op2_id, _, op2) = app.user(Some(company), "CLIENT OPERATOR").await;
        let (_, _, global_op) = app.user(None, "OPERATOR").await;
        let (_, _, outsider) = app.user(Some(app.company("Elsewhere").await), "CLIENT OPERATOR").await;
        let folder = plain_folder(&app, &client, json!({})).await;
        let path = format!("/api/folders/{folder}/claim");

        let r = app.post(&path, &op1, json!({})).await;
        r.assert_status(200);
        assert_eq!((r.body["folder_id"].clone(), r.body["user_id"].clone()), (json!(folder), json!(op1_id)));
        let (since, until) = (r.body["time_created"].as_f64().unwrap(), r.body["expires_at"].as_f64().unwrap());
        assert!((until - since - 900.0).abs() < 1e-3, "15 minutes by default: {}", r.text);
        // Held: another operator is refused with 409 in the Oz envelope, naming the holder.
        let r = app.post(&path, &op2, json!({})).await;
        r.assert_error(409, 4);
        assert_eq!(r.body["error_details"]["user_id"], json!(op1_id));
        app.post(&path, &global_op, json!({})).await.assert_error(409, 4);
        app.delete(&path, &op2).await.assert_error(409, 4);
        // Claiming again extends the holder's claim (same start).
        let again = app.post(&path, &op1, json!({})).await;
        assert_eq!(again.assert_status(200).body["time_created"].as_f64().unwrap(), since);
        assert!(again.body["expires_at"].as_f64().unwrap() >= until);
        // Who may not decide may not claim; who does not see the folder gets 404.
        app.post(&path, &client, json!({})).await.assert_error(403, 9);
        app.post(&path, &app.admin_token, json!({})).await.assert_error(403, 9);
        app.post(&path, &outsider, json!({})).await.assert_error(404, 10);
        app.post(&format!("/api/folders/{}/claim", Uuid::new_v4()), &op1, json!({})).await.assert_error(404, 10);
        app.post("/api/folders/not-a-uuid/claim", &op1, json!({})).await.assert_status(400);
        // Released: the other operator may take it; releasing nothing is fine.
        app.delete(&path, &op1).await.assert_status(204);
        app.delete(&path, &op1).await.assert_status(204);
        let r = app.post(&path, &op2, json!({})).await;
        assert_eq!(r.assert_status(200).body["user_id"], json!(op2_id));
        // Deleting the folder drops its claim with it.
        app.delete(&format!("/api/folders/{folder}"), &app.admin_token).await.assert_status(204);
        app.post(&path, &op2, json!({})).await.assert_error(404, 10);
    }
}

async fn claims_expire(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.review_claim_timeout = 1.0).await;
    let company = app.company("Expiry").await;
    let (_, _, client) = app.user(Some(company), "CLIENT").await;
    let (_, _, op1) = app.user(Some(company), "CLIENT OPERATOR").await;
    let (op2_id, _, op2) = app.user(Some(company), "CLIENT OPERATOR").await;
    let folder = plain_folder(&app, &client, json!({})).await;
    let path = format!("/api/folders/{folder}/claim");
    app.post(&path, &op1, json!({})).await.assert_status(200);
    app.post(&path, &op2, json!({})).await.assert_error(409, 4);
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let r = app.post(&path, &op2, json!({})).await;
    assert_eq!(r.assert_status(200).body["user_id"], json!(op2_id), "an expired claim is taken over");
}

#[tokio::test]
async fn sqlite_claims_expire() {
    claims_expire(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_claims_expire() {
    if postgres_available() {
        claims_expire(Backend::Postgres).await;
    }
}

async fn list_conveniences(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Some(p) = face_photos("list_conveniences", &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
    // As production builds it: COLLECTION analyses search the collections gallery.
    let app = app.respawn_default().await;
    let company = app.company("Lists").await;
    let (_, _, admin) = app.user(Some(company), "CLIENT ADMIN").await;
    let (_, _, token) = app.user(Some(company), "CLIENT").await;
    let cid = app
        .post("/api/collections/", &admin, json!({"alias": "blacklist"}))
        .await
        .assert_status(201)
        .id("collection_id");
    let empty =
        app.post("/api/collections/", &admin, json!({"alias": "empty"})).await.assert_status(201).id("collection_id");
    let mut persons = Vec::new();
    for (i, (photo, last)) in [(&p[0], "Obama"), (&p[2], "Biden")].into_iter().enumerate() {
        let enrol = json!({"media:tags": {"image1": ["photo_selfie"]},
            "person:meta_data": {"person_info": {"first_name": "Person", "last_name": last}, "n": i}})
        .to_string();
        let r = app
            .upload(
                &format!("/api/collections/{cid}/persons/"),
                &admin,
                vec![Part::File("image1", "p.jpg", photo.clone()), Part::Payload(enrol)],
            )
            .await;
        persons.push(r.assert_status(201).id("person_id"));
    }
    // persons_count in the list and on one collection.
    let list = app.get("/api/collections/", &admin).await;
    let counts: Vec<(String, Value)> =
        rows(&list).iter().map(|c| (c["alias"].as_str().unwrap().to_owned(), c["persons_count"].clone())).collect();
    assert!(
        counts.contains(&("blacklist".into(), json!(2))) && counts.contains(&("empty".into(), json!(0))),
        "{counts:?}"
    );
    assert_eq!(app.get(&format!("/api/collections/{cid}"), &admin).await.body["persons_count"], json!(2));
    assert_eq!(app.get(&format!("/api/collections/{empty}"), &admin).await.body["persons_count"], json!(0));
    // Persons: search by name (any case), paging, the meta_data filter.
    let url = format!("/api/collections/{cid}/persons/");
    let found = rows(&app.get(&format!("{url}?search_text=bid"), &admin).await);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["person_id"], json!(persons[1]));
    assert_eq!(rows(&app.get(&format!("{url}?search_text=PERSON"), &admin).await).len(), 2);
    assert_eq!(rows(&app.get(&format!("{url}?search_text=%25"), &admin).await).len(), 0, "LIKE wildcards are literal");
    let first = rows(&app.get(&format!("{url}?limit=1&sorting=time_created{{asc}}"), &admin).await);
    let second = rows(&app.get(&format!("{url}?limit=1&offset=1&sorting=time_created{{asc}}"), &admin).await);
    assert_eq!((first[0]["person_id"].clone(), second[0]["person_id"].clone()), (json!(persons[0]), json!(persons[1])));
    assert_eq!(rows(&app.get(&format!("{url}?meta_data=n==1"), &admin).await)[0]["person_id"], json!(persons[1]));
    // A COLLECTION analysis that matches Obama; `person_id` finds it on the analyses list.
    let payload = json!({"media:tags": {"a": ["photo_selfie"]}, "analyses": [{"type": "collection", "collection_id": cid.to_string()}]}).to_string();
    let r =
        app.upload("/api/folders/", &token, vec![Part::File("a", "a.jpg", p[1].clone()), Part::Payload(payload)]).await;
    let hit = r.assert_status(201).body["analyses"][0].clone();
    assert_eq!(hit["results_media"][0]["person_id"], json!(persons[0]), "{}", r.text);
    let by_person = app.get(&format!("/api/analyses/?person_id={}", persons[0]), &token).await;
    assert_eq!(by_person.assert_status(200).body["total_count"], json!(1), "{}", by_person.text);
    assert_eq!(by_person.body["items"][0]["analyse_id"], hit["analyse_id"]);
    assert_eq!(
        app.get(&format!("/api/analyses/?person_id={}", persons[1]), &token).await.body["total_count"],
        json!(0)
    );
    let folder = hit["folder_id"].as_str().unwrap();
    let in_folder = app.get(&format!("/api/folders/{folder}/analyses/?person_id={}", persons[0]), &token).await;
    assert_eq!(rows(&in_folder).len(), 1, "{}", in_folder.text);
    app.get("/api/analyses/?person_id=nope", &token).await.assert_error(400, 4);
    // Another company's CLIENT sees no hits of ours.
    let (_, _, stranger) = app.user(Some(app.company("Other").await), "CLIENT").await;
    assert_eq!(
        app.get(&format!("/api/analyses/?person_id={}", persons[0]), &stranger).await.body["total_count"],
        json!(0)
    );
}

#[tokio::test]
async fn sqlite_list_conveniences() {
    list_conveniences(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_list_conveniences() {
    if postgres_available() {
        list_conveniences(Backend::Postgres).await;
    }
}
