//! DOCUMENTS analyses over HTTP (spec §8.1–§8.4, docs/documents.md) on the synthetic documents
//! of `scripts/make-test-documents.sh` (rendered ID cards and passport pages, photographed with
//! rotation, tilt, blur, noise; some with a broken check digit or expired) and real selfies of
//! the same people from `../shared/data/faces-dev`. Without the corpus a test prints SKIPPED.

use std::path::PathBuf;

use serde_json::{json, Value};
use uuid::Uuid;

use emerald::config::DocumentsOcr;
use emerald_documents::VisualOcr;

use crate::both_backends;
use crate::helpers::*;

fn corpus_dir() -> PathBuf {
    emerald_documents::test_corpus_dir()
}

/// The corpus manifest, or None (SKIPPED printed).
fn manifest(test: &str) -> Option<Vec<Value>> {
    let dir = corpus_dir();
    match std::fs::read_to_string(dir.join("manifest.json")) {
        Ok(m) => Some(serde_json::from_str(&m).unwrap()),
        Err(_) => {
            println!("SKIPPED {test}: no test documents in {}; run scripts/make-test-documents.sh", dir.display());
            None
        }
    }
}

/// The first document of the corpus matching `pred`, and its photo.
fn document(docs: &[Value], pred: impl Fn(&Value) -> bool) -> (Value, Vec<u8>) {
    let d = docs.iter().find(|d| pred(d)).expect("a document of that kind in the corpus").clone();
    let bytes = std::fs::read(corpus_dir().join(d["file"].as_str().unwrap())).unwrap();
    (d, bytes)
}

async fn client(app: &TestApp) -> String {
    let c = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
    app.user(Some(c), "CLIENT").await.2
}

fn part(name: &'static str, bytes: Vec<u8>) -> Part {
    Part::File(name, "photo.jpg", bytes)
}

/// A single request (upload + analyses) of DOCUMENTS on one document photo: the analysis.
async fn documents_on(app: &TestApp, token: &str, photo: Vec<u8>, tag: &str) -> Value {
    let payload = json!({"media:tags": {"doc": [tag]}, "analyses": [{"type": "documents"}]}).to_string();
    let r = app.upload("/api/folders/", token, vec![part("doc", photo), Part::Payload(payload)]).await;
    r.assert_status(201);
    r.body["analyses"][0].clone()
}

fn field<'a>(a: &'a Value, name: &str) -> &'a Value {
    a["results_data"]["text_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field_name"] == name)
        .unwrap_or_else(|| panic!("no text field {name} in {}", a["results_data"]))
}

