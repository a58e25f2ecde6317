//! The server's light media probe: decides a file's kind from its magic bytes and checks it
//! enough to reject corrupt or hostile files at upload time (spec §6.8), without decoding
//! pixels where the structure says enough, so that uploads cost about what their bytes cost.
//! Deep decoding happens at analysis time, in the engine.
//!
//! * JPEG: the marker structure is walked end to end ([`jpeg_structure`]): every segment's
//!   length, a frame header the engine can decode (baseline, extended or progressive Huffman;
//!   sides within [`IMAGE_MAX_SIDE`]), scans whose entropy-coded data holds no stray marker, and
//!   the end-of-image marker (a cut file has none). This is stricter than a lenient decode,
//!   which pads a cut JPEG with grey, and costs a fraction of a millisecond per megabyte.
//! * PNG, WebP, BMP: fully decoded within pixel limits.
//! * Thumbnails (images): a JPEG, longest side [`THUMB_MAX_SIDE`], EXIF orientation applied,
//!   made on the first request for it ([`MediaProbe::thumbnail`]) and then kept.
//! * ZIP (shots set): every entry must be an image by its magic bytes; entry count and total
//!   declared size are bounded, so zip bombs are refused without inflating them.
//! * Videos: the container's magic (MP4/MOV `ftyp`, WebM/Matroska EBML, AVI, MPEG) suffices.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use image::ImageReader;
use serde_json::{json, Map, Value};

use crate::domain::media::{MediaKind, MediaProbe, Probed};

/// Longest side of a thumbnail, in pixels.
pub const THUMB_MAX_SIDE: u32 = 320;
/// Largest accepted picture side, in pixels (also bounds decode memory).
pub const IMAGE_MAX_SIDE: u32 = 16_384;
/// Most entries in a shots-set ZIP.
pub const ZIP_MAX_ENTRIES: usize = 2_000;
/// Largest total uncompressed size of a shots-set ZIP.
pub const ZIP_MAX_TOTAL_BYTES: u64 = 200 * 1024 * 1024;
/// Bytes read from the head of a file (or ZIP entry) to recognise it.
const MAGIC_BYTES: usize = 8192;

/// The default [`MediaProbe`].
#[derive(Debug, Default, Clone, Copy)]
pub struct LightProbe;

impl MediaProbe for LightProbe {
    fn probe(&self, file: &Path) -> Result<Probed, String> {
        let head = read_head(file).map_err(|e| format!("cannot read the file: {e}"))?;
        if head.is_empty() {
            return Err("the file is empty".into());
        }
        match self.sniff(&head)? {
            (MediaKind::Image, extension) => probe_image(file, extension),
            (MediaKind::ShotsSet, _) => probe_zip(file),
            (MediaKind::Video, extension) => Ok(Probed { kind: MediaKind::Video, extension, thumbnail: false, facts: Map::new() }),
        }
    }

    fn thumbnail(&self, original: &[u8]) -> Result<Vec<u8>, String> {
        emerald_vision::thumbnail_jpeg(original, THUMB_MAX_SIDE).map_err(|e| e.to_string())
    }

    fn sniff(&self, head: &[u8]) -> Result<(MediaKind, &'static str), String> {
        let Some(kind) = infer::get(head) else {
            return Err("unsupported file type (expected a JPEG, PNG, WebP or BMP image, an MP4, MOV, WebM, MKV or AVI video, or a ZIP of images)".into());
        };
        match kind.mime_type() {
            "image/jpeg" => Ok((MediaKind::Image, "jpg")),
            "image/png" => Ok((MediaKind::Image, "png")),
            "image/webp" => Ok((MediaKind::Image, "webp")),
            "image/bmp" => Ok((MediaKind::Image, "bmp")),
            "application/zip" => Ok((MediaKind::ShotsSet, "zip")),
            "video/mp4" | "video/x-m4v" | "video/quicktime" | "video/webm" | "video/x-matroska" | "video/x-msvideo" | "video/mpeg" => {
                Ok((MediaKind::Video, video_extension(kind.mime_type())))
            }
            other => Err(format!("unsupported file type {other}")),
        }
    }
}

