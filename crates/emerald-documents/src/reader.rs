//! Reading the MRZ from a photo of a document, in process: the MRZ is printed in OCR-B at a fixed
//! pitch, so its characters are found as ink blobs chained at that pitch along a line and each
//! one is matched against the 37 OCR-B glyphs ([`ocrb_templates.txt`], made by
//! `scripts/make_ocrb_templates.py` from Debian's fonts-ocr-b).
//!
//! 1. The photo is decoded, turned grey and scaled to at most [`MAX_SIDE`] pixels (read again
//!    on more of its pixels when the MRZ's characters come out small: [`read_photo`]).
//! 2. For each orientation (0°, 180°, 90°, 270° until one reads a valid MRZ): ink is separated
//!    from paper by a local threshold (uneven light, glare), ink blobs are labelled, and blobs
//!    of text size are chained left to right at a regular pitch along a straight, possibly
//!    tilted line. Chains of about 30, 36 or 44 blobs are MRZ line candidates.
//! 3. Every character cell of a candidate line (gaps at the pitch filled, merged blobs split) is
//!    sampled along the line's slope between its fitted top and bottom edges and matched by
//!    normalised correlation against the glyphs.
//! 4. Consecutive candidate lines (3 of 30, 2 of 36, 2 of 44) are parsed ([`crate::mrz`]); the
//!    reading whose check digits hold best wins.

use crate::mrz::{fit_line, Format, Mrz};

/// Longest side, in pixels, the photo is scaled down to before reading.
pub const MAX_SIDE: u32 = 1600;

/// Why a photo could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the document photo cannot be decoded: {0}")]
    Decode(String),
    #[error("the document photo is too large: {0}")]
    TooLarge(String),
}

/// What the MRZ reader found.
#[derive(Debug, Clone)]
pub struct MrzReading {
    /// The best reading (None when no MRZ-like text was found).
    pub mrz: Option<Mrz>,
    /// Quarter turns clockwise applied to the photo to read it upright.
    pub quarter_turns: u8,
    /// The upright photo (grey), for the visual zone and the portrait.
    pub upright: image::GrayImage,
    /// Where the MRZ lines are in the upright photo: top y of its first line (pixels).
    pub mrz_top: Option<u32>,
    /// The MRZ lines' box in the upright photo: x0, y0, x1, y1 (pixels, end exclusive).
    pub mrz_box: Option<[u32; 4]>,
}

/// Largest photo accepted (pixels).
const MAX_PIXELS: u64 = 40_000_000;

/// A decoded document photo, scaled to fit [`MAX_SIDE`] (EXIF orientation is not applied: the
/// reader tries the four orientations itself).
#[derive(Debug, Clone)]
pub struct Photo {
    pub rgb: image::RgbImage,
    /// Pixels of `rgb` per pixel of the photo as stored (≤ 1).
    pub scale: f32,
    /// Where `rgb`, turned upright by its reading's quarter turns, starts in the photo as stored
    /// turned the same way, in the stored photo's pixels: 0, 0 but for a second reading made on
    /// the document's part of the photo ([`read_photo`]).
    pub offset: [f32; 2],
}

impl Photo {
    /// Decode `bytes` (JPEG, PNG, WebP, BMP) and scale it down to at most [`MAX_SIDE`].
    pub fn decode(bytes: &[u8]) -> Result<Photo, ReadError> {
        Ok(Photo::fit(&decode_full(bytes)?, MAX_SIDE))
    }

    /// `full` (the photo as stored) scaled down to at most `max_side` on its longer side.
    fn fit(full: &image::RgbImage, max_side: u32) -> Photo {
        let (w, h) = full.dimensions();
        let scale = (max_side as f32 / w.max(h) as f32).min(1.0);
        let rgb = if scale < 1.0 {
            let (nw, nh) = scaled_size(full, scale);
            emerald_vision::scale::resize_rgb(full, nw, nh)
        } else {
            full.clone()
        };
        Photo { rgb, scale, offset: [0.0, 0.0] }
    }

