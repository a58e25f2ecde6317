//! PP-OCRv4 on real model output: the detector's boxes and the recogniser's CTC decoding over
//! the visual zone of synthetic documents (`scripts/make-test-documents.sh`), with the models of
//! `scripts/fetch-models.sh`. Without the corpus or the models a test prints SKIPPED.

use std::path::PathBuf;

use emerald_documents::ppocr::{crop_line, reading_order, PpOcr, REC_H};
use emerald_documents::{read_mrz, visual};

fn corpus_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("EMERALD_TEST_DOCUMENTS_DIR").filter(|d| !d.is_empty()) {
        return d.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    cache.join("emerald/test-documents/v2")
}

/// The models and the corpus manifest, or None (SKIPPED printed).
fn setup(test: &str) -> Option<(PpOcr, Vec<serde_json::Value>)> {
    let ocr = match PpOcr::load(&emerald_vision::default_models_dir()) {
        Ok(o) => o,
        Err(why) => {
            println!("SKIPPED {test}: {why}");
            return None;
        }
    };
    let dir = corpus_dir();
    let Ok(m) = std::fs::read_to_string(dir.join("manifest.json")) else {
        println!("SKIPPED {test}: no corpus in {}; run scripts/make-test-documents.sh", dir.display());
        return None;
    };
    Some((ocr, serde_json::from_str(&m).unwrap()))
}

/// The visual zone of a corpus document, as DOCUMENTS cuts it (no portrait blanked).
fn zone_of(doc: &serde_json::Value) -> image::GrayImage {
    let bytes = std::fs::read(corpus_dir().join(doc["file"].as_str().unwrap())).unwrap();
    let reading = read_mrz(&bytes).unwrap();
    visual::zone_scaled(&reading.upright, reading.mrz_box, None, false).expect("a zone above the MRZ")
}

#[test]
fn missing_models_name_the_file_and_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let why = PpOcr::load(dir.path()).unwrap_err();
    assert!(why.contains("ch_PP-OCRv4_det_infer.onnx") && why.contains("scripts/fetch-models.sh"), "{why}");
}

#[test]
fn detector_boxes_are_the_printed_lines() {
    let Some((ocr, docs)) = setup("detector_boxes_are_the_printed_lines") else { return };
    for variant in ["flat", "tilt", "perspective"] {
        let doc = docs.iter().find(|d| d["variant"] == variant && d["format"] == "TD3").unwrap();
        let zone = zone_of(doc);
        let boxes = reading_order(ocr.detect(&zone).unwrap());
        // A title, seven labels and seven values, and the portrait's debris at most a few more.
        assert!((15..=24).contains(&boxes.len()), "{variant}: {} boxes", boxes.len());
        for b in &boxes {
            // Level within the tilt the corpus applies (±6°) and a perspective's slant.
            assert!(b.uy.atan2(b.ux).to_degrees().abs() < 10.0, "{variant}: {b:?}");
            assert!(b.half_h > 3.0 && b.score >= 0.5, "{variant}: {b:?}");
            let strip = crop_line(&zone, b);
            assert_eq!(strip.height() as usize, REC_H);
        }
        // Reading order: top to bottom.
        let tops: Vec<f32> = boxes.iter().map(|b| b.cy).collect();
        assert!(tops.windows(2).all(|w| w[1] > w[0] - 20.0), "{variant}: {tops:?}");
    }
}

#[test]
fn recogniser_reads_labels_and_values() {
    let Some((ocr, docs)) = setup("recogniser_reads_labels_and_values") else { return };
    for variant in ["flat", "blur", "noise"] {
        let doc = docs.iter().find(|d| d["variant"] == variant && d["valid"] == true).unwrap();
        let zone = zone_of(doc);
        let lines = ocr.read_lines(&zone).unwrap();
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        let surname = doc["visual"]["surname"].as_str().unwrap();
        let number = doc["visual"]["document_number"].as_str().unwrap();
        // The labels and values read with a high confidence (one slip of a character allowed,
        // as DOCUMENTS allows it).
        for (want, field) in [("Surname", "surname"), (surname, "surname"), (number, "document_number")] {
            let line = lines
                .iter()
                .find(|l| visual::compare(field, &l.text.to_uppercase(), &want.to_uppercase()))
                .unwrap_or_else(|| panic!("{variant}: {want} not in {texts:?}"));
            assert!(line.confidence > 0.8, "{variant}: {line:?}");
        }
        // The field parser finds the same values in the filtered lines.
        let fields = visual::parse(&ocr.read(&zone).unwrap());
        assert!(visual::compare("surname", fields.get("surname").unwrap_or(""), surname), "{variant}: {texts:?}");
        assert!(
            visual::compare("document_number", fields.get("document_number").unwrap_or(""), number),
            "{variant}: {texts:?}"
        );
    }
}
