//! The onnxruntime backend (feature `ort`), forced with `EMERALD_RUNTIME=ort` in this test
//! process (its own binary, so the setting cannot leak into other tests): it must load the
//! PyPI wheel's library and reproduce the golden reference embeddings like tract does.
//! Skipped, saying so, when the library is not provisioned.

#![cfg(feature = "ort")]

mod common;

use common::{image_bytes, reference_embeddings};
use emerald_vision::{cosine, decode_image, EmbedderChoice, Engine};

#[test]
fn onnxruntime_backend_reproduces_the_reference() {
    let lib_dir = Engine::default_models_dir().join("onnxruntime");
    let provisioned = std::env::var_os("EMERALD_ONNXRUNTIME_LIB").is_some()
        || std::fs::read_dir(&lib_dir).map(|mut d| d.next().is_some()).unwrap_or(false);
    if !provisioned {
        println!("SKIPPED: no libonnxruntime in {} (scripts/fetch-models.sh fetches it)", lib_dir.display());
        return;
    }
    // Safe: set before any thread of this test binary reads the environment.
    std::env::set_var("EMERALD_RUNTIME", "ort");
    // The reference holds fr_feature vectors of the largest face.
    let engine =
        Engine::load_with(&Engine::default_models_dir(), EmbedderChoice::FrFeature).expect("engine on onnxruntime");
    let mut checked = 0;
    for (name, reference) in reference_embeddings() {
        let faces = engine.faces_in_image(&decode_image(&image_bytes(name)).expect("decode")).expect("analysis");
        let main = faces
            .iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .unwrap_or_else(|| panic!("{name}: no face"));
        let cos = cosine(&main.embedding.vector, &reference).expect("same length");
        assert!(cos >= 0.99, "{name}: onnxruntime embedding vs reference cosine {cos}");
        checked += 1;
    }
    assert!(checked >= 4);
}