    /// Its grey version (ITU-R BT.601 luma, as `image` computes it).
    pub fn gray(&self) -> image::GrayImage {
        image::DynamicImage::ImageRgb8(self.rgb.clone()).into_luma8()
    }

    /// The photo turned `quarter_turns` clockwise.
    pub fn turned(&self, quarter_turns: u8) -> image::RgbImage {
        turn(&self.rgb, quarter_turns)
    }
}

/// `img` turned `quarter_turns` clockwise.
pub fn turn<P: image::Pixel + 'static>(
    img: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    quarter_turns: u8,
) -> image::ImageBuffer<P, Vec<P::Subpixel>> {
    match quarter_turns % 4 {
        0 => img.clone(),
        1 => image::imageops::rotate90(img),
        2 => image::imageops::rotate180(img),
        _ => image::imageops::rotate270(img),
    }
}

/// `img`'s size times `scale`, truncated (each side at least 1).
fn scaled_size(img: &image::RgbImage, scale: f32) -> (u32, u32) {
    let side = |v: u32| ((v as f32 * scale) as u32).max(1);
    (side(img.width()), side(img.height()))
}

/// The photo as stored, decoded (at most [`MAX_PIXELS`]).
fn decode_full(bytes: &[u8]) -> Result<image::RgbImage, ReadError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ReadError::Decode(e.to_string()))?;
    let (w, h) = reader.into_dimensions().map_err(|e| ReadError::Decode(e.to_string()))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(ReadError::TooLarge(format!("{w}×{h} pixels")));
    }
    Ok(image::load_from_memory(bytes).map_err(|e| ReadError::Decode(e.to_string()))?.into_rgb8())
}

/// MRZ characters narrower than this, in pixels, are read again on more of the photo's pixels:
/// the smallest pitch of the synthetic corpus the reader is tuned and tested on is 26.5 pixels
/// (passport lines at 1600 pixels), and below about 20 letters start to be misread (`UTO` as
/// `UTQ` on an ID card filling three fifths of a 12-megapixel photo, where no check digit
/// covers the nationality).
pub const MIN_PITCH: f32 = 26.0;
/// The pitch such a second reading aims at.
const TARGET_PITCH: f32 = 32.0;
/// The largest side a photo is read at for that second reading.
pub const ZOOM_MAX_SIDE: u32 = 4096;

impl MrzReading {
    /// Pixels per MRZ character along its lines, when one was read.
    pub fn pitch(&self) -> Option<f32> {
        let (m, [x0, _, x1, _]) = (self.mrz.as_ref()?, self.mrz_box?);
        let chars = m.lines.first()?.chars().count();
        (chars > 0).then(|| (x1 - x0) as f32 / chars as f32)
    }
}

/// Decode a document photo and read its MRZ: at [`MAX_SIDE`] pixels, then — when the MRZ's
/// characters come out narrower than [`MIN_PITCH`] and the photo holds more pixels (a document
/// filling part of a phone's 12-megapixel frame) — again on the document's part of the photo
/// (around the MRZ: the visual zone and portrait above it, margins for tilt) at the size that
/// makes them about 32 pixels wide (at most [`ZOOM_MAX_SIDE`], never above the photo's own
/// size), keeping the better reading with its photo ([`Photo::offset`] says where the part
/// lies). The visual zone and the portrait are then read on that photo.
pub fn read_photo(bytes: &[u8]) -> Result<(Photo, MrzReading), ReadError> {
    let full = decode_full(bytes)?;
    let photo = Photo::fit(&full, MAX_SIDE);
    let reading = read_gray(photo.gray());
    let Some(pitch) = reading.pitch().filter(|p| *p < MIN_PITCH && photo.scale < 1.0) else {
        return Ok((photo, reading));
    };
    let Some((part, offset)) = reading.mrz_box.and_then(|b| document_part(&full, photo.scale, &reading, b)) else {
        return Ok((photo, reading));
    };
    // The part's pixels at the first reading's scale, enlarged to bring the pitch to the target.
    let zoom =
        (TARGET_PITCH / pitch.max(1.0)).min(ZOOM_MAX_SIDE as f32 / photo.rgb.width().max(photo.rgb.height()) as f32);
    let scale = (photo.scale * zoom).min(1.0);
    if scale < photo.scale * 1.15 {
        return Ok((photo, reading));
    }
    let rgb = if scale < 1.0 {
        let (nw, nh) = scaled_size(&part, scale);
        emerald_vision::scale::resize_rgb(&part, nw, nh)
    } else {
        part
    };
    let larger = Photo { rgb, scale, offset };
    let again = read_gray(larger.gray());
    let rank_of = |r: &MrzReading| r.mrz.as_ref().map(|m| (m.valid(), rank(m)));
    // The part was cut in the first reading's orientation; another one would misplace it.
    let better = again.quarter_turns == reading.quarter_turns && rank_of(&again) >= rank_of(&reading);
    Ok(if better { (larger, again) } else { (photo, reading) })
}

