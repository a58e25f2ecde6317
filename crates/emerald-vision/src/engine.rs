//! The engine: models loaded once and shared by worker threads; per-image face analysis
//! (detect → align → embed → anti-spoof → quality) and per-media analysis (frames, best shot,
//! combined spoof score, gesture check).

use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::align::align;
use crate::calibration::{cosine, Calibration, FR_FEATURE_CALIBRATION, FUSED_CALIBRATION, SIRIUS_MFN_CALIBRATION};
use crate::decode::{decode_image, encode_jpeg, sniff, MediaKind};
use crate::detect::YuNet;
use crate::embed::{Fused, OnnxEmbedder, FR_FEATURE, SIRIUS_MFN};
use crate::error::VisionError;
use crate::geometry::{BBox, Landmarks};
use crate::gesture::{self, Gesture, GestureCheck};
use crate::liveness::FrLiveness;
use crate::model::{Detection, FaceDetector, FaceEmbedder, SpoofDetector};
use crate::provision;
use crate::quality::{assess, Quality};
use crate::refine::{LandmarkRefiner, Onet};
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
/// A runner-up face whose [`dominance`] is at least this share of the dominant face's is
/// "comparably dominant": the photo is ambiguous about whom it shows (enrolment refuses it;
/// analyses still take the dominant face and say so).
pub const COMPARABLE_FACE_RATIO: f32 = 0.6;
/// Below this much context around the face (the scale of the anti-spoof crop about the
/// detector box, 1.0 = the box alone) the anti-spoof model cannot judge: on tight crops it is at
/// chance (faces-dev: AUC 0.47 on crops, every full frame ≥ 1.47, every crop ≤ 1.28). Such a
/// frame gets no liveness verdict.
pub const MIN_CONTEXT_SCALE: f32 = 1.4;

/// How much a detected face looks like *the* face of the photo: its area times its
/// centrality, `w·h · max(0, 1 − d / (½·diagonal))`, where `d` is the distance from the box
/// centre to the frame centre. Picking the largest face alone takes a bystander in about 1 %
/// of press photos; the subject of a selfie, an ID photo or a portrait is large *and* central.
pub fn dominance(bbox: &BBox, frame_w: u32, frame_h: u32) -> f32 {
    let (fw, fh) = (frame_w as f32, frame_h as f32);
    let half_diagonal = 0.5 * (fw * fw + fh * fh).sqrt();
    if half_diagonal <= 0.0 {
        return 0.0;
    }
    let (cx, cy) = (bbox.x + bbox.w / 2.0, bbox.y + bbox.h / 2.0);
    let d = ((cx - fw / 2.0).powi(2) + (cy - fh / 2.0).powi(2)).sqrt();
    bbox.area() * (1.0 - d / half_diagonal).max(0.0)
}

/// Detections ordered most dominant first (ties: larger score first).
fn by_dominance(mut dets: Vec<Detection>, frame_w: u32, frame_h: u32) -> Vec<(Detection, f32)> {
    let mut weighted: Vec<(Detection, f32)> = dets
        .drain(..)
        .map(|d| {
            let w = dominance(&d.bbox, frame_w, frame_h);
            (d, w)
        })
        .collect();
    weighted.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.score.total_cmp(&a.0.score)));
    weighted
}

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
}

/// Which identity model the engine runs (`EMERALD_EMBEDDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbedderChoice {
    /// fr_feature and the sirius-ai MobileFaceNet fused at score level (weights 0.6 / 0.4, the
    /// inverse of each model's impostor spread): the most accurate (default).
    #[default]
    Fused,
    /// fr_feature alone (512-d): Emerald's embedder before the fusion.
    FrFeature,
    /// The sirius-ai MobileFaceNet alone (192-d): the fastest, and the smallest 1:N templates.
    MobileFaceNet,
}

/// Id of the fused embedder, stored with its templates.
pub const FUSED_EMBEDDER_ID: &str =
    "fused-v1(faceplugin-fr_feature-0.0.1@87aacdfe*0.6+sirius-mobilefacenet-192@21f2591b*0.4)";
/// Fusion weights of fr_feature and the MobileFaceNet: inversely proportional to the spread
/// (standard deviation) of each model's impostor cosines on faces-dev (0.098 and 0.145), i.e.
/// the sum of impostor-z-scored cosines.
pub const FUSION_WEIGHTS: [f32; 2] = [0.6, 0.4];

