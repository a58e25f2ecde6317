//! The engine: models loaded once and shared by worker threads; per-image face analysis
//! (detect → align → embed → anti-spoof → quality) and per-media analysis (frames, best shot,
//! combined spoof score, gesture check).

use std::path::{Path, PathBuf};

use image::{DynamicImage, RgbImage};

use crate::align::align;
use crate::calibration::{cosine, similarity_to_confidence};
use crate::decode::{decode_image, encode_jpeg, sniff, MediaKind};
use crate::detect::YuNet;
use crate::embed::FrFeature;
use crate::error::VisionError;
use crate::geometry::{BBox, Landmarks};
use crate::gesture::{self, Gesture, GestureCheck};
use crate::liveness::FrLiveness;
use crate::model::{Detection, FaceDetector, FaceEmbedder, SpoofDetector};
use crate::provision;
use crate::quality::{assess, Quality};
use crate::runtime::Backend;
use crate::shots::decode_shots;
use crate::video::decode_video;

/// Frames analysed per video or shots set unless the caller says otherwise.
pub const DEFAULT_MAX_FRAMES: usize = 8;
/// Frames analysed when a gesture must be checked (gestures are brief).
pub const GESTURE_MIN_FRAMES: usize = 16;
/// Hard cap on analysed frames, whatever the caller asks.
pub const MAX_FRAMES: usize = 64;
/// `confidence_spoofing` reported when a requested gesture was not performed.
pub const GESTURE_MISSING_SPOOF: f32 = 0.95;
/// Longest side of the best-shot JPEG.
pub const BEST_SHOT_MAX_SIDE: u32 = 1280;

/// Ids (name, version, sha256 prefix) of the models in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIds {
    pub detector: String,
    pub embedder: String,
    pub liveness: String,
}

/// A face identity vector and the model that made it. Vectors of different models are
/// incomparable: `cosine` refuses them.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub model_id: String,
    /// Unit length.
    pub vector: Vec<f32>,
}

impl Embedding {
    /// Cosine similarity, or `None` when the two come from different models.
    pub fn cosine(&self, other: &Embedding) -> Option<f32> {
        (self.model_id == other.model_id).then(|| cosine(&self.vector, &other.vector)).flatten()
    }

    /// Oz 0..1 confidence that both are the same person (see `similarity_to_confidence`).
    pub fn confidence(&self, other: &Embedding) -> Option<f32> {
        self.cosine(other).map(similarity_to_confidence)
    }
}

/// One analysed face.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub bbox: BBox,
    /// Right eye, left eye, nose tip, right and left mouth corner (image-left first).
    pub landmarks: Landmarks,
    pub det_score: f32,
    pub quality: Quality,
    pub embedding: Embedding,
    /// p(attack) from the passive anti-spoof model, 0..1.
    pub spoof: f32,
}

/// What to do with one media file.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    /// Oz media tags (e.g. `video_selfie_smile`); a gesture tag triggers a gesture check.
    pub tags: Vec<String>,
    /// Frames analysed per video or shots set (capped at `MAX_FRAMES`).
    pub max_frames: usize,
    /// Encode the best frame as JPEG into the report.
    pub want_best_shot: bool,
    /// Run the embedder (faces get an empty `embedding.vector` without it).
    pub embed: bool,
    /// Run the anti-spoof model (without it `spoof` is 0 and `confidence_spoofing` None).
    pub spoof: bool,
}

impl Default for MediaOptions {
    fn default() -> Self {
        MediaOptions {
            tags: Vec::new(),
            max_frames: DEFAULT_MAX_FRAMES,
            want_best_shot: false,
            embed: true,
            spoof: true,
        }
    }
}

/// Which models to run on a face.
#[derive(Debug, Clone, Copy)]
struct Stages {
    embed: bool,
    spoof: bool,
}

const ALL_STAGES: Stages = Stages { embed: true, spoof: true };