/// The part of `full` (the photo as stored) that holds the document whose MRZ lies at `mrz`
/// in the first reading's upright photo (at `scale`): from 0.9 of the MRZ's width above it to
/// 0.15 below, 0.15 beyond each end — and where that part starts in the stored photo turned
/// upright, in stored pixels. None when the part would be most of the photo anyway.
fn document_part(
    full: &image::RgbImage,
    scale: f32,
    reading: &MrzReading,
    mrz: [u32; 4],
) -> Option<(image::RgbImage, [f32; 2])> {
    let (w, h) = (full.width() as f32, full.height() as f32);
    let q = reading.quarter_turns % 4;
    // The upright stored photo's size, and the part there (stored pixels).
    let (uw, uh) = if q % 2 == 1 { (h, w) } else { (w, h) };
    let [x0, y0, x1, y1] = mrz.map(|v| v as f32 / scale);
    let mw = x1 - x0;
    let (u0, v0) = ((x0 - 0.15 * mw).max(0.0), (y0 - 0.9 * mw).max(0.0));
    let (u1, v1) = ((x1 + 0.15 * mw).min(uw), (y1 + 0.15 * mw).min(uh));
    if (u1 - u0) * (v1 - v0) > 0.8 * uw * uh {
        return None;
    }
    // Back to the stored orientation: `turn` turns clockwise.
    let [sx0, sy0, sx1, sy1] = match q {
        0 => [u0, v0, u1, v1],
        1 => [v0, h - u1, v1, h - u0],
        2 => [w - u1, h - v1, w - u0, h - v0],
        _ => [w - v1, u0, w - v0, u1],
    };
    let (sx0, sy0) = (sx0.floor().max(0.0) as u32, sy0.floor().max(0.0) as u32);
    let (sx1, sy1) = (sx1.ceil().min(w) as u32, sy1.ceil().min(h) as u32);
    if sx1 <= sx0 + 16 || sy1 <= sy0 + 16 {
        return None;
    }
    let part = image::imageops::crop_imm(full, sx0, sy0, sx1 - sx0, sy1 - sy0).to_image();
    // Where the part's upright top left lies in the upright stored photo.
    let (fx0, fy0, fx1, fy1) = (sx0 as f32, sy0 as f32, sx1 as f32, sy1 as f32);
    let offset = match q {
        0 => [fx0, fy0],
        1 => [h - fy1, fx0],
        2 => [w - fx1, h - fy1],
        _ => [fy0, w - fx1],
    };
    Some((part, offset))
}

/// Decode `bytes` and read the MRZ ([`read_photo`]).
pub fn read_mrz(bytes: &[u8]) -> Result<MrzReading, ReadError> {
    Ok(read_photo(bytes)?.1)
}

