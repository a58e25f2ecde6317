//! The parts of `/openapi.json` that are not one handler's own (issue #22), each derived from
//! what the server really does so that the document cannot drift from it:
//!
//! - string enums from the domain's own value lists ([`AnalysisType::ALL`] …);
//! - the list grammar's query parameters from the store's [`ListSpec`]s (the very tables the
//!   parser reads), plus the keys a handler reads itself;
//! - the free-form `meta_data` object and the multipart upload form with its `payload` part;
//! - the Oz error envelope under every status an operation can answer with;
//! - links from each creating operation to every operation that takes the ids it answers,
//!   found by matching the response schema's `…_id` fields to the path parameters.

use std::collections::BTreeMap;

use emerald_query::{FieldKind, FieldSpec, ListSpec, Ops, LIMIT_DEFAULT, LIMIT_MAX, META_KEY, SORTING_KEY};
use serde_json::{json, Value};
use utoipa::openapi::encoding::Encoding;
use utoipa::openapi::link::Link;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::{RefOr, Required, Response, Schema};
use utoipa::{IntoParams, Modify, PartialSchema, ToSchema};

use crate::domain::model::analysis::{AnalysisState, AnalysisType, Resolution};
use crate::domain::model::media::{FolderStatus, MediaKind};
use crate::domain::model::role::UserType;

/// A schema from its JSON form (for the few schemas built from data rather than a type).
fn schema(v: Value) -> Schema {
    serde_json::from_value(v).expect("a valid JSON Schema object")
}

fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>, nullable: bool) -> Schema {
    let mut values: Vec<Value> = values.into_iter().map(|v| Value::String(v.to_owned())).collect();
    if nullable {
        values.push(Value::Null);
        schema(json!({ "type": ["string", "null"], "enum": values }))
    } else {
        schema(json!({ "type": "string", "enum": values }))
    }
}

/// `type` of an analysis as answered (QUALITY …).
pub fn analysis_type() -> Schema {
    string_enum(AnalysisType::ALL.map(AnalysisType::as_str), false)
}

/// `type` of an analysis as requested: any letter case, and the legacy `liveness` (= QUALITY).
pub fn analysis_type_request() -> Schema {
    let names: Vec<String> = AnalysisType::ALL
        .iter()
        .map(|t| t.as_str())
        .chain(["LIVENESS"])
        .flat_map(|t| [t.to_ascii_lowercase(), t.to_owned()])
        .collect();
    string_enum(names.iter().map(String::as_str), false)
}

/// An operator's decision: SUCCESS or DECLINED, any letter case.
pub fn decision() -> Schema {
    let names: Vec<String> = [Resolution::Success, Resolution::Declined]
        .iter()
        .flat_map(|r| [r.as_str().to_owned(), r.as_str().to_ascii_lowercase()])
        .collect();
    string_enum(names.iter().map(String::as_str), false)
}

pub fn analysis_state() -> Schema {
    string_enum(AnalysisState::ALL.map(AnalysisState::as_str), false)
}

pub fn resolution() -> Schema {
    string_enum(Resolution::ALL.map(Resolution::as_str), false)
}

/// A folder's `system_resolution`: the result of its last finished group, null before one.
pub fn system_resolution() -> Schema {
    string_enum(Resolution::ALL.map(Resolution::as_str), true)
}

pub fn folder_status() -> Schema {
    string_enum(FolderStatus::ALL.map(FolderStatus::as_str), false)
}

pub fn media_type() -> Schema {
    string_enum(MediaKind::ALL.map(MediaKind::as_str), false)
}

pub fn user_type() -> Schema {
    string_enum(UserType::ALL.map(UserType::as_str), false)
}

/// `user_type` in a request: as answered, any letter case, `_` or `-` for the space.
pub fn user_type_request() -> Schema {
    let names: Vec<String> = UserType::ALL
        .iter()
        .map(|t| t.as_str())
        .flat_map(|t| [t.to_owned(), t.to_ascii_lowercase().replace(' ', "_")])
        .collect();
    let mut names = names;
    names.dedup();
    string_enum(names.iter().map(String::as_str), false)
}

