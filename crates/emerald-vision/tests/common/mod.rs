//! Shared test helpers: the engine (loaded once), the cached test images, faces-dev.
//! Missing models or images FAIL the test with the script to run; only faces-dev (internal
//! data, not always present) is skipped, with a printed "skipped: …" line.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use emerald_vision::Engine;

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = Engine::default_models_dir();
        Engine::load(&dir).unwrap_or_else(|e| {
            panic!("cannot load the face models from {}: {e}\n=> run scripts/fetch-models.sh first", dir.display())
        })
    })
}

pub fn test_images_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("EMERALD_TEST_IMAGES_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache/emerald/test-images")
}

/// The bytes of a cached test image; panics naming the fetch script when absent.
pub fn image_bytes(name: &str) -> Vec<u8> {
    let path = test_images_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("test image {} is missing ({e})\n=> run scripts/fetch-test-images.sh first", path.display())
    })
}

/// `EMERALD_FACES_DEV`, else `../shared/data/faces-dev` relative to the workspace root;
/// `None` (and a printed "skipped: …" line) when absent.
pub fn faces_dev(test: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("EMERALD_FACES_DEV")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/faces-dev"));
    if candidate.join("pairs.csv").is_file() {
        Some(candidate)
    } else {
        println!("skipped: {test}: faces-dev not found at {} (set EMERALD_FACES_DEV)", candidate.display());
        None
    }
}

/// The reference embeddings of `fixtures/reference_embeddings.txt` (an onnxruntime run made by
/// `scripts/reference_embeddings.py`): (image name, 512-d vector), in file order.
pub fn reference_embeddings() -> Vec<(&'static str, Vec<f32>)> {
    include_str!("../fixtures/reference_embeddings.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next().expect("name");
            (name, fields.map(|x| x.parse().expect("float")).collect())
        })
        .collect()
}