fn mrz_name(s: &Value) -> String {
    s.as_str().unwrap().split('<').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

both_backends! {
    async fn documents_with_quality_biometry_and_collection_in_one_request(app) {
        let Some(docs) = manifest("documents_with_quality_biometry_and_collection_in_one_request") else { return };
        let Some(_) = face_photos("documents_with_quality_biometry_and_collection_in_one_request", &[]) else { return };
        // As production builds it (COLLECTION has its gallery).
        let app = app.respawn_default().await;
        let token = client(&app).await;
        let (doc, id_photo) = document(&docs, |d| d["variant"] == "flat" && d["valid"] == true && d["expired"] == false);
        // Another photo of the person on the document.
        let face = PathBuf::from(doc["face_path"].as_str().unwrap());
        let selfie = std::fs::read(face.with_file_name("0002.jpg")).unwrap();
        // The official SDK's documents + blacklist flow: one call, four analyses.
        let payload = json!({
            "media:tags": {"selfie": ["photo_selfie"], "id": ["photo_id", "photo_id_front"]},
            "analyses": [
                {"type": "quality"},
                {"type": "documents", "params": {"capabilities": 492}},
                {"type": "biometry"},
                {"type": "collection"}
            ]
        });
        let t = std::time::Instant::now();
        let r = app.upload("/api/folders/", &token, vec![part("selfie", selfie), part("id", id_photo), Part::Payload(payload.to_string())]).await;
        println!("four analyses on a selfie and an ID photo: {} ms", t.elapsed().as_millis());
        r.assert_status(201);
        let analyses = r.body["analyses"].as_array().unwrap();
        assert_eq!(analyses.len(), 4, "{}", r.text);
        let by = |t: &str| analyses.iter().find(|a| a["type"] == t).unwrap_or_else(|| panic!("no {t} in {}", r.text));
        let d = by("DOCUMENTS");
        assert_eq!(d["state"], "FINISHED", "{d}");
        assert_eq!(d["resolution_status"], "SUCCESS", "{d}");
        assert_eq!(d["params"]["capabilities"], 492);
        assert_eq!(d["error"], Value::Null);
        // Only the ID photo is a document.
        assert_eq!(d["source_media"].as_array().unwrap().len(), 1);
        assert_eq!(d["results_data"]["mrz_valid"], true);
        let summary = &d["results_data"]["document"];
        assert_eq!(summary["number"], doc["number"]);
        assert_eq!(summary["issuing_state"], doc["state"].as_str().unwrap().trim_end_matches('<'));
        assert_eq!(summary["mrz_valid"], true);
        assert_eq!(summary["expired"], false);
        assert_eq!(field(d, "surname")["mrz"], json!(mrz_name(&doc["surname"])));
        assert_eq!(field(d, "given_names")["mrz"], json!(mrz_name(&doc["given"])));
        assert_eq!(field(d, "document_number")["mrz"], doc["number"]);
        assert_eq!(field(d, "sex")["mrz"], doc["sex"]);
        let birth = doc["birth"].as_str().unwrap();
        let year = doc["birth_year"].as_i64().unwrap();
        assert_eq!(field(d, "birth_date")["mrz"], json!(format!("{year}-{}-{}", &birth[2..4], &birth[4..6])));
        // The visual zone agrees (read when an OCR is there: PP-OCR's models or Tesseract).
        if app.domain.ocr.is_ok() {
            assert_eq!(d["results_data"]["visual_zone"]["read"], true, "{d}");
            assert_eq!(field(d, "surname")["status"], "match", "{d}");
            assert_eq!(field(d, "surname")["visual"], doc["visual"]["surname"]);
        }
        let rm = &d["results_media"][0];
        assert_eq!(rm["results_data"]["document"]["number"], doc["number"]);
        // The others ran on the same request, each to its end.
        for t in ["QUALITY", "BIOMETRY", "COLLECTION"] {
            let a = by(t);
            assert!(a["state"] == "FINISHED" || (t == "QUALITY" && a["error"]["error_code"] == 4), "{t}: {a}");
        }
        // BIOMETRY compared the selfie with the face on the ID: the same person.
        let b = by("BIOMETRY");
        assert_eq!(b["source_media"].as_array().unwrap().len(), 2);
        assert_eq!(b["resolution_status"], "SUCCESS", "{b}");
        assert_eq!(by("COLLECTION")["resolution_status"], "SUCCESS");
    }

    async fn documents_decisions_follow_the_mrz(app) {
        let Some(docs) = manifest("documents_decisions_follow_the_mrz") else { return };
        let token = client(&app).await;
        // A broken check digit: DECLINED, never SUCCESS.
        let (_, broken) = document(&docs, |d| d["valid"] == false);
        let a = documents_on(&app, &token, broken, "photo_id_front").await;
        assert_eq!((a["state"].clone(), a["resolution_status"].clone()), (json!("FINISHED"), json!("DECLINED")), "{a}");
        assert_eq!(a["results_data"]["mrz_valid"], false);
        assert!(a["results_data"]["error_message"].as_str().unwrap().contains("check digits fail"), "{a}");
        // Expired: DECLINED.
        let (_, expired) = document(&docs, |d| d["valid"] == true && d["expired"] == true);
        let a = documents_on(&app, &token, expired, "photo_id").await;
        assert_eq!(a["resolution_status"], "DECLINED", "{a}");
        assert_eq!(a["results_data"]["document"]["expired"], true);
        assert_eq!(a["results_data"]["mrz_valid"], true);
        // Upside down, a passport: read all the same.
        let (doc, rotated) = document(&docs, |d| d["variant"] == "rot180" && d["valid"] == true && d["expired"] == false);
        let a = documents_on(&app, &token, rotated, "photo_id_back").await;
        assert_eq!(a["resolution_status"], "SUCCESS", "{a}");
        assert_eq!(a["results_data"]["document"]["number"], doc["number"]);
        assert_eq!(a["results_media"][0]["results_data"]["orientation"], 180);
        // A photo with no MRZ: an operator has to look.
        let a = documents_on(&app, &token, fixtures::jpeg(640, 400), "photo_id").await;
        assert_eq!(a["resolution_status"], "OPERATOR_REQUIRED", "{a}");
        assert_eq!(a["results_data"]["document"], Value::Null);
        // No face on it either: said, not an error.
        assert_eq!(a["results_data"]["portrait"]["found"], false, "{a}");
        assert!(a["results_data"]["portrait"]["reason"].is_string(), "{a}");
        assert_eq!(a["results_media"][0]["output_images"], json!([]));
        // A bad param is refused.
        let payload = json!({"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents", "params": {"capabilities": "all"}}]});
        app.upload("/api/folders/", &token, vec![part("doc", fixtures::jpeg(64, 64)), Part::Payload(payload.to_string())]).await.assert_error(400, 5);
    }

    async fn documents_portrait_is_an_output_image(app) {
        let Some(docs) = manifest("documents_portrait_is_an_output_image") else { return };
        let engine = match app.domain.faces() {
            Ok(e) => e.clone(),
            Err(e) => {
                println!("SKIPPED documents_portrait_is_an_output_image: {e}");
                return;
            }
        };
        let token = client(&app).await;
        // Turned a quarter: the portrait is cut from the photo turned upright.
        for variant in ["flat", "rot90"] {
            let (_, photo) = document(&docs, |d| d["variant"] == variant && d["valid"] == true && d["expired"] == false);
            let a = documents_on(&app, &token, photo, "photo_id").await;
            assert_eq!(a["state"], "FINISHED", "{a}");
            let rm = &a["results_media"][0];
            let p = &rm["results_data"]["portrait"];
            assert_eq!(p["found"], true, "{variant}: {a}");
            assert!(p["box"]["width"].as_f64().unwrap() > 40.0, "{p}");
            assert!(p["cut"]["width"].as_f64().unwrap() > p["box"]["width"].as_f64().unwrap(), "a margin: {p}");
            assert_eq!(a["results_data"]["portrait"], *p);
            // Stored and served like a best shot, a JPEG with a face on it.
            let url = rm["output_images"][0]["original_url"].as_str().unwrap_or_else(|| panic!("no portrait in {a}")).to_owned();
            assert!(url.contains("/bestshot_"), "{url}");
            let (st, ct, bytes) = app.get_bytes(&url, Some(&token)).await;
            assert_eq!(st.as_u16(), 200);
            assert_eq!(ct.as_deref(), Some("image/jpeg"));
            assert!(bytes.starts_with(&[0xFF, 0xD8]));
            let faces = engine.analyze(&bytes, &emerald::domain::model::face::AnalyzeOptions::default()).expect("a face in the portrait");
            let face = faces.best_face.expect("a face in the portrait");
            let img = image::load_from_memory(&bytes).unwrap();
            // The face fills a good part of the cut: a portrait, not the whole card.
            assert!(face.bbox[2] > 0.3 * img.width() as f32, "{variant}: face {:?} in a {}×{} cut", face.bbox, img.width(), img.height());
        }
        // Instant mode: inline, nothing stored.
        let (_, photo) = document(&docs, |d| d["variant"] == "flat" && d["valid"] == true);
        let payload = json!({"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents"}]}).to_string();
        let r = app.upload("/api/instant/folders/", &token, vec![part("doc", photo), Part::Payload(payload)]).await;
        r.assert_status(200);
        let url = r.body["analyses"][0]["results_media"][0]["output_images"][0]["original_url"].as_str().unwrap_or_default();
        assert!(url.starts_with("data:image/jpeg;base64,"), "{}", r.text);
    }

    async fn documents_visual_zone_against_the_mrz(app) {
        let Some(docs) = manifest("documents_visual_zone_against_the_mrz") else { return };
        if let Err(why) = &app.domain.ocr {
            println!("SKIPPED documents_visual_zone_against_the_mrz: {why}");
            return;
        }
        let token = client(&app).await;
        // Printed and MRZ agree.
        let (doc, photo) = document(&docs, |d| d["variant"] == "flat" && d["valid"] == true && d["expired"] == false && d["visual_mismatch"] == false);
        let a = documents_on(&app, &token, photo, "photo_id").await;
        assert_eq!(a["resolution_status"], "SUCCESS", "{a}");
        // Never a disagreement; the names, number and expiry read (a lone `D` nationality may
        // be missed by the OCR: then `mrz_only`).
        for name in ["surname", "given_names", "document_number", "nationality", "birth_date", "sex", "expiry_date"] {
            let f = field(&a, name);
            assert!(f["status"] == "match" || f["status"] == "mrz_only", "{name}: {a}");
        }
        for name in ["surname", "given_names", "document_number", "expiry_date"] {
            assert_eq!(field(&a, name)["status"], "match", "{name}: {a}");
            assert!(field(&a, name)["visual"].is_string());
        }
        assert_eq!(a["results_data"]["visual_mismatches"], json!([]));
        // The printed surname is not the MRZ's: never SUCCESS, an operator looks.
        let (doc2, photo) = document(&docs, |d| d["visual_mismatch"] == true);
        assert_ne!(doc2["visual"]["surname"], doc2["surname"]);
        let a = documents_on(&app, &token, photo, "photo_id").await;
        assert_eq!(a["resolution_status"], "OPERATOR_REQUIRED", "{a}");
        assert_eq!(a["results_data"]["mrz_valid"], true);
        let s = field(&a, "surname");
        assert_eq!(s["status"], "mismatch", "{a}");
        assert_eq!(s["visual"], doc2["visual"]["surname"]);
        assert_eq!(s["mrz"], json!(mrz_name(&doc2["surname"])));
        assert_eq!(a["results_data"]["visual_mismatches"], json!(["surname"]));
        assert!(a["results_data"]["error_message"].as_str().unwrap().contains("surname"), "{a}");
        let _ = doc;
        // Without an OCR the MRZ still decides and the result says the zone was not read.
        // In Instant mode: the analysis runs in the process that answers. (On PostgreSQL the
        // sibling shares the job queue, so a queued job could be run by the first server's
        // workers, which have an OCR.)
        let app2 = app
            .sibling(|c| {
                c.documents_ocr = DocumentsOcr::Tesseract;
                c.tesseract = Some("/nonexistent/tesseract".into());
            })
            .await;
        let token = client(&app2).await;
        let (_, photo) = document(&docs, |d| d["visual_mismatch"] == true);
        let payload = json!({"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents"}]}).to_string();
        let r = app2.upload("/api/instant/folders/", &token, vec![part("doc", photo), Part::Payload(payload)]).await;
        r.assert_status(200);
        let a = r.body["analyses"][0].clone();
        assert_eq!(a["resolution_status"], "SUCCESS", "{a}");
        assert_eq!(a["results_data"]["visual_zone"]["read"], false);
        let why = a["results_data"]["visual_zone"]["reason"].as_str().unwrap();
        assert!(why.contains("not read") && why.contains("fetch-tesseract.sh"), "{why}");
        assert_eq!(field(&a, "surname")["status"], "mrz_only");
    }
}

