//! A gallery benchmark set of real face templates: the engine's embeddings of augmented photos.
//!
//! `cargo run --release -p emerald-vision --example template_set -- FACES_DIR OUT_DIR [VARIANTS] [PROBES] [EMBEDDER]`
//!
//! FACES_DIR is laid out like `faces-dev/faces` (`<identity>/*.jpg`). Every photo is turned into
//! VARIANTS (default 8) images: the photo itself and VARIANTS − 1 augmentations (a horizontal flip
//! half the time, a rotation of up to ±12°, a crop of 80–100 % of the side off-centre, a
//! downscale to 55–100 %, brightness ±35 and contrast ±25 %, a JPEG re-encode at quality
//! 35–95), each sent through `analyze_media` as the server does for an enrolment (the dominant
//! face, embedded; liveness off). Of each identity with two or more photos the last photo is held
//! out: PROBES (default 2) augmentations of it are the queries (a new photo of an enrolled
//! person), and none of it is enrolled. Everything else is enrolled. Writes, for
//! `bench_gallery --data OUT_DIR`:
//! - `base.f32`, `queries.f32`: the templates (unit length, native f32 rows);
//! - `base_labels.txt`, `query_labels.txt`: the identity index of each row;
//! - `base_photos.txt`, `query_photos.txt`: the photo index of each row (`bench/gallery_fit.py`
//!   fits a larger synthetic set to the identity, photo and augmentation spreads);
//! - `info.txt`: the embedder, its dimension and the counts.
//!
//! The augmentations are deterministic (a fixed seed per photo and variant).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use emerald_vision::{decode_image, EmbedderChoice, Engine, MediaOptions};
use image::codecs::jpeg::JpegEncoder;
use image::{imageops, Rgb, RgbImage};

/// splitmix64: a small deterministic generator (no dependency for a benchmark tool).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
}

/// Bilinear sample with the edges clamped.
fn sample(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let px = |xx: i64, yy: i64| img.get_pixel(xx.clamp(0, w - 1) as u32, yy.clamp(0, h - 1) as u32).0;
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1));
    Rgb(std::array::from_fn(|k| {
        let top = a[k] as f32 * (1.0 - fx) + b[k] as f32 * fx;
        let bottom = c[k] as f32 * (1.0 - fx) + d[k] as f32 * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    }))
}

/// One augmentation of `img` as JPEG bytes (see the module doc).
fn augment(img: &RgbImage, rng: &mut Rng) -> Vec<u8> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let side = rng.range(0.80, 1.0);
    let (cw, ch) = ((w * side).round().max(8.0), (h * side).round().max(8.0));
    let (cx, cy) = (w / 2.0 + rng.range(-0.5, 0.5) * (w - cw), h / 2.0 + rng.range(-0.5, 0.5) * (h - ch));
    let angle = rng.range(-12.0, 12.0).to_radians();
    let (sin, cos) = angle.sin_cos();
    let mut out = RgbImage::from_fn(cw as u32, ch as u32, |x, y| {
        let (dx, dy) = (x as f32 - cw / 2.0, y as f32 - ch / 2.0);
        sample(img, cx + cos * dx - sin * dy, cy + sin * dx + cos * dy)
    });
    if rng.next() & 1 == 1 {
        imageops::flip_horizontal_in_place(&mut out);
    }
    let scale = rng.range(0.55, 1.0);
    let (sw, sh) = ((cw * scale).round() as u32, (ch * scale).round() as u32);
    out = imageops::resize(&out, sw.max(8), sh.max(8), imageops::FilterType::Triangle);
    out = imageops::brighten(&out, rng.range(-35.0, 35.0) as i32);
    out = imageops::contrast(&out, rng.range(-25.0, 25.0));
    let quality = rng.range(35.0, 95.0) as u8;
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(&out).expect("JPEG encode of an RGB image");
    jpeg
}

struct Photo {
    identity: u32,
    path: PathBuf,
    held_out: bool,
}

fn photos(root: &Path) -> std::io::Result<Vec<Photo>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut out = Vec::new();
    for (identity, dir) in dirs.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
            .collect();
        files.sort();
        let n = files.len();
        out.extend(files.into_iter().enumerate().map(|(i, path)| Photo {
            identity: identity as u32,
            path,
            held_out: n >= 2 && i == n - 1,
        }));
    }
    Ok(out)
}

