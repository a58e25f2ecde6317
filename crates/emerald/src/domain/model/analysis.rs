//! Analyses (spec §4.6, §8): the object, its type, state and result enums, the request, the
//! rules that assign media to an analysis (§8.3), the thresholds (§8.4) and the folder status
//! computed from its analyses (§8.6). Pure rules, unit-tested here; running an analysis is in
//! [`crate::domain::analyses::evaluate`], requesting and reading them in [`crate::domain::analyses::service`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::account::AnalysisPermissions;
use crate::domain::model::media::{FolderStatus, Media, MediaKind};
use crate::domain::model::metadata::MetaData;

/// Analysis types (spec §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnalysisType {
    Quality,
    Biometry,
    Collection,
    Documents,
}

impl AnalysisType {
    pub const ALL: [AnalysisType; 4] =
        [AnalysisType::Quality, AnalysisType::Biometry, AnalysisType::Collection, AnalysisType::Documents];

    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisType::Quality => "QUALITY",
            AnalysisType::Biometry => "BIOMETRY",
            AnalysisType::Collection => "COLLECTION",
            AnalysisType::Documents => "DOCUMENTS",
        }
    }

    /// Whether a user with these flags may request this type (spec §3.1).
    pub fn permitted(self, can: &AnalysisPermissions) -> bool {
        match self {
            AnalysisType::Quality => can.quality,
            AnalysisType::Biometry => can.biometry,
            AnalysisType::Collection => can.collection,
            AnalysisType::Documents => can.documents,
        }
    }

    pub fn parse_stored(s: &str) -> Result<Self> {
        AnalysisType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored analysis type {s:?}")))
    }
}

impl fmt::Display for AnalysisType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnalysisType {
    type Err = Error;

    /// Case-insensitive; the legacy name `liveness` is QUALITY (spec §8.1).
    fn from_str(s: &str) -> Result<Self> {
        let up = s.trim().to_ascii_uppercase();
        if up == "LIVENESS" {
            return Ok(AnalysisType::Quality);
        }
        AnalysisType::ALL.into_iter().find(|t| t.as_str() == up).ok_or_else(|| {
            Error::invalid_value(
                format!("Invalid analysis type {s:?}: expected one of quality, biometry, collection, documents"),
                serde_json::json!({ "key_path": "analyses.type" }),
            )
        })
    }
}

/// Processing lifecycle (`state`, spec §8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisState {
    Processing,
    Failed,
    Finished,
}

impl AnalysisState {
    pub const ALL: [AnalysisState; 3] = [AnalysisState::Processing, AnalysisState::Failed, AnalysisState::Finished];

    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisState::Processing => "PROCESSING",
            AnalysisState::Failed => "FAILED",
            AnalysisState::Finished => "FINISHED",
        }
    }

    pub fn parse_stored(s: &str) -> Result<Self> {
        AnalysisState::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored analysis state {s:?}")))
    }
}

/// Outcome (`resolution_status`, and its legacy twin `resolution`, spec §8.5): mirrors the
/// state until the analysis has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    Processing,
    Success,
    OperatorRequired,
    Declined,
    Failed,
}

impl Resolution {
    pub const ALL: [Resolution; 5] = [
        Resolution::Processing,
        Resolution::Success,
        Resolution::OperatorRequired,
        Resolution::Declined,
        Resolution::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Processing => "PROCESSING",
            Resolution::Success => "SUCCESS",
            Resolution::OperatorRequired => "OPERATOR_REQUIRED",
            Resolution::Declined => "DECLINED",
            Resolution::Failed => "FAILED",
        }
    }

    pub fn parse_stored(s: &str) -> Result<Self> {
        Resolution::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored resolution_status {s:?}")))
    }
}

/// Default decision thresholds (spec §8.4), configurable per installation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// `confidence_spoofing` at or above which a QUALITY analysis is DECLINED.
    pub quality: f64,
    /// `min_confidence` at or above which a BIOMETRY analysis is SUCCESS.
    pub biometry: f64,
    /// Match confidence at or above which a COLLECTION analysis has a hit (DECLINED).
    pub collection: f64,
    /// The operator band's lower edge (GAP-14 [I]): a BIOMETRY `min_confidence` in
    /// `[biometry_min, biometry)` needs an operator. None: no band (the installation has none;
    /// a company's ADMIN sets one; a request's `threshold_min` wins).
    pub biometry_min: Option<f64>,
    /// The same for COLLECTION: a best match in `[collection_min, collection)` needs an operator.
    pub collection_min: Option<f64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { quality: 0.5, biometry: 0.85, collection: 0.85, biometry_min: None, collection_min: None }
    }
}

