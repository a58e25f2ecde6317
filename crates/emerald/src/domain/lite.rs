//! Oz API Lite (spec §14): the stateless face service. Image in, template or decision out; no
//! store, no folders, no users. The rules live here: the template format, which face of a photo
//! is meant, the 1:1 and 1:N decisions and the liveness verdict. The wire translation is
//! `api::lite`.
//!
//! Decisions use the full API's thresholds and calibration, so one pair of photos gets the same
//! answer from `POST /v1/face/pattern/extract_and_compare` as from a BIOMETRY analysis
//! (`EMERALD_BIOMETRY_THRESHOLD` on the 1:1 confidence) and one photo the same liveness verdict
//! as a QUALITY analysis (`EMERALD_QUALITY_THRESHOLD` on `confidence_spoofing`).
//!
//! # Template format (version 1)
//!
//! Templates are opaque to clients but self-describing, so a template made by one embedder is
//! never silently compared with one of another (the score would be meaningless):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | magic `EMTP` |
//! | 4 | 1 | format version, `1` |
//! | 5 | 1 | length `L` of the model id (1..=255) |
//! | 6 | `L` | model id, UTF-8 (the embedder that made the template, e.g. `fused:…`) |
//! | 6+`L` | 2 | dimension `D`, little-endian u16 |
//! | 8+`L` | 4·`D` | the L2-normalised embedding, `D` little-endian f32 |
//!
//! Nothing follows. A template whose length, magic, version, model id or values do not fit this
//! is refused (code 4), as is one made by a model other than the running embedder.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::domain::analyses::evaluate::CANNOT_ASSESS;
use crate::domain::error::{Error, Result};
use crate::domain::model::analysis::{decide_biometry, decide_quality, Resolution};
use crate::domain::model::face::{
    AnalyzeOptions, EngineModels, FaceEngine, FaceError, FaceFound, Template, COMPARABLE_FACE_RATIO,
};

/// The first four bytes of every template.
pub const TEMPLATE_MAGIC: &[u8; 4] = b"EMTP";
/// The template format version this server writes and reads.
pub const TEMPLATE_VERSION: u8 = 1;
/// Largest norm deviation of a stored vector from 1 before it is taken as corrupt.
const UNIT_NORM_TOLERANCE: f32 = 1e-2;
/// Most candidate templates in one 1:N request (`compare_n`, `verify_n`).
pub const MAX_CANDIDATES: usize = 10_000;

/// Settings of the Lite service.
#[derive(Debug, Clone)]
pub struct LiteSettings {
    /// A 1:1 or 1:N confidence at or above it is `approved` (`EMERALD_BIOMETRY_THRESHOLD`).
    pub biometry_threshold: f64,
    /// A spoof score at or above it fails liveness (`EMERALD_QUALITY_THRESHOLD`).
    pub quality_threshold: f64,
    /// Largest image, bytes (`EMERALD_MAX_FILE_BYTES`).
    pub max_image_bytes: usize,
    /// Most candidate images in `extract_and_compare_n` (`EMERALD_MAX_FILES_PER_REQUEST`).
    pub max_candidate_images: usize,
}

impl Default for LiteSettings {
    fn default() -> Self {
        LiteSettings {
            biometry_threshold: 0.85,
            quality_threshold: 0.5,
            max_image_bytes: 10 * 1024 * 1024,
            max_candidate_images: 10,
        }
    }
}

/// `approved` or `declined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Declined,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Declined => "declined",
        }
    }
}

/// A 1:1 result: the calibrated confidence (0..1) and the decision at the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub score: f32,
    pub decision: Decision,
}

/// One candidate of a 1:N request: its position among the candidates (0-based, in request
/// order) and its result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub index: usize,
    pub comparison: Comparison,
}

/// A passive liveness verdict: the spoof probability (Oz `confidence_spoofing`) and whether it
/// is below the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Liveness {
    pub passed: bool,
    pub score: f32,
}

/// Whether the engine can serve: status 0 = OK, 3 = inoperative (spec §14).
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub status: u8,
    pub message: String,
}

