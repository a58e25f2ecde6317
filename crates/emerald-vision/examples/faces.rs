//! Print every face found in the given photos: `cargo run --example faces -- a.jpg b.jpg`.
//! With two or more files it also prints the cosine and Oz confidence of each file's main face
//! against the first file's.

use emerald_vision::Engine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::load(&Engine::default_models_dir())?;
    let mut first = None;
    for path in std::env::args().skip(1) {
        let faces = engine.faces_in_bytes(&std::fs::read(&path)?)?;
        println!("{path}: {} face(s)", faces.len());
        for f in &faces {
            println!(
                "  box ({:.0},{:.0} {:.0}×{:.0}) det {:.3} spoof {:.3} quality {:.2} yaw {:.2} pitch {:.2}",
                f.bbox.x,
                f.bbox.y,
                f.bbox.w,
                f.bbox.h,
                f.det_score,
                f.spoof,
                f.quality.score,
                f.quality.yaw,
                f.quality.pitch
            );
        }
        if let Some(main) = faces.first() {
            match &first {
                None => first = Some(main.embedding.clone()),
                Some(e) => {
                    let cos = main.embedding.cosine(e).unwrap_or(f32::NAN);
                    println!(
                        "  vs first: cosine {cos:.3} confidence {:.3}",
                        engine.calibration().verify_confidence(cos)
                    );
                }
            }
        }
    }
    Ok(())
}
