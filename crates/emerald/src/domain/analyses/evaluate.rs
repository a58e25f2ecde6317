//! Running one analysis over its media's bytes: the face engine (on the blocking pool, bounded
//! by the engine slots), the blacklist search, and the rules that turn scores into a result
//! (spec §8.4, §8.5). Shared by the queue workers and Instant mode: nothing here stores
//! anything; best shots come back in memory ([`OutputImage::Inline`]).
//!
//! A media that cannot be decoded fails its analysis with a reason (code 4), never the worker;
//! an engine panic is caught and fails the analysis (code 0).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Map, Value};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::documents;
use crate::domain::model::analysis::{
    decide_biometry, decide_collection, decide_quality, Analysis, AnalysisError, AnalysisState, AnalysisType,
    MediaResult, OutputImage, Resolution, COLLECTION_DEFAULT_K,
};
use crate::domain::model::blacklist::BlacklistHit;
use crate::domain::model::face::{AnalyzeOptions, FaceError, MediaFaces, Template};
use crate::domain::model::media::MediaKind;
use crate::domain::Domain;

/// One media of an analysis: what it is and its bytes (or why they could not be read).
#[derive(Debug, Clone)]
pub struct MediaInput {
    pub media_id: Uuid,
    pub kind: MediaKind,
    pub tags: Vec<String>,
    pub bytes: Result<Bytes, String>,
    /// Set when other analyses of the same request use this media too: one engine pass then
    /// serves them all (see [`Shared`]).
    pub shared: Option<Shared>,
}

/// What the engine computes over a media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// The best face's template (BIOMETRY, COLLECTION).
    pub template: bool,
    /// Anti-spoofing (QUALITY).
    pub spoof: bool,
    pub best_shot: bool,
}

/// A media used by several analyses of one group (one request): the union of what they need,
/// computed once and handed to each ([`FaceCache`]). Every analysis of a group is created in
/// one transaction and stays PROCESSING until it finishes, so the first of them to look sees
/// all the others and its union covers whatever a later one needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shared {
    pub group_id: Uuid,
    pub needs: Needs,
}

impl Shared {
    /// For `media_id` among `group` (the analyses of one group still to run): None unless two
    /// or more of them use it.
    pub fn of(group: &[Analysis], media_id: Uuid) -> Option<Shared> {
        let users: Vec<&Analysis> = group.iter().filter(|a| a.source_media.contains(&media_id)).collect();
        if users.len() < 2 {
            return None;
        }
        let needs = users.iter().fold(Needs::default(), |n, a| {
            let own = needs_of(a.kind, a.kind == AnalysisType::Quality && a.params.extract_best_shot);
            Needs {
                template: n.template || own.template,
                spoof: n.spoof || own.spoof,
                best_shot: n.best_shot || own.best_shot,
            }
        });
        Some(Shared { group_id: users[0].group_id, needs })
    }
}

/// Only the models a type needs run: QUALITY anti-spoofing, BIOMETRY and COLLECTION the
/// embedder; DOCUMENTS reads the MRZ without the face engine.
fn needs_of(kind: AnalysisType, want_best_shot: bool) -> Needs {
    match kind {
        AnalysisType::Quality => Needs { template: false, spoof: true, best_shot: want_best_shot },
        AnalysisType::Biometry | AnalysisType::Collection => {
            Needs { template: true, spoof: false, best_shot: want_best_shot }
        }
        AnalysisType::Documents => Needs::default(),
    }
}

/// Engine results of media shared by the analyses of a group, each computed once (the first
/// analysis to ask runs the engine, the others wait for its result). Entries live two minutes
/// at most and the cache holds at most 256 of them; Instant mode forgets its group as soon as
/// its request is answered.
#[derive(Clone, Default)]
pub struct FaceCache {
    cells: Arc<Mutex<HashMap<(Uuid, Uuid), SharedCell>>>,
}

/// (group, media) → when the entry was made, and the result once computed.
type SharedCell = (Instant, Arc<OnceCell<Analyzed>>);

const SHARED_TTL: Duration = Duration::from_secs(120);
const SHARED_MAX: usize = 256;

