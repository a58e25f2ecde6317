//! Still images: sniffing the media kind from magic bytes, decoding JPEG/PNG/WebP/BMP with EXIF
//! orientation applied, and JPEG thumbnails.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::error::VisionError;

/// Largest accepted image side, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
/// Largest decoder allocation for one image, in bytes.
pub const MAX_IMAGE_ALLOC: u64 = 512 << 20;
/// JPEG quality of thumbnails and best shots.
pub const JPEG_QUALITY: u8 = 90;

/// What a media file is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// A still photo (JPEG, PNG, WebP, BMP).
    Image,
    /// A video container (MP4/MOV/M4V/3GP, WebM/Matroska, AVI).
    Video,
    /// A ZIP archive of still frames ("shots set").
    ShotsSet,
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::ShotsSet => "shots_set",
        })
    }
}

/// Container flavours recognised by `sniff_video`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoContainer {
    IsoBmff,
    Matroska,
    Avi,
    /// MPEG-1/2 program stream (`.mpg`, `.vob`).
    MpegPs,
    /// MPEG transport stream (`.ts`, and `.mts`/`.m2ts` with their 4-byte packet prefix).
    MpegTs,
    /// Ogg with a Theora or VP8 video stream (`.ogv`).
    Ogg,
    /// ASF (`.wmv`).
    Asf,
}

/// The ASF header object's GUID, as stored.
const ASF_HEADER: [u8; 16] =
    [0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C];

/// Judge the media kind from magic bytes; `None` for anything else. Cheap: reads the first 16
/// bytes, the first 8 KiB for Ogg (is there a video stream?) and 389 for transport streams.
pub fn sniff(bytes: &[u8]) -> Option<MediaKind> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF])
        || starts(b"\x89PNG\r\n\x1a\n")
        || (starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        || (starts(b"BM") && bytes.len() > 14)
    {
        return Some(MediaKind::Image);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Some(MediaKind::ShotsSet);
    }
    if is_heif(bytes) {
        return Some(MediaKind::Image);
    }
    sniff_video(bytes).map(|_| MediaKind::Video)
}

/// A HEIF (`.heic`, `.heif`) or AVIF still: ISO-BMFF like an MP4, told apart by its major brand.
fn is_heif(bytes: &[u8]) -> bool {
    let still = [b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"];
    bytes.get(4..8) == Some(b"ftyp") && bytes.get(8..12).is_some_and(|brand| still.iter().any(|b| brand == *b))
}

pub(crate) fn sniff_video(bytes: &[u8]) -> Option<VideoContainer> {
    let boxtype = bytes.get(4..8)?;
    if is_heif(bytes) {
        return None;
    }
    if [b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"].iter().any(|t| boxtype == *t) {
        return Some(VideoContainer::IsoBmff);
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(VideoContainer::Matroska);
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"AVI ") {
        return Some(VideoContainer::Avi);
    }
    if bytes.starts_with(&[0, 0, 1, 0xBA]) {
        return Some(VideoContainer::MpegPs);
    }
    if bytes.starts_with(&ASF_HEADER) {
        return Some(VideoContainer::Asf);
    }
    // Ogg: a video codec's first header among the streams' first pages (an Ogg of sound only is
    // not a video).
    if bytes.starts_with(b"OggS") {
        let head = &bytes[..bytes.len().min(8192)];
        let video = [&b"\x80theora"[..], b"OVP80"].iter().any(|m| head.windows(m.len()).any(|w| w == *m));
        return video.then_some(VideoContainer::Ogg);
    }
    // Transport streams: the sync byte every 188 bytes, three times (after a 4-byte time code in
    // the 192-byte packets of .m2ts / .mts).
    let synced = |first: usize, step: usize| (0..3).all(|i| bytes.get(first + i * step) == Some(&0x47));
    if synced(0, 188) || synced(4, 192) {
        return Some(VideoContainer::MpegTs);
    }
    None
}

/// Decode a still image to RGB with its EXIF orientation applied.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, VisionError> {
    if is_heif(bytes) {
        return crate::video::decode_still(bytes);
    }
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| VisionError::Decode(e.to_string()))?;
    if reader.format().is_none() {
        return Err(VisionError::Unsupported("not a JPEG, PNG, WebP, BMP, HEIF or AVIF image".into()));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    // A broken EXIF block must not reject an otherwise good photo.
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(img.into_rgb8())
}

fn image_error(e: image::ImageError) -> VisionError {
    match e {
        image::ImageError::Limits(l) => VisionError::TooLarge(l.to_string()),
        image::ImageError::Unsupported(u) => VisionError::Unsupported(u.to_string()),
        other => VisionError::Decode(other.to_string()),
    }
}

/// Encode an RGB image as JPEG at [`JPEG_QUALITY`].
pub fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>, VisionError> {
    encode_jpeg_quality(img, JPEG_QUALITY)
}

