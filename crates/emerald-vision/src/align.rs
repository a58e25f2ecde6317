//! 5-point face alignment: a least-squares similarity transform (rotation, uniform scale,
//! translation) from the detected landmarks to the embedder's template, then an inverse-mapped
//! bilinear warp (zero outside the image).

use image::{Rgb, RgbImage};

use crate::geometry::Landmarks;

/// The ArcFace 112×112 template.
pub const ARCFACE_112: Landmarks =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// `x' = a·x − b·y + tx`, `y' = b·x + a·y + ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// Closed-form least squares from `src` points to `dst` points.
    pub fn estimate(src: &Landmarks, dst: &Landmarks) -> Similarity {
        let n = src.len() as f32;
        let mean = |p: &Landmarks| {
            let (sx, sy) = p.iter().fold((0.0, 0.0), |(x, y), q| (x + q[0], y + q[1]));
            (sx / n, sy / n)
        };
        let ((smx, smy), (dmx, dmy)) = (mean(src), mean(dst));
        let (mut num_a, mut num_b, mut den) = (0f32, 0f32, 0f32);
        for (s, d) in src.iter().zip(dst) {
            let (sx, sy) = (s[0] - smx, s[1] - smy);
            let (dx, dy) = (d[0] - dmx, d[1] - dmy);
            num_a += sx * dx + sy * dy;
            num_b += sx * dy - sy * dx;
            den += sx * sx + sy * sy;
        }
        let (a, b) = if den > 0.0 { (num_a / den, num_b / den) } else { (1.0, 0.0) };
        Similarity { a, b, tx: dmx - (a * smx - b * smy), ty: dmy - (b * smx + a * smy) }
    }

    /// Map a destination point back into the source image.
    pub fn inverse_apply(&self, x: f32, y: f32) -> (f32, f32) {
        let det = self.a * self.a + self.b * self.b;
        let (u, v) = (x - self.tx, y - self.ty);
        ((self.a * u + self.b * v) / det, (-self.b * u + self.a * v) / det)
    }
}

/// Warp `img` so that `landmarks` land on `template`, into a `size × size` crop.
pub fn align(img: &RgbImage, landmarks: &Landmarks, template: &Landmarks, size: u32) -> RgbImage {
    warp(img, &Similarity::estimate(landmarks, template), size)
}

/// The `size × size` image whose pixel (x', y') is `img` at `t`'s inverse of it (bilinear,
/// zeros outside `img`).
pub fn warp(img: &RgbImage, t: &Similarity, size: u32) -> RgbImage {
    let mut out = RgbImage::new(size, size);
    let det = t.a * t.a + t.b * t.b;
    if !det.is_finite() || det <= 0.0 {
        return out;
    }
    let (w, h) = (img.width() as i64, img.height() as i64);
    let px = |x: i64, y: i64, c: usize| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            img.get_pixel(x as u32, y as u32)[c] as f32
        }
    };
    for oy in 0..size {
        for ox in 0..size {
            let (sx, sy) = t.inverse_apply(ox as f32, oy as f32);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (ax, ay) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let mut rgb = [0u8; 3];
            for (c, v) in rgb.iter_mut().enumerate() {
                let top = px(x0, y0, c) * (1.0 - ax) + px(x0 + 1, y0, c) * ax;
                let bottom = px(x0, y0 + 1, c) * (1.0 - ax) + px(x0 + 1, y0 + 1, c) * ax;
                *v = (top * (1.0 - ay) + bottom * ay).round().clamp(0.0, 255.0) as u8;
            }
            out.put_pixel(ox, oy, Rgb(rgb));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_recovers_a_known_similarity() {
        let truth = Similarity { a: 0.8, b: 0.3, tx: 5.0, ty: -7.0 };
        let src: Landmarks = [[10.0, 20.0], [50.0, 22.0], [30.0, 40.0], [15.0, 60.0], [45.0, 61.0]];
        let dst = src.map(|[x, y]| [truth.a * x - truth.b * y + truth.tx, truth.b * x + truth.a * y + truth.ty]);
        let got = Similarity::estimate(&src, &dst);
        for (g, t) in [(got.a, truth.a), (got.b, truth.b), (got.tx, truth.tx), (got.ty, truth.ty)] {
            assert!((g - t).abs() < 1e-3, "{got:?} vs {truth:?}");
        }
    }
}