impl FaceCache {
    fn cell(&self, group_id: Uuid, media_id: Uuid) -> Arc<OnceCell<Analyzed>> {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.retain(|_, (born, _)| born.elapsed() < SHARED_TTL);
        if cells.len() >= SHARED_MAX {
            // Only sharing is lost: whoever holds a cell keeps it.
            cells.clear();
        }
        cells.entry((group_id, media_id)).or_insert_with(|| (Instant::now(), Arc::default())).1.clone()
    }

    /// Drop the results kept for a group.
    pub fn forget_group(&self, group_id: Uuid) {
        self.cells.lock().unwrap_or_else(|e| e.into_inner()).retain(|(g, _), _| *g != group_id);
    }

    /// Whether results of this group are kept.
    pub fn holds_group(&self, group_id: Uuid) -> bool {
        self.cells.lock().unwrap_or_else(|e| e.into_inner()).keys().any(|(g, _)| *g == group_id)
    }
}

/// The result of running an analysis.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: AnalysisState,
    pub resolution: Resolution,
    pub results_data: Option<Map<String, Value>>,
    pub results_media: Vec<MediaResult>,
    pub error: Option<AnalysisError>,
    /// COLLECTION: hits at or above the threshold, to persist.
    pub matches: Vec<BlacklistHit>,
    pub collection_alias: Option<String>,
}

impl Outcome {
    pub fn failed(code: u16, message: impl Into<String>) -> Outcome {
        Outcome {
            state: AnalysisState::Failed,
            resolution: Resolution::Failed,
            results_data: None,
            results_media: Vec::new(),
            error: Some(AnalysisError { code, message: message.into() }),
            matches: Vec::new(),
            collection_alias: None,
        }
    }

    fn finished(resolution: Resolution, results_data: Map<String, Value>, results_media: Vec<MediaResult>) -> Outcome {
        Outcome {
            state: AnalysisState::Finished,
            resolution,
            results_data: Some(results_data),
            results_media,
            error: None,
            matches: Vec::new(),
            collection_alias: None,
        }
    }
}

/// Why a media has no usable face, for its `results_data.error_message`.
const NO_FACE: &str = "no face found in the media";
/// Why a media with a face gets no liveness verdict (see `emerald_vision::MIN_CONTEXT_SCALE`).
pub const CANNOT_ASSESS: &str = "cannot assess liveness: the face is too close to the camera or the photo is cropped \
     too tightly; retake it with the whole head and some background in view";
/// Error code of a QUALITY analysis that could not judge its media: the media is unfit, as an
/// undecodable one is (code 4), not an attack.
pub const CANNOT_ASSESS_CODE: u16 = 4;

/// A media's engine result, or the failure of the whole analysis.
type Analyzed = Result<MediaFaces, Outcome>;