/// Encode an RGB image as JPEG at `quality` (1–100) with `jpeg-encoder` (SIMD): 13.5 ms for a
/// 1280×960 best shot against 31.7 ms with `image`'s encoder, the same size and error within
/// 1 %. Images wider or taller than 65,535 pixels (JPEG's limit) go to `image`'s encoder,
/// which refuses them.
pub fn encode_jpeg_quality(img: &RgbImage, quality: u8) -> Result<Vec<u8>, VisionError> {
    let mut out = Vec::new();
    let failed = |e: &dyn std::fmt::Display| VisionError::Decode(format!("jpeg encoding: {e}"));
    match (u16::try_from(img.width()), u16::try_from(img.height())) {
        (Ok(w), Ok(h)) => jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100))
            .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| failed(&e))?,
        _ => JpegEncoder::new_with_quality(&mut out, quality).encode_image(img).map_err(|e| failed(&e))?,
    }
    Ok(out)
}

/// A JPEG thumbnail whose longer side is at most `max_side`, for a still image (EXIF
/// orientation applied), a shots set (its first frame) or a video (its first decoded frame).
pub fn thumbnail_jpeg(bytes: &[u8], max_side: u32) -> Result<Vec<u8>, VisionError> {
    let max_side = max_side.max(1);
    let frame = match sniff(bytes) {
        Some(MediaKind::Image) => decode_image(bytes)?,
        Some(MediaKind::ShotsSet) => first(crate::shots::decode_shots(bytes, 1)?)?,
        Some(MediaKind::Video) => first(crate::video::decode_video(bytes, 1)?.frames)?,
        None => return Err(VisionError::Unsupported("unknown media format".into())),
    };
    match crate::scale::fit_rgb(&frame, max_side) {
        Some(small) => encode_jpeg(&small),
        None => encode_jpeg(&frame),
    }
}

fn first(frames: Vec<RgbImage>) -> Result<RgbImage, VisionError> {
    frames.into_iter().next().ok_or_else(|| VisionError::Decode("no frames".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Some(MediaKind::Image));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(MediaKind::Image));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(MediaKind::Image));
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(MediaKind::ShotsSet));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom"), Some(MediaKind::Video));
        assert_eq!(sniff(b"\x1A\x45\xDF\xA3webm"), Some(MediaKind::Video));
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn the_older_video_formats_and_heif_stills() {
        let v = |b: &[u8]| sniff_video(b);
        assert_eq!(v(b"\0\0\x01\xBA\x44\0\x04\0\x04\x01"), Some(VideoContainer::MpegPs));
        assert_eq!(v(&ASF_HEADER), Some(VideoContainer::Asf));
        // Transport streams: a sync byte every 188 bytes, or every 192 after a 4-byte prefix.
        let mut ts = vec![0u8; 188 * 3];
        (0..3).for_each(|i| ts[i * 188] = 0x47);
        assert_eq!(v(&ts), Some(VideoContainer::MpegTs));
        let mut m2ts = vec![0u8; 192 * 3];
        (0..3).for_each(|i| m2ts[4 + i * 192] = 0x47);
        assert_eq!(v(&m2ts), Some(VideoContainer::MpegTs));
        ts[188] = 0;
        assert_eq!(v(&ts), None, "one sync byte is chance");
        // Ogg: a video only with a video codec's header.
        assert_eq!(v(b"OggS\0\x02......\x80theora\x03\x02"), Some(VideoContainer::Ogg));
        assert_eq!(v(b"OggS\0\x02......\x01vorbis\0\0"), None);
        // HEIF and AVIF stills are ISO-BMFF but not videos; an MP4 is.
        assert_eq!(v(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), None);
        assert_eq!(v(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1"), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Some(MediaKind::Image));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1"), Some(MediaKind::Image));
        assert_eq!(v(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2"), Some(VideoContainer::IsoBmff));
    }

    #[test]
    fn jpegs_decode_back_to_the_image() {
        let img = RgbImage::from_fn(333, 201, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let back = decode_image(&encode_jpeg(&img).unwrap()).unwrap();
        assert_eq!(back.dimensions(), (333, 201));
        let err: f64 = back.as_raw().iter().zip(img.as_raw()).map(|(a, b)| f64::from(a.abs_diff(*b))).sum();
        assert!(err / img.as_raw().len() as f64 <= 3.0, "mean error {}", err / img.as_raw().len() as f64);
        assert!(encode_jpeg(&RgbImage::new(0, 5)).is_err(), "JPEG holds no empty image");
        let thumb = decode_image(&thumbnail_jpeg(&encode_jpeg(&img).unwrap(), 100).unwrap()).unwrap();
        assert_eq!(thumb.dimensions(), (100, 60));
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        assert!(decode_image(b"\xFF\xD8\xFF\xE0 truncated").is_err());
        assert!(thumbnail_jpeg(b"nonsense", 64).is_err());
    }
}