fn read_head(file: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(MAGIC_BYTES);
    File::open(file)?.take(MAGIC_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn video_extension(mime: &str) -> &'static str {
    match mime {
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        "video/x-matroska" => "mkv",
        "video/x-msvideo" => "avi",
        "video/mpeg" => "mpg",
        _ => "mp4",
    }
}

/// An image whose format `sniff` named by `extension`.
fn probe_image(file: &Path, extension: &'static str) -> Result<Probed, String> {
    let (width, height) = if extension == "jpg" {
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read the image: {e}"))?;
        jpeg_structure(&bytes).map_err(|e| format!("corrupt or unreadable image: {e}"))?
    } else {
        let format = image::ImageFormat::from_extension(extension).ok_or("unsupported image format")?;
        let mut reader = ImageReader::open(file).map_err(|e| format!("cannot read the image: {e}"))?;
        reader.set_format(format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(IMAGE_MAX_SIDE);
        limits.max_image_height = Some(IMAGE_MAX_SIDE);
        reader.limits(limits);
        let picture = reader.decode().map_err(|e| format!("corrupt or unreadable image: {e}"))?;
        (picture.width(), picture.height())
    };
    let mut facts = Map::new();
    facts.insert("width".into(), json!(width));
    facts.insert("height".into(), json!(height));
    Ok(Probed { kind: MediaKind::Image, extension, thumbnail: true, facts })
}

/// Walk a JPEG's marker structure from SOI to EOI (ITU-T T.81 annex B) and return the frame's
/// (width, height). Written here because the decoders on crates.io either decode every pixel
/// (zune-jpeg, jpeg-decoder) or stop at the first scan (img-parts); none checks the whole file
/// without decoding it.
pub fn jpeg_structure(b: &[u8]) -> Result<(u32, u32), String> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG (no start-of-image marker)".into());
    }
    let mut pos = 2;
    let mut frame: Option<(u32, u32)> = None;
    let mut scans = 0usize;
    loop {
        // A marker: 0xFF, optional 0xFF fill bytes, then the marker code.
        if b.get(pos) != Some(&0xFF) {
            return Err(match b.get(pos) {
                None => "the file is cut short (no end-of-image marker)".into(),
                Some(_) => format!("expected a marker at byte {pos}"),
            });
        }
        while b.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&code) = b.get(pos) else { return Err("the file is cut short (no end-of-image marker)".into()) };
        pos += 1;
        match code {
            0xD9 => break,
            0x01 => continue,
            0xD8 => return Err(format!("a second start-of-image marker at byte {}", pos - 2)),
            0xD0..=0xD7 | 0x00 => return Err(format!("a stray marker 0x{code:02X} at byte {}", pos - 2)),
            _ => {}
        }
        let len = match b.get(pos..pos + 2) {
            Some(l) => u16::from_be_bytes([l[0], l[1]]) as usize,
            None => return Err("the file is cut short inside a header".into()),
        };
        if len < 2 || pos + len > b.len() {
            return Err(format!("segment 0x{code:02X} at byte {} runs past the end of the file", pos - 2));
        }
        let segment = &b[pos + 2..pos + len];
        pos += len;
        match code {
            // Frame headers the engine decodes: baseline, extended, progressive (Huffman).
            0xC0..=0xC2 => {
                if frame.is_some() {
                    return Err("more than one frame header".into());
                }
                let [_precision, h0, h1, w0, w1, components, ..] = *segment else {
                    return Err("the frame header is too short".into());
                };
                let (w, h) = (u16::from_be_bytes([w0, w1]) as u32, u16::from_be_bytes([h0, h1]) as u32);
                if w == 0 || h == 0 {
                    return Err(format!("the frame is {w}x{h} pixels"));
                }
                if w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE {
                    return Err(format!("the picture is {w}x{h} pixels; at most {IMAGE_MAX_SIDE} pixels a side are allowed"));
                }
                if !(1..=4).contains(&components) || segment.len() < 6 + 3 * components as usize {
                    return Err("the frame header is malformed".into());
                }
                frame = Some((w, h));
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err("unsupported JPEG coding (lossless, hierarchical or arithmetic)".into());
            }
            0xDA => {
                if frame.is_none() {
                    return Err("a scan before the frame header".into());
                }
                scans += 1;
                pos = entropy_coded_end(b, pos);
            }
            _ => {}
        }
    }
    match (frame, scans) {
        (None, _) => Err("no frame header".into()),
        (_, 0) => Err("no image data (no scan)".into()),
        (Some(size), _) => Ok(size),
    }
}

/// Where the entropy-coded data starting at `pos` ends: the first 0xFF that is neither a
/// stuffed zero, a fill byte nor a restart marker (or the end of the file).
fn entropy_coded_end(b: &[u8], mut pos: usize) -> usize {
    while let Some(i) = memchr::memchr(0xFF, &b[pos..]) {
        let at = pos + i;
        let mut next = at + 1;
        while b.get(next) == Some(&0xFF) {
            next += 1;
        }
        match b.get(next) {
            Some(0x00 | 0xD0..=0xD7) => pos = next + 1,
            Some(_) => return next - 1,
            None => return b.len(),
        }
    }
    b.len()
}