/// The decision thresholds that have one (DOCUMENTS has no score), as named on the wire
/// (`GET /api/companies/{id}/thresholds`) and in the console.
pub const THRESHOLD_KEYS: [&str; 3] = ["quality", "biometry", "collection"];

/// The operator bands' lower edges a company may have (GAP-14 [I]), as named on the wire and
/// in the console: no installation setting (None is no band).
pub const BAND_KEYS: [&str; 2] = ["biometry_min", "collection_min"];

/// A company's own decision thresholds (GAP-14 [I]): `None` follows the installation's (for
/// the bands' edges: no band).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ThresholdOverrides {
    pub quality: Option<f64>,
    pub biometry: Option<f64>,
    pub collection: Option<f64>,
    pub biometry_min: Option<f64>,
    pub collection_min: Option<f64>,
}

impl ThresholdOverrides {
    /// The thresholds a company's new analyses get: its own where it has one, else the
    /// installation's; its bands.
    pub fn over(&self, installation: &Thresholds) -> Thresholds {
        let ThresholdOverrides { quality, biometry, collection, biometry_min, collection_min } = *self;
        Thresholds {
            quality: quality.unwrap_or(installation.quality),
            biometry: biometry.unwrap_or(installation.biometry),
            collection: collection.unwrap_or(installation.collection),
            biometry_min: biometry_min.or(installation.biometry_min),
            collection_min: collection_min.or(installation.collection_min),
        }
    }

    /// The override of one of [`THRESHOLD_KEYS`] or [`BAND_KEYS`].
    pub fn get(&self, key: &str) -> Option<f64> {
        match key {
            "quality" => self.quality,
            "biometry" => self.biometry,
            "collection" => self.collection,
            "biometry_min" => self.biometry_min,
            "collection_min" => self.collection_min,
            _ => None,
        }
    }
}

/// One threshold of a change (PATCH semantics: absent keeps, `null` clears).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ThresholdChange {
    #[default]
    Keep,
    /// Back to the installation's setting.
    Clear,
    Set(f64),
}

impl ThresholdChange {
    fn apply(self, current: Option<f64>) -> Option<f64> {
        match self {
            ThresholdChange::Keep => current,
            ThresholdChange::Clear => None,
            ThresholdChange::Set(v) => Some(v),
        }
    }
}

/// A change to a company's thresholds (`PATCH /api/companies/{id}/thresholds`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ThresholdPatch {
    pub quality: ThresholdChange,
    pub biometry: ThresholdChange,
    pub collection: ThresholdChange,
    pub biometry_min: ThresholdChange,
    pub collection_min: ThresholdChange,
}

impl ThresholdPatch {
    /// The change of one of [`THRESHOLD_KEYS`] or [`BAND_KEYS`]; false for any other key.
    pub fn set(&mut self, key: &str, change: ThresholdChange) -> bool {
        let slot = match key {
            "quality" => &mut self.quality,
            "biometry" => &mut self.biometry,
            "collection" => &mut self.collection,
            "biometry_min" => &mut self.biometry_min,
            "collection_min" => &mut self.collection_min,
            _ => return false,
        };
        *slot = change;
        true
    }

