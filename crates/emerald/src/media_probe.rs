//! The server's light media probe: decides a file's kind from its magic bytes and checks it
//! enough to reject corrupt or hostile files at upload time (spec §6.8), without decoding
//! pixels where the structure says enough, so that uploads cost about what their bytes cost.
//! Deep decoding happens at analysis time, in the engine.
//!
//! * JPEG: the marker structure is walked end to end ([`JpegWalk`]), as an upload receives the
//!   bytes ([`MediaProbe::stream`]) or over the stored file: every segment's
//!   length, a frame header the engine can decode (baseline, extended or progressive Huffman;
//!   sides within [`IMAGE_MAX_SIDE`]), scans whose entropy-coded data holds no stray marker, and
//!   the end-of-image marker (a cut file has none). This is stricter than a lenient decode,
//!   which pads a cut JPEG with grey, and costs a fraction of a millisecond per megabyte.
//! * PNG, WebP, BMP: fully decoded within pixel limits; HEIF (an iPhone's `.heic`) and AVIF
//!   too, by FFmpeg (the engine's child process; tiles stitched, `irot` applied).
//! * Thumbnails (images): a JPEG, longest side [`THUMB_MAX_SIDE`], EXIF orientation applied,
//!   made on the first request for it ([`MediaProbe::thumbnail`]) and then kept.
//! * ZIP (shots set): every entry must be an image (or a video) by its magic bytes; entry count
//!   and total declared size are bounded, so zip bombs are refused without inflating them.
//! * Videos: the container's magic (MP4/MOV `ftyp`, WebM/Matroska EBML, AVI, MPEG program and
//!   transport streams, Ogg with a video stream, ASF) decides; the container's headers are then
//!   read (`emerald_vision::probe_video_file`: boxes and elements only, media data skipped; for
//!   MPEG, Ogg and ASF, FFmpeg's reading of the headers) for `technical_meta_data`: container, codec, displayed width and
//!   height, rotation, duration, frame rate, frame count, audio codec. A video whose headers
//!   cannot be read is still accepted (without those facts): decoding, at analysis time, says
//!   what is wrong with it (code 4), as it does for any other damage.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use image::ImageReader;
use serde_json::{json, Map, Value};

use crate::domain::model::media::{MediaKind, MediaProbe, Probed, StreamProbe};

mod jpeg;
pub use jpeg::{jpeg_structure, JpegWalk};

/// Longest side of a thumbnail, in pixels.
pub const THUMB_MAX_SIDE: u32 = 320;
/// Largest accepted picture side, in pixels (also bounds decode memory).
pub const IMAGE_MAX_SIDE: u32 = 16_384;
/// Most entries in a shots-set ZIP.
pub const ZIP_MAX_ENTRIES: usize = 2_000;
/// Largest total uncompressed size of a shots-set ZIP.
pub const ZIP_MAX_TOTAL_BYTES: u64 = 200 * 1024 * 1024;
/// Bytes read from the head of a file to recognise it.
const MAGIC_BYTES: usize = 8192;
/// Bytes read from the head of a ZIP entry to recognise it.
const ZIP_ENTRY_HEAD: usize = 1024;

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
            (MediaKind::Video, extension) => Ok(probe_video(file, extension)),
        }
    }

    fn stream(&self) -> Option<Box<dyn StreamProbe>> {
        Some(Box::new(LightStream::Head(Vec::new())))
    }

    fn thumbnail(&self, original: &[u8]) -> Result<Vec<u8>, String> {
        emerald_vision::thumbnail_jpeg(original, THUMB_MAX_SIDE).map_err(|e| e.to_string())
    }

    fn sniff(&self, head: &[u8]) -> Result<(MediaKind, &'static str), String> {
        // Videos by the engine's own recognition (the containers it decodes, QuickTime files that
        // start with a box other than `ftyp`, transport streams `infer` does not know).
        if let Some(container) = emerald_vision::Container::sniff(head) {
            return Ok((MediaKind::Video, container.extension()));
        }
        let Some(kind) = infer::get(head) else {
            return Err("unsupported file type (expected a JPEG, PNG, WebP, BMP, HEIF or AVIF image, a video — MP4, MOV, WebM, \
                        MKV, AVI, MPEG, Ogg or WMV — or a ZIP of images)"
                .into());
        };
        match kind.mime_type() {
            "image/jpeg" => Ok((MediaKind::Image, "jpg")),
            "image/png" => Ok((MediaKind::Image, "png")),
            "image/webp" => Ok((MediaKind::Image, "webp")),
            "image/bmp" => Ok((MediaKind::Image, "bmp")),
            // An iPhone's photos; decoded by FFmpeg (`emerald_vision::decode_image`).
            "image/heif" | "image/heic" | "image/heif-sequence" | "image/heic-sequence" => {
                Ok((MediaKind::Image, "heic"))
            }
            "image/avif" => Ok((MediaKind::Image, "avif")),
            "application/zip" => Ok((MediaKind::ShotsSet, "zip")),
            // MPEG video without a program stream around it: accepted as before; decoding says
            // what it cannot read.
            "video/mpeg" => Ok((MediaKind::Video, "mpg")),
            other => Err(format!("unsupported file type {other}")),
        }
    }
}