/// Read the MRZ of a grey photo. Ink is separated and its blobs labelled once; each
/// orientation tried turns the blobs, not the photo (the local threshold's window is square and
/// centred, so the ink of a turned photo is the turned ink), and the photo is turned only for an
/// orientation whose blobs chain into lines long enough for an MRZ.
pub fn read_gray(gray: image::GrayImage) -> MrzReading {
    let (w, h) = (gray.width(), gray.height());
    let found = blobs(&binarize(&gray), w as usize, h as usize);
    let mut best: Option<(Mrz, u8, image::GrayImage, [u32; 4])> = None;
    for turns in [0u8, 2, 1, 3] {
        let mut turned: Vec<Blob> = found.iter().map(|b| b.turned(turns, w, h)).collect();
        // The order in which labelling the turned photo would have found them.
        turned.sort_by_key(|b| b.first[usize::from(turns)]);
        let th = if turns % 2 == 1 { w } else { h };
        let lines = candidate_lines(&turned, th);
        if lines.len() < 2 {
            continue;
        }
        let g = turn(&gray, turns);
        if let Some((m, bx)) = read_lines(&g, &lines) {
            let better = best.as_ref().is_none_or(|(b, ..)| rank(&m) > rank(b));
            let done = m.valid();
            if better {
                best = Some((m, turns, g, bx));
            }
            if done {
                break;
            }
        }
    }
    match best {
        Some((m, turns, g, bx)) => {
            MrzReading { mrz: Some(m), quarter_turns: turns, upright: g, mrz_top: Some(bx[1]), mrz_box: Some(bx) }
        }
        None => MrzReading { mrz: None, quarter_turns: 0, upright: gray, mrz_top: None, mrz_box: None },
    }
}

fn rank(m: &Mrz) -> (usize, std::cmp::Reverse<usize>) {
    (m.checks.count(), std::cmp::Reverse(m.corrections.len()))
}

/// An ink blob: bounding box (inclusive-exclusive) and pixel count.
#[derive(Debug, Clone, Copy)]
struct Blob {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    area: u32,
    /// Per quarter turn of the photo (clockwise), the raster index of the blob's first pixel
    /// in the turned photo: the order labelling it would find the blob in.
    first: [u64; 4],
}

impl Blob {
    /// The blob in the photo (`w`×`h`) turned `quarter_turns` clockwise, as
    /// [`image::imageops::rotate90`] and its kin turn it.
    fn turned(&self, quarter_turns: u8, w: u32, h: u32) -> Blob {
        let Blob { x0, y0, x1, y1, .. } = *self;
        let (x0, y0, x1, y1) = match quarter_turns % 4 {
            0 => (x0, y0, x1, y1),
            // (x, y) → (h − 1 − y, x)
            1 => (h - y1, x0, h - y0, x1),
            // (x, y) → (w − 1 − x, h − 1 − y)
            2 => (w - x1, h - y1, w - x0, h - y0),
            // (x, y) → (y, w − 1 − x)
            _ => (y0, w - x1, y1, w - x0),
        };
        Blob { x0, y0, x1, y1, ..*self }
    }

    fn cx(&self) -> f32 {
        (self.x0 + self.x1) as f32 / 2.0
    }
    fn cy(&self) -> f32 {
        (self.y0 + self.y1) as f32 / 2.0
    }
    fn w(&self) -> f32 {
        (self.x1 - self.x0) as f32
    }
    fn h(&self) -> f32 {
        (self.y1 - self.y0) as f32
    }
}