    /// Every value set is a number in [0, 1] (the same range as a request's params).
    pub fn validate(&self) -> Result<()> {
        let ThresholdPatch { quality, biometry, collection, biometry_min, collection_min } = *self;
        for (key, change) in [
            ("quality", quality),
            ("biometry", biometry),
            ("collection", collection),
            ("biometry_min", biometry_min),
            ("collection_min", collection_min),
        ] {
            if let ThresholdChange::Set(v) = change {
                if !(0.0..=1.0).contains(&v) {
                    return Err(Error::invalid_value(
                        format!("Invalid value for {key}: expected a number in [0, 1] or null"),
                        serde_json::json!({ "key_path": key }),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn apply(&self, current: ThresholdOverrides) -> ThresholdOverrides {
        let ThresholdPatch { quality, biometry, collection, biometry_min, collection_min } = *self;
        ThresholdOverrides {
            quality: quality.apply(current.quality),
            biometry: biometry.apply(current.biometry),
            collection: collection.apply(current.collection),
            biometry_min: biometry_min.apply(current.biometry_min),
            collection_min: collection_min.apply(current.collection_min),
        }
    }
}

/// Most matches asked of a blacklist search per media unless `params.decision_count` says.
pub const COLLECTION_DEFAULT_K: usize = 10;
/// Largest `decision_count` accepted.
pub const COLLECTION_MAX_K: usize = 100;
/// Most analyses in one request.
pub const ANALYSES_PER_REQUEST_MAX: usize = 32;

/// The known `params` of an analysis request; everything sent is also kept in `raw` and
/// echoed back (spec §8.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisParams {
    /// QUALITY: store the best frame (default true from 6.0.1, spec §8.2).
    pub extract_best_shot: bool,
    /// BIOMETRY: below ⇒ DECLINED, at/above `threshold_max` ⇒ SUCCESS, between ⇒
    /// OPERATOR_REQUIRED (spec §8.2 [I]).
    pub threshold_min: Option<f64>,
    pub threshold_max: Option<f64>,
    /// COLLECTION: restrict the search to these collections (`collection_id` or
    /// `collection_ids`, at the top level or in `params`).
    pub collection_ids: Option<Vec<Uuid>>,
    /// COLLECTION: matches per media (`decision_count`).
    pub decision_count: Option<usize>,
    /// COLLECTION: hit threshold (`decision_threshold`).
    pub decision_threshold: Option<f64>,
    /// DOCUMENTS: the document engine's capability bitmask (`capabilities`, e.g. 492), stored
    /// and echoed (spec §8.2 [C]); Emerald's reader has no options to switch.
    pub capabilities: Option<u64>,
    pub raw: Map<String, Value>,
}

impl AnalysisParams {
    /// Read the known params out of `raw` (as sent, or as stored) and validate them.
    /// `key_path` names `raw` in error messages (`analyses[0].params`).
    pub fn from_raw(raw: Map<String, Value>, key_path: &str) -> Result<Self> {
        let path = |k: &str| format!("{key_path}.{k}");
        let number = |k: &str| -> Result<Option<f64>> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| Error::invalid_type(&path(k))),
            }
        };
        let extract_best_shot = match raw.get("extract_best_shot") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Error::invalid_type(&path("extract_best_shot"))),
        };
        let uuid = |v: &Value, k: &str| -> Result<Uuid> {
            v.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok()).ok_or_else(|| {
                Error::invalid_value(
                    format!("Invalid value for param {}: not a UUID", path(k)),
                    serde_json::json!({ "key_path": path(k) }),
                )
            })
        };
        let mut collection_ids: Option<Vec<Uuid>> = None;
        match raw.get("collection_id") {
            None | Some(Value::Null) => {}
            Some(v) => collection_ids = Some(vec![uuid(v, "collection_id")?]),
        }
        match raw.get("collection_ids") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let ids = collection_ids.get_or_insert_with(Vec::new);
                for v in items {
                    let id = uuid(v, "collection_ids")?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Some(_) => return Err(Error::invalid_type(&path("collection_ids"))),
        }
        let decision_count = match raw.get("decision_count") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| Error::invalid_type(&path("decision_count")))? as usize),
        };
        let capabilities = match raw.get("capabilities") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| Error::invalid_type(&path("capabilities")))?),
        };
        let params = AnalysisParams {
            extract_best_shot,
            capabilities,
            threshold_min: number("threshold_min")?,
            threshold_max: number("threshold_max")?,
            collection_ids,
            decision_count,
            decision_threshold: number("decision_threshold")?,
            raw,
        };
        params.validate(key_path)?;
        Ok(params)
    }

    /// The operator band's lower edge of an analysis of `kind` with these params: a BIOMETRY
    /// request's own `threshold_min`, else the company's band (GAP-14 [I]); None: no band.
    pub fn threshold_min(&self, kind: AnalysisType, defaults: &Thresholds) -> Option<f64> {
        match kind {
            AnalysisType::Biometry => self.threshold_min.or(defaults.biometry_min),
            AnalysisType::Collection => defaults.collection_min,
            AnalysisType::Quality | AnalysisType::Documents => None,
        }
    }

    /// The decision threshold of an analysis of `kind` with these params.
    pub fn threshold(&self, kind: AnalysisType, defaults: &Thresholds) -> Option<f64> {
        match kind {
            AnalysisType::Quality => Some(defaults.quality),
            AnalysisType::Biometry => Some(self.threshold_max.unwrap_or(defaults.biometry)),
            AnalysisType::Collection => Some(self.decision_threshold.unwrap_or(defaults.collection)),
            AnalysisType::Documents => None,
        }
    }

    /// Validate the known params (ranges, band order).
    pub fn validate(&self, key_path: &str) -> Result<()> {
        let bad = |what: &str| {
            Error::invalid_value(
                format!("Invalid value for param {key_path}.{what}: expected a number in [0, 1]"),
                serde_json::json!({ "key_path": format!("{key_path}.{what}") }),
            )
        };
        for (name, v) in [
            ("threshold_min", self.threshold_min),
            ("threshold_max", self.threshold_max),
            ("decision_threshold", self.decision_threshold),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad(name));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (self.threshold_min, self.threshold_max) {
            if lo > hi {
                return Err(Error::invalid_value(
                    format!("{key_path}.threshold_min ({lo}) is above threshold_max ({hi})"),
                    serde_json::json!({ "key_path": format!("{key_path}.threshold_min") }),
                ));
            }
        }
        if let Some(k) = self.decision_count {
            if k == 0 || k > COLLECTION_MAX_K {
                return Err(Error::invalid_value(
                    format!("Invalid value for param {key_path}.decision_count: expected 1 to {COLLECTION_MAX_K}"),
                    serde_json::json!({ "key_path": format!("{key_path}.decision_count") }),
                ));
            }
        }
        Ok(())
    }
}

