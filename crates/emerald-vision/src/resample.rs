//! Bilinear resampling of an RGB image region into a model's planar (NCHW) float input.
//!
//! The geometry matches OpenCV's `INTER_LINEAR` resize (pixel centres at +0.5, edge pixels
//! replicated), which is what the models were used with; `scripts/reference_embeddings.py`
//! implements the same arithmetic so that the golden test can compare the two.

use image::RgbImage;

/// Channel order a model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourOrder {
    Rgb,
    Bgr,
}

/// `value' = (value - mean) * scale`, per channel, on 0..255 values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    pub mean: f32,
    pub scale: f32,
}

impl Normalisation {
    /// Raw 0..255 values.
    pub const RAW: Normalisation = Normalisation { mean: 0.0, scale: 1.0 };
}

/// Where the resampled pixels go: a zero-initialised CHW buffer of `width × height`.
pub struct Canvas<'a> {
    pub data: &'a mut [f32],
    pub width: usize,
    pub height: usize,
}

/// Resample the source rectangle `[x0, y0, x1, y1)` (pixel edges) of `img` into the top-left
/// `out_w × out_h` pixels of `canvas`, with the given channel order and normalisation.
pub fn resample_into(
    img: &RgbImage,
    rect: [f32; 4],
    out: (usize, usize),
    canvas: &mut Canvas<'_>,
    order: ColourOrder,
    norm: Normalisation,
) {
    let (out_w, out_h) = out;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 || out_w == 0 || out_h == 0 {
        return;
    }
    let plane = canvas.width * canvas.height;
    let fx = (rect[2] - rect[0]) / out_w as f32;
    let fy = (rect[3] - rect[1]) / out_h as f32;
    let raw = img.as_raw();
    // Precompute the horizontal taps once per column.
    let xs: Vec<(usize, usize, f32)> = (0..out_w.min(canvas.width))
        .map(|ox| {
            let sx = (rect[0] + (ox as f32 + 0.5) * fx - 0.5).clamp(0.0, (w - 1) as f32);
            let x0 = sx.floor() as usize;
            (x0, (x0 + 1).min(w - 1), sx - x0 as f32)
        })
        .collect();
    let channels: [usize; 3] = match order {
        ColourOrder::Rgb => [0, 1, 2],
        ColourOrder::Bgr => [2, 1, 0],
    };
    for oy in 0..out_h.min(canvas.height) {
        let sy = (rect[1] + (oy as f32 + 0.5) * fy - 0.5).clamp(0.0, (h - 1) as f32);
        let y0 = sy.floor() as usize;
        let y1 = (y0 + 1).min(h - 1);
        let ay = sy - y0 as f32;
        let row0 = &raw[y0 * w * 3..(y0 + 1) * w * 3];
        let row1 = &raw[y1 * w * 3..(y1 + 1) * w * 3];
        for (ox, &(x0, x1, ax)) in xs.iter().enumerate() {
            for (dst_c, &src_c) in channels.iter().enumerate() {
                let p00 = row0[x0 * 3 + src_c] as f32;
                let p01 = row0[x1 * 3 + src_c] as f32;
                let p10 = row1[x0 * 3 + src_c] as f32;
                let p11 = row1[x1 * 3 + src_c] as f32;
                let top = p00 + (p01 - p00) * ax;
                let bottom = p10 + (p11 - p10) * ax;
                let v = top + (bottom - top) * ay;
                canvas.data[dst_c * plane + oy * canvas.width + ox] = (v - norm.mean) * norm.scale;
            }
        }
    }
}
