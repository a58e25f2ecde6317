//! DOCUMENTS analyses (spec §8.1, §8.3, §8.4; docs/documents.md): what is read from a document
//! photo (the MRZ, through `emerald-documents`), how it is shown (`text_fields[]`, the
//! `document` summary) and the decision:
//!
//! * SUCCESS — an MRZ was read, every check digit holds and the document is not expired;
//! * DECLINED — an MRZ was read and a check digit fails, or the document is expired (or its
//!   expiry is no date);
//! * OPERATOR_REQUIRED — no MRZ could be read, or a field of the visual zone disagrees with the
//!   MRZ (and the MRZ is otherwise valid and the document not expired).
//!
//! Pure rules and JSON shapes; the reading runs in [`super::evaluate`].

use emerald_documents::visual::compare;
use emerald_documents::{Date, Mrz, VisualFields};
use serde_json::{json, Map, Value};

use crate::domain::model::analysis::Resolution;

/// `results_data.text_fields[].status`: both sources agree, disagree, or one only.
pub const MATCH: &str = "match";
pub const MISMATCH: &str = "mismatch";
pub const MRZ_ONLY: &str = "mrz_only";
pub const VISUAL_ONLY: &str = "visual_only";

/// Why a document photo has no portrait.
pub const NO_PORTRAIT: &str = "no face found on the document";

/// Why no decision could be made without a person.
pub const NO_MRZ: &str = "no machine-readable zone could be read on the document photos";

/// The visual fields whose disagreement with the MRZ sends a document to an operator: the
/// person's names, the document's number and dates. Nationality and sex (one to three letters,
/// often misread by the OCR on an ID card: `ERA` for `FRA`) are compared and shown, not decisive.
pub const DECISIVE: [&str; 5] = ["surname", "given_names", "document_number", "birth_date", "expiry_date"];

/// The decision on the best MRZ read (None: none was read) and the fields of the visual zone
/// that disagree with it, and why when not SUCCESS.
pub fn decide(mrz: Option<&Mrz>, mismatches: &[&str], today: Date) -> (Resolution, Option<String>) {
    let Some(m) = mrz else { return (Resolution::OperatorRequired, Some(NO_MRZ.to_owned())) };
    let mismatches: Vec<&str> = mismatches.iter().copied().filter(|f| DECISIVE.contains(f)).collect();
    if !m.valid() {
        return (Resolution::Declined, Some(format!("MRZ check digits fail: {}", failed_checks(m).join(", "))));
    }
    match m.expired(today) {
        None => (Resolution::Declined, Some(format!("the MRZ expiry date {:?} is not a date", m.expiry_date))),
        Some(true) => (
            Resolution::Declined,
            Some(format!("the document expired on {}", m.expiry(today).map(|d| d.to_string()).unwrap_or_default())),
        ),
        Some(false) if !mismatches.is_empty() => (
            Resolution::OperatorRequired,
            Some(format!("the visual zone disagrees with the MRZ: {}", mismatches.join(", "))),
        ),
        Some(false) => (Resolution::Success, None),
    }
}

/// What was read of the visual zone.
#[derive(Debug, Clone)]
pub enum VisualZone {
    /// Read: the fields found, the OCR's lines and which OCR read them (`ppocr`, `tesseract`).
    Read { fields: VisualFields, lines: Vec<String>, ocr: &'static str },
    /// Not read, and why (no OCR on this server, the OCR failed).
    NotRead(String),
}

impl VisualZone {
    pub fn fields(&self) -> Option<&VisualFields> {
        match self {
            VisualZone::Read { fields, .. } => Some(fields),
            VisualZone::NotRead(_) => None,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            VisualZone::Read { fields, lines, ocr } => json!({
                "read": true,
                "ocr": ocr,
                "fields_found": fields.fields.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                "lines": lines,
            }),
            VisualZone::NotRead(why) => json!({ "read": false, "reason": why }),
        }
    }
}

/// The face on the document, or why none was found.
#[derive(Debug, Clone)]
pub enum Portrait {
    /// The face box and the cut returned as the output image: x, y, width, height in pixels of
    /// the photo as stored, turned upright by `orientation`.
    Found {
        face_box: [f32; 4],
        cut: [f32; 4],
        det_score: f32,
    },
    NotFound(String),
}

impl Portrait {
    pub fn found(&self) -> bool {
        matches!(self, Portrait::Found { .. })
    }

    pub fn to_json(&self) -> Value {
        let b = |r: &[f32; 4]| json!({ "x": r[0].round(), "y": r[1].round(), "width": r[2].round(), "height": r[3].round() });
        match self {
            Portrait::Found { face_box, cut, det_score } => json!({
                "found": true,
                "box": b(face_box),
                "cut": b(cut),
                "det_score": (f64::from(*det_score) * 1000.0).round() / 1000.0,
            }),
            Portrait::NotFound(why) => json!({ "found": false, "reason": why }),
        }
    }
}

/// Names of the check digits that fail.
pub fn failed_checks(m: &Mrz) -> Vec<&'static str> {
    let c = &m.checks;
    [
        ("document_number", c.document_number),
        ("birth_date", c.birth_date),
        ("expiry_date", c.expiry_date),
        ("personal_number", c.optional_data.unwrap_or(true)),
        ("composite", c.composite),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(n, _)| n)
    .collect()
}