/// One requested analysis, validated (spec §8.2).
#[derive(Debug, Clone)]
pub struct AnalysisRequest {
    pub kind: AnalysisType,
    /// Explicit media; None = every suitable media of the folder (§8.3).
    pub source_media: Option<Vec<Uuid>>,
    pub params: AnalysisParams,
    pub meta_data: MetaData,
}

/// An image written for a media by an analysis (the best shot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutputImage {
    /// A blob in the store: `{folder_id}/{file}`.
    Stored(String),
    /// A JPEG kept in memory (Instant mode: rendered as a `data:` URI, never stored).
    #[serde(skip)]
    Inline(Vec<u8>),
}

/// The result of an analysis for one of its media (`results_media[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaResult {
    pub source_media_id: Uuid,
    pub results_data: Map<String, Value>,
    #[serde(default)]
    pub output_images: Vec<OutputImage>,
    /// COLLECTION: the best matching person, if any reaches the threshold.
    #[serde(default)]
    pub person_id: Option<Uuid>,
}

/// Why an analysis failed, shown as `error` `{error_code, error_message}` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisError {
    /// An Oz code: 4 (the media), 2 (not available here), 0 (our fault).
    pub code: u16,
    pub message: String,
}

/// An analysis (spec §4.6).
#[derive(Debug, Clone)]
pub struct Analysis {
    pub analyse_id: Uuid,
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Uuid,
    pub group_id: Uuid,
    pub kind: AnalysisType,
    pub state: AnalysisState,
    pub resolution_status: Resolution,
    pub resolution_comment: Option<String>,
    pub threshold: Option<f64>,
    /// The operator band's lower edge the analysis got (GAP-14 [I]; BIOMETRY and COLLECTION):
    /// a score in `[threshold_min, threshold)` is OPERATOR_REQUIRED. None: no band (analyses
    /// stored before it was kept fall back to `params.threshold_min`, see [`Analysis::band_min`]).
    pub threshold_min: Option<f64>,
    pub params: AnalysisParams,
    /// The media the analysis covers, in folder order.
    pub source_media: Vec<Uuid>,
    pub results_data: Option<Map<String, Value>>,
    pub results_media: Vec<MediaResult>,
    pub error: Option<AnalysisError>,
    /// COLLECTION: alias of the collection of the best hit.
    pub collection_alias: Option<String>,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
    pub time_finished: Option<f64>,
    /// The operator who took the latest decision on it, and when (GAP-3); None before one.
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<f64>,
}

impl Analysis {
    /// The operator band's lower edge this analysis is decided and drawn with: the one it got
    /// when created, or (stored before that was kept) a BIOMETRY request's `threshold_min`.
    pub fn band_min(&self) -> Option<f64> {
        match self.kind {
            AnalysisType::Biometry => self.threshold_min.or(self.params.threshold_min),
            AnalysisType::Collection => self.threshold_min,
            AnalysisType::Quality | AnalysisType::Documents => None,
        }
    }

    /// Blob keys of the images this analysis stored.
    pub fn stored_images(&self) -> Vec<String> {
        self.results_media
            .iter()
            .flat_map(|m| m.output_images.iter())
            .filter_map(|i| match i {
                OutputImage::Stored(k) => Some(k.clone()),
                OutputImage::Inline(_) => None,
            })
            .collect()
    }
}

/// Blob key of a best shot: `{folder_id}/bestshot_{analyse_id}_{media_id}.jpg`.
pub fn best_shot_key(folder_id: Uuid, analyse_id: Uuid, media_id: Uuid) -> String {
    format!("{folder_id}/{BEST_SHOT_PREFIX}{analyse_id}_{media_id}.jpg")
}

/// File-name prefix of best shots under a folder's static path.
pub const BEST_SHOT_PREFIX: &str = "bestshot_";