impl EmbedderChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            EmbedderChoice::Fused => "fused",
            EmbedderChoice::FrFeature => "fr_feature",
            EmbedderChoice::MobileFaceNet => "mobilefacenet",
        }
    }

    /// `fused`, `fr_feature` or `mobilefacenet` (case-insensitive).
    pub fn parse(s: &str) -> Option<EmbedderChoice> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fused" => Some(EmbedderChoice::Fused),
            "fr_feature" => Some(EmbedderChoice::FrFeature),
            "mobilefacenet" => Some(EmbedderChoice::MobileFaceNet),
            _ => None,
        }
    }

    fn calibration(self) -> Calibration {
        match self {
            EmbedderChoice::Fused => FUSED_CALIBRATION,
            EmbedderChoice::FrFeature => FR_FEATURE_CALIBRATION,
            EmbedderChoice::MobileFaceNet => SIRIUS_MFN_CALIBRATION,
        }
    }

    fn load(self, models_dir: &Path) -> Result<Box<dyn FaceEmbedder>, VisionError> {
        Ok(match self {
            EmbedderChoice::Fused => Box::new(Fused::new(
                FUSED_EMBEDDER_ID,
                vec![
                    (Box::new(OnnxEmbedder::load_model(models_dir, &FR_FEATURE)?), FUSION_WEIGHTS[0]),
                    (Box::new(OnnxEmbedder::load_model(models_dir, &SIRIUS_MFN)?), FUSION_WEIGHTS[1]),
                ],
            )?),
            EmbedderChoice::FrFeature => Box::new(OnnxEmbedder::load_model(models_dir, &FR_FEATURE)?),
            EmbedderChoice::MobileFaceNet => Box::new(OnnxEmbedder::load_model(models_dir, &SIRIUS_MFN)?),
        })
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
    /// p(attack) from the passive anti-spoof model, 0..1 (0 when not computed or when the
    /// face has too little context to be judged: see `context_scale`).
    pub spoof: f32,
    /// The context the anti-spoof model gets around this face (see [`MIN_CONTEXT_SCALE`]).
    pub context_scale: f32,
    /// [`dominance`] of the face in its frame.
    pub dominance: f32,
    /// The next most dominant face's dominance over this one's (0 when alone); at or above
    /// [`COMPARABLE_FACE_RATIO`] the frame is ambiguous.
    pub runner_up_ratio: f32,
}

impl Face {
    /// Whether the anti-spoof model can judge this face (enough context around it).
    pub fn liveness_assessable(&self) -> bool {
        self.context_scale >= MIN_CONTEXT_SCALE
    }
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
    /// Per-frame p(attack) of the main face, for frames whose face could be judged.
    pub frame_spoof: Vec<f32>,
    /// Oz `confidence_spoofing` (higher = more likely an attack): the mean passive score over
    /// the frames whose face could be judged, raised to `GESTURE_MISSING_SPOOF` if a requested
    /// gesture was not performed. `None` when no frame has a face, or when no frame's face has
    /// enough context to be judged (`liveness_unassessable`).
    pub confidence_spoofing: Option<f32>,
    /// Faces were found, but every one too close or cropped too tightly for the anti-spoof
    /// model to judge: no liveness verdict can be given (the largest context seen is kept).
    pub liveness_unassessable: Option<f32>,
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
    /// Places the points faces are aligned by for the embedder (None: the detector's points).
    refiner: Option<Box<dyn LandmarkRefiner>>,
    embedder: Box<dyn FaceEmbedder>,
    spoof: Box<dyn SpoofDetector>,
    calibration: Calibration,
    /// Stored with every template: the embedder's id, and the refiner's when there is one
    /// (templates of differently aligned faces are not comparable at full accuracy).
    embedding_id: String,
}

const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Engine>();
};

impl Engine {
    /// Load the default models (YuNet, the fused embedder, fr_liveness) from `models_dir`,
    /// checking their sha256. A missing or corrupt file gives `ModelMissing` naming it and the
    /// fetch command.
    pub fn load(models_dir: &Path) -> Result<Engine, VisionError> {
        Engine::load_with(models_dir, EmbedderChoice::default())
    }

    /// Load with the chosen identity model (faces aligned by MTCNN's ONet points).
    pub fn load_with(models_dir: &Path, embedder: EmbedderChoice) -> Result<Engine, VisionError> {
        Ok(Engine::with_models(
            Box::new(YuNet::load(models_dir)?),
            embedder.load(models_dir)?,
            Box::new(FrLiveness::load(models_dir)?),
            embedder.calibration(),
        )
        .with_refiner(Box::new(Onet::load(models_dir)?)))
    }

    /// An engine over other model implementations; `calibration` is the embedder's measured
    /// false-match curve (see `calibration`).
    pub fn with_models(
        detector: Box<dyn FaceDetector>,
        embedder: Box<dyn FaceEmbedder>,
        spoof: Box<dyn SpoofDetector>,
        calibration: Calibration,
    ) -> Engine {
        let embedding_id = embedder.descriptor().id.to_owned();
        Engine { detector, refiner: None, embedder, spoof, calibration, embedding_id }
    }