/// Ink mask: darker than the local mean (a box of about 1/25 of the longer side) by a margin.
/// The box sums come from running column sums, row by row (memory read in order), the rows
/// split over two threads when there are two cores.
fn binarize(g: &image::GrayImage) -> Vec<bool> {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let r = (w.max(h) / 50).max(6);
    let mut out = vec![false; w * h];
    if w == 0 || h == 0 {
        return out;
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if threads < 2 || h < 64 {
        binarize_rows(g, r, 0, &mut out);
        return out;
    }
    let half = h / 2;
    let (top, bottom) = out.split_at_mut(half * w);
    std::thread::scope(|s| {
        s.spawn(|| binarize_rows(g, r, half, bottom));
        binarize_rows(g, r, 0, top);
    });
    out
}

/// [`binarize`] of the rows from `y_start` on, as many as `out` holds.
fn binarize_rows(g: &image::GrayImage, r: usize, y_start: usize, out: &mut [bool]) {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let px = g.as_raw();
    let row = |y: usize| &px[y * w..(y + 1) * w];
    // Column sums over the rows ya..yb of the box around row y.
    let mut col = vec![0u64; w];
    let (mut ya, mut yb) = (y_start.saturating_sub(r), y_start.saturating_sub(r));
    let mut prefix = vec![0u64; w + 1];
    for (k, out_row) in out.chunks_exact_mut(w).enumerate() {
        let y = y_start + k;
        let (na, nb) = (y.saturating_sub(r), (y + r + 1).min(h));
        while yb < nb {
            for (c, &v) in col.iter_mut().zip(row(yb)) {
                *c += u64::from(v);
            }
            yb += 1;
        }
        while ya < na {
            for (c, &v) in col.iter_mut().zip(row(ya)) {
                *c -= u64::from(v);
            }
            ya += 1;
        }
        for x in 0..w {
            prefix[x + 1] = prefix[x] + col[x];
        }
        let rows = (nb - na) as u64;
        for (x, (o, &v)) in out_row.iter_mut().zip(row(y)).enumerate() {
            let (xa, xb) = (x.saturating_sub(r), (x + r + 1).min(w));
            let s = prefix[xb] - prefix[xa];
            let n = rows * (xb - xa) as u64;
            let v = u64::from(v);
            // Ink: below 85 % of the local mean, by at least 12 levels: in integers
            // `v·100 < ⌊85·s / n⌋ && v + 12 < ⌊s / n⌋`, written without the divisions (for
            // integers a and real q, a < ⌊q⌋ ⇔ a + 1 ≤ q).
            *o = (v * 100 + 1) * n <= s * 85 && (v + 13) * n <= s;
        }
    }
}

/// 8-connected blobs of the mask.
fn blobs(mask: &[bool], w: usize, h: usize) -> Vec<Blob> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1, mut area) = (u32::MAX, u32::MAX, 0u32, 0u32, 0u32);
        let mut first = [u64::MAX; 4];
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x as u32);
            y0 = y0.min(y as u32);
            x1 = x1.max(x as u32 + 1);
            y1 = y1.max(y as u32 + 1);
            area += 1;
            // Raster index of (x, y) in the photo turned 0, 1, 2, 3 quarter turns (see
            // `Blob::turned`; a quarter-turned photo is `h` wide).
            let (xu, yu, wu, hu) = (x as u64, y as u64, w as u64, h as u64);
            let at =
                [yu * wu + xu, xu * hu + (hu - 1 - yu), (hu - 1 - yu) * wu + (wu - 1 - xu), (wu - 1 - xu) * hu + yu];
            for (f, a) in first.iter_mut().zip(at) {
                *f = (*f).min(a);
            }
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(Blob { x0, y0, x1, y1, area, first });
    }
    out
}

/// Chains of blobs at a regular pitch along a line, left to right, at least `min_len` long.
fn chains(blobs: &[Blob], min_len: usize) -> Vec<Vec<Blob>> {
    let mut c: Vec<Blob> = blobs.to_vec();
    c.sort_by(|a, b| a.cx().total_cmp(&b.cx()));
    let mut used = vec![false; c.len()];
    let mut out = Vec::new();
    for i in 0..c.len() {
        if used[i] {
            continue;
        }
        let mut chain = vec![i];
        let mut href = c[i].h();
        loop {
            let last = c[*chain.last().unwrap_or(&i)];
            let mut next: Option<(usize, f32)> = None;
            for (j, b) in c.iter().enumerate().skip(chain.last().copied().unwrap_or(i) + 1) {
                let dx = b.cx() - last.cx();
                let hh = href.max(b.h());
                if dx > 1.6 * hh {
                    break;
                }
                if used[j] || dx < 0.35 * hh.min(href) {
                    continue;
                }
                if (b.cy() - last.cy()).abs() > 0.3 * hh || b.h() < 0.25 * href || b.h() > 1.5 * href + 2.0 {
                    continue;
                }
                if next.is_none_or(|(_, d)| dx < d) {
                    next = Some((j, dx));
                }
            }
            match next {
                Some((j, _)) => {
                    href = href.max(c[j].h());
                    chain.push(j);
                }
                None => break,
            }
        }
        if chain.len() >= min_len {
            for &j in &chain {
                used[j] = true;
            }
            out.push(chain.into_iter().map(|j| c[j]).collect());
        }
    }
    out
}

