//! Videos over HTTP (issue #18): what browsers, iPhones and Android phones record is analysed
//! (QUALITY finishes with a face), its container facts land in `technical_meta_data`, broken
//! videos fail their analysis with code 4 naming the media and the reason while the server keeps
//! serving, and a server without a video decoder says so at start-up and in the analysis error.
//! The files come from `scripts/make-test-videos.sh` (run by `scripts/test.sh`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{fixtures::zip, Backend, Part, Res, TestApp};

/// A file of the video corpus; panics naming the script that makes it.
fn video(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("EMERALD_TEST_VIDEOS")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_else(|| ".".into());
            home.join(".cache/emerald/test-videos/current")
        });
    std::fs::read(dir.join(name)).unwrap_or_else(|e| {
        panic!("video {name} is missing from {} ({e})\n=> run scripts/make-test-videos.sh first", dir.display())
    })
}

/// The face engine is loaded (else the test is skipped, as the other analysis tests are).
fn engine_ready(app: &TestApp) -> bool {
    match app.domain.faces() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: the face engine is not loaded ({e}); run scripts/fetch-models.sh");
            false
        }
    }
}

async fn client(app: &TestApp) -> String {
    let c = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
    app.user(Some(c), "CLIENT").await.2
}

const SELFIE: [&str; 3] = ["video_selfie", "video_selfie_blank", "orientation_portrait"];

/// Upload `files` (part name, file name, bytes) as selfie videos with one QUALITY analysis of
/// `params`; the analysis must finish with a spoofing score (a face) for every media.
async fn analyse_selfies(
    app: &TestApp,
    token: &str,
    files: Vec<(&'static str, &'static str, Vec<u8>)>,
    params: Value,
) -> Res {
    let tags: serde_json::Map<String, Value> = files.iter().map(|(k, _, _)| (k.to_string(), json!(SELFIE))).collect();
    let payload = json!({"media:tags": tags, "analyses": [{"type": "quality", "params": params}]});
    let count = files.len();
    let mut parts: Vec<Part> = files.into_iter().map(|(k, f, b)| Part::File(k, f, b)).collect();
    parts.push(Part::Payload(payload.to_string()));
    let r = app.upload("/api/folders/", token, parts).await;
    r.assert_status(201);
    let a = &r.body["analyses"][0];
    assert_eq!(a["state"], "FINISHED", "{}", r.text);
    let results = a["results_media"].as_array().expect("results_media");
    assert_eq!(results.len(), count);
    for m in results {
        let score = m["results_data"]["confidence_spoofing"].as_f64();
        assert!(score.is_some_and(|s| (0.0..=1.0).contains(&s)), "no face in {m}");
    }
    r
}

