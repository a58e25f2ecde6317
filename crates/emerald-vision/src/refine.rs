//! The five points faces are aligned by, placed by MTCNN's landmark network (ONet).
//!
//! YuNet finds faces and gives five points, but its points follow its own training labels; the
//! embedders were trained on faces aligned from MTCNN's points (the ArcFace template is MTCNN's
//! mean face). Placing the points with ONet, on the detector's box, gives the embedders crops
//! like the ones they learnt from. Measured on faces-dev (`docs/accuracy.md`, "Alignment"): AUC
//! on every pair of photos 0.99929 → 0.99966, FNMR at FMR 10⁻³ / 10⁻⁴ 0.76 / 2.46 → 0.55 / 2.29 %,
//! 1:N found at the default 91.98 → 93.19 % (strangers with a hit 0.18 → 0.09 %), with both
//! embedders gaining; the impostor curve barely moves.
//!
//! Recipe (facenet-pytorch's last MTCNN stage, started from YuNet's box instead of RNet's): the
//! square of side max(w, h) about the box centre; that square cut from the frame (zeros outside),
//! area-averaged to 48×48, RGB, (v − 127.5)/128; ONet gives a box regression, the five points in
//! box units and p(face). The regressed box, squared again, is run once more and its points are
//! used (two passes: the first box is YuNet's, not the one ONet was trained to refine). ONet was
//! trained on upright faces and misplaces the points of a face rolled by 30° (measured on the
//! test photo `obama.jpg` turned by 20–45°: 0.010–0.025 face sizes off on average, against
//! 0.002–0.006 when turned upright first), so
//! when the eyes of that first placement are rolled by more than [`MAX_UPRIGHT_ROLL_DEG`] the
//! face is turned upright — a patch of 1.5× the square about the box centre, rotated by the
//! eyes' angle — placed again, and the points mapped back. (YuNet's own eyes understate a roll:
//! on a face rolled by 35° in `sample1.jpg` it puts an eye on the brow.)
//! When ONet does not see a face (p(face) < [`MIN_FACE_PROBABILITY`]: a profile, a mask) YuNet's
//! points are kept.

use std::path::Path;

use image::RgbImage;

use crate::align::{warp, Similarity};
use crate::error::VisionError;
use crate::geometry::Landmarks;
use crate::model::{Detection, ModelDescriptor};
use crate::provision::verified_model_path;
use crate::resample::{ColourOrder, Normalisation};
use crate::runtime::{Backend, OnnxPlan};

const SIDE: usize = 48;
/// Below this p(face) ONet's points are not trusted and the detector's are kept.
pub const MIN_FACE_PROBABILITY: f32 = 0.5;
const PASSES: usize = 2;
/// Faces rolled more than this (degrees, from the detector's eyes) are turned upright first.
pub const MAX_UPRIGHT_ROLL_DEG: f32 = 10.0;

pub const MTCNN_ONET: ModelDescriptor = ModelDescriptor {
    id: "mtcnn-onet@993b1aaf",
    file: "mtcnn_onet.onnx",
    sha256: "993b1aaf0fec7be78625ceab052ba9636d171fc36a26ad01ac105a4d2a4c729d",
    input_size: (SIDE, SIDE),
    colour_order: ColourOrder::Rgb,
    normalisation: Normalisation { mean: 127.5, scale: 1.0 / 128.0 },
    output: "box regression [4], five points in box units [10: x then y], p(face) [2]",
    source: "PyPI facenet-pytorch==2.6.0: facenet_pytorch/data/onet.pt, converted by scripts/convert_onet.py",
};

/// Places the five alignment points of a detected face.
pub trait LandmarkRefiner: Send + Sync {
    fn descriptor(&self) -> &ModelDescriptor;
    fn runtime(&self) -> Option<Backend> {
        None
    }
    /// The five points (detector order: image-left eye first) for the detected face, or None
    /// when the model does not see a face there.
    fn refine(&self, img: &RgbImage, det: &Detection) -> Result<Option<Landmarks>, VisionError>;
}

/// MTCNN's ONet.
pub struct Onet {
    plan: OnnxPlan,
}

