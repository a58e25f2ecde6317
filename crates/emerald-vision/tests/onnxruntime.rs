//! The onnxruntime backend (feature `ort`), forced with `EMERALD_RUNTIME=ort` in this test
//! process (its own binary, so the setting cannot leak into other tests): it must load the
//! PyPI wheel's library and reproduce the golden reference embeddings like tract does.
//! Skipped, saying so, when the library is not provisioned.

#![cfg(feature = "ort")]

mod common;

use common::{image_bytes, reference_embeddings};
use emerald_vision::{
    cosine, decode_image, Engine, FrLiveness, OnnxEmbedder, YuNet, FR_FEATURE, FR_FEATURE_CALIBRATION,
};
use image::{imageops, DynamicImage};

/// Forces onnxruntime in this test binary; false (saying so) when its library is missing.
fn onnxruntime() -> bool {
    let lib_dir = Engine::default_models_dir().join("onnxruntime");
    let provisioned = std::env::var_os("EMERALD_ONNXRUNTIME_LIB").is_some()
        || std::fs::read_dir(&lib_dir).map(|mut d| d.next().is_some()).unwrap_or(false);
    if !provisioned {
        println!("SKIPPED: no libonnxruntime in {} (scripts/fetch-models.sh fetches it)", lib_dir.display());
        return false;
    }
    // Set once, before any test of this binary loads a model.
    static FORCE: std::sync::Once = std::sync::Once::new();
    FORCE.call_once(|| std::env::set_var("EMERALD_RUNTIME", "ort"));
    true
}

#[test]
fn onnxruntime_backend_reproduces_the_reference() {
    if !onnxruntime() {
        return;
    }
    // The reference holds fr_feature vectors of the largest face, aligned by the detector's
    // points: an engine without the ONet refiner.
    let dir = Engine::default_models_dir();
    let engine = Engine::with_models(
        Box::new(YuNet::load(&dir).expect("yunet on onnxruntime")),
        Box::new(OnnxEmbedder::load_model(&dir, &FR_FEATURE).expect("fr_feature on onnxruntime")),
        Box::new(FrLiveness::load(&dir).expect("fr_liveness on onnxruntime")),
        FR_FEATURE_CALIBRATION,
    );
    let mut checked = 0;
    for (name, reference) in reference_embeddings() {
        let faces = engine.faces_in_image(&decode_image(&image_bytes(name)).expect("decode")).expect("analysis");
        let main = faces
            .iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .unwrap_or_else(|| panic!("{name}: no face"));
        let cos = cosine(&main.embedding.vector, &reference).expect("same length");
        assert!(cos >= 0.99, "{name}: onnxruntime embedding vs reference cosine {cos}");
        checked += 1;
    }
    assert!(checked >= 4);
}

/// On onnxruntime the detector runs at the photo's own aspect (640×480 for a 640×480 photo)
/// instead of the file's 640×640 letterbox: it must find the same faces at the same places.
#[test]
fn detector_at_the_photos_aspect_finds_what_the_square_canvas_finds() {
    if !onnxruntime() {
        return;
    }
    let yunet = YuNet::load(&Engine::default_models_dir()).expect("yunet");
    assert!(yunet.takes_any_size(), "onnxruntime should run YuNet at any input size");
    let mut compared = 0;
    let mut moved = Vec::new();
    for name in ["obama.jpg", "obama2.jpg", "biden.jpg", "sample1.jpg", "sample3.jpg", "sample5.jpg"] {
        let full = decode_image(&image_bytes(name)).expect("decode");
        let original = DynamicImage::ImageRgb8(full.clone());
        // The photo as sent, a landscape 640×480 and a portrait 480×640 crop of it.
        let landscape = original.resize_to_fill(640, 480, imageops::FilterType::Triangle).into_rgb8();
        let portrait = original.resize_to_fill(480, 640, imageops::FilterType::Triangle).into_rgb8();
        for (label, img) in [("as sent", full), ("640x480", landscape), ("480x640", portrait)] {
            let square = yunet.detect_on_canvas(&img, false).expect("square");
            let fitted = yunet.detect_on_canvas(&img, true).expect("fitted");
            let confident = |d: &&emerald_vision::Detection| d.score >= 0.8;
            let (sq, fi): (Vec<_>, Vec<_>) =
                (square.iter().filter(confident).collect(), fitted.iter().filter(confident).collect());
            assert_eq!(
                sq.len(),
                fi.len(),
                "{name} {label}: {} faces on the square canvas, {} fitted",
                sq.len(),
                fi.len()
            );
            for a in &sq {
                let b = fi
                    .iter()
                    .max_by(|x, y| x.bbox.iou(&a.bbox).total_cmp(&y.bbox.iou(&a.bbox)))
                    .expect("a fitted face");
                let iou = a.bbox.iou(&b.bbox);
                assert!(iou >= 0.9, "{name} {label}: box IoU {iou}");
                assert!((a.score - b.score).abs() <= 0.05, "{name} {label}: scores {} and {}", a.score, b.score);
                // A face cut by the image's edge sees the zero canvas as picture on the square
                // and the network's own padding when fitted: up to ~4 % of its size measured.
                let tolerance = 0.05 * a.bbox.w.max(a.bbox.h);
                for (p, q) in a.landmarks.iter().zip(&b.landmarks) {
                    let d = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
                    assert!(d <= tolerance, "{name} {label}: landmark moved {d} px (tolerance {tolerance})");
                    moved.push(d);
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 12, "only {compared} faces compared");
    moved.sort_by(f32::total_cmp);
    let median = moved[moved.len() / 2];
    assert!(median <= 0.25, "median landmark displacement {median} px");
}

/// onnxruntime runs with subnormals flushed to zero on the calling thread (fr_feature's
/// activations go subnormal, slow on Intel cores), and the thread's floating-point flags are
/// restored after every run: Rust arithmetic afterwards still produces subnormal numbers.
#[test]
fn the_calling_threads_float_flags_are_restored_after_a_run() {
    if !onnxruntime() {
        return;
    }
    let half_of_smallest_normal = || std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.5);
    assert!(half_of_smallest_normal().is_subnormal(), "this thread flushes subnormals before any run");
    let engine = Engine::load(&Engine::default_models_dir()).expect("engine on onnxruntime");
    let faces = engine.faces_in_image(&decode_image(&image_bytes("obama.jpg")).expect("decode")).expect("analysis");
    assert!(!faces.is_empty() && faces[0].embedding.vector.iter().all(|v| v.is_finite()));
    assert!(half_of_smallest_normal().is_subnormal(), "an onnxruntime run left subnormals flushed on this thread");
}