/// A document photographed by a phone: three fifths of a 4032×3024 frame, upright and turned a
/// quarter. Its MRZ comes out small at the reader's 1,600 pixels, so the document's part of the
/// frame is read again on more pixels (`read_photo`); the answer is the same document, and the
/// portrait's box is where the portrait lies in the big photo (turned upright) — the part's
/// place added back — as its box on the original photo predicts.
#[tokio::test]
async fn documents_on_a_phone_size_photo_place_the_portrait_where_it_lies() {
    let Some(docs) = manifest("documents_on_a_phone_size_photo_place_the_portrait_where_it_lies") else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    if let Err(e) = app.domain.faces() {
        println!("SKIPPED documents_on_a_phone_size_photo_place_the_portrait_where_it_lies: {e}");
        return;
    }
    let token = client(&app).await;
    for variant in ["flat", "rot90"] {
        let (_, photo) = document(&docs, |d| d["variant"] == variant && d["valid"] == true && d["expired"] == false);
        let original = image::load_from_memory(&photo).unwrap().into_rgb8();
        let (w, h) = original.dimensions();
        let (nw, nh) = (w * 3 / 2, h * 3 / 2);
        let big = image::imageops::resize(&original, nw, nh, image::imageops::FilterType::Triangle);
        let (fw, fh) = (4032u32, 3024u32);
        let (ox, oy) = ((fw - nw) / 2, (fh - nh) / 2);
        let mut frame = image::RgbImage::from_pixel(fw, fh, image::Rgb([107, 100, 89]));
        image::imageops::overlay(&mut frame, &big, i64::from(ox), i64::from(oy));
        let phone = emerald_vision::encode_jpeg_quality(&frame, 92).unwrap();

        let a = documents_on(&app, &token, photo, "photo_id").await;
        let b = documents_on(&app, &token, phone, "photo_id").await;
        assert_eq!(b["resolution_status"], a["resolution_status"], "{variant}: {b}");
        assert_eq!(field(&b, "document_number")["mrz"], field(&a, "document_number")["mrz"], "{variant}");
        let turned = b["results_media"][0]["results_data"]["orientation"].as_u64().unwrap();
        assert_eq!(turned, a["results_media"][0]["results_data"]["orientation"].as_u64().unwrap(), "{variant}");
        let of = |v: &Value| {
            ["x", "y", "width", "height"].map(|k| v["results_data"]["portrait"]["box"][k].as_f64().unwrap())
        };
        let (pa, pb) = (of(&a), of(&b));
        // The placed document's top left in the big photo turned upright (clockwise quarters).
        let (ox, oy, nw, nh, fw, fh) = (ox as f64, oy as f64, nw as f64, nh as f64, fw as f64, fh as f64);
        let origin = match turned {
            0 => (ox, oy),
            90 => (fh - (oy + nh), ox),
            180 => (fw - (ox + nw), fh - (oy + nh)),
            _ => (oy, fw - (ox + nw)),
        };
        let expected = [origin.0 + 1.5 * pa[0], origin.1 + 1.5 * pa[1], 1.5 * pa[2], 1.5 * pa[3]];
        let tolerance = 0.1 * expected[2];
        for (k, (got, want)) in pb.iter().zip(expected).enumerate() {
            assert!((got - want).abs() <= tolerance, "{variant}: box {pb:?}, expected {expected:?} (coordinate {k})");
        }
    }
}

