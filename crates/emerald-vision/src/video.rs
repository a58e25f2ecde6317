//! Videos: MP4 / MOV / M4V / 3GP and WebM / Matroska, H.264, HEVC, VP8, VP9, AV1 and MPEG-4 Part 2;
//! and the older formats the spec lists — AVI (also Motion JPEG, DivX 3), MPEG program and
//! transport streams (MPEG-1/2 video, H.264), Ogg (Theora) and ASF (Windows Media Video 7/8/9,
//! VC-1) — decoded by an `ffmpeg` child process (`ffmpeg.rs`; why: `docs/vision.md`).
//!
//! 1. The container is looked at in Rust first (`container.rs`): a file cut short, without a video
//!    track, with a codec outside the list, frames larger than [`MAX_FRAME_PIXELS`] or more than
//!    [`MAX_DECODED_FRAMES`] frames in the analysed window is refused with the reason, without
//!    starting a decoder. The same look gives the duration (to spread the samples), the rotation
//!    and the names used in messages and logs.
//! 2. `ffmpeg` reads the bytes from a private temporary file, only with the `file` protocol, the
//!    one demuxer the magic bytes named and the decoders of the list; it decodes at most the first
//!    [`MAX_VIDEO_SECONDS`], skips frames no other frame refers to (they cannot be sampled cheaper
//!    than their neighbours), and keeps `max_frames` frames spread evenly over that window (the
//!    first frame at or after each of `max_frames` equally spaced times). Only those are rotated
//!    upright, scaled to fit [`MAX_FRAME_SIDE`] and converted to RGB.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use image::RgbImage;

use crate::container::{probe_video, probe_video_file, Container, VideoInfo};
use crate::error::VisionError;
use crate::ffmpeg::{ffmpeg, Run};

/// Only this much of a video (from its start) is decoded.
pub const MAX_VIDEO_SECONDS: f64 = 6.0;
/// Largest accepted frame, in pixels (4096 × 2304, a little over 4K UHD).
pub const MAX_FRAME_PIXELS: u64 = 4096 * 2304;
/// Most frames decoded from one video (240 frames per second over `MAX_VIDEO_SECONDS`, plus margin).
pub const MAX_DECODED_FRAMES: u64 = 1_500;
/// Frames handed to the engine fit in this many pixels a side (larger ones are scaled down while
/// decoding): the detector works on 640 × 640 and the best shot is at most 1280 a side.
pub const MAX_FRAME_SIDE: u32 = 1280;
/// Wall-clock limit of one decoding.
pub const DECODE_WALL_SECONDS: u64 = 30;
/// CPU-time limit of one decoding (`ffmpeg -timelimit`, seconds).
pub const DECODE_CPU_SECONDS: u64 = 60;
/// Largest single allocation of the decoder (`ffmpeg -max_alloc`).
pub const DECODE_MAX_ALLOC: u64 = 512 << 20;
/// Decoder threads.
pub const DECODE_THREADS: u32 = 2;

/// Codecs decoded, with the FFmpeg decoder used for each: what phones, browsers and cameras
/// record, then the older codecs of the formats the spec lists (`video/mpeg`, `video/ogg`,
/// `video/x-ms-wmv`, `video/x-msvideo`).
const DECODERS: [(&str, &str); 15] = [
    ("h264", "h264"),
    ("hevc", "hevc"),
    ("vp8", "vp8"),
    ("vp9", "vp9"),
    ("av1", "libdav1d"),
    ("mpeg4", "mpeg4"),
    ("mjpeg", "mjpeg"),
    ("mpeg1video", "mpeg1video"),
    ("mpeg2video", "mpeg2video"),
    ("theora", "theora"),
    ("msmpeg4v3", "msmpeg4"),
    ("wmv1", "wmv1"),
    ("wmv2", "wmv2"),
    ("wmv3", "wmv3"),
    ("vc1", "vc1"),
];
/// Demuxers FFmpeg may use (one per run: the one the magic bytes named).
const DEMUXERS: &str = "mov,matroska,avi,mpeg,mpegts,ogg,asf";

