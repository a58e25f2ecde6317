//! The console's write and overview screens: create an order (the domain function of
//! `POST /api/folders/`, then that of `POST /api/folders/{id}/analyses/`), delete an order after
//! a typed confirmation (`DELETE /api/folders/{id}`). Statistics live in `statistics`, the
//! ADMIN's system page in `ops` (beside the audit screen and webhook redelivery).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde_json::{json, Value};
use uuid::Uuid;

use super::forms::{see_other, typed_delete, upload_progress, upload_redirect, DeleteForm};
use super::html::Html;
use super::pages::{get, input, parse_query};
use super::{error_page, message_page, page, settings, text, Session};
use crate::api::oz::analysis_request::parse_analyses;
use crate::api::oz::multipart::FormUpload;
use crate::api::AppState;
use crate::domain::model::analysis::{AnalysisRequest, COLLECTION_DEFAULT_K, COLLECTION_MAX_K};
use crate::domain::model::media::{Media, UploadLimits};
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::model::upload::ReceivedFile;
use crate::domain::store::ListParams;
use crate::domain::Error;

/// File inputs on a fresh create-order form; `?slots=N` (the "more file inputs" link) asks for
/// more, up to the upload limit. Each input takes several files (`multiple`), all of its content
/// type; the server counts the files against `OZ_ATTACHMENT_MAX_COUNT` whatever the inputs.
pub const FILE_SLOTS: usize = 4;
/// File inputs of the order page's add-media form.
pub const ADD_MEDIA_SLOTS: usize = 2;

/// The content types a file can be given, and the §6.7 tags each means.
pub const CONTENT_TYPES: [(&str, &str, &[&str]); 11] = [
    ("selfie", text::CT_SELFIE, &["photo_selfie"]),
    ("id_front", text::CT_ID_FRONT, &["photo_id", "photo_id_front"]),
    ("id_back", text::CT_ID_BACK, &["photo_id", "photo_id_back"]),
    ("video_scan", text::CT_VIDEO_SCAN, &["video_selfie", "video_selfie_scan", "orientation_portrait"]),
    ("video_blank", text::CT_VIDEO_BLANK, &["video_selfie", "video_selfie_blank", "orientation_portrait"]),
    ("video_left", text::CT_VIDEO_LEFT, &["video_selfie", "video_selfie_left", "orientation_portrait"]),
    ("video_right", text::CT_VIDEO_RIGHT, &["video_selfie", "video_selfie_right", "orientation_portrait"]),
    ("video_down", text::CT_VIDEO_DOWN, &["video_selfie", "video_selfie_down", "orientation_portrait"]),
    ("video_high", text::CT_VIDEO_HIGH, &["video_selfie", "video_selfie_high", "orientation_portrait"]),
    ("video_smile", text::CT_VIDEO_SMILE, &["video_selfie", "video_selfie_smile", "orientation_portrait"]),
    ("video_eyes", text::CT_VIDEO_EYES, &["video_selfie", "video_selfie_eyes", "orientation_portrait"]),
];

/// Roles that create orders (the domain refuses the others too).
pub fn creates_orders(t: UserType) -> bool {
    matches!(t, UserType::Admin | UserType::Client | UserType::ClientAdmin)
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

fn checkbox(h: &mut Html, name: &'static str, value: &'static str, label: &'static str, on: bool, enabled: bool) {
    h.s("<label class=\"check\"><input type=\"checkbox\" name=\"").s(name).s("\" value=\"").s(value).s("\"");
    if on && enabled {
        h.s(" checked");
    }
    if !enabled {
        h.s(" disabled");
    }
    h.s("> ").t(label).s("</label>");
}

/// How many file inputs a form shows: `asked` (`?slots=`), or as many as the form sent back,
/// or `default`; never more than the upload's file limit.
pub(super) fn slot_count(asked: Option<&str>, fields: &[(String, String)], default: usize, max_files: usize) -> usize {
    let sent = fields.iter().filter(|(k, _)| k.starts_with("kind")).count();
    let asked = asked.and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(0);
    asked.max(sent).max(default).min(max_files.max(1))
}

/// `n` bytes in MiB (or KiB below one MiB), for the limits note.
fn size_text(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.0} MiB", n as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.0} KiB", (n as f64 / 1024.0).ceil())
    }
}

