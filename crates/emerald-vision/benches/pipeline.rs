//! Per-stage and end-to-end timings of the face pipeline on a 640×480 and a 1920×1080 photo.
//! Needs `scripts/fetch-models.sh` and `scripts/fetch-test-images.sh`.
//! `CARGO_TARGET_DIR=/work/target-vision cargo bench -p emerald-vision --bench pipeline`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use emerald_vision::{decode_image, encode_jpeg, Engine, FaceEmbedder, FrFeature, SpoofDetector, FrLiveness};
use image::{imageops, DynamicImage};

fn image_bytes(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("EMERALD_TEST_IMAGES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/emerald/test-images"));
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}; run scripts/fetch-test-images.sh"))
}

/// JPEG photos of the two benchmark sizes, made from the cached test images.
fn photos() -> Vec<(&'static str, Vec<u8>)> {
    let obama = decode_image(&image_bytes("obama.jpg")).expect("decode");
    let small = DynamicImage::ImageRgb8(obama).resize_to_fill(640, 480, imageops::FilterType::Triangle).into_rgb8();
    let group = decode_image(&image_bytes("sample5.jpg")).expect("decode");
    let large = imageops::crop_imm(&group, 0, 80, 1920, 1080).to_image();
    vec![("640x480", encode_jpeg(&small).expect("jpeg")), ("1920x1080", encode_jpeg(&large).expect("jpeg"))]
}

fn pipeline(c: &mut Criterion) {
    let dir = Engine::default_models_dir();
    let engine = Engine::load(&dir).unwrap_or_else(|e| panic!("{e}; run scripts/fetch-models.sh"));
    let embedder = FrFeature::load(&dir).expect("fr_feature");
    let liveness = FrLiveness::load(&dir).expect("fr_liveness");
    let mut g = c.benchmark_group("vision");
    g.sample_size(20);
    for (size, jpeg) in photos() {
        let img = decode_image(&jpeg).expect("decode");
        let dets = engine.detect(&img).expect("detect");
        let det = dets.first().expect("the benchmark photo has a face").clone();
        let aligned = engine.align(&img, &det.landmarks);
        g.bench_function(format!("decode/{size}"), |b| b.iter(|| decode_image(&jpeg).expect("decode")));
        g.bench_function(format!("detect/{size}"), |b| b.iter(|| engine.detect(&img).expect("detect")));
        g.bench_function(format!("align/{size}"), |b| b.iter(|| engine.align(&img, &det.landmarks)));
        g.bench_function(format!("embed/{size}"), |b| b.iter(|| embedder.embed(&aligned).expect("embed")));
        g.bench_function(format!("liveness/{size}"), |b| {
            b.iter(|| liveness.attack_probability(&img, &det.bbox).expect("liveness"))
        });
        println!("{size}: {} face(s)", dets.len());
        g.bench_function(format!("end_to_end/{size}"), |b| {
            b.iter(|| engine.faces_in_bytes(&jpeg).expect("faces"))
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