struct Templates {
    chars: Vec<char>,
    /// Zero-mean, unit-norm vectors of `TW`×`TH`.
    vecs: Vec<[f32; TW * TH]>,
}

const TW: usize = 16;
const TH: usize = 24;

fn templates() -> &'static Templates {
    static T: std::sync::OnceLock<Templates> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut chars = Vec::new();
        let mut vecs = Vec::new();
        for line in include_str!("ocrb_templates.txt").lines().filter(|l| !l.starts_with('#')) {
            let Some((c, hex)) = line.split_once(' ') else { continue };
            let mut v = [0f32; TW * TH];
            for (k, slot) in v.iter_mut().enumerate() {
                *slot = u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).unwrap_or(255) as f32;
            }
            normalize(&mut v);
            chars.push(c.chars().next().unwrap_or('<'));
            vecs.push(v);
        }
        Templates { chars, vecs }
    })
}

fn normalize(v: &mut [f32]) {
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let mut norm = 0.0;
    for x in v.iter_mut() {
        *x -= mean;
        norm += *x * *x;
    }
    let norm = norm.sqrt().max(1e-6);
    for x in v.iter_mut() {
        *x /= norm;
    }
}

/// The grey level at (x, y), bilinear, edges replicated.
pub(crate) fn bilinear(g: &image::GrayImage, x: f32, y: f32) -> f32 {
    let (w, h) = (g.width() as i32, g.height() as i32);
    let (x0, y0) = (x.floor() as i32, y.floor() as i32);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let raw = g.as_raw();
    let p = |xx: i32, yy: i32| raw[(yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)) as usize] as f32;
    let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
    let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Least-squares line y = a + b·x through points.
fn fit(points: &[(f32, f32)]) -> (f32, f32) {
    let n = points.len() as f32;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
    }
    let b = if sxx > 1e-6 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

/// Where the characters of one chained line are: its top and bottom edges (lines y = a + b·x),
/// the pitch, and the centre x of every character cell.
struct Cells {
    top: (f32, f32),
    bottom: (f32, f32),
    pitch: f32,
    centres: Vec<f32>,
}

/// The character cells of one chained line: each blob, gaps of missing cells filled at the
/// pitch, blobs wider than one cell split.
fn cells(chain: &[Blob]) -> Cells {
    let mut dxs: Vec<f32> = chain.windows(2).map(|p| p[1].cx() - p[0].cx()).collect();
    dxs.sort_by(f32::total_cmp);
    let pitch = dxs.get(dxs.len() / 2).copied().unwrap_or(1.0).max(1.0);
    // Top and bottom edges from the tall glyphs (not `<`).
    let mut hs: Vec<f32> = chain.iter().map(Blob::h).collect();
    hs.sort_by(f32::total_cmp);
    let tall = hs[hs.len() * 3 / 4] * 0.8;
    let tops: Vec<(f32, f32)> = chain.iter().filter(|b| b.h() >= tall).map(|b| (b.cx(), b.y0 as f32)).collect();
    let bottoms: Vec<(f32, f32)> = chain.iter().filter(|b| b.h() >= tall).map(|b| (b.cx(), b.y1 as f32)).collect();
    let top = fit(&tops);
    let bottom = fit(&bottoms);
    let mut centres: Vec<f32> = Vec::with_capacity(chain.len() + 4);
    for (k, b) in chain.iter().enumerate() {
        if k > 0 {
            let gap = b.cx() - chain[k - 1].cx();
            let missing = (gap / pitch).round() as i32 - 1;
            for m in 1..=missing.max(0) {
                centres.push(chain[k - 1].cx() + gap * m as f32 / (missing + 1) as f32);
            }
        }
        let parts = (b.w() / pitch).round().max(1.0) as usize;
        if parts > 1 && b.w() > 1.5 * pitch {
            for p in 0..parts {
                centres.push(b.x0 as f32 + b.w() * (p as f32 + 0.5) / parts as f32);
            }
        } else {
            centres.push(b.cx());
        }
    }
    Cells { top, bottom, pitch, centres }
}

