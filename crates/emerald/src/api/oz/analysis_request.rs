//! The analyses request as clients send it (spec §8.2, §10) → [`AnalysisRequest`]: the type in
//! any case (and the legacy `liveness`), `source_media` at the top level or inside `params`
//! (2019 SDK), `collection_id` / `collection_ids` at the top level or inside `params`,
//! per-analysis `meta_data`, and media ids as strings or `{"media_id": …}` objects.

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::body::from_value;
use crate::domain::analyses::service::Overrides;
use crate::domain::model::analysis::{AnalysisParams, AnalysisRequest, AnalysisType, Resolution};
use crate::domain::model::metadata::MetaData;
use crate::domain::Error;

/// One requested analysis (spec §8.2).
#[derive(Deserialize, ToSchema)]
#[schema(as = AnalysisRequest)]
pub(crate) struct AnalysisWire {
    /// Any letter case; `liveness` is QUALITY.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::api::openapi::analysis_type_request)]
    kind: String,
    /// The media to analyse (ids, or `{"media_id": …}` objects; also accepted inside
    /// `params`); absent: every suitable media of the folder (spec §8.3).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Uuid>>)]
    source_media: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<AnalysisParamsDoc>)]
    params: Option<Map<String, Value>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    meta_data: Option<Value>,
    /// COLLECTION: search this collection only (also accepted inside `params`).
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    collection_id: Option<Value>,
    /// COLLECTION: search these collections only (also accepted inside `params`).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Uuid>>)]
    collection_ids: Option<Value>,
}

/// The `params` of a requested analysis as `AnalysisParams::from_raw` reads them; other keys
/// are kept and echoed.
#[derive(ToSchema)]
#[schema(as = AnalysisParams)]
#[allow(dead_code)]
pub(crate) struct AnalysisParamsDoc {
    /// QUALITY: extract the best shot (default true).
    extract_best_shot: Option<bool>,
    /// BIOMETRY: below this score the result is DECLINED, …
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold_min: Option<f64>,
    /// … at or above this one SUCCESS, between them OPERATOR_REQUIRED.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold_max: Option<f64>,
    /// COLLECTION: how many best hits to report.
    #[schema(minimum = 1, maximum = 100)]
    decision_count: Option<u32>,
    /// COLLECTION: the score from which a hit counts.
    #[schema(minimum = 0.0, maximum = 1.0)]
    decision_threshold: Option<f64>,
    /// DOCUMENTS: the document engine's capability bit mask (stored and echoed).
    capabilities: Option<u64>,
    collection_id: Option<Uuid>,
    collection_ids: Option<Vec<Uuid>>,
}

/// The body of `POST /api/folders/{id}/analyses/` (a bare array of analyses is accepted too).
#[derive(Deserialize, ToSchema)]
#[schema(as = AnalysesRequest, example = json!({"analyses": [{"type": "quality", "params": {"extract_best_shot": true}}, {"type": "biometry"}]}))]
pub struct AnalysesBody {
    #[schema(value_type = Vec<AnalysisWire>)]
    pub analyses: Value,
    /// A webhook: the folder with its analyses is POSTed here when they finish (spec §11.2).
    #[serde(default)]
    pub resolution_endpoint: Option<String>,
}

/// `PATCH /api/analyses/{id}` body (spec §8.9 [I]).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AnalysisDecision)]
pub struct DecisionBody {
    /// SUCCESS or DECLINED, any letter case.
    #[schema(schema_with = crate::api::openapi::decision)]
    pub resolution_status: String,
    #[serde(default)]
    pub resolution_comment: Option<String>,
    /// `false`: decide only if the analysis is still awaiting a decision (OPERATOR_REQUIRED;
    /// the console's GAP-3 rule, so that two operators cannot both decide one case). Absent or
    /// `true`: any FINISHED analysis, as the spec's §8.9 [I] contract says and existing Oz
    /// clients expect (an operator overruling the engine). Only an explicit `true` decides a
    /// case another operator holds (an unexpired review claim, GAP-10; code 4 otherwise).
    #[serde(default)]
    pub force: Option<bool>,
}

impl DecisionBody {
    /// What the decision may override: absent `force` overrules a decided analysis (the Oz
    /// contract) but not another operator's claim; `true` both; `false` neither.
    pub fn overrides(&self) -> Overrides {
        match self.force {
            None => Overrides { decided: true, claim: false },
            Some(f) => Overrides { decided: f, claim: f },
        }
    }

    /// The decided resolution, any letter case: SUCCESS or DECLINED (other values are refused
    /// by the domain with a clear message).
    pub fn resolution(&self) -> Result<Resolution, Error> {
        let wanted = self.resolution_status.trim().to_ascii_uppercase();
        Resolution::ALL.into_iter().find(|r| r.as_str() == wanted).ok_or_else(|| {
            Error::invalid_value(
                format!("resolution_status {:?} is not one of SUCCESS, DECLINED", self.resolution_status),
                serde_json::json!({ "key_path": "resolution_status" }),
            )
        })
    }
}