impl Onet {
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        let path = verified_model_path(models_dir, MTCNN_ONET.file, MTCNN_ONET.sha256)?;
        Ok(Onet { plan: OnnxPlan::load(MTCNN_ONET.id, &path, [1, 3, SIDE, SIDE])? })
    }

    /// One pass on the square `[x0, y0, side]`: (box regression, points, p(face)).
    fn run(&self, img: &RgbImage, square: [f32; 3]) -> Result<([f32; 4], [f32; 10], f32), VisionError> {
        let data = area_crop(img, square, SIDE, MTCNN_ONET.normalisation);
        let outputs = self.plan.run([1, 3, SIDE, SIDE], data)?;
        let get = |name: &str, n: usize| -> Result<Vec<f32>, VisionError> {
            outputs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| v.len() == n)
                .ok_or_else(|| VisionError::inference("mtcnn_onet", format!("no output `{name}` of {n} values")))
        };
        let (reg, pts, face) = (get("box", 4)?, get("landmarks", 10)?, get("face", 2)?);
        let mut r = [0f32; 4];
        r.copy_from_slice(&reg);
        let mut p = [0f32; 10];
        p.copy_from_slice(&pts);
        Ok((r, p, face[1]))
    }
}

/// The square of side max(w, h) about the centre of `[x0, y0, x1, y1]`, as `[x0, y0, side]`.
fn square_about(x0: f32, y0: f32, x1: f32, y1: f32) -> [f32; 3] {
    let (w, h) = (x1 - x0, y1 - y0);
    let side = w.max(h);
    [x0 + (w - side) / 2.0, y0 + (h - side) / 2.0, side]
}

impl LandmarkRefiner for Onet {
    fn descriptor(&self) -> &ModelDescriptor {
        &MTCNN_ONET
    }

    fn runtime(&self) -> Option<Backend> {
        Some(self.plan.backend())
    }

    fn refine(&self, img: &RgbImage, det: &Detection) -> Result<Option<Landmarks>, VisionError> {
        let b = &det.bbox;
        if img.width() < 2 || img.height() < 2 || !(b.w >= 2.0 && b.h >= 2.0) {
            return Ok(None);
        }
        let square = square_about(b.x, b.y, b.x + b.w, b.y + b.h);
        let Some(points) = self.points_from(img, square)? else { return Ok(None) };
        // The roll from ONet's own eyes (YuNet's understate it: an eye on the brow).
        let [l, r] = [points[0], points[1]];
        let roll = (r[1] - l[1]).atan2(r[0] - l[0]);
        if !roll.is_finite() || roll.abs().to_degrees() <= MAX_UPRIGHT_ROLL_DEG {
            return Ok(Some(points));
        }
        // Turn the face upright: a patch 1.5× the square, about its centre, rotated by −roll,
        // at most 576 pixels a side (ONet reads 48).
        let (cx, cy, side) = (square[0] + square[2] / 2.0, square[1] + square[2] / 2.0, square[2]);
        let patch_side = (1.5 * side).round().clamp(72.0, 576.0);
        let s = patch_side / (1.5 * side);
        let (a, bb) = (s * (-roll).cos(), s * (-roll).sin());
        let half = patch_side / 2.0;
        let t = Similarity { a, b: bb, tx: half - (a * cx - bb * cy), ty: half - (bb * cx + a * cy) };
        let patch = warp(img, &t, patch_side as u32);
        let inner = side * s;
        let Some(turned) = self.points_from(&patch, [half - inner / 2.0, half - inner / 2.0, inner])? else {
            return Ok(Some(points));
        };
        Ok(Some(turned.map(|[x, y]| {
            let (u, v) = t.inverse_apply(x, y);
            [u, v]
        })))
    }
}

impl Onet {
    /// ONet's points for the face in the square `[x0, y0, side]` of `img` (two passes).
    fn points_from(&self, img: &RgbImage, mut square: [f32; 3]) -> Result<Option<Landmarks>, VisionError> {
        for pass in 0..PASSES {
            let (reg, pts, p_face) = self.run(img, square)?;
            if p_face < MIN_FACE_PROBABILITY || !pts.iter().chain(&reg).all(|v| v.is_finite()) {
                return Ok(None);
            }
            // MTCNN's box convention: a box [x0, x1] is x1 − x0 + 1 pixels wide, and its points
            // are placed from x0 − 1 (facenet-pytorch's `detect_face`, on unrounded boxes).
            let [x0, y0, side] = square;
            let span = side + 1.0;
            if pass + 1 == PASSES {
                let mut lm = [[0f32; 2]; 5];
                for (k, p) in lm.iter_mut().enumerate() {
                    *p = [span * pts[k] + x0 - 1.0, span * pts[5 + k] + y0 - 1.0];
                }
                return Ok(Some(lm));
            }
            square = square_about(
                x0 + reg[0] * span,
                y0 + reg[1] * span,
                x0 + side + reg[2] * span,
                y0 + side + reg[3] * span,
            );
            if square[2].is_nan() || square[2] < 2.0 {
                return Ok(None);
            }
        }
        Ok(None)
    }
}

