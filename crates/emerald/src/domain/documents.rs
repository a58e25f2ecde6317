//! DOCUMENTS analyses (spec §8.1, §8.3, §8.4; docs/documents.md): what is read from a document
//! photo (the MRZ, through `emerald-documents`), how it is shown (`text_fields[]`, the
//! `document` summary) and the decision:
//!
//! * SUCCESS — an MRZ was read, every check digit holds and the document is not expired;
//! * DECLINED — an MRZ was read and a check digit fails, or the document is expired (or its
//!   expiry is no date);
//! * OPERATOR_REQUIRED — no MRZ could be read (or the visual zone disagrees with the MRZ).
//!
//! Pure rules and JSON shapes; the reading runs in [`super::evaluate`].

use emerald_documents::{Date, Mrz};
use serde_json::{json, Map, Value};

use super::analyses::Resolution;

/// `results_data.text_fields[].status`: both sources agree, disagree, or one only.
pub const MATCH: &str = "match";
pub const MISMATCH: &str = "mismatch";
pub const MRZ_ONLY: &str = "mrz_only";
pub const VISUAL_ONLY: &str = "visual_only";

/// Why no decision could be made without a person.
pub const NO_MRZ: &str = "no machine-readable zone could be read on the document photos";

/// The decision on the best MRZ read (None: none was read), and why when not SUCCESS.
pub fn decide(mrz: Option<&Mrz>, today: Date) -> (Resolution, Option<String>) {
    let Some(m) = mrz else { return (Resolution::OperatorRequired, Some(NO_MRZ.to_owned())) };
    if !m.valid() {
        return (Resolution::Declined, Some(format!("MRZ check digits fail: {}", failed_checks(m).join(", "))));
    }
    match m.expired(today) {
        None => (Resolution::Declined, Some(format!("the MRZ expiry date {:?} is not a date", m.expiry_date))),
        Some(true) => (
            Resolution::Declined,
            Some(format!("the document expired on {}", m.expiry(today).map(|d| d.to_string()).unwrap_or_default())),
        ),
        Some(false) => (Resolution::Success, None),
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

/// The MRZ fields as `text_fields[]` items `{field_name, visual, mrz, status}` (spec §8.4 [C],
/// `status` is Emerald's own). Dates are ISO 8601.
pub fn text_fields(m: &Mrz, today: Date) -> Vec<Value> {
    let mut fields = vec![
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
    fields
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, mrz)| json!({ "field_name": name, "visual": null, "mrz": mrz, "status": MRZ_ONLY }))
        .collect()
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

/// The `results_data` of a media (or, for the best one, of the analysis).
pub fn results_data(mrz: Option<&Mrz>, today: Date) -> Map<String, Value> {
    let mut data = Map::new();
    match mrz {
        Some(m) => {
            data.insert("text_fields".into(), Value::Array(text_fields(m, today)));
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
            data.insert("text_fields".into(), Value::Array(Vec::new()));
            data.insert("document".into(), Value::Null);
            data.insert("mrz_valid".into(), Value::Bool(false));
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] =
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];

    #[test]
    fn decision_rule() {
        let m = Mrz::parse(&TD3).unwrap();
        let before = Date::new(2010, 1, 1).unwrap();
        let after = Date::new(2025, 1, 1).unwrap();
        assert_eq!(decide(Some(&m), before), (Resolution::Success, None));
        let (r, why) = decide(Some(&m), after);
        assert_eq!(r, Resolution::Declined);
        assert!(why.unwrap().contains("expired on 2012-04-15"));
        let broken = Mrz::parse(&[TD3[0], "L898902C35UTO7408122F1204159ZE184226B<<<<<10"]).unwrap();
        let (r, why) = decide(Some(&broken), before);
        assert_eq!(r, Resolution::Declined);
        assert!(why.unwrap().contains("document_number"));
        assert_eq!(decide(None, before).0, Resolution::OperatorRequired);
    }

    #[test]
    fn fields_and_summary() {
        let m = Mrz::parse(&TD3).unwrap();
        let today = Date::new(2010, 1, 1).unwrap();
        let data = results_data(Some(&m), today);
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
        let none = results_data(None, today);
        assert_eq!(none["text_fields"], json!([]));
        assert_eq!(none["mrz_valid"], false);
    }
}