/// Parse the file part of a best-shot key: (analyse_id, media_id).
pub fn parse_best_shot_file(file: &str) -> Option<(Uuid, Uuid)> {
    let stem = file.strip_prefix(BEST_SHOT_PREFIX)?.strip_suffix(".jpg")?;
    let (a, m) = stem.split_once('_')?;
    Some((Uuid::parse_str(a).ok()?, Uuid::parse_str(m).ok()?))
}

/// What the assignment rules need to know of a media.
#[derive(Debug, Clone)]
pub struct MediaFacts<'a> {
    pub media_id: Uuid,
    pub kind: MediaKind,
    pub tags: &'a [String],
}

fn has_tag(tags: &[String], pred: impl Fn(&str) -> bool) -> bool {
    tags.iter().any(|t| pred(&t.to_ascii_lowercase()))
}

/// Whether an analysis of `kind` takes this media by default (spec §8.3 [I]).
pub fn eligible(kind: AnalysisType, m: &MediaFacts<'_>) -> bool {
    let selfie_video =
        matches!(m.kind, MediaKind::Video | MediaKind::ShotsSet) && has_tag(m.tags, |t| t.starts_with("video_selfie"));
    let selfie_photo = m.kind == MediaKind::Image && has_tag(m.tags, |t| t == "photo_selfie");
    let id_back = has_tag(m.tags, |t| t == "photo_id_back");
    match kind {
        AnalysisType::Quality => selfie_video || selfie_photo,
        // §8.3: all media of the folder — selfie videos, selfie photos, document photos, and
        // media without tags — except the back of a document, which has no face ([I]).
        AnalysisType::Biometry | AnalysisType::Collection => !id_back,
        AnalysisType::Documents => m.kind == MediaKind::Image && has_tag(m.tags, |t| t.starts_with("photo_id")),
    }
}

/// The media an analysis covers: the explicit `source_media` (each must be in the folder), or
/// every eligible media. Errors say what is missing (code 4).
pub fn assign_media(
    kind: AnalysisType,
    requested: Option<&[Uuid]>,
    folder: &[MediaFacts<'_>],
    key_path: &str,
) -> Result<Vec<Uuid>> {
    let chosen: Vec<Uuid> = match requested {
        Some(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if !folder.iter().any(|m| m.media_id == *id) {
                    return Err(Error::invalid_value(
                        format!("Media {id} of {key_path}.source_media is not in this folder"),
                        serde_json::json!({ "key_path": format!("{key_path}.source_media"), "media_id": id }),
                    ));
                }
                if !out.contains(id) {
                    out.push(*id);
                }
            }
            out
        }
        None => folder.iter().filter(|m| eligible(kind, m)).map(|m| m.media_id).collect(),
    };
    let needed = match kind {
        AnalysisType::Biometry => 2,
        AnalysisType::Quality | AnalysisType::Collection | AnalysisType::Documents => 1,
    };
    if chosen.len() < needed {
        let rule = match kind {
            AnalysisType::Quality => "a selfie video (tag video_selfie…) or a photo tagged photo_selfie",
            AnalysisType::Biometry => "at least two media other than a document's back (photo_id_back)",
            AnalysisType::Collection => "a media other than a document's back (photo_id_back)",
            AnalysisType::Documents => "a document photo tagged photo_id, photo_id_front or photo_id_back",
        };
        return Err(Error::invalid_value(
            format!("The folder has no suitable media for {} ({} found): it needs {rule}", kind.as_str(), chosen.len()),
            serde_json::json!({ "key_path": key_path, "type": kind.as_str(), "media_found": chosen.len() }),
        ));
    }
    Ok(chosen)
}

/// QUALITY decision: `confidence_spoofing` at or above the threshold is an attack.
pub fn decide_quality(confidence_spoofing: f64, threshold: f64) -> Resolution {
    if confidence_spoofing >= threshold {
        Resolution::Declined
    } else {
        Resolution::Success
    }
}

/// BIOMETRY decision on `min_confidence` (the least similar pair): with a band
/// `[threshold_min, threshold_max)` the middle needs an operator.
pub fn decide_biometry(min_confidence: f64, threshold: f64, band_min: Option<f64>) -> Resolution {
    if min_confidence >= threshold {
        Resolution::Success
    } else if band_min.is_some_and(|lo| min_confidence >= lo) {
        Resolution::OperatorRequired
    } else {
        Resolution::Declined
    }
}