/// The template bytes of spec §14 ([module docs](self)).
pub fn encode_template(t: &Template) -> Vec<u8> {
    let id = t.model_id.as_bytes();
    let id = &id[..id.len().min(u8::MAX as usize)];
    let mut out = Vec::with_capacity(8 + id.len() + 4 * t.vector.len());
    out.extend_from_slice(TEMPLATE_MAGIC);
    out.push(TEMPLATE_VERSION);
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out.extend_from_slice(&(t.vector.len() as u16).to_le_bytes());
    for x in &t.vector {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn bad_template(part: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid_value(format!("{part} is not a valid face template: {why}"), json!({ "key_path": part }))
}

/// Read template bytes; `part` names the input in errors (a multipart part name).
pub fn decode_template(bytes: &[u8], part: &str) -> Result<Template> {
    if bytes.len() < 8 || &bytes[..4] != TEMPLATE_MAGIC {
        return Err(bad_template(
            part,
            "it does not start with the template magic (a template comes from /v1/face/pattern/extract)",
        ));
    }
    if bytes[4] != TEMPLATE_VERSION {
        return Err(bad_template(
            part,
            format!("format version {} is not supported (this server reads version {TEMPLATE_VERSION})", bytes[4]),
        ));
    }
    let id_len = bytes[5] as usize;
    let header = 6 + id_len + 2;
    if id_len == 0 || bytes.len() < header {
        return Err(bad_template(part, "the header is truncated"));
    }
    let model_id =
        std::str::from_utf8(&bytes[6..6 + id_len]).map_err(|_| bad_template(part, "the model id is not UTF-8"))?;
    let dim = u16::from_le_bytes([bytes[6 + id_len], bytes[7 + id_len]]) as usize;
    if dim == 0 || bytes.len() != header + 4 * dim {
        return Err(bad_template(
            part,
            format!("{} bytes where a {dim}-value template has {}", bytes.len(), header + 4 * dim),
        ));
    }
    let vector: Vec<f32> =
        bytes[header..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || (norm - 1.0).abs() > UNIT_NORM_TOLERANCE {
        return Err(bad_template(part, "its values are not a unit vector (corrupted)"));
    }
    Ok(Template { model_id: model_id.to_owned(), vector })
}

/// The container format of `bytes` when it is a photo this service takes.
pub fn image_format(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("webp")
    } else if starts(b"BM") && bytes.len() > 14 {
        Some("bmp")
    } else {
        None
    }
}

/// What a photo is needed for: the template of its face, or its liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A template to keep (`extract`): the face must also be usable for enrolment.
    Keep,
    /// A template to compare at once (verify, extract_and_compare): as BIOMETRY takes it.
    Compare,
    Liveness,
}

/// The Lite service over a face engine. Cheap to clone.
#[derive(Clone)]
pub struct Lite {
    faces: std::result::Result<Arc<dyn FaceEngine>, String>,
    /// Concurrent engine calls (one per core).
    slots: Arc<Semaphore>,
    pub settings: LiteSettings,
}

impl Lite {
    /// `engine_slots` bounds concurrent engine calls (the full server shares its analyses' slots).
    pub fn new(
        faces: std::result::Result<Arc<dyn FaceEngine>, String>,
        settings: LiteSettings,
        engine_slots: Arc<Semaphore>,
    ) -> Self {
        Lite { faces, slots: engine_slots, settings }
    }

    /// The engine, or code 2 naming what is missing.
    fn engine(&self) -> Result<&Arc<dyn FaceEngine>> {
        self.faces.as_ref().map_err(|why| Error::NotRealized(why.clone()))
    }

    /// The running models, None when the engine is not loaded.
    pub fn models(&self) -> Option<EngineModels> {
        self.faces.as_ref().ok().map(|f| f.models())
    }

    pub fn health(&self) -> Health {
        match &self.faces {
            Ok(_) => Health { status: 0, message: "OK".into() },
            Err(why) => Health { status: 3, message: format!("inoperative: {why}") },
        }
    }

    /// Check an image input before any decoding: present, small enough, a photo.
    fn check_image(&self, bytes: &[u8], part: &str) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::invalid_value(
                format!("{part} is empty: an image is expected"),
                json!({ "key_path": part }),
            ));
        }
        if bytes.len() > self.settings.max_image_bytes {
            return Err(Error::invalid_value(
                format!("{part} is larger than the limit of {} bytes", self.settings.max_image_bytes),
                json!({ "key_path": part, "limit": self.settings.max_image_bytes }),
            ));
        }
        if image_format(bytes).is_none() {
            return Err(Error::invalid_value(
                format!("{part} is not an image: JPEG or PNG (also WebP, BMP) is expected"),
                json!({ "key_path": part }),
            ));
        }
        Ok(())
    }

    /// The meant face of one photo (the dominant one, refused when another is comparably
    /// dominant), on the blocking pool holding an engine slot.
    async fn face(&self, bytes: bytes::Bytes, part: &str, purpose: Purpose) -> Result<FaceWithSpoof> {
        self.check_image(&bytes, part)?;
        let engine = self.engine()?.clone();
        let opts = AnalyzeOptions {
            tags: Vec::new(),
            want_best_shot: false,
            want_template: purpose != Purpose::Liveness,
            want_spoof: purpose == Purpose::Liveness,
        };
        let _slot = self.slots.clone().acquire_owned().await.map_err(Error::internal)?;
        let analyzed = tokio::task::spawn_blocking(move || engine.analyze(&bytes, &opts))
            .await
            .map_err(|e| Error::internal(anyhow::anyhow!("the face engine task died: {e}")))?;
        let at = |e: FaceError| match e {
            FaceError::Engine(m) => Error::internal(anyhow::anyhow!("face engine: {m}")),
            FaceError::Unavailable(m) => Error::NotRealized(m),
            other => Error::invalid_value(format!("{part}: {other}"), json!({ "key_path": part })),
        };
        let media = analyzed.map_err(at)?;
        let Some(face) = media.best_face else { return Err(at(FaceError::NoFace)) };
        if face.runner_up_ratio >= COMPARABLE_FACE_RATIO {
            return Err(Error::invalid_value(
                format!(
                    "{part}: {} faces found, at least two of comparable size and position; the photo must show one \
                     person clearly",
                    media.max_faces_in_frame.max(2)
                ),
                json!({ "key_path": part, "faces": media.max_faces_in_frame }),
            ));
        }
        if purpose == Purpose::Keep {
            if let Some(why) = &face.unusable {
                return Err(at(FaceError::Unusable(why.clone())));
            }
        }
        Ok(FaceWithSpoof { face, spoof: media.confidence_spoofing, unassessable: media.liveness_unassessable })
    }

    /// `extract`: the template of the photo's face, which must be usable for enrolment.
    pub async fn extract(&self, image: bytes::Bytes, part: &str) -> Result<Template> {
        Ok(self.face(image, part, Purpose::Keep).await?.face.template)
    }

    /// The template of a photo to compare at once.
    pub async fn probe(&self, image: bytes::Bytes, part: &str) -> Result<Template> {
        Ok(self.face(image, part, Purpose::Compare).await?.face.template)
    }

    /// Several photos' templates, concurrently (the engine slots bound it), in order.
    pub async fn probes(&self, images: Vec<(String, bytes::Bytes)>) -> Result<Vec<Template>> {
        futures::future::try_join_all(
            images.into_iter().map(|(part, bytes)| async move { self.probe(bytes, &part).await }),
        )
        .await
    }

    /// `liveness/detect`: the spoof score of the photo's face and the verdict.
    pub async fn liveness(&self, image: bytes::Bytes, part: &str) -> Result<Liveness> {
        let found = self.face(image, part, Purpose::Liveness).await?;
        match (found.spoof, found.unassessable) {
            (Some(score), _) => Ok(Liveness {
                passed: decide_quality(score as f64, self.settings.quality_threshold) == Resolution::Success,
                score,
            }),
            (None, context) => Err(Error::invalid_value(
                format!("{part}: {CANNOT_ASSESS}"),
                json!({ "key_path": part, "face_context": context }),
            )),
        }
    }

    /// Refuse a template the running embedder did not make (its score would be meaningless).
    fn check_model(&self, engine: &dyn FaceEngine, t: &Template, part: &str) -> Result<()> {
        let running = engine.models().embedder;
        if t.model_id != running || t.vector.len() != engine.template_dim() {
            return Err(Error::invalid_value(
                format!(
                    "{part} was made by the face model {:?}; this server runs {running:?}: templates of different \
                     models cannot be compared (extract them again here)",
                    t.model_id
                ),
                json!({ "key_path": part, "template_model": t.model_id, "server_model": running }),
            ));
        }
        Ok(())
    }

    /// 1:1: the calibrated confidence of two templates and the decision.
    pub fn compare(&self, a: (&Template, &str), b: (&Template, &str)) -> Result<Comparison> {
        let engine = self.engine()?;
        if a.0.model_id != b.0.model_id {
            return Err(Error::invalid_value(
                format!(
                    "{} and {} were made by different face models ({:?} and {:?}): templates of different models \
                     cannot be compared",
                    a.1, b.1, a.0.model_id, b.0.model_id
                ),
                json!({ "key_path": b.1, "template_models": [a.0.model_id, b.0.model_id] }),
            ));
        }
        self.check_model(engine.as_ref(), a.0, a.1)?;
        self.check_model(engine.as_ref(), b.0, b.1)?;
        let score = engine.confidence(a.0, b.0).ok_or_else(|| self.mismatch(a, b))?;
        Ok(Comparison { score, decision: self.decide(score) })
    }

    fn mismatch(&self, a: (&Template, &str), b: (&Template, &str)) -> Error {
        Error::invalid_value(
            format!("{} and {} cannot be compared (different models or lengths)", a.1, b.1),
            json!({ "key_path": b.1 }),
        )
    }

    fn decide(&self, score: f32) -> Decision {
        match decide_biometry(score as f64, self.settings.biometry_threshold, None) {
            Resolution::Success => Decision::Approved,
            _ => Decision::Declined,
        }
    }

    /// 1:N: the probe against every candidate, best first (ties in request order). Confidences
    /// are the 1:N calibration for a gallery of the candidates' count, as COLLECTION searches
    /// use: the more candidates, the higher the similarity a given confidence needs.
    pub fn compare_n(&self, probe: (&Template, &str), candidates: &[(Template, String)]) -> Result<Vec<Ranked>> {
        let engine = self.engine()?;
        if candidates.is_empty() {
            return Err(Error::InvalidStructure {
                message: "no candidate: a 1:N request needs at least one candidate after the probe".into(),
                details: serde_json::Value::Null,
            });
        }
        if candidates.len() > MAX_CANDIDATES {
            return Err(Error::invalid_value(
                format!("{} candidates: at most {MAX_CANDIDATES} in one request", candidates.len()),
                json!({ "limit": MAX_CANDIDATES }),
            ));
        }
        self.check_model(engine.as_ref(), probe.0, probe.1)?;
        let n = candidates.len();
        let mut ranked = Vec::with_capacity(n);
        for (index, (t, part)) in candidates.iter().enumerate() {
            self.check_model(engine.as_ref(), t, part)?;
            let cosine = probe.0.cosine(t).ok_or_else(|| self.mismatch(probe, (t, part)))?;
            let score = engine.search_confidence(cosine, n);
            ranked.push(Ranked { index, comparison: Comparison { score, decision: self.decide(score) } });
        }
        ranked.sort_by(|a, b| b.comparison.score.total_cmp(&a.comparison.score).then(a.index.cmp(&b.index)));
        Ok(ranked)
    }
}

