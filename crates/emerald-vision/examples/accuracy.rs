//! The engine pass of the accuracy report (`bench/accuracy.sh` runs it and the HTTP pass, and
//! puts both into `docs/accuracy.md`).
//!
//! `cargo run --release -p emerald-vision --example accuracy -- FACES_DEV_DIR [fused|fr_feature|mobilefacenet]`
//!
//! Over a labelled folder laid out like `faces-dev` (`faces/<identity>/*.jpg`, `pairs.csv`,
//! `spoof/labels.csv`, `videos/labels.csv`) it measures, with the same calls the server makes
//! (the dominant face of each photo, `analyze_media` for liveness):
//! - **1:1** on the listed pairs and on *every* pair of photos (all same-identity pairs against
//!   all cross-identity pairs): ROC/DET points, FMR and FNMR at confidence thresholds, TAR at
//!   FMR 10⁻³/10⁻⁴/10⁻⁵, AUC and EER;
//! - **enrolment**: photos without a face and photos refused as ambiguous (two comparably
//!   dominant faces);
//! - **liveness** per species, photos and videos: judged live / judged attack / cannot assess /
//!   no face, APCER per attack species and BPCER;
//! - **1:N**: the first photo of each identity with two or more enrolled, the second as a probe
//!   (mated search), every identity with a single photo as a stranger (non-mated): FNIR and FPIR
//!   at confidence thresholds, with the gallery-size-aware confidence the server uses.
//!
//! It prints Markdown. Figures on a tuning set are tuning-set figures; the report says so.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use emerald_vision::{EmbedderChoice, Engine, Face, MediaOptions, COMPARABLE_FACE_RATIO};

const THRESHOLDS: [f32; 8] = [0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95];

fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("lock");
                    *n += 1;
                    *n - 1
                };
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().expect("lock")[i] = Some(r);
            });
        }
    });
    out.into_inner().expect("lock").into_iter().map(|r| r.expect("every item mapped")).collect()
}

/// The face the server would use: the most dominant one (`faces_in_bytes` orders by dominance).
struct Photo {
    identity: String,
    path: PathBuf,
    face: Option<Face>,
}

fn photos(root: &Path, engine: &Engine) -> Result<Vec<Photo>, Box<dyn std::error::Error>> {
    let mut paths = Vec::new();
    let mut ids: Vec<_> = std::fs::read_dir(root.join("faces"))?.flatten().map(|e| e.path()).collect();
    ids.sort();
    for dir in ids.into_iter().filter(|p| p.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(&dir)?.flatten().map(|e| e.path()).collect();
        files.sort();
        let identity = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        paths.extend(files.into_iter().map(|p| (identity.clone(), p)));
    }
    let faces = par_map(&paths, |(_, p)| {
        std::fs::read(p).ok().and_then(|b| engine.faces_in_bytes(&b).ok()).and_then(|f| f.into_iter().next())
    });
    Ok(paths.into_iter().zip(faces).map(|((identity, path), face)| Photo { identity, path, face }).collect())
}

/// Scores of genuine and impostor comparisons.
struct Scores {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
}

impl Scores {
    fn sorted(mut self) -> Scores {
        self.genuine.sort_by(f32::total_cmp);
        self.impostor.sort_by(f32::total_cmp);
        self
    }

    /// Share of `v` (sorted) at or above `t`.
    fn above(v: &[f32], t: f32) -> f64 {
        let i = v.partition_point(|x| *x < t);
        (v.len() - i) as f64 / v.len().max(1) as f64
    }

    fn fmr(&self, t: f32) -> f64 {
        Self::above(&self.impostor, t)
    }

    fn fnmr(&self, t: f32) -> f64 {
        1.0 - Self::above(&self.genuine, t)
    }

    /// The lowest score threshold whose FMR is at most `fmr`, and the TAR there.
    fn tar_at(&self, fmr: f64) -> Option<(f32, f64)> {
        let n = self.impostor.len();
        let allowed = (fmr * n as f64).floor() as usize;
        if fmr * (n as f64) < 1.0 {
            return None; // too few impostors to say
        }
        let t = self.impostor[n - 1 - allowed.min(n - 1)];
        let t = f32::from_bits(t.to_bits() + 1); // strictly above the allowed-th highest impostor
        Some((t, 1.0 - self.fnmr(t)))
    }

    fn auc(&self) -> f64 {
        // Mann–Whitney: P(genuine > impostor) + ½ P(tie).
        let mut wins = 0f64;
        for g in &self.genuine {
            let lo = self.impostor.partition_point(|x| x < g);
            let hi = self.impostor.partition_point(|x| x <= g);
            wins += lo as f64 + 0.5 * (hi - lo) as f64;
        }
        wins / (self.genuine.len() as f64 * self.impostor.len() as f64)
    }