/// The file inputs, each with its content type (mapped to the §6.7 tags); the limits note.
pub(super) fn file_slots(b: &mut Html, fields: &[(String, String)], count: usize, limits: UploadLimits) {
    b.el("<p class=\"note\">", text::FILES_NOTE, "</p>");
    let limit = format!(
        "{} {} {} {}.",
        text::FILES_LIMIT_BEFORE,
        limits.max_files,
        text::FILES_LIMIT_MIDDLE,
        size_text(limits.max_file_bytes)
    );
    b.el("<p class=\"note\">", limit, "</p>");
    // The same limits for console.js, which checks the chosen files before the upload.
    b.s("<div class=\"file-checks\" data-max-files=\"").t(limits.max_files).s("\" data-max-file-bytes=\"");
    b.t(limits.max_file_bytes).s("\" data-too-big=\"").t(text::FILE_TOO_BIG).s("\" data-wrong-type=\"");
    b.t(text::FILE_WRONG_TYPE).s("\" data-too-many=\"").t(text::FILES_TOO_MANY).s("\">");
    for i in 1..=count {
        let chosen = field(fields, &format!("kind{i}")).unwrap_or("selfie");
        b.s("<div class=\"slot\"><label for=\"file").t(i).s("\">").t(format!("{} {i}", text::FILE)).s("</label>");
        b.s("<input id=\"file").t(i).s("\" name=\"file").t(i);
        b.s("\" type=\"file\" multiple accept=\"image/*,video/*,.zip\">");
        b.s("<label for=\"kind").t(i).s("\">").t(text::CONTENT_TYPE).s("</label><select id=\"kind").t(i);
        b.s("\" name=\"kind").t(i).s("\">");
        for (value, label, _) in CONTENT_TYPES {
            b.s("<option value=\"").s(value).s("\"");
            if chosen == value {
                b.s(" selected");
            }
            b.s(">").t(label).s("</option>");
        }
        b.s("</select>");
        // Portrait or landscape, for a video or ZIP (`orientation_*`, §6.7); console.js presets
        // it from the chosen video's aspect ratio.
        let orient = field(fields, &format!("orient{i}")).unwrap_or("portrait");
        b.s("<label for=\"orient").t(i).s("\">").t(text::ORIENTATION).s("</label><select id=\"orient").t(i);
        b.s("\" name=\"orient").t(i).s("\" data-orientation-of=\"file").t(i).s("\">");
        for (value, label) in ORIENTATIONS {
            b.s("<option value=\"").s(value).s("\"");
            if orient == value {
                b.s(" selected");
            }
            b.s(">").t(label).s("</option>");
        }
        b.s("</select>");
        // One meta_data key and its text value for the files of this input (`media:meta_data`).
        for (name, label) in [("mkey", text::MEDIA_META_KEY), ("mval", text::MEDIA_META_VALUE)] {
            let value = fields.iter().rev().find(|(k, _)| *k == format!("{name}{i}")).map(|(_, v)| v.as_str());
            b.s("<label for=\"").s(name).t(i).s("\">").t(label).s("</label><input id=\"").s(name).t(i);
            b.s("\" name=\"").s(name).t(i).s("\" type=\"text\" autocomplete=\"off\" value=\"").t(value.unwrap_or(""));
            b.s("\">");
        }
        b.s("</div>");
    }
    b.s("</div>");
}

/// Each received file's meta_data from its input's key/value row (`mkeyN` = `mvalN`, a text
/// value: the API's `media:meta_data`, §6.1), after `tag_files` gave the files their keys (the
/// files of `file1` are `file1`, `file1.2`, …): every file of the input gets it; no key, none.
pub(super) fn media_meta(
    files: &[ReceivedFile],
    fields: &[(String, String)],
) -> Result<HashMap<String, MetaData>, Error> {
    let mut out = HashMap::new();
    for f in files {
        let input = f.key.split('.').next().unwrap_or(&f.key);
        let Some(key) = field(fields, &input.replacen("file", "mkey", 1)) else { continue };
        let name = input.replacen("file", "mval", 1);
        let value = fields.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v.trim()).unwrap_or("");
        let mut meta = serde_json::Map::new();
        meta.insert(key.to_owned(), Value::String(value.to_owned()));
        out.insert(f.key.clone(), MetaData::parse(Value::Object(meta), "media:meta_data")?);
    }
    Ok(out)
}

/// The orientation choices of a video or ZIP (`orientation_portrait`/`_landscape`, §6.7).
const ORIENTATIONS: [(&str, &str); 2] = [("portrait", text::PORTRAIT), ("landscape", text::LANDSCAPE)];

/// Each received file's tags from the content type of its input (`fileN` → `kindN`), a video's
/// orientation from the input's choice (`orientN`: `portrait`, the default, or `landscape`). The
/// files of one input (a `multiple` input sends them under one name) get keys of their own
/// (`file1`, `file1.2`, …), so that each carries its tags. An unknown content type or
/// orientation is refused.
pub(super) fn tag_files(
    files: &mut [ReceivedFile],
    fields: &[(String, String)],
) -> Result<HashMap<String, Vec<String>>, String> {
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for f in files.iter_mut() {
        let kind = field(fields, &f.key.replacen("file", "kind", 1)).unwrap_or("selfie");
        let Some((_, _, t)) = CONTENT_TYPES.iter().find(|(v, _, _)| *v == kind) else {
            return Err(format!("{} {kind:?}", text::UNKNOWN_CONTENT_TYPE));
        };
        let orientation = match field(fields, &f.key.replacen("file", "orient", 1)).unwrap_or("portrait") {
            "portrait" => "orientation_portrait",
            "landscape" => "orientation_landscape",
            other => return Err(format!("{} {other:?}", text::UNKNOWN_ORIENTATION)),
        };
        let mut key = f.key.clone();
        let mut n = 1;
        while tags.contains_key(&key) {
            n += 1;
            key = format!("{}.{n}", f.key);
        }
        f.key = key.clone();
        let t = t.iter().map(|s| if *s == "orientation_portrait" { orientation } else { s });
        tags.insert(key, t.map(|s| (*s).to_owned()).collect());
    }
    Ok(tags)
}