/// COLLECTION decision: a person at or above the threshold is a hit, and a hit in a blacklist
/// fails the check (spec §8.4 [I]); with a band `[band_min, threshold)` (GAP-14 [I]) a best
/// match in it needs an operator.
pub fn decide_collection(max_confidence: Option<f64>, threshold: f64, band_min: Option<f64>) -> Resolution {
    match max_confidence {
        Some(c) if c >= threshold => Resolution::Declined,
        Some(c) if band_min.is_some_and(|lo| c >= lo) => Resolution::OperatorRequired,
        _ => Resolution::Success,
    }
}

/// What the folder status needs of each analysis.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisStatusRow {
    pub group_id: Uuid,
    pub state: AnalysisState,
    pub resolution: Resolution,
    pub time_created: f64,
    pub time_finished: Option<f64>,
}

/// Folder `resolution_status` and `system_resolution` from its analyses (spec §8.6):
/// none → INITIAL; any running → PROCESSING; else from the last finished group: any FAILED ⇒
/// FAILED (and the folder FAILED), any DECLINED ⇒ DECLINED, any OPERATOR_REQUIRED ⇒
/// OPERATOR_REQUIRED, else SUCCESS (folder FINISHED).
pub fn folder_status(rows: &[AnalysisStatusRow]) -> (FolderStatus, Option<Resolution>) {
    if rows.is_empty() {
        return (FolderStatus::Initial, None);
    }
    if rows.iter().any(|r| r.state == AnalysisState::Processing) {
        return (FolderStatus::Processing, Some(Resolution::Processing));
    }
    // The group that finished last (ties: the one requested last).
    let finished = |r: &AnalysisStatusRow| r.time_finished.unwrap_or(r.time_created);
    let last = rows
        .iter()
        .max_by(|a, b| finished(a).total_cmp(&finished(b)).then(a.time_created.total_cmp(&b.time_created)))
        .map(|r| r.group_id);
    let worst =
        rows.iter().filter(|r| Some(r.group_id) == last).map(|r| r.resolution).max().unwrap_or(Resolution::Success);
    let status = if worst == Resolution::Failed { FolderStatus::Failed } else { FolderStatus::Finished };
    (status, Some(worst))
}

/// An analysis with its source media objects, for rendering.
#[derive(Debug, Clone)]
pub struct AnalysisDetails {
    pub analysis: Analysis,
    pub source_media: Vec<Media>,
}

