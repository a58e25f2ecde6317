//! The face engine benchmark of issue #5 (run by `bench/vision.sh`):
//!
//! * per stage (decode, detect, alignment points, align, embed, anti-spoof) and end to end per photo, one thread,
//!   medians — a 640×480 and a 1920×1080 single-face photo, and a 1920×1080 group photo;
//! * end to end with one and with two threads working at once (photos per second);
//! * the raw per-model inference times of onnxruntime (and tract) measured in the same run, and
//!   the ratio of the end-to-end time to the onnxruntime sum — the practical limit;
//! * peak RSS of the process.
//!
//! The runtime of the engine follows `EMERALD_RUNTIME` (`auto`, `tract`, `ort`).
//! Needs `scripts/fetch-models.sh` and `scripts/fetch-test-images.sh`.
//!
//! `cargo run --release -p emerald-vision --example bench_pipeline -- [--runs 30] [--seconds 5]`

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emerald_vision::{
    decode_image, encode_jpeg, raw_inference_times, Backend, Engine, FaceEmbedder, FrFeature, FrLiveness,
    SpoofDetector, YuNet,
};
use image::{imageops, DynamicImage};

fn image_bytes(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("EMERALD_TEST_IMAGES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/emerald/test-images"));
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}; run scripts/fetch-test-images.sh"))
}

/// The benchmark photos, JPEG-encoded: (label, bytes).
fn photos() -> Vec<(&'static str, Vec<u8>)> {
    let obama = DynamicImage::ImageRgb8(decode_image(&image_bytes("obama.jpg")).expect("decode"));
    let small = obama.resize_to_fill(640, 480, imageops::FilterType::Triangle).into_rgb8();
    // 16:9 would crop the face off a portrait photo: fit it into the frame, centred.
    let fitted = obama.resize(1920, 1080, imageops::FilterType::Triangle).into_rgb8();
    let mut large = image::RgbImage::from_pixel(1920, 1080, image::Rgb([128, 128, 128]));
    imageops::overlay(
        &mut large,
        &fitted,
        i64::from((1920 - fitted.width()) / 2),
        i64::from((1080 - fitted.height()) / 2),
    );
    let group = decode_image(&image_bytes("sample5.jpg")).expect("decode");
    let group = imageops::crop_imm(&group, 0, 80, 1920.min(group.width()), 1080.min(group.height() - 80)).to_image();
    vec![
        ("640x480", encode_jpeg(&small).expect("jpeg")),
        ("1920x1080", encode_jpeg(&large).expect("jpeg")),
        ("1920x1080 group", encode_jpeg(&group).expect("jpeg")),
    ]
}