#[tokio::test]
async fn videos_from_every_client_are_analysed_and_described() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    if !engine_ready(&app) {
        return;
    }
    let token = client(&app).await;
    let files = vec![
        ("android", "android.mp4", video("h264_main_moov_at_end.mp4")),
        ("browser", "recording.webm", video("vp8_opus_mediarecorder.webm")),
        ("iphone", "IMG_0001.MOV", video("hevc_iphone_rotate90.mov")),
        ("fragmented", "clip.mp4", video("h264_fragmented.mp4")),
        ("itunes", "clip.m4v", video("h264.m4v")),
        ("matroska", "clip.mkv", video("h264_opus.mkv")),
        ("zipped", "frames.zip", zip(&[("clip.webm", video("vp9.webm"))])),
    ];
    let r = analyse_selfies(&app, &token, files, json!({"extract_best_shot": true})).await;
    for m in r.body["analyses"][0]["results_media"].as_array().expect("results_media") {
        assert!(m["output_images"][0]["original_url"].is_string(), "no best shot in {m}");
    }
    // technical_meta_data: what the container says, read at upload.
    let media = r.body["media"].as_array().expect("media");
    let facts = |name: &str| -> Value {
        let m = media.iter().find(|m| m["original_name"] == name).unwrap_or_else(|| panic!("{name} in {media:?}"));
        m["technical_meta_data"].clone()
    };
    for (name, container, codec, extension) in [
        ("android.mp4", "mp4", "h264", "mp4"),
        ("recording.webm", "webm", "vp8", "webm"),
        ("IMG_0001.MOV", "mov", "hevc", "mov"),
        ("clip.mp4", "mp4", "h264", "mp4"),
        ("clip.m4v", "m4v", "h264", "m4v"),
        ("clip.mkv", "matroska", "h264", "mkv"),
    ] {
        let m = media.iter().find(|m| m["original_name"] == name).expect("media");
        assert_eq!(m["media_type"], "VIDEO_FOLDER", "{name}");
        let url = m["original_url"].as_str().expect("original_url");
        assert!(url.ends_with(&format!(".{extension}")), "{name}: {url}");
        let t = facts(name);
        assert_eq!((t["container"].as_str(), t["codec"].as_str()), (Some(container), Some(codec)), "{name}: {t}");
        // Displayed size: the iPhone file is stored sideways and shown upright.
        assert_eq!((t["width"].clone(), t["height"].clone()), (json!(360), json!(480)), "{name}: {t}");
        let duration = t["duration"].as_f64().unwrap_or_else(|| panic!("{name}: no duration in {t}"));
        assert!((duration - 2.0).abs() < 0.1, "{name}: {t}");
        let fps = t["frame_rate"].as_f64().unwrap_or_else(|| panic!("{name}: no frame rate in {t}"));
        assert!((fps - 30.0).abs() < 1.5, "{name}: {t}");
        assert!(t["size"].is_u64() && t["sha256"].is_string(), "{name}: the upload facts stay: {t}");
    }
    assert_eq!(facts("IMG_0001.MOV")["rotation"], 90);
    assert_eq!(facts("recording.webm")["audio_codec"], "opus");
    let zipped = media.iter().find(|m| m["original_name"] == "frames.zip").expect("zip");
    assert_eq!(zipped["media_type"], "SHOTS_SET_FOLDER");
}

/// The older formats of the spec's accepted list (`video/mpeg`, `video/ogg`, `video/x-ms-wmv`,
/// `video/x-msvideo`), and a camcorder's transport stream: analysed and described like the rest.
#[tokio::test]
async fn the_older_formats_of_the_spec_are_analysed_and_described() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    if !engine_ready(&app) {
        return;
    }
    let token = client(&app).await;
    let files = [
        ("mpeg", "clip.mpg", "mpeg2.mpg", "mpeg", "mpeg2video", "mpg"),
        ("ts", "00001.MTS", "h264.m2ts", "mpegts", "h264", "ts"),
        ("ogg", "clip.ogv", "theora.ogv", "ogg", "theora", "ogv"),
        ("wmv", "clip.wmv", "wmv2.wmv", "asf", "wmv2", "wmv"),
        ("avi", "clip.avi", "mjpeg.avi", "avi", "mjpeg", "avi"),
    ];
    let uploads = files.iter().map(|f| (f.0, f.1, video(f.2))).collect();
    let r = analyse_selfies(&app, &token, uploads, json!({})).await;
    let media = r.body["media"].as_array().expect("media");
    for (_, name, _, container, codec, extension) in files {
        let m = media.iter().find(|m| m["original_name"] == name).unwrap_or_else(|| panic!("{name} in {media:?}"));
        assert_eq!(m["media_type"], "VIDEO_FOLDER", "{name}");
        let url = m["original_url"].as_str().expect("original_url");
        assert!(url.ends_with(&format!(".{extension}")), "{name}: {url}");
        let t = &m["technical_meta_data"];
        assert_eq!((t["container"].as_str(), t["codec"].as_str()), (Some(container), Some(codec)), "{name}: {t}");
        assert_eq!((t["width"].clone(), t["height"].clone()), (json!(360), json!(480)), "{name}: {t}");
        let duration = t["duration"].as_f64().unwrap_or_else(|| panic!("{name}: no duration in {t}"));
        assert!((duration - 2.0).abs() < 0.1, "{name}: {t}");
    }
    // An Ogg file of sound alone is not a video: refused at upload with the reason.
    let mut ogg_audio = b"OggS\x00\x02".to_vec();
    ogg_audio.extend_from_slice(&[0; 20]);
    ogg_audio.extend_from_slice(b"\x01vorbis");
    ogg_audio.extend_from_slice(&[0; 200]);
    let r = app.upload("/api/folders/", &token, vec![Part::File("f", "voice.ogg", ogg_audio)]).await;
    r.assert_error(400, 4);
    assert!(r.body["error_message"].as_str().unwrap().contains("unsupported"), "{}", r.text);
}