/// PP-OCR's models missing: DOCUMENTS reads the visual zone with Tesseract when there is one,
/// else says which model file is missing and the command that fetches it; the MRZ decides.
/// BIOMETRY compares the selfie with the face on an ID photographed sideways or upside down as
/// it does with the same ID upright (the engine turns a photo whose face it does not find
/// standing upright), and DOCUMENTS reads the turned ID and says how it turned it.
#[tokio::test]
async fn biometry_finds_the_face_on_a_turned_document() {
    let test = "biometry_finds_the_face_on_a_turned_document";
    let Some(docs) = manifest(test) else { return };
    let Some(_) = face_photos(test, &[]) else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = client(&app).await;
    let biometry = |selfie: Vec<u8>, id: Vec<u8>| {
        let (app, token) = (&app, &token);
        async move {
            let payload = json!({
                "media:tags": {"selfie": ["photo_selfie"], "id": ["photo_id_front"]},
                "analyses": [{"type": "biometry"}, {"type": "documents"}]
            });
            let r = app
                .upload(
                    "/api/folders/",
                    token,
                    vec![part("selfie", selfie), part("id", id), Part::Payload(payload.to_string())],
                )
                .await;
            r.assert_status(201);
            let analyses = r.body["analyses"].as_array().unwrap().clone();
            let by = |t: &str| {
                analyses.iter().find(|a| a["type"] == t).cloned().unwrap_or_else(|| panic!("no {t} in {}", r.text))
            };
            (by("BIOMETRY"), by("DOCUMENTS"))
        }
    };
    for (variant, turned) in [("rot90", 90u32), ("rot180", 180), ("rot270", 270)] {
        let (doc, id_photo) = document(&docs, |d| d["variant"] == variant && d["valid"] == true);
        let selfie =
            std::fs::read(PathBuf::from(doc["face_path"].as_str().unwrap()).with_file_name("0002.jpg")).unwrap();
        // The same photo turned upright here (PIL turned it anticlockwise; turned back clockwise).
        let img = image::load_from_memory(&id_photo).unwrap();
        let upright = match turned {
            90 => img.rotate90(),
            180 => img.rotate180(),
            _ => img.rotate270(),
        };
        // Lossless, so that the two requests differ only by the turning (a JPEG re-encoding
        // moves the alignment points of this small printed portrait by ~0.8 px on its own).
        let mut upright_png = Vec::new();
        upright.write_to(&mut std::io::Cursor::new(&mut upright_png), image::ImageFormat::Png).unwrap();
        let (b_turned, d_turned) = biometry(selfie.clone(), id_photo).await;
        let (b_upright, _) = biometry(selfie, upright_png).await;
        for b in [&b_turned, &b_upright] {
            assert_eq!(b["state"], "FINISHED", "{variant}: {b}");
            assert!(b["results_data"]["min_confidence"].is_number(), "{variant}: a face on both: {b}");
        }
        let (ct, cu) = (
            b_turned["results_data"]["min_confidence"].as_f64().unwrap(),
            b_upright["results_data"]["min_confidence"].as_f64().unwrap(),
        );
        println!("{variant}: BIOMETRY {ct:.4} turned, {cu:.4} upright");
        assert!((ct - cu).abs() < 0.05, "{variant}: {ct} turned against {cu} upright");
        assert_eq!(b_turned["resolution_status"], b_upright["resolution_status"], "{variant}");
        assert_eq!(d_turned["results_media"][0]["results_data"]["orientation"], turned, "{variant}: {d_turned}");
        assert_eq!(d_turned["results_data"]["portrait"]["found"], true, "{variant}: {d_turned}");
    }
}