/// The dot product of a cell and a glyph, in eight lanes (vectorised; the order of the sums
/// is the lanes', not the vector's).
fn dot(a: &[f32; TW * TH], b: &[f32; TW * TH]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    acc.iter().sum()
}

/// The characters of a line's cells, each matched against the OCR-B glyphs.
fn recognize(g: &image::GrayImage, cells: &Cells) -> String {
    let Cells { top: (ta, tb), bottom: (ba, bb), pitch, ref centres } = *cells;
    let slope = (tb + bb) / 2.0;
    let norm = (1.0 + slope * slope).sqrt();
    let (dx, dy) = (1.0 / norm, slope / norm);
    let (nx, ny) = (-slope / norm, 1.0 / norm);
    let t = templates();
    let mut out = String::with_capacity(centres.len());
    let mut cell = [0f32; TW * TH];
    for &cx in centres {
        let (top, bottom) = (ta + tb * cx, ba + bb * cx);
        let height = (bottom - top) / norm;
        let cy = (top + bottom) / 2.0;
        let along = pitch * norm;
        let mut best = (f32::MIN, '<');
        for sv in [-0.06f32, 0.0, 0.06] {
            for su in [-0.08f32, 0.0, 0.08] {
                for v in 0..TH {
                    for u in 0..TW {
                        let a = ((u as f32 + 0.5) / TW as f32 - 0.5 + su) * along;
                        let c = ((v as f32 + 0.5) / TH as f32 - 0.5 + sv) * height;
                        cell[v * TW + u] = bilinear(g, cx + a * dx + c * nx, cy + a * dy + c * ny);
                    }
                }
                normalize(&mut cell);
                for (k, tv) in t.vecs.iter().enumerate() {
                    let score = dot(tv, &cell);
                    if score > best.0 {
                        best = (score, t.chars[k]);
                    }
                }
            }
        }
        out.push(best.1);
    }
    out
}

/// The lines of blobs (in the photo as turned, `h` pixels high) that may be MRZ lines: blobs
/// of text size chained at a regular pitch, at least 24 long, top to bottom.
fn candidate_lines(found: &[Blob], h: u32) -> Vec<Vec<Blob>> {
    let min_h = 6.0f32;
    let max_h = h as f32 / 8.0;
    let all: Vec<Blob> = found
        .iter()
        .filter(|b| b.h() >= min_h && b.h() <= max_h && b.w() <= 3.5 * b.h() + 2.0 && b.area >= 12)
        .copied()
        .collect();
    let mut lines: Vec<Vec<Blob>> = chains(&all, 24);
    lines.sort_by(|a, b| a[0].cy().total_cmp(&b[0].cy()));
    lines
}

/// The MRZ read from candidate `lines` of an upright grey photo, and the box of its lines (x0,
/// y0, x1, y1).
fn read_lines(g: &image::GrayImage, lines: &[Vec<Blob>]) -> Option<(Mrz, [u32; 4])> {
    // Only lines whose cell count can make an MRZ line are read (the rest would fail the
    // width check below), on two threads: matching the cells is most of the reading.
    let fits = |n: usize| Format::ALL.iter().any(|f| n.abs_diff(f.width()) <= 4);
    let cells: Vec<Option<Cells>> = lines.iter().map(|c| Some(cells(c)).filter(|c| fits(c.centres.len()))).collect();
    let texts = recognize_all(g, &cells);
    let mut best: Option<(Mrz, [u32; 4])> = None;
    for format in Format::ALL {
        let n = format.lines();
        if lines.len() < n {
            continue;
        }
        for start in 0..=lines.len() - n {
            let Some(group) = texts[start..start + n].iter().cloned().collect::<Option<Vec<String>>>() else {
                continue;
            };
            if group.iter().any(|l| l.len().abs_diff(format.width()) > 4) {
                continue;
            }
            let fitted: Vec<String> = group.iter().map(|l| fit_line(l, format.width())).collect();
            let Ok(m) = Mrz::parse(&fitted) else { continue };
            if best.as_ref().is_none_or(|(b, _)| rank(&m) > rank(b)) {
                let blobs = || lines[start..start + n].iter().flatten();
                let bx = [
                    blobs().map(|b| b.x0).min().unwrap_or(0),
                    blobs().map(|b| b.y0).min().unwrap_or(0),
                    blobs().map(|b| b.x1).max().unwrap_or(0),
                    blobs().map(|b| b.y1).max().unwrap_or(0),
                ];
                best = Some((m, bx));
            }
        }
    }
    best
}

