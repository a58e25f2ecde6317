//! The engine's one error type. HTTP-free: the server maps it to Oz error codes in one place.

use std::path::PathBuf;

/// Everything that can go wrong inside the face engine.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// A model file is absent or its sha256 does not match; `hint` says how to fetch it.
    #[error("face model {file} is missing or corrupt: {reason}; {hint}")]
    ModelMissing { file: PathBuf, reason: String, hint: String },
    /// The media decoded fine but no face was found in it.
    #[error("no face found")]
    NoFace,
    /// The bytes are not a valid image, shot set or video.
    #[error("cannot decode media: {0}")]
    Decode(String),
    /// A recognised but unsupported format or codec (e.g. WebM/VP8).
    #[error("unsupported media: {0}")]
    Unsupported(String),
    /// The media exceeds a limit (pixels, frames, decompressed size, decoding time).
    #[error("media too large: {0}")]
    TooLarge(String),
    /// Videos cannot be decoded on this server: the reason and how to get a decoder.
    #[error("video decoding is not available: {0}")]
    DecoderMissing(String),
    /// The inference runtime failed on a model.
    #[error("inference failed: {0}")]
    Inference(String),
}

impl VisionError {
    pub(crate) fn inference(model: &str, err: impl std::fmt::Display) -> Self {
        VisionError::Inference(format!("{model}: {err}"))
    }
}