#[tokio::test]
async fn documents_without_the_ppocr_models() {
    let Some(docs) = manifest("documents_without_the_ppocr_models") else { return };
    // A models dir with the face models only.
    let faces = emerald_vision::default_models_dir();
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&faces).into_iter().flatten().flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with("ch_PP-OCR") {
            std::os::unix::fs::symlink(e.path(), dir.path().join(&name)).unwrap();
        }
    }
    let models = dir.path().to_path_buf();
    for tesseract in [None, Some(PathBuf::from("/nonexistent/tesseract"))] {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            c.models_dir = Some(models.clone());
            c.documents_ocr = DocumentsOcr::Ppocr;
            c.tesseract = tesseract.clone();
        })
        .await;
        match &app.domain.ocr {
            Ok(ocr) => assert_eq!(ocr.name(), "tesseract"),
            Err(why) => {
                assert!(why.contains("ch_PP-OCRv4_det_infer.onnx") && why.contains("scripts/fetch-models.sh"), "{why}")
            }
        }
        let token = client(&app).await;
        let (_, photo) = document(&docs, |d| d["variant"] == "flat" && d["valid"] == true && d["expired"] == false);
        let payload = json!({"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents"}]}).to_string();
        let r = app.upload("/api/instant/folders/", &token, vec![part("doc", photo), Part::Payload(payload)]).await;
        r.assert_status(200);
        let a = &r.body["analyses"][0];
        assert_eq!(a["results_data"]["mrz_valid"], true, "{a}");
        let zone = &a["results_data"]["visual_zone"];
        if app.domain.ocr.is_ok() {
            assert_eq!(zone["ocr"], "tesseract", "{a}");
        } else {
            assert_eq!(zone["read"], false, "{a}");
            let why = zone["reason"].as_str().unwrap();
            assert!(why.contains("ch_PP-OCRv4_det_infer.onnx") && why.contains("scripts/fetch-models.sh"), "{why}");
        }
    }
}

