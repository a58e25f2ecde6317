//! # emerald-vision — Emerald's face engine
//!
//! Decoding (JPEG/PNG/WebP/BMP with EXIF orientation, ZIP shots sets, videos through an `ffmpeg`
//! child process: MP4/MOV/M4V and WebM/Matroska with H.264, HEVC, VP8, VP9, AV1), face
//! detection with 5 landmarks (YuNet), the choice of *the* face of a photo (largest and most
//! central: [`dominance`]), alignment, identity embeddings (fr_feature and the sirius-ai
//! MobileFaceNet fused at score level, 704-d, by default: [`EmbedderChoice`]), passive
//! anti-spoofing (fr_liveness) that declines to judge faces without enough context
//! ([`MIN_CONTEXT_SCALE`]), face quality, best shot, gesture checks, and the calibration from
//! cosine similarity to Oz's 0..1 confidence ([`Calibration`]). No HTTP, no SQL, no server types.
//!
//! Models are ONNX files run by tract (pure Rust) or onnxruntime, provisioned at set-up by
//! `scripts/fetch-models.sh` from registry packages and checked by sha256 at load. Every model
//! sits behind a trait ([`FaceDetector`], [`FaceEmbedder`], [`SpoofDetector`]) with a
//! [`ModelDescriptor`]; each [`Embedding`] carries its model id.
//!
//! ```no_run
//! use std::sync::Arc;
//! use emerald_vision::{Engine, MediaOptions};
//!
//! let engine = Arc::new(Engine::load(&Engine::default_models_dir())?);
//! let a = engine.analyze_media(&std::fs::read("a.jpg")?, &MediaOptions::default())?;
//! let b = engine.analyze_media(&std::fs::read("b.jpg")?, &MediaOptions::default())?;
//! let (fa, fb) = (a.require_face()?, b.require_face()?);
//! let same_person = engine.verify_confidence(&fa.embedding, &fb.embedding).expect("same model") >= 0.85;
//! let attack = a.confidence_spoofing.unwrap_or(1.0) >= 0.5;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Public API:
//! - [`Engine::load`], [`Engine::default_models_dir`], [`Engine::model_ids`],
//!   [`Engine::analyze_media`], [`Engine::faces_in_image`] (+ [`Engine::faces_in_bytes`],
//!   [`Engine::detect`], [`Engine::align`] for benches and tools);
//! - [`sniff`] (media kind from magic bytes), [`thumbnail_jpeg`], [`decode_image`];
//! - [`Calibration`]: cosine → false-match rate → Oz confidence, 1:1 and 1:N (documented in
//!   `docs/accuracy.md`);
//! - [`probe_video`] (container, codec, size, rotation, duration, frame rate — headers only),
//!   [`decode_video`], [`configure_ffmpeg`] / [`ffmpeg_status`] (the decoder of this process);
//! - [`VisionError`]: `ModelMissing`, `NoFace`, `Decode`, `Unsupported`, `TooLarge`, `DecoderMissing`,
//!   `Inference`.

mod align;
mod calibration;
mod container;
mod decode;
mod detect;
mod embed;
mod engine;
mod error;
mod ffmpeg;
#[cfg(feature = "ort")]
pub mod fuse;
mod geometry;
mod gesture;
mod liveness;
mod model;
mod provision;
mod quality;
mod refine;
mod resample;
mod runtime;
pub mod scale;
mod shots;
mod video;

pub use align::{align, warp, Similarity, ARCFACE_112};
pub use calibration::{
    cosine, Anchors, Calibration, FR_FEATURE_CALIBRATION, FUSED_CALIBRATION, OZ_DEFAULT_THRESHOLD, SEARCH_ANCHORS,
    SIRIUS_MFN_CALIBRATION, VERIFY_ANCHORS,
};
pub use container::{probe_video, probe_video_file, probe_video_reader, Container, VideoInfo};
pub use decode::{decode_image, encode_jpeg, encode_jpeg_quality, sniff, thumbnail_jpeg, MediaKind};
pub use detect::{YuNet, YUNET};
pub use embed::{l2_normalise, EmbedderModel, FrFeature, Fused, OnnxEmbedder, EMBEDDING_DIM, FR_FEATURE, SIRIUS_MFN};
pub use engine::{
    dominance, EmbedderChoice, Embedding, Engine, Face, MediaOptions, MediaReport, ModelIds, COMPARABLE_FACE_RATIO,
    FUSED_EMBEDDER_ID, FUSION_WEIGHTS, MIN_CONTEXT_SCALE,
};
pub use error::VisionError;
pub use ffmpeg::{configure_ffmpeg, ffmpeg_status, Ffmpeg, FFMPEG_ENV, FFMPEG_HINT};
pub use geometry::{BBox, Landmarks};
pub use gesture::{Gesture, GestureCheck};
pub use liveness::{effective_scale as liveness_effective_scale, FrLiveness, CROP_SCALE, FR_LIVENESS};
pub use model::{Detection, FaceDetector, FaceEmbedder, ModelDescriptor, SpoofDetector};
pub use provision::{default_models_dir, verified_model_path, FETCH_HINT, MODELS_DIR_ENV};
pub use quality::{Quality, MIN_GOOD_FACE_PX};
pub use refine::{area_crop, LandmarkRefiner, Onet, MAX_UPRIGHT_ROLL_DEG, MIN_FACE_PROBABILITY, MTCNN_ONET};
pub use resample::{ColourOrder, Normalisation};
pub use runtime::{raw_inference_times, Backend, OnnxPlan, RUNTIME_ENV};
pub use shots::decode_shots;
pub use video::{decode_video, DecodedVideo, MAX_FRAME_SIDE, MAX_VIDEO_SECONDS};
