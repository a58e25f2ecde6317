//! Face quality from what the pipeline already has: face size, sharpness and exposure of the
//! aligned crop, and head pose estimated from the 5 landmarks. Used to pick the best shot.

use image::RgbImage;

use crate::geometry::{BBox, Landmarks};

/// Below this many pixels (shorter box side) a face is too small to match reliably.
pub const MIN_GOOD_FACE_PX: f32 = 80.0;
/// Laplacian variance (aligned 112×112 grey crop) at which a face counts as fully sharp.
pub const SHARP_LAPLACIAN_VAR: f32 = 300.0;

/// Quality measures of one detected face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Shorter side of the detector box, in pixels.
    pub face_size: f32,
    /// Variance of the Laplacian of the aligned grey crop (higher = sharper).
    pub sharpness: f32,
    /// Mean brightness of the aligned crop, 0..1 (0.5 ideal).
    pub exposure: f32,
    /// Head turn: nose offset from the eye midpoint over the eye distance (0 = frontal,
    /// positive = nose towards image right).
    pub yaw: f32,
    /// Head nod: nose height between eyes (0) and mouth (1), minus its frontal value (~0.49);
    /// positive = looking down.
    pub pitch: f32,
    /// In-plane rotation of the eye line, in degrees.
    pub roll_deg: f32,
    /// Mouth width over eye distance (grows with a smile).
    pub mouth_ratio: f32,
    /// Grey-level spread in the two eye regions of the aligned crop (drops when eyes close).
    pub eye_contrast: f32,
    /// Combined 0..1 score (product of the factors above), for ranking shots.
    pub score: f32,
}

/// Pose ratios from landmarks, in the frame of the eye line (roll removed).
pub fn pose(lm: &Landmarks) -> (f32, f32, f32, f32) {
    let [re, le, nose, rm, lmth] = *lm;
    let (dx, dy) = (le[0] - re[0], le[1] - re[1]);
    let eye_dist = (dx * dx + dy * dy).sqrt().max(1e-3);
    let roll = dy.atan2(dx);
    let (c, s) = (roll.cos(), roll.sin());
    // Rotate every point by −roll about the right eye.
    let rot = |p: [f32; 2]| {
        let (x, y) = (p[0] - re[0], p[1] - re[1]);
        [x * c + y * s, -x * s + y * c]
    };
    let (le_r, nose_r, rm_r, lm_r) = (rot(le), rot(nose), rot(rm), rot(lmth));
    let eye_mid = [le_r[0] / 2.0, le_r[1] / 2.0];
    let mouth_mid = [(rm_r[0] + lm_r[0]) / 2.0, (rm_r[1] + lm_r[1]) / 2.0];
    let yaw = (nose_r[0] - eye_mid[0]) / eye_dist;
    let span = (mouth_mid[1] - eye_mid[1]).abs().max(1e-3);
    let pitch = (nose_r[1] - eye_mid[1]) / span - FRONTAL_NOSE_HEIGHT;
    let mouth = ((lm_r[0] - rm_r[0]).powi(2) + (lm_r[1] - rm_r[1]).powi(2)).sqrt() / eye_dist;
    (yaw, pitch, roll.to_degrees(), mouth)
}

/// Nose height between eye line and mouth line in the ArcFace template.
const FRONTAL_NOSE_HEIGHT: f32 = 0.49;

/// Measure the quality of one face given its box, landmarks and aligned crop.
pub fn assess(bbox: &BBox, lm: &Landmarks, aligned: &RgbImage) -> Quality {
    let face_size = bbox.w.min(bbox.h);
    let (sharpness, exposure) = sharpness_and_exposure(aligned);
    let (yaw, pitch, roll_deg, mouth_ratio) = pose(lm);
    let size_f = (face_size / MIN_GOOD_FACE_PX).clamp(0.0, 1.0);
    let sharp_f = (sharpness / SHARP_LAPLACIAN_VAR).clamp(0.0, 1.0);
    let expo_f = (1.0 - ((exposure - 0.5).abs() - 0.2).max(0.0) * 2.5).clamp(0.0, 1.0);
    let pose_f = (1.0 - yaw.abs() * 1.5).clamp(0.0, 1.0) * (1.0 - pitch.abs() * 1.5).clamp(0.0, 1.0);
    let score = size_f * (0.3 + 0.7 * sharp_f) * expo_f * pose_f;
    let eye_contrast = eye_contrast(aligned);
    Quality { face_size, sharpness, exposure, yaw, pitch, roll_deg, mouth_ratio, eye_contrast, score }
}

/// Standard deviation of grey levels in two 24×12 patches centred on the template's eyes
/// (the crop is 112×112, aligned to the ArcFace template).
fn eye_contrast(img: &RgbImage) -> f32 {
    if img.width() < 112 || img.height() < 112 {
        return 0.0;
    }
    let mut total = 0f32;
    for (cx, cy) in [(38i64, 52i64), (74, 52)] {
        let (mut s, mut s2, mut n) = (0f32, 0f32, 0f32);
        for y in cy - 6..cy + 6 {
            for x in cx - 12..cx + 12 {
                let p = img.get_pixel(x as u32, y as u32);
                let g = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                s += g;
                s2 += g * g;
                n += 1.0;
            }
        }
        let mean = s / n;
        total += (s2 / n - mean * mean).max(0.0).sqrt();
    }
    total / 2.0
}

/// Laplacian variance and mean brightness of the central part of the crop.
fn sharpness_and_exposure(img: &RgbImage) -> (f32, f32) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return (0.0, 0.0);
    }
    let grey: Vec<f32> =
        img.pixels().map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).collect();
    // Skip a border (the warp's black corners would read as edges).
    let (x0, x1, y0, y1) = (w / 8, w - w / 8, h / 8, h - h / 8);
    let (mut sum, mut sum2, mut bright, mut n) = (0f64, 0f64, 0f64, 0f64);
    for y in y0.max(1)..y1.min(h - 1) {
        for x in x0.max(1)..x1.min(w - 1) {
            let c = grey[y * w + x];
            let lap =
                grey[(y - 1) * w + x] + grey[(y + 1) * w + x] + grey[y * w + x - 1] + grey[y * w + x + 1] - 4.0 * c;
            sum += lap as f64;
            sum2 += (lap * lap) as f64;
            bright += c as f64;
            n += 1.0;
        }
    }
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    (((sum2 / n) - mean * mean) as f32, (bright / n / 255.0) as f32)
}
