//! A light, tolerant look at a video's container, without decoding anything: which container and
//! codec, frame size, display rotation, duration, frame rate and frame count, and whether the
//! file is cut short. Used by the server at upload (`technical_meta_data`, which must stay cheap)
//! and by the engine before it decodes (limits, frame sampling, rotation, the error message).
//!
//! * ISO-BMFF (MP4, MOV, M4V, 3GP): boxes in any order (`moov` before or after `mdat`), plain or
//!   fragmented (`moof`), 64-bit and to-the-end sizes, unknown or odd boxes skipped; only `moov`
//!   and `moof` are read into memory, `mdat` is skipped.
//! * Matroska / WebM: known and unknown element sizes (browser `MediaRecorder` files have no
//!   duration and clusters of unknown size, so the clusters' block headers are scanned for the
//!   duration and the frame count; payloads are skipped).
//! * AVI: the main header and the first video stream's header.
//! * MPEG program and transport streams, Ogg and ASF (the older formats of the spec's list,
//!   `.mpg`, `.ts`/`.mts`, `.ogv`, `.wmv`): their facts are spread over the stream (time stamps,
//!   codec headers inside the packets), so instead of a walker per format FFmpeg reads them
//!   (`by_ffmpeg`: the same bounded child process that decodes, told to open the file and stop;
//!   it reads headers and the first packets). This needs the file on disk, so
//!   [`probe_video_file`] is the call that avoids a copy.
//!
//! Everything is bounded (bytes read into memory, boxes and elements visited) and nothing panics
//! on hostile input; a file the walk cannot make sense of gives `Err` with the reason.

use std::io::{BufReader, Read, Seek, SeekFrom};

/// Container family, as recognised from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mov,
    M4v,
    ThreeGp,
    WebM,
    Matroska,
    Avi,
    MpegPs,
    MpegTs,
    Ogg,
    Asf,
}

impl Container {
    /// Short name (as recorded in `technical_meta_data`), the FFmpeg demuxer that reads it, and
    /// the usual file extension.
    const fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Container::Mp4 => ("mp4", "mov", "mp4"),
            Container::Mov => ("mov", "mov", "mov"),
            Container::M4v => ("m4v", "mov", "m4v"),
            Container::ThreeGp => ("3gp", "mov", "3gp"),
            Container::WebM => ("webm", "matroska", "webm"),
            Container::Matroska => ("matroska", "matroska", "mkv"),
            Container::Avi => ("avi", "avi", "avi"),
            Container::MpegPs => ("mpeg", "mpeg", "mpg"),
            Container::MpegTs => ("mpegts", "mpegts", "ts"),
            Container::Ogg => ("ogg", "ogg", "ogv"),
            Container::Asf => ("asf", "asf", "wmv"),
        }
    }

    /// Short name, as recorded in `technical_meta_data`.
    pub fn name(self) -> &'static str {
        self.names().0
    }

    /// The FFmpeg demuxer that reads it.
    pub(crate) fn demuxer(self) -> &'static str {
        self.names().1
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        self.names().2
    }

    /// The container its magic bytes name (the ISO-BMFF family as `Mp4` until its brand is
    /// read); `None` for anything that is not a video.
    pub fn sniff(head: &[u8]) -> Option<Container> {
        use crate::decode::{sniff_video, VideoContainer as V};
        Some(match sniff_video(head)? {
            V::IsoBmff => Container::Mp4,
            V::Matroska => Container::Matroska,
            V::Avi => Container::Avi,
            V::MpegPs => Container::MpegPs,
            V::MpegTs => Container::MpegTs,
            V::Ogg => Container::Ogg,
            V::Asf => Container::Asf,
        })
    }

    /// Read by FFmpeg rather than by a walk of our own.
    pub(crate) fn probed_by_ffmpeg(self) -> bool {
        matches!(self, Container::MpegPs | Container::MpegTs | Container::Ogg | Container::Asf)
    }
}

/// What the container says about a video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub container: Container,
    /// The first video track's codec: `h264`, `hevc`, `vp8`, `vp9`, `av1`, `mpeg4`, `mjpeg`, … or
    /// the raw four-character code / codec id, lower-cased. `None` without a video track.
    pub codec: Option<String>,
    /// The first audio track's codec (`aac`, `opus`, `vorbis`, …).
    pub audio_codec: Option<String>,
    /// Coded frame size (before rotation).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Clockwise rotation a player applies for display: 0, 90, 180 or 270.
    pub rotation: u32,
    /// Seconds.
    pub duration: Option<f64>,
    /// Average frames per second.
    pub frame_rate: Option<f64>,
    /// Video frames in the file.
    pub frames: Option<u64>,
    /// Fragmented MP4 (`moof` boxes).
    pub fragmented: bool,
    /// Why the file looks cut short (media data declared past its end), if it does.
    pub truncated: Option<String>,
}

impl VideoInfo {
    fn new(container: Container) -> VideoInfo {
        VideoInfo {
            container,
            codec: None,
            audio_codec: None,
            width: None,
            height: None,
            rotation: 0,
            duration: None,
            frame_rate: None,
            frames: None,
            fragmented: false,
            truncated: None,
        }
    }

    /// Frame size as displayed (rotation applied).
    pub fn display_size(&self) -> Option<(u32, u32)> {
        let (w, h) = (self.width?, self.height?);
        Some(if self.rotation % 180 == 90 { (h, w) } else { (w, h) })
    }

    /// "mp4 h264 1280×720" — for error messages and logs.
    pub fn label(&self) -> String {
        let mut s = self.container.name().to_owned();
        if let Some(codec) = &self.codec {
            s.push(' ');
            s.push_str(codec);
        }
        if let (Some(w), Some(h)) = (self.width, self.height) {
            s.push_str(&format!(" {w}×{h}"));
        }
        s
    }
}

/// Largest `moov` / `moof` / Matroska header element read into memory.
const MAX_HEADER_BYTES: u64 = 32 << 20;
/// Most boxes or elements visited in one file.
const MAX_ELEMENTS: usize = 500_000;
/// Most `stts` / `trun` entries read from one box.
const MAX_TABLE_ENTRIES: usize = 1 << 20;

/// Probe video bytes in memory.
pub fn probe_video(bytes: &[u8]) -> Result<VideoInfo, String> {
    probe_video_reader(&mut std::io::Cursor::new(bytes))
}

/// Probe a video file on disk: as [`probe_video_reader`], without copying the file for the
/// formats FFmpeg reads.
pub fn probe_video_file(path: &std::path::Path) -> Result<VideoInfo, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut head = Vec::with_capacity(8192);
    (&mut file).take(8192).read_to_end(&mut head).map_err(|e| format!("cannot read the file: {e}"))?;
    match Container::sniff(&head) {
        Some(c) if c.probed_by_ffmpeg() => by_ffmpeg::probe(path, c),
        _ => probe_video_reader(&mut file),
    }
}

