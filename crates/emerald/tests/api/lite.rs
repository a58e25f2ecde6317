//! Oz API Lite (spec §14) over HTTP: `--role lite` on a random port with the real models and
//! real photos (`scripts/fetch-models.sh`, `scripts/fetch-test-images.sh`; liveness photos from
//! faces-dev), and the same routes beside the full API with `EMERALD_LITE=on`.

use base64::Engine as _;
use emerald::config::{LiteMode, Role};
use emerald::{Config, LiteApp};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::helpers::{face_photos, fixtures, into_res, Backend, Res, TestApp};

/// A `--role lite` server on 127.0.0.1:0. Its data dir does not exist and its database URL
/// names no server: Lite touches neither.
struct LiteServer {
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    data_dir: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for LiteServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn lite_server(tweak: impl FnOnce(&mut Config)) -> LiteServer {
    let data_dir = std::env::temp_dir().join(format!("emerald-lite-absent-{}", uuid::Uuid::new_v4().simple()));
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        role: Role::Lite,
        data_dir: data_dir.clone(),
        database_url: Some("postgres://nobody@127.0.0.1:1/none".into()),
        ..Config::default()
    };
    tweak(&mut config);
    let app = LiteApp::build(config).await.expect("LiteApp::build");
    let addr = app.addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    LiteServer { addr, client: reqwest::Client::new(), data_dir, shutdown: Some(tx) }
}

impl LiteServer {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn get(&self, path: &str) -> Res {
        into_res(self.client.get(self.url(path)).send().await.expect("request")).await
    }

