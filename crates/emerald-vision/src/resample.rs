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
    let channels: [usize; 3] = match order {
        ColourOrder::Rgb => [0, 1, 2],
        ColourOrder::Bgr => [2, 1, 0],
    };
    // The whole image at its own size (a 640×480 photo into the detector): every tap falls on a
    // pixel centre with weight 0, so the bilinear result is the pixel itself — copy it.
    if rect == [0.0, 0.0, w as f32, h as f32] && (out_w, out_h) == (w, h) {
        let cols = w.min(canvas.width);
        for (y, row) in raw.chunks_exact(w * 3).take(canvas.height).enumerate() {
            for (dst_c, &src_c) in channels.iter().enumerate() {
                let dst = &mut canvas.data[dst_c * plane + y * canvas.width..][..cols];
                for (d, px) in dst.iter_mut().zip(row.chunks_exact(3)) {
                    *d = (px[src_c] as f32 - norm.mean) * norm.scale;
                }
            }
        }
        return;
    }
    // Precompute the horizontal taps once per column.
    let xs: Vec<(usize, usize, f32)> = (0..out_w.min(canvas.width))
        .map(|ox| {
            let sx = (rect[0] + (ox as f32 + 0.5) * fx - 0.5).clamp(0.0, (w - 1) as f32);
            let x0 = sx.floor() as usize;
            (x0, (x0 + 1).min(w - 1), sx - x0 as f32)
        })
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 37 + y * 11) as u8, (x * 5 + y * 53) as u8, (x * y) as u8]))
    }

    /// The identity copy gives exactly the bilinear values: the pixel itself, in the channel
    /// order and normalisation asked, top-left, the rest of the canvas left at zero.
    #[test]
    fn identity_resampling_copies_the_pixels() {
        let img = image(7, 5);
        let norm = Normalisation { mean: 127.5, scale: 1.0 / 128.0 };
        let (cw, ch) = (8, 6);
        let mut data = vec![0f32; 3 * cw * ch];
        resample_into(
            &img,
            [0.0, 0.0, 7.0, 5.0],
            (7, 5),
            &mut Canvas { data: &mut data, width: cw, height: ch },
            ColourOrder::Bgr,
            norm,
        );
        for y in 0..ch {
            for x in 0..cw {
                for (c, src) in [2usize, 1, 0].into_iter().enumerate() {
                    let got = data[c * cw * ch + y * cw + x];
                    let want = if x < 7 && y < 5 {
                        (img.get_pixel(x as u32, y as u32)[src] as f32 - 127.5) / 128.0
                    } else {
                        0.0
                    };
                    assert_eq!(got, want, "({x}, {y}) channel {c}");
                }
            }
        }
    }

    /// Halving an image averages 2×2 blocks (pixel centres at +0.5, as OpenCV's INTER_LINEAR).
    #[test]
    fn halving_averages_blocks() {
        let img = image(4, 2);
        let mut data = vec![0f32; 3 * 2];
        resample_into(
            &img,
            [0.0, 0.0, 4.0, 2.0],
            (2, 1),
            &mut Canvas { data: &mut data, width: 2, height: 1 },
            ColourOrder::Rgb,
            Normalisation::RAW,
        );
        for ox in 0..2u32 {
            let want: f32 = (0..2)
                .flat_map(|dy| (0..2).map(move |dx| (dx, dy)))
                .map(|(dx, dy)| img.get_pixel(2 * ox + dx, dy)[0] as f32)
                .sum::<f32>()
                / 4.0;
            assert!((data[ox as usize] - want).abs() < 1e-4, "column {ox}: {} against {want}", data[ox as usize]);
        }
    }
}
