//! Fidelity: the Rust pipeline (tract, our decoding, detection, alignment, embedding) must
//! reproduce a reference run of the same models with onnxruntime (PyPI), produced once by
//! `scripts/reference_embeddings.py` and committed as vectors only
//! (`tests/fixtures/reference_embeddings.txt`).

mod common;

use common::{engine, image_bytes, reference_embeddings};
use emerald_vision::cosine;

/// Minimum cosine between our embedding and the reference one.
const MIN_COSINE: f32 = 0.99;

#[test]
fn embeddings_match_the_onnxruntime_reference() {
    let mut checked = 0;
    for (name, reference) in reference_embeddings() {
        assert_eq!(reference.len(), 512, "{name}");
        let faces = engine().faces_in_bytes(&image_bytes(name)).expect("analysis");
        let main = faces.first().unwrap_or_else(|| panic!("{name}: no face"));
        let cos = cosine(&main.embedding.vector, &reference).expect("same length");
        println!("{name}: cosine to reference {cos:.5}");
        assert!(cos >= MIN_COSINE, "{name}: cosine to the onnxruntime reference is {cos}");
        checked += 1;
    }
    assert!(checked >= 4, "fixture holds only {checked} vectors");
}