/// The share of the corpus whose visual fields are all found with PP-OCR, through the HTTP API
/// (`cargo test --test api -- documents_corpus --nocapture` prints the figures of both OCRs).
#[tokio::test]
async fn documents_corpus_visual_zone_share_ppocr() {
    corpus_visual_zone_share(DocumentsOcr::Ppocr, 0.8, &corpus_dir()).await;
}

/// The same on the second layout's corpus (labels side by side in two columns, bilingual name
/// labels): the field parser on a layout it was not written against.
#[tokio::test]
async fn documents_corpus_visual_zone_share_ppocr_two_columns() {
    corpus_visual_zone_share(DocumentsOcr::Ppocr, 0.8, &emerald_documents::test_corpus_dir_columns()).await;
}

/// The same with Tesseract.
#[tokio::test]
async fn documents_corpus_visual_zone_share_tesseract() {
    corpus_visual_zone_share(DocumentsOcr::Tesseract, 0.4, &corpus_dir()).await;
}

/// The share of the corpus whose visual fields are all found (and agree with the MRZ, but on
/// the document printed to disagree) with `engine`, through the HTTP API in Instant mode, and
/// DOCUMENTS' time per photo; at least `min_share` of the documents.
async fn corpus_visual_zone_share(engine: DocumentsOcr, min_share: f64, dir: &std::path::Path) {
    let test = format!("documents_corpus_visual_zone_share ({engine:?}, {})", dir.display());
    let docs: Vec<Value> = match std::fs::read_to_string(dir.join("manifest.json")) {
        Ok(m) => serde_json::from_str(&m).unwrap(),
        Err(_) => {
            println!("SKIPPED {test}: no test documents in {}; run scripts/make-test-documents.sh", dir.display());
            return;
        }
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.documents_ocr = engine).await;
    match (&app.domain.ocr, engine) {
        (Ok(VisualOcr::PpOcr(_)), DocumentsOcr::Ppocr) | (Ok(VisualOcr::Tesseract(_)), DocumentsOcr::Tesseract) => {}
        (Ok(other), _) => {
            println!("SKIPPED {test}: {engine:?} is not available here ({} was loaded instead)", other.name());
            return;
        }
        (Err(why), _) => {
            println!("SKIPPED {test}: {why}");
            return;
        }
    }
    let token = client(&app).await;
    let fields = ["surname", "given_names", "document_number", "nationality", "birth_date", "sex", "expiry_date"];
    let (mut found, mut portraits, mut false_mismatches, mut times) = (0usize, 0usize, 0usize, Vec::new());
    let mut per_field = std::collections::BTreeMap::new();
    for d in &docs {
        let photo = std::fs::read(dir.join(d["file"].as_str().unwrap())).unwrap();
        let payload = json!({"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents"}]}).to_string();
        let t = std::time::Instant::now();
        let r = app.upload("/api/instant/folders/", &token, vec![part("doc", photo), Part::Payload(payload)]).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        r.assert_status(200);
        let a = &r.body["analyses"][0];
        if a["resolution_status"] == "OPERATOR_REQUIRED" && d["valid"] == true && d["visual_mismatch"] == false {
            println!("FALSE DISAGREEMENT {}: {}", d["file"], a["results_data"]["text_fields"]);
            false_mismatches += 1;
        }
        if d["visual_mismatch"] == true {
            assert_ne!(a["resolution_status"], "SUCCESS", "{}: {a}", d["file"]);
        }
        portraits += usize::from(a["results_data"]["portrait"]["found"] == true);
        let Some(tf) = a["results_data"]["text_fields"].as_array() else { continue };
        for name in fields {
            let matched = tf.iter().any(|f| {
                f["field_name"] == name
                    && f["visual"].is_string()
                    && (f["status"] == "match" || d["visual_mismatch"] == true)
            });
            *per_field.entry(name).or_insert(0usize) += usize::from(matched);
        }
        let ok = fields.iter().all(|name| {
            let Some(f) = tf.iter().find(|f| f["field_name"] == *name) else { return false };
            let expect = if *name == "surname" && d["visual_mismatch"] == true { "mismatch" } else { "match" };
            f["status"] == expect
        });
        if ok {
            found += 1;
        } else {
            println!("VISUAL {}: {}", d["file"], a["results_data"]["text_fields"]);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{engine:?} on {}: visual fields all found on {found} of {} documents ({:.1} %); false disagreements {false_mismatches}; portrait found on {portraits}; DOCUMENTS per photo (Instant, debug build) p50 {:.0} ms, max {:.0} ms",
        dir.display(),
        docs.len(),
        100.0 * found as f64 / docs.len() as f64,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    for (f, n) in &per_field {
        println!("  {f}: found and agreeing on {n} of {}", docs.len());
    }
    // Issue #19's target is 90 % (docs/documents.md has both OCRs' figures); this guards what
    // each reaches.
    assert!(found as f64 >= min_share * docs.len() as f64, "visual fields found on only {found} of {}", docs.len());
    assert!(false_mismatches <= 3, "{false_mismatches} valid documents sent to an operator on a misread field");
}
