//! The domain's [`FaceEngine`] over `emerald-vision`: loads the models at start-up and
//! translates the engine's reports and errors into the domain's terms.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use emerald_vision::{Calibration, EmbedderChoice, Engine, MediaOptions, VisionError};

use crate::config::Embedder;
use crate::domain::model::face::{
    AnalyzeOptions, EngineModels, Enrolment, FaceEngine, FaceError, FaceFound, GestureOutcome, MediaFaces, Template,
    COMPARABLE_FACE_RATIO,
};
use crate::domain::model::media::MediaKind;

/// Smallest face (shorter side of the detector box, pixels) accepted for enrolment. Below it
/// the embedding is unreliable.
pub const ENROL_MIN_FACE_PX: f32 = 64.0;
/// Lowest overall quality (size, sharpness, pose, exposure; 0..1) accepted for enrolment.
pub const ENROL_MIN_QUALITY: f32 = 0.2;
/// Lowest detector score accepted for enrolment.
pub const ENROL_MIN_DET_SCORE: f32 = 0.7;

// The domain states the ambiguity rule; the engine applies it.
const _: () = assert!(COMPARABLE_FACE_RATIO == emerald_vision::COMPARABLE_FACE_RATIO);

pub struct VisionEngine {
    engine: Engine,
    calibration: Calibration,
}

fn choice(e: Embedder) -> EmbedderChoice {
    match e {
        Embedder::Fused => EmbedderChoice::Fused,
        Embedder::FrFeature => EmbedderChoice::FrFeature,
        Embedder::Mobilefacenet => EmbedderChoice::MobileFaceNet,
    }
}

/// Load the models from `dir` (or the default models directory) with the chosen embedder.
/// `Err` carries the operator-facing reason: which file is missing and the command that fetches
/// it. Loaded once per directory, embedder and process (tests start many servers; the models
/// are read-only).
pub fn load(dir: Option<&Path>, embedder: Embedder) -> Result<Arc<dyn FaceEngine>, String> {
    /// The engine loaded from a models directory with an embedder, or why it could not be.
    type Loaded = (PathBuf, Embedder, Result<Arc<dyn FaceEngine>, String>);
    static LOADED: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(Engine::default_models_dir);
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, engine)) = loaded.iter().find(|(d, e, _)| *d == dir && *e == embedder) {
        return engine.clone();
    }
    let engine: Result<Arc<dyn FaceEngine>, String> = match Engine::load_with(&dir, choice(embedder)) {
        Ok(engine) => {
            let calibration = *engine.calibration();
            Ok(Arc::new(VisionEngine { engine, calibration }))
        }
        Err(e) => Err(e.to_string()),
    };
    loaded.push((dir, embedder, engine.clone()));
    engine
}

fn face_error(e: VisionError) -> FaceError {
    match e {
        VisionError::NoFace => FaceError::NoFace,
        VisionError::Decode(m) => FaceError::Corrupt(m),
        VisionError::Unsupported(m) => FaceError::Unsupported(m),
        VisionError::TooLarge(m) => FaceError::TooLarge(m),
        other @ VisionError::DecoderMissing(_) => FaceError::Unavailable(other.to_string()),
        other @ (VisionError::ModelMissing { .. } | VisionError::Inference(_)) => FaceError::Engine(other.to_string()),
    }
}

fn kind(k: emerald_vision::MediaKind) -> MediaKind {
    match k {
        emerald_vision::MediaKind::Image => MediaKind::Image,
        emerald_vision::MediaKind::Video => MediaKind::Video,
        emerald_vision::MediaKind::ShotsSet => MediaKind::ShotsSet,
    }
}

fn enrol_problem(face: &emerald_vision::Face) -> Option<String> {
    let q = &face.quality;
    if q.face_size < ENROL_MIN_FACE_PX {
        Some(format!("the face is {:.0} px, at least {ENROL_MIN_FACE_PX:.0} px are needed", q.face_size))
    } else if face.det_score < ENROL_MIN_DET_SCORE {
        Some(format!("the face is not clearly visible (detector score {:.2})", face.det_score))
    } else if q.score < ENROL_MIN_QUALITY {
        Some(format!("the photo quality is too low ({:.2}: blurred, badly exposed or turned away)", q.score))
    } else {
        None
    }
}