/// A labelled number input of the analysis options, with the value sent back.
fn number_input(
    b: &mut Html,
    name: &'static str,
    label: &'static str,
    step: &'static str,
    fields: &[(String, String)],
    placeholder: Option<f64>,
) {
    b.s("<div class=\"slot\"><label for=\"").s(name).s("\">").t(label).s("</label><input id=\"").s(name);
    b.s("\" name=\"").s(name).s("\" type=\"number\" step=\"").s(step);
    b.s(match name {
        "decision_count" => "\" inputmode=\"numeric\" min=\"1\" max=\"100\"",
        "capabilities" => "\" inputmode=\"numeric\" min=\"0\"",
        _ => "\" inputmode=\"decimal\" min=\"0\" max=\"1\"",
    });
    if let Some(p) = placeholder {
        b.s(" placeholder=\"").t(p).s("\"");
    }
    b.s(" value=\"").t(field(fields, name).unwrap_or("")).s("\"></div>");
}

/// The analyses to request, with their options: shared by the create form and the order page's
/// "request analyses" form. Boxes are disabled without `can_start_analysis_*`; `fresh` ticks
/// liveness and its best shot (a form sent back shows what was sent). `choices`: what is offered
/// per analysis as the files it takes (`source_media`).
pub(super) async fn analyses_fieldset(
    state: &AppState,
    session: &Session,
    fields: &[(String, String)],
    fresh: bool,
    choices: Choices<'_>,
) -> Html {
    let can = &session.user.can_start;
    let mut b = Html::new();
    b.s("<fieldset><legend>").t(text::ANALYSES).s("</legend>");
    // Liveness is ticked on a fresh form; the others need more than one selfie, so they are
    // ticked by the user (the analyses are checked by the API's rules all the same).
    let asked = |v: &str| fields.iter().any(|(k, x)| k == "analysis" && x == v);
    checkbox(&mut b, "analysis", "quality", text::AN_QUALITY, fresh || asked("quality"), can.quality);
    checkbox(&mut b, "analysis", "biometry", text::AN_BIOMETRY, asked("biometry"), can.biometry);
    checkbox(&mut b, "analysis", "documents", text::AN_DOCUMENTS, asked("documents"), can.documents);
    let collections = state
        .domain
        .list_collections(&session.caller, &ListParams(vec![("limit".into(), "200".into())]))
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    checkbox(
        &mut b,
        "analysis",
        "collection",
        text::AN_COLLECTION,
        asked("collection"),
        can.collection && !collections.is_empty(),
    );
    if !collections.is_empty() {
        let chosen = field(fields, "collection_id");
        b.s("<label for=\"collection_id\">")
            .t(text::COLLECTION)
            .s("</label><select id=\"collection_id\" name=\"collection_id\">");
        for c in &collections {
            let id = c.collection_id.to_string();
            b.s("<option value=\"").t(&id).s("\"");
            if chosen == Some(id.as_str()) {
                b.s(" selected");
            }
            b.s(">").t(&c.alias).s("</option>");
        }
        b.s("</select>");
    }
    b.s("</fieldset><fieldset class=\"options\"><legend>").t(text::ANALYSIS_OPTIONS).s("</legend>");
    b.s("<label class=\"check\"><input type=\"checkbox\" name=\"extract_best_shot\" value=\"on\"");
    if fresh || field(fields, "extract_best_shot").is_some() {
        b.s(" checked");
    }
    b.s("> ").t(text::EXTRACT_BEST_SHOT).s("</label>");
    b.el("<p class=\"note\">", text::BAND_NOTE, "</p>");
    let defaults = state.domain.thresholds;
    number_input(&mut b, "threshold_min", text::THRESHOLD_MIN, "any", fields, None);
    number_input(&mut b, "threshold_max", text::THRESHOLD_MAX, "any", fields, Some(defaults.biometry));
    number_input(&mut b, "decision_threshold", text::DECISION_THRESHOLD, "any", fields, Some(defaults.collection));
    number_input(&mut b, "decision_count", text::DECISION_COUNT, "1", fields, Some(COLLECTION_DEFAULT_K as f64));
    number_input(&mut b, "capabilities", text::CAPABILITIES, "1", fields, None);
    b.s("</fieldset>");
    source_choices(&mut b, fields, choices);
    b
}

/// The analyses whose files can be chosen, with their form value.
const SOURCE_KINDS: [(&str, &str); 4] =
    [("quality", "QUALITY"), ("biometry", "BIOMETRY"), ("documents", "DOCUMENTS"), ("collection", "COLLECTION")];

