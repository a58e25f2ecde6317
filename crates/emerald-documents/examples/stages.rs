//! Where DOCUMENTS' time goes, stage by stage, and what it reads: the server's steps on every
//! photo of the synthetic corpus (`scripts/make-test-documents.sh`) — decode, MRZ, the
//! portrait's face detection on the upright photo, the visual zone cut with the portrait
//! blanked, PP-OCR's detection, line crops, recognition, the field parser — and the visual
//! fields compared with the MRZ as `text_fields[]` compares them. Variants are run interleaved
//! (each photo through each variant in turn, the order alternating between rounds) so that a
//! shared machine's load falls on all of them alike.
//!
//!   cargo run --release -p emerald-documents --example stages -- [ROUNDS] [VARIANT…]
//!
//! Variants: `det1` (PP-OCR's detector on one thread), `det2` (on two, as the server loads it),
//! `cNNNfMMM` (the first detector pass at NNN pixels, the second at MMM:
//! [`PpOcr::detect_with`]), `sNNN` (line strips squeezed NNN / 100 times along the line), joined
//! `split` / `whole` (the second pass on each cluster of text, or on all of it), joined by `-`
//! (`c480f960-split-s125-det2`); default `det1` and `det2`. Prints each stage's mean and p50 wall time
//! per photo and the process's CPU time (all threads: what an idle machine's wall time would be
//! for the single-threaded stages), and the MRZ and visual-zone scores.
//! EMERALD_TEST_DOCUMENTS_DIR names another corpus.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use emerald_documents::ppocr::{
    crop_line_squeezed, kept_rows, reading_order, split_headings, DetectPlan, Line, PpOcr, DETECT_PLAN,
};
use emerald_documents::visual::{self, FIELDS};
use emerald_documents::{Date, Mrz, Photo};

fn corpus_dir() -> PathBuf {
    emerald_documents::test_corpus_dir()
}

/// One way of running the steps.
struct Variant {
    name: String,
    ocr: PpOcr,
    /// How the detector finds the lines.
    plan: DetectPlan,
    /// Line strips squeezed this many times along the line.
    squeeze: f32,
    /// Headings read only when the other lines miss a field (as the server does).
    lazy: bool,
}

/// CPU time of the whole process so far (every thread, ended ones too), in ms. The one unsafe
/// call of this timing program: std has no process CPU clock.
#[allow(unsafe_code)]
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to write.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

const STAGES: [&str; 7] = ["decode", "mrz", "face", "zone", "detect", "crop", "recognise"];

/// What one photo gave through one variant.
struct Run {
    ms: [f64; STAGES.len()],
    cpu: [f64; STAGES.len()],
    mrz: Option<Mrz>,
    fields: visual::VisualFields,
    portrait: bool,
    lines: Vec<String>,
}

fn run(v: &Variant, engine: &emerald_vision::Engine, bytes: &[u8]) -> Run {
    let mut ms = [0.0; STAGES.len()];
    let mut cpu = [0.0; STAGES.len()];
    let mut t = Instant::now();
    let mut c = cpu_ms();
    let mut lap = |k: usize, t: &mut Instant| {
        ms[k] += t.elapsed().as_secs_f64() * 1000.0;
        *t = Instant::now();
        let now = cpu_ms();
        cpu[k] += now - c;
        c = now;
    };
    let photo = Photo::decode(bytes).expect("a photo");
    lap(0, &mut t);
    let reading = emerald_documents::reader::read_gray(photo.gray());
    let upright = photo.turned(reading.quarter_turns);
    lap(1, &mut t);
    let face = engine.dominant_detection(&upright).expect("the face detector");
    let picture = face.as_ref().map(|d| {
        emerald_documents::portrait::picture(
            [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h],
            upright.width(),
            upright.height(),
        )
    });
    lap(2, &mut t);
    let zone = visual::zone_scaled(&reading.upright, reading.mrz_box, picture, false);
    lap(3, &mut t);
    let mut rows = Vec::new();
    let mut fields = visual::VisualFields::default();
    if let Some(zone) = zone {
        let boxes = reading_order(v.ocr.detect_with(&zone, v.plan).expect("the detector"));
        let (body, headings) = if v.lazy { split_headings(boxes) } else { (boxes, Vec::new()) };
        lap(4, &mut t);
        let read = |boxes: Vec<emerald_documents::ppocr::LineBox>,
                    lap: &mut dyn FnMut(usize, &mut Instant),
                    t: &mut Instant| {
            let strips: Vec<_> = boxes.iter().map(|b| crop_line_squeezed(&zone, b, v.squeeze)).collect();
            lap(5, t);
            let texts = v.ocr.recognise(&strips).expect("the recogniser");
            if std::env::var_os("EMERALD_DEBUG_LINES").is_some() {
                let total: u32 = strips.iter().map(|s| s.width()).sum();
                eprintln!("zone {}x{} strips {} total width {total}", zone.width(), zone.height(), strips.len());
                for ((s, (t, c)), b) in strips.iter().zip(&texts).zip(&boxes) {
                    eprintln!("  {:>5} h{:>5.1} {c:.2} {t:?}", s.width(), 2.0 * b.half_h);
                }
            }
            boxes
                .into_iter()
                .zip(texts)
                .map(|(bbox, (text, confidence))| Line { text, confidence, bbox })
                .collect::<Vec<_>>()
        };
        let body = read(body, &mut lap, &mut t);
        rows = kept_rows(&body);
        fields = visual::parse_placed(&rows);
        if !headings.is_empty() && FIELDS.iter().any(|f| fields.get(f).is_none()) {
            let mut all = read(headings, &mut lap, &mut t);
            all.extend(body);
            rows = kept_rows(&all);
            fields = visual::parse_placed(&rows);
        }
    }
    let lines = rows.into_iter().map(|r| r.text).collect();
    lap(6, &mut t);
    Run { ms, cpu, mrz: reading.mrz, fields, portrait: face.is_some(), lines }
}

