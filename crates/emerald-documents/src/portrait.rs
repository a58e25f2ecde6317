//! The document's portrait: the face box the face engine found on the upright photo, widened to
//! a head-and-shoulders cut, as a JPEG.

use image::RgbImage;

/// JPEG quality of the portrait.
pub const JPEG_QUALITY: u8 = 90;

/// `img` as a JPEG (empty for a zero-sized image, which JPEG cannot hold).
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    emerald_vision::encode_jpeg_quality(img, quality).unwrap_or_default()
}

/// The cut around a face box `[x, y, w, h]`: half a face width on each side, 60 % of its height
/// above (hair) and 40 % below (chin, neck), inside the image: x0, y0, x1, y1.
pub fn cut(face: [f32; 4], width: u32, height: u32) -> [u32; 4] {
    let [x, y, w, h] = face;
    let clamp = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
    [clamp(x - 0.5 * w, width), clamp(y - 0.6 * h, height), clamp(x + 1.5 * w, width), clamp(y + 1.4 * h, height)]
}

/// The picture around a face box to keep out of the visual zone's OCR: the face and its hair and
/// shoulders, but no wider than a quarter face width each side — the printed fields often start
/// right next to the portrait: x0, y0, x1, y1.
pub fn picture(face: [f32; 4], width: u32, height: u32) -> [u32; 4] {
    let [x, y, w, h] = face;
    let clamp = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
    [clamp(x - 0.25 * w, width), clamp(y - 0.6 * h, height), clamp(x + 1.25 * w, width), clamp(y + 1.8 * h, height)]
}

/// The portrait cut out of the upright photo as a JPEG, and the cut (x0, y0, x1, y1); None when
/// the cut is empty.
pub fn portrait(upright: &RgbImage, face: [f32; 4]) -> Option<(Vec<u8>, [u32; 4])> {
    let c = cut(face, upright.width(), upright.height());
    if c[2] <= c[0] + 1 || c[3] <= c[1] + 1 {
        return None;
    }
    let crop = image::imageops::crop_imm(upright, c[0], c[1], c[2] - c[0], c[3] - c[1]).to_image();
    let out = jpeg(&crop, JPEG_QUALITY);
    (!out.is_empty()).then_some((out, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_has_a_margin_and_stays_inside() {
        assert_eq!(cut([100.0, 100.0, 40.0, 50.0], 1000, 1000), [80, 70, 160, 170]);
        assert_eq!(cut([5.0, 5.0, 40.0, 50.0], 60, 60), [0, 0, 60, 60]);
        assert_eq!(picture([100.0, 100.0, 40.0, 50.0], 1000, 1000), [90, 70, 150, 190]);
        let img = RgbImage::from_pixel(200, 100, image::Rgb([200, 100, 50]));
        let (bytes, c) = portrait(&img, [50.0, 20.0, 40.0, 40.0]).unwrap();
        assert_eq!(c, [30, 0, 110, 76]);
        let back = image::load_from_memory(&bytes).unwrap();
        assert_eq!((back.width(), back.height()), (80, 76));
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
    }
}
