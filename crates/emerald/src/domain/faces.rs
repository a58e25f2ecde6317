//! The face engine as the domain sees it: templates, per-media analysis, enrolment checks.
//!
//! The implementation (`crate::engine`, over `emerald-vision`) lives outside the domain; the
//! domain only knows this trait, so rules (enrolment quality, thresholds, which media an
//! analysis uses) are testable and the engine can be swapped. Every call is blocking and
//! CPU-bound: call it on the blocking pool (`tokio::task::spawn_blocking`).
//!
//! When the models are not installed the server still starts; [`super::Domain::faces`] then
//! answers [`Error::NotRealized`] (code 2) naming the missing file and how to fetch it.

use super::error::Error;
use super::media::MediaKind;

/// A face template: an L2-normalised embedding and the id of the model that made it.
/// Templates of different models are never compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub model_id: String,
    pub vector: Vec<f32>,
}

/// One face found in a media file (its best frame for videos and shot sets).
#[derive(Debug, Clone)]
pub struct FaceFound {
    /// Box in pixels of the (upright) frame: x, y, width, height.
    pub bbox: [f32; 4],
    pub det_score: f32,
    /// Face size in pixels (the box's shorter side).
    pub size_px: f32,
    /// 0..1 overall quality (size, sharpness, pose, exposure).
    pub quality: f32,
    /// Why the face is not good enough to enrol, if it is not.
    pub unusable: Option<String>,
    pub template: Template,
    /// 0..1, higher = more likely an attack (Oz `confidence_spoofing`) for this face.
    pub spoof: f32,
}

/// A gesture the media's tags asked for, and whether landmarks show it happened.
#[derive(Debug, Clone)]
pub struct GestureOutcome {
    pub tag: String,
    pub performed: bool,
    pub evidence: f32,
    pub threshold: f32,
}

/// What the engine learned from one media file.
#[derive(Debug, Clone)]
pub struct MediaFaces {
    pub kind: MediaKind,
    pub frames_used: usize,
    /// The largest face count seen in one frame.
    pub max_faces_in_frame: usize,
    /// The best face over all frames (quality × detector score), None when there is none.
    pub best_face: Option<FaceFound>,
    /// Oz `confidence_spoofing` for the media: per-frame scores combined, raised when a
    /// requested gesture was not performed. None when no face was found.
    pub confidence_spoofing: Option<f32>,
    /// JPEG of the best frame, when asked for and a face was found.
    pub best_shot_jpeg: Option<Vec<u8>>,
    pub gesture: Option<GestureOutcome>,
}

#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// The media's tags (gesture tags such as `video_selfie_smile` are checked).
    pub tags: Vec<String>,
    pub want_best_shot: bool,
    /// Compute the best face's template (identity); without it `template.vector` is empty.
    pub want_template: bool,
    /// Compute anti-spoofing; without it `spoof` is 0 and `confidence_spoofing` None.
    pub want_spoof: bool,
}

impl Default for AnalyzeOptions {
    /// Everything but the best shot.
    fn default() -> Self {
        AnalyzeOptions { tags: Vec::new(), want_best_shot: false, want_template: true, want_spoof: true }
    }
}

/// Why the engine could not produce what was asked. Client-facing messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaceError {
    #[error("no face found in the media")]
    NoFace,
    #[error("{0} faces found; exactly one is required")]
    ManyFaces(usize),
    #[error("the face is not usable: {0}")]
    Unusable(String),
    #[error("unsupported media: {0}")]
    Unsupported(String),
    #[error("media cannot be decoded: {0}")]
    Corrupt(String),
    #[error("media too large: {0}")]
    TooLarge(String),
    /// The engine itself failed (a model error): our fault, not the client's.
    #[error("face engine failure: {0}")]
    Engine(String),
}

impl From<FaceError> for Error {
    fn from(e: FaceError) -> Self {
        match e {
            FaceError::Engine(m) => Error::Internal(anyhow::anyhow!("face engine: {m}")),
            other => Error::invalid_value(other.to_string(), serde_json::json!({})),
        }
    }
}

/// Model ids of the running engine, for `/api/version` and stored results.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineModels {
    pub detector: String,
    pub embedder: String,
    pub liveness: String,
}

/// The face engine. Implementations are CPU-bound and blocking.
pub trait FaceEngine: Send + Sync + 'static {
    fn models(&self) -> EngineModels;
    /// Analyse an image, video or shot set: faces, spoof score, best shot, gesture.
    fn analyze(&self, bytes: &[u8], opts: &AnalyzeOptions) -> Result<MediaFaces, FaceError>;
    /// Enrolment check: exactly one usable face (size, quality) → its template.
    fn enrol(&self, bytes: &[u8]) -> Result<Template, FaceError>;
    /// Oz 0..1 confidence that two templates show the same person (calibrated, monotonic in
    /// the cosine). None when the templates come from different models.
    fn confidence(&self, a: &Template, b: &Template) -> Option<f32>;
    /// The cosine at which `confidence` equals `confidence` (inverse calibration), for 1:N
    /// search filters; None outside (0, 1).
    fn cosine_for_confidence(&self, confidence: f32) -> Option<f32>;
}