/// What a form offers as the files of each analysis.
#[derive(Clone, Copy)]
pub(super) enum Choices<'a> {
    /// The create form's file inputs (`src_{analysis}` = input numbers).
    Inputs(usize),
    /// The order's stored files (`src_{analysis}` = media ids).
    Media(&'a [Media]),
}

/// Per analysis, the files it takes: none ticked, the API's §8.3 rules choose its media.
fn source_choices(b: &mut Html, fields: &[(String, String)], choices: Choices<'_>) {
    let options: Vec<(String, String)> = match choices {
        Choices::Inputs(n) => (1..=n).map(|i| (i.to_string(), format!("{} {i}", text::FILE))).collect(),
        Choices::Media(media) => media
            .iter()
            .map(|m| (m.media_id.to_string(), format!("{} ({})", m.original_name, m.kind.as_str())))
            .collect(),
    };
    if options.is_empty() {
        return;
    }
    b.s("<fieldset class=\"sources\"><legend>").t(text::SOURCES).s("</legend>");
    b.el("<p class=\"note\">", text::SOURCES_NOTE, "</p>");
    for (value, label) in SOURCE_KINDS {
        let name = format!("src_{value}");
        b.s("<fieldset><legend>").t(label).s("</legend>");
        for (n, (option, shown)) in options.iter().enumerate() {
            let on = fields.iter().any(|(k, v)| *k == name && v.trim() == option);
            let id = format!("{name}-{}", n + 1);
            b.s("<label class=\"check\" for=\"").t(&id).s("\"><input type=\"checkbox\" id=\"").t(&id);
            b.s("\" name=\"").t(&name).s("\" value=\"").t(option).s("\"");
            if on {
                b.s(" checked");
            }
            b.s("> ").t(shown).s("</label> ");
        }
        b.s("</fieldset>");
    }
    b.s("</fieldset>");
}

/// The media of each file input (`file3`, `file3.2`, … → 3), in the order of `keys` (the
/// received files after `tag_files`): `ids` are the stored media's, in the same order; without
/// them nil placeholders, so that the requests are checked before anything is stored.
pub(super) fn input_media(keys: &[String], ids: Option<&[Uuid]>) -> HashMap<usize, Vec<Uuid>> {
    let mut out: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for (n, key) in keys.iter().enumerate() {
        let input = key.strip_prefix("file").and_then(|k| k.split('.').next()).and_then(|k| k.parse().ok());
        if let Some(input) = input {
            out.entry(input).or_default().push(ids.and_then(|ids| ids.get(n).copied()).unwrap_or(Uuid::nil()));
        }
    }
    out
}

/// What the ticked files of an analysis name: the create form's input numbers (with the media
/// of each, `input_media`), or the order page's media ids (the domain checks they are the
/// order's).
#[derive(Clone, Copy)]
pub(super) enum Sources<'a> {
    Inputs(&'a HashMap<usize, Vec<Uuid>>),
    MediaIds,
}

/// The `source_media` of one analysis from its ticked files (`src_{kind}`), or None when none
/// is ticked. Without `sources` (a form without the choice) a choice is refused.
fn source_media(
    fields: &[(String, String)],
    kind: &str,
    sources: Option<Sources<'_>>,
) -> Result<Option<Vec<Uuid>>, String> {
    let name = format!("src_{kind}");
    let chosen: Vec<&str> = fields.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.trim()).collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    let Some(sources) = sources else { return Err(text::SOURCES_NOT_HERE.to_owned()) };
    let mut ids = Vec::new();
    for raw in chosen {
        let media = match sources {
            Sources::Inputs(inputs) => raw.parse::<usize>().ok().and_then(|i| inputs.get(&i).cloned()),
            Sources::MediaIds => Uuid::parse_str(raw).ok().map(|id| vec![id]),
        };
        match media {
            Some(m) => ids.extend(m),
            None => return Err(format!("{} {} {raw:?}", kind.to_uppercase(), text::SOURCE_WITHOUT_FILE)),
        }
    }
    Ok(Some(ids))
}

/// A threshold typed in the options: empty is none; otherwise a number from 0 to 1.
fn unit_number(fields: &[(String, String)], name: &str) -> Result<Option<f64>, String> {
    let Some(raw) = field(fields, name) else { return Ok(None) };
    let v: f64 = raw.parse().map_err(|_| format!("{name} {} {raw:?}", text::NOT_A_NUMBER))?;
    if !v.is_finite() || !(0.0..=1.0).contains(&v) {
        return Err(format!("{name} {}", text::NOT_IN_UNIT_RANGE));
    }
    Ok(Some(v))
}