/// A UUID in a string field that is parsed as one (`company_id` in bodies).
pub fn uuid_string() -> Schema {
    schema(json!({ "type": "string", "format": "uuid" }))
}

/// A free-form `meta_data` object (spec §9): any JSON values, at most 64 KiB encoded.
pub struct MetaObject;

impl PartialSchema for MetaObject {
    fn schema() -> RefOr<Schema> {
        RefOr::T(schema(json!({
            "type": "object",
            "additionalProperties": true,
            "description": "Free-form metadata: any JSON values under any keys (spec §9).",
            "example": { "transaction_id": "abc-123", "person_info": { "first_name": "John", "last_name": "Doe" } }
        })))
    }
}

impl ToSchema for MetaObject {}

/// A file's bytes.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        RefOr::T(schema(json!({ "type": "string", "format": "binary" })))
    }
}

impl ToSchema for Binary {}

// ---------------------------------------------------------------------------------------------
// Multipart forms

/// The upload form of `POST /api/folders/`, `…/media`, persons and Instant: file parts under
/// any names (the SDKs' `photo1`, `video1`, `media_key1` …; any part with a file name, or a
/// non-text content type, is a file) and a JSON `payload` part ([`UploadPayloadDoc`]).
pub struct UploadForm;

impl PartialSchema for UploadForm {
    fn schema() -> RefOr<Schema> {
        let file = |what: &str| json!({ "type": "string", "format": "binary", "description": what });
        RefOr::T(schema(json!({
            "type": "object",
            "description": "File parts under any names plus an optional `payload` part (JSON). The part names are the file keys that `payload` refers to (`media:tags`, `media:meta_data`, `persons[].files`).",
            "properties": {
                "payload": { "$ref": "#/components/schemas/UploadPayload" },
                "additional_info": { "type": "string", "description": "The Web SDK's client environment (JSON text), kept in the folder's technical_meta_data." },
                "photo1": file("a photo (JPEG or PNG)"),
                "photo2": file("another photo")
            },
            "additionalProperties": file("a media file under its file key"),
        })))
    }
}

impl ToSchema for UploadForm {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("UploadPayload".into(), <super::oz::multipart::PayloadWire as PartialSchema>::schema()));
        <super::oz::multipart::PayloadWire as ToSchema>::schemas(schemas);
    }
}

/// Content types of the named parts of a multipart form, for the request body's `encoding`.
const PART_TYPES: [(&str, &str); 3] =
    [("payload", "application/json"), ("photo1", "image/jpeg"), ("photo2", "image/jpeg")];

/// A Lite multipart form: parts taken by position, documented under their Oz names.
fn lite_form(parts: &[(&str, &str, &str)], more: Option<(&str, &str)>) -> Schema {
    let mut props = serde_json::Map::new();
    for (name, media, what) in parts {
        props.insert(
            (*name).into(),
            json!({ "type": "string", "format": "binary", "contentMediaType": media, "description": what }),
        );
    }
    let mut v =
        json!({ "type": "object", "properties": props, "required": parts.iter().map(|p| p.0).collect::<Vec<_>>() });
    if let Some((media, what)) = more {
        v["additionalProperties"] =
            json!({ "type": "string", "format": "binary", "contentMediaType": media, "description": what });
    } else {
        v["additionalProperties"] = json!(false);
    }
    schema(v)
}

macro_rules! lite_form {
    ($name:ident, [$(($part:literal, $media:literal, $what:literal)),+], $more:expr) => {
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(lite_form(&[$(($part, $media, $what)),+], $more))
            }
        }
        impl ToSchema for $name {}
    };
}