/// Probe a video file (or any seekable source), reading only headers (for the formats FFmpeg
/// reads, the source is copied to a private temporary file first).
pub fn probe_video_reader<R: Read + Seek>(source: &mut R) -> Result<VideoInfo, String> {
    let len = source.seek(SeekFrom::End(0)).map_err(|e| format!("cannot read the file: {e}"))?;
    source.seek(SeekFrom::Start(0)).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut r = Source { inner: BufReader::with_capacity(16 << 10, source), pos: 0, len };
    let sniffed = Container::sniff(&r.read_at(0, 8192)?);
    if let Some(c) = sniffed.filter(|c| c.probed_by_ffmpeg()) {
        r.seek(0)?;
        let mut copy =
            tempfile::Builder::new().prefix("emerald-probe-").tempfile().map_err(|e| format!("temporary file: {e}"))?;
        std::io::copy(&mut r.inner, copy.as_file_mut()).map_err(|e| format!("temporary file: {e}"))?;
        return by_ffmpeg::probe(copy.path(), c);
    }
    let head = r.read_at(0, 16)?;
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return matroska::probe(&mut r);
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        return avi::probe(&mut r);
    }
    if head.len() >= 8 {
        return isobmff::probe(&mut r);
    }
    Err("the file is too short to be a video".into())
}

/// A buffered, seekable source that knows its length and position.
struct Source<R> {
    inner: BufReader<R>,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Source<R> {
    fn seek(&mut self, to: u64) -> Result<(), String> {
        if to == self.pos {
            return Ok(());
        }
        let delta = i64::try_from(to as i128 - self.pos as i128).map_err(|_| "offset out of range".to_string())?;
        self.inner.seek_relative(delta).map_err(|e| format!("cannot read the file: {e}"))?;
        self.pos = to;
        Ok(())
    }

    /// Up to `n` bytes at `at` (fewer at the end of the file).
    fn read_at(&mut self, at: u64, n: u64) -> Result<Vec<u8>, String> {
        self.seek(at)?;
        let n = n.min(self.len.saturating_sub(at));
        let mut buf = Vec::with_capacity(n as usize);
        (&mut self.inner).take(n).read_to_end(&mut buf).map_err(|e| format!("cannot read the file: {e}"))?;
        self.pos += buf.len() as u64;
        Ok(buf)
    }
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn fourcc(b: &[u8]) -> String {
    b.iter().map(|&c| if c.is_ascii_graphic() || c == b' ' { c as char } else { '?' }).collect::<String>()
}

/// Rate from a frame count and a duration, when both are meaningful.
fn rate(frames: Option<u64>, seconds: Option<f64>) -> Option<f64> {
    match (frames, seconds) {
        (Some(n), Some(s)) if n > 1 && s > 0.0 => Some(n as f64 / s),
        _ => None,
    }
}

mod isobmff {
    use super::*;

    /// One box inside an in-memory parent: type and payload.
    struct Boxes<'a> {
        data: &'a [u8],
        at: usize,
    }

    fn children(data: &[u8]) -> Boxes<'_> {
        Boxes { data, at: 0 }
    }

    impl<'a> Iterator for Boxes<'a> {
        type Item = ([u8; 4], &'a [u8]);

        fn next(&mut self) -> Option<Self::Item> {
            let rest = self.data.get(self.at..)?;
            let size32 = be_u32(rest, 0)? as u64;
            let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
            let (header, size) = match size32 {
                0 => (8, rest.len() as u64),
                1 => (16, be_u64(rest, 8)?),
                s => (8, s),
            };
            if size < header {
                return None;
            }
            // A box running past its parent is read as far as the parent goes.
            let end = size.min(rest.len() as u64) as usize;
            let payload = rest.get(header as usize..end)?;
            self.at += end;
            Some((kind, payload))
        }
    }

    fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
        children(data).find(|(k, _)| k == kind).map(|(_, p)| p)
    }

    #[derive(Default)]
    struct Track {
        id: u32,
        handler: [u8; 4],
        codec: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
        rotation: u32,
        timescale: u32,
        duration: u64,
        samples: Option<u64>,
        sample_time: u64,
        last_chunk: u64,
    }

    /// Fragment totals of one track: samples and their summed durations.
    #[derive(Default, Clone, Copy)]
    struct Fragments {
        samples: u64,
        time: u64,
    }

    pub(super) fn probe<R: Read + Seek>(r: &mut Source<R>) -> Result<VideoInfo, String> {
        let mut brand: Option<[u8; 4]> = None;
        let mut moov: Option<Vec<u8>> = None;
        let mut moofs: Vec<Vec<u8>> = Vec::new();
        let mut truncated = None;
        let mut pos = 0u64;
        let mut visited = 0usize;
        let mut fragmented = false;
        while pos + 8 <= r.len {
            visited += 1;
            if visited > MAX_ELEMENTS {
                return Err(format!("more than {MAX_ELEMENTS} top-level boxes"));
            }
            let head = r.read_at(pos, 16)?;
            let size32 = be_u32(&head, 0).unwrap_or(0) as u64;
            let kind: [u8; 4] = head.get(4..8).and_then(|k| k.try_into().ok()).unwrap_or([0; 4]);
            let (header, size) = match size32 {
                0 => (8, r.len - pos),
                1 => match be_u64(&head, 8) {
                    Some(s) => (16, s),
                    None => break,
                },
                s => (8, s),
            };
            if size < header {
                if moov.is_none() {
                    return Err(format!("box '{}' at byte {pos} has an impossible size {size}", fourcc(&kind)));
                }
                break; // trailing garbage after a complete movie
            }
            let end = pos.saturating_add(size);
            if end > r.len && matches!(&kind, b"mdat" | b"moov" | b"moof") {
                truncated = Some(format!(
                    "the '{}' box declares {size} bytes at byte {pos}, but the file ends {} bytes in",
                    fourcc(&kind),
                    r.len - pos
                ));
            }
            match &kind {
                b"ftyp" => brand = r.read_at(pos + header, 4)?.try_into().ok(),
                b"moov" if moov.is_none() => {
                    if size - header > MAX_HEADER_BYTES {
                        return Err(format!("the 'moov' box is larger than {MAX_HEADER_BYTES} bytes"));
                    }
                    moov = Some(r.read_at(pos + header, size - header)?);
                }
                b"moof" => {
                    fragmented = true;
                    if size - header <= MAX_HEADER_BYTES && moofs.len() < 100_000 {
                        moofs.push(r.read_at(pos + header, size - header)?);
                    }
                }
                _ => {}
            }
            pos = end;
        }
        let container = match brand.as_ref().map(|b| &b[..]) {
            Some(b"qt  ") | None => Container::Mov,
            Some(b"M4V " | b"M4VH" | b"M4VP") => Container::M4v,
            Some(b) if b.starts_with(b"3g") => Container::ThreeGp,
            Some(_) => Container::Mp4,
        };
        let mut info = VideoInfo::new(container);
        info.fragmented = fragmented;
        let Some(moov) = moov else {
            return Err(match truncated {
                Some(t) => format!("no 'moov' box (the movie header): the file is cut short ({t})"),
                None => "no 'moov' box (the movie header): not a complete movie".into(),
            });
        };
        let tracks: Vec<Track> = children(&moov).filter(|(k, _)| k == b"trak").map(|(_, t)| track(t)).collect();
        let movie_duration = find(&moov, b"mvhd").and_then(|m| {
            let (scale, dur) = if m.first() == Some(&1) {
                (be_u32(m, 20)?, be_u64(m, 24)?)
            } else {
                (be_u32(m, 12)?, be_u32(m, 16)? as u64)
            };
            (scale > 0 && dur > 0 && dur != u64::MAX && dur != u32::MAX as u64).then_some(dur as f64 / scale as f64)
        });
        let mvex = find(&moov, b"mvex");
        let fragment_duration = mvex.and_then(|m| find(m, b"mehd")).and_then(|m| {
            if m.first() == Some(&1) {
                be_u64(m, 4)
            } else {
                be_u32(m, 4).map(u64::from)
            }
        });
        if let Some(audio) = tracks.iter().find(|t| &t.handler == b"soun") {
            info.audio_codec = audio.codec.clone();
        }
        let Some(video) = tracks.iter().find(|t| &t.handler == b"vide") else {
            info.duration = movie_duration;
            info.truncated = truncated;
            return Ok(info);
        };
        info.codec = video.codec.clone();
        info.width = video.width;
        info.height = video.height;
        info.rotation = video.rotation;
        let scale = video.timescale.max(1) as f64;
        let mut frames = video.samples.filter(|&n| n > 0);
        let mut seconds = (video.duration > 0).then(|| video.duration as f64 / scale);
        let sample_seconds = (video.sample_time > 0).then(|| video.sample_time as f64 / scale);
        if fragmented {
            let default_duration = mvex
                .into_iter()
                .flat_map(children)
                .filter(|(k, _)| k == b"trex")
                .find(|(_, t)| be_u32(t, 4) == Some(video.id))
                .and_then(|(_, t)| be_u32(t, 12))
                .unwrap_or(0);
            let f = moofs.iter().fold(Fragments::default(), |acc, m| fragments(m, video.id, default_duration, acc));
            if f.samples > 0 {
                frames = Some(frames.unwrap_or(0) + f.samples);
                let total = video.sample_time + f.time;
                if total > 0 {
                    seconds = Some(total as f64 / scale);
                }
            }
            if seconds.is_none() {
                let movie_scale =
                    find(&moov, b"mvhd").and_then(|m| be_u32(m, if m.first() == Some(&1) { 20 } else { 12 }));
                seconds = fragment_duration.zip(movie_scale).filter(|(_, s)| *s > 0).map(|(d, s)| d as f64 / s as f64);
            }
        }
        info.duration = seconds.or(sample_seconds).or(movie_duration);
        info.frames = frames;
        info.frame_rate = rate(frames, sample_seconds.or(info.duration));
        if truncated.is_none() && video.last_chunk > r.len {
            truncated = Some(format!(
                "the video's sample table points at byte {}, past the end of the file ({} bytes)",
                video.last_chunk, r.len
            ));
        }
        info.truncated = truncated;
        Ok(info)
    }