fn media_ids(v: Value, key_path: &str) -> Result<Vec<Uuid>, Error> {
    let bad = || {
        Error::invalid_value(
            format!("Invalid value for param {key_path}: expected an array of media ids"),
            serde_json::json!({ "key_path": key_path }),
        )
    };
    let Value::Array(items) = v else { return Err(bad()) };
    items
        .into_iter()
        .map(|item| {
            let s = match &item {
                Value::String(s) => s.as_str(),
                Value::Object(o) => o.get("media_id").and_then(Value::as_str).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            Uuid::parse_str(s.trim()).map_err(|_| {
                Error::invalid_value(
                    format!("Invalid value for param {key_path}: {s:?} is not a UUID"),
                    serde_json::json!({ "key_path": key_path }),
                )
            })
        })
        .collect()
}

/// Parse the `analyses` array found under `key_path`.
pub fn parse_analyses(value: Value, key_path: &str) -> Result<Vec<AnalysisRequest>, Error> {
    let Value::Array(items) = value else { return Err(Error::invalid_type(key_path)) };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("{key_path}[{i}]");
        if !item.is_object() {
            return Err(Error::invalid_type(&path));
        }
        let w: AnalysisWire = from_value(item).map_err(|e| prefix(e, &path))?;
        let kind: AnalysisType = w.kind.parse().map_err(|_| {
            Error::invalid_value(
                format!("Invalid analysis type {:?}: expected one of quality, biometry, collection, documents", w.kind),
                serde_json::json!({ "key_path": format!("{path}.type") }),
            )
        })?;
        let mut raw = w.params.unwrap_or_default();
        let inner_media = raw.remove("source_media");
        let source_media = match w.source_media.or(inner_media) {
            None | Some(Value::Null) => None,
            Some(v) => Some(media_ids(v, &format!("{path}.source_media"))?),
        };
        for (key, top) in [("collection_id", w.collection_id), ("collection_ids", w.collection_ids)] {
            if let Some(v) = top.filter(|v| !v.is_null()) {
                raw.entry(key.to_owned()).or_insert(v);
            }
        }
        let params = AnalysisParams::from_raw(raw, &format!("{path}.params"))?;
        let meta_data = match w.meta_data {
            None | Some(Value::Null) => MetaData::default(),
            Some(v) => MetaData::parse(v, &format!("{path}.meta_data"))?,
        };
        out.push(AnalysisRequest { kind, source_media, params, meta_data });
    }
    Ok(out)
}

/// Errors of a nested deserialisation name the full key path.
fn prefix(e: Error, path: &str) -> Error {
    match e {
        Error::InvalidStructure { details, .. } => {
            let key = details.get("key_path").and_then(Value::as_str).unwrap_or_default();
            Error::missing_field(&format!("{path}.{key}"))
        }
        Error::InvalidType { details, .. } => {
            let key = details.get("key_path").and_then(Value::as_str).unwrap_or_default();
            Error::invalid_type(&format!("{path}.{key}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oz_shapes_are_accepted() {
        let m = Uuid::new_v4();
        let c = Uuid::new_v4();
        let reqs = parse_analyses(
            json!([
                {"type": "quality", "source_media": [m.to_string()], "params": {"extract_best_shot": false}, "meta_data": {"k": 1}},
                {"type": "LIVENESS"},
                {"type": "collection", "params": {"source_media": [{"media_id": m.to_string()}], "decision_count": 5}, "collection_id": c.to_string()},
                {"type": "Biometry", "params": {"threshold_min": 0.6, "threshold_max": 0.9}}
            ]),
            "analyses",
        )
        .unwrap();
        assert_eq!(reqs[0].kind, AnalysisType::Quality);
        assert_eq!(reqs[0].source_media, Some(vec![m]));
        assert!(!reqs[0].params.extract_best_shot);
        assert_eq!(reqs[0].meta_data.to_value(), json!({"k": 1}));
        assert_eq!(reqs[1].kind, AnalysisType::Quality);
        assert!(reqs[1].params.extract_best_shot);
        assert_eq!(reqs[2].source_media, Some(vec![m]));
        assert_eq!(reqs[2].params.collection_ids, Some(vec![c]));
        assert_eq!(reqs[2].params.decision_count, Some(5));
        assert_eq!(reqs[3].params.threshold_min, Some(0.6));
    }

    #[test]
    fn bad_shapes_name_their_key_path() {
        let e = parse_analyses(json!([{"source_media": []}]), "analyses").unwrap_err();
        assert_eq!(e.to_string(), "Could not locate field for key_path analyses[0].type from provided dict data");
        let e = parse_analyses(json!([{"type": "dna"}]), "analyses").unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }));
        let e = parse_analyses(json!([{"type": "quality", "source_media": ["x"]}]), "analyses").unwrap_err();
        assert!(e.to_string().contains("not a UUID"), "{e}");
        let e = parse_analyses(json!({"type": "quality"}), "analyses").unwrap_err();
        assert!(matches!(e, Error::InvalidType { .. }));
        let e =
            parse_analyses(json!([{"type": "biometry", "params": {"threshold_min": "high"}}]), "analyses").unwrap_err();
        assert_eq!(e.to_string(), "Invalid data type for param analyses[0].params.threshold_min");
    }
}