    fn eer(&self) -> f64 {
        let (mut lo, mut hi) = (-1.0f32, 1.0f32);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.fmr(mid) > self.fnmr(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (self.fmr(hi) + self.fnmr(hi))
    }
}

fn pct(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x < 0.001 {
        format!("{:.4} %", 100.0 * x)
    } else {
        format!("{:.2} %", 100.0 * x)
    }
}

fn one_to_one(engine: &Engine, title: &str, s: &Scores) {
    let cal = engine.calibration();
    println!("#### {title}\n");
    println!(
        "{} genuine, {} impostor comparisons. AUC {:.5}, EER {}.\n",
        s.genuine.len(),
        s.impostor.len(),
        s.auc(),
        pct(s.eer())
    );
    println!("| confidence ≥ | cosine ≥ | FMR | FNMR |\n| --- | --- | --- | --- |");
    for c in THRESHOLDS {
        if let Some(t) = cal.verify_cosine(c) {
            println!("| {c:.2} | {t:.3} | {} | {} |", pct(s.fmr(t)), pct(s.fnmr(t)));
        }
    }
    println!("\n| at FMR | cosine | confidence | TAR | FNMR |\n| --- | --- | --- | --- | --- |");
    for fmr in [1e-2, 1e-3, 1e-4, 1e-5, 1e-6] {
        match s.tar_at(fmr) {
            Some((t, tar)) => {
                println!("| {fmr:.0e} | {t:.3} | {:.3} | {:.4} | {} |", cal.verify_confidence(t), tar, pct(1.0 - tar))
            }
            None => println!("| {fmr:.0e} | — | — | too few impostor pairs | — |"),
        }
    }
    println!();
}

#[derive(Default)]
struct Pad {
    live: usize,
    attack: usize,
    cannot_assess: usize,
    no_face: usize,
    failed: usize,
}

fn pad_row(species: &str, bona_fide: bool, p: &Pad) -> String {
    let judged = p.live + p.attack;
    let error = if bona_fide { p.attack } else { p.live };
    format!(
        "| {species} | {} | {} | {} | {} | {} | {} | {} {} ({} of {judged} judged) |",
        if bona_fide { "bona fide" } else { "attack" },
        p.live + p.attack + p.cannot_assess + p.no_face + p.failed,
        p.live,
        p.attack,
        p.cannot_assess,
        p.no_face + p.failed,
        if bona_fide { "BPCER" } else { "APCER" },
        pct(error as f64 / judged.max(1) as f64),
        error,
    )
}

fn liveness(engine: &Engine, root: &Path, labels: &str, title: &str, threshold: f32) {
    let Ok(csv) = std::fs::read_to_string(root.join(labels)) else {
        println!("({labels} not found: {title} skipped)\n");
        return;
    };
    let base = root.join(Path::new(labels).parent().unwrap_or(Path::new("")));
    let rows: Vec<(PathBuf, bool, String)> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() >= 3).then(|| (base.join(f[0]), f[1] == "bona_fide", f[2].to_owned()))
        })
        .collect();
    let reports = par_map(&rows, |(p, _, _)| {
        let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
        let opts = MediaOptions { embed: false, ..MediaOptions::default() };
        engine.analyze_media(&bytes, &opts).map_err(|e| e.to_string())
    });
    let mut by: BTreeMap<(bool, String), Pad> = BTreeMap::new();
    for ((path, bona_fide, species), r) in rows.iter().zip(&reports) {
        let p = by.entry((!*bona_fide, species.clone())).or_default();
        match r {
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                p.failed += 1;
            }
            Ok(r) if r.best_face.is_none() => p.no_face += 1,
            Ok(r) => match r.confidence_spoofing {
                Some(s) if s >= threshold => p.attack += 1,
                Some(_) => p.live += 1,
                None => p.cannot_assess += 1,
            },
        }
    }
    println!("#### {title}\n");
    println!(
        "| species | label | n | judged live | judged attack | cannot assess | no face / undecodable | error rate |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for ((attack, species), p) in &by {
        println!("{}", pad_row(species, !attack, p));
    }
    println!();
}