fn bbox(b: &emerald_vision::BBox) -> [f32; 4] {
    [b.x, b.y, b.w, b.h]
}

fn template(face: &emerald_vision::Face) -> Template {
    Template { model_id: face.embedding.model_id.clone(), vector: face.embedding.vector.clone() }
}

fn found(face: &emerald_vision::Face) -> FaceFound {
    FaceFound {
        bbox: bbox(&face.bbox),
        det_score: face.det_score,
        size_px: face.quality.face_size,
        quality: face.quality.score,
        unusable: enrol_problem(face),
        template: template(face),
        spoof: face.spoof,
        runner_up_ratio: face.runner_up_ratio,
    }
}

impl FaceEngine for VisionEngine {
    fn models(&self) -> EngineModels {
        let ids = self.engine.model_ids();
        EngineModels { detector: ids.detector, embedder: ids.embedder, liveness: ids.liveness }
    }

    fn template_dim(&self) -> usize {
        self.engine.embedding_dim()
    }

    fn analyze(&self, bytes: &[u8], opts: &AnalyzeOptions) -> Result<MediaFaces, FaceError> {
        let mopts = MediaOptions {
            tags: opts.tags.clone(),
            want_best_shot: opts.want_best_shot,
            embed: opts.want_template,
            spoof: opts.want_spoof,
            ..MediaOptions::default()
        };
        let report = self.engine.analyze_media(bytes, &mopts).map_err(face_error)?;
        Ok(MediaFaces {
            kind: kind(report.kind),
            frames_used: report.frames_used,
            max_faces_in_frame: report.faces_per_frame.iter().copied().max().unwrap_or(0),
            best_face: report.best_face.as_ref().map(found),
            confidence_spoofing: report.confidence_spoofing,
            liveness_unassessable: report.liveness_unassessable,
            best_shot_jpeg: report.best_shot_jpeg,
            gesture: report.gesture.map(|g| GestureOutcome {
                tag: format!("{:?}", g.gesture),
                performed: g.performed,
                evidence: g.evidence,
                threshold: g.threshold,
            }),
        })
    }

    /// The photo's dominant face (large × central, `emerald_vision::dominance`) is enrolled
    /// when it is usable and no other face is comparably dominant; smaller or off-centre faces
    /// (people in the background) are left aside and reported.
    fn enrol(&self, bytes: &[u8]) -> Result<Enrolment, FaceError> {
        if emerald_vision::sniff(bytes) != Some(emerald_vision::MediaKind::Image) {
            return Err(FaceError::Unsupported("enrolment takes photos (JPEG, PNG, WebP, BMP)".into()));
        }
        let faces = self.engine.faces_in_bytes(bytes).map_err(face_error)?;
        let Some(main) = faces.first() else { return Err(FaceError::NoFace) };
        let comparable =
            1 + faces[1..].iter().filter(|f| f.dominance >= COMPARABLE_FACE_RATIO * main.dominance).count();
        if comparable > 1 {
            return Err(FaceError::ManyFaces(comparable));
        }
        if let Some(why) = enrol_problem(main) {
            return Err(FaceError::Unusable(why));
        }
        Ok(Enrolment {
            template: template(main),
            face_box: bbox(&main.bbox),
            other_faces: faces[1..].iter().map(|f| bbox(&f.bbox)).collect(),
        })
    }

    fn dominant_face(&self, img: &image::RgbImage) -> Result<Option<([f32; 4], f32)>, FaceError> {
        let best = self.engine.dominant_detection(img).map_err(face_error)?;
        Ok(best.map(|d| (bbox(&d.bbox), d.score)))
    }

    fn confidence(&self, a: &Template, b: &Template) -> Option<f32> {
        a.cosine(b).map(|c| self.calibration.verify_confidence(c))
    }

    fn search_confidence(&self, cosine: f32, gallery: usize) -> f32 {
        self.calibration.search_confidence(cosine, gallery)
    }

    fn search_cosine(&self, confidence: f32, gallery: usize) -> Option<f32> {
        self.calibration.search_cosine(confidence, gallery)
    }
}
