//! Evaluate the engine on faces-dev: cosine of every pair in pairs.csv (accuracy, FAR and FRR
//! at a sweep of thresholds) and the passive spoof score per species of spoof/labels.csv.
//! `cargo run --release --example eval_faces_dev -- /path/to/faces-dev`. Internal data: the
//! figures it prints go to docs/vision.md; nothing of the data enters the repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use emerald_vision::{Engine, Face};

fn main_face(engine: &Engine, path: &Path) -> Option<Face> {
    let bytes = std::fs::read(path).ok()?;
    engine.faces_in_bytes(&bytes).ok()?.into_iter().next()
}

fn par_map(engine: &Engine, paths: &[PathBuf]) -> HashMap<PathBuf, Option<Face>> {
    let out = Mutex::new(HashMap::new());
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("lock");
                    *n += 1;
                    *n - 1
                };
                let Some(p) = paths.get(i) else { break };
                let f = main_face(engine, p);
                out.lock().expect("lock").insert(p.clone(), f);
            });
        }
    });
    out.into_inner().expect("lock")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::args().nth(1).ok_or("usage: eval_faces_dev FACES_DEV_DIR")?);
    let engine = Engine::load(&Engine::default_models_dir())?;
    let pairs_csv = std::fs::read_to_string(root.join("pairs.csv"))?;
    let pairs: Vec<(PathBuf, PathBuf, bool)> = pairs_csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() >= 3).then(|| (root.join(f[0]), root.join(f[1]), f[2] == "1"))
        })
        .collect();
    let mut paths: Vec<PathBuf> = pairs.iter().flat_map(|(a, b, _)| [a.clone(), b.clone()]).collect();
    paths.sort();
    paths.dedup();
    let faces = par_map(&engine, &paths);
    let no_face = faces.values().filter(|f| f.is_none()).count();
    let mut scored: Vec<(f32, bool)> = Vec::new();
    let mut unscored = 0;
    for (a, b, same) in &pairs {
        match (&faces[a], &faces[b]) {
            (Some(fa), Some(fb)) => scored.push((fa.embedding.cosine(&fb.embedding).unwrap_or(-1.0), *same)),
            _ => unscored += 1,
        }
    }
    println!("images {} (no face: {no_face}), pairs {} (unscored: {unscored})", paths.len(), pairs.len());
    let pos = scored.iter().filter(|s| s.1).count() as f32;
    let neg = scored.len() as f32 - pos;
    for t in (20..=60).step_by(5).map(|t| t as f32 / 100.0) {
        let fr = scored.iter().filter(|(c, s)| *s && *c < t).count() as f32;
        let fa = scored.iter().filter(|(c, s)| !*s && *c >= t).count() as f32;
        let acc = 1.0 - (fr + fa) / scored.len() as f32;
        println!("cosine >= {t:.2}: accuracy {:.4}  FRR {:.4}  FAR {:.4}", acc, fr / pos, fa / neg);
    }
    let pct = |same: bool, q: f32| {
        let mut v: Vec<f32> = scored.iter().filter(|s| s.1 == same).map(|s| s.0).collect();
        v.sort_by(f32::total_cmp);
        v[((v.len() - 1) as f32 * q) as usize]
    };
    println!(
        "same: p1 {:.3} p5 {:.3} median {:.3}; different: median {:.3} p95 {:.3} p99 {:.3} max {:.3}",
        pct(true, 0.01),
        pct(true, 0.05),
        pct(true, 0.5),
        pct(false, 0.5),
        pct(false, 0.95),
        pct(false, 0.99),
        pct(false, 1.0)
    );

    // Passive liveness per species.
    let labels = std::fs::read_to_string(root.join("spoof/labels.csv"))?;
    let rows: Vec<(PathBuf, String)> = labels
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() >= 3).then(|| (root.join("spoof").join(f[0]), f[2].to_owned()))
        })
        .collect();
    let spaths: Vec<PathBuf> = rows.iter().map(|r| r.0.clone()).collect();
    let sfaces = par_map(&engine, &spaths);
    let mut by: HashMap<String, Vec<f32>> = HashMap::new();
    let mut noface: HashMap<String, usize> = HashMap::new();
    for (p, species) in &rows {
        match &sfaces[p] {
            Some(f) => by.entry(species.clone()).or_default().push(f.spoof),
            None => *noface.entry(species.clone()).or_default() += 1,
        }
    }
    let mut species: Vec<_> = by.keys().cloned().collect();
    species.sort();
    for s in species {
        let v = &by[&s];
        let attack = v.iter().filter(|x| **x >= 0.5).count();
        println!(
            "spoof {s:12} n {:3} (no face {}): mean p(attack) {:.3}, judged attack at 0.5: {attack}/{}",
            v.len(),
            noface.get(&s).copied().unwrap_or(0),
            v.iter().sum::<f32>() / v.len() as f32,
            v.len()
        );
    }
    Ok(())
}
