//! Fidelity: the Rust pipeline (tract, our decoding, detection, alignment, embedding) must
//! reproduce a reference run of the same models with onnxruntime (PyPI), produced once by
//! `scripts/reference_embeddings.py` and committed as vectors only
//! (`tests/fixtures/reference_embeddings.txt`).

mod common;

use common::{engine, image_bytes, reference_embeddings};
use emerald_vision::{cosine, decode_image, Engine, FaceEmbedder, OnnxEmbedder, FR_FEATURE};

/// Minimum cosine between our embedding and the reference one.
const MIN_COSINE: f32 = 0.99;

#[test]
fn embeddings_match_the_onnxruntime_reference() {
    // The reference holds fr_feature vectors: embed the engine's aligned crop of the main face
    // with fr_feature alone (the engine's default embedder fuses it with another model).
    let fr_feature = OnnxEmbedder::load_model(&Engine::default_models_dir(), &FR_FEATURE).expect("fr_feature");
    let mut checked = 0;
    for (name, reference) in reference_embeddings() {
        assert_eq!(reference.len(), 512, "{name}");
        let image = decode_image(&image_bytes(name)).expect("decode");
        let faces = engine().faces_in_image(&image).expect("analysis");
        // The reference script embeds the largest face (this test checks the arithmetic of
        // decoding, alignment and inference, not which face the engine picks).
        let main = faces
            .iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .unwrap_or_else(|| panic!("{name}: no face"));
        let vector = fr_feature.embed(&engine().align(&image, &main.landmarks)).expect("embed");
        let cos = cosine(&vector, &reference).expect("same length");
        println!("{name}: cosine to reference {cos:.5}");
        assert!(cos >= MIN_COSINE, "{name}: cosine to the onnxruntime reference is {cos}");
        checked += 1;
    }
    assert!(checked >= 4, "fixture holds only {checked} vectors");
}