fn probe_zip(file: &Path) -> Result<Probed, String> {
    let f = File::open(file).map_err(|e| format!("cannot read the archive: {e}"))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| format!("corrupt ZIP archive: {e}"))?;
    if zip.len() > ZIP_MAX_ENTRIES {
        return Err(format!("the ZIP has {} entries; at most {ZIP_MAX_ENTRIES} are allowed", zip.len()));
    }
    let mut total: u64 = 0;
    let mut frames = 0usize;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("corrupt ZIP archive: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        total = total.saturating_add(entry.size());
        if total > ZIP_MAX_TOTAL_BYTES {
            return Err(format!("the ZIP unpacks to more than {ZIP_MAX_TOTAL_BYTES} bytes"));
        }
        let name = entry.name().to_owned();
        let mut head = Vec::with_capacity(64);
        (&mut entry).take(64).read_to_end(&mut head).map_err(|e| format!("corrupt ZIP entry {name:?}: {e}"))?;
        if !infer::is_image(&head) || !matches!(infer::get(&head).map(|k| k.mime_type()), Some("image/jpeg" | "image/png" | "image/webp" | "image/bmp")) {
            return Err(format!("ZIP entry {name:?} is not a JPEG, PNG, WebP or BMP image"));
        }
        frames += 1;
    }
    if frames == 0 {
        return Err("the ZIP contains no images".into());
    }
    let mut facts = Map::new();
    facts.insert("frames".into(), Value::from(frames));
    Ok(Probed { kind: MediaKind::ShotsSet, extension: "zip", thumbnail: false, facts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 200, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn jpeg(w: u32, h: u32, progressive_like_noise: bool) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let n = if progressive_like_noise { ((x * 7919 + y * 104_729) % 31) as u8 } else { 0 };
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90 + n])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
        out
    }

    #[test]
    fn image_gets_kind_size_and_a_thumbnail_on_request() {
        let bytes = png(640, 480);
        let f = temp_with(&bytes);
        let p = LightProbe.probe(f.path()).unwrap();
        assert_eq!((p.kind, p.extension, p.thumbnail), (MediaKind::Image, "png", true));
        assert_eq!((p.facts["width"].clone(), p.facts["height"].clone()), (json!(640), json!(480)));
        let thumb = image::load_from_memory(&LightProbe.thumbnail(&bytes).unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
    }

    #[test]
    fn jpeg_structure_is_checked_end_to_end_without_decoding() {
        let good = jpeg(1000, 600, true);
        assert_eq!(jpeg_structure(&good), Ok((1000, 600)));
        let f = temp_with(&good);
        let p = LightProbe.probe(f.path()).unwrap();
        assert_eq!((p.extension, p.facts["width"].clone()), ("jpg", json!(1000)));
        // Trailing bytes after EOI (camera trailers) are kept.
        let mut trailer = good.clone();
        trailer.extend_from_slice(b"vendor trailer");
        assert!(jpeg_structure(&trailer).is_ok());
        // Cut anywhere in the scan or the headers: rejected.
        for cut in [good.len() - 2, good.len() * 2 / 3, good.len() / 2, 300, 20, 3] {
            assert!(jpeg_structure(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A stray marker inside the entropy-coded data.
        let mut garbled = good.clone();
        let mid = good.len() / 2;
        garbled[mid] = 0xFF;
        garbled[mid + 1] = 0xC8;
        assert!(jpeg_structure(&garbled).is_err());
        // Frame header sides.
        let sof = good.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let mut huge = good.clone();
        huge[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
        assert!(jpeg_structure(&huge).unwrap_err().contains("at most 16384"));
        let mut zero = good.clone();
        zero[sof + 5..sof + 7].copy_from_slice(&0u16.to_be_bytes());
        assert!(jpeg_structure(&zero).is_err());
        // Arithmetic coding is refused with the reason.
        let mut arith = good.clone();
        arith[sof + 1] = 0xC9;
        assert!(jpeg_structure(&arith).unwrap_err().contains("arithmetic"));
        let f = temp_with(&good[..good.len() / 2]);
        assert!(LightProbe.probe(f.path()).unwrap_err().contains("cut short"));
    }

    #[test]
    fn thumbnail_of_a_jpeg_keeps_the_aspect() {
        let thumb = image::load_from_memory(&LightProbe.thumbnail(&jpeg(1000, 600, false)).unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 192));
        assert!(LightProbe.thumbnail(b"not an image").is_err());
    }

    #[test]
    fn truncated_image_is_rejected() {
        let bytes = png(64, 64);
        let f = temp_with(&bytes[..bytes.len() / 2]);
        assert!(LightProbe.probe(f.path()).unwrap_err().contains("corrupt"));
    }

    #[test]
    fn zip_of_text_is_rejected_and_zip_of_images_accepted() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("a.png", zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(&png(8, 8)).unwrap();
            z.finish().unwrap();
        }
        let f = temp_with(buf.get_ref());
        assert_eq!(LightProbe.probe(f.path()).unwrap().kind, MediaKind::ShotsSet);
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("a.txt", zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(b"hello").unwrap();
            z.finish().unwrap();
        }
        let f = temp_with(buf.get_ref());
        assert!(LightProbe.probe(f.path()).unwrap_err().contains("not a JPEG"));
    }

    #[test]
    fn text_is_unsupported() {
        let f = temp_with(b"just some text");
        assert!(LightProbe.probe(f.path()).unwrap_err().contains("unsupported"));
    }
}