/// The embeddings of one photo's variants (variant 0 is the photo as it is; held-out photos give
/// `probes` augmentations only). A variant without a face gives nothing.
fn embed_photo(engine: &Engine, photo: &Photo, index: usize, variants: usize, probes: usize) -> Vec<Vec<f32>> {
    let Ok(bytes) = std::fs::read(&photo.path) else { return Vec::new() };
    let Ok(img) = decode_image(&bytes) else { return Vec::new() };
    let opts = MediaOptions { spoof: false, ..MediaOptions::default() };
    let (first, count) = if photo.held_out { (1, probes) } else { (0, variants) };
    (first..first + count)
        .filter_map(|v| {
            let media = if v == 0 {
                bytes.clone()
            } else {
                augment(&img, &mut Rng(0x5EED_0000_0000 ^ ((index as u64) << 8) ^ v as u64))
            };
            let report = engine.analyze_media(&media, &opts).ok()?;
            report.best_face.map(|f| f.embedding.vector)
        })
        .collect()
}

/// Rows of (identity, photo, template): `{vectors}.f32`, `{prefix}_labels.txt`, `{prefix}_photos.txt`.
fn write_rows(dir: &Path, vectors: &str, prefix: &str, rows: &[(u32, usize, Vec<f32>)]) -> std::io::Result<()> {
    let create = |name: String| std::fs::File::create(dir.join(name)).map(std::io::BufWriter::new);
    let (mut vectors, mut labels, mut photos) = (
        create(format!("{vectors}.f32"))?,
        create(format!("{prefix}_labels.txt"))?,
        create(format!("{prefix}_photos.txt"))?,
    );
    for (label, photo, v) in rows {
        for x in v {
            vectors.write_all(&x.to_ne_bytes())?;
        }
        writeln!(labels, "{label}")?;
        writeln!(photos, "{photo}")?;
    }
    vectors.flush()?;
    labels.flush()?;
    photos.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: template_set FACES_DIR OUT_DIR [VARIANTS] [PROBES] [fused|fr_feature|mobilefacenet]";
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().ok_or(usage)?);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let variants: usize = args.next().map_or(Ok(8), |s| s.parse()).map_err(|_| usage)?;
    let probes: usize = args.next().map_or(Ok(2), |s| s.parse()).map_err(|_| usage)?;
    let choice = match args.next() {
        Some(s) => EmbedderChoice::parse(&s).ok_or(usage)?,
        None => EmbedderChoice::default(),
    };
    let engine = Engine::load_with(&Engine::default_models_dir(), choice)?;
    let photos = photos(&root)?;
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let done = AtomicUsize::new(0);
    // Photo i goes to thread i % threads; results are put back in photo order.
    let mut per_photo: Vec<(usize, Vec<Vec<f32>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (engine, photos, done) = (&engine, &photos, &done);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for i in (t..photos.len()).step_by(threads) {
                        mine.push((i, embed_photo(engine, &photos[i], i, variants, probes)));
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if d % 250 == 0 {
                            eprintln!("{d} of {} photos, {:.0} s", photos.len(), started.elapsed().as_secs_f64());
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("embedding thread")).collect()
    });
    per_photo.sort_by_key(|(i, _)| *i);
    let (mut base, mut queries) = (Vec::new(), Vec::new());
    for (i, vectors) in per_photo {
        let p = &photos[i];
        let dest = if p.held_out { &mut queries } else { &mut base };
        dest.extend(vectors.into_iter().map(|v| (p.identity, i, v)));
    }
    write_rows(&out, "base", "base", &base)?;
    write_rows(&out, "queries", "query", &queries)?;
    let secs = started.elapsed().as_secs_f64();
    let info = format!(
        "embedder {} ({}-d)\nphotos {} of {} identities; {} held out as probes\nvariants per enrolled photo {variants}, \
         probes per held-out photo {probes}\nenrolled templates {}\nqueries {}\nembedded in {secs:.0} s on {threads} \
         threads ({:.1} ms per template and thread)\n",
        engine.model_ids().embedder,
        engine.embedding_dim(),
        photos.len(),
        photos.last().map_or(0, |p| p.identity + 1),
        photos.iter().filter(|p| p.held_out).count(),
        base.len(),
        queries.len(),
        secs * 1e3 * threads as f64 / (base.len() + queries.len()).max(1) as f64,
    );
    std::fs::write(out.join("info.txt"), &info)?;
    print!("{info}");
    Ok(())
}