/// Photos as iPhones (HEIF, tiled) and recent Android phones (AVIF) store them: images with
/// their size and a thumbnail, analysed like JPEGs; a broken one is refused at upload.
#[tokio::test]
async fn heif_and_avif_photos_are_images() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    if !engine_ready(&app) {
        return;
    }
    let token = client(&app).await;
    let tags = json!({"iphone": ["photo_selfie"], "android": ["photo_selfie"]});
    let payload = json!({"media:tags": tags, "analyses": [{"type": "QUALITY"}, {"type": "BIOMETRY"}]});
    let parts = vec![
        Part::File("iphone", "IMG_0003.HEIC", video("stills/tiled.heic")),
        Part::File("android", "PXL_0001.avif", video("stills/photo.avif")),
        Part::Payload(payload.to_string()),
    ];
    let r = app.upload("/api/folders/", &token, parts).await;
    r.assert_status(201);
    for a in r.body["analyses"].as_array().expect("analyses") {
        assert_eq!(a["state"], "FINISHED", "{a}");
        assert_eq!(a["resolution_status"], "SUCCESS", "the same face, live: {a}");
    }
    for (name, extension) in [("IMG_0003.HEIC", "heic"), ("PXL_0001.avif", "avif")] {
        let media = r.body["media"].as_array().expect("media");
        let m = media.iter().find(|m| m["original_name"] == name).expect("media");
        assert_eq!(m["media_type"], "IMAGE_FOLDER", "{name}");
        assert!(m["original_url"].as_str().unwrap().ends_with(&format!(".{extension}")), "{m}");
        assert!(m["technical_meta_data"]["width"].as_u64().unwrap() >= 900, "{m}");
        let (status, _, thumb) = app.get_bytes(m["thumb_url"].as_str().expect("thumb_url"), Some(&token)).await;
        assert_eq!(status.as_u16(), 200, "{name}");
        assert!(thumb.starts_with(&[0xFF, 0xD8]), "{name}: the thumbnail is a JPEG");
    }
    // Zipped, a HEIF photo and a transport stream are a shots set like JPEGs and MP4s.
    for (entry, file) in [("frame.heic", "stills/single.heic"), ("clip.ts", "h264.ts")] {
        let zipped = zip(&[(entry, video(file))]);
        let r = app.upload("/api/folders/", &token, vec![Part::File("f", "shots.zip", zipped)]).await;
        r.assert_status(201);
        assert_eq!(r.body["media"][0]["media_type"], "SHOTS_SET_FOLDER", "{entry}: {}", r.text);
    }
    let heic = video("stills/single.heic");
    let r =
        app.upload("/api/folders/", &token, vec![Part::File("f", "cut.heic", heic[..heic.len() / 3].to_vec())]).await;
    r.assert_error(400, 4);
    assert!(r.body["error_message"].as_str().unwrap().contains("cut.heic"), "{}", r.text);
}

