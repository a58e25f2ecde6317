//! Videos of every container × codec a client sends, rotated, fragmented, with variable frame
//! rate or odd boxes, and broken ones: the corpus of `scripts/make-test-videos.sh` (run by
//! `scripts/test.sh`). Every good file must give faces; every bad one an error that names the
//! container and codec, never a panic or a hang.

mod common;

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::time::Instant;

use common::engine;
use emerald_vision::{decode_video, probe_video, sniff, thumbnail_jpeg, MediaKind, MediaOptions, VisionError};

/// (file, expected to decode, container, codec) from the corpus MANIFEST.
struct Entry {
    file: String,
    ok: bool,
    container: String,
    codec: String,
}

fn corpus() -> (PathBuf, Vec<Entry>) {
    let dir =
        std::env::var_os("EMERALD_TEST_VIDEOS").filter(|d| !d.is_empty()).map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
            home.join(".cache/emerald/test-videos/current")
        });
    let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap_or_else(|e| {
        panic!("the video corpus is missing at {} ({e})\n=> run scripts/make-test-videos.sh first", dir.display())
    });
    let entries = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Entry { file: f[0].into(), ok: f[1] == "ok", container: f[2].into(), codec: f[3].into() }
        })
        .collect();
    (dir, entries)
}

fn read(dir: &std::path::Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_good_video_gives_a_face_and_every_bad_one_a_reason() {
    let (dir, entries) = corpus();
    assert!(entries.iter().filter(|e| e.ok).count() >= 19, "too few good files in the corpus");
    let opts = MediaOptions { want_best_shot: true, ..MediaOptions::default() };
    for e in &entries {
        let bytes = read(&dir, &e.file);
        assert_eq!(sniff(&bytes), Some(MediaKind::Video), "{}", e.file);
        let started = Instant::now();
        let result = engine().analyze_media(&bytes, &opts);
        let ms = started.elapsed().as_millis();
        if e.ok {
            let report = result.unwrap_or_else(|err| panic!("{}: {err}", e.file));
            println!("{}: {} frames, faces {:?}, {ms} ms", e.file, report.frames_used, report.faces_per_frame);
            // 2 s at 30 fps (fewer frames where the frame rate varies): 8 samples.
            assert!(report.frames_used >= 6, "{}: {} frames", e.file, report.frames_used);
            let with_face = report.faces_per_frame.iter().filter(|&&n| n == 1).count();
            assert!(
                with_face * 4 >= report.frames_used * 3,
                "{}: faces per frame {:?}",
                e.file,
                report.faces_per_frame
            );
            assert!(report.confidence_spoofing.is_some() && report.best_shot_jpeg.is_some(), "{}", e.file);
            let info = probe_video(&bytes).unwrap_or_else(|err| panic!("{}: {err}", e.file));
            assert_eq!((info.container.name(), info.codec.as_deref()), (e.container.as_str(), Some(e.codec.as_str())));
            let (w, h) = info.display_size().expect("size");
            assert_eq!((w, h), (360, 480), "{}: displayed size", e.file);
            assert!((info.duration.expect("duration") - 2.0).abs() < 0.1, "{}: {info:?}", e.file);
            assert!(info.frame_rate.expect("frame rate") > 10.0, "{}: {info:?}", e.file);
        } else {
            let err = result.err().unwrap_or_else(|| panic!("{}: analysed, but it is broken", e.file));
            println!("{}: {err} ({ms} ms)", e.file);
            assert!(
                matches!(err, VisionError::Decode(_) | VisionError::Unsupported(_) | VisionError::TooLarge(_)),
                "{}: {err:?}",
                e.file
            );
            // The reason names the container (and the codec when the container names one).
            let text = err.to_string();
            assert!(text.contains(&e.container), "{}: {text}", e.file);
            if e.codec != "-" {
                assert!(text.contains(&e.codec), "{}: {text}", e.file);
            }
        }
    }
}

#[test]
fn rotation_metadata_turns_frames_upright() {
    let (dir, _) = corpus();
    for file in ["h264_rotate90.mp4", "h264_rotate270.mov", "hevc_iphone_rotate90.mov"] {
        let bytes = read(&dir, file);
        let info = probe_video(&bytes).unwrap();
        // Stored sideways (480×360), shown upright (360×480).
        assert_eq!((info.width, info.height), (Some(480), Some(360)), "{file}");
        assert!(info.rotation == 90 || info.rotation == 270, "{file}: {}", info.rotation);
        let video = decode_video(&bytes, 4).unwrap();
        assert!(video.frames.iter().all(|f| f.dimensions() == (360, 480)), "{file}: not turned upright");
        let faces = engine().faces_in_image(&video.frames[0]).unwrap();
        assert_eq!(faces.len(), 1, "{file}: the upright frame shows one face");
        // Eyes above the mouth: the face is upright, not upside down.
        let l = faces[0].landmarks;
        assert!(l[0][1] < l[3][1] && l[1][1] < l[4][1], "{file}: landmarks {l:?}");
    }
}

#[test]
fn frames_are_spread_over_the_video_and_few_are_decoded() {
    let (dir, _) = corpus();
    let bytes = read(&dir, "h264_main_moov_at_end.mp4");
    let video = decode_video(&bytes, 8).unwrap();
    assert_eq!(video.frames.len(), 8);
    // The samples span the video: the last one is in its last quarter.
    assert!(video.times.last().copied().unwrap() > 1.5, "{:?}", video.times);
    // Frames no other frame refers to (here, x264's B-frames) are skipped, not decoded.
    let decoded = video.frames_decoded.expect("the decoder's count");
    assert!(decoded < 60, "{decoded} of 60 frames decoded");
    assert!(decoded >= 8);
    // A one-frame request (thumbnails) stops at the first frame.
    let first = decode_video(&bytes, 1).unwrap();
    assert_eq!(first.frames.len(), 1);
    assert!(first.frames_decoded.unwrap() <= 8, "{:?}", first.frames_decoded);
    let thumb = image::load_from_memory(&thumbnail_jpeg(&bytes, 64).unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (48, 64));
}

#[test]
fn a_zipped_video_is_a_shots_set() {
    let (dir, _) = corpus();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("recording.webm", zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(&read(&dir, "vp8_opus_mediarecorder.webm")).unwrap();
    let zip = w.finish().unwrap().into_inner();
    assert_eq!(sniff(&zip), Some(MediaKind::ShotsSet));
    let report = engine().analyze_media(&zip, &MediaOptions::default()).unwrap();
    assert_eq!(report.kind, MediaKind::ShotsSet);
    assert_eq!(report.frames_used, 8);
    assert!(report.require_face().is_ok());
    // A broken video inside a ZIP is named with its entry.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("clip.mp4", zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(&read(&dir, "cut_media_data.mp4")).unwrap();
    let zip = w.finish().unwrap().into_inner();
    let err = engine().analyze_media(&zip, &MediaOptions::default()).unwrap_err().to_string();
    assert!(err.contains("clip.mp4") && err.contains("cut short"), "{err}");
}

#[test]
fn mangled_videos_fail_cleanly() {
    let (dir, _) = corpus();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let started = Instant::now();
    let mut outcomes = [0usize; 2];
    for file in ["h264_baseline_faststart.mp4", "vp8_opus_mediarecorder.webm", "hevc_iphone_rotate90.mov"] {
        let good = read(&dir, file);
        for _ in 0..8 {
            let mut m = good.clone();
            // Bytes overwritten in the headers (the first 4 KB) and in the media data.
            for _ in 0..1 + next() % 16 {
                let range = if next() % 2 == 0 { 4096.min(m.len()) } else { m.len() };
                let at = (next() % range as u64) as usize;
                m[at] = next() as u8;
            }
            match decode_video(&m, 4) {
                Ok(v) => {
                    assert!(!v.frames.is_empty() && v.frames.len() <= 4);
                    outcomes[0] += 1;
                }
                Err(VisionError::Decode(_) | VisionError::Unsupported(_) | VisionError::TooLarge(_)) => {
                    outcomes[1] += 1
                }
                Err(other) => panic!("{file}: {other:?}"),
            }
        }
    }
    println!("mangled videos: {} decoded, {} refused, in {:?}", outcomes[0], outcomes[1], started.elapsed());
}

#[test]
fn videos_from_faces_dev_all_decode() {
    let Some(root) = common::faces_dev("videos_from_faces_dev_all_decode") else {
        println!("SKIPPED: videos_from_faces_dev_all_decode (faces-dev is not present)");
        return;
    };
    let videos = root.join("videos");
    let labels = std::fs::read_to_string(videos.join("labels.csv")).expect("labels.csv");
    let mut decoded = 0;
    for line in labels.lines().skip(1) {
        let path = line.split(',').next().expect("path");
        let bytes = std::fs::read(videos.join(path)).expect("video");
        let info = probe_video(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        let opts = MediaOptions { max_frames: 6, want_best_shot: true, ..MediaOptions::default() };
        let report = engine().analyze_media(&bytes, &opts).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!(
            "{path} ({}, {:.1} s): frames {} faces {:?} spoof {:?}",
            info.label(),
            info.duration.unwrap_or(0.0),
            report.frames_used,
            report.faces_per_frame,
            report.confidence_spoofing
        );
        assert_eq!(report.frames_used, 6, "{path}");
        assert!(report.require_face().is_ok(), "{path}: no face in any frame");
        decoded += 1;
    }
    assert_eq!(decoded, labels.lines().count() - 1);
}

/// The upload probe reads only headers: a fraction of a millisecond a file, whatever its size
/// (for the containers walked in Rust; MPEG, Ogg and ASF headers are read by an FFmpeg process).
#[test]
fn probing_the_container_is_cheap() {
    let (dir, entries) = corpus();
    let mut worst = (0.0f64, String::new());
    let by_ffmpeg = ["mpeg", "mpegts", "ogg", "asf"];
    for e in entries.iter().filter(|e| e.ok && !by_ffmpeg.contains(&e.container.as_str())) {
        let path = dir.join(&e.file);
        let started = Instant::now();
        for _ in 0..20 {
            let mut f = std::fs::File::open(&path).unwrap();
            emerald_vision::probe_video_reader(&mut f).unwrap();
        }
        let ms = started.elapsed().as_secs_f64() * 1e3 / 20.0;
        if ms > worst.0 {
            worst = (ms, e.file.clone());
        }
    }
    println!("slowest container probe: {} in {:.3} ms", worst.1, worst.0);
    assert!(worst.0 < 20.0, "{} took {:.1} ms", worst.1, worst.0);
}

/// Photos as iPhones (HEIF, a grid of 512 × 512 tiles) and recent Android phones (AVIF) store
/// them: images, not videos; decoded whole (the tiles stitched), with the face found.
#[test]
fn heif_and_avif_photos_decode_whole() {
    let (dir, _) = corpus();
    let original = image::load_from_memory(&common::image_bytes("obama.jpg")).unwrap();
    let (w, h) = (original.width(), original.height());
    let reference = engine().faces_in_image(&original.to_rgb8()).unwrap()[0].bbox;
    // `turned*.heic` are stored sideways with an `irot` that rights them and an EXIF orientation
    // saying the same: they must come out upright (`faces_in_image` does not look for turnings).
    let files = [
        ("stills/single.heic", 1),
        ("stills/tiled.heic", 3),
        ("stills/turned.heic", 1),
        ("stills/turned-tiled.heic", 3),
        ("stills/photo.avif", 1),
    ];
    for (file, scale) in files {
        let bytes = read(&dir, file);
        assert_eq!(sniff(&bytes), Some(MediaKind::Image), "{file}");
        let photo = emerald_vision::decode_image(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Whole: the size of what was encoded (an encoder may round an odd side to even).
        let (pw, ph) = photo.dimensions();
        assert!(
            pw.abs_diff(w * scale) <= 1 && ph.abs_diff(h * scale) <= 1,
            "{file}: {pw}×{ph}, not {}×{}",
            w * scale,
            h * scale
        );
        let faces = engine().faces_in_image(&photo).unwrap();
        assert_eq!(faces.len(), 1, "{file}");
        // The face is where it is in the original, at the same relative size (a lone tile, or a
        // turned picture, would put it elsewhere).
        let (b, r) = (faces[0].bbox, reference);
        let rel = |v: f32, side: u32| v / side as f32;
        let off = [
            rel(b.x, pw) - rel(r.x, w),
            rel(b.y, ph) - rel(r.y, h),
            rel(b.w, pw) - rel(r.w, w),
            rel(b.h, ph) - rel(r.h, h),
        ];
        assert!(off.iter().all(|d| d.abs() < 0.02), "{file}: face {b:?} in {pw}×{ph}, {r:?} in {w}×{h}");
        let thumb = image::load_from_memory(&thumbnail_jpeg(&bytes, 64).unwrap()).unwrap();
        assert_eq!(thumb.height(), 64, "{file}");
    }
    // Cut short: an error, not a panic or a grey picture.
    let cut = read(&dir, "stills/tiled.heic");
    let err = emerald_vision::decode_image(&cut[..cut.len() / 3]).unwrap_err();
    assert!(matches!(err, VisionError::Decode(_)), "{err:?}");
}