/// Sampled frames of a video.
pub struct DecodedVideo {
    pub frames: Vec<RgbImage>,
    /// Presentation time of each kept frame, in seconds from the first frame (approximate: the
    /// sampling time the frame was picked for).
    pub times: Vec<f32>,
    /// What the container says (None when it could not be read but the decoder coped).
    pub info: Option<VideoInfo>,
    /// Frames the decoder decoded to deliver `frames` (as it reports it).
    pub frames_decoded: Option<u64>,
}

/// Decode up to `max_frames` frames spread evenly over the first `MAX_VIDEO_SECONDS`.
pub fn decode_video(bytes: &[u8], max_frames: usize) -> Result<DecodedVideo, VisionError> {
    let max_frames = max_frames.max(1);
    let Some(sniffed) = Container::sniff(bytes) else {
        return Err(VisionError::Unsupported(
            "unknown video container; send MP4, MOV, WebM, MKV, AVI, MPEG, Ogg or WMV".into(),
        ));
    };
    if sniffed.probed_by_ffmpeg() {
        // FFmpeg reads these containers' headers too: without it, say what is missing.
        ffmpeg()?;
    }
    // FFmpeg reads the headers of some containers from the copy it will decode; the others are
    // copied only once the checks below let them through.
    let mut copy = None;
    let probed = if sniffed.probed_by_ffmpeg() {
        let file = private_copy(bytes, "emerald-video-")?;
        let probed = probe_video_file(file.path());
        copy = Some(file);
        probed
    } else {
        probe_video(bytes)
    };
    let info = match probed {
        Ok(info) => Some(info),
        // Without a movie header there is nothing any decoder could do.
        Err(why) if why.contains("'moov'") => return Err(VisionError::Decode(format!("{}: {why}", sniffed.name()))),
        // FFmpeg itself could not open it.
        Err(why) if sniffed.probed_by_ffmpeg() => return Err(VisionError::Decode(why)),
        Err(_) => None,
    };
    let label = info.as_ref().map_or_else(|| sniffed.name().to_owned(), VideoInfo::label);
    let mut decoder = None;
    if let Some(info) = &info {
        if let Some(why) = &info.truncated {
            return Err(VisionError::Decode(format!("{label}: the file is cut short: {why}")));
        }
        let Some(codec) = info.codec.as_deref() else {
            return Err(VisionError::Decode(format!("{label}: the file has no video track")));
        };
        decoder = match DECODERS.iter().find(|(c, _)| *c == codec) {
            Some((_, d)) => Some(*d),
            None if codec == "encrypted" => {
                return Err(VisionError::Unsupported(format!("{label}: the video is encrypted (DRM)")));
            }
            None => {
                return Err(VisionError::Unsupported(format!(
                    "{label}: {codec} video is not supported (H.264, HEVC, VP8, VP9, AV1, MPEG-4 Part 2, MPEG-1/2, \
                     Motion JPEG, Theora and Windows Media Video are)"
                )))
            }
        };
        if let (Some(w), Some(h)) = (info.width, info.height) {
            if u64::from(w) * u64::from(h) > MAX_FRAME_PIXELS {
                return Err(VisionError::TooLarge(format!(
                    "{label}: frames of {w}×{h} pixels (at most {MAX_FRAME_PIXELS})"
                )));
            }
        }
        if let Some(fps) = info.frame_rate {
            let window = info.duration.unwrap_or(MAX_VIDEO_SECONDS).min(MAX_VIDEO_SECONDS);
            if fps * window > MAX_DECODED_FRAMES as f64 {
                return Err(VisionError::TooLarge(format!(
                    "{label}: {fps:.0} frames per second, more than {MAX_DECODED_FRAMES} frames in the first {window:.1} s"
                )));
            }
        }
    }
    let ffmpeg = ffmpeg()?;
    let demuxer = info.as_ref().map_or(sniffed, |i| i.container).demuxer();
    let window = info
        .as_ref()
        .and_then(|i| i.duration)
        .filter(|d| *d > 0.0)
        .map_or(MAX_VIDEO_SECONDS, |d| d.min(MAX_VIDEO_SECONDS));
    let rotation = info.as_ref().map_or(0, |i| i.rotation);
    let file = match copy {
        Some(file) => file,
        None => private_copy(bytes, "emerald-video-")?,
    };
    let plan = Plan {
        input: file.path().into(),
        demuxer,
        decoder,
        window,
        frames: max_frames,
        rotation,
        skip_unreferenced: true,
    };
    let mut run = decode(ffmpeg, &plan, &label)?;
    if run.0.is_empty() && !run.1.timed_out {
        // Streams whose every frame is marked unreferenced (some intra-only encoders): again,
        // decoding everything.
        run = decode(ffmpeg, &Plan { skip_unreferenced: false, ..plan }, &label)?;
    }
    let (frames, run) = run;
    drop(file);
    let stats = stats(&run.log);
    if frames.is_empty() {
        return Err(failure(&label, &run, stats));
    }
    let step = window / max_frames as f64;
    Ok(DecodedVideo {
        times: (0..frames.len()).map(|i| (i as f64 * step) as f32).collect(),
        frames,
        info,
        frames_decoded: stats.decoded,
    })
}