fn read_head(file: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(MAGIC_BYTES);
    File::open(file)?.take(MAGIC_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// A video: its container's facts, read from the headers (cheap: the media data is skipped). The
/// extension follows the container when the headers tell it (a Matroska file is not a WebM).
fn probe_video(file: &Path, extension: &'static str) -> Probed {
    match emerald_vision::probe_video_file(file) {
        Ok(info) => Probed {
            kind: MediaKind::Video,
            extension: info.container.extension(),
            thumbnail: false,
            facts: video_facts(&info),
        },
        Err(_) => Probed { kind: MediaKind::Video, extension, thumbnail: false, facts: Map::new() },
    }
}

/// `technical_meta_data` of a video: container, codec, displayed size, rotation, duration (s),
/// frame rate, frame count, audio codec — each only when the container says it.
pub fn video_facts(info: &emerald_vision::VideoInfo) -> Map<String, Value> {
    let rounded = |v: f64, places: i32| {
        let scale = 10f64.powi(places);
        json!((v * scale).round() / scale)
    };
    let mut facts = Map::new();
    facts.insert("container".into(), json!(info.container.name()));
    if let Some(codec) = &info.codec {
        facts.insert("codec".into(), json!(codec));
    }
    if let Some((w, h)) = info.display_size() {
        facts.insert("width".into(), json!(w));
        facts.insert("height".into(), json!(h));
    }
    facts.insert("rotation".into(), json!(info.rotation));
    if let Some(d) = info.duration {
        facts.insert("duration".into(), rounded(d, 3));
    }
    if let Some(fps) = info.frame_rate {
        facts.insert("frame_rate".into(), rounded(fps, 3));
    }
    if let Some(n) = info.frames {
        facts.insert("frames".into(), json!(n));
    }
    if let Some(audio) = &info.audio_codec {
        facts.insert("audio_codec".into(), json!(audio));
    }
    facts
}

/// An image whose format `sniff` named by `extension`.
fn probe_image(file: &Path, extension: &'static str) -> Result<Probed, String> {
    let (width, height) = if extension == "jpg" {
        walk_jpeg_file(file)?
    } else if extension == "heic" || extension == "avif" {
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read the image: {e}"))?;
        let picture = emerald_vision::decode_image(&bytes).map_err(|e| format!("corrupt or unreadable image: {e}"))?;
        picture.dimensions()
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
    Ok(image_probed(extension, width, height))
}

fn image_probed(extension: &'static str, width: u32, height: u32) -> Probed {
    let mut facts = Map::new();
    facts.insert("width".into(), json!(width));
    facts.insert("height".into(), json!(height));
    Probed { kind: MediaKind::Image, extension, thumbnail: true, facts }
}

fn corrupt_jpeg(reason: String) -> String {
    format!("corrupt or unreadable image: {reason}")
}

/// The JPEG walk over a file, read in blocks (no buffer the size of the file).
fn walk_jpeg_file(file: &Path) -> Result<(u32, u32), String> {
    let mut input = File::open(file).map_err(|e| format!("cannot read the image: {e}"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut walk = JpegWalk::new();
    while !walk.failed() {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => walk.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read the image: {e}")),
        }
    }
    walk.finish().map_err(corrupt_jpeg)
}

/// [`LightProbe`]'s stream check: the file's head is kept until the kind can be told as
/// [`MediaProbe::probe`] tells it (the first [`MAGIC_BYTES`]); a JPEG is then walked to the end
/// as it arrives. Other kinds are left to the whole-file probe.
enum LightStream {
    Head(Vec<u8>),
    Jpeg(JpegWalk),
    Other,
}

impl LightStream {
    /// Decide the kind from the head gathered so far.
    fn decide(head: &[u8]) -> LightStream {
        match LightProbe.sniff(head) {
            Ok((MediaKind::Image, "jpg")) => {
                let mut walk = JpegWalk::new();
                walk.feed(head);
                LightStream::Jpeg(walk)
            }
            _ => LightStream::Other,
        }
    }
}

impl StreamProbe for LightStream {
    fn feed(&mut self, bytes: &[u8]) {
        match self {
            LightStream::Head(head) => {
                let take = (MAGIC_BYTES - head.len()).min(bytes.len());
                head.extend_from_slice(&bytes[..take]);
                if head.len() == MAGIC_BYTES {
                    let head = std::mem::take(head);
                    *self = LightStream::decide(&head);
                    self.feed(&bytes[take..]);
                }
            }
            LightStream::Jpeg(walk) => walk.feed(bytes),
            LightStream::Other => {}
        }
    }

    fn finish(self: Box<Self>) -> Option<Result<Probed, String>> {
        let walk = match *self {
            LightStream::Head(head) if head.is_empty() => return None,
            LightStream::Head(head) => match LightStream::decide(&head) {
                LightStream::Jpeg(walk) => walk,
                _ => return None,
            },
            LightStream::Jpeg(walk) => walk,
            LightStream::Other => return None,
        };
        Some(walk.finish().map(|(w, h)| image_probed("jpg", w, h)).map_err(corrupt_jpeg))
    }
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
        // Enough to recognise every kind (a transport stream needs three packets' sync bytes).
        let mut head = Vec::with_capacity(ZIP_ENTRY_HEAD);
        (&mut entry)
            .take(ZIP_ENTRY_HEAD as u64)
            .read_to_end(&mut head)
            .map_err(|e| format!("corrupt ZIP entry {name:?}: {e}"))?;
        if !matches!(LightProbe.sniff(&head), Ok((MediaKind::Image | MediaKind::Video, _))) {
            return Err(format!("ZIP entry {name:?} is not a JPEG, PNG, WebP, BMP, HEIF or AVIF image, nor a video"));
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
        // A zipped video is a shots set too.
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("clip.webm", zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(b"\x1A\x45\xDF\xA3 the rest of a webm").unwrap();
            z.finish().unwrap();
        }
        let f = temp_with(buf.get_ref());
        assert_eq!(LightProbe.probe(f.path()).unwrap().kind, MediaKind::ShotsSet);
    }

    /// Feed `bytes` to a walk in pieces of `size` bytes.
    fn walk_in_pieces(bytes: &[u8], size: usize) -> Result<(u32, u32), String> {
        let mut walk = JpegWalk::new();
        for piece in bytes.chunks(size) {
            walk.feed(piece);
        }
        walk.finish()
    }

    #[test]
    fn jpeg_walk_in_pieces_of_any_size_agrees_with_the_whole_walk() {
        let good = jpeg(300, 200, true);
        let mut cases = vec![good.clone(), Vec::new(), vec![0xFF], good[..good.len() - 1].to_vec()];
        // Mutants: marker-like or random bytes at pseudo-random places, and cuts.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..400 {
            let mut m = good.clone();
            let at = (next() % m.len() as u64) as usize;
            match next() % 4 {
                0 => m[at] = 0xFF,
                1 => m[at] = next() as u8,
                2 => m.truncate(at),
                _ => {
                    m[at] = 0xFF;
                    if at + 1 < m.len() {
                        m[at + 1] = next() as u8;
                    }
                }
            }
            cases.push(m);
        }
        let mut verdicts = std::collections::BTreeSet::new();
        for case in &cases {
            let whole = jpeg_structure(case);
            for size in [1, 2, 3, 7, 64, 4096] {
                assert_eq!(walk_in_pieces(case, size), whole, "pieces of {size}");
            }
            verdicts.insert(whole.err().map(|e| e.split(" at byte").next().unwrap_or_default().to_owned()));
        }
        // The mutants reach many different verdicts, so the pieces are compared on many paths.
        assert!(verdicts.len() >= 6, "{verdicts:?}");
    }

    #[test]
    fn the_stream_probe_agrees_with_the_file_probe() {
        let good = jpeg(640, 480, true);
        let small = jpeg(8, 8, false);
        assert!(small.len() < MAGIC_BYTES, "decided only at the end");
        let files = [
            good.clone(),
            good[..good.len() / 2].to_vec(),
            small.clone(),
            small[..small.len() - 1].to_vec(),
            png(20, 10),
            b"just some text".to_vec(),
            Vec::new(),
        ];
        let mut streamed_count = 0;
        for (i, bytes) in files.iter().enumerate() {
            let f = temp_with(bytes);
            let whole = format!("{:?}", LightProbe.probe(f.path()));
            for size in [1, 1000, 8192, 65536] {
                let mut stream = LightProbe.stream().unwrap();
                for piece in bytes.chunks(size) {
                    stream.feed(piece);
                }
                match stream.finish() {
                    Some(streamed) => {
                        assert_eq!(format!("{streamed:?}"), whole, "file {i}, pieces of {size}");
                        streamed_count += 1;
                    }
                    None => {
                        assert!(!bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "file {i}: a JPEG was left to the file probe")
                    }
                }
            }
        }
        assert_eq!(streamed_count, 4 * 4, "the four JPEGs, in every piece size");
    }

    #[test]
    fn text_is_unsupported() {
        let f = temp_with(b"just some text");
        assert!(LightProbe.probe(f.path()).unwrap_err().contains("unsupported"));
    }
}