const TEMPLATE: &str = "application/octet-stream";
lite_form!(
    LiteTwoTemplates,
    [
        ("bio_feature", "application/octet-stream", "a template"),
        ("bio_template", "application/octet-stream", "the other template")
    ],
    None
);
lite_form!(
    LitePhotoAndTemplate,
    [("sample", "image/jpeg", "the photo"), ("bio_template", "application/octet-stream", "the template")],
    None
);
lite_form!(LiteTwoPhotos, [("sample_1", "image/jpeg", "a photo"), ("sample_2", "image/jpeg", "the other photo")], None);
lite_form!(
    LiteTemplateN,
    [
        ("bio_feature", "application/octet-stream", "the probe template"),
        ("bio_template_1", "application/octet-stream", "a candidate template")
    ],
    Some((TEMPLATE, "more candidate templates"))
);
lite_form!(
    LitePhotoN,
    [
        ("sample", "image/jpeg", "the probe photo"),
        ("bio_template_1", "application/octet-stream", "a candidate template")
    ],
    Some((TEMPLATE, "more candidate templates"))
);
lite_form!(
    LitePhotosN,
    [("sample", "image/jpeg", "the probe photo"), ("sample_1", "image/jpeg", "a candidate photo")],
    Some(("image/jpeg", "more candidate photos"))
);

// ---------------------------------------------------------------------------------------------
// List parameters

fn query(name: &str, schema_json: Value, description: &str) -> Parameter {
    let mut p = Parameter::new(name);
    p.parameter_in = ParameterIn::Query;
    p.required = Required::False;
    p.schema = Some(RefOr::T(schema(schema_json)));
    p.description = Some(description.to_owned());
    p
}

/// A datetime filter value (emerald-query `parse_datetime`).
fn time_value() -> Value {
    json!({ "anyOf": [
        { "type": "number", "description": "UNIX seconds (an integer part of 11+ digits: milliseconds, 16+: microseconds)" },
        { "type": "string", "format": "date-time" },
        { "type": "string", "enum": ["now", "today"] }
    ] })
}

fn field_value(kind: FieldKind) -> Value {
    match kind {
        FieldKind::Uuid => json!({ "type": "string", "format": "uuid" }),
        FieldKind::Text => json!({ "type": "string", "minLength": 1 }),
        FieldKind::Int => json!({ "type": "integer" }),
        FieldKind::Float => json!({ "type": "number" }),
        FieldKind::Bool => json!({ "type": "boolean" }),
        FieldKind::Time => time_value(),
        FieldKind::Enum(values) => {
            // `"ALIAS=CANON"` accepts the alias.
            let names: Vec<&str> = values.iter().map(|v| v.split('=').next().unwrap_or(v)).collect();
            json!({ "type": "string", "enum": names })
        }
    }
}

/// The operation suffixes of the list grammar, with what they mean.
const OPS: [(Ops, &str, &str); 6] = [
    (Ops::EQ, "", "equal to the value (a comma-separated list: any of them; `null`: no value)"),
    (Ops::EXCLUDE, ".exclude", "not equal to the value (comma-separated: none of them)"),
    (Ops::MIN, ".min", "at least"),
    (Ops::MAX, ".max", "at most"),
    (Ops::GREATER, ".greater", "greater than"),
    (Ops::LESS, ".less", "less than"),
];

fn field_params(f: &FieldSpec) -> impl Iterator<Item = Parameter> + '_ {
    OPS.iter().filter(|(op, _, _)| f.ops.contains(*op)).map(|(_, suffix, what)| {
        query(&format!("{}{suffix}", f.key), field_value(f.kind), &format!("Filter: `{}` {what}.", f.key))
    })
}

/// Every query parameter of a list endpoint: paging, sorting, `meta_data` search, and each
/// field filter with the operations it allows (spec §6.3).
pub fn list_parameters(spec: &ListSpec, paged: bool) -> Vec<Parameter> {
    let mut out = Vec::new();
    if paged {
        out.push(query("offset", json!({ "type": "integer", "minimum": 0, "default": 0 }), "Paging offset."));
        out.push(query(
            "limit",
            json!({ "type": "integer", "minimum": -1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT }),
            "Page size; -1: no limit.",
        ));
        out.push(query("total_omit", json!({ "type": "boolean" }), "Skip counting: `total_count` is null."));
    }
    let keys: Vec<&str> = spec.sort_fields.iter().map(|(k, _)| *k).collect();
    let descriptor = format!("({})(\\{{(asc|desc)\\}})?", keys.join("|"));
    out.push(query(
        SORTING_KEY,
        json!({ "type": "string", "pattern": format!("^{descriptor}(,{descriptor})*$"), "example": format!("{}{{desc}}", keys[0]) }),
        "Comma-separated `field{asc}` / `field{desc}` descriptors (a bare field: descending).",
    ));
    if spec.meta.is_some() {
        out.push(query(
            META_KEY,
            json!({ "type": "string", "pattern": "^[^,=!<>]+(==|!=|<=|>=|<|>)[^,]*(,[^,=!<>]+(==|!=|<=|>=|<|>)[^,]*)*$", "example": "transaction_id==abc-123" }),
            "Metadata search: comma-separated `key_path<op>value` descriptors, AND-ed; `==`/`!=` compare as text, `<`, `<=`, `>`, `>=` as numbers; dotted key paths reach nested values.",
        ));
    }
    out.extend(spec.fields.iter().flat_map(field_params));
    out
}