/// Largest side of a HEIF / AVIF photo as handed to the engine (a 48-megapixel iPhone photo is
/// scaled down to fit; the detector works on 640 and best shots are at most 1280 a side).
pub const MAX_STILL_SIDE: u32 = 4096;
/// Largest side of a HEIF / AVIF picture decoded at all (a 48-megapixel photo is 8064 wide).
const MAX_STILL_DECODED_SIDE: u32 = 8192;

/// A HEIF (an iPhone's `.heic`) or AVIF photo, decoded by the same bounded `ffmpeg` child process
/// as videos: the `mov` demuxer, only the HEVC and AV1 decoders; FFmpeg stitches the tiles of a
/// grid image (an iPhone photo is 48 tiles of 512 × 512) and turns it as its `irot`/`imir`
/// properties say.
pub(crate) fn decode_still(bytes: &[u8]) -> Result<RgbImage, VisionError> {
    let ffmpeg = ffmpeg()?;
    let file = private_copy(bytes, "emerald-still-")?;
    let max_pixels = u64::from(MAX_STILL_DECODED_SIDE) * u64::from(MAX_STILL_DECODED_SIDE);
    let mut args = bounded_run("mov", "hevc,libdav1d", max_pixels);
    args.extend(
        [
            "-f",
            "mov",
            "-i",
            &format!("file:{}", file.path().display()),
            "-an",
            "-frames:v",
            "1",
            // No `-vf`: a grid image comes out of FFmpeg's own tile-stitching filtergraph, which
            // takes no second one; the picture is scaled here instead.
            "-pix_fmt",
            "rgb24",
            "-f",
            "image2pipe",
            "-c:v",
            "ppm",
            "pipe:1",
        ]
        .map(String::from),
    );
    let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
    let (frames, run) = ffmpeg
        .frames_up_to(&args, 1, MAX_STILL_DECODED_SIDE, Duration::from_secs(DECODE_WALL_SECONDS))
        .map_err(|e| VisionError::DecoderMissing(format!("ffmpeg at {} cannot be run: {e}", ffmpeg.path.display())))?;
    drop(file);
    match frames.map(|f| f.into_iter().next()) {
        Ok(Some(photo)) => Ok(crate::scale::fit_rgb(&photo, MAX_STILL_SIDE).unwrap_or(photo)),
        Ok(None) => Err(failure("heif", &run, stats(&run.log))),
        Err(_) if run.timed_out => Err(failure("heif", &run, stats(&run.log))),
        Err(e) => Err(VisionError::Decode(format!("heif: the decoder's output is unreadable: {e}"))),
    }
}