/// Median wall time of `f` over `runs` runs after one warm-up run.
fn median<T>(mut f: impl FnMut() -> T, runs: usize) -> Duration {
    std::hint::black_box(f());
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Photos per second with `threads` threads each running the whole pipeline for `seconds`.
fn throughput(engine: &Arc<Engine>, jpeg: &Arc<Vec<u8>>, threads: usize, seconds: f64) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (engine, jpeg, done, stop) = (engine.clone(), jpeg.clone(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    engine.faces_in_bytes(&jpeg).expect("faces");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("bench thread");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let mut runs = 30usize;
    let mut seconds = 5.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).expect("--seconds S"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = Engine::default_models_dir();
    let load = Instant::now();
    let engine = Arc::new(Engine::load(&dir).unwrap_or_else(|e| panic!("{e}; run scripts/fetch-models.sh")));
    let load = load.elapsed();
    let names = ["yunet", "fr_feature", "fr_liveness"];
    let runtimes: Vec<String> =
        engine.runtimes().iter().zip(names).map(|(b, n)| format!("{n}={}", b.map_or("-", Backend::as_str))).collect();
    println!(
        "engine: {} (EMERALD_RUNTIME={}), loaded in {} ms",
        runtimes.join(" "),
        std::env::var("EMERALD_RUNTIME").unwrap_or_else(|_| "auto".into()),
        load.as_millis()
    );
    // Stage-level handles on the same runtime choice as the engine.
    let embedder = FrFeature::load(&dir).expect("fr_feature");
    let liveness = FrLiveness::load(&dir).expect("fr_liveness");

    println!("\nraw inference per model, one thread, median of {runs} (ms):");
    let mut ort_sum = None;
    for backend in [Backend::OnnxRuntime, Backend::Tract] {
        match raw_inference_times(&dir, backend, runs) {
            Ok(times) => {
                let sum: Duration = times.iter().map(|(_, t)| *t).sum();
                let each: Vec<String> = times.iter().map(|(n, t)| format!("{n} {}", ms(*t))).collect();
                println!("  {:<12} {}  | sum {}", backend.as_str(), each.join("  "), ms(sum));
                if backend == Backend::OnnxRuntime {
                    ort_sum = Some(sum);
                }
            }
            Err(e) => println!("  {:<12} unavailable: {e}", backend.as_str()),
        }
    }

    println!("\nper stage and end to end, one thread, median of {runs} (ms):");
    println!(
        "  {:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>11} {:>14} {:>14}",
        "photo",
        "decode",
        "detect",
        "points",
        "align",
        "embed",
        "antispoof",
        "end-to-end",
        "1 thread /s",
        "2 threads /s"
    );
    let mut e2e_small = None;
    for (label, jpeg) in photos() {
        let img = decode_image(&jpeg).expect("decode");
        let dets = engine.detect(&img).expect("detect");
        let det =
            dets.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area())).expect("the photo has a face").clone();
        let points = engine.alignment_points(&img, &det).expect("points");
        let aligned = engine.align(&img, &points);
        let decode = median(|| decode_image(&jpeg).expect("decode"), runs);
        let detect = median(|| engine.detect(&img).expect("detect"), runs);
        let refine = median(|| engine.alignment_points(&img, &det).expect("points"), runs);
        let align = median(|| engine.align(&img, &points), runs);
        let embed = median(|| embedder.embed(&aligned).expect("embed"), runs);
        let spoof = median(|| liveness.attack_probability(&img, &det.bbox).expect("liveness"), runs);
        let e2e = median(|| engine.faces_in_bytes(&jpeg).expect("faces"), runs);
        if label == "640x480" {
            e2e_small = Some(e2e);
        }
        let jpeg = Arc::new(jpeg);
        let t1 = throughput(&engine, &jpeg, 1, seconds);
        let t2 = throughput(&engine, &jpeg, 2, seconds);
        println!(
            "  {:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>11} {:>14.1} {:>14.1}   ({} face(s))",
            label,
            ms(decode),
            ms(detect),
            ms(refine),
            ms(align),
            ms(embed),
            ms(spoof),
            ms(e2e),
            t1,
            t2,
            dets.len()
        );
    }
    // The detector on the file's 640×640 letterbox against the photo's own aspect (what the
    // engine does on onnxruntime), the two interleaved so that both see the same machine.
    let yunet = YuNet::load(&dir).expect("yunet");
    if yunet.takes_any_size() {
        println!("\ndetector canvas, one thread, median of {runs} interleaved pairs (ms):");
        for (label, jpeg) in photos() {
            let img = decode_image(&jpeg).expect("decode");
            let (mut square, mut fitted) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                square.push(median(|| yunet.detect_on_canvas(&img, false).expect("square"), 1));
                fitted.push(median(|| yunet.detect_on_canvas(&img, true).expect("fitted"), 1));
            }
            square.sort();
            fitted.sort();
            let (sq, fi) = (square[runs / 2], fitted[runs / 2]);
            println!(
                "  {label:<16} 640x640 {:>7}  fitted {:>7}  ({:.2}x)",
                ms(sq),
                ms(fi),
                sq.as_secs_f64() / fi.as_secs_f64()
            );
        }
    }
    if let (Some(e2e), Some(sum)) = (e2e_small, ort_sum) {
        println!(
            "\nratio end-to-end 640x480 / onnxruntime per-model sum: {} / {} = {:.2}x (goal <= 1.3x)",
            ms(e2e),
            ms(sum),
            e2e.as_secs_f64() / sum.as_secs_f64()
        );
    }
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.0} MiB");
    }
}