#[tokio::test]
async fn broken_videos_fail_with_code_4_and_the_server_keeps_serving() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    if !engine_ready(&app) {
        return;
    }
    let token = client(&app).await;
    for (file, reason) in [
        ("cut_moov_at_end.mp4", "no 'moov' box"),
        ("cut_media_data.mp4", "cut short"),
        ("cut.webm", "cut short"),
        ("corrupt_header.mp4", "mp4"),
        ("corrupt_frames.mp4", "no frame could be decoded"),
        ("corrupt.webm", "webm"),
        ("not_a_video.mp4", "moov"),
        ("prores.mov", "prores video is not supported"),
        ("too_large_8k.mp4", "7680×4320"),
        ("too_many_frames.mp4", "frames per second"),
    ] {
        let payload = json!({"media:tags": {"v": SELFIE}, "analyses": [{"type": "quality"}]}).to_string();
        let r = app
            .upload("/api/folders/", &token, vec![Part::File("v", "v.mp4", video(file)), Part::Payload(payload)])
            .await;
        r.assert_status(201);
        let a = &r.body["analyses"][0];
        assert_eq!(
            (a["state"].clone(), a["resolution_status"].clone()),
            (json!("FAILED"), json!("FAILED")),
            "{file}: {a}"
        );
        assert_eq!(a["error"]["error_code"], 4, "{file}: {a}");
        let message = a["error"]["error_message"].as_str().unwrap_or_default();
        let media_id = r.body["media"][0]["media_id"].as_str().expect("media id");
        assert!(message.contains(&format!("media {media_id}")), "{file}: {message}");
        assert!(message.contains(reason), "{file}: {message:?} should say {reason:?}");
    }
    // Still serving, and still analysing.
    app.get("/api/version", &token).await.assert_status(200);
    let payload = json!({"media:tags": {"v": SELFIE}, "analyses": [{"type": "quality"}]}).to_string();
    let r = app
        .upload(
            "/api/folders/",
            &token,
            vec![Part::File("v", "v.webm", video("vp8_vorbis.webm")), Part::Payload(payload)],
        )
        .await;
    assert_eq!(r.body["analyses"][0]["state"], "FINISHED", "{}", r.text);
}

/// Kills the child server when the test ends, whatever happens.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn without_a_decoder_the_server_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_emerald"))
            .args(["serve", "--listen", "127.0.0.1:0", "--ffmpeg", "/nonexistent/ffmpeg", "--data-dir"])
            .arg(dir.path())
            .env("EMERALD_ADMIN_EMAIL", "admin@video.test")
            .env("EMERALD_ADMIN_PASSWORD", "video-test-password-1")
            .env_remove("EMERALD_DATABASE_URL")
            .env("EMERALD_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut before = Vec::new();
    let base = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some(addr) = line.strip_prefix("Emerald listening on ") {
            break addr.to_owned();
        }
        before.push(line);
    };
    let warning = before.iter().find(|l| l.contains("no video decoder")).unwrap_or_else(|| panic!("{before:?}"));
    assert!(warning.contains("/nonexistent/ffmpeg") && warning.contains("scripts/fetch-ffmpeg.sh"), "{warning}");
    let http = reqwest::Client::new();
    let login = json!({"credentials": {"email": "admin@video.test", "password": "video-test-password-1"}});
    let auth: Value =
        http.post(format!("{base}/api/authorize/auth")).json(&login).send().await.unwrap().json().await.unwrap();
    let token = auth["access_token"].as_str().expect("token").to_owned();
    if auth["user"].is_null() {
        panic!("{auth}");
    }
    let version: Value = http.get(format!("{base}/api/version")).send().await.unwrap().json().await.unwrap();
    let payload = json!({"media:tags": {"v": SELFIE}, "analyses": [{"type": "quality"}]}).to_string();
    let form = reqwest::multipart::Form::new()
        .part("v", reqwest::multipart::Part::bytes(video("vp8_vorbis.webm")).file_name("v.webm"))
        .part("payload", reqwest::multipart::Part::text(payload));
    let r: Value = http
        .post(format!("{base}/api/folders/"))
        .header("X-Forensic-Access-Token", &token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a = &r["analyses"][0];
    if a["error"]["error_code"] == 2 && a["error"]["error_message"].as_str().unwrap_or_default().contains("face") {
        eprintln!("SKIPPED: the face engine is not loaded ({a}); run scripts/fetch-models.sh ({version})");
        return;
    }
    assert_eq!((a["state"].clone(), a["error"]["error_code"].clone()), (json!("FAILED"), json!(2)), "{r}");
    let message = a["error"]["error_message"].as_str().unwrap_or_default();
    assert!(
        message.contains("video decoding is not available") && message.contains("scripts/fetch-ffmpeg.sh"),
        "{message}"
    );
}
