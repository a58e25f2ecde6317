//! The server's light media probe: decides a file's kind from its magic bytes and checks it
//! enough to reject corrupt or hostile files at upload time (spec §6.8). Deep decoding of
//! videos happens at analysis time, in the engine, which may replace this probe.
//!
//! * Images (JPEG, PNG, WebP, BMP): fully decoded within pixel limits; a JPEG thumbnail (longest
//!   side [`THUMB_MAX_SIDE`]) is made from the decoded picture.
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
            (MediaKind::Image, _) => probe_image(file),
            (MediaKind::ShotsSet, _) => probe_zip(file),
            (MediaKind::Video, extension) => Ok(Probed { kind: MediaKind::Video, extension, thumbnail: None, facts: Map::new() }),
        }
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

fn image_extension(format: image::ImageFormat) -> Option<&'static str> {
    match format {
        image::ImageFormat::Jpeg => Some("jpg"),
        image::ImageFormat::Png => Some("png"),
        image::ImageFormat::WebP => Some("webp"),
        image::ImageFormat::Bmp => Some("bmp"),
        _ => None,
    }
}

fn probe_image(file: &Path) -> Result<Probed, String> {
    let reader = ImageReader::open(file).map_err(|e| format!("cannot read the image: {e}"))?;
    let mut reader = reader.with_guessed_format().map_err(|e| format!("cannot read the image: {e}"))?;
    let extension = reader.format().and_then(image_extension).ok_or("unsupported image format")?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(IMAGE_MAX_SIDE);
    limits.max_image_height = Some(IMAGE_MAX_SIDE);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| format!("corrupt or unreadable image: {e}"))?;
    let (width, height) = (picture.width(), picture.height());
    let thumb = picture.thumbnail(THUMB_MAX_SIDE, THUMB_MAX_SIDE).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&thumb)
        .map_err(|e| format!("cannot make a thumbnail: {e}"))?;
    let mut facts = Map::new();
    facts.insert("width".into(), json!(width));
    facts.insert("height".into(), json!(height));
    Ok(Probed { kind: MediaKind::Image, extension, thumbnail: Some(jpeg), facts })
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
    Ok(Probed { kind: MediaKind::ShotsSet, extension: "zip", thumbnail: None, facts })
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

    #[test]
    fn image_gets_kind_and_thumbnail() {
        let f = temp_with(&png(640, 480));
        let p = LightProbe.probe(f.path()).unwrap();
        assert_eq!(p.kind, MediaKind::Image);
        assert_eq!(p.extension, "png");
        let thumb = image::load_from_memory(&p.thumbnail.unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
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