    fn track(trak: &[u8]) -> Track {
        let mut t = Track::default();
        if let Some(tkhd) = find(trak, b"tkhd") {
            let v1 = tkhd.first() == Some(&1);
            t.id = be_u32(tkhd, if v1 { 20 } else { 12 }).unwrap_or(0);
            let matrix = if v1 { 52 } else { 40 };
            if let (Some(a), Some(b), Some(c), Some(d)) =
                (be_i32(tkhd, matrix), be_i32(tkhd, matrix + 4), be_i32(tkhd, matrix + 12), be_i32(tkhd, matrix + 16))
            {
                t.rotation = rotation_of(a, b, c, d);
            }
            let (w, h) = (be_u32(tkhd, matrix + 36).unwrap_or(0) >> 16, be_u32(tkhd, matrix + 40).unwrap_or(0) >> 16);
            if w > 0 && h > 0 {
                (t.width, t.height) = (Some(w), Some(h));
            }
        }
        let Some(mdia) = find(trak, b"mdia") else { return t };
        if let Some(mdhd) = find(mdia, b"mdhd") {
            let (scale, dur) = if mdhd.first() == Some(&1) {
                (be_u32(mdhd, 20), be_u64(mdhd, 24))
            } else {
                (be_u32(mdhd, 12), be_u32(mdhd, 16).map(u64::from))
            };
            t.timescale = scale.unwrap_or(0);
            t.duration = dur.filter(|&d| d != u64::MAX && d != u32::MAX as u64).unwrap_or(0);
        }
        // Only the handler type is needed: a short or empty name does not matter.
        if let Some(h) = find(mdia, b"hdlr").and_then(|h| h.get(8..12)) {
            t.handler.copy_from_slice(h);
        }
        let Some(stbl) = find(mdia, b"minf").and_then(|m| find(m, b"stbl")) else { return t };
        if let Some(entry) = find(stbl, b"stsd").and_then(|s| s.get(8..)) {
            if let Some(kind) = entry.get(4..8) {
                t.codec = Some(codec_of(kind));
                if &t.handler == b"vide" {
                    // Visual sample entry: 8-byte box header, 24 bytes, then width and height.
                    let (w, h) = (be_u16(entry, 32).unwrap_or(0) as u32, be_u16(entry, 34).unwrap_or(0) as u32);
                    if w > 0 && h > 0 && (t.width.is_none() || t.rotation == 0) {
                        (t.width, t.height) = (Some(w), Some(h));
                    }
                }
            }
        }
        if let Some(stts) = find(stbl, b"stts") {
            let n = (be_u32(stts, 4).unwrap_or(0) as usize).min(MAX_TABLE_ENTRIES);
            let (mut samples, mut time) = (0u64, 0u64);
            for i in 0..n {
                let (Some(count), Some(delta)) = (be_u32(stts, 8 + 8 * i), be_u32(stts, 12 + 8 * i)) else { break };
                samples = samples.saturating_add(count as u64);
                time = time.saturating_add(count as u64 * delta as u64);
            }
            t.samples = Some(samples);
            t.sample_time = time;
        }
        if t.samples.is_none() {
            t.samples = find(stbl, b"stsz").and_then(|s| be_u32(s, 8)).map(u64::from);
        }
        if let Some(stco) = find(stbl, b"stco") {
            let n = be_u32(stco, 4).unwrap_or(0) as usize;
            t.last_chunk =
                (0..n.min(MAX_TABLE_ENTRIES)).filter_map(|i| be_u32(stco, 8 + 4 * i)).max().unwrap_or(0) as u64;
        } else if let Some(co64) = find(stbl, b"co64") {
            let n = be_u32(co64, 4).unwrap_or(0) as usize;
            t.last_chunk = (0..n.min(MAX_TABLE_ENTRIES)).filter_map(|i| be_u64(co64, 8 + 8 * i)).max().unwrap_or(0);
        }
        t
    }