    /// Align faces for the embedder by `refiner`'s points instead of the detector's. The
    /// template id becomes `<embedder id>/<refiner id>`.
    pub fn with_refiner(mut self, refiner: Box<dyn LandmarkRefiner>) -> Engine {
        self.embedding_id = format!("{}/{}", self.embedder.descriptor().id, refiner.descriptor().id);
        self.refiner = Some(refiner);
        self
    }

    /// What a cosine of this engine's embeddings means (false-match curve, confidences).
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Length of this engine's embeddings.
    pub fn embedding_dim(&self) -> usize {
        self.embedder.dim()
    }

    /// Oz 0..1 confidence (1:1) that two embeddings show the same person; None when they
    /// come from different models.
    pub fn verify_confidence(&self, a: &Embedding, b: &Embedding) -> Option<f32> {
        a.cosine(b).map(|c| self.calibration.verify_confidence(c))
    }

    /// `EMERALD_MODELS_DIR`, else `~/.cache/emerald/models`.
    pub fn default_models_dir() -> PathBuf {
        provision::default_models_dir()
    }

    pub fn model_ids(&self) -> ModelIds {
        ModelIds {
            detector: self.detector.descriptor().id.to_owned(),
            embedder: self.embedding_id.clone(),
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

    /// Detection only: the most [`dominant`](dominance) face of the image as it is (not
    /// turned), by the rule every single-face analysis uses; None without a face.
    pub fn dominant_detection(&self, img: &RgbImage) -> Result<Option<Detection>, VisionError> {
        let dets = by_dominance(self.detector.detect(img)?, img.width(), img.height());
        Ok(dets.into_iter().next().map(|(d, _)| d))
    }

    /// The points `det`'s face is aligned by for the embedder: the refiner's, or the
    /// detector's when there is no refiner or it sees no face there.
    pub fn alignment_points(&self, img: &RgbImage, det: &Detection) -> Result<Landmarks, VisionError> {
        Ok(match &self.refiner {
            Some(r) => r.refine(img, det)?.unwrap_or(det.landmarks),
            None => det.landmarks,
        })
    }

    /// The embedder's aligned crop of one detected face.
    pub fn align(&self, img: &RgbImage, landmarks: &Landmarks) -> RgbImage {
        let (side, _) = self.embedder.descriptor().input_size;
        align(img, landmarks, self.embedder.alignment_template(), side as u32)
    }

    /// Every face in the image, most [`dominant`](dominance) first, each aligned, embedded,
    /// spoof-scored and rated. An image without a face gives an empty list.
    pub fn faces_in_image(&self, img: &RgbImage) -> Result<Vec<Face>, VisionError> {
        self.faces_from(img, self.detector.detect(img)?)
    }

    fn faces_from(&self, img: &RgbImage, detections: Vec<Detection>) -> Result<Vec<Face>, VisionError> {
        let dets = by_dominance(detections, img.width(), img.height());
        let ratios = runner_up_ratios(&dets);
        dets.iter().zip(ratios).map(|((d, w), r)| self.analyse_face(img, d, *w, r, ALL_STAGES)).collect()
    }

    /// The same as `faces_in_image` for encoded image bytes (EXIF orientation applied; a photo
    /// sent sideways or upside down is righted first, see `upright`).
    pub fn faces_in_bytes(&self, bytes: &[u8]) -> Result<Vec<Face>, VisionError> {
        let (img, dets) = self.upright(decode_image(bytes)?)?;
        self.faces_from(&img, dets)
    }

    /// A single photo's upright turning and its detections. Phones and scanners often send a
    /// photo sideways or upside down without the EXIF orientation that would right it (an ID
    /// card photographed in portrait, a selfie from a turned camera). The detector finds no face
    /// in a sideways photo, and finds an upside-down face with landmarks that look upright but
    /// are not (its embedding then matches nobody), always with a lower score than the same
    /// face upright (measured: 0.78–0.88 upside down against 0.93–0.95 upright). So unless the
    /// photo as sent shows a face the detector is sure of (score ≥ 0.9), the photo is also
    /// looked at turned a quarter either way and upside down, and the turning whose best face
    /// scores highest stands for the photo. Ordinary photos pay nothing.
    fn upright(&self, img: RgbImage) -> Result<(RgbImage, Vec<Detection>), VisionError> {
        let dets = self.detector.detect(&img)?;
        if top_score(&dets) >= CONFIDENT_FACE_SCORE {
            return Ok((img, dets));
        }
        let mut best: Option<(RgbImage, Vec<Detection>)> = None;
        for turned in turnings(&img) {
            let turned_dets = self.detector.detect(&turned)?;
            let to_beat = best.as_ref().map_or(top_score(&dets), |(_, d)| top_score(d));
            if top_score(&turned_dets) > to_beat {
                best = Some((turned, turned_dets));
            }
        }
        Ok(best.unwrap_or((img, dets)))
    }

    fn analyse_face(
        &self,
        img: &RgbImage,
        det: &Detection,
        dominance: f32,
        runner_up_ratio: f32,
        stages: Stages,
    ) -> Result<Face, VisionError> {
        // Only templates need the refined points (QUALITY alone keeps the detector's).
        let points = if stages.embed { self.alignment_points(img, det)? } else { det.landmarks };
        let aligned = self.align(img, &points);
        let vector = if stages.embed { self.embedder.embed(&aligned)? } else { Vec::new() };
        let context_scale = self.spoof.context_scale(img.width(), img.height(), &det.bbox);
        // A face without enough context is not run through the model: its score would be noise.
        let spoof = if stages.spoof && context_scale >= MIN_CONTEXT_SCALE {
            self.spoof.attack_probability(img, &det.bbox)?
        } else {
            0.0
        };
        Ok(Face {
            bbox: det.bbox,
            landmarks: det.landmarks,
            det_score: det.score,
            quality: assess(&det.bbox, &det.landmarks, &aligned),
            embedding: Embedding { model_id: self.embedding_id.clone(), vector },
            spoof,
            context_scale,
            dominance,
            runner_up_ratio,
        })
    }

    /// The main (most dominant) face of a frame, fully analysed, and the number of faces.
    fn main_face(&self, img: &RgbImage, stages: Stages) -> Result<(Option<Face>, usize), VisionError> {
        self.main_face_from(img, self.detector.detect(img)?, stages)
    }

    fn main_face_from(
        &self,
        img: &RgbImage,
        detections: Vec<Detection>,
        stages: Stages,
    ) -> Result<(Option<Face>, usize), VisionError> {
        let dets = by_dominance(detections, img.width(), img.height());
        let count = dets.len();
        let ratio = runner_up_ratios(&dets).first().copied().unwrap_or(0.0);
        let main = dets.first().map(|(d, w)| self.analyse_face(img, d, *w, ratio, stages)).transpose()?;
        Ok((main, count))
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
        let stages = Stages { embed: opts.embed, spoof: opts.spoof };
        let mut faces_per_frame = Vec::new();
        let mut main_faces: Vec<(usize, Face)> = Vec::new();
        let frames = match kind {
            MediaKind::Image => {
                let (img, dets) = self.upright(decode_image(bytes)?)?;
                let (face, count) = self.main_face_from(&img, dets, stages)?;
                faces_per_frame.push(count);
                main_faces.extend(face.map(|f| (0, f)));
                vec![img]
            }
            MediaKind::ShotsSet => decode_shots(bytes, max_frames)?,
            MediaKind::Video => decode_video(bytes, max_frames)?.frames,
        };
        for (i, frame) in frames.iter().enumerate().skip(usize::from(kind == MediaKind::Image)) {
            let (face, count) = self.main_face(frame, stages)?;
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
        let frame_spoof: Vec<f32> =
            main_faces.iter().filter(|(_, f)| f.liveness_assessable()).map(|(_, f)| f.spoof).collect();
        let liveness_unassessable = (opts.spoof && !main_faces.is_empty() && frame_spoof.is_empty())
            .then(|| main_faces.iter().map(|(_, f)| f.context_scale).fold(0.0, f32::max));
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
            liveness_unassessable,
            gesture,
            model_ids: self.model_ids(),
        })
    }
}

/// A detection score at which the face is taken as upright without looking at the photo turned.
const CONFIDENT_FACE_SCORE: f32 = 0.9;

fn top_score(dets: &[Detection]) -> f32 {
    dets.iter().map(|d| d.score).fold(0.0, f32::max)
}

/// The photo turned a quarter clockwise, a quarter anticlockwise and upside down.
fn turnings(img: &RgbImage) -> impl Iterator<Item = RgbImage> + '_ {
    [image::imageops::rotate90, image::imageops::rotate270, image::imageops::rotate180].into_iter().map(move |f| f(img))
}

/// For each detection (most dominant first), the next one's dominance over its own.
fn runner_up_ratios(dets: &[(Detection, f32)]) -> Vec<f32> {
    (0..dets.len())
        .map(|i| match dets.get(i + 1) {
            Some((_, next)) if dets[i].1 > 0.0 => next / dets[i].1,
            Some(_) => 1.0,
            None => 0.0,
        })
        .collect()
}

fn best_shot(frame: &RgbImage) -> Result<Vec<u8>, VisionError> {
    match crate::scale::fit_rgb(frame, BEST_SHOT_MAX_SIDE) {
        Some(small) => encode_jpeg(&small),
        None => encode_jpeg(frame),
    }
}