/// A `with_…` style flag (`true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`).
pub fn flag(name: &str, description: &str) -> Parameter {
    query(name, json!({ "type": "boolean" }), description)
}

pub fn text_param(name: &str, description: &str) -> Parameter {
    query(name, json!({ "type": "string" }), description)
}

pub fn enum_param(name: &str, values: &[&str], description: &str) -> Parameter {
    query(name, json!({ "type": "string", "enum": values }), description)
}

/// The query parameters of one list endpoint, as a type the `#[utoipa::path]` macro takes.
macro_rules! list_query {
    ($(#[$doc:meta])* $name:ident, $spec:expr, paged = $paged:expr, [$($extra:expr),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;
        impl IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                #[allow(unused_mut)]
                let mut params = list_parameters($spec, $paged);
                $(params.push($extra);)*
                params
            }
        }
    };
}

use crate::store::lists;

/// `resolution_status=` of the folder list: statuses and results.
fn folder_status_filter() -> Vec<&'static str> {
    let mut v: Vec<&str> = lists::FOLDER_STATUSES.to_vec();
    v.extend(lists::FOLDER_RESULTS.iter().filter(|r| !lists::FOLDER_STATUSES.contains(r)));
    v
}

list_query!(
    /// `GET /api/folders/`.
    FolderListQuery, &lists::FOLDERS, paged = true, [
    enum_param("resolution_status", &folder_status_filter(), "Folder status (INITIAL … FINISHED) or result (SUCCESS, DECLINED, OPERATOR_REQUIRED: matched on `system_resolution`); comma-separated: any of them."),
    query("analyse.type", json!({ "type": "string", "enum": AnalysisType::ALL.map(AnalysisType::as_str) }), "Only folders with an analysis of this type."),
    flag("with_media", "Embed each folder's media."),
    flag("with_analyses", "Embed each folder's analyses."),
    flag("with_user", "[I] Embed each folder's owner as `user` (null when the account is gone); read for the page's folders only."),
    flag("with_company", "[I] Embed each folder's company as `company` (null without one); read for the page's folders only."),
    enum_param("format", &["csv", "json"], "`csv`: the list as a CSV report (also with `Accept: text/csv`)."),
    text_param("meta_keys", "CSV report: comma-separated metadata keys added as columns (at most 50)."),
]);
list_query!(
    /// `GET /api/reports/folders.csv`: the folder list's filters and sorting, unpaged.
    FolderReportQuery, &lists::FOLDERS, paged = false, [
    enum_param("resolution_status", &folder_status_filter(), "Folder status (INITIAL … FINISHED) or result (SUCCESS, DECLINED, OPERATOR_REQUIRED: matched on `system_resolution`); comma-separated: any of them."),
    query("analyse.type", json!({ "type": "string", "enum": AnalysisType::ALL.map(AnalysisType::as_str) }), "Only folders with an analysis of this type."),
    text_param("meta_keys", "Comma-separated metadata keys added as columns (at most 50)."),
]);
list_query!(
    /// `GET /api/media/`.
    MediaListQuery, &lists::MEDIA, paged = true, []);