    /// Samples and summed durations of `track` in one `moof`, added to `acc`.
    fn fragments(moof: &[u8], track: u32, trex_duration: u32, mut acc: Fragments) -> Fragments {
        for (_, traf) in children(moof).filter(|(k, _)| k == b"traf") {
            let Some(tfhd) = find(traf, b"tfhd") else { continue };
            if be_u32(tfhd, 4) != Some(track) {
                continue;
            }
            let flags = be_u32(tfhd, 0).unwrap_or(0) & 0xFF_FFFF;
            let mut at = 8;
            for (bit, len) in [(0x1, 8), (0x2, 4)] {
                if flags & bit != 0 {
                    at += len;
                }
            }
            let default_duration =
                if flags & 0x8 != 0 { be_u32(tfhd, at).unwrap_or(trex_duration) } else { trex_duration };
            for (_, trun) in children(traf).filter(|(k, _)| k == b"trun") {
                let flags = be_u32(trun, 0).unwrap_or(0) & 0xFF_FFFF;
                let count = (be_u32(trun, 4).unwrap_or(0) as usize).min(MAX_TABLE_ENTRIES);
                let mut at = 8;
                for optional in [0x1, 0x4] {
                    if flags & optional != 0 {
                        at += 4;
                    }
                }
                let per_sample: usize = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&b| flags & b != 0).count() * 4;
                acc.samples += count as u64;
                if flags & 0x100 == 0 {
                    acc.time = acc.time.saturating_add(count as u64 * default_duration as u64);
                    continue;
                }
                for _ in 0..count {
                    let Some(d) = be_u32(trun, at) else { break };
                    acc.time = acc.time.saturating_add(d as u64);
                    at += per_sample;
                }
            }
        }
        acc
    }

    /// Clockwise display rotation from a track matrix (16.16 fixed point a, b, c, d).
    fn rotation_of(a: i32, b: i32, _c: i32, _d: i32) -> u32 {
        if a == 0 && b == 0 {
            return 0;
        }
        let degrees = (b as f64).atan2(a as f64).to_degrees();
        ((degrees / 90.0).round() as i64).rem_euclid(4) as u32 * 90
    }

    fn codec_of(kind: &[u8]) -> String {
        match kind {
            b"avc1" | b"avc2" | b"avc3" | b"avc4" => "h264".into(),
            b"hvc1" | b"hev1" | b"dvh1" | b"dvhe" => "hevc".into(),
            b"vp08" => "vp8".into(),
            b"vp09" => "vp9".into(),
            b"av01" => "av1".into(),
            b"mp4v" => "mpeg4".into(),
            b"s263" | b"h263" => "h263".into(),
            b"jpeg" | b"mjpa" | b"mjpb" => "mjpeg".into(),
            b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "prores".into(),
            b"mp4a" => "aac".into(),
            b"Opus" => "opus".into(),
            b"samr" => "amr_nb".into(),
            b"encv" | b"enca" => "encrypted".into(),
            other => fourcc(other).trim().to_lowercase(),
        }
    }

    #[cfg(test)]
    pub(super) fn rotation_for_test(a: i32, b: i32) -> u32 {
        rotation_of(a, b, 0, 0)
    }
}

mod matroska {
    use super::*;

    const EBML: u32 = 0x1A45DFA3;
    const DOC_TYPE: u32 = 0x4282;
    const SEGMENT: u32 = 0x18538067;
    const INFO: u32 = 0x1549A966;
    const TIMECODE_SCALE: u32 = 0x2AD7B1;
    const DURATION: u32 = 0x4489;
    const TRACKS: u32 = 0x1654AE6B;
    const TRACK_ENTRY: u32 = 0xAE;
    const TRACK_NUMBER: u32 = 0xD7;
    const TRACK_TYPE: u32 = 0x83;
    const CODEC_ID: u32 = 0x86;
    const DEFAULT_DURATION: u32 = 0x23E383;
    const VIDEO: u32 = 0xE0;
    const PIXEL_WIDTH: u32 = 0xB0;
    const PIXEL_HEIGHT: u32 = 0xBA;
    const PROJECTION: u32 = 0x7670;
    const POSE_ROLL: u32 = 0x7675;
    const CLUSTER: u32 = 0x1F43B675;
    const TIMECODE: u32 = 0xE7;
    const SIMPLE_BLOCK: u32 = 0xA3;
    const BLOCK_GROUP: u32 = 0xA0;
    const BLOCK: u32 = 0xA1;
    /// Children of a Segment: where a cluster of unknown size ends.
    const LEVEL1: [u32; 8] = [CLUSTER, 0x1C53BB6B, 0x1254C367, 0x114D9B74, INFO, TRACKS, 0x1043A770, 0x1941A469];

    /// An element header: id (with its length marker), data start, data size (None = unknown).
    struct Element {
        id: u32,
        data: u64,
        size: Option<u64>,
    }

    /// A variable-length integer at `b[at..]`: (value with the marker removed, length, all ones).
    fn vint(b: &[u8], at: usize) -> Option<(u64, usize, bool)> {
        let first = *b.get(at)?;
        if first == 0 {
            return None;
        }
        let len = first.leading_zeros() as usize + 1;
        let mut value = (first as u64) & (0xFF >> len);
        let mut ones = value == (0xFF >> len) as u64;
        for i in 1..len {
            let byte = *b.get(at + i)?;
            ones &= byte == 0xFF;
            value = (value << 8) | byte as u64;
        }
        Some((value, len, ones))
    }

    fn element_at(b: &[u8], at: usize) -> Option<(u32, Option<u64>, usize)> {
        let first = *b.get(at)?;
        let id_len = first.leading_zeros() as usize + 1;
        if id_len > 4 {
            return None;
        }
        let id = b.get(at..at + id_len)?.iter().fold(0u32, |v, &x| (v << 8) | x as u32);
        let (size, size_len, unknown) = vint(b, at + id_len)?;
        Some((id, (!unknown).then_some(size), id_len + size_len))
    }

    fn read_element<R: Read + Seek>(r: &mut Source<R>, at: u64) -> Result<Option<Element>, String> {
        let head = r.read_at(at, 12)?;
        Ok(element_at(&head, 0).map(|(id, size, len)| Element { id, data: at + len as u64, size }))
    }

    /// Children of an in-memory master element: (id, payload).
    fn children(data: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
        let mut at = 0usize;
        std::iter::from_fn(move || {
            let (id, size, len) = element_at(data, at)?;
            let start = at + len;
            let end = size.map_or(data.len(), |s| (start as u64).saturating_add(s).min(data.len() as u64) as usize);
            let payload = data.get(start..end)?;
            at = end;
            Some((id, payload))
        })
    }

    fn uint(b: &[u8]) -> u64 {
        b.iter().take(8).fold(0u64, |v, &x| (v << 8) | x as u64)
    }

    fn float(b: &[u8]) -> Option<f64> {
        match b.len() {
            4 => Some(f32::from_be_bytes(b.try_into().ok()?) as f64),
            8 => Some(f64::from_be_bytes(b.try_into().ok()?)),
            _ => None,
        }
    }

    #[derive(Default)]
    struct Scan {
        blocks: u64,
        first: Option<i64>,
        last: Option<i64>,
        previous: Option<i64>,
        deltas: Vec<i64>,
    }