/// The analysis of one media file.
#[derive(Debug, Clone)]
pub struct MediaReport {
    pub kind: MediaKind,
    /// Frames decoded and analysed.
    pub frames_used: usize,
    /// Faces found in each analysed frame.
    pub faces_per_frame: Vec<usize>,
    /// The highest-quality main face over all frames; `None` when no frame has a face.
    pub best_face: Option<Face>,
    /// Index (into the analysed frames) of the best face's frame.
    pub best_frame: Option<usize>,
    /// The best face's frame as JPEG, when asked for.
    pub best_shot_jpeg: Option<Vec<u8>>,
    /// Per-frame p(attack) of the main face, for frames with a face.
    pub frame_spoof: Vec<f32>,
    /// Oz `confidence_spoofing` (higher = more likely an attack): the mean passive score over
    /// frames, raised to `GESTURE_MISSING_SPOOF` if a requested gesture was not performed.
    /// `None` when no frame has a face.
    pub confidence_spoofing: Option<f32>,
    pub gesture: Option<GestureCheck>,
    pub model_ids: ModelIds,
}

impl MediaReport {
    /// The best face, or `VisionError::NoFace`.
    pub fn require_face(&self) -> Result<&Face, VisionError> {
        self.best_face.as_ref().ok_or(VisionError::NoFace)
    }
}

/// The face engine. `Send + Sync`: load once, share through an `Arc`.
pub struct Engine {
    detector: Box<dyn FaceDetector>,
    embedder: Box<dyn FaceEmbedder>,
    spoof: Box<dyn SpoofDetector>,
}

const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Engine>();
};

impl Engine {
    /// Load the default models (YuNet, fr_feature, fr_liveness) from `models_dir`, checking
    /// their sha256. A missing or corrupt file gives `ModelMissing` naming it and the fetch command.
    pub fn load(models_dir: &Path) -> Result<Engine, VisionError> {
        Ok(Engine::with_models(
            Box::new(YuNet::load(models_dir)?),
            Box::new(FrFeature::load(models_dir)?),
            Box::new(FrLiveness::load(models_dir)?),
        ))
    }

    /// An engine over other model implementations.
    pub fn with_models(
        detector: Box<dyn FaceDetector>,
        embedder: Box<dyn FaceEmbedder>,
        spoof: Box<dyn SpoofDetector>,
    ) -> Engine {
        Engine { detector, embedder, spoof }
    }

    /// `EMERALD_MODELS_DIR`, else `~/.cache/emerald/models`.
    pub fn default_models_dir() -> PathBuf {
        provision::default_models_dir()
    }

    pub fn model_ids(&self) -> ModelIds {
        ModelIds {
            detector: self.detector.descriptor().id.to_owned(),
            embedder: self.embedder.descriptor().id.to_owned(),
            liveness: self.spoof.descriptor().id.to_owned(),
        }
    }

    /// The runtime of each model: (detector, embedder, anti-spoofing); None for a model that
    /// is not run by an ONNX runtime.
    pub fn runtimes(&self) -> [Option<Backend>; 3] {
        [self.detector.runtime(), self.embedder.runtime(), self.spoof.runtime()]
    }