list_query!(
    /// `GET /api/analyses/`.
    AnalysisListQuery, &lists::ANALYSES, paged = true, [
    enum_param("state", &lists::ANALYSIS_STATE_FILTER, "State or result (matched on `state` or `resolution_status`); comma-separated: any of them."),
    enum_param("state.exclude", &lists::ANALYSIS_STATE_FILTER, "Neither this state nor result."),
    text_param("person_id", "COLLECTION analyses that matched this person (comma-separated: any of them)."),
]);
list_query!(
    /// `GET /api/folders/{folder_id}/analyses/`: the same filters, every analysis unless paged.
    FolderAnalysisListQuery, &lists::ANALYSES, paged = true, [
    enum_param("state", &lists::ANALYSIS_STATE_FILTER, "State or result (matched on `state` or `resolution_status`); comma-separated: any of them."),
    enum_param("state.exclude", &lists::ANALYSIS_STATE_FILTER, "Neither this state nor result."),
]);
list_query!(
    /// `GET /api/companies/`.
    CompanyListQuery, &lists::COMPANIES, paged = true, [
    text_param("search_text", "Companies whose name contains this text."),
]);
list_query!(
    /// `GET /api/users/`.
    UserListQuery, &lists::USERS, paged = true, [
    text_param("search_text", "Users whose email or names contain this text."),
]);
list_query!(
    /// `GET /api/collections/`.
    CollectionListQuery, &lists::COLLECTIONS, paged = true, []);
list_query!(
    /// `GET /api/collections/{collection_id}/persons/`.
    PersonListQuery, &lists::PERSONS, paged = true, [
    text_param("search_text", "Persons with a metadata text value (a name in `person_info`, an id …) containing this text."),
]);
list_query!(
    /// `GET /api/audit`.
    AuditListQuery, &lists::AUTH_EVENTS, paged = true, []);
list_query!(
    /// `GET /api/audit.csv`: the audit list's filters and sorting, unpaged.
    AuditReportQuery, &lists::AUTH_EVENTS, paged = false, []);

// ---------------------------------------------------------------------------------------------
// The document-wide pass

/// What each HTTP status of an error means here (spec §15.3), for the responses' descriptions.
const ERROR_STATUSES: [(&str, &str); 9] = [
    ("400", "Bad request: error_code 3 (invalid structure), 4 (invalid value) or 5 (invalid type); `error_details.key_path` names the field."),
    ("401", "Not authenticated: error_code 6 (no token), 7 (invalid token or credentials) or 8 (expired token)."),
    ("403", "Forbidden: error_code 9 (the role may not do this) or 211 (the user is blocked)."),
    ("404", "Not found: error_code 10 (no such object, or not visible to the caller; also an object a body refers to)."),
    ("413", "Request body too large: error_code 4; `error_details.limit` is the limit in bytes."),
    ("429", "Too many requests: error_code 101 (quota or login throttle); see `Retry-After`."),
    ("500", "Server error: error_code 0 (unexpected) or 12 (database)."),
    ("501", "Not available on this server: error_code 2 (e.g. the face models are not installed, Instant mode is off)."),
    ("502", "An external service failed: error_code 11."),
];

/// The statuses an operation can answer with besides its own successes.
fn error_statuses(path: &str, method: &str, op: &Operation) -> Vec<&'static str> {
    let secured = |scheme: &str| {
        op.security.as_ref().is_some_and(|reqs| {
            reqs.iter().any(|r| serde_json::to_value(r).ok().and_then(|v| v.get(scheme).cloned()).is_some())
        })
    };
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_path_params =
        op.parameters.as_ref().is_some_and(|p| p.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path)));
    let has_body = op.request_body.is_some();
    let lite = !path.starts_with("/api/") && !path.starts_with("/static/");
    let mut out = vec!["500"];
    if has_params || has_body {
        out.push("400");
    }
    if secured("token") || secured("lite_key") || path == "/api/authorize/auth" {
        out.push("401");
    }
    if secured("token") || path == "/api/authorize/auth" {
        out.extend(["403", "429"]);
    }
    // Path ids, and ids in bodies (`company_id`, `source_media`, `collection_ids` …).
    if has_path_params || has_body {
        out.push("404");
    }
    if has_body {
        out.push("413");
    }
    if method == "post" && (lite || has_body) {
        out.push("501");
    }
    out.sort_unstable();
    out
}

