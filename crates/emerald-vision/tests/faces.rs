//! The engine on real faces from registry packages (see scripts/fetch-test-images.sh).

mod common;

use common::{engine, image_bytes};
use emerald_vision::{
    decode_image, similarity_to_confidence, sniff, thumbnail_jpeg, MediaKind, MediaOptions, VisionError,
    OZ_DEFAULT_THRESHOLD,
};
use image::{DynamicImage, RgbImage};

fn main_face_embedding(name: &str) -> emerald_vision::Embedding {
    let faces = engine().faces_in_bytes(&image_bytes(name)).expect("analysis");
    assert!(!faces.is_empty(), "{name}: no face found");
    faces[0].embedding.clone()
}

#[test]
fn same_person_scores_above_the_threshold_and_different_people_below() {
    let obama = main_face_embedding("obama.jpg");
    for other in ["obama2.jpg", "obama3.jpg"] {
        let e = main_face_embedding(other);
        let conf = obama.confidence(&e).expect("same model");
        assert!(conf >= OZ_DEFAULT_THRESHOLD, "obama.jpg vs {other}: confidence {conf}");
    }
    let biden = main_face_embedding("biden.jpg");
    let conf = obama.confidence(&biden).expect("same model");
    assert!(conf < OZ_DEFAULT_THRESHOLD, "obama vs biden: confidence {conf}");
    assert_eq!(obama.vector.len(), 512);
    let norm: f32 = obama.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "embedding norm {norm}");
    assert_eq!(obama.model_id, engine().model_ids().embedder);
}

#[test]
fn every_face_in_a_group_photo_is_found() {
    // Counted by eye: sample4.jpg shows 4 people, sample5.jpg 5, all faces visible.
    for (name, people) in [("sample4.jpg", 4), ("sample5.jpg", 5)] {
        let faces = engine().faces_in_bytes(&image_bytes(name)).expect("analysis");
        assert_eq!(faces.len(), people, "{name}: {faces:#?}");
        // Different people: no two faces of the photo match.
        for (i, a) in faces.iter().enumerate() {
            for b in &faces[i + 1..] {
                let conf = a.embedding.confidence(&b.embedding).expect("same model");
                assert!(conf < OZ_DEFAULT_THRESHOLD, "{name}: two faces match ({conf})");
            }
        }
    }
}

/// A JPEG of `img` with an EXIF APP1 segment carrying `orientation`.
fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let jpeg = emerald_vision::encode_jpeg(img).expect("encode");
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // big-endian TIFF, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn an_exif_rotated_photo_is_turned_upright() {
    let upright = decode_image(&image_bytes("obama.jpg")).expect("decode");
    // Store the pixels turned 90° anticlockwise; orientation 6 says "turn 90° clockwise to view".
    let stored = DynamicImage::ImageRgb8(upright.clone()).rotate270().into_rgb8();
    let bytes = jpeg_with_orientation(&stored, 6);
    let decoded = decode_image(&bytes).expect("decode rotated");
    assert_eq!(decoded.dimensions(), upright.dimensions(), "orientation not applied");
    let faces = engine().faces_in_image(&decoded).expect("analysis");
    assert_eq!(faces.len(), 1);
    let reference = main_face_embedding("obama.jpg");
    let cos = faces[0].embedding.cosine(&reference).expect("same model");
    assert!(cos > 0.9, "rotated photo embeds differently: cosine {cos}");
    // The upright face has level eyes.
    assert!(faces[0].quality.roll_deg.abs() < 15.0, "roll {}", faces[0].quality.roll_deg);
}

/// A real photo without a face: the flag in the top-left corner of 32bit.png.
fn no_face_photo() -> Vec<u8> {
    let img = decode_image(&image_bytes("32bit.png")).expect("decode");
    let corner = image::imageops::crop_imm(&img, 0, 0, 330, 330).to_image();
    emerald_vision::encode_jpeg(&corner).expect("encode")
}

#[test]
fn a_photo_without_a_face_says_no_face() {
    let bytes = no_face_photo();
    assert!(engine().faces_in_bytes(&bytes).expect("analysis").is_empty());
    let report = engine().analyze_media(&bytes, &MediaOptions::default()).expect("analysis");
    assert_eq!(report.kind, MediaKind::Image);
    assert!(report.best_face.is_none());
    assert_eq!(report.confidence_spoofing, None);
    assert!(matches!(report.require_face(), Err(VisionError::NoFace)));
}

#[test]
fn a_live_photo_analyses_to_a_low_spoof_score_and_a_best_shot() {
    let opts = MediaOptions { want_best_shot: true, ..MediaOptions::default() };
    let report = engine().analyze_media(&image_bytes("obama.jpg"), &opts).expect("analysis");
    assert_eq!(report.frames_used, 1);
    let face = report.require_face().expect("face");
    assert!(face.quality.face_size > 100.0);
    let spoof = report.confidence_spoofing.expect("a face has a spoof score");
    assert!(spoof < 0.5, "live press photo scored as attack: {spoof}");
    let shot = report.best_shot_jpeg.expect("best shot");
    assert_eq!(sniff(&shot), Some(MediaKind::Image));
}

#[test]
fn png_with_alpha_and_thumbnails_work() {
    let png = image_bytes("32bit.png");
    assert_eq!(sniff(&png), Some(MediaKind::Image));
    assert_eq!(engine().faces_in_bytes(&png).expect("analysis").len(), 1);
    let thumb = thumbnail_jpeg(&png, 128).expect("thumbnail");
    let t = decode_image(&thumb).expect("decode thumbnail");
    assert!(t.width().max(t.height()) <= 128);
}

#[test]
fn calibration_is_monotonic_through_the_oz_threshold() {
    assert!((similarity_to_confidence(emerald_vision::MATCH_COSINE) - 0.85).abs() < 1e-5);
    assert!(similarity_to_confidence(0.9) > similarity_to_confidence(0.5));
}