    /// Detection only: every face's box, landmarks and score.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, VisionError> {
        self.detector.detect(img)
    }

    /// The embedder's aligned crop of one detected face.
    pub fn align(&self, img: &RgbImage, landmarks: &Landmarks) -> RgbImage {
        let (side, _) = self.embedder.descriptor().input_size;
        align(img, landmarks, self.embedder.alignment_template(), side as u32)
    }

    /// Every face in the image, largest first, each aligned, embedded, spoof-scored and rated.
    /// An image without a face gives an empty list.
    pub fn faces_in_image(&self, img: &RgbImage) -> Result<Vec<Face>, VisionError> {
        let mut dets = self.detector.detect(img)?;
        dets.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
        dets.iter().map(|d| self.analyse_face(img, d, ALL_STAGES)).collect()
    }

    /// The same as `faces_in_image` for encoded image bytes (EXIF orientation applied).
    pub fn faces_in_bytes(&self, bytes: &[u8]) -> Result<Vec<Face>, VisionError> {
        self.faces_in_image(&decode_image(bytes)?)
    }

    fn analyse_face(&self, img: &RgbImage, det: &Detection, stages: Stages) -> Result<Face, VisionError> {
        let aligned = self.align(img, &det.landmarks);
        let vector = if stages.embed { self.embedder.embed(&aligned)? } else { Vec::new() };
        let spoof = if stages.spoof { self.spoof.attack_probability(img, &det.bbox)? } else { 0.0 };
        Ok(Face {
            bbox: det.bbox,
            landmarks: det.landmarks,
            det_score: det.score,
            quality: assess(&det.bbox, &det.landmarks, &aligned),
            embedding: Embedding { model_id: self.embedder.descriptor().id.to_owned(), vector },
            spoof,
        })
    }

    /// The main (largest) face of a frame, fully analysed, and the number of faces.
    fn main_face(&self, img: &RgbImage, stages: Stages) -> Result<(Option<Face>, usize), VisionError> {
        let dets = self.detector.detect(img)?;
        let count = dets.len();
        let main = dets.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()));
        Ok((main.map(|d| self.analyse_face(img, d, stages)).transpose()?, count))
    }

    /// Analyse a photo, ZIP shots set or MP4/MOV video: the best face, the combined
    /// `confidence_spoofing`, and the gesture check when a tag asks for one.
    pub fn analyze_media(&self, bytes: &[u8], opts: &MediaOptions) -> Result<MediaReport, VisionError> {
        let kind = sniff(bytes).ok_or_else(|| VisionError::Unsupported("unknown media format".into()))?;
        let gesture = Gesture::from_tags(&opts.tags);
        let mut max_frames = opts.max_frames.clamp(1, MAX_FRAMES);
        if gesture.is_some() {
            max_frames = max_frames.max(GESTURE_MIN_FRAMES);
        }
        let frames = match kind {
            MediaKind::Image => vec![decode_image(bytes)?],
            MediaKind::ShotsSet => decode_shots(bytes, max_frames)?,
            MediaKind::Video => decode_video(bytes, max_frames)?.frames,
        };
        let mut faces_per_frame = Vec::with_capacity(frames.len());
        let mut main_faces: Vec<(usize, Face)> = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let (face, count) = self.main_face(frame, Stages { embed: opts.embed, spoof: opts.spoof })?;
            faces_per_frame.push(count);
            if let Some(f) = face {
                main_faces.push((i, f));
            }
        }
        let best = main_faces.iter().max_by(|a, b| a.1.quality.score.total_cmp(&b.1.quality.score).then(b.0.cmp(&a.0)));
        let best_shot_jpeg = match (opts.want_best_shot, best) {
            (true, Some((i, _))) => Some(best_shot(&frames[*i])?),
            _ => None,
        };
        let frame_spoof: Vec<f32> = main_faces.iter().map(|(_, f)| f.spoof).collect();
        let passive =
            (opts.spoof && !frame_spoof.is_empty()).then(|| frame_spoof.iter().sum::<f32>() / frame_spoof.len() as f32);
        let gesture = match (gesture, kind) {
            (Some(g), MediaKind::Video | MediaKind::ShotsSet) => {
                let qualities: Vec<Quality> = main_faces.iter().map(|(_, f)| f.quality).collect();
                Some(gesture::check(g, &qualities))
            }
            _ => None,
        };
        let confidence_spoofing = match (&gesture, passive) {
            (Some(g), Some(p)) if !g.performed => Some(p.max(GESTURE_MISSING_SPOOF)),
            (_, p) => p,
        };
        Ok(MediaReport {
            kind,
            frames_used: frames.len(),
            faces_per_frame,
            best_frame: best.map(|(i, _)| *i),
            best_face: best.map(|(_, f)| f.clone()),
            best_shot_jpeg,
            frame_spoof,
            confidence_spoofing,
            gesture,
            model_ids: self.model_ids(),
        })
    }
}

fn best_shot(frame: &RgbImage) -> Result<Vec<u8>, VisionError> {
    if frame.width() > BEST_SHOT_MAX_SIDE || frame.height() > BEST_SHOT_MAX_SIDE {
        let small =
            DynamicImage::ImageRgb8(frame.clone()).thumbnail(BEST_SHOT_MAX_SIDE, BEST_SHOT_MAX_SIDE).into_rgb8();
        encode_jpeg(&small)
    } else {
        encode_jpeg(frame)
    }
}
