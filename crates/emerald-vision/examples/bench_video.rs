//! Video decoding and QUALITY on videos (issue #18, run by `bench/video.sh`): for each video, the
//! medians of
//!
//! * `decode_video` alone (the frames QUALITY analyses: 8 spread over the first 6 s), with the
//!   frames the decoder decoded to deliver them and the time per decoded frame;
//! * `Engine::analyze_media` as QUALITY runs it (decode, then per frame: detection, anti-spoofing,
//!   quality; no embedding, no best shot).
//!
//! `cargo run --release -p emerald-vision --example bench_video -- [--runs 15] LABEL=FILE…`

use std::time::Instant;

use emerald_vision::{decode_video, probe_video, Engine, MediaOptions};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut runs = 15usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N");
        } else {
            let (label, path) = a.split_once('=').expect("LABEL=FILE");
            files.push((label.to_owned(), std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))));
        }
    }
    let engine = Engine::load(&Engine::default_models_dir()).expect("models (scripts/fetch-models.sh)");
    match emerald_vision::ffmpeg_status() {
        Ok(ff) => println!("decoder: ffmpeg {} at {}", ff.version, ff.path.display()),
        Err(e) => panic!("{e}"),
    }
    let quality = MediaOptions { embed: false, spoof: true, want_best_shot: false, ..MediaOptions::default() };
    println!(
        "| video | container, codec, size | frames in 5 s | frames decoded | decode p50 | per decoded frame | QUALITY engine p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, bytes) in &files {
        let info = probe_video(bytes).expect("probe");
        // Warm-up (page cache, first process start).
        let _ = decode_video(bytes, 8).expect("decode");
        let _ = engine.analyze_media(bytes, &quality).expect("analysis");
        let mut decode_ms = Vec::with_capacity(runs);
        let mut decoded = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let v = decode_video(bytes, 8).expect("decode");
            decode_ms.push(t.elapsed().as_secs_f64() * 1e3);
            decoded = v.frames_decoded.unwrap_or(0);
            assert_eq!(v.frames.len(), 8);
        }
        let mut quality_ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let r = engine.analyze_media(bytes, &quality).expect("analysis");
            quality_ms.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(r.best_face.is_some(), "{label}: no face");
        }
        let decode = median(decode_ms);
        println!(
            "| {label} | {} ({} KiB) | {} | {decoded} | {decode:.0} ms | {:.1} ms | {:.0} ms |",
            info.label(),
            bytes.len() / 1024,
            info.frames.map_or("?".into(), |n| n.to_string()),
            decode / decoded.max(1) as f64,
            median(quality_ms)
        );
    }
}