fn iso(d: Option<Date>, raw: &str) -> Value {
    match d {
        Some(d) => Value::String(d.to_string()),
        None if raw.is_empty() => Value::Null,
        None => Value::String(raw.to_owned()),
    }
}

fn opt(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

/// The MRZ fields and the visual zone's as `text_fields[]` items `{field_name, visual, mrz,
/// status}` (spec §8.4 [C], `status` is Emerald's own), and the names of the fields where they
/// disagree. Dates are ISO 8601.
pub fn text_fields(mrz: Option<&Mrz>, visual: Option<&VisualFields>, today: Date) -> (Vec<Value>, Vec<&'static str>) {
    let mut fields: Vec<(&'static str, Value)> = Vec::new();
    if let Some(m) = mrz {
        fields = vec![
            ("document_type", opt(&m.document_type)),
            ("issuing_state", opt(&m.issuing_state)),
            ("surname", opt(&m.surname)),
            ("given_names", opt(&m.given_names)),
            ("document_number", opt(&m.document_number)),
            ("nationality", opt(&m.nationality)),
            ("birth_date", iso(m.birth(today), &m.birth_date)),
            ("sex", opt(&m.sex)),
            ("expiry_date", iso(m.expiry(today), &m.expiry_date)),
        ];
        if m.format == emerald_documents::Format::Td3 {
            fields.push(("personal_number", opt(&m.optional_data)));
        } else {
            fields.push(("optional_data", opt(&m.optional_data)));
            if m.format == emerald_documents::Format::Td1 {
                fields.push(("optional_data_2", opt(&m.optional_data_2)));
            }
        }
    }
    // Visual fields the MRZ does not have (or no MRZ at all) come after, in their order.
    if let Some(v) = visual {
        for name in emerald_documents::visual::FIELDS {
            if v.get(name).is_some() && !fields.iter().any(|(n, m)| *n == name && !m.is_null()) {
                fields.retain(|(n, _)| *n != name);
                fields.push((name, Value::Null));
            }
        }
    }
    let mut mismatches = Vec::new();
    let items = fields
        .into_iter()
        .filter_map(|(name, mrz)| {
            let vis = visual.and_then(|v| v.get(name));
            let status = match (vis, mrz.as_str()) {
                (Some(v), Some(m)) if compare(name, v, m) => MATCH,
                (Some(_), Some(_)) => {
                    mismatches.push(name);
                    MISMATCH
                }
                (Some(_), None) => VISUAL_ONLY,
                (None, Some(_)) => MRZ_ONLY,
                (None, None) => return None,
            };
            Some(json!({ "field_name": name, "visual": vis, "mrz": mrz, "status": status }))
        })
        .collect();
    (items, mismatches)
}

/// `results_data.document`: type, issuing state, number, expiry, MRZ validity, expiry state.
pub fn summary(m: &Mrz, today: Date) -> Value {
    json!({
        "type": m.document_type,
        "format": m.format.as_str(),
        "issuing_state": m.issuing_state,
        "number": m.document_number,
        "expiry": iso(m.expiry(today), &m.expiry_date),
        "mrz_valid": m.valid(),
        "expired": m.expired(today),
    })
}

/// The `results_data` of a media (or, for the analysis, of the best reading with the visual
/// fields of all its media), and the fields where the visual zone disagrees with the MRZ.
pub fn results_data(
    mrz: Option<&Mrz>,
    visual: &VisualZone,
    portrait: &Portrait,
    today: Date,
) -> (Map<String, Value>, Vec<&'static str>) {
    let mut data = Map::new();
    let (fields, mismatches) = text_fields(mrz, visual.fields(), today);
    data.insert("text_fields".into(), Value::Array(fields));
    match mrz {
        Some(m) => {
            data.insert("document".into(), summary(m, today));
            data.insert("mrz_valid".into(), Value::Bool(m.valid()));
            data.insert("expired".into(), json!(m.expired(today)));
            data.insert("mrz_lines".into(), json!(m.lines));
            data.insert("mrz_failed_checks".into(), json!(failed_checks(m)));
            data.insert(
                "mrz_corrections".into(),
                Value::Array(
                    m.corrections
                        .iter()
                        .map(|c| json!({ "field": c.field, "read": c.read, "corrected": c.corrected }))
                        .collect(),
                ),
            );
        }
        None => {
            data.insert("document".into(), Value::Null);
            data.insert("mrz_valid".into(), Value::Bool(false));
        }
    }
    data.insert("visual_mismatches".into(), json!(mismatches));
    data.insert("visual_zone".into(), visual.to_json());
    data.insert("portrait".into(), portrait.to_json());
    (data, mismatches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] =
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];

    fn visual(pairs: &[(&'static str, &str)]) -> VisualZone {
        VisualZone::Read {
            fields: VisualFields { fields: pairs.iter().map(|(n, v)| (*n, v.to_string())).collect() },
            lines: Vec::new(),
            ocr: "ppocr",
        }
    }

    #[test]
    fn decision_rule() {
        let m = Mrz::parse(&TD3).unwrap();
        let before = Date::new(2010, 1, 1).unwrap();
        let after = Date::new(2025, 1, 1).unwrap();
        assert_eq!(decide(Some(&m), &[], before), (Resolution::Success, None));
        let (r, why) = decide(Some(&m), &[], after);
        assert_eq!(r, Resolution::Declined);
        assert!(why.unwrap().contains("expired on 2012-04-15"));
        let broken = Mrz::parse(&[TD3[0], "L898902C35UTO7408122F1204159ZE184226B<<<<<10"]).unwrap();
        let (r, why) = decide(Some(&broken), &[], before);
        assert_eq!(r, Resolution::Declined);
        assert!(why.unwrap().contains("document_number"));
        // A broken MRZ stays DECLINED whatever the visual zone says.
        assert_eq!(decide(Some(&broken), &["surname"], before).0, Resolution::Declined);
        assert_eq!(decide(None, &[], before).0, Resolution::OperatorRequired);
        // Nationality and sex are shown, not decisive.
        assert_eq!(decide(Some(&m), &["nationality", "sex"], before).0, Resolution::Success);
        let (r, why) = decide(Some(&m), &["surname"], before);
        assert_eq!(r, Resolution::OperatorRequired);
        assert!(why.unwrap().contains("disagrees with the MRZ: surname"));
    }

    #[test]
    fn fields_and_summary() {
        let m = Mrz::parse(&TD3).unwrap();
        let today = Date::new(2010, 1, 1).unwrap();
        let none = Portrait::NotFound("no face found on the document".into());
        let (data, mismatches) = results_data(Some(&m), &VisualZone::NotRead("no OCR".into()), &none, today);
        assert!(mismatches.is_empty());
        let fields = data["text_fields"].as_array().unwrap();
        let get = |n: &str| fields.iter().find(|f| f["field_name"] == n).unwrap().clone();
        assert_eq!(get("surname")["mrz"], "ERIKSSON");
        assert_eq!(get("given_names")["mrz"], "ANNA MARIA");
        assert_eq!(get("birth_date")["mrz"], "1974-08-12");
        assert_eq!(get("expiry_date")["mrz"], "2012-04-15");
        assert_eq!(get("personal_number")["mrz"], "ZE184226B");
        assert_eq!(get("surname")["status"], MRZ_ONLY);
        assert!(get("surname")["visual"].is_null());
        assert_eq!(data["document"]["number"], "L898902C3");
        assert_eq!(data["document"]["mrz_valid"], true);
        assert_eq!(data["document"]["expired"], false);
        assert_eq!(data["visual_zone"], json!({"read": false, "reason": "no OCR"}));
        assert_eq!(data["portrait"], json!({"found": false, "reason": "no face found on the document"}));
        let (none, _) = results_data(None, &VisualZone::NotRead("x".into()), &Portrait::NotFound("y".into()), today);
        assert_eq!(none["text_fields"], json!([]));
        assert_eq!(none["mrz_valid"], false);
    }

    #[test]
    fn visual_fields_are_compared_with_the_mrz() {
        let m = Mrz::parse(&TD3).unwrap();
        let today = Date::new(2010, 1, 1).unwrap();
        let found = Portrait::Found { face_box: [10.4, 20.0, 30.0, 40.0], cut: [0.0, 0.0, 60.0, 80.0], det_score: 0.9 };
        let v = visual(&[
            ("surname", "Eriksson"),
            ("given_names", "ANNA-MARIA"),
            ("birth_date", "1974-08-12"),
            ("sex", "M"),
        ]);
        let (data, mismatches) = results_data(Some(&m), &v, &found, today);
        assert_eq!(mismatches, vec!["sex"]);
        let fields = data["text_fields"].as_array().unwrap();
        let get = |n: &str| fields.iter().find(|f| f["field_name"] == n).unwrap().clone();
        assert_eq!(get("surname")["status"], MATCH);
        assert_eq!(get("surname")["visual"], "Eriksson");
        assert_eq!(get("given_names")["status"], MATCH);
        assert_eq!(get("birth_date")["status"], MATCH);
        assert_eq!(get("sex")["status"], MISMATCH);
        assert_eq!(get("document_number")["status"], MRZ_ONLY);
        assert_eq!(data["visual_mismatches"], json!(["sex"]));
        assert_eq!(data["portrait"]["box"], json!({"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0}));
        // No MRZ: the visual fields alone.
        let (data, mismatches) = results_data(None, &v, &found, today);
        assert!(mismatches.is_empty());
        let fields = data["text_fields"].as_array().unwrap();
        assert_eq!(fields.len(), 4);
        assert!(fields.iter().all(|f| f["status"] == VISUAL_ONLY && f["mrz"].is_null()));
    }
}