/// [`recognize`] on every line that has cells, split over two threads by cell count.
fn recognize_all(g: &image::GrayImage, cells: &[Option<Cells>]) -> Vec<Option<String>> {
    crate::par::on_two_threads(
        cells,
        |c| c.as_ref().map_or(0, |c| c.centres.len() as u64),
        |c| c.as_ref().map(|c| recognize(g, c)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ink rule as first written: an integral image and two divisions per pixel.
    fn binarize_reference(g: &image::GrayImage) -> Vec<bool> {
        let (w, h) = (g.width() as usize, g.height() as usize);
        let px = g.as_raw();
        let mut sum = vec![0u64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0u64;
            for x in 0..w {
                row += u64::from(px[y * w + x]);
                sum[(y + 1) * (w + 1) + x + 1] = sum[y * (w + 1) + x + 1] + row;
            }
        }
        let r = (w.max(h) / 50).max(6);
        let mut out = vec![false; w * h];
        for y in 0..h {
            let (ya, yb) = (y.saturating_sub(r), (y + r + 1).min(h));
            for x in 0..w {
                let (xa, xb) = (x.saturating_sub(r), (x + r + 1).min(w));
                let s =
                    sum[yb * (w + 1) + xb] + sum[ya * (w + 1) + xa] - sum[ya * (w + 1) + xb] - sum[yb * (w + 1) + xa];
                let n = ((yb - ya) * (xb - xa)) as u64;
                let v = u64::from(px[y * w + x]);
                out[y * w + x] = v * 100 < s * 85 / n && v + 12 < s / n;
            }
        }
        out
    }

    /// Paper with a light gradient, noise and dark strokes: every pixel's verdict must be the
    /// reference's, on one thread (short images) and on two (the rows split), for odd sizes too.
    #[test]
    fn ink_mask_is_the_integral_image_rule() {
        let mut seed = 0x2545_f491_u32;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (w, h) in [(1, 1), (7, 3), (40, 63), (333, 64), (640, 481), (97, 700)] {
            let img = image::GrayImage::from_fn(w, h, |x, y| {
                let paper = 150 + (x * 80 / w.max(1)) as i32 - (y * 40 / h.max(1)) as i32;
                let stroke = if (x / 3 + y / 5) % 7 == 0 { -110 } else { 0 };
                let noise = (rand() % 25) as i32 - 12;
                image::Luma([(paper + stroke + noise).clamp(0, 255) as u8])
            });
            let got = binarize(&img);
            let want = binarize_reference(&img);
            assert_eq!(got.len(), want.len());
            let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{w}×{h}: {differ} pixels differ");
            assert!(want.iter().any(|&v| v) || w * h < 64, "{w}×{h}: the test image has no ink");
        }
    }

    /// The lane-wise dot product is the plain one, to rounding.
    #[test]
    fn glyph_scores_are_dot_products() {
        let t = templates();
        for (a, b) in t.vecs.iter().zip(t.vecs.iter().rev()) {
            let plain: f32 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
            assert!((dot(a, b) - plain).abs() < 1e-5, "{} vs {plain}", dot(a, b));
        }
        assert!((dot(&t.vecs[0], &t.vecs[0]) - 1.0).abs() < 1e-4);
    }
}