/// The ticked analyses with their options, as `POST /api/folders/{id}/analyses/` takes them
/// (then checked by the API's parser, `parse_analyses`). `Ok(None)` when none is ticked. The
/// options are checked here first, so that the message names the field as the form shows it;
/// an option for an analysis that is not ticked is refused rather than dropped. `sources`: what
/// the files chosen per analysis name (`source_media`).
pub(super) fn analysis_requests(
    fields: &[(String, String)],
    sources: Option<Sources<'_>>,
) -> Result<Option<Vec<AnalysisRequest>>, String> {
    let threshold_min = unit_number(fields, "threshold_min")?;
    let threshold_max = unit_number(fields, "threshold_max")?;
    if let (Some(lo), Some(hi)) = (threshold_min, threshold_max) {
        if lo > hi {
            return Err(text::BAND_REVERSED.to_owned());
        }
    }
    let decision_threshold = unit_number(fields, "decision_threshold")?;
    let decision_count = match field(fields, "decision_count") {
        None => None,
        Some(raw) => match raw.parse::<u64>() {
            Ok(k) if (1..=COLLECTION_MAX_K as u64).contains(&k) => Some(k),
            _ => return Err(text::COUNT_OUT_OF_RANGE.to_owned()),
        },
    };
    let capabilities = match field(fields, "capabilities") {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| text::CAPABILITIES_INVALID.to_owned())?),
    };
    let asked = |v: &str| fields.iter().any(|(k, x)| k == "analysis" && x == v);
    if capabilities.is_some() && !asked("documents") {
        return Err(text::CAPABILITIES_WITHOUT.to_owned());
    }
    for (kind, label) in SOURCE_KINDS {
        if !asked(kind) && fields.iter().any(|(k, _)| *k == format!("src_{kind}")) {
            return Err(format!("{label}: {}", text::SOURCES_WITHOUT_ANALYSIS));
        }
    }
    if (threshold_min.is_some() || threshold_max.is_some()) && !asked("biometry") {
        return Err(text::BAND_WITHOUT_BIOMETRY.to_owned());
    }
    if (decision_threshold.is_some() || decision_count.is_some()) && !asked("collection") {
        return Err(text::COLLECTION_PARAMS_WITHOUT.to_owned());
    }
    let mut requests = Vec::new();
    for (k, v) in fields {
        if k != "analysis" {
            continue;
        }
        let mut params = serde_json::Map::new();
        let req = match v.as_str() {
            "quality" => {
                params.insert("extract_best_shot".into(), Value::Bool(field(fields, "extract_best_shot").is_some()));
                json!({"type": "quality", "params": params})
            }
            "biometry" => {
                for (name, v) in [("threshold_min", threshold_min), ("threshold_max", threshold_max)] {
                    if let Some(v) = v {
                        params.insert(name.into(), json!(v));
                    }
                }
                json!({"type": "biometry", "params": params})
            }
            "collection" => {
                if let Some(t) = decision_threshold {
                    params.insert("decision_threshold".into(), json!(t));
                }
                if let Some(k) = decision_count {
                    params.insert("decision_count".into(), json!(k));
                }
                json!({"type": "collection", "collection_id": field(fields, "collection_id"), "params": params})
            }
            "documents" => {
                if let Some(c) = capabilities {
                    params.insert("capabilities".into(), json!(c));
                }
                json!({"type": "documents", "params": params})
            }
            other => return Err(format!("{} {other:?}", text::UNKNOWN_ANALYSIS)),
        };
        let mut req = req;
        if let Some(ids) = source_media(fields, v, sources)? {
            req["source_media"] = json!(ids);
        }
        requests.push(req);
    }
    if requests.is_empty() {
        return Ok(None);
    }
    parse_analyses(Value::Array(requests), "analyses").map(Some).map_err(|e| e.to_string())
}

/// The create-order form, with the values sent back after an error.
async fn order_form(
    state: &AppState,
    session: &Session,
    fields: &[(String, String)],
    slots: usize,
    error: Option<&str>,
) -> Html {
    let base = &settings(state).base;
    let limits = state.domain.upload_limits();
    let mut b = Html::new();
    b.el("<h1>", text::NEW_ORDER_TITLE, "</h1>");
    if let Some(e) = error {
        b.el("<p class=\"error\" role=\"alert\">", e, "</p>");
    }
    b.s("<form method=\"post\" enctype=\"multipart/form-data\" class=\"create\" hx-boost=\"false\" data-upload ");
    b.s("action=\"").t(base);
    b.s("/orders/new\"><input type=\"hidden\" name=\"csrf\" value=\"").t(&session.csrf).s("\">");
    b.s("<fieldset><legend>").t(text::FILES).s("</legend>");
    file_slots(&mut b, fields, slots, limits);
    if slots < limits.max_files {
        let more = (slots + FILE_SLOTS).min(limits.max_files);
        b.s("<p class=\"note\"><a href=\"").t(base).s("/orders/new?slots=").t(more).s("\">");
        b.t(text::MORE_FILE_INPUTS).s("</a></p>");
    }
    b.s("</fieldset>");
    b.fragment(analyses_fieldset(state, session, fields, fields.is_empty(), Choices::Inputs(slots)).await);
    b.s("<fieldset class=\"details\"><legend>").t(text::ORDER_DETAILS).s("</legend>");
    input(&mut b, "transaction_id", "transaction_id", "text", field(fields, "transaction_id"));
    input(&mut b, "iin", "iin", "text", field(fields, "iin"));
    input(&mut b, "resolution_endpoint", text::WEBHOOK_URL, "url", field(fields, "resolution_endpoint"));
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::CREATE_ORDER).s("</button>");
    upload_progress(&mut b);
    b.s("</div>");
    b.s("</fieldset></form>");
    b
}