/// The meant face of a photo and, when asked, its liveness.
struct FaceWithSpoof {
    face: FaceFound,
    spoof: Option<f32>,
    unassessable: Option<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dim: usize) -> Vec<f32> {
        let v = vec![1.0f32; dim];
        let n = (dim as f32).sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn templates_round_trip() {
        let t = Template { model_id: "fused:test".into(), vector: unit(704) };
        let bytes = encode_template(&t);
        assert_eq!(&bytes[..4], TEMPLATE_MAGIC);
        assert_eq!(bytes.len(), 8 + "fused:test".len() + 4 * 704);
        assert_eq!(decode_template(&bytes, "t").unwrap(), t);
    }

    #[test]
    fn wrong_template_bytes_are_refused_with_the_reason() {
        let t = Template { model_id: "m".into(), vector: unit(4) };
        let good = encode_template(&t);
        let reason = |bytes: &[u8]| decode_template(bytes, "bio_template").unwrap_err().to_string();
        assert!(reason(b"\xff\xd8\xff\xe0 not a template").contains("magic"));
        let mut v2 = good.clone();
        v2[4] = 2;
        assert!(reason(&v2).contains("version 2"));
        assert!(reason(&good[..good.len() - 1]).contains("bytes where"));
        let mut longer = good.clone();
        longer.push(0);
        assert!(reason(&longer).contains("bytes where"));
        let mut scaled = good.clone();
        let at = good.len() - 4;
        scaled[at..].copy_from_slice(&3.0f32.to_le_bytes());
        assert!(reason(&scaled).contains("unit vector"));
        assert!(reason(&good[..8]).contains("truncated"));
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_format(b"\xff\xd8\xff\xe0...."), Some("jpeg"));
        assert_eq!(image_format(b"\x89PNG\r\n\x1a\n...."), Some("png"));
        assert_eq!(image_format(b"{\"json\": 1}"), None);
        assert_eq!(image_format(b"EMTP\x01"), None);
    }
}