fn error_response(description: &str) -> Response {
    serde_json::from_value(json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/OzError" } } }
    }))
    .expect("a valid response")
}

/// Path parameters whose value a response field of another name carries.
const ID_ALIASES: [(&str, &str); 1] = [("image_id", "person_image_id")];

/// Ids that objects refer to without owning them (the caller's own user and company): taken
/// only from the operation that creates them, so that a link never leads to the caller itself.
const CREATED_BY: [(&str, &str); 2] = [("user_id", "/api/users"), ("company_id", "/api/companies")];

/// Ids that mean something else under a path: a person's photo has a `media_id`, but it is not
/// a folder's media (`/api/media/{media_id}` does not know it).
const NOT_FROM: [(&str, &str); 1] = [("media_id", "/api/collections/")];

/// Where a response body (JSON Schema, `$ref`s resolved against `schemas`) carries `field`:
/// a JSON pointer, looking into the object, its first array item and nested objects/arrays.
fn find_field(body: &Value, field: &str, schemas: &Value, depth: usize) -> Option<String> {
    let body = resolve(body, schemas);
    if depth > 2 {
        return None;
    }
    if let Some(items) = body.get("items") {
        return find_field(items, field, schemas, depth + 1).map(|p| format!("/0{p}"));
    }
    let props = body.get("properties")?.as_object()?;
    if let Some(p) = props.get(field) {
        let p = resolve(p, schemas);
        let is_id = p.get("format").and_then(Value::as_str) == Some("uuid");
        if is_id {
            return Some(format!("/{field}"));
        }
    }
    // The page envelope's items, or embedded objects (`media`, `images`).
    props.iter().find_map(|(name, sub)| find_field(sub, field, schemas, depth + 1).map(|p| format!("/{name}{p}")))
}

fn resolve<'a>(v: &'a Value, schemas: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => schemas.get(name).unwrap_or(v),
        None => v,
    }
}

/// Links that fill a request body: the next step of the usual flows (spec §8.2, §12).
#[allow(clippy::type_complexity)]
const BODY_LINKS: [(&str, &str, fn() -> Value); 2] = [
    (
        "create_company",
        "create_collection",
        || json!({ "alias": "blacklist", "company_id": "$response.body#/company_id" }),
    ),
    (
        "create_folder",
        "request_analyses",
        || json!({ "analyses": [{ "type": "quality", "source_media": ["$response.body#/media/0/media_id"] }] }),
    ),
];

fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

/// Links from every creating operation (a POST answering 201) to each operation whose path
/// parameters it can fill: from its response body, or from its own path.
fn add_links(openapi: &mut utoipa::openapi::OpenApi) {
    let schemas =
        openapi.components.as_ref().map(|c| serde_json::to_value(&c.schemas).unwrap_or_default()).unwrap_or_default();
    let targets: Vec<(String, Vec<String>)> = openapi
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            operations(item).into_iter().filter_map(move |(_, op)| op.operation_id.clone().map(|id| (id, path.clone())))
        })
        .map(|(id, path)| (id, path_params(&path).into_iter().map(str::to_owned).collect()))
        .filter(|(_, params): &(String, Vec<String>)| !params.is_empty())
        .collect();
    for (path, item) in openapi.paths.paths.iter_mut() {
        let Some(op) = item.post.as_mut() else { continue };
        let own = path_params(path);
        let op_id = op.operation_id.clone();
        let Some(RefOr::T(created)) = op.responses.responses.get_mut("201") else { continue };
        let Some(body) = created.content.get("application/json").and_then(|c| c.schema.as_ref()) else { continue };
        let body = serde_json::to_value(body).unwrap_or_default();
        let mut links = serde_json::Map::new();
        for (target, params) in &targets {
            let mut link = Link::default();
            let mut from_body = false;
            for p in params {
                let field = ID_ALIASES.iter().find(|(k, _)| k == p).map_or(p.as_str(), |(_, v)| v);
                let foreign = CREATED_BY.iter().any(|(id, creator)| id == p && creator != path)
                    || NOT_FROM.iter().any(|(id, prefix)| id == p && path.starts_with(prefix));
                if let Some(ptr) = find_field(&body, field, &schemas, 0).filter(|_| !foreign) {
                    link.parameters.insert(p.clone(), json!(format!("$response.body#{ptr}")));
                    from_body = true;
                } else if own.contains(&p.as_str()) {
                    link.parameters.insert(p.clone(), json!(format!("$request.path.{p}")));
                } else {
                    break;
                }
            }
            if from_body && link.parameters.len() == params.len() {
                links.insert(target.clone(), json!({ "operationId": target, "parameters": link.parameters }));
            }
        }
        for (source, target, body) in BODY_LINKS {
            if op_id.as_deref() == Some(source) {
                links.insert(target.into(), json!({ "operationId": target, "requestBody": body() }));
            }
        }
        // utoipa 5.5 serialises `Link` with snake_case keys (`operation_id`), which OpenAPI
        // tools do not read; the links go in as the response's raw `links` member instead.
        if !links.is_empty() {
            created.extensions.get_or_insert_with(Default::default).insert("links".into(), Value::Object(links));
        }
    }
}