/// The square `[x0, y0, side]` of `img` (corners truncated to whole pixels, zeros outside the
/// image), area-averaged to `out × out`, RGB planes, normalised. Written by hand: an exact area
/// average over a crop that may leave the frame is a few lines, and the general resizers
/// (`fast_image_resize`, `image`) would need the padded crop copied out first.
pub fn area_crop(img: &RgbImage, square: [f32; 3], out: usize, norm: Normalisation) -> Vec<f32> {
    let x0 = square[0].trunc() as i64;
    let y0 = square[1].trunc() as i64;
    let x1 = (square[0] + square[2]).trunc() as i64;
    let y1 = (square[1] + square[2]).trunc() as i64;
    let (cw, ch) = ((x1 - x0).max(1) as f64, (y1 - y0).max(1) as f64);
    // Per output column/row: the source pixels it covers and by how much.
    let spans = |len: f64, origin: i64, limit: u32| -> Vec<Vec<(u32, f32)>> {
        (0..out)
            .map(|o| {
                let (a, b) = (o as f64 * len / out as f64, (o + 1) as f64 * len / out as f64);
                let mut v = Vec::new();
                let mut s = a.floor() as i64;
                while (s as f64) < b {
                    let cover = (b.min(s as f64 + 1.0) - a.max(s as f64)) / (b - a);
                    let src = origin + s;
                    if cover > 0.0 && src >= 0 && src < limit as i64 {
                        v.push((src as u32, cover as f32));
                    }
                    s += 1;
                }
                v
            })
            .collect()
    };
    let cols = spans(cw, x0, img.width());
    let rows = spans(ch, y0, img.height());
    // Separable: each source row the crop needs is averaged across once, into `out` columns
    // (a large face costs one read of its pixels), then the rows are averaged down.
    let (first, last) = rows.iter().flatten().fold((u32::MAX, 0), |(a, b), &(y, _)| (a.min(y), b.max(y)));
    let mut across = vec![[0f32; 3]; if first <= last { (last - first + 1) as usize * out } else { 0 }];
    for y in first..=last {
        let row = &mut across[(y - first) as usize * out..][..out];
        for (acc, col) in row.iter_mut().zip(&cols) {
            for &(sx, wx) in col {
                let p = img.get_pixel(sx, y).0;
                for c in 0..3 {
                    acc[c] += wx * p[c] as f32;
                }
            }
        }
    }
    let plane = out * out;
    let mut data = vec![0f32; 3 * plane];
    for (oy, row) in rows.iter().enumerate() {
        for ox in 0..out {
            let mut acc = [0f32; 3];
            for &(sy, wy) in row {
                let a = across[(sy - first) as usize * out + ox];
                for c in 0..3 {
                    acc[c] += wy * a[c];
                }
            }
            // Pixels outside the frame are zeros (before normalisation), as in MTCNN's padding.
            for c in 0..3 {
                data[c * plane + oy * out + ox] = (acc[c] - norm.mean) * norm.scale;
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn area_crop_averages_whole_pixels_and_pads_with_zeros() {
        // 4×4 image, left half 0, right half 200; crop it to 2×2: exact averages.
        let img = RgbImage::from_fn(4, 4, |x, _| if x < 2 { Rgb([0, 0, 0]) } else { Rgb([200, 100, 50]) });
        let d = area_crop(&img, [0.0, 0.0, 4.0], 2, Normalisation::RAW);
        assert_eq!(&d[0..4], &[0.0, 200.0, 0.0, 200.0]);
        assert_eq!(&d[4..8], &[0.0, 100.0, 0.0, 100.0]);
        // A square hanging off the right edge by half: the outside half averages in zeros.
        let d = area_crop(&img, [2.0, 0.0, 4.0], 1, Normalisation::RAW);
        assert!((d[0] - 100.0).abs() < 1e-4, "{}", d[0]);
        // 3 source pixels into 2: the middle one is shared, a third to each side's weight.
        let img = RgbImage::from_fn(3, 3, |x, _| Rgb([[30, 60, 90][x as usize], 0, 0]));
        let d = area_crop(&img, [0.0, 0.0, 3.0], 2, Normalisation::RAW);
        for (got, want) in d[0..4].iter().zip([40.0, 80.0, 40.0, 80.0]) {
            assert!((got - want).abs() < 1e-3, "{got} != {want}");
        }
    }

    #[test]
    fn square_about_keeps_the_centre() {
        assert_eq!(square_about(10.0, 20.0, 30.0, 60.0), [0.0, 20.0, 40.0]);
    }
}