/// `GET {base}/orders/new`: the create-order form (ADMIN, CLIENT, CLIENT ADMIN).
pub async fn new_order(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    if !creates_orders(session.caller.user_type) {
        return message_page(base, StatusCode::FORBIDDEN, text::ERROR_TITLE, text::CANNOT_CREATE);
    }
    let q = parse_query(raw);
    let slots = slot_count(get(&q, "slots"), &[], FILE_SLOTS, state.domain.upload_limits().max_files);
    let b = order_form(&state, &session, &[], slots, None).await;
    page(&state, &session, text::NEW_ORDER_TITLE, b)
}

/// `POST {base}/orders/new`: the files with their tags and the order's meta_data through
/// `create_folder` (what `POST /api/folders/` runs), then the ticked analyses through
/// `request_analyses` (what `POST /api/folders/{id}/analyses/` runs); then the order page.
/// The analyses and their options are checked before anything is stored.
pub async fn create_order(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    upload: Result<FormUpload, Error>,
) -> Response {
    let base = settings(&state).base.clone();
    let max_files = state.domain.upload_limits().max_files;
    let FormUpload(mut upload, fields) = match upload {
        Ok(u) => u,
        Err(e) => {
            let (_, status) = crate::api::oz::error::code_and_status(&e);
            let b = order_form(&state, &session, &[], FILE_SLOTS.min(max_files), Some(&e.to_string())).await;
            return (status, page(&state, &session, text::NEW_ORDER_TITLE, b)).into_response();
        }
    };
    if let Err(r) = session.check_csrf(field(&fields, "csrf").unwrap_or("")) {
        return r;
    }
    let fail = |status: StatusCode, msg: String| {
        let state = state.clone();
        let fields = fields.clone();
        let session = &session;
        async move {
            let slots = slot_count(None, &fields, FILE_SLOTS, max_files);
            let b = order_form(&state, session, &fields, slots, Some(&msg)).await;
            (status, page(&state, session, text::NEW_ORDER_TITLE, b)).into_response()
        }
    };
    if upload.files.is_empty() {
        return fail(StatusCode::BAD_REQUEST, text::NO_FILES.to_owned()).await;
    }
    let tags = match tag_files(&mut upload.files, &fields) {
        Ok(t) => t,
        Err(msg) => return fail(StatusCode::BAD_REQUEST, msg).await,
    };
    let media_meta = match media_meta(&upload.files, &fields) {
        Ok(m) => m,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()).await,
    };
    let mut meta = serde_json::Map::new();
    for key in ["transaction_id", "iin"] {
        if let Some(v) = field(&fields, key) {
            meta.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    let folder_meta = match MetaData::parse(Value::Object(meta), "folder:meta_data") {
        Ok(m) => m,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()).await,
    };
    // Checked before anything is stored (the files chosen per analysis as placeholders), then
    // made again with the stored media's ids.
    let keys: Vec<String> = upload.files.iter().map(|f| f.key.clone()).collect();
    if let Err(msg) = analysis_requests(&fields, Some(Sources::Inputs(&input_media(&keys, None)))) {
        return fail(StatusCode::BAD_REQUEST, msg).await;
    }
    let endpoint = field(&fields, "resolution_endpoint").map(str::to_owned);
    upload.payload.media_tags = tags;
    upload.payload.media_meta = media_meta;
    upload.payload.folder_meta = folder_meta;
    upload.payload.analyses = None;
    // The webhook target is stored on the folder by its creation (as over the API).
    upload.payload.resolution_endpoint = endpoint;
    let created = match state.domain.create_folder(&session.caller, upload).await {
        Ok(c) => c,
        Err(e) => {
            let (_, status) = crate::api::oz::error::code_and_status(&e);
            return fail(status, e.to_string()).await;
        }
    };
    let folder_id = created.folder.folder_id;
    // The stored media are in the order of the files sent.
    let ids: Vec<Uuid> = created.media.iter().flatten().map(|m| m.media_id).collect();
    let requested = match analysis_requests(&fields, Some(Sources::Inputs(&input_media(&keys, Some(&ids))))) {
        Ok(Some(requests)) => state.domain.request_analyses(&session.caller, folder_id, requests, None).await.map(drop),
        Ok(None) => Ok(()),
        Err(msg) => Err(Error::invalid_value(msg, json!({ "key_path": "analyses" }))),
    };
    if let Err(e) = requested {
        // The order exists with its media: say so (so that it is not sent twice), and why
        // the analyses were refused.
        let (_, status) = crate::api::oz::error::code_and_status(&e);
        let mut b = Html::new();
        b.el("<h1>", text::NEW_ORDER_TITLE, "</h1>");
        b.el("<p class=\"error\" role=\"alert\">", format!("{} {e}", text::ANALYSES_REFUSED), "</p>");
        b.s("<p><a href=\"").t(&base).s("/orders/").t(folder_id).s("\">").t(text::OPEN_CREATED_ORDER).s("</a></p>");
        return (status, page(&state, &session, text::NEW_ORDER_TITLE, b)).into_response();
    }
    upload_redirect(&headers, format!("{base}/orders/{folder_id}"))
}