fn operations(item: &utoipa::openapi::PathItem) -> Vec<(&'static str, &Operation)> {
    [("get", &item.get), ("put", &item.put), ("post", &item.post), ("delete", &item.delete), ("patch", &item.patch)]
        .into_iter()
        .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
        .collect()
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
    .collect()
}

/// The named parts of a multipart body get their content types (`payload` is JSON).
fn add_encodings(body: &mut RequestBody) {
    for (media, content) in body.content.iter_mut() {
        if media != "multipart/form-data" {
            continue;
        }
        let props: Vec<(String, String)> = match &content.schema {
            Some(RefOr::Ref(r)) if r.ref_location.ends_with("/UploadForm") => {
                PART_TYPES.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect()
            }
            Some(RefOr::T(s)) => {
                let v = serde_json::to_value(s).unwrap_or_default();
                v["properties"]
                    .as_object()
                    .map(|props| {
                        props
                            .iter()
                            .filter_map(|(k, p)| p["contentMediaType"].as_str().map(|t| (k.clone(), t.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        };
        for (part, media) in props {
            let mut e = Encoding::default();
            e.content_type = Some(media);
            content.encoding.insert(part, e);
        }
    }
}

/// The document-wide pass: the error envelope, the error responses of each operation, the
/// multipart encodings and the links.
pub struct Refine;

impl Modify for Refine {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert("OzError".into(), <super::oz::error::ErrorBody as PartialSchema>::schema());
        let descriptions: BTreeMap<&str, &str> = ERROR_STATUSES.into_iter().collect();
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations_mut(item) {
                for status in error_statuses(path, method, op) {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(error_response(descriptions[status])));
                }
                // Error answers described by hand get the envelope too.
                for (status, r) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = r {
                        if status.starts_with(['4', '5']) && r.content.is_empty() {
                            r.content = error_response("").content;
                        }
                    }
                }
                if let Some(body) = op.request_body.as_mut() {
                    add_encodings(body);
                }
            }
        }
        add_links(openapi);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(&crate::api::openapi_json()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((format!("{method} {path}"), op));
            }
        }
        out
    }

    /// A schema says more than "an object": it names a type, properties, items or a format.
    fn is_precise(s: &Value) -> bool {
        ["$ref", "properties", "items", "format", "additionalProperties", "enum", "oneOf", "anyOf", "allOf"]
            .iter()
            .any(|k| s.get(k).is_some())
    }

    #[test]
    fn every_body_and_answer_has_a_real_schema_and_the_error_envelope() {
        let doc = doc();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for (label, op) in operations(&doc) {
            if let Some(body) = op.get("requestBody") {
                for (media, c) in body["content"].as_object().unwrap() {
                    assert!(is_precise(&c["schema"]), "{label} {media}: {}", c["schema"]);
                }
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{label}: no success");
            assert!(responses.contains_key("500"), "{label}: no 500");
            for (status, r) in responses {
                if status == "204" {
                    continue;
                }
                let content = r["content"].as_object().unwrap_or_else(|| panic!("{label} {status}: no content"));
                for (media, c) in content {
                    let text = media.starts_with("text/") && c["schema"]["type"] == "string";
                    assert!(text || is_precise(&c["schema"]), "{label} {status} {media}: {}", c["schema"]);
                }
                if status.starts_with(['4', '5']) && !label.ends_with("/health") {
                    assert_eq!(
                        content["application/json"]["schema"]["$ref"], "#/components/schemas/OzError",
                        "{label} {status}"
                    );
                }
            }
            let secured = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("token").is_some()));
            if secured {
                for status in ["401", "403", "429"] {
                    assert!(responses.contains_key(status), "{label}: no {status}");
                }
            }
        }
        let error = &doc["components"]["schemas"]["OzError"];
        for key in ["error_code", "error_message", "error_details", "details"] {
            assert!(error["properties"][key].is_object(), "OzError.{key}");
        }
    }

    #[test]
    fn list_endpoints_document_the_list_grammar() {
        let doc = doc();
        let names = |path: &str| -> Vec<String> {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let folders = names("/api/folders");
        for key in [
            "offset",
            "limit",
            "total_omit",
            "sorting",
            "meta_data",
            "folder_id",
            "folder_id.exclude",
            "time_created.min",
            "time_created.less",
            "resolution_status",
            "analyse.type",
            "with_media",
            "with_analyses",
            "format",
        ] {
            assert!(folders.iter().any(|n| n == key), "GET /api/folders ?{key}");
        }
        // An operation the field does not allow is not documented.
        assert!(!names("/api/companies").iter().any(|n| n == "time_created.less"));
        assert!(names("/api/analyses").iter().any(|n| n == "state"));
        assert!(names("/api/media").iter().any(|n| n == "media_type"));
    }

    #[test]
    fn creating_operations_link_to_the_operations_on_what_they_created() {
        let doc = doc();
        let links = |path: &str| doc["paths"][path]["post"]["responses"]["201"]["links"].clone();
        let folder = links("/api/folders");
        assert_eq!(folder["get_folder"]["operationId"], "get_folder");
        assert_eq!(folder["get_folder"]["parameters"]["folder_id"], "$response.body#/folder_id");
        assert_eq!(folder["delete_folder"]["parameters"]["folder_id"], "$response.body#/folder_id");
        assert_eq!(folder["get_media"]["parameters"]["media_id"], "$response.body#/media/0/media_id");
        let analyses = links("/api/folders/{folder_id}/analyses");
        assert_eq!(analyses["get_analysis"]["parameters"]["analyse_id"], "$response.body#/0/analyse_id");
        let person = links("/api/collections/{collection_id}/persons");
        let image = &person["get_person_image"]["parameters"];
        assert_eq!(image["collection_id"], "$response.body#/collection_id");
        assert_eq!(image["person_id"], "$response.body#/person_id");
        assert_eq!(image["image_id"], "$response.body#/images/0/person_image_id");
        // Every link names an operation that exists.
        let ids: Vec<&str> = operations(&doc).iter().filter_map(|(_, op)| op["operationId"].as_str()).collect();
        for (label, op) in operations(&doc) {
            for r in op["responses"].as_object().unwrap().values() {
                for link in r["links"].as_object().into_iter().flat_map(|l| l.values()) {
                    assert!(ids.contains(&link["operationId"].as_str().unwrap()), "{label}: {link}");
                }
            }
        }
    }

    #[test]
    fn uploads_document_the_payload_part() {
        let doc = doc();
        let body = &doc["paths"]["/api/folders"]["post"]["requestBody"]["content"]["multipart/form-data"];
        assert_eq!(body["schema"]["$ref"], "#/components/schemas/UploadForm");
        assert_eq!(body["encoding"]["payload"]["contentType"], "application/json");
        let payload = &doc["components"]["schemas"]["UploadPayload"]["properties"];
        for key in ["folder:meta_data", "media:tags", "media:meta_data", "analyses", "resolution_endpoint", "persons"] {
            assert!(payload[key].is_object(), "payload.{key}");
        }
    }
}
