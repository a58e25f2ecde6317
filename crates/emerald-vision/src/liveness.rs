//! fr_liveness (MiniFASNet-style, 3 classes): the detector box scaled 2.7× about its centre,
//! clamped and shifted to stay inside the frame, resized to 128×128, BGR, raw 0..255. Softmax;
//! class 0 is a live face, the others attacks, so p(attack) = 1 − p[0].

use std::path::Path;

use image::RgbImage;

use crate::error::VisionError;
use crate::geometry::BBox;
use crate::model::{ModelDescriptor, SpoofDetector};
use crate::provision::verified_model_path;
use crate::resample::{resample_into, Canvas, ColourOrder, Normalisation};
use crate::runtime::OnnxPlan;

const SIDE: usize = 128;
/// Context around the face the model was trained with.
pub const CROP_SCALE: f32 = 2.7;

pub const FR_LIVENESS: ModelDescriptor = ModelDescriptor {
    id: "faceplugin-fr_liveness-0.0.1@afa783b7",
    file: "fr_liveness.onnx",
    sha256: "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d",
    input_size: (SIDE, SIDE),
    colour_order: ColourOrder::Bgr,
    normalisation: Normalisation::RAW,
    output: "3 logits: live, 2-D attack (print/replay), other attack",
    source: "npm faceplugin-face-recognition-js@0.0.1: package/model/fr_liveness.onnx",
};

/// The fr_liveness anti-spoof model on tract.
pub struct FrLiveness {
    plan: OnnxPlan,
}

impl FrLiveness {
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        let path = verified_model_path(models_dir, FR_LIVENESS.file, FR_LIVENESS.sha256)?;
        Ok(FrLiveness { plan: OnnxPlan::load("fr_liveness", &path, [1, 3, SIDE, SIDE])? })
    }
}

/// The scale of the crop the model actually gets about `bbox` in a `frame_w × frame_h` frame:
/// `wanted`, or less when the frame is too small to hold that much context around the face
/// (1.0 = the detector box alone).
pub fn effective_scale(frame_w: u32, frame_h: u32, bbox: &BBox, wanted: f32) -> f32 {
    let (fw, fh) = (frame_w as f32, frame_h as f32);
    let (bw, bh) = (bbox.w.max(1.0), bbox.h.max(1.0));
    wanted.min((fh - 1.0) / bh).min((fw - 1.0) / bw).max(0.0)
}

/// The crop rectangle `[x0, y0, x1, y1)` (pixel edges) the model sees for `bbox`: the box
/// scaled by `wanted` (less if the frame is too small), shifted to stay inside the frame.
pub fn crop_rect(frame_w: u32, frame_h: u32, bbox: &BBox, wanted: f32) -> [f32; 4] {
    let (fw, fh) = (frame_w as f32, frame_h as f32);
    let (bw, bh) = (bbox.w.max(1.0), bbox.h.max(1.0));
    let scale = effective_scale(frame_w, frame_h, bbox, wanted);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bbox.x + bw / 2.0, bbox.y + bh / 2.0);
    let (mut x0, mut y0) = (cx - nw / 2.0, cy - nh / 2.0);
    let (mut x1, mut y1) = (cx + nw / 2.0, cy + nh / 2.0);
    if x0 < 0.0 {
        x1 -= x0;
        x0 = 0.0;
    }
    if y0 < 0.0 {
        y1 -= y0;
        y0 = 0.0;
    }
    if x1 > fw - 1.0 {
        x0 -= x1 - (fw - 1.0);
        x1 = fw - 1.0;
    }
    if y1 > fh - 1.0 {
        y0 -= y1 - (fh - 1.0);
        y1 = fh - 1.0;
    }
    // Integer pixel bounds, inclusive of the last pixel, as the model's reference crop does.
    let (x0, y0) = (x0.round().max(0.0), y0.round().max(0.0));
    let (x1, y1) = ((x1.round() + 1.0).min(fw), (y1.round() + 1.0).min(fh));
    [x0, y0, x1.max(x0 + 1.0), y1.max(y0 + 1.0)]
}

/// Softmax of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

impl SpoofDetector for FrLiveness {
    fn descriptor(&self) -> &ModelDescriptor {
        &FR_LIVENESS
    }

    fn runtime(&self) -> Option<crate::runtime::Backend> {
        Some(self.plan.backend())
    }

    fn context_scale(&self, frame_w: u32, frame_h: u32, bbox: &BBox) -> f32 {
        effective_scale(frame_w, frame_h, bbox, CROP_SCALE)
    }

    fn attack_probability(&self, frame: &RgbImage, bbox: &BBox) -> Result<f32, VisionError> {
        self.attack_probability_at(frame, bbox, CROP_SCALE)
    }
}

impl FrLiveness {
    /// p(attack) with a crop of `scale` about the box instead of the trained `CROP_SCALE`
    /// (for evaluation tools).
    pub fn attack_probability_at(&self, frame: &RgbImage, bbox: &BBox, scale: f32) -> Result<f32, VisionError> {
        if frame.width() < 2 || frame.height() < 2 {
            return Err(VisionError::Decode("frame too small for liveness".into()));
        }
        let rect = crop_rect(frame.width(), frame.height(), bbox, scale);
        let mut data = vec![0f32; 3 * SIDE * SIDE];
        let mut canvas = Canvas { data: &mut data, width: SIDE, height: SIDE };
        let d = &FR_LIVENESS;
        resample_into(frame, rect, (SIDE, SIDE), &mut canvas, d.colour_order, d.normalisation);
        let outputs = self.plan.run([1, 3, SIDE, SIDE], data)?;
        let logits = outputs
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .ok_or_else(|| VisionError::inference("fr_liveness", "no output"))?;
        if logits.len() < 2 {
            return Err(VisionError::inference("fr_liveness", "fewer than 2 classes"));
        }
        let p = softmax(&logits);
        Ok((1.0 - p[0]).clamp(0.0, 1.0))
    }
}
