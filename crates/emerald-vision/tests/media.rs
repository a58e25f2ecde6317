//! Shots sets (ZIP), best shot and gesture checks, and the limits that keep hostile media out.
//! Videos of every container and codec: `tests/video.rs`.

mod common;

use std::io::{Cursor, Write};

use common::{engine, faces_dev, image_bytes};
use emerald_vision::{decode_shots, sniff, thumbnail_jpeg, Gesture, MediaKind, MediaOptions, VisionError};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

#[test]
fn a_shots_set_is_read_in_name_order_and_gives_a_best_shot() {
    // Names out of order on purpose; biden sorts first.
    let zip = zip_of(&[
        ("2.jpg", image_bytes("obama2.jpg")),
        ("1.jpg", image_bytes("biden.jpg")),
        ("notes.txt", b"not an image".to_vec()),
        ("3.jpg", image_bytes("obama.jpg")),
    ]);
    assert_eq!(sniff(&zip), Some(MediaKind::ShotsSet));
    let frames = decode_shots(&zip, 10).expect("shots");
    assert_eq!(frames.len(), 3);
    let biden = emerald_vision::decode_image(&image_bytes("biden.jpg")).expect("decode");
    assert_eq!(frames[0].dimensions(), biden.dimensions(), "frames not in name order");

    let opts = MediaOptions { want_best_shot: true, ..MediaOptions::default() };
    let report = engine().analyze_media(&zip, &opts).expect("analysis");
    assert_eq!(report.kind, MediaKind::ShotsSet);
    assert_eq!(report.frames_used, 3);
    assert_eq!(report.faces_per_frame, vec![1, 1, 1]);
    assert!(report.require_face().is_ok());
    assert!(report.best_shot_jpeg.is_some());
    assert!(thumbnail_jpeg(&zip, 64).is_ok());
}

#[test]
fn zip_bombs_and_oversized_sets_are_rejected() {
    // 40 MB of zeros deflates to a few tens of KB.
    let bomb = zip_of(&[("a.jpg", vec![0u8; 40 << 20])]);
    assert!(bomb.len() < 1 << 20);
    assert!(matches!(decode_shots(&bomb, 4), Err(VisionError::TooLarge(_))), "bomb not rejected");
    let many: Vec<(String, Vec<u8>)> = (0..150).map(|i| (format!("{i:03}.jpg"), vec![1u8; 10])).collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    assert!(matches!(decode_shots(&zip_of(&many), 4), Err(VisionError::TooLarge(_))));
    let empty = zip_of(&[("readme.txt", b"hello".to_vec())]);
    assert!(matches!(decode_shots(&empty, 4), Err(VisionError::Decode(_))));
}

#[test]
fn unknown_bytes_are_unsupported() {
    assert!(matches!(
        engine().analyze_media(b"definitely not media", &MediaOptions::default()),
        Err(VisionError::Unsupported(_))
    ));
}

#[test]
fn a_requested_gesture_is_checked_on_a_video() {
    let Some(root) = faces_dev("a_requested_gesture_is_checked_on_a_video") else { return };
    let bytes = std::fs::read(root.join("videos/live/les_live.mp4")).expect("video");
    let opts = MediaOptions {
        tags: vec!["video_selfie_left".into()],
        max_frames: 8,
        want_best_shot: false,
        ..MediaOptions::default()
    };
    let report = engine().analyze_media(&bytes, &opts).expect("analysis");
    let check = report.gesture.clone().expect("gesture check");
    assert_eq!(check.gesture, Gesture::TurnLeft);
    assert!(check.frames >= 2);
    println!("les_live.mp4 turn: evidence {:.3} (threshold {:.3})", check.evidence, check.threshold);
    // Whatever the outcome, a missing gesture must show as an attack signal.
    let spoof = report.confidence_spoofing.expect("spoof score");
    if !check.performed {
        assert!(spoof >= 0.9, "missing gesture not reported as attack: {spoof}");
    }
}