    pub(super) fn probe<R: Read + Seek>(r: &mut Source<R>) -> Result<VideoInfo, String> {
        let header = read_element(r, 0)?.filter(|e| e.id == EBML).ok_or("not an EBML file")?;
        let header_size = header.size.ok_or("the EBML header has no size")?;
        let doc = r.read_at(header.data, header_size.min(4096))?;
        let doc_type =
            children(&doc).find(|(id, _)| *id == DOC_TYPE).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        let container = if doc_type.as_deref() == Some("webm") { Container::WebM } else { Container::Matroska };
        let mut info = VideoInfo::new(container);
        let segment_at = header.data + header_size;
        let segment = read_element(r, segment_at)?
            .filter(|e| e.id == SEGMENT)
            .ok_or("no Matroska segment after the EBML header")?;
        let segment_end = match segment.size {
            Some(s) if segment.data.saturating_add(s) > r.len => {
                info.truncated = Some(format!(
                    "the segment declares {s} bytes, but the file ends {} bytes in",
                    r.len - segment.data
                ));
                r.len
            }
            Some(s) => segment.data + s,
            None => r.len,
        };
        let mut timecode_scale = 1_000_000u64;
        let mut duration_ticks: Option<f64> = None;
        let mut video_track: Option<u64> = None;
        let mut default_duration: Option<u64> = None;
        let mut scan = Scan::default();
        let mut cluster_time = 0i64;
        let mut pos = segment.data;
        let mut visited = 0usize;
        // Whether `pos` is inside a cluster of unknown size (its children follow in the stream).
        let mut in_cluster = false;
        while pos < segment_end {
            visited += 1;
            if visited > MAX_ELEMENTS {
                break;
            }
            let Some(e) = read_element(r, pos)? else { break };
            if in_cluster && LEVEL1.contains(&e.id) {
                in_cluster = false;
            }
            let size = match e.size {
                Some(s) => s,
                None if e.id == CLUSTER => {
                    in_cluster = true;
                    cluster_time = 0;
                    pos = e.data;
                    continue;
                }
                None => break,
            };
            let end = e.data.saturating_add(size);
            if end > r.len && info.truncated.is_none() {
                info.truncated =
                    Some(format!("element {:#x} at byte {pos} declares {size} bytes past the end of the file", e.id));
            }
            match e.id {
                INFO | TRACKS => {
                    if size > MAX_HEADER_BYTES {
                        return Err(format!("a Matroska header element is larger than {MAX_HEADER_BYTES} bytes"));
                    }
                    let data = r.read_at(e.data, size)?;
                    if e.id == INFO {
                        for (id, v) in children(&data) {
                            match id {
                                TIMECODE_SCALE if uint(v) > 0 => timecode_scale = uint(v),
                                DURATION => duration_ticks = float(v).filter(|d| d.is_finite() && *d > 0.0),
                                _ => {}
                            }
                        }
                    } else {
                        tracks(&data, &mut info, &mut video_track, &mut default_duration);
                    }
                }
                CLUSTER => {
                    // A cluster of known size: walk into it like an unknown-size one.
                    in_cluster = true;
                    cluster_time = 0;
                    pos = e.data;
                    continue;
                }
                TIMECODE if in_cluster => {
                    cluster_time = uint(&r.read_at(e.data, size.min(8))?) as i64;
                }
                SIMPLE_BLOCK if in_cluster => block(&r.read_at(e.data, 4)?, video_track, cluster_time, &mut scan),
                BLOCK_GROUP if in_cluster => {
                    let group = r.read_at(e.data, size.min(64))?;
                    let found = children(&group).find(|(id, _)| *id == BLOCK).map(|(_, b)| b);
                    if let Some(b) = found {
                        block(b, video_track, cluster_time, &mut scan);
                    }
                }
                _ => {}
            }
            pos = end;
        }
        let tick = timecode_scale as f64 / 1e9;
        let frame_seconds = default_duration.map(|d| d as f64 / 1e9).or_else(|| {
            let mut d = scan.deltas.clone();
            d.sort_unstable();
            d.get(d.len() / 2).map(|&m| m as f64 * tick)
        });
        if scan.blocks > 0 {
            info.frames = Some(scan.blocks);
        }
        let scanned = match (scan.first, scan.last) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 * tick + frame_seconds.unwrap_or(0.0)),
            _ => None,
        };
        info.duration = duration_ticks.map(|d| d * tick).or(scanned).filter(|d| *d > 0.0);
        info.frame_rate =
            default_duration.filter(|&d| d > 0).map(|d| 1e9 / d as f64).or_else(|| rate(info.frames, scanned));
        Ok(info)
    }

    fn tracks(data: &[u8], info: &mut VideoInfo, video: &mut Option<u64>, default_duration: &mut Option<u64>) {
        for (_, entry) in children(data).filter(|(id, _)| *id == TRACK_ENTRY) {
            let (mut number, mut kind, mut codec, mut dd) = (None, None, None, None);
            let (mut w, mut h, mut roll) = (None, None, None);
            for (id, v) in children(entry) {
                match id {
                    TRACK_NUMBER => number = Some(uint(v)),
                    TRACK_TYPE => kind = Some(uint(v)),
                    CODEC_ID => codec = Some(String::from_utf8_lossy(v).trim_end_matches('\0').to_owned()),
                    DEFAULT_DURATION => dd = Some(uint(v)),
                    VIDEO => {
                        for (id, v) in children(v) {
                            match id {
                                PIXEL_WIDTH => w = Some(uint(v) as u32),
                                PIXEL_HEIGHT => h = Some(uint(v) as u32),
                                PROJECTION => {
                                    roll = children(v).find(|(id, _)| *id == POSE_ROLL).and_then(|(_, v)| float(v))
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            match kind {
                Some(1) if video.is_none() => {
                    *video = number;
                    *default_duration = dd.filter(|&d| d > 0);
                    info.codec = codec.as_deref().map(codec_of);
                    info.width = w.filter(|&w| w > 0);
                    info.height = h.filter(|&h| h > 0);
                    // ProjectionPoseRoll is counter-clockwise.
                    info.rotation = roll.map_or(0, |r| ((-r / 90.0).round() as i64).rem_euclid(4) as u32 * 90);
                }
                Some(2) if info.audio_codec.is_none() => info.audio_codec = codec.as_deref().map(codec_of),
                _ => {}
            }
        }
    }

    /// A (Simple)Block's header: track number, 16-bit relative timecode.
    fn block(head: &[u8], video: Option<u64>, cluster_time: i64, scan: &mut Scan) {
        let Some((track, len, _)) = vint(head, 0) else { return };
        if Some(track) != video {
            return;
        }
        let Some(rel) = head.get(len..len + 2).map(|b| i16::from_be_bytes([b[0], b[1]])) else { return };
        let t = cluster_time + rel as i64;
        scan.blocks += 1;
        scan.first = Some(scan.first.map_or(t, |f| f.min(t)));
        scan.last = Some(scan.last.map_or(t, |l| l.max(t)));
        if let Some(p) = scan.previous {
            if t > p && scan.deltas.len() < 4096 {
                scan.deltas.push(t - p);
            }
        }
        scan.previous = Some(t);
    }

    fn codec_of(id: &str) -> String {
        match id {
            "V_MPEG4/ISO/AVC" => "h264".into(),
            "V_MPEGH/ISO/HEVC" => "hevc".into(),
            "V_VP8" => "vp8".into(),
            "V_VP9" => "vp9".into(),
            "V_AV1" => "av1".into(),
            "V_MPEG4/ISO/ASP" | "V_MPEG4/ISO/SP" | "V_MPEG4/ISO/AP" => "mpeg4".into(),
            "V_MJPEG" => "mjpeg".into(),
            "A_OPUS" => "opus".into(),
            "A_VORBIS" => "vorbis".into(),
            other if other.starts_with("A_AAC") => "aac".into(),
            other => other.to_lowercase(),
        }
    }
}

/// The formats FFmpeg reads for us: it opens the file with the one demuxer the magic bytes named,
/// prints what it found (`Input #0, mpeg, …`, `Duration: 00:00:02.00, …`, `Stream #0:0: Video:
/// mpeg2video (Main), yuv420p, 360x480 […], 30 fps, …`) and stops, for want of an output.
mod by_ffmpeg {
    use std::ffi::OsString;
    use std::path::Path;
    use std::time::Duration;

    use super::{Container, VideoInfo};

    /// Wall-clock limit of one probe.
    const PROBE_WALL_SECONDS: u64 = 10;

    pub(super) fn probe(path: &Path, container: Container) -> Result<VideoInfo, String> {
        let ffmpeg = crate::ffmpeg::ffmpeg().map_err(|e| e.to_string())?;
        let args: Vec<OsString> = [
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "info",
            "-timelimit",
            "10",
            "-max_alloc",
            "268435456",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            container.demuxer(),
            "-f",
            container.demuxer(),
        ]
        .into_iter()
        .map(OsString::from)
        .chain([OsString::from("-i"), OsString::from(format!("file:{}", path.display()))])
        .collect();
        let run = ffmpeg
            .log(&args, Duration::from_secs(PROBE_WALL_SECONDS))
            .map_err(|e| format!("ffmpeg at {} cannot be run: {e}", ffmpeg.path.display()))?;
        if run.timed_out {
            return Err(format!("{}: reading the headers took longer than {PROBE_WALL_SECONDS} s", container.name()));
        }
        parse(container, &run.log)
    }

    /// What FFmpeg's listing of its input says.
    pub(super) fn parse(container: Container, log: &str) -> Result<VideoInfo, String> {
        if !log.lines().any(|l| l.starts_with("Input #0")) {
            let why = log
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.contains("output file"))
                .map(|l| l.rsplit("]: ").next().unwrap_or(l).trim().to_owned())
                .unwrap_or_else(|| "unreadable".into());
            return Err(format!("{}: {why}", container.name()));
        }
        let mut info = VideoInfo::new(container);
        info.duration = log
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("Duration: "))
            .and_then(|rest| seconds(rest.split(',').next()?.trim()));
        let stream = |kind: &str| {
            log.lines().find_map(|l| {
                let l = l.trim_start();
                if !l.starts_with("Stream #0:") {
                    return None;
                }
                l.split_once(kind).map(|(_, rest)| rest.to_owned())
            })
        };
        info.audio_codec = stream("Audio: ").and_then(|a| a.split([' ', ',']).next().map(str::to_owned));
        let Some(video) = stream("Video: ") else {
            return Ok(info);
        };
        info.codec = video.split([' ', ',']).next().filter(|c| !c.is_empty()).map(str::to_owned);
        let parts: Vec<&str> = video.split(", ").map(str::trim).collect();
        if let Some((w, h)) = parts.iter().find_map(|p| size(p.split_whitespace().next()?)) {
            (info.width, info.height) = (Some(w), Some(h));
        }
        let rate = |unit: &str| {
            parts.iter().find_map(|p| p.strip_suffix(unit)?.trim().parse::<f64>().ok()).filter(|r| *r > 0.0)
        };
        info.frame_rate = rate(" fps").or_else(|| rate(" tbr"));
        if let Some(angle) = log
            .lines()
            .find_map(|l| l.split_once("rotation of "))
            .and_then(|(_, r)| r.split_whitespace().next()?.parse::<f64>().ok())
        {
            // FFmpeg prints the counter-clockwise angle of the display matrix.
            info.rotation = ((-angle).round() as i64).rem_euclid(360) as u32 / 90 * 90;
        }
        Ok(info)
    }

    /// `HH:MM:SS.ss` (or `N/A`).
    fn seconds(t: &str) -> Option<f64> {
        let mut parts = t.split(':');
        let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
        let total = h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?;
        (total > 0.0).then_some(total)
    }

    /// `360x480`.
    fn size(token: &str) -> Option<(u32, u32)> {
        let (w, h) = token.split_once('x')?;
        let (w, h) = (w.parse::<u32>().ok()?, h.parse::<u32>().ok()?);
        (w > 0 && h > 0).then_some((w, h))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_listing_gives_the_facts() {
            let log = "Input #0, mpegts, from 'file:/tmp/x':\n  Duration: 00:00:02.02, start: 1.443444, bitrate: 565 kb/s\n  \
                Stream #0:0[0x100]: Video: h264 (High) ([27][0][0][0] / 0x001B), yuv420p(progressive), 360x480, 30 fps, \
                30 tbr, 90k tbn, start 1.466667\n  Stream #0:1[0x101]: Audio: aac (LC) ([15][0][0][0] / 0x000F), \
                44100 Hz, mono, fltp\nAt least one output file must be specified\n";
            let info = parse(Container::MpegTs, log).unwrap();
            assert_eq!(info.codec.as_deref(), Some("h264"));
            assert_eq!(info.audio_codec.as_deref(), Some("aac"));
            assert_eq!((info.width, info.height), (Some(360), Some(480)));
            assert_eq!(info.frame_rate, Some(30.0));
            assert!((info.duration.unwrap() - 2.02).abs() < 1e-9);
            assert_eq!(info.rotation, 0);
            // Theora in Ogg gives no `fps`, only `tbr`; a rotation is the display matrix's.
            let log = "Input #0, ogg, from 'f':\n  Duration: 00:01:00.50, start: 0.000000\n  Stream #0:0(und): Video: \
                theora, yuv420p, 640x360 [SAR 1:1 DAR 16:9], 25 tbr, 25 tbn\n      displaymatrix: rotation of -90.00 degrees\n";
            let info = parse(Container::Ogg, log).unwrap();
            assert_eq!((info.codec.as_deref(), info.frame_rate, info.rotation), (Some("theora"), Some(25.0), 90));
            assert!((info.duration.unwrap() - 60.5).abs() < 1e-9);
            // No video stream; and an input FFmpeg could not open.
            let info =
                parse(Container::Ogg, "Input #0, ogg, from 'f':\n  Stream #0:0: Audio: vorbis, 44100 Hz\n").unwrap();
            assert_eq!((info.codec, info.audio_codec.as_deref()), (None, Some("vorbis")));
            let err = parse(Container::Asf, "[asf @ 0x5555] [error] Header object too short\n[in#0 @ 0x1] Error opening input: Invalid data found when processing input\nError opening input file f.\n").unwrap_err();
            assert!(err.starts_with("asf: "), "{err}");
        }
    }
}

mod avi {
    use super::*;

    pub(super) fn probe<R: Read + Seek>(r: &mut Source<R>) -> Result<VideoInfo, String> {
        let head = r.read_at(0, 64 << 10)?;
        let mut info = VideoInfo::new(Container::Avi);
        let riff = le_u32(&head, 4).unwrap_or(0) as u64 + 8;
        if riff > r.len {
            info.truncated = Some(format!("the RIFF header declares {riff} bytes, but the file has {}", r.len));
        }
        // avih: microseconds per frame, …, total frames at 16, width at 32, height at 36.
        let avih = head.windows(4).position(|w| w == b"avih").map(|p| p + 8).ok_or("no AVI main header")?;
        let us_per_frame = le_u32(&head, avih).unwrap_or(0);
        let frames = le_u32(&head, avih + 16).unwrap_or(0) as u64;
        let (w, h) = (le_u32(&head, avih + 32).unwrap_or(0), le_u32(&head, avih + 36).unwrap_or(0));
        (info.width, info.height) = (Some(w).filter(|&w| w > 0), Some(h).filter(|&h| h > 0));
        if us_per_frame > 0 {
            info.frame_rate = Some(1e6 / us_per_frame as f64);
            if frames > 0 {
                info.duration = Some(frames as f64 * us_per_frame as f64 / 1e6);
            }
        }
        info.frames = Some(frames).filter(|&n| n > 0);
        // The first video stream header: strh with type 'vids', handler four-cc at +4.
        let mut at = 0;
        while let Some(p) = head.get(at..).and_then(|rest| rest.windows(4).position(|w| w == b"strh")) {
            let strh = at + p + 8;
            if head.get(strh..strh + 4) == Some(b"vids") {
                let handler = head.get(strh + 4..strh + 8).unwrap_or(b"    ");
                // The stream format (BITMAPINFOHEADER) names the compression at +16.
                let compression = head
                    .get(strh..)
                    .and_then(|rest| rest.windows(4).position(|w| w == b"strf"))
                    .and_then(|q| head.get(strh + q + 8 + 16..strh + q + 8 + 20));
                info.codec = Some(codec_of(compression.unwrap_or(handler)));
                break;
            }
            at = strh;
        }
        Ok(info)
    }

    fn codec_of(fourcc: &[u8]) -> String {
        match &fourcc.to_ascii_uppercase()[..] {
            b"H264" | b"X264" | b"AVC1" => "h264".into(),
            b"HEVC" | b"H265" | b"HVC1" => "hevc".into(),
            b"XVID" | b"DIVX" | b"DX50" | b"FMP4" | b"MP4V" => "mpeg4".into(),
            b"MJPG" | b"AVRN" | b"JPEG" => "mjpeg".into(),
            b"DIV3" | b"MP43" => "msmpeg4v3".into(),
            b"WMV1" | b"WMV2" | b"WMV3" => super::fourcc(fourcc).to_lowercase(),
            b"WVC1" | b"WMVA" => "vc1".into(),
            b"MPG1" => "mpeg1video".into(),
            b"MPG2" => "mpeg2video".into(),
            b"VP80" => "vp8".into(),
            b"VP90" => "vp9".into(),
            b"AV01" => "av1".into(),
            _ => super::fourcc(fourcc).trim().to_lowercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    fn u32s(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// A video track: 60 frames of 1/30 s (timescale 30,000), 640×480, matrix (a, b, c, d).
    fn trak(matrix: [i32; 4], hdlr_name: &[u8], chunk_offset: u32) -> Vec<u8> {
        let [a, b, c, d] = matrix;
        let mut tkhd = u32s(&[0, 0, 0, 1, 0, 2000, 0, 0, 0, 0]);
        for v in [a, b, 0, c, d, 0, 0, 0, 0x4000_0000] {
            tkhd.extend_from_slice(&v.to_be_bytes());
        }
        tkhd.extend_from_slice(&u32s(&[640 << 16, 480 << 16]));
        let mdhd = u32s(&[0, 0, 0, 30_000, 60_000, 0]);
        let mut hdlr = u32s(&[0, 0]);
        hdlr.extend_from_slice(b"vide");
        hdlr.extend_from_slice(&[0; 12]);
        hdlr.extend_from_slice(hdlr_name);
        let mut entry = vec![0u8; 24];
        entry.extend_from_slice(&640u16.to_be_bytes());
        entry.extend_from_slice(&480u16.to_be_bytes());
        entry.extend_from_slice(&[0; 50]);
        let stsd = cat(&[u32s(&[0, 1]), bx(b"avc1", &entry)]);
        let stts = u32s(&[0, 1, 60, 1000]);
        let stco = u32s(&[0, 1, chunk_offset]);
        let stbl = bx(b"stbl", &cat(&[bx(b"stsd", &stsd), bx(b"stts", &stts), bx(b"stco", &stco)]));
        let mdia = bx(b"mdia", &cat(&[bx(b"mdhd", &mdhd), bx(b"hdlr", &hdlr), bx(b"minf", &stbl)]));
        bx(b"trak", &cat(&[bx(b"tkhd", &tkhd), mdia]))
    }

    fn moov(matrix: [i32; 4], hdlr_name: &[u8], chunk_offset: u32) -> Vec<u8> {
        let mvhd = cat(&[u32s(&[0, 0, 0, 1000, 2000]), vec![0; 80]]);
        bx(b"moov", &cat(&[bx(b"mvhd", &mvhd), trak(matrix, hdlr_name, chunk_offset)]))
    }

    const ROT90: [i32; 4] = [0, 0x10000, -0x10000, 0];

    #[test]
    fn mp4_with_odd_boxes_and_moov_at_the_end() {
        // An unknown box, a 64-bit mdat, an hdlr without a name, moov last, a to-the-end 'free'.
        let mut mdat64 = u32s(&[1]);
        mdat64.extend_from_slice(b"mdat");
        mdat64.extend_from_slice(&(16u64 + 100).to_be_bytes());
        mdat64.extend_from_slice(&[7; 100]);
        let file = cat(&[
            bx(b"ftyp", b"isom\0\0\0\0isomavc1"),
            bx(b"zzzz", b"vendor junk"),
            mdat64,
            moov(ROT90, b"", 40),
            cat(&[u32s(&[0]), b"free".to_vec(), vec![0; 30]]),
        ]);
        let info = probe_video(&file).unwrap();
        assert_eq!(info.container, Container::Mp4);
        assert_eq!(info.codec.as_deref(), Some("h264"));
        assert_eq!((info.width, info.height, info.rotation), (Some(640), Some(480), 90));
        assert_eq!(info.display_size(), Some((480, 640)));
        assert_eq!(info.frames, Some(60));
        assert_eq!(info.duration, Some(2.0));
        assert!((info.frame_rate.unwrap() - 30.0).abs() < 1e-9);
        assert_eq!(info.truncated, None);
        assert_eq!(info.label(), "mp4 h264 640×480");
    }

    #[test]
    fn quicktime_brand_and_rotations() {
        let file = cat(&[bx(b"ftyp", b"qt  \0\0\0\0qt  "), moov([-0x10000, 0, 0, -0x10000], b"Core Media Video\0", 0)]);
        let info = probe_video(&file).unwrap();
        assert_eq!((info.container, info.rotation), (Container::Mov, 180));
        assert_eq!(isobmff::rotation_for_test(0, -0x10000), 270);
        assert_eq!(isobmff::rotation_for_test(0x10000, 0), 0);
    }

    #[test]
    fn cut_files_are_told_apart() {
        let whole =
            cat(&[bx(b"ftyp", b"isom\0\0\0\0"), moov([0x10000, 0, 0, 0x10000], b"V\0", 60), bx(b"mdat", &[1; 400])]);
        assert_eq!(probe_video(&whole).unwrap().truncated, None);
        let cut = &whole[..whole.len() - 100];
        assert!(probe_video(cut).unwrap().truncated.unwrap().contains("'mdat'"), "mdat past the end");
        // moov at the end, cut in its middle, or cut off with the media data: no usable header.
        let tail =
            cat(&[bx(b"ftyp", b"isom\0\0\0\0"), bx(b"mdat", &[1; 400]), moov([0x10000, 0, 0, 0x10000], b"", 30)]);
        assert!(probe_video(&tail[..tail.len() - 50]).unwrap().truncated.unwrap().contains("'moov'"));
        let err = probe_video(&tail[..300]).unwrap_err();
        assert!(err.contains("no 'moov' box") && err.contains("cut short"), "{err}");
        // Chunks pointing past the end of the file.
        let far = cat(&[bx(b"ftyp", b"isom\0\0\0\0"), moov([0x10000, 0, 0, 0x10000], b"", 1 << 30)]);
        assert!(probe_video(&far).unwrap().truncated.unwrap().contains("sample table"));
    }

    #[test]
    fn fragmented_mp4_counts_its_fragments() {
        let mvex = bx(b"mvex", &bx(b"trex", &u32s(&[0, 1, 1, 1000, 0, 0])));
        let mut m = moov([0x10000, 0, 0, 0x10000], b"", 0);
        // Empty sample tables in the init segment, as muxers write them: patch stts to 0 entries.
        let stts_at = m.windows(4).position(|w| w == b"stts").unwrap() + 4;
        m[stts_at..stts_at + 16].copy_from_slice(&u32s(&[0, 0, 0, 0]));
        m.extend_from_slice(&mvex);
        let size = m.len() as u32;
        m[..4].copy_from_slice(&size.to_be_bytes());
        // Two fragments: 30 samples with the default duration, 15 with explicit ones.
        let traf1 = bx(b"traf", &cat(&[bx(b"tfhd", &u32s(&[0, 1])), bx(b"trun", &u32s(&[0, 30]))]));
        // With a data offset before the per-sample durations.
        let mut trun2 = u32s(&[0x101, 15, 123]);
        trun2.extend_from_slice(&u32s(&[2000; 15]));
        let traf2 = bx(b"traf", &cat(&[bx(b"tfhd", &u32s(&[0, 1])), bx(b"trun", &trun2)]));
        let file = cat(&[
            bx(b"ftyp", b"iso5\0\0\0\0"),
            m,
            bx(b"moof", &traf1),
            bx(b"mdat", &[0; 10]),
            bx(b"moof", &traf2),
            bx(b"mdat", &[0; 10]),
        ]);
        let info = probe_video(&file).unwrap();
        assert!(info.fragmented);
        assert_eq!(info.frames, Some(45));
        assert_eq!(info.duration, Some(2.0), "30 × 1000 + 15 × 2000 at 30,000 per second");
    }

    fn el(id: u32, payload: &[u8]) -> Vec<u8> {
        let mut b: Vec<u8> = id.to_be_bytes().into_iter().skip_while(|&x| x == 0).collect();
        b.push(0x01);
        b.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
        b.extend_from_slice(payload);
        b
    }

    fn unknown_size(id: u32) -> Vec<u8> {
        let mut b: Vec<u8> = id.to_be_bytes().into_iter().skip_while(|&x| x == 0).collect();
        b.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        b
    }

    fn simple_block(track: u8, rel: i16) -> Vec<u8> {
        let mut b = vec![0x80 | track];
        b.extend_from_slice(&rel.to_be_bytes());
        b.push(0x80);
        b.extend_from_slice(&[0; 20]);
        el(0xA3, &b)
    }

    /// A live WebM as `MediaRecorder` writes it: no duration, segment and clusters of unknown size.
    fn live_webm() -> Vec<u8> {
        let video = el(0xE0, &cat(&[el(0xB0, &[0x02, 0x80]), el(0xBA, &[0x01, 0xE0])]));
        let track = el(0xAE, &cat(&[el(0xD7, &[1]), el(0x83, &[1]), el(0x86, b"V_VP8"), video]));
        let audio = el(0xAE, &cat(&[el(0xD7, &[2]), el(0x83, &[2]), el(0x86, b"A_OPUS")]));
        let mut file = cat(&[
            el(0x1A45DFA3, &el(0x4282, b"webm")),
            unknown_size(0x18538067),
            el(0x1549A966, &el(0x2AD7B1, &[0x0F, 0x42, 0x40])),
            el(0x1654AE6B, &cat(&[track, audio])),
        ]);
        for start in [0u16, 1000] {
            file.extend_from_slice(&unknown_size(0x1F43B675));
            file.extend_from_slice(&el(0xE7, &start.to_be_bytes()));
            for i in 0..30i16 {
                file.extend_from_slice(&simple_block(1, i * 33));
                file.extend_from_slice(&simple_block(2, i * 33 + 5));
            }
        }
        file
    }

    #[test]
    fn live_webm_without_duration_is_scanned() {
        let info = probe_video(&live_webm()).unwrap();
        assert_eq!(info.container, Container::WebM);
        assert_eq!(info.codec.as_deref(), Some("vp8"));
        assert_eq!(info.audio_codec.as_deref(), Some("opus"));
        assert_eq!((info.width, info.height), (Some(640), Some(480)));
        assert_eq!(info.frames, Some(60));
        let d = info.duration.unwrap();
        assert!((d - 1.99).abs() < 0.02, "{d}");
        assert!((info.frame_rate.unwrap() - 30.0).abs() < 0.5);
        assert_eq!(info.truncated, None);
        // Cut in the middle of a block.
        let file = live_webm();
        let cut = probe_video(&file[..file.len() - 10]).unwrap();
        assert!(cut.truncated.is_some());
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let seeds = [
            live_webm(),
            cat(&[bx(b"ftyp", b"isom\0\0\0\0"), moov(ROT90, b"", 40), bx(b"mdat", &[1; 64])]),
            b"RIFF\x00\x01\x00\x00AVI LIST\x10\x00\x00\x00hdrlavih\x38\x00\x00\x00".to_vec(),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            for _ in 0..3000 {
                let mut m = seed.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % m.len() as u64) as usize;
                    match next() % 3 {
                        0 => m[at] = next() as u8,
                        1 => m[at] = 0xFF,
                        _ => m.truncate(at.max(1)),
                    }
                }
                let _ = probe_video(&m);
            }
        }
        assert!(probe_video(b"").is_err());
        assert!(probe_video(b"\0\0\0\x08ftyp").is_err());
    }
}
