//! The model seams: one trait per role (detector, embedder, spoof detector), each with a
//! descriptor saying what the model expects and what it returns, so another model can be
//! swapped in and every template and result carries the id of the model that made it.

use image::RgbImage;

use crate::error::VisionError;
use crate::geometry::{BBox, Landmarks};
use crate::resample::{ColourOrder, Normalisation};
use crate::runtime::Backend;

/// What a model is and how to feed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDescriptor {
    /// Stable id stored with templates and results: name, version and sha256 prefix.
    pub id: &'static str,
    /// File name inside the models dir.
    pub file: &'static str,
    /// Expected sha256 of the file (hex).
    pub sha256: &'static str,
    /// Input width and height in pixels.
    pub input_size: (usize, usize),
    pub colour_order: ColourOrder,
    pub normalisation: Normalisation,
    /// What the output means, in words.
    pub output: &'static str,
    /// Registry package the file ships in.
    pub source: &'static str,
}

/// A face found by a detector, in source-image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub bbox: BBox,
    /// Right eye, left eye, nose tip, right and left mouth corner (image-left first).
    pub landmarks: Landmarks,
    pub score: f32,
}

/// Finds every face in an image.
pub trait FaceDetector: Send + Sync {
    fn descriptor(&self) -> &ModelDescriptor;
    /// The ONNX runtime this model runs on (None: not an ONNX model).
    fn runtime(&self) -> Option<Backend> {
        None
    }
    /// All faces, after score threshold and NMS, in source-image pixels.
    fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, VisionError>;
}

/// Turns an aligned face crop into an identity vector.
pub trait FaceEmbedder: Send + Sync {
    fn descriptor(&self) -> &ModelDescriptor;
    /// The ONNX runtime this model runs on (None: not an ONNX model).
    fn runtime(&self) -> Option<Backend> {
        None
    }
    /// Length of the vectors `embed` returns.
    fn dim(&self) -> usize;
    /// The 5-point template (in `input_size` pixels) faces are aligned to.
    fn alignment_template(&self) -> &Landmarks;
    /// The L2-normalised embedding of an aligned crop of `input_size`.
    fn embed(&self, aligned: &RgbImage) -> Result<Vec<f32>, VisionError>;
}

/// Scores how likely a detected face is a presentation attack (print, replay).
pub trait SpoofDetector: Send + Sync {
    fn descriptor(&self) -> &ModelDescriptor;
    /// The ONNX runtime this model runs on (None: not an ONNX model).
    fn runtime(&self) -> Option<Backend> {
        None
    }
    /// How much context the model gets around `bbox` in a frame of this size: the scale of its
    /// crop about the box (1.0 = the box alone). Below the engine's `MIN_CONTEXT_SCALE` the
    /// model cannot judge and no verdict is given.
    fn context_scale(&self, frame_w: u32, frame_h: u32, bbox: &BBox) -> f32;
    /// p(attack) in 0..1 for the face in `bbox` of the full frame.
    fn attack_probability(&self, frame: &RgbImage, bbox: &BBox) -> Result<f32, VisionError>;
}
