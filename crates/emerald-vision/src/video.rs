//! Videos: MP4/MOV with H.264, demuxed by `mp4` and decoded by `openh264`. Frames are sampled
//! evenly over at most the first `MAX_VIDEO_SECONDS`, and only the sampled frames are kept, so
//! memory stays bounded whatever the video's length.

use std::io::Cursor;

use image::RgbImage;
use mp4::{MediaType, Mp4Reader, TrackType};
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use crate::decode::{sniff_video, VideoContainer};
use crate::error::VisionError;
use crate::shots::pick_evenly;

/// Only this much of a video (from its start) is analysed.
pub const MAX_VIDEO_SECONDS: f64 = 6.0;
/// Largest accepted frame, in pixels (4K UHD).
pub const MAX_FRAME_PIXELS: u64 = 3840 * 2160;
/// Most samples demuxed, whatever the frame rate.
pub const MAX_SAMPLES: u32 = 1_000;

/// Sampled frames of a video.
pub struct DecodedVideo {
    pub frames: Vec<RgbImage>,
    /// Presentation time of each kept frame, in seconds (approximate).
    pub times: Vec<f32>,
}

/// Decode up to `max_frames` frames spread evenly over the first `MAX_VIDEO_SECONDS`.
pub fn decode_video(bytes: &[u8], max_frames: usize) -> Result<DecodedVideo, VisionError> {
    match sniff_video(bytes) {
        Some(VideoContainer::IsoBmff) => {}
        Some(VideoContainer::Matroska) => {
            return Err(VisionError::Unsupported(
                "WebM/Matroska video (VP8/VP9) is not supported; send MP4 or MOV with H.264".into(),
            ))
        }
        Some(VideoContainer::Avi) | None => {
            return Err(VisionError::Unsupported("unknown video container; send MP4 or MOV with H.264".into()))
        }
    }
    let mut mp4 = Mp4Reader::read_header(Cursor::new(bytes), bytes.len() as u64)
        .map_err(|e| VisionError::Decode(format!("mp4: {e}")))?;
    let track = mp4
        .tracks()
        .values()
        .find(|t| matches!(t.track_type(), Ok(TrackType::Video)))
        .ok_or_else(|| VisionError::Decode("mp4 has no video track".into()))?;
    match track.media_type() {
        Ok(MediaType::H264) => {}
        Ok(other) => return Err(VisionError::Unsupported(format!("{other} video; only H.264 is supported"))),
        Err(_) => {
            let fourcc = track.box_type().map(|b| b.to_string()).unwrap_or_else(|_| "unknown".into());
            return Err(VisionError::Unsupported(format!("{fourcc} video; only H.264 is supported")));
        }
    }
    let pixels = u64::from(track.width()) * u64::from(track.height());
    if pixels > MAX_FRAME_PIXELS {
        return Err(VisionError::TooLarge(format!("{}×{} video frames", track.width(), track.height())));
    }
    let track_id = track.track_id();
    let timescale = f64::from(track.timescale().max(1));
    let sps = track.sequence_parameter_set().map_err(|e| VisionError::Decode(format!("mp4 sps: {e}")))?.to_vec();
    let pps = track.picture_parameter_set().map_err(|e| VisionError::Decode(format!("mp4 pps: {e}")))?.to_vec();
    let sample_count = track.sample_count().min(MAX_SAMPLES);

    // Read the samples inside the window first (cheap: they are slices of `bytes`).
    let mut samples = Vec::new();
    for id in 1..=sample_count {
        let Some(sample) = mp4.read_sample(track_id, id).map_err(|e| VisionError::Decode(format!("mp4: {e}")))? else {
            break;
        };
        if sample.start_time as f64 / timescale > MAX_VIDEO_SECONDS {
            break;
        }
        samples.push(sample);
    }
    if samples.is_empty() {
        return Err(VisionError::Decode("video has no frames".into()));
    }
    let frame_dt = samples.iter().map(|s| s.duration as f64).sum::<f64>() / samples.len() as f64 / timescale;
    let wanted = pick_evenly(samples.len(), max_frames.max(1));

    let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    let mut decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| VisionError::Decode(format!("h264 decoder: {e}")))?;
    let mut out = DecodedVideo { frames: Vec::new(), times: Vec::new() };
    let mut output_index = 0usize;
    let mut keep = |yuv: &DecodedYUV<'_>, out: &mut DecodedVideo| {
        if wanted.binary_search(&output_index).is_ok() {
            if let Some(img) = yuv_to_rgb(yuv) {
                out.frames.push(img);
                out.times.push((output_index as f64 * frame_dt) as f32);
            }
        }
        output_index += 1;
    };
    let mut packet = Vec::new();
    let mut errors = 0usize;
    for sample in &samples {
        packet.clear();
        if sample.is_sync {
            for ps in [&sps, &pps] {
                packet.extend_from_slice(&[0, 0, 0, 1]);
                packet.extend_from_slice(ps);
            }
        }
        avcc_to_annexb(&sample.bytes, &mut packet)?;
        match decoder.decode(&packet) {
            Ok(Some(yuv)) => keep(&yuv, &mut out),
            Ok(None) => {}
            Err(_) => errors += 1,
        }
    }
    if let Ok(rest) = decoder.flush_remaining() {
        for yuv in &rest {
            keep(yuv, &mut out);
        }
    }
    if out.frames.is_empty() {
        return Err(VisionError::Decode(format!("no H.264 frame could be decoded ({errors} errors)")));
    }
    Ok(out)
}

/// Replace the 4-byte big-endian NAL lengths of an MP4 sample by Annex-B start codes.
fn avcc_to_annexb(sample: &[u8], out: &mut Vec<u8>) -> Result<(), VisionError> {
    let mut rest = sample;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let nal = rest.get(4..4 + len).ok_or_else(|| VisionError::Decode("truncated H.264 NAL unit".into()))?;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        rest = &rest[4 + len..];
    }
    Ok(())
}

fn yuv_to_rgb(yuv: &DecodedYUV<'_>) -> Option<RgbImage> {
    let (w, h) = yuv.dimensions();
    let mut buf = vec![0u8; w * h * 3];
    yuv.write_rgb8(&mut buf);
    RgbImage::from_raw(w as u32, h as u32, buf)
}