/// The options every decoding run starts with: quiet but for its verbose summary, bounded (CPU
/// time, largest allocation, frame size, threads) and confined to local files, `demuxers` and
/// `decoders` (comma-separated FFmpeg names).
fn bounded_run(demuxers: &str, decoders: &str, max_pixels: u64) -> Vec<String> {
    let mut args: Vec<String> =
        ["-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+verbose"].map(String::from).into();
    args.extend([
        "-timelimit".into(),
        DECODE_CPU_SECONDS.to_string(),
        "-max_alloc".into(),
        DECODE_MAX_ALLOC.to_string(),
        "-protocol_whitelist".into(),
        "file".into(),
        "-format_whitelist".into(),
        demuxers.into(),
        "-codec_whitelist".into(),
        decoders.into(),
        "-threads".into(),
        DECODE_THREADS.to_string(),
        "-max_pixels".into(),
        max_pixels.to_string(),
    ]);
    args
}

/// `bytes` in a private temporary file (removed when dropped), for FFmpeg to read.
fn private_copy(bytes: &[u8], prefix: &str) -> Result<tempfile::NamedTempFile, VisionError> {
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile()
        .map_err(|e| VisionError::Decode(format!("temporary file: {e}")))?;
    file.write_all(bytes)
        .and_then(|_| file.flush())
        .map_err(|e| VisionError::Decode(format!("temporary file: {e}")))?;
    Ok(file)
}

/// One decoding.
#[derive(Clone)]
struct Plan {
    input: std::path::PathBuf,
    demuxer: &'static str,
    /// The decoder for the codec the container names; None lets FFmpeg choose among the allowed.
    decoder: Option<&'static str>,
    /// Seconds from the start.
    window: f64,
    frames: usize,
    /// Clockwise display rotation to apply.
    rotation: u32,
    skip_unreferenced: bool,
}

impl Plan {
    fn args(&self) -> Vec<OsString> {
        let step = self.window / self.frames as f64;
        let mut filters =
            vec![format!("select='gte(t-start_t,{step:.6}*selected_n)+isnan(t)*lt(selected_n,{})'", self.frames)];
        match self.rotation {
            90 => filters.push("transpose=clock".into()),
            180 => filters.push("hflip,vflip".into()),
            270 => filters.push("transpose=cclock".into()),
            _ => {}
        }
        filters.push(format!(
            "scale=w='min(iw,{MAX_FRAME_SIDE})':h='min(ih,{MAX_FRAME_SIDE})':force_original_aspect_ratio=decrease:flags=area"
        ));
        filters.push("format=rgb24".into());
        let allowed: Vec<&str> = DECODERS.iter().map(|(_, d)| *d).collect();
        let mut args = bounded_run(DEMUXERS, &allowed.join(","), MAX_FRAME_PIXELS);
        args.push("-noautorotate".into());
        if self.skip_unreferenced {
            args.extend(["-skip_frame".into(), "noref".into()]);
        }
        if let Some(decoder) = self.decoder {
            args.extend(["-c:v".into(), decoder.into()]);
        }
        args.extend([
            "-f".into(),
            self.demuxer.into(),
            "-t".into(),
            format!("{:.3}", self.window + 0.001),
            "-i".into(),
            format!("file:{}", self.input.display()),
            "-map".into(),
            "0:v:0".into(),
            "-an".into(),
            "-sn".into(),
            "-dn".into(),
            "-vf".into(),
            filters.join(","),
            "-fps_mode".into(),
            "passthrough".into(),
            "-frames:v".into(),
            self.frames.to_string(),
            "-f".into(),
            "image2pipe".into(),
            "-c:v".into(),
            "ppm".into(),
            "pipe:1".into(),
        ]);
        args.into_iter().map(OsString::from).collect()
    }
}

fn decode(ffmpeg: &crate::ffmpeg::Ffmpeg, plan: &Plan, label: &str) -> Result<(Vec<RgbImage>, Run), VisionError> {
    let (frames, run) = ffmpeg
        .frames(&plan.args(), plan.frames, Duration::from_secs(DECODE_WALL_SECONDS))
        .map_err(|e| VisionError::DecoderMissing(format!("ffmpeg at {} cannot be run: {e}", ffmpeg.path.display())))?;
    match frames {
        Ok(frames) => Ok((frames, run)),
        Err(_) if run.timed_out => Ok((Vec::new(), run)),
        Err(e) => Err(VisionError::Decode(format!("{label}: the decoder's output is unreadable: {e}"))),
    }
}