fn round(v: f32) -> Value {
    // Scores are f32; print them as the f64 nearest to their shortest decimal form.
    let s = format!("{v}");
    s.parse::<f64>().map(Value::from).unwrap_or(Value::Null)
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Domain {
    /// Run `analysis` over `inputs` (its media, in order).
    pub async fn evaluate(&self, analysis: &Analysis, inputs: Vec<MediaInput>) -> Outcome {
        match analysis.kind {
            AnalysisType::Quality => self.evaluate_quality(analysis, inputs).await,
            AnalysisType::Biometry => self.evaluate_biometry(analysis, inputs).await,
            AnalysisType::Collection => self.evaluate_collection(analysis, inputs).await,
            AnalysisType::Documents => self.evaluate_documents(analysis, inputs).await,
        }
    }

    /// What the engine finds in one media for an analysis of `kind`: computed for this
    /// analysis alone, or once for every analysis of its group that uses the media.
    async fn analyze_input(&self, input: &MediaInput, kind: AnalysisType, want_best_shot: bool) -> Analyzed {
        let Some(shared) = input.shared else { return self.run_engine(input, needs_of(kind, want_best_shot)).await };
        let cell = self.face_cache.cell(shared.group_id, input.media_id);
        let mut faces = cell.get_or_init(|| self.run_engine(input, shared.needs)).await.clone()?;
        if !want_best_shot {
            // Another analysis of the group asked for it.
            faces.best_shot_jpeg = None;
        }
        Ok(faces)
    }

    /// The engine over one media's bytes, on the blocking pool, holding an engine slot,
    /// computing `needs`.
    async fn run_engine(&self, input: &MediaInput, needs: Needs) -> Analyzed {
        let id = input.media_id;
        let bytes = match &input.bytes {
            Ok(b) => b.clone(),
            Err(why) => return Err(Outcome::failed(0, format!("media {id}: the stored file cannot be read: {why}"))),
        };
        let engine = match self.faces() {
            Ok(e) => e.clone(),
            Err(e) => return Err(Outcome::failed(2, e.to_string())),
        };
        let _slot = self.engine_slots.clone().acquire_owned().await;
        let opts = AnalyzeOptions {
            tags: input.tags.clone(),
            want_best_shot: needs.best_shot,
            want_template: needs.template,
            want_spoof: needs.spoof,
        };
        self.engine_runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("emerald_engine_runs_total").increment(1);
        let joined = tokio::task::spawn_blocking(move || engine.analyze(&bytes, &opts)).await;
        match joined {
            Ok(Ok(faces)) => Ok(faces),
            Ok(Err(FaceError::NoFace | FaceError::ManyFaces(_) | FaceError::Unusable(_))) => Ok(MediaFaces {
                kind: input.kind,
                frames_used: 0,
                max_faces_in_frame: 0,
                best_face: None,
                confidence_spoofing: None,
                liveness_unassessable: None,
                best_shot_jpeg: None,
                gesture: None,
            }),
            Ok(Err(e @ (FaceError::Corrupt(_) | FaceError::Unsupported(_) | FaceError::TooLarge(_)))) => {
                // The message names what was found (for a video: container, codec, frame size).
                tracing::warn!(media_id = %id, kind = %input.kind, error = %e, "media cannot be analysed");
                Err(Outcome::failed(4, format!("media {id}: {e}")))
            }
            Ok(Err(e @ FaceError::Unavailable(_))) => {
                tracing::error!(media_id = %id, error = %e, "media cannot be analysed on this server");
                Err(Outcome::failed(2, format!("media {id}: {e}")))
            }
            Ok(Err(e @ FaceError::Engine(_))) => {
                tracing::error!(media_id = %id, error = %e, "face engine failure");
                Err(Outcome::failed(0, format!("media {id}: {e}")))
            }
            Err(join) => {
                tracing::error!(media_id = %id, panicked = join.is_panic(), "face engine task died");
                Err(Outcome::failed(0, format!("media {id}: the face engine crashed on this media")))
            }
        }
    }

    async fn evaluate_quality(&self, a: &Analysis, inputs: Vec<MediaInput>) -> Outcome {
        let threshold = a.threshold.unwrap_or(self.thresholds.quality);
        let mut results = Vec::with_capacity(inputs.len());
        let mut worst: Option<f32> = None;
        let mut faceless = 0usize;
        let mut unassessable: Vec<uuid::Uuid> = Vec::new();
        // Every media at once (the engine slots bound the parallelism), results in order.
        let analyzed = futures::future::join_all(
            inputs.iter().map(|input| self.analyze_input(input, AnalysisType::Quality, a.params.extract_best_shot)),
        )
        .await;
        for (input, faces) in inputs.iter().zip(analyzed) {
            let faces = match faces {
                Ok(f) => f,
                Err(failed) => return failed,
            };
            let mut data = Map::new();
            match (faces.confidence_spoofing, faces.liveness_unassessable) {
                (Some(c), _) => {
                    data.insert("confidence_spoofing".into(), round(c));
                    worst = Some(worst.map_or(c, |w| w.max(c)));
                }
                (None, Some(context)) => {
                    unassessable.push(input.media_id);
                    data.insert("confidence_spoofing".into(), Value::Null);
                    data.insert("error_message".into(), CANNOT_ASSESS.into());
                    data.insert("face_context".into(), round(context));
                }
                (None, None) => {
                    faceless += 1;
                    data.insert("confidence_spoofing".into(), Value::Null);
                    data.insert("error_message".into(), NO_FACE.into());
                }
            }
            if let Some(g) = &faces.gesture {
                data.insert("gesture".into(), json!({ "tag": g.tag, "performed": g.performed }));
            }
            let output_images = faces.best_shot_jpeg.map(OutputImage::Inline).into_iter().collect();
            results.push(MediaResult {
                source_media_id: input.media_id,
                results_data: data,
                output_images,
                person_id: None,
            });
        }
        let attack = worst.is_some_and(|w| decide_quality(w as f64, threshold) == Resolution::Declined);
        let mut data = map(json!({ "confidence_spoofing": worst.map(round).unwrap_or(Value::Null) }));
        if faceless > 0 {
            data.insert(
                "error_message".into(),
                format!("no face found in {faceless} of {} media", inputs.len()).into(),
            );
        }
        // An attack seen anywhere declines; a media without a face declines (nothing to
        // judge); a media whose face cannot be judged fails the analysis like an unfit media
        // (code 4) — neither a pass nor an attack.
        if !attack && faceless == 0 && !unassessable.is_empty() {
            let ids: Vec<String> = unassessable.iter().map(|id| id.to_string()).collect();
            let message = format!("media {}: {CANNOT_ASSESS}", ids.join(", "));
            data.insert("error_message".into(), message.clone().into());
            return Outcome {
                results_data: Some(data),
                results_media: results,
                ..Outcome::failed(CANNOT_ASSESS_CODE, message)
            };
        }
        let resolution = match worst {
            _ if attack || faceless > 0 => Resolution::Declined,
            Some(_) => Resolution::Success,
            None => Resolution::Declined,
        };
        Outcome::finished(resolution, data, results)
    }

    /// Templates of each media's best face (None where there is none), or the failure.
    async fn templates(&self, kind: AnalysisType, inputs: &[MediaInput]) -> Result<Vec<Option<Template>>, Outcome> {
        // Every media at once (the engine slots bound the parallelism), results in order.
        let analyzed =
            futures::future::join_all(inputs.iter().map(|input| self.analyze_input(input, kind, false))).await;
        let mut out = Vec::with_capacity(inputs.len());
        for faces in analyzed {
            out.push(faces?.best_face.map(|f| f.template));
        }
        Ok(out)
    }

    async fn evaluate_biometry(&self, a: &Analysis, inputs: Vec<MediaInput>) -> Outcome {
        let threshold = a.threshold.unwrap_or(self.thresholds.biometry);
        let templates = match self.templates(AnalysisType::Biometry, &inputs).await {
            Ok(t) => t,
            Err(failed) => return failed,
        };
        let Ok(engine) = self.faces() else { return Outcome::failed(2, "the face engine is not loaded") };
        let n = inputs.len();
        // Per media: (min, max) confidence against every other media with a face.
        let mut per: Vec<Option<(f32, f32)>> = vec![None; n];
        let (mut lo, mut hi): (Option<f32>, Option<f32>) = (None, None);
        // Every compared pair, in media order (GAP-11 [I]).
        let mut pairs: Vec<Value> = Vec::new();
        for i in 0..n {
            for j in (i + 1)..n {
                let (Some(ta), Some(tb)) = (&templates[i], &templates[j]) else { continue };
                let Some(c) = engine.confidence(ta, tb) else {
                    return Outcome::failed(0, "the media's face templates come from different models");
                };
                for k in [i, j] {
                    per[k] = Some(per[k].map_or((c, c), |(l, h)| (l.min(c), h.max(c))));
                }
                lo = Some(lo.map_or(c, |l| l.min(c)));
                hi = Some(hi.map_or(c, |h| h.max(c)));
                pairs.push(json!({
                    "media_ids": [inputs[i].media_id.to_string(), inputs[j].media_id.to_string()],
                    "confidence": round(c),
                }));
            }
        }
        let faceless = templates.iter().filter(|t| t.is_none()).count();
        let results = inputs
            .iter()
            .zip(&per)
            .zip(&templates)
            .map(|((input, p), t)| {
                let mut data = map(json!({
                    "min_confidence": p.map(|(l, _)| round(l)).unwrap_or(Value::Null),
                    "max_confidence": p.map(|(_, h)| round(h)).unwrap_or(Value::Null),
                }));
                if t.is_none() {
                    data.insert("error_message".into(), NO_FACE.into());
                }
                MediaResult {
                    source_media_id: input.media_id,
                    results_data: data,
                    output_images: Vec::new(),
                    person_id: None,
                }
            })
            .collect();
        let mut data = map(json!({
            "max_confidence": hi.map(round).unwrap_or(Value::Null),
            "min_confidence": lo.map(round).unwrap_or(Value::Null),
            "pairs": pairs,
        }));
        let resolution = match lo {
            Some(min) if faceless == 0 => decide_biometry(min as f64, threshold, a.band_min()),
            _ => {
                data.insert(
                    "error_message".into(),
                    format!(
                        "a face was found in {} of {n} media; at least two faces and one in every media are needed",
                        n - faceless
                    )
                    .into(),
                );
                Resolution::Declined
            }
        };
        Outcome::finished(resolution, data, results)
    }

    async fn evaluate_collection(&self, a: &Analysis, inputs: Vec<MediaInput>) -> Outcome {
        let Some(blacklist) = self.blacklist.clone() else {
            return Outcome::failed(
                2,
                "COLLECTION analyses need the collections component, which is not available on this server",
            );
        };
        let threshold = a.threshold.unwrap_or(self.thresholds.collection);
        let k = a.params.decision_count.unwrap_or(COLLECTION_DEFAULT_K);
        let templates = match self.templates(AnalysisType::Collection, &inputs).await {
            Ok(t) => t,
            Err(failed) => return failed,
        };
        let mut results = Vec::with_capacity(inputs.len());
        let mut best_overall: Option<BlacklistHit> = None;
        let mut matches: Vec<BlacklistHit> = Vec::new();
        let mut faceless = 0usize;
        for (input, template) in inputs.iter().zip(&templates) {
            let Some(template) = template else {
                faceless += 1;
                let data = map(json!({ "max_confidence": null, "matches": [], "error_message": NO_FACE }));
                results.push(MediaResult {
                    source_media_id: input.media_id,
                    results_data: data,
                    output_images: Vec::new(),
                    person_id: None,
                });
                continue;
            };
            let hits = match blacklist.search(a.company_id, a.params.collection_ids.clone(), template, k).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(analyse_id = %a.analyse_id, error = %e, "collection search failed");
                    return Outcome::failed(0, format!("the collection search failed: {e}"));
                }
            };
            let best = hits.iter().max_by(|x, y| x.confidence.total_cmp(&y.confidence)).cloned();
            let found: Vec<&BlacklistHit> = hits.iter().filter(|h| h.confidence >= threshold).collect();
            let data = map(json!({
                "max_confidence": best.as_ref().map(|b| b.confidence),
                "matches": found.iter().map(|h| json!({
                    "person_id": h.person_id, "person_image_id": h.person_image_id, "collection_id": h.collection_id,
                    "alias": h.alias, "confidence": h.confidence,
                })).collect::<Vec<_>>(),
            }));
            let person_id = found.first().map(|h| h.person_id);
            for h in found {
                if !matches.iter().any(|m| m.person_id == h.person_id) {
                    matches.push(h.clone());
                }
            }
            if let Some(b) = best {
                if best_overall.as_ref().is_none_or(|o| b.confidence > o.confidence) {
                    best_overall = Some(b);
                }
            }
            results.push(MediaResult {
                source_media_id: input.media_id,
                results_data: data,
                output_images: Vec::new(),
                person_id,
            });
        }
        let max_confidence = best_overall.as_ref().map(|b| b.confidence);
        let mut data = map(json!({ "max_confidence": max_confidence }));
        let resolution = match decide_collection(max_confidence, threshold, a.band_min()) {
            Resolution::Success if faceless > 0 => {
                data.insert(
                    "error_message".into(),
                    format!("no face found in {faceless} of {} media", inputs.len()).into(),
                );
                Resolution::Declined
            }
            r => r,
        };
        let mut out = Outcome::finished(resolution, data, results);
        out.collection_alias = best_overall.filter(|b| b.confidence >= threshold).map(|b| b.alias);
        out.matches = matches;
        out
    }

    /// DOCUMENTS: per document photo, the MRZ, the portrait (the face engine's dominant face
    /// on the photo turned upright, cut out as an output image) and the visual zone (Tesseract,
    /// when configured); the decision on the best MRZ and every visual field
    /// ([`crate::domain::analyses::documents::decide`]). The CPU work runs on the blocking pool, holding an engine
    /// slot.
    async fn evaluate_documents(&self, _a: &Analysis, inputs: Vec<MediaInput>) -> Outcome {
        let today = emerald_documents::Date::today();
        let mut results = Vec::with_capacity(inputs.len());
        // Per media: its MRZ, visual zone and portrait.
        let mut read: Vec<(Option<emerald_documents::Mrz>, documents::VisualZone, documents::Portrait)> = Vec::new();
        for input in &inputs {
            let id = input.media_id;
            if input.kind != MediaKind::Image {
                return Outcome::failed(
                    4,
                    format!("media {id}: DOCUMENTS reads document photos; this media is a {}", input.kind),
                );
            }
            let bytes = match &input.bytes {
                Ok(b) => b.clone(),
                Err(why) => return Outcome::failed(0, format!("media {id}: the stored file cannot be read: {why}")),
            };
            let slot = self.engine_slots.clone().acquire_owned().await;
            let joined = tokio::task::spawn_blocking(move || {
                let (photo, reading) = emerald_documents::reader::read_photo(&bytes)?;
                let upright = photo.turned(reading.quarter_turns);
                Ok::<_, emerald_documents::ReadError>((reading, upright, (photo.scale, photo.offset)))
            })
            .await;
            drop(slot);
            let (mut reading, upright, place) = match joined {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return Outcome::failed(4, format!("media {id}: {e}")),
                Err(join) => {
                    tracing::error!(media_id = %id, panicked = join.is_panic(), "document reader task died");
                    return Outcome::failed(0, format!("media {id}: the document reader crashed on this media"));
                }
            };
            let (portrait, portrait_jpeg, picture) = self.document_portrait(id, upright, place).await;
            let gray = std::mem::take(&mut reading.upright);
            let visual = self.visual_zone(id, gray, reading.mrz_box, picture).await;
            let (mut data, _) = documents::results_data(reading.mrz.as_ref(), &visual, &portrait, today);
            match &reading.mrz {
                Some(_) => {
                    data.insert("orientation".into(), json!(u32::from(reading.quarter_turns) * 90));
                }
                None => {
                    data.insert("error_message".into(), "no machine-readable zone found in this photo".into());
                }
            }
            results.push(MediaResult {
                source_media_id: id,
                results_data: data,
                output_images: portrait_jpeg.map(OutputImage::Inline).into_iter().collect(),
                person_id: None,
            });
            read.push((reading.mrz, visual, portrait));
        }
        // The best MRZ; its media's visual fields first, then the others' for what it lacks.
        let rank = |m: &emerald_documents::Mrz| (m.valid(), m.checks.count(), std::cmp::Reverse(m.corrections.len()));
        let best = read.iter().enumerate().filter_map(|(i, (m, ..))| m.as_ref().map(|m| (i, m))).fold(
            None::<(usize, &emerald_documents::Mrz)>,
            |b, (i, m)| match b {
                Some((_, bm)) if rank(m) <= rank(bm) => b,
                _ => Some((i, m)),
            },
        );
        let first = best.map(|(i, _)| i).unwrap_or(0);
        let order = std::iter::once(first).chain((0..read.len()).filter(|&i| i != first));
        let mut visual: Option<documents::VisualZone> = None;
        let mut portrait: Option<documents::Portrait> = None;
        for i in order {
            let (_, v, p) = &read[i];
            visual = Some(match (visual.take(), v) {
                (None, v) => v.clone(),
                (
                    Some(documents::VisualZone::Read { mut fields, lines, ocr }),
                    documents::VisualZone::Read { fields: f, .. },
                ) => {
                    fields.fill_from(f);
                    documents::VisualZone::Read { fields, lines, ocr }
                }
                (Some(documents::VisualZone::NotRead(_)), v @ documents::VisualZone::Read { .. }) => v.clone(),
                (Some(kept), _) => kept,
            });
            if portrait.as_ref().is_none_or(|p| !p.found()) {
                portrait = Some(p.clone());
            }
        }
        let visual = visual.unwrap_or_else(|| documents::VisualZone::NotRead("no document photo".into()));
        let portrait = portrait.unwrap_or_else(|| documents::Portrait::NotFound("no document photo".into()));
        let best_mrz = best.map(|(_, m)| m);
        let (mut data, mismatches) = documents::results_data(best_mrz, &visual, &portrait, today);
        let (resolution, why) = documents::decide(best_mrz, &mismatches, today);
        if let Some(why) = why {
            data.insert("error_message".into(), why.into());
        }
        Outcome::finished(resolution, data, results)
    }

    /// The face on an upright document photo (the face engine's dominant face), cut out: what
    /// `results_data.portrait` says, the JPEG, and the portrait's picture in `upright`'s pixels
    /// (to keep out of the visual zone). No face or no engine is no failure: the portrait says why.
    /// `upright` is `scale` pixels per stored pixel and starts at `offset` in the stored photo
    /// turned upright (`Photo::offset`): the boxes reported are in those stored pixels.
    async fn document_portrait(
        &self,
        id: Uuid,
        upright: image::RgbImage,
        (scale, offset): (f32, [f32; 2]),
    ) -> (documents::Portrait, Option<Vec<u8>>, Option<[u32; 4]>) {
        let engine = match self.faces() {
            Ok(e) => e.clone(),
            Err(e) => return (documents::Portrait::NotFound(e.to_string()), None, None),
        };
        let slot = self.engine_slots.clone().acquire_owned().await;
        self.engine_runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("emerald_engine_runs_total").increment(1);
        let joined = tokio::task::spawn_blocking(move || {
            let Some((face, det_score)) = engine.dominant_face(&upright)? else { return Ok(None) };
            let picture = emerald_documents::portrait::picture(face, upright.width(), upright.height());
            Ok::<_, FaceError>(
                emerald_documents::portrait::portrait(&upright, face)
                    .map(|(jpeg, cut)| (face, det_score, jpeg, cut, picture)),
            )
        })
        .await;
        drop(slot);
        let unscale = |r: [f32; 4]| {
            let [x, y, w, h] = r.map(|v| v / scale);
            [x + offset[0], y + offset[1], w, h]
        };
        match joined {
            Ok(Ok(Some((face, det_score, jpeg, cut, picture)))) => {
                let cut_box = [cut[0], cut[1], cut[2] - cut[0], cut[3] - cut[1]].map(|v| v as f32);
                let p = documents::Portrait::Found { face_box: unscale(face), cut: unscale(cut_box), det_score };
                (p, Some(jpeg), Some(picture))
            }
            Ok(Ok(None) | Err(FaceError::NoFace | FaceError::Unusable(_))) => {
                (documents::Portrait::NotFound(documents::NO_PORTRAIT.into()), None, None)
            }
            Ok(Err(e)) => {
                tracing::warn!(media_id = %id, error = %e, "no portrait on the document");
                (documents::Portrait::NotFound(e.to_string()), None, None)
            }
            Err(join) => {
                tracing::error!(media_id = %id, panicked = join.is_panic(), "portrait task died");
                (documents::Portrait::NotFound("the face engine crashed on this photo".into()), None, None)
            }
        }
    }

    /// The visual zone of an upright grey document photo (above the MRZ, else the whole photo),
    /// the portrait's `picture` blanked, read by the configured OCR.
    async fn visual_zone(
        &self,
        id: Uuid,
        gray: image::GrayImage,
        mrz_box: Option<[u32; 4]>,
        picture: Option<[u32; 4]>,
    ) -> documents::VisualZone {
        let ocr = match &self.ocr {
            Ok(o) => o.clone(),
            Err(why) => return documents::VisualZone::NotRead(format!("the visual zone was not read: {why}")),
        };
        let slot = self.engine_slots.clone().acquire_owned().await;
        let engine = ocr.name();
        let joined = tokio::task::spawn_blocking(move || {
            let Some(zone) = ocr.zone(&gray, mrz_box, picture) else {
                return Ok((Vec::new(), emerald_documents::visual::VisualFields::default()));
            };
            ocr.read_fields(&zone)
        })
        .await;
        drop(slot);
        match joined {
            Ok(Ok((lines, fields))) => documents::VisualZone::Read { fields, lines, ocr: engine },
            Ok(Err(why)) => {
                tracing::warn!(media_id = %id, %why, "the visual zone could not be read");
                documents::VisualZone::NotRead(format!("the visual zone could not be read: {why}"))
            }
            Err(join) => {
                tracing::error!(media_id = %id, panicked = join.is_panic(), "visual zone task died");
                documents::VisualZone::NotRead("the visual zone reader crashed on this photo".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_short() {
        assert_eq!(round(0.1f32), json!(0.1));
        assert_eq!(round(0.997_926_35_f32).to_string(), "0.99792635");
    }
}