    /// A raw body POST with these headers.
    async fn raw(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> (Res, Vec<u8>) {
        let mut req = self.client.post(self.url(path)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_default().to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (Res { status, headers, text, body }, bytes)
    }

    /// The template of a JPEG photo (raw bytes).
    async fn extract(&self, jpeg: &[u8]) -> Vec<u8> {
        let (r, bytes) = self.raw("/v1/face/pattern/extract", jpeg.to_vec(), &[("content-type", "image/jpeg")]).await;
        r.assert_status(200);
        assert_eq!(r.headers["content-type"], "application/octet-stream");
        bytes
    }

    /// A multipart POST of these (name, file name, bytes) parts, in order.
    async fn parts(&self, path: &str, parts: &[(&str, &str, &[u8])], headers: &[(&str, &str)]) -> Res {
        let mut form = Form::new();
        for (name, file, bytes) in parts {
            form = form.part(name.to_string(), Part::bytes(bytes.to_vec()).file_name(file.to_string()));
        }
        let mut req = self.client.post(self.url(path)).multipart(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        into_res(req.send().await.expect("request")).await
    }
}

#[track_caller]
fn score(r: &Res) -> f64 {
    let s = r.body["score"].as_f64().unwrap_or_else(|| panic!("score in {}", r.text));
    assert!((0.0..=1.0).contains(&s), "score in 0..1: {}", r.text);
    s
}

/// Two photos side by side at the same height (one photo twice: two faces of the same size,
/// equally off-centre).
fn side_by_side(a: &[u8], b: &[u8]) -> Vec<u8> {
    let a = image::load_from_memory(a).unwrap().to_rgb8();
    let b = image::load_from_memory(b).unwrap().to_rgb8();
    let b = image::imageops::resize(&b, b.width() * a.height() / b.height(), a.height(), image::imageops::Triangle);
    let mut out = image::RgbImage::new(a.width() + b.width(), a.height());
    image::imageops::replace(&mut out, &a, 0, 0);
    image::imageops::replace(&mut out, &b, a.width() as i64, 0);
    let mut bytes = std::io::Cursor::new(Vec::new());
    out.write_to(&mut bytes, image::ImageFormat::Jpeg).unwrap();
    bytes.into_inner()
}

/// A well-formed template of another model (same length as `like`, a unit vector).
fn foreign_template(like: &[u8], model: &str) -> Vec<u8> {
    let id_len = like[5] as usize;
    let dim = u16::from_le_bytes([like[6 + id_len], like[7 + id_len]]) as usize;
    let mut out = b"EMTP\x01".to_vec();
    out.push(model.len() as u8);
    out.extend_from_slice(model.as_bytes());
    out.extend_from_slice(&(dim as u16).to_le_bytes());
    let x = 1.0 / (dim as f32).sqrt();
    for _ in 0..dim {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

const THRESHOLD: f64 = 0.85;

#[tokio::test]
async fn lite_serves_without_database_or_data_dir() {
    let lite = lite_server(|_| {}).await;
    let v = lite.get("/version").await;
    v.assert_status(200);
    assert_eq!(v.body["core"], env!("CARGO_PKG_VERSION"));
    assert!(v.body["tfss"].is_string(), "{}", v.text);
    let h = lite.get("/v1/face/pattern/health").await;
    let l = lite.get("/v1/face/liveness/health").await;
    if emerald::engine::load(None, emerald::config::Embedder::Fused).is_ok() {
        h.assert_status(200);
        assert_eq!(h.body, json!({"status": 0, "message": "OK"}));
        assert_eq!(l.body, json!({"status": 0, "message": "OK"}));
        let names: Vec<&str> =
            v.body["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["face_detector", "face_pattern", "liveness"]);
    }
    // The full API is not there, nor is anything written.
    lite.get("/api/version").await.assert_error(404, 10);
    lite.get("/v1/face/pattern/extract").await.assert_error(405, 1);
    assert!(!lite.data_dir.exists(), "Lite created {}", lite.data_dir.display());
    let doc = lite.get("/openapi.json").await;
    for path in [
        "/version",
        "/v1/face/pattern/health",
        "/v1/face/pattern/extract",
        "/v1/face/pattern/compare",
        "/v1/face/pattern/verify",
        "/v1/face/pattern/extract_and_compare",
        "/v1/face/pattern/compare_n",
        "/v1/face/pattern/verify_n",
        "/v1/face/pattern/extract_and_compare_n",
        "/v1/face/liveness/health",
        "/v1/face/liveness/detect",
    ] {
        assert!(doc.body["paths"][path].is_object(), "{path} in /openapi.json");
    }
    assert!(doc.body["paths"]["/api/folders"].is_null());
}

#[tokio::test]
async fn lite_without_models_says_inoperative() {
    let empty = tempfile::tempdir().unwrap();
    let lite = lite_server(|c| c.models_dir = Some(empty.path().to_path_buf())).await;
    let h = lite.get("/v1/face/pattern/health").await;
    h.assert_status(503);
    assert_eq!(h.body["status"], 3, "{}", h.text);
    let (r, _) = lite.raw("/v1/face/pattern/extract", fixtures::jpeg(64, 64), &[]).await;
    r.assert_error(501, 2);
}

#[tokio::test]
async fn extract_compare_and_verify_decide_at_the_biometry_threshold() {
    let Some(p) = face_photos("lite_extract_compare", &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
    let lite = lite_server(|_| {}).await;
    let obama = lite.extract(&p[0]).await;
    let obama2 = lite.extract(&p[1]).await;
    let biden = lite.extract(&p[2]).await;
    assert_eq!(&obama[..5], b"EMTP\x01");
    assert_eq!(obama.len(), obama2.len());

    let same = lite
        .parts("/v1/face/pattern/compare", &[("bio_feature", "a", &obama), ("bio_template", "b", &obama2)], &[])
        .await;
    same.assert_status(200);
    assert!(score(&same) >= THRESHOLD, "{}", same.text);
    assert_eq!(same.body["decision"], "approved");
    let other = lite
        .parts("/v1/face/pattern/compare", &[("bio_feature", "a", &obama), ("bio_template", "b", &biden)], &[])
        .await;
    assert!(score(&other) < THRESHOLD, "{}", other.text);
    assert_eq!(other.body["decision"], "declined");

    // verify = extract + compare, the same confidence; the template part may come first.
    let v =
        lite.parts("/v1/face/pattern/verify", &[("sample", "a.jpg", &p[1]), ("bio_template", "t", &obama)], &[]).await;
    v.assert_status(200);
    assert!((score(&v) - score(&same)).abs() < 1e-3, "{} vs {}", v.text, same.text);
    assert_eq!(v.body["decision"], "approved");
    let v2 =
        lite.parts("/v1/face/pattern/verify", &[("bio_template", "t", &biden), ("sample", "a.jpg", &p[0])], &[]).await;
    assert_eq!(v2.body["decision"], "declined", "{}", v2.text);

    let e = lite
        .parts(
            "/v1/face/pattern/extract_and_compare",
            &[("sample_1", "a.jpg", &p[0]), ("sample_2", "b.jpg", &p[1])],
            &[],
        )
        .await;
    e.assert_status(200);
    assert!((score(&e) - score(&same)).abs() < 1e-3, "{} vs {}", e.text, same.text);
    let e2 = lite
        .parts(
            "/v1/face/pattern/extract_and_compare",
            &[("sample_1", "a.jpg", &p[0]), ("sample_2", "b.jpg", &p[2])],
            &[],
        )
        .await;
    assert_eq!(e2.body["decision"], "declined", "{}", e2.text);
}

#[tokio::test]
async fn one_to_n_ranks_the_same_person_first() {
    let Some(p) = face_photos("lite_one_to_n", &["obama.jpg", "obama2.jpg", "biden.jpg", "obama3.jpg"]) else { return };
    let lite = lite_server(|_| {}).await;
    let obama = lite.extract(&p[0]).await;
    let obama2 = lite.extract(&p[1]).await;
    let biden = lite.extract(&p[2]).await;

    let r = lite
        .parts(
            "/v1/face/pattern/compare_n",
            &[("probe", "p", &obama), ("c0", "biden.tpl", &biden), ("c1", "obama2.tpl", &obama2)],
            &[],
        )
        .await;
    r.assert_status(200);
    let list = r.body.as_array().unwrap_or_else(|| panic!("a list: {}", r.text));
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["index"], 1, "{}", r.text);
    assert_eq!(list[0]["filename"], "obama2.tpl");
    assert_eq!(list[0]["decision"], "approved");
    assert_eq!(list[1]["index"], 0);
    assert_eq!(list[1]["decision"], "declined");
    assert!(list[0]["score"].as_f64() > list[1]["score"].as_f64());

    let r = lite
        .parts(
            "/v1/face/pattern/verify_n",
            &[("sample", "p.jpg", &p[3]), ("c0", "b", &biden), ("c1", "o", &obama)],
            &[],
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body[0]["index"], 1, "{}", r.text);
    assert_eq!(r.body[0]["decision"], "approved", "{}", r.text);

    let r = lite
        .parts(
            "/v1/face/pattern/extract_and_compare_n",
            &[
                ("sample", "p.jpg", &p[3]),
                ("c0", "biden.jpg", &p[2]),
                ("c1", "obama.jpg", &p[0]),
                ("c2", "obama2.jpg", &p[1]),
            ],
            &[],
        )
        .await;
    r.assert_status(200);
    let first: Vec<i64> = r.body.as_array().unwrap().iter().map(|x| x["index"].as_i64().unwrap()).collect();
    assert_eq!(first.len(), 3);
    assert_eq!(*first.last().unwrap(), 0, "biden last: {}", r.text);

    // A probe alone is a structure error.
    lite.parts("/v1/face/pattern/compare_n", &[("probe", "p", &obama)], &[]).await.assert_error(400, 3);
}

/// Spoof photos of faces-dev (internal data; the test is skipped without it).
fn spoof_photo(rel: &str) -> Option<Vec<u8>> {
    let root = std::env::var_os("EMERALD_FACES_DEV")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/work/shared/data/faces-dev"));
    let path = root.join("spoof").join(rel);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            println!("SKIPPED: {} is not present ({e})", path.display());
            None
        }
    }
}

#[tokio::test]
async fn liveness_passes_a_live_photo_and_fails_a_print() {
    let Some(_) = face_photos("lite_liveness", &[]) else { return };
    let (Some(live), Some(print)) = (spoof_photo(LIVE_PHOTO), spoof_photo(PRINT_PHOTO)) else { return };
    let lite = lite_server(|_| {}).await;
    let (r, _) = lite.raw("/v1/face/liveness/detect", live, &[("content-type", "image/jpeg")]).await;
    r.assert_status(200);
    let live_score = score(&r);
    assert_eq!(r.body["passed"], true, "{}", r.text);
    let (r, _) = lite.raw("/v1/face/liveness/detect", print, &[("content-type", "image/jpeg")]).await;
    r.assert_status(200);
    assert_eq!(r.body["passed"], false, "{}", r.text);
    assert!(score(&r) > live_score);
}

const LIVE_PHOTO: &str = "live/nuaa_s0001_0001_00_00_01_149.jpg";
const PRINT_PHOTO: &str = "print/nuaa_s0001_0001_00_00_01_152.jpg";

#[tokio::test]
async fn base64_in_and_out_round_trips() {
    let Some(p) = face_photos("lite_base64", &["obama.jpg", "obama2.jpg"]) else { return };
    let lite = lite_server(|_| {}).await;
    let raw = lite.extract(&p[0]).await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (r, text) = lite
        .raw(
            "/v1/face/pattern/extract",
            b64.encode(&p[0]).into_bytes(),
            &[("content-type", "image/jpeg"), ("content-transfer-encoding", "base64")],
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.headers["content-transfer-encoding"], "base64");
    let decoded = b64.decode(&text).expect("base64 template");
    assert_eq!(decoded, raw, "the same template either way");

    // base64 parts in, decisions out.
    let other = lite.extract(&p[1]).await;
    let enc = |b: &[u8]| b64.encode(b).into_bytes();
    let r = lite
        .parts(
            "/v1/face/pattern/compare",
            &[("bio_feature", "a", &enc(&raw)), ("bio_template", "b", &enc(&other))],
            &[("content-transfer-encoding", "base64")],
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["decision"], "approved", "{}", r.text);
    let r = lite
        .parts(
            "/v1/face/pattern/verify",
            &[("sample", "a", &enc(&p[1])), ("bio_template", "b", &enc(&raw))],
            &[("content-transfer-encoding", "base64")],
        )
        .await;
    assert_eq!(r.body["decision"], "approved", "{}", r.text);
    // Not base64 while announced as such.
    let (r, _) = lite.raw("/v1/face/liveness/detect", p[0].clone(), &[("content-transfer-encoding", "base64")]).await;
    r.assert_error(400, 4);
    assert!(r.body["error_message"].as_str().unwrap().contains("base64"), "{}", r.text);
}

#[tokio::test]
async fn templates_of_another_model_are_refused() {
    let Some(p) = face_photos("lite_model_mismatch", &["obama.jpg"]) else { return };
    let lite = lite_server(|_| {}).await;
    let mine = lite.extract(&p[0]).await;
    let foreign = foreign_template(&mine, "someone-elses-model");
    let r = lite
        .parts("/v1/face/pattern/compare", &[("bio_feature", "a", &mine), ("bio_template", "b", &foreign)], &[])
        .await;
    r.assert_error(400, 4);
    let m = r.body["error_message"].as_str().unwrap();
    assert!(m.contains("different face models") && m.contains("someone-elses-model"), "{m}");
    // Both of the other model: still not comparable with this server's calibration.
    let r = lite
        .parts("/v1/face/pattern/compare", &[("bio_feature", "a", &foreign), ("bio_template", "b", &foreign)], &[])
        .await;
    r.assert_error(400, 4);
    assert!(r.body["error_message"].as_str().unwrap().contains("this server runs"), "{}", r.text);
    let r = lite
        .parts("/v1/face/pattern/verify", &[("sample", "a.jpg", &p[0]), ("bio_template", "b", &foreign)], &[])
        .await;
    r.assert_error(400, 4);
    let r = lite
        .parts("/v1/face/pattern/compare_n", &[("p", "p", &mine), ("c0", "c0", &mine), ("c1", "c1", &foreign)], &[])
        .await;
    r.assert_error(400, 4);
    assert_eq!(r.body["details"]["key_path"], "c1", "{}", r.text);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_never_a_5xx() {
    let Some(p) = face_photos("lite_bad_input", &["obama.jpg", "biden.jpg"]) else { return };
    let lite = lite_server(|c| c.max_file_bytes = 1_000_000).await;
    let extract = |body: Vec<u8>| lite.raw("/v1/face/pattern/extract", body, &[("content-type", "image/jpeg")]);
    let message = |r: &Res| r.body["error_message"].as_str().unwrap_or_default().to_owned();

    // Not an image.
    let (r, _) = extract(b"definitely not a photo".to_vec()).await;
    r.assert_error(400, 4);
    assert!(message(&r).contains("not an image"), "{}", r.text);
    let (r, _) = extract(Vec::new()).await;
    r.assert_error(400, 4);
    let (r, _) = extract(fixtures::truncated_jpeg()).await;
    r.assert_error(400, 4);
    // No face.
    let (r, _) = extract(fixtures::jpeg(640, 480)).await;
    r.assert_error(400, 4);
    assert!(message(&r).contains("no face"), "{}", r.text);
    let (r, _) = lite.raw("/v1/face/liveness/detect", fixtures::png(320, 240), &[("content-type", "image/png")]).await;
    r.assert_error(400, 4);
    // Several comparable faces.
    let two = side_by_side(&p[0], &p[0]);
    let (r, _) = extract(two.clone()).await;
    r.assert_error(400, 4);
    assert!(message(&r).contains("comparable"), "{}", r.text);
    let r = lite
        .parts("/v1/face/pattern/extract_and_compare", &[("sample_1", "a", &two), ("sample_2", "b", &p[0])], &[])
        .await;
    r.assert_error(400, 4);
    assert_eq!(r.body["details"]["key_path"], "sample_1", "{}", r.text);
    let (r, _) = lite.raw("/v1/face/liveness/detect", two, &[]).await;
    r.assert_error(400, 4);
    // Too large (the limit is EMERALD_MAX_FILE_BYTES, here 1 MB).
    let (r, _) = extract(fixtures::noisy_jpeg(1600, 1200)).await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.text);
    assert_eq!(r.body["error_code"], 4);
    let big = fixtures::noisy_jpeg(1600, 1200);
    let r = lite
        .parts("/v1/face/pattern/extract_and_compare", &[("sample_1", "a", &big), ("sample_2", "b", &p[0])], &[])
        .await;
    r.assert_error(400, 4);
    // Wrong template bytes.
    let good = lite.extract(&p[0]).await;
    let mut v9 = good.clone();
    v9[4] = 9;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not a template".to_vec(), "magic"),
        (p[1].clone(), "magic"),
        (good[..good.len() - 3].to_vec(), "bytes where"),
        (v9, "version 9"),
    ];
    for (bytes, why) in cases {
        let r = lite
            .parts("/v1/face/pattern/compare", &[("bio_feature", "a", &good), ("bio_template", "b", &bytes)], &[])
            .await;
        r.assert_error(400, 4);
        assert!(message(&r).contains(why), "{why}: {}", r.text);
        assert_eq!(r.body["details"]["key_path"], "bio_template");
    }
    // Wrong structure: not multipart, missing or extra parts.
    let (r, _) =
        lite.raw("/v1/face/pattern/compare", good.clone(), &[("content-type", "application/octet-stream")]).await;
    r.assert_error(400, 3);
    lite.parts("/v1/face/pattern/compare", &[("bio_feature", "a", &good)], &[]).await.assert_error(400, 3);
    lite.parts("/v1/face/pattern/compare", &[("a", "a", &good), ("b", "b", &good), ("c", "c", &good)], &[])
        .await
        .assert_error(400, 3);
    let r = lite.parts("/v1/face/pattern/verify", &[("sample", "a", b"junk"), ("bio_template", "b", &good)], &[]).await;
    r.assert_error(400, 4);
    assert_eq!(r.body["details"]["key_path"], "sample", "{}", r.text);
}

#[tokio::test]
async fn the_api_key_when_set_is_required() {
    let Some(p) = face_photos("lite_api_key", &["obama.jpg"]) else { return };
    let lite = lite_server(|c| c.lite_api_key = Some("s3cret-key".into())).await;
    let path = "/v1/face/pattern/extract";
    lite.raw(path, p[0].clone(), &[]).await.0.assert_error(401, 6);
    lite.raw(path, p[0].clone(), &[("x-api-key", "wrong")]).await.0.assert_error(401, 7);
    lite.raw(path, p[0].clone(), &[("authorization", "Bearer wrong")]).await.0.assert_error(401, 7);
    lite.raw(path, p[0].clone(), &[("x-api-key", "s3cret-key")]).await.0.assert_status(200);
    lite.raw(path, p[0].clone(), &[("authorization", "Bearer s3cret-key")]).await.0.assert_status(200);
    lite.raw("/v1/face/liveness/detect", p[0].clone(), &[]).await.0.assert_error(401, 6);
    // Health and version stay open (load balancers probe them).
    lite.get("/v1/face/pattern/health").await.assert_status(200);
    lite.get("/version").await.assert_status(200);
}

#[tokio::test]
async fn the_full_server_serves_lite_when_switched_on() {
    let off = TestApp::spawn(Backend::Sqlite).await;
    let r = into_res(off.client.get(off.url("/v1/face/pattern/health")).send().await.unwrap()).await;
    r.assert_error(404, 10);
    let doc = into_res(off.client.get(off.url("/openapi.json")).send().await.unwrap()).await;
    assert!(doc.body["paths"]["/v1/face/pattern/extract"].is_null());

    let on = TestApp::spawn_with(Backend::Sqlite, |c| c.lite = LiteMode::On).await;
    let r = into_res(on.client.get(on.url("/version")).send().await.unwrap()).await;
    r.assert_status(200);
    assert_eq!(r.body["core"], env!("CARGO_PKG_VERSION"));
    let doc = into_res(on.client.get(on.url("/openapi.json")).send().await.unwrap()).await;
    assert!(doc.body["paths"]["/v1/face/pattern/extract"].is_object());
    assert!(doc.body["paths"]["/api/folders"].is_object());
    let Some(p) = face_photos("lite_in_full_server", &["obama.jpg", "obama2.jpg"]) else { return };
    let form = Form::new()
        .part("sample_1", Part::bytes(p[0].clone()).file_name("a.jpg"))
        .part("sample_2", Part::bytes(p[1].clone()).file_name("b.jpg"));
    let r =
        into_res(on.client.post(on.url("/v1/face/pattern/extract_and_compare")).multipart(form).send().await.unwrap())
            .await;
    r.assert_status(200);
    assert_eq!(r.body["decision"], "approved", "{}", r.text);
}