/// The MRZ's value of a visual field, as `text_fields[]` shows it (dates ISO 8601).
fn mrz_value(m: &Mrz, field: &str, today: Date) -> Option<String> {
    let s = match field {
        "surname" => m.surname.clone(),
        "given_names" => m.given_names.clone(),
        "document_number" => m.document_number.clone(),
        "nationality" => m.nationality.clone(),
        "sex" => m.sex.clone(),
        "birth_date" => m.birth(today).map(|d| d.to_string()).unwrap_or_else(|| m.birth_date.clone()),
        "expiry_date" => m.expiry(today).map(|d| d.to_string()).unwrap_or_else(|| m.expiry_date.clone()),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

#[derive(Default)]
struct Tally {
    times: Vec<[f64; STAGES.len()]>,
    cpu: Vec<[f64; STAGES.len()]>,
    mrz_correct: usize,
    valid: usize,
    broken_read_valid: usize,
    all_fields: usize,
    per_field: BTreeMap<&'static str, usize>,
    false_disagreements: usize,
    portraits: usize,
    docs: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1);
    let wanted: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let dir = corpus_dir();
    let docs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("a corpus manifest"))
            .expect("JSON");
    let models = emerald_vision::default_models_dir();
    let engine = emerald_vision::Engine::load(&models).expect("the face engine");
    let mut variants = Vec::new();

    let names: Vec<&str> = if wanted.is_empty() { vec!["det1", "det2"] } else { wanted.clone() };
    for name in names {
        // Tokens joined by `-`: det1 / det2 (detector threads), cNNNfMMM (detector passes),
        // sNNN (line strips squeezed NNN / 100 times along the line).
        let (mut threads, mut plan, mut squeeze, mut lazy) = (1, DETECT_PLAN, 1.0f32, false);
        for token in name.split('-') {
            match token {
                "det1" => threads = 1,
                "det2" => threads = 2,
                "split" => plan.clusters = true,
                "lazy" => lazy = true,
                "whole" => plan.clusters = false,
                t if t.starts_with('c') => {
                    (plan.coarse_side, plan.fine_side) = t[1..]
                        .split_once('f')
                        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                        .unwrap_or_else(|| panic!("{t}: cNNNfMMM"))
                }
                t if t.starts_with('h') => {
                    plan.line_px = Some(t[1..].parse::<u32>().unwrap_or_else(|_| panic!("{t}: hNN")))
                }
                t if t.starts_with('s') => {
                    squeeze = t[1..].parse::<f32>().unwrap_or_else(|_| panic!("{t}: sNNN")) / 100.0
                }
                other => panic!("unknown variant token {other}: det1, det2, cNNNfMMM, split, whole or sNNN"),
            }
        }
        let ocr = PpOcr::load_with(&models, threads).expect("PP-OCR's models");
        variants.push(Variant { name: name.to_owned(), ocr, plan, squeeze, lazy });
    }
    let today = Date::today();
    let photos: Vec<(serde_json::Value, Vec<u8>)> = docs
        .into_iter()
        .map(|d| {
            let bytes = std::fs::read(dir.join(d["file"].as_str().unwrap_or_default())).expect("a corpus photo");
            (d, bytes)
        })
        .collect();
    // Warm up every variant.
    for v in &variants {
        run(v, &engine, &photos[0].1);
    }
    let mut tallies: Vec<Tally> = variants.iter().map(|_| Tally::default()).collect();
    for round in 0..rounds {
        for (d, bytes) in &photos {
            let mut order: Vec<usize> = (0..variants.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut readings: Vec<Option<Vec<String>>> = vec![None; variants.len()];
            for k in order {
                let r = run(&variants[k], &engine, bytes);
                readings[k] = r.mrz.as_ref().map(|m| m.lines.clone());
                let tally = &mut tallies[k];
                tally.times.push(r.ms);
                tally.cpu.push(r.cpu);
                if round > 0 {
                    continue;
                }
                score(tally, d, &r, today);
            }
            if readings.windows(2).any(|w| w[0] != w[1]) {
                println!("MRZ READINGS DIFFER {}: {readings:?}", d["file"]);
            }
        }
    }
    for (v, t) in variants.iter().zip(&tallies) {
        report(&v.name, t);
    }
}

fn score(tally: &mut Tally, d: &serde_json::Value, r: &Run, today: Date) {
    let file = d["file"].as_str().unwrap_or_default();
    let valid = d["valid"] == true;
    let forged = d["visual_mismatch"] == true;
    tally.docs += 1;
    tally.portraits += usize::from(r.portrait);
    let expected: Vec<&str> = d["lines"].as_array().into_iter().flatten().filter_map(|l| l.as_str()).collect();
    if valid {
        tally.valid += 1;
        if r.mrz.as_ref().is_some_and(|m| m.valid() && m.lines == expected) {
            tally.mrz_correct += 1;
        } else {
            println!("MRZ MISSED {file}: {:?}", r.mrz.as_ref().map(|m| &m.lines));
        }
    } else if r.mrz.as_ref().is_some_and(Mrz::valid) {
        tally.broken_read_valid += 1;
    }
    let Some(m) = &r.mrz else { return };
    let mut all = true;
    let mut decisive_mismatch = false;
    for name in FIELDS {
        let (vis, mrz) = (r.fields.get(name), mrz_value(m, name, today));
        let matched = match (vis, mrz.as_deref()) {
            (Some(v), Some(mv)) => visual::compare(name, v, mv),
            _ => false,
        };
        let mismatch = vis.is_some() && mrz.is_some() && !matched;
        if mismatch && ["surname", "given_names", "document_number", "birth_date", "expiry_date"].contains(&name) {
            decisive_mismatch = true;
        }
        let expect_match = !(forged && name == "surname");
        let ok = if expect_match { matched } else { mismatch };
        *tally.per_field.entry(name).or_default() += usize::from(ok);
        all &= ok;
    }
    if decisive_mismatch && valid && !forged {
        tally.false_disagreements += 1;
    }
    if all {
        tally.all_fields += 1;
    } else {
        println!("VISUAL {file}: {:?}; lines {:?}", r.fields.fields, r.lines);
    }
}

fn report(name: &str, t: &Tally) {
    let n = t.times.len().max(1) as f64;
    println!("== {name}: {} runs", t.times.len());
    let mut totals: Vec<f64> = t.times.iter().map(|s| s.iter().sum()).collect();
    totals.sort_by(f64::total_cmp);
    for (k, stage) in STAGES.iter().enumerate() {
        let mut v: Vec<f64> = t.times.iter().map(|s| s[k]).collect();
        v.sort_by(f64::total_cmp);
        let cpu = t.cpu.iter().map(|s| s[k]).sum::<f64>() / n;
        println!(
            "  {stage:<10} mean {:>6.1} ms  p50 {:>6.1} ms  cpu {cpu:>6.1} ms",
            v.iter().sum::<f64>() / n,
            v[v.len() / 2]
        );
    }
    let mut cpu_totals: Vec<f64> = t.cpu.iter().map(|s| s.iter().sum()).collect();
    cpu_totals.sort_by(f64::total_cmp);
    println!(
        "  cpu total  mean {:>6.1} ms  p50 {:>6.1} ms",
        cpu_totals.iter().sum::<f64>() / n,
        cpu_totals[cpu_totals.len() / 2]
    );
    println!(
        "  total      mean {:>6.1} ms  p50 {:>6.1} ms  p90 {:>6.1} ms",
        totals.iter().sum::<f64>() / n,
        totals[totals.len() / 2],
        totals[(totals.len() * 9 / 10).min(totals.len() - 1)]
    );
    println!(
        "  MRZ fully correct {}/{}; broken read valid {}; visual fields all found {}/{} ({:.1} %); false disagreements {}; portraits {}",
        t.mrz_correct,
        t.valid,
        t.broken_read_valid,
        t.all_fields,
        t.docs,
        100.0 * t.all_fields as f64 / t.docs.max(1) as f64,
        t.false_disagreements,
        t.portraits
    );
    println!("  per field: {:?}", t.per_field);
}