fn one_to_n(engine: &Engine, photos: &[Photo]) {
    let mut by_id: BTreeMap<&str, Vec<&Face>> = BTreeMap::new();
    for p in photos {
        if let Some(f) = &p.face {
            by_id.entry(&p.identity).or_default().push(f);
        }
    }
    let gallery: Vec<(&str, &Face)> = by_id.iter().filter(|(_, f)| f.len() >= 2).map(|(id, f)| (*id, f[0])).collect();
    let mated: Vec<(&str, &Face)> = by_id.iter().filter(|(_, f)| f.len() >= 2).map(|(id, f)| (*id, f[1])).collect();
    let strangers: Vec<&Face> = by_id.values().filter(|f| f.len() == 1).map(|f| f[0]).collect();
    let n = gallery.len();
    let top = |probe: &Face| -> (usize, f32) {
        gallery
            .iter()
            .enumerate()
            .map(|(i, (_, g))| (i, probe.embedding.cosine(&g.embedding).unwrap_or(-1.0)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, -1.0))
    };
    let mated_top: Vec<(bool, f32)> = mated
        .iter()
        .map(|(id, f)| {
            let (i, c) = top(f);
            (gallery[i].0 == *id, c)
        })
        .collect();
    let stranger_top: Vec<f32> = strangers.iter().map(|f| top(f).1).collect();
    let cal = engine.calibration();
    println!("#### 1:N (COLLECTION)\n");
    println!(
        "Gallery: the first photo of each of the {n} identities with two or more photos; mated probes: their \
         second photo ({}); non-mated probes: the {} identities with a single photo. Rank-1 identification rate \
         (no threshold): {}.\n",
        mated.len(),
        strangers.len(),
        pct(mated_top.iter().filter(|(ok, _)| *ok).count() as f64 / mated.len().max(1) as f64)
    );
    println!(
        "| confidence ≥ | cosine ≥ (N = {n}) | found (rank 1, above) | FNIR | FPIR (strangers with a hit) |\n\
         | --- | --- | --- | --- | --- |"
    );
    for c in THRESHOLDS {
        let Some(t) = cal.search_cosine(c, n) else { continue };
        let found = mated_top.iter().filter(|(ok, s)| *ok && *s >= t).count() as f64 / mated.len().max(1) as f64;
        let fpir = stranger_top.iter().filter(|s| **s >= t).count() as f64 / strangers.len().max(1) as f64;
        println!("| {c:.2} | {t:.3} | {} | {} | {} |", pct(found), pct(1.0 - found), pct(fpir));
    }
    println!();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().ok_or("usage: accuracy FACES_DEV_DIR [fused|fr_feature|mobilefacenet]")?);
    let choice = match args.next() {
        Some(s) => EmbedderChoice::parse(&s).ok_or(format!("unknown embedder {s}"))?,
        None => EmbedderChoice::default(),
    };
    let engine = Engine::load_with(&Engine::default_models_dir(), choice)?;
    let started = std::time::Instant::now();
    let ids = engine.model_ids();
    println!("### Engine pass: embedder `{}`\n", choice.as_str());
    println!("Models: {ids:?}.\n");

    let photos = photos(&root, &engine)?;
    let no_face = photos.iter().filter(|p| p.face.is_none()).count();
    let ambiguous =
        photos.iter().filter(|p| p.face.as_ref().is_some_and(|f| f.runner_up_ratio >= COMPARABLE_FACE_RATIO)).count();
    let several = photos.iter().filter(|p| p.face.as_ref().is_some_and(|f| f.runner_up_ratio > 0.0)).count();
    println!(
        "Photos: {} of {} identities. No face found: {no_face}. More than one face: {several} ({}); of them refused \
         for enrolment as ambiguous (a second face at least {COMPARABLE_FACE_RATIO} as dominant): {ambiguous} ({}).\n",
        photos.len(),
        photos.iter().map(|p| &p.identity).collect::<std::collections::HashSet<_>>().len(),
        pct(several as f64 / photos.len() as f64),
        pct(ambiguous as f64 / photos.len() as f64),
    );

    // 1:1 on the listed pairs.
    let index: HashMap<&Path, &Photo> = photos.iter().map(|p| (p.path.as_path(), p)).collect();
    if let Ok(csv) = std::fs::read_to_string(root.join("pairs.csv")) {
        let mut s = Scores { genuine: Vec::new(), impostor: Vec::new() };
        let mut unscored = 0;
        for l in csv.lines().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 3 {
                continue;
            }
            let (a, b) = (root.join(f[0]), root.join(f[1]));
            let face = |p: &Path| index.get(p).and_then(|p| p.face.as_ref());
            match (face(&a), face(&b)) {
                (Some(x), Some(y)) => {
                    let c = x.embedding.cosine(&y.embedding).unwrap_or(-1.0);
                    if f[2] == "1" { &mut s.genuine } else { &mut s.impostor }.push(c);
                }
                _ => unscored += 1,
            }
        }
        if unscored > 0 {
            println!("({unscored} listed pairs have a photo without a face: not scored.)\n");
        }
        one_to_one(&engine, "1:1 (BIOMETRY), the listed pairs (`pairs.csv`)", &s.sorted());
    }

    // 1:1 on every pair of photos.
    let faces: Vec<(&str, &Face)> =
        photos.iter().filter_map(|p| p.face.as_ref().map(|f| (p.identity.as_str(), f))).collect();
    let rows: Vec<usize> = (0..faces.len()).collect();
    let parts = par_map(&rows, |&i| {
        let (mut g, mut im) = (Vec::new(), Vec::new());
        for j in i + 1..faces.len() {
            let c = faces[i].1.embedding.cosine(&faces[j].1.embedding).unwrap_or(-1.0);
            if faces[i].0 == faces[j].0 { &mut g } else { &mut im }.push(c);
        }
        (g, im)
    });
    let mut all = Scores { genuine: Vec::new(), impostor: Vec::new() };
    for (g, im) in parts {
        all.genuine.extend(g);
        all.impostor.extend(im);
    }
    one_to_one(&engine, "1:1 (BIOMETRY), every pair of photos", &all.sorted());

    one_to_n(&engine, &photos);
    liveness(&engine, &root, "spoof/labels.csv", "Liveness (QUALITY), photos, threshold 0.5", 0.5);
    liveness(&engine, &root, "videos/labels.csv", "Liveness (QUALITY), videos, threshold 0.5", 0.5);
    eprintln!("engine pass: {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