impl AnalysisDetails {
    /// Attach each analysis' media, picked from `media` (its folder's).
    pub fn attach(analyses: Vec<Analysis>, media: &[Media]) -> Vec<AnalysisDetails> {
        analyses
            .into_iter()
            .map(|a| {
                let source_media =
                    a.source_media.iter().filter_map(|id| media.iter().find(|m| m.media_id == *id).cloned()).collect();
                AnalysisDetails { analysis: a, source_media }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_case_insensitively_with_the_legacy_name() {
        assert_eq!("quality".parse::<AnalysisType>().unwrap(), AnalysisType::Quality);
        assert_eq!("Liveness".parse::<AnalysisType>().unwrap(), AnalysisType::Quality);
        assert_eq!("BIOMETRY".parse::<AnalysisType>().unwrap(), AnalysisType::Biometry);
        assert_eq!(" collection ".parse::<AnalysisType>().unwrap(), AnalysisType::Collection);
        assert!(matches!("best_shot".parse::<AnalysisType>(), Err(Error::InvalidValue { .. })));
    }

    fn facts(kind: MediaKind, tags: &[&str]) -> (Uuid, MediaKind, Vec<String>) {
        (Uuid::new_v4(), kind, tags.iter().map(|t| t.to_string()).collect())
    }

    fn view(v: &[(Uuid, MediaKind, Vec<String>)]) -> Vec<MediaFacts<'_>> {
        v.iter().map(|(id, k, t)| MediaFacts { media_id: *id, kind: *k, tags: t }).collect()
    }

    #[test]
    fn assignment_rules_by_kind_and_tags() {
        let media = vec![
            facts(MediaKind::Video, &["video_selfie", "video_selfie_blank", "orientation_portrait"]),
            facts(MediaKind::Image, &["photo_selfie"]),
            facts(MediaKind::Image, &["photo_id", "photo_id_front"]),
            facts(MediaKind::Image, &["photo_id", "photo_id_back"]),
            facts(MediaKind::Image, &[]),
            facts(MediaKind::ShotsSet, &["VIDEO_SELFIE_SMILE"]),
        ];
        let v = view(&media);
        let ids = |k| assign_media(k, None, &v, "analyses[0]").unwrap();
        assert_eq!(ids(AnalysisType::Quality), vec![media[0].0, media[1].0, media[5].0]);
        // BIOMETRY and COLLECTION: every media but a document's back, an untagged photo included.
        assert_eq!(ids(AnalysisType::Biometry), vec![media[0].0, media[1].0, media[2].0, media[4].0, media[5].0]);
        assert_eq!(ids(AnalysisType::Collection), ids(AnalysisType::Biometry));
        assert_eq!(ids(AnalysisType::Documents), vec![media[2].0, media[3].0]);
        // Explicit media are taken as given, duplicates once; a foreign id is refused.
        let explicit = [media[4].0, media[4].0];
        assert_eq!(assign_media(AnalysisType::Quality, Some(&explicit), &v, "a").unwrap(), vec![media[4].0]);
        let foreign = [Uuid::new_v4()];
        assert!(matches!(
            assign_media(AnalysisType::Quality, Some(&foreign), &v, "a"),
            Err(Error::InvalidValue { .. })
        ));
    }

    #[test]
    fn biometry_needs_two_media_and_quality_one() {
        let media = vec![facts(MediaKind::Image, &["photo_selfie"]), facts(MediaKind::Image, &["photo_id_back"])];
        let v = view(&media);
        let err = assign_media(AnalysisType::Biometry, None, &v, "analyses[0]").unwrap_err();
        assert!(err.to_string().contains("no suitable media for BIOMETRY (1 found)"), "{err}");
        let none: Vec<MediaFacts> = Vec::new();
        assert!(assign_media(AnalysisType::Quality, None, &none, "a").is_err());
    }

    #[test]
    fn decisions_and_thresholds() {
        assert_eq!(decide_quality(0.5, 0.5), Resolution::Declined);
        assert_eq!(decide_quality(0.49, 0.5), Resolution::Success);
        assert_eq!(decide_biometry(0.9, 0.85, None), Resolution::Success);
        assert_eq!(decide_biometry(0.8, 0.85, None), Resolution::Declined);
        assert_eq!(decide_biometry(0.8, 0.85, Some(0.6)), Resolution::OperatorRequired);
        assert_eq!(decide_biometry(0.5, 0.85, Some(0.6)), Resolution::Declined);
        assert_eq!(decide_collection(Some(0.9), 0.85, None), Resolution::Declined);
        assert_eq!(decide_collection(Some(0.2), 0.85, None), Resolution::Success);
        assert_eq!(decide_collection(None, 0.85, None), Resolution::Success);
        // The company's band (GAP-14): the best match in [0.6, 0.85) needs an operator.
        assert_eq!(decide_collection(Some(0.9), 0.85, Some(0.6)), Resolution::Declined);
        assert_eq!(decide_collection(Some(0.85), 0.85, Some(0.6)), Resolution::Declined);
        assert_eq!(decide_collection(Some(0.6), 0.85, Some(0.6)), Resolution::OperatorRequired);
        assert_eq!(decide_collection(Some(0.59), 0.85, Some(0.6)), Resolution::Success);
        assert_eq!(decide_collection(None, 0.85, Some(0.0)), Resolution::Success);
        let p = AnalysisParams { threshold_min: Some(0.7), threshold_max: Some(0.9), ..Default::default() };
        assert_eq!(p.threshold(AnalysisType::Biometry, &Thresholds::default()), Some(0.9));
        assert!(p.validate("a").is_ok());
        let bad = AnalysisParams { threshold_min: Some(0.95), threshold_max: Some(0.9), ..Default::default() };
        assert!(bad.validate("a").is_err());
        let out = AnalysisParams { threshold_max: Some(1.5), ..Default::default() };
        assert!(out.validate("a").is_err());
    }

    #[test]
    fn company_thresholds_over_the_installation() {
        let installation = Thresholds { quality: 0.5, biometry: 0.85, collection: 0.8, ..Thresholds::default() };
        let own = ThresholdOverrides { biometry: Some(0.9), ..Default::default() };
        let t = own.over(&installation);
        assert_eq!(t, Thresholds { quality: 0.5, biometry: 0.9, collection: 0.8, ..Thresholds::default() });
        // The request's params still win over the company's.
        let p = AnalysisParams { threshold_max: Some(0.95), ..Default::default() };
        assert_eq!(p.threshold(AnalysisType::Biometry, &t), Some(0.95));
        assert_eq!(AnalysisParams::default().threshold(AnalysisType::Biometry, &t), Some(0.9));
        assert_eq!(AnalysisParams::default().threshold(AnalysisType::Documents, &t), None);

        let mut patch = ThresholdPatch::default();
        assert!(patch.set("quality", ThresholdChange::Set(0.3)));
        assert!(patch.set("biometry", ThresholdChange::Clear));
        assert!(!patch.set("documents", ThresholdChange::Set(0.3)));
        assert!(patch.validate().is_ok());
        let next = patch.apply(ThresholdOverrides { collection: Some(0.7), ..own });
        assert_eq!(
            next,
            ThresholdOverrides { quality: Some(0.3), collection: Some(0.7), ..ThresholdOverrides::default() }
        );
        for bad in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
            let p = ThresholdPatch { collection: ThresholdChange::Set(bad), ..Default::default() };
            assert!(p.validate().is_err(), "{bad}");
        }
        for edge in [0.0, 1.0] {
            assert!(ThresholdPatch { quality: ThresholdChange::Set(edge), ..Default::default() }.validate().is_ok());
        }
    }

    #[test]
    fn a_company_band_applies_unless_the_request_sends_its_own() {
        let mut patch = ThresholdPatch::default();
        assert!(patch.set("biometry_min", ThresholdChange::Set(0.6)));
        assert!(patch.set("collection_min", ThresholdChange::Set(0.5)));
        let own = patch.apply(ThresholdOverrides::default());
        assert_eq!((own.get("biometry_min"), own.get("collection_min")), (Some(0.6), Some(0.5)));
        let t = own.over(&Thresholds::default());
        assert_eq!((t.biometry, t.biometry_min, t.collection_min), (0.85, Some(0.6), Some(0.5)));
        let none = AnalysisParams::default();
        assert_eq!(none.threshold_min(AnalysisType::Biometry, &t), Some(0.6));
        assert_eq!(none.threshold_min(AnalysisType::Collection, &t), Some(0.5));
        assert_eq!(none.threshold_min(AnalysisType::Quality, &t), None);
        let sent = AnalysisParams { threshold_min: Some(0.7), ..Default::default() };
        assert_eq!(sent.threshold_min(AnalysisType::Biometry, &t), Some(0.7));
        // No band anywhere: none.
        assert_eq!(none.threshold_min(AnalysisType::Biometry, &Thresholds::default()), None);
        let bad = ThresholdPatch { biometry_min: ThresholdChange::Set(1.5), ..Default::default() };
        assert!(bad.validate().is_err());
    }

    fn row(
        group: Uuid,
        state: AnalysisState,
        resolution: Resolution,
        created: f64,
        finished: Option<f64>,
    ) -> AnalysisStatusRow {
        AnalysisStatusRow { group_id: group, state, resolution, time_created: created, time_finished: finished }
    }

    #[test]
    fn folder_status_from_the_last_finished_group() {
        use AnalysisState::*;
        let (g1, g2) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(folder_status(&[]), (FolderStatus::Initial, None));
        let running = [
            row(g1, Finished, Resolution::Success, 1.0, Some(2.0)),
            row(g2, Processing, Resolution::Processing, 3.0, None),
        ];
        assert_eq!(folder_status(&running), (FolderStatus::Processing, Some(Resolution::Processing)));
        // Worst result of the group wins: DECLINED over OPERATOR_REQUIRED over SUCCESS.
        let g = [
            row(g1, Finished, Resolution::Success, 1.0, Some(2.0)),
            row(g1, Finished, Resolution::OperatorRequired, 1.0, Some(2.0)),
            row(g1, Finished, Resolution::Declined, 1.0, Some(2.5)),
        ];
        assert_eq!(folder_status(&g), (FolderStatus::Finished, Some(Resolution::Declined)));
        // FAILED takes precedence and fails the folder.
        let f = [
            row(g1, Finished, Resolution::Declined, 1.0, Some(2.0)),
            row(g1, Failed, Resolution::Failed, 1.0, Some(2.0)),
        ];
        assert_eq!(folder_status(&f), (FolderStatus::Failed, Some(Resolution::Failed)));
        // Only the last finished group counts: an older failure is history.
        let later = [
            row(g1, Failed, Resolution::Failed, 1.0, Some(2.0)),
            row(g2, Finished, Resolution::Success, 3.0, Some(4.0)),
        ];
        assert_eq!(folder_status(&later), (FolderStatus::Finished, Some(Resolution::Success)));
        // A group requested earlier but finished later is the last finished group.
        let slow = [
            row(g1, Finished, Resolution::Declined, 1.0, Some(9.0)),
            row(g2, Finished, Resolution::Success, 3.0, Some(4.0)),
        ];
        assert_eq!(folder_status(&slow), (FolderStatus::Finished, Some(Resolution::Declined)));
    }

    #[test]
    fn best_shot_keys_round_trip() {
        let (f, a, m) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let key = best_shot_key(f, a, m);
        let file = key.split_once('/').unwrap().1;
        assert_eq!(parse_best_shot_file(file), Some((a, m)));
        assert_eq!(parse_best_shot_file("x.jpg"), None);
    }
}
