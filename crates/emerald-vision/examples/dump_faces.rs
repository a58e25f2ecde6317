//! Dump, for every image under a directory, every face the detector finds: box, score,
//! the detector's landmarks and ONet's (`lm_onet`, null when ONet sees no face), the embeddings of each embedder (of the aligned face and of its mirror image), and
//! the anti-spoof score at several crop scales. Faces are aligned by ONet's points where it gives
//! them, as the engine does.
//! One JSON object per line. For offline analysis of face selection, fusion and calibration.
//! `cargo run --release -p emerald-vision --example dump_faces -- DIR OUT.jsonl`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use emerald_vision::{
    align, decode_image, Engine, FaceDetector, FaceEmbedder, FrLiveness, LandmarkRefiner, Onet, OnnxEmbedder, YuNet,
    ARCFACE_112, FR_FEATURE, SIRIUS_MFN,
};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "jpg" | "jpeg" | "png")) {
            out.push(p);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().ok_or("usage: dump_faces DIR OUT.jsonl")?);
    let out_path = PathBuf::from(args.next().ok_or("usage: dump_faces DIR OUT.jsonl")?);
    let dir = Engine::default_models_dir();
    let det = YuNet::load(&dir)?;
    let embedders: Vec<OnnxEmbedder> =
        vec![OnnxEmbedder::load_model(&dir, &FR_FEATURE)?, OnnxEmbedder::load_model(&dir, &SIRIUS_MFN)?];
    let live = FrLiveness::load(&dir)?;
    let onet = Onet::load(&dir)?;
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    let out = Mutex::new(std::io::BufWriter::new(std::fs::File::create(&out_path)?));
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
                let rel = p.strip_prefix(&root).unwrap_or(p).to_string_lossy().to_string();
                let Ok(bytes) = std::fs::read(p) else { continue };
                let Ok(img) = decode_image(&bytes) else { continue };
                let dets = det.detect(&img).unwrap_or_default();
                let faces: Vec<serde_json::Value> = dets
                    .iter()
                    .map(|d| {
                        let lm_onet = onet.refine(&img, d).ok().flatten();
                        let aligned = align(&img, &lm_onet.unwrap_or(d.landmarks), &ARCFACE_112, 112);
                        let embs: Vec<Vec<f32>> =
                            embedders.iter().map(|e| e.embed(&aligned).unwrap_or_default()).collect();
                        let flipped = image::imageops::flip_horizontal(&aligned);
                        let embs_flip: Vec<Vec<f32>> =
                            embedders.iter().map(|e| e.embed(&flipped).unwrap_or_default()).collect();
                        let spoof: Vec<f32> = [2.7f32, 4.0, 2.0]
                            .iter()
                            .map(|s| live.attack_probability_at(&img, &d.bbox, *s).unwrap_or(f32::NAN))
                            .collect();
                        let ctx = emerald_vision::liveness_effective_scale(img.width(), img.height(), &d.bbox, 2.7);
                        serde_json::json!({
                            "box": [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h], "score": d.score,
                            "lm": d.landmarks, "lm_onet": lm_onet, "emb": embs, "emb_flip": embs_flip, "spoof": spoof, "ctx": ctx,
                        })
                    })
                    .collect();
                let line = serde_json::json!({"path": rel, "w": img.width(), "h": img.height(), "faces": faces});
                let mut o = out.lock().expect("lock");
                let _ = writeln!(o, "{line}");
            });
        }
    });
    out.into_inner()?.flush()?;
    Ok(())
}
