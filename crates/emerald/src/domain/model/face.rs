//! The face engine as the domain sees it: templates, per-media analysis, enrolment checks.
//!
//! The implementation (`crate::engine`, over `emerald-vision`) lives outside the domain; the
//! domain only knows this trait, so rules (enrolment quality, thresholds, which media an
//! analysis uses) are testable and the engine can be swapped. Every call is blocking and
//! CPU-bound: call it on the blocking pool (`tokio::task::spawn_blocking`).
//!
//! When the models are not installed the server still starts; [`crate::domain::Domain::faces`] then
//! answers [`Error::NotRealized`] (code 2) naming the missing file and how to fetch it.

use crate::domain::error::Error;
use crate::domain::model::media::MediaKind;

/// A face template: an L2-normalised embedding and the id of the model that made it.
/// Templates of different models are never compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub model_id: String,
    pub vector: Vec<f32>,
}

impl Template {
    /// Cosine similarity (both are unit vectors); None across models or lengths.
    pub fn cosine(&self, other: &Template) -> Option<f32> {
        (self.model_id == other.model_id && self.vector.len() == other.vector.len() && !self.vector.is_empty())
            .then(|| self.vector.iter().zip(&other.vector).map(|(a, b)| a * b).sum())
    }
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
    /// The next face's dominance (size × centrality) over this one's, 0 when alone; at or
    /// above [`COMPARABLE_FACE_RATIO`] the media shows two comparably dominant faces.
    pub runner_up_ratio: f32,
}

/// A runner-up face at least this share as dominant (size × centrality) as the main one makes
/// a photo ambiguous about whom it shows (`emerald_vision::COMPARABLE_FACE_RATIO`).
pub const COMPARABLE_FACE_RATIO: f32 = 0.6;

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
    /// requested gesture was not performed. None when no face was found, or when no face could
    /// be judged (`liveness_unassessable`).
    pub confidence_spoofing: Option<f32>,
    /// A face was found but every one was too close or cropped too tightly for the anti-spoof
    /// model to judge (the context it had, as a crop scale): no liveness verdict.
    pub liveness_unassessable: Option<f32>,
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
    #[error("{0} faces of comparable size and position found; the photo must show one person clearly")]
    ManyFaces(usize),
    #[error("the face is not usable: {0}")]
    Unusable(String),
    #[error("unsupported media: {0}")]
    Unsupported(String),
    #[error("media cannot be decoded: {0}")]
    Corrupt(String),
    #[error("media too large: {0}")]
    TooLarge(String),
    /// Something this server lacks (a video decoder): the reason and how to install it.
    #[error("{0}")]
    Unavailable(String),
    /// The engine itself failed (a model error): our fault, not the client's.
    #[error("face engine failure: {0}")]
    Engine(String),
}

impl From<FaceError> for Error {
    fn from(e: FaceError) -> Self {
        match e {
            FaceError::Engine(m) => Error::Internal(anyhow::anyhow!("face engine: {m}")),
            FaceError::Unavailable(m) => Error::NotRealized(m),
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

/// An accepted enrolment photo: the dominant face's template, where it is, and the other
/// (clearly smaller or off-centre) faces that were left aside.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub template: Template,
    /// x, y, width, height in pixels of the (upright) photo.
    pub face_box: [f32; 4],
    pub other_faces: Vec<[f32; 4]>,
}

/// The face engine. Implementations are CPU-bound and blocking.
pub trait FaceEngine: Send + Sync + 'static {
    fn models(&self) -> EngineModels;
    /// Length of the templates this engine makes.
    fn template_dim(&self) -> usize;
    /// Analyse an image, video or shot set: faces, spoof score, best shot, gesture.
    fn analyze(&self, bytes: &[u8], opts: &AnalyzeOptions) -> Result<MediaFaces, FaceError>;
    /// Enrolment check: one dominant, usable face (size, quality; no comparably dominant
    /// second face) → its template.
    fn enrol(&self, bytes: &[u8]) -> Result<Enrolment, FaceError>;
    /// The dominant face (large × central) of a decoded image taken as it is (not turned):
    /// its box `[x, y, width, height]` in the image's pixels and the detector's score; None
    /// without a face. Detection only — what DOCUMENTS needs to cut out a document's portrait.
    fn dominant_face(&self, img: &image::RgbImage) -> Result<Option<([f32; 4], f32)>, FaceError>;
    /// Oz 0..1 confidence (1:1) that two templates show the same person (calibrated,
    /// monotonic in the cosine). None when the templates come from different models.
    fn confidence(&self, a: &Template, b: &Template) -> Option<f32>;
    /// Oz 0..1 confidence (1:N) that a hit of cosine `cosine` among `gallery` templates is
    /// the person: the larger the gallery, the higher the cosine a given confidence needs.
    fn search_confidence(&self, cosine: f32, gallery: usize) -> f32;
    /// The cosine at which the 1:N confidence among `gallery` templates equals `confidence`
    /// (inverse calibration), for search floors; None outside (0, 1).
    fn search_cosine(&self, confidence: f32, gallery: usize) -> Option<f32>;
}