/// The typed confirmation of a delete: the first 8 characters of the folder id.
pub fn confirmation_of(id: Uuid) -> String {
    id.to_string()[..8].to_owned()
}

/// The delete form on an order page (ADMIN, CLIENT ADMIN; the domain decides).
pub fn delete_form(b: &mut Html, session: &Session, id: Uuid) {
    if !matches!(session.caller.user_type, UserType::Admin | UserType::ClientAdmin) {
        return;
    }
    let path = format!("/orders/{id}/delete");
    typed_delete(b, session, &path, text::DELETE_ORDER, text::DELETE_CONFIRM_LABEL, &confirmation_of(id));
}

/// `POST {base}/orders/{id}/delete`: `delete_folder` (what `DELETE /api/folders/{id}` runs),
/// only when the typed confirmation matches.
pub async fn delete_order(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let base = &settings(&state).base;
    if let Err(r) = session.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = Uuid::parse_str(&id) else { return error_page(base, Error::not_exist("Folder")) };
    if let Err(r) = f.check(&session, &[confirmation_of(id).as_str(), id.to_string().as_str()]) {
        return r;
    }
    match state.domain.delete_folder(&session.caller, id).await {
        Ok(()) => see_other(format!("{base}?deleted={}", confirmation_of(id))),
        Err(e) => error_page(base, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::upload::FileContent;

    fn file(key: &str) -> ReceivedFile {
        ReceivedFile {
            key: key.to_owned(),
            original_name: format!("{key}.jpg"),
            content: FileContent::Memory(bytes::Bytes::from_static(b"x")),
            size: 1,
            sha256: String::new(),
            streamed: None,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn files_of_one_input_get_keys_of_their_own_and_its_tags() {
        let mut files = vec![file("file1"), file("file1"), file("file2"), file("file1.2"), file("file1")];
        let tags = tag_files(&mut files, &pairs(&[("kind1", "id_back"), ("kind2", "video_smile")])).unwrap();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["file1", "file1.2", "file2", "file1.2.2", "file1.3"]);
        assert_eq!(tags.len(), 5);
        assert_eq!(tags["file1.3"], ["photo_id", "photo_id_back"]);
        assert_eq!(tags["file2"], ["video_selfie", "video_selfie_smile", "orientation_portrait"]);
        // A video's orientation as chosen for its input (portrait by default); not on photos.
        let mut files = vec![file("file1"), file("file2"), file("file3")];
        let fields = pairs(&[
            ("kind1", "video_blank"),
            ("orient1", "landscape"),
            ("kind2", "video_eyes"),
            ("kind3", "selfie"),
            ("orient3", "landscape"),
        ]);
        let tags = tag_files(&mut files, &fields).unwrap();
        assert_eq!(tags["file1"], ["video_selfie", "video_selfie_blank", "orientation_landscape"]);
        assert_eq!(tags["file2"], ["video_selfie", "video_selfie_eyes", "orientation_portrait"]);
        assert_eq!(tags["file3"], ["photo_selfie"]);
        let odd = pairs(&[("kind1", "video_blank"), ("orient1", "sideways")]);
        assert!(tag_files(&mut [file("file1")], &odd).unwrap_err().contains("Unknown orientation"));
        // No content type chosen: a selfie; an unknown one is refused.
        assert_eq!(tag_files(&mut [file("x")], &[]).unwrap()["x"], ["photo_selfie"]);
        assert!(tag_files(&mut [file("file1")], &pairs(&[("kind1", "dna")])).is_err());
    }

    #[test]
    fn each_file_gets_its_inputs_meta_data_row() {
        let mut files = vec![file("file1"), file("file1"), file("file2"), file("file3")];
        tag_files(&mut files, &[]).unwrap();
        let fields =
            pairs(&[("mkey1", " source "), ("mval1", " mobile "), ("mkey2", ""), ("mval2", "x"), ("mkey3", "n")]);
        let meta = media_meta(&files, &fields).unwrap();
        assert_eq!(meta.len(), 3, "{meta:?}");
        assert_eq!(meta["file1"].to_value(), json!({"source": "mobile"}));
        assert_eq!(meta["file1.2"].to_value(), json!({"source": "mobile"}));
        assert_eq!(meta["file3"].to_value(), json!({"n": ""}), "a key without a value: the empty text");
        assert!(media_meta(&files, &pairs(&[("mkey1", &"k".repeat(100_000))])).is_err(), "the API's limits");
    }

    #[test]
    fn slots_are_asked_sent_back_or_the_default_within_the_file_limit() {
        assert_eq!(slot_count(None, &[], FILE_SLOTS, 10), 4);
        assert_eq!(slot_count(Some("8"), &[], FILE_SLOTS, 10), 8);
        assert_eq!(slot_count(Some("99"), &[], FILE_SLOTS, 10), 10);
        assert_eq!(slot_count(Some("x"), &[], FILE_SLOTS, 2), 2);
        let sent = pairs(&[
            ("kind1", "selfie"),
            ("kind2", "selfie"),
            ("kind3", "selfie"),
            ("kind4", "selfie"),
            ("kind5", "selfie"),
        ]);
        assert_eq!(slot_count(None, &sent, FILE_SLOTS, 10), 5);
        assert_eq!(slot_count(None, &[], FILE_SLOTS, 0), 1);
    }

    #[test]
    fn analysis_options_are_checked_and_reach_the_requests() {
        let ok = analysis_requests(
            &pairs(&[
                ("analysis", "biometry"),
                ("analysis", "quality"),
                ("threshold_min", "0.6"),
                ("threshold_max", " 0.9 "),
                ("extract_best_shot", "on"),
            ]),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok[0].params.threshold_min, Some(0.6));
        assert_eq!(ok[0].params.threshold_max, Some(0.9));
        assert!(ok[1].params.extract_best_shot);
        let c = uuid::Uuid::new_v4().to_string();
        let coll = analysis_requests(
            &pairs(&[
                ("analysis", "collection"),
                ("collection_id", &c),
                ("decision_threshold", "0.7"),
                ("decision_count", "5"),
            ]),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(coll[0].params.decision_threshold, Some(0.7));
        assert_eq!(coll[0].params.decision_count, Some(5));
        assert!(analysis_requests(&pairs(&[("csrf", "x")]), None).unwrap().is_none());
        for (bad, says) in [
            (vec![("analysis", "biometry"), ("threshold_min", "NaN")], text::NOT_IN_UNIT_RANGE),
            (vec![("analysis", "biometry"), ("threshold_max", "1e3")], text::NOT_IN_UNIT_RANGE),
            (vec![("analysis", "biometry"), ("threshold_min", "x")], text::NOT_A_NUMBER),
            (vec![("analysis", "biometry"), ("threshold_min", "0.8"), ("threshold_max", "0.7")], text::BAND_REVERSED),
            (vec![("analysis", "quality"), ("threshold_max", "0.7")], text::BAND_WITHOUT_BIOMETRY),
            (vec![("analysis", "biometry"), ("decision_threshold", "0.7")], text::COLLECTION_PARAMS_WITHOUT),
            (vec![("analysis", "collection"), ("decision_count", "101")], text::COUNT_OUT_OF_RANGE),
            (vec![("analysis", "collection"), ("decision_count", "2.5")], text::COUNT_OUT_OF_RANGE),
            (vec![("analysis", "dna")], text::UNKNOWN_ANALYSIS),
            (vec![("analysis", "documents"), ("capabilities", "-1")], text::CAPABILITIES_INVALID),
            (vec![("analysis", "documents"), ("capabilities", "4.5")], text::CAPABILITIES_INVALID),
            (vec![("analysis", "quality"), ("capabilities", "492")], text::CAPABILITIES_WITHOUT),
            (vec![("analysis", "quality"), ("src_biometry", "1")], text::SOURCES_WITHOUT_ANALYSIS),
            (vec![("analysis", "quality"), ("src_quality", "1")], text::SOURCES_NOT_HERE),
        ] {
            let e = analysis_requests(&pairs(&bad), None).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn capabilities_and_the_files_of_each_analysis_reach_the_requests() {
        let keys: Vec<String> = ["file1", "file1.2", "file3"].iter().map(|k| (*k).to_owned()).collect();
        let ids = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let inputs = input_media(&keys, Some(&ids));
        assert_eq!(inputs[&1], vec![ids[0], ids[1]]);
        assert_eq!(inputs[&3], vec![ids[2]]);
        assert_eq!(input_media(&keys, None)[&1], vec![Uuid::nil(), Uuid::nil()]);
        let sent = pairs(&[
            ("analysis", "documents"),
            ("capabilities", "492"),
            ("src_documents", "3"),
            ("analysis", "biometry"),
            ("src_biometry", "1"),
            ("src_biometry", "3"),
            ("analysis", "quality"),
        ]);
        let r = analysis_requests(&sent, Some(Sources::Inputs(&inputs))).unwrap().unwrap();
        assert_eq!(r[0].params.capabilities, Some(492));
        assert_eq!(r[0].source_media, Some(vec![ids[2]]));
        assert_eq!(r[1].source_media, Some(ids.to_vec()));
        assert_eq!(r[2].source_media, None, "none ticked: the API's rules");
        let empty_input = pairs(&[("analysis", "quality"), ("src_quality", "2")]);
        let e = analysis_requests(&empty_input, Some(Sources::Inputs(&inputs))).unwrap_err();
        assert!(e.contains(text::SOURCE_WITHOUT_FILE) && e.contains("QUALITY"), "{e}");
    }
}