/// What FFmpeg says it did with the video stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Stats {
    decoded: Option<u64>,
    errors: Option<u64>,
}

/// From FFmpeg's verbose summary: `Input stream #0:0 (video): 150 packets read (…); 76 frames
/// decoded; 0 decode errors;`.
fn stats(log: &str) -> Stats {
    let Some(line) = log.lines().find(|l| l.contains("(video):") && l.contains("frames decoded")) else {
        return Stats::default();
    };
    let number_before = |what: &str| {
        line.split(';').find(|part| part.contains(what)).and_then(|part| part.split_whitespace().next()?.parse().ok())
    };
    Stats { decoded: number_before("frames decoded"), errors: number_before("decode errors") }
}

/// The first error FFmpeg logged, without its `[context @ 0x…]` prefixes.
fn first_error(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("[error]") || l.contains("[fatal]"))?;
    let mut text = line.to_owned();
    for tag in ["[error] ", "[fatal] ", "[error]", "[fatal]"] {
        text = text.replace(tag, "");
    }
    // Drop "[h264 @ 0x55d…] " style prefixes.
    while let (Some(open), Some(close)) = (text.find('['), text.find("] ")) {
        if open == 0 && close > open {
            text = text[close + 2..].to_owned();
        } else {
            break;
        }
    }
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(300).collect())
}

fn failure(label: &str, run: &Run, stats: Stats) -> VisionError {
    if run.timed_out {
        return VisionError::TooLarge(format!("{label}: decoding took longer than {DECODE_WALL_SECONDS} s"));
    }
    let reason = first_error(&run.log);
    if let Some(r) = reason.as_deref() {
        if r.contains("not on whitelist") {
            return VisionError::Unsupported(format!("{label}: {r}"));
        }
        if r.contains("CPU time limit") {
            return VisionError::TooLarge(format!("{label}: decoding used more than {DECODE_CPU_SECONDS} s of CPU"));
        }
    }
    let decoded = match (stats.decoded, stats.errors) {
        (Some(d), Some(e)) if e > 0 => format!(" ({d} frames decoded, {e} decode errors)"),
        (Some(d), _) => format!(" ({d} frames decoded)"),
        _ => String::new(),
    };
    VisionError::Decode(format!(
        "{label}: no frame could be decoded{decoded}: {}",
        reason.unwrap_or_else(|| "the stream holds no picture".into())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_gives_the_counts() {
        let log = "[verbose] [in#0/mov @ 0x1]   Input stream #0:0 (video): 150 packets read (4076003 bytes); 76 frames decoded; 2 decode errors; \n";
        assert_eq!(stats(log), Stats { decoded: Some(76), errors: Some(2) });
        assert_eq!(stats("nothing"), Stats::default());
    }

    #[test]
    fn errors_lose_their_addresses() {
        let log = "[verbose] x\n[error] [h264 @ 0x55d1] [dec:h264 @ 0x55d2] Invalid NAL unit size (1234 > 99).\n";
        assert_eq!(first_error(log).as_deref(), Some("Invalid NAL unit size (1234 > 99)."));
        assert_eq!(first_error("[verbose] fine"), None);
    }

    #[test]
    fn the_plan_bounds_the_decoder() {
        let plan = Plan {
            input: "/tmp/x".into(),
            demuxer: "mov",
            decoder: Some("hevc"),
            window: 5.0,
            frames: 8,
            rotation: 90,
            skip_unreferenced: true,
        };
        let args: Vec<String> = plan.args().into_iter().map(|a| a.into_string().unwrap()).collect();
        let joined = args.join(" ");
        for expected in [
            "-protocol_whitelist file",
            "-f mov -t 5.001 -i file:/tmp/x",
            "-c:v hevc",
            "-frames:v 8",
            "-skip_frame noref",
            "-noautorotate",
            "transpose=clock",
            "0.625000*selected_n",
        ] {
            assert!(joined.contains(expected), "{expected} not in {joined}");
        }
    }
}
