//! int8 codes: unit vector → (per-vector scale, codes in -127..=127).
//!
//! `x ≈ scale · code`; the largest |component| maps to 127, so each component's rounding error is
//! at most `scale / 2`. For 512-d unit vectors that puts the cosine error of a code against an f32
//! query at a few 1e-4 (measured in the tests), below any decision threshold a face model uses.

use crate::error::GalleryError;

/// Normalises `v` to unit length, refusing zero and non-finite vectors.
pub fn normalized(v: &[f32]) -> Result<Vec<f32>, GalleryError> {
    let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return Err(GalleryError::InvalidVector);
    }
    Ok(v.iter().map(|x| (f64::from(*x) / norm) as f32).collect())
}

/// Quantises into `out` (same length as `v`) and returns the scale.
pub fn quantize_into(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    let inv = 1.0 / scale;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x * inv).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

pub fn quantize(v: &[f32]) -> (f32, Vec<i8>) {
    let mut out = vec![0i8; v.len()];
    let scale = quantize_into(v, &mut out);
    (scale, out)
}
