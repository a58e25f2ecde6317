//! The domain's [`FaceEngine`] over `emerald-vision`: loads the models at start-up and
//! translates the engine's reports and errors into the domain's terms.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use emerald_vision::{Engine, MediaOptions, VisionError};

use crate::domain::faces::{
    AnalyzeOptions, EngineModels, FaceEngine, FaceError, FaceFound, GestureOutcome, MediaFaces, Template,
};
use crate::domain::media::MediaKind;

/// Smallest face (shorter side of the detector box, pixels) accepted for enrolment. Below it
/// the embedding is unreliable; smaller faces in the background of a photo are ignored.
pub const ENROL_MIN_FACE_PX: f32 = 64.0;
/// Lowest overall quality (size, sharpness, pose, exposure; 0..1) accepted for enrolment.
pub const ENROL_MIN_QUALITY: f32 = 0.2;
/// Lowest detector score accepted for enrolment.
pub const ENROL_MIN_DET_SCORE: f32 = 0.7;

pub struct VisionEngine {
    engine: Engine,
}

/// Load the default models from `dir` (or the default models directory). `Err` carries the
/// operator-facing reason: which file is missing and the command that fetches it.
/// Loaded once per directory and process (tests start many servers; the models are read-only).
pub fn load(dir: Option<&Path>) -> Result<Arc<dyn FaceEngine>, String> {
    /// The engine loaded from a models directory, or why it could not be.
    type Loaded = (PathBuf, Result<Arc<dyn FaceEngine>, String>);
    static LOADED: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(Engine::default_models_dir);
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, engine)) = loaded.iter().find(|(d, _)| *d == dir) {
        return engine.clone();
    }
    let engine: Result<Arc<dyn FaceEngine>, String> = match Engine::load(&dir) {
        Ok(engine) => Ok(Arc::new(VisionEngine { engine })),
        Err(e) => Err(e.to_string()),
    };
    loaded.push((dir, engine.clone()));
    engine
}

fn face_error(e: VisionError) -> FaceError {
    match e {
        VisionError::NoFace => FaceError::NoFace,
        VisionError::Decode(m) => FaceError::Corrupt(m),
        VisionError::Unsupported(m) => FaceError::Unsupported(m),
        VisionError::TooLarge(m) => FaceError::TooLarge(m),
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

fn found(face: &emerald_vision::Face) -> FaceFound {
    FaceFound {
        bbox: [face.bbox.x, face.bbox.y, face.bbox.w, face.bbox.h],
        det_score: face.det_score,
        size_px: face.quality.face_size,
        quality: face.quality.score,
        unusable: enrol_problem(face),
        template: Template { model_id: face.embedding.model_id.clone(), vector: face.embedding.vector.clone() },
        spoof: face.spoof,
    }
}

impl FaceEngine for VisionEngine {
    fn models(&self) -> EngineModels {
        let ids = self.engine.model_ids();
        EngineModels { detector: ids.detector, embedder: ids.embedder, liveness: ids.liveness }
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
            best_shot_jpeg: report.best_shot_jpeg,
            gesture: report.gesture.map(|g| GestureOutcome {
                tag: format!("{:?}", g.gesture),
                performed: g.performed,
                evidence: g.evidence,
                threshold: g.threshold,
            }),
        })
    }

    fn enrol(&self, bytes: &[u8]) -> Result<Template, FaceError> {
        if emerald_vision::sniff(bytes) != Some(emerald_vision::MediaKind::Image) {
            return Err(FaceError::Unsupported("enrolment takes photos (JPEG, PNG, WebP, BMP)".into()));
        }
        let faces = self.engine.faces_in_bytes(bytes).map_err(face_error)?;
        // Faces too small to matter (people in the background) do not count against the rule.
        let large: Vec<_> = faces.iter().filter(|f| f.quality.face_size >= ENROL_MIN_FACE_PX).collect();
        match (large.as_slice(), faces.first()) {
            (_, None) => Err(FaceError::NoFace),
            ([], Some(small)) => {
                Err(FaceError::Unusable(enrol_problem(small).unwrap_or_else(|| "the face is too small".into())))
            }
            ([one], _) => match enrol_problem(one) {
                Some(why) => Err(FaceError::Unusable(why)),
                None => Ok(Template { model_id: one.embedding.model_id.clone(), vector: one.embedding.vector.clone() }),
            },
            (many, _) => Err(FaceError::ManyFaces(many.len())),
        }
    }

    fn confidence(&self, a: &Template, b: &Template) -> Option<f32> {
        (a.model_id == b.model_id)
            .then(|| emerald_vision::cosine(&a.vector, &b.vector))
            .flatten()
            .map(emerald_vision::similarity_to_confidence)
    }

    fn cosine_for_confidence(&self, confidence: f32) -> Option<f32> {
        emerald_vision::confidence_to_similarity(confidence)
    }
}
