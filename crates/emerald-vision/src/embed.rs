//! fr_feature (MobileFaceNet, 512-d): aligned 112×112 RGB, (v − 127)/128, NCHW; the output is
//! L2-normalised so that similarity is a dot product (cosine).

use std::path::Path;

use image::RgbImage;

use crate::align::ARCFACE_112;
use crate::error::VisionError;
use crate::geometry::Landmarks;
use crate::model::{FaceEmbedder, ModelDescriptor};
use crate::provision::verified_model_path;
use crate::resample::{resample_into, Canvas, ColourOrder, Normalisation};
use crate::runtime::OnnxPlan;

const SIDE: usize = 112;
/// Length of an embedding vector.
pub const EMBEDDING_DIM: usize = 512;

pub const FR_FEATURE: ModelDescriptor = ModelDescriptor {
    id: "faceplugin-fr_feature-0.0.1@87aacdfe",
    file: "fr_feature.onnx",
    sha256: "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
    input_size: (SIDE, SIDE),
    colour_order: ColourOrder::Rgb,
    normalisation: Normalisation { mean: 127.0, scale: 1.0 / 128.0 },
    output: "512-d identity vector (L2-normalised here; cosine similarity)",
    source: "npm faceplugin-face-recognition-js@0.0.1: package/model/fr_feature.onnx",
};

/// The fr_feature embedder on tract.
pub struct FrFeature {
    plan: OnnxPlan,
}

impl FrFeature {
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        let path = verified_model_path(models_dir, FR_FEATURE.file, FR_FEATURE.sha256)?;
        Ok(FrFeature { plan: OnnxPlan::load("fr_feature", &path, [1, 3, SIDE, SIDE])? })
    }
}

/// Scale `v` to unit length (left as is when it is all zeros).
pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

impl FaceEmbedder for FrFeature {
    fn descriptor(&self) -> &ModelDescriptor {
        &FR_FEATURE
    }

    fn runtime(&self) -> Option<crate::runtime::Backend> {
        Some(self.plan.backend())
    }

    fn alignment_template(&self) -> &Landmarks {
        &ARCFACE_112
    }

    fn embed(&self, aligned: &RgbImage) -> Result<Vec<f32>, VisionError> {
        let mut data = vec![0f32; 3 * SIDE * SIDE];
        let mut canvas = Canvas { data: &mut data, width: SIDE, height: SIDE };
        let (w, h) = (aligned.width() as f32, aligned.height() as f32);
        let d = &FR_FEATURE;
        resample_into(aligned, [0.0, 0.0, w, h], (SIDE, SIDE), &mut canvas, d.colour_order, d.normalisation);
        let outputs = self.plan.run([1, 3, SIDE, SIDE], data)?;
        let mut v = outputs
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .ok_or_else(|| VisionError::inference("fr_feature", "no output"))?;
        if v.len() != EMBEDDING_DIM {
            return Err(VisionError::inference("fr_feature", format!("output has {} values", v.len())));
        }
        l2_normalise(&mut v);
        Ok(v)
    }
}
