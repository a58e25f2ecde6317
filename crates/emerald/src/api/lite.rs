//! Oz API Lite's wire protocol (spec §14): paths without `/api`, raw image bodies, multipart
//! with templates and images, `Content-Transfer-Encoding: base64` for base64 inputs and
//! outputs, and the optional static API key. The rules (template format, decisions) are
//! `domain::lite`; this module only translates.
//!
//! Multipart parts are taken by position, whatever their names (the names Oz uses are not
//! documented): the documented names are `bio_feature`/`bio_template` (compare), `sample` and
//! `bio_template` (verify; the template part may come first), `sample_1`/`sample_2`
//! (extract_and_compare); in the 1:N variants the first part is the probe and every later part
//! a candidate. See `docs/lite.md`.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::{
    Binary, LitePhotoAndTemplate, LitePhotoN, LitePhotosN, LiteTemplateN, LiteTwoPhotos, LiteTwoTemplates,
};
use super::oz::json::{ok, OzJson};
use super::oz::layers;
use crate::domain::lite::{decode_template, encode_template, Comparison, Lite, Ranked, TEMPLATE_MAGIC};
use crate::domain::{Error, Result};

/// The header that asks for base64 inputs and outputs (API Lite ≥ 1.1.0).
pub const TRANSFER_ENCODING: &str = "content-transfer-encoding";
/// The header that carries the static API key (or `Authorization: Bearer <key>`).
pub const API_KEY_HEADER: &str = "x-api-key";
/// Name of the security scheme in the OpenAPI document.
const KEY_SCHEME: &str = "lite_key";
/// Multipart overhead allowed on top of the parts' own bytes.
const MULTIPART_SLACK: usize = 64 * 1024;

/// What every Lite handler can reach.
#[derive(Clone)]
pub struct LiteState {
    pub lite: Lite,
    /// SHA-256 of `EMERALD_LITE_API_KEY`; None = no authentication.
    key_digest: Option<Arc<[u8; 32]>>,
    openapi: Arc<String>,
    metrics: PrometheusHandle,
}

impl LiteState {
    pub fn new(lite: Lite, api_key: Option<&str>, metrics: PrometheusHandle) -> Self {
        let openapi = Arc::new(openapi().to_pretty_json().unwrap_or_default());
        let key_digest = api_key.filter(|k| !k.is_empty()).map(|k| Arc::new(Sha256::digest(k.as_bytes()).into()));
        LiteState { lite, key_digest, openapi, metrics }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Emerald — Oz API Lite", description = "The stateless face service (spec §14): templates, 1:1 and 1:N decisions, passive liveness."),
    modifiers(&KeySecurity)
)]
struct LiteDoc;

struct KeySecurity;

impl Modify for KeySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        add_key_scheme(openapi);
    }
}

/// The optional API key's security scheme (also added to the full server's document).
pub fn add_key_scheme(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(KEY_SCHEME, SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
}

/// Every Lite route with its documentation.
pub fn routes() -> OpenApiRouter<LiteState> {
    OpenApiRouter::with_openapi(LiteDoc::openapi())
        .routes(routes!(version))
        .routes(routes!(pattern_health))
        .routes(routes!(liveness_health))
        .routes(routes!(extract))
        .routes(routes!(compare))
        .routes(routes!(verify))
        .routes(routes!(extract_and_compare))
        .routes(routes!(compare_n))
        .routes(routes!(verify_n))
        .routes(routes!(extract_and_compare_n))
        .routes(routes!(liveness_detect))
        // Bodies are bounded by the image and candidate limits as they are read.
        .layer(DefaultBodyLimit::disable())
}

/// The Lite OpenAPI document alone (what `--role lite` serves at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes().split_for_parts().1;
    super::openapi::Refine.modify(&mut doc);
    doc
}

/// The Lite routes with their state, without fallbacks or layers (the full server merges them).
pub fn service(state: LiteState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// The whole router of `--role lite`: the Lite routes, `/openapi.json`, `/metrics`, the Oz
/// 404/405 answers, request ids and metrics.
pub fn router(state: LiteState) -> Router {
    let (routes, _) = routes().split_for_parts();
    routes
        .route("/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
        .with_state(state)
        .fallback(layers::not_found)
        .method_not_allowed_fallback(layers::method_not_allowed)
        .route_layer(from_fn(layers::track_metrics))
        .layer(from_fn(layers::trace_requests))
}

async fn openapi_json(State(s): State<LiteState>) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], s.openapi.as_ref().clone()).into_response()
}

async fn metrics(State(s): State<LiteState>) -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// A caller that carries the API key when one is configured.
struct LiteCaller;

impl FromRequestParts<LiteState> for LiteCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &LiteState) -> Result<Self> {
        let Some(expected) = &state.key_digest else { return Ok(LiteCaller) };
        let header = |name: &str| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::trim);
        let given = header(API_KEY_HEADER).or_else(|| {
            header(AUTHORIZATION.as_str())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim)
        });
        let Some(given) = given.filter(|g| !g.is_empty()) else { return Err(Error::AuthNotProvided) };
        // Digests of equal length compared whole: no early exit on the first differing byte.
        let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        if digest.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
            return Err(Error::AuthInvalid(Some("Invalid API key".into())));
        }
        Ok(LiteCaller)
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

fn wants_base64(headers: &HeaderMap) -> bool {
    headers
        .get(TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("base64"))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Bytes of `limit` decoded bytes once base64-encoded (with line breaks allowed).
fn encoded_limit(limit: usize, base64: bool) -> usize {
    if base64 {
        limit / 3 * 4 + limit / 38 + 64
    } else {
        limit
    }
}

/// Base64 text (standard or URL-safe alphabet, padded or not, whitespace ignored, an optional
/// `data:…;base64,` prefix) to bytes.
fn decode_base64(text: &[u8], part: &str) -> Result<Bytes> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let mut text = text;
    if text.starts_with(b"data:") {
        if let Some(at) = memchr::memmem::find(text, b";base64,") {
            text = &text[at + 8..];
        }
    }
    let clean: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    STANDARD.decode(&clean).or_else(|_| URL_SAFE.decode(&clean)).map(Bytes::from).map_err(|e| {
        Error::invalid_value(
            format!("{part} is not valid base64 (Content-Transfer-Encoding: base64 was given): {e}"),
            serde_json::json!({ "key_path": part }),
        )
    })
}

/// A raw image body (`Content-Type: image/jpeg` or `image/png`), base64 text when
/// `Content-Transfer-Encoding: base64`; a multipart body's first part is also taken.
struct ImageBody {
    bytes: Bytes,
    part: String,
    base64: bool,
}

impl FromRequest<LiteState> for ImageBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &LiteState) -> Result<Self> {
        let base64 = wants_base64(req.headers());
        if is_multipart(req.headers()) {
            let mut parts = read_parts(req, state, 1).await?;
            let Some(first) = parts.drain(..).next() else { return Err(missing_parts(1, 0)) };
            return Ok(ImageBody { bytes: first.bytes, part: first.name, base64 });
        }
        let limit = encoded_limit(state.lite.settings.max_image_bytes, base64);
        let body = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| Error::BodyTooBig { limit })?;
        let bytes = if base64 { decode_base64(&body, "body")? } else { body };
        Ok(ImageBody { bytes, part: "body".into(), base64 })
    }
}

/// One multipart part, base64-decoded when asked.
struct Part {
    name: String,
    filename: Option<String>,
    bytes: Bytes,
}

impl Part {
    fn label(&self) -> String {
        self.filename.clone().filter(|f| !f.is_empty()).unwrap_or_else(|| self.name.clone())
    }

    fn is_template(&self) -> bool {
        self.bytes.starts_with(TEMPLATE_MAGIC)
    }
}

/// The multipart parts of a request, in order (base64 parts already decoded).
struct PartsBody {
    parts: Vec<Part>,
}

impl FromRequest<LiteState> for PartsBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &LiteState) -> Result<Self> {
        if !is_multipart(req.headers()) {
            return Err(Error::InvalidStructure {
                message: "a multipart/form-data body is expected".into(),
                details: serde_json::Value::Null,
            });
        }
        let parts = read_parts(req, state, crate::domain::lite::MAX_CANDIDATES + 1).await?;
        Ok(PartsBody { parts })
    }
}

fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::InvalidStructure {
        message: format!("Could not read the multipart body: {e}"),
        details: serde_json::Value::Null,
    }
}

fn missing_parts(wanted: usize, got: usize) -> Error {
    Error::InvalidStructure {
        message: format!("{wanted} multipart parts are expected, {got} were sent"),
        details: serde_json::json!({ "expected_parts": wanted, "parts": got }),
    }
}

/// Read at most `max_parts` parts, each within the image limit, the whole within room for the
/// largest request (a probe and the most candidate images).
async fn read_parts(req: Request, state: &LiteState, max_parts: usize) -> Result<Vec<Part>> {
    let base64 = wants_base64(req.headers());
    let settings = &state.lite.settings;
    let part_limit = encoded_limit(settings.max_image_bytes, true);
    let total_limit = encoded_limit(settings.max_image_bytes.saturating_mul(settings.max_candidate_images + 1), true)
        + MULTIPART_SLACK;
    let mut multipart = Multipart::from_request(req, state).await.map_err(unreadable)?;
    let mut parts = Vec::new();
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if parts.len() == max_parts {
            return Err(Error::invalid_value(
                format!("more than {max_parts} multipart parts"),
                serde_json::json!({ "limit": max_parts }),
            ));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let part_base64 = base64 || wants_base64(field.headers());
        let limit = if part_base64 { part_limit } else { settings.max_image_bytes };
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            total += chunk.len();
            if buf.len() + chunk.len() > limit {
                return Err(Error::invalid_value(
                    format!("part {name:?} is larger than the limit of {} bytes", settings.max_image_bytes),
                    serde_json::json!({ "key_path": name, "limit": settings.max_image_bytes }),
                ));
            }
            if total > total_limit {
                return Err(Error::BodyTooBig { limit: total_limit });
            }
            buf.extend_from_slice(&chunk);
        }
        let bytes = if part_base64 { decode_base64(&buf, &name)? } else { Bytes::from(buf) };
        parts.push(Part { name, filename, bytes });
    }
    Ok(parts)
}

fn exactly<const N: usize>(parts: Vec<Part>) -> Result<[Part; N]> {
    let got = parts.len();
    parts.try_into().map_err(|_| missing_parts(N, got))
}

// ---------------------------------------------------------------------------------------------
// Outputs

/// A score as the f64 nearest its shortest decimal form (as the full API prints scores).
fn score(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(0.0)
}

/// A 1:1 result.
#[derive(Serialize, ToSchema)]
pub struct ComparisonView {
    /// Calibrated 0..1 confidence that both show the same person (as BIOMETRY's).
    pub score: f64,
    /// `approved` when `score` ≥ `EMERALD_BIOMETRY_THRESHOLD` (default 0.85), else `declined`.
    pub decision: &'static str,
}

impl From<Comparison> for ComparisonView {
    fn from(c: Comparison) -> Self {
        ComparisonView { score: score(c.score), decision: c.decision.as_str() }
    }
}

/// One candidate of a 1:N result; the list is sorted best first.
#[derive(Serialize, ToSchema)]
pub struct RankedView {
    /// The candidate's position among the candidates (0 = the part after the probe).
    pub index: usize,
    /// The candidate part's file name, or its part name.
    pub filename: String,
    /// Calibrated 0..1 confidence for a search among this many candidates (as COLLECTION's).
    pub score: f64,
    pub decision: &'static str,
}

fn ranked_views(ranked: Vec<Ranked>, labels: &[String]) -> Vec<RankedView> {
    ranked
        .into_iter()
        .map(|r| RankedView {
            index: r.index,
            filename: labels.get(r.index).cloned().unwrap_or_default(),
            score: score(r.comparison.score),
            decision: r.comparison.decision.as_str(),
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
pub struct LivenessView {
    /// `score` < `EMERALD_QUALITY_THRESHOLD` (default 0.5).
    pub passed: bool,
    /// 0..1 probability of an attack (Oz `confidence_spoofing`).
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct HealthView {
    /// 0 = OK, 3 = inoperative (the models are not loaded).
    pub status: u8,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ModelView {
    /// `face_detector`, `face_pattern` (the embedder that makes templates) or `liveness`.
    pub name: &'static str,
    /// The model's id (templates carry the `face_pattern` id).
    pub version: String,
}

#[derive(Serialize, ToSchema)]
pub struct LiteVersionView {
    /// Emerald's version.
    pub core: &'static str,
    /// Oz's biometric core; here Emerald's version too.
    pub tfss: &'static str,
    pub models: Vec<ModelView>,
}

fn template_response(template: &crate::domain::model::face::Template, base64: bool) -> Response {
    let bytes = encode_template(template);
    if base64 {
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        ([("content-type", "text/plain; charset=us-ascii"), (TRANSFER_ENCODING, "base64")], text).into_response()
    } else {
        ([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
    }
}

fn json<T: Serialize>(value: T) -> OzJson<T> {
    ok(value)
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Versions of Emerald and of the models it runs (API Lite 1.1.1).
#[utoipa::path(get, path = "/version", tag = "lite", operation_id = "lite_version", responses((status = 200, body = LiteVersionView)))]
async fn version(State(s): State<LiteState>) -> Response {
    let models = s
        .lite
        .models()
        .map(|m| {
            vec![
                ModelView { name: "face_detector", version: m.detector },
                ModelView { name: "face_pattern", version: m.embedder },
                ModelView { name: "liveness", version: m.liveness },
            ]
        })
        .unwrap_or_default();
    let v = env!("CARGO_PKG_VERSION");
    json(LiteVersionView { core: v, tfss: v, models }).into_response()
}

fn health_response(s: &LiteState) -> Response {
    let h = s.lite.health();
    let status = if h.status == 0 { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    OzJson(status, HealthView { status: h.status, message: h.message }).into_response()
}

/// Whether templates can be made and compared: status 0 (HTTP 200) or 3 (HTTP 503, the models
/// are not installed).
#[utoipa::path(get, path = "/v1/face/pattern/health", tag = "lite",
    responses((status = 200, body = HealthView), (status = 503, body = HealthView)))]
async fn pattern_health(State(s): State<LiteState>) -> Response {
    health_response(&s)
}

/// Whether liveness can be detected: status 0 (HTTP 200) or 3 (HTTP 503).
#[utoipa::path(get, path = "/v1/face/liveness/health", tag = "lite",
    responses((status = 200, body = HealthView), (status = 503, body = HealthView)))]
async fn liveness_health(State(s): State<LiteState>) -> Response {
    health_response(&s)
}

/// The face template of a photo: raw image body (`image/jpeg`, `image/png`). The photo must
/// show one usable face (as enrolment). Answers the template bytes (`application/octet-stream`),
/// or their base64 text with `Content-Transfer-Encoding: base64`.
#[utoipa::path(post, path = "/v1/face/pattern/extract", tag = "lite",
    request_body(description = "the photo (image/jpeg or image/png; base64 text with Content-Transfer-Encoding: base64)", content((Binary = "image/jpeg"), (Binary = "image/png"))),
    responses((status = 200, description = "the template (opaque, versioned bytes); its base64 text with Content-Transfer-Encoding: base64",
        content((Binary = "application/octet-stream"), (String = "text/plain")))),
    security((), ("lite_key" = [])))]
async fn extract(State(s): State<LiteState>, _: LiteCaller, body: ImageBody) -> Result<Response> {
    let template = s.lite.extract(body.bytes, &body.part).await?;
    Ok(template_response(&template, body.base64))
}

/// 1:1 of two templates: multipart, parts `bio_feature` and `bio_template` (by position).
#[utoipa::path(post, path = "/v1/face/pattern/compare", tag = "lite",
    request_body(content = LiteTwoTemplates, content_type = "multipart/form-data", description = "two templates"),
    responses((status = 200, body = ComparisonView)), security((), ("lite_key" = [])))]
async fn compare(State(s): State<LiteState>, _: LiteCaller, body: PartsBody) -> Result<Response> {
    let [a, b] = exactly::<2>(body.parts)?;
    let ta = decode_template(&a.bytes, &a.name)?;
    let tb = decode_template(&b.bytes, &b.name)?;
    let c = s.lite.compare((&ta, &a.name), (&tb, &b.name))?;
    Ok(json(ComparisonView::from(c)).into_response())
}

/// `[image, template]` of a verify request, whichever order they came in.
fn image_and_template(parts: Vec<Part>) -> Result<(Part, Part)> {
    let [first, second] = exactly::<2>(parts)?;
    Ok(if first.is_template() && !second.is_template() { (second, first) } else { (first, second) })
}

/// 1:1 of a photo against a template (extract + compare in one): multipart, parts `sample`
/// (the photo) and `bio_template`.
#[utoipa::path(post, path = "/v1/face/pattern/verify", tag = "lite",
    request_body(content = LitePhotoAndTemplate, content_type = "multipart/form-data", description = "a photo and a template"),
    responses((status = 200, body = ComparisonView)), security((), ("lite_key" = [])))]
async fn verify(State(s): State<LiteState>, _: LiteCaller, body: PartsBody) -> Result<Response> {
    let (image, template) = image_and_template(body.parts)?;
    let t = decode_template(&template.bytes, &template.name)?;
    let probe = s.lite.probe(image.bytes, &image.name).await?;
    let c = s.lite.compare((&probe, &image.name), (&t, &template.name))?;
    Ok(json(ComparisonView::from(c)).into_response())
}

/// 1:1 of two photos: multipart, parts `sample_1` and `sample_2`.
#[utoipa::path(post, path = "/v1/face/pattern/extract_and_compare", tag = "lite",
    request_body(content = LiteTwoPhotos, content_type = "multipart/form-data", description = "two photos"),
    responses((status = 200, body = ComparisonView)), security((), ("lite_key" = [])))]
async fn extract_and_compare(State(s): State<LiteState>, _: LiteCaller, body: PartsBody) -> Result<Response> {
    let [a, b] = exactly::<2>(body.parts)?;
    let names = [a.name.clone(), b.name.clone()];
    let t = s.lite.probes(vec![(a.name, a.bytes), (b.name, b.bytes)]).await?;
    let c = s.lite.compare((&t[0], &names[0]), (&t[1], &names[1]))?;
    Ok(json(ComparisonView::from(c)).into_response())
}

fn split_probe(parts: Vec<Part>) -> Result<(Part, Vec<Part>)> {
    let got = parts.len();
    let mut it = parts.into_iter();
    let probe = it.next().ok_or_else(|| missing_parts(2, got))?;
    let candidates: Vec<Part> = it.collect();
    if candidates.is_empty() {
        return Err(missing_parts(2, got));
    }
    Ok((probe, candidates))
}

fn templates_of(parts: &[Part]) -> Result<Vec<(crate::domain::model::face::Template, String)>> {
    parts.iter().map(|p| Ok((decode_template(&p.bytes, &p.name)?, p.name.clone()))).collect()
}

/// 1:N of a template against candidate templates: multipart, the probe template first, then
/// the candidates. Answers every candidate, best first, with its `index`.
#[utoipa::path(post, path = "/v1/face/pattern/compare_n", tag = "lite",
    request_body(content = LiteTemplateN, content_type = "multipart/form-data", description = "the probe template, then the candidate templates"),
    responses((status = 200, body = [RankedView])), security((), ("lite_key" = [])))]
async fn compare_n(State(s): State<LiteState>, _: LiteCaller, body: PartsBody) -> Result<Response> {
    let (probe, candidates) = split_probe(body.parts)?;
    let p = decode_template(&probe.bytes, &probe.name)?;
    let list = templates_of(&candidates)?;
    let ranked = s.lite.compare_n((&p, &probe.name), &list)?;
    let labels: Vec<String> = candidates.iter().map(Part::label).collect();
    Ok(json(ranked_views(ranked, &labels)).into_response())
}

/// 1:N of a photo against candidate templates: multipart, the photo first, then the candidate
/// templates.
#[utoipa::path(post, path = "/v1/face/pattern/verify_n", tag = "lite",
    request_body(content = LitePhotoN, content_type = "multipart/form-data", description = "the probe photo, then the candidate templates"),
    responses((status = 200, body = [RankedView])), security((), ("lite_key" = [])))]
async fn verify_n(State(s): State<LiteState>, _: LiteCaller, body: PartsBody) -> Result<Response> {
    let (probe, candidates) = split_probe(body.parts)?;
    let list = templates_of(&candidates)?;
    let p = s.lite.probe(probe.bytes, &probe.name).await?;
    let ranked = s.lite.compare_n((&p, &probe.name), &list)?;
    let labels: Vec<String> = candidates.iter().map(Part::label).collect();
    Ok(json(ranked_views(ranked, &labels)).into_response())
}

/// 1:N of a photo against candidate photos: multipart, the probe photo first, then at most
/// `EMERALD_MAX_FILES_PER_REQUEST` candidate photos.
#[utoipa::path(post, path = "/v1/face/pattern/extract_and_compare_n", tag = "lite",
    request_body(content = LitePhotosN, content_type = "multipart/form-data", description = "the probe photo, then the candidate photos"),
    responses((status = 200, body = [RankedView])), security((), ("lite_key" = [])))]
async fn extract_and_compare_n(State(s): State<LiteState>, _: LiteCaller, body: PartsBody) -> Result<Response> {
    let (probe, candidates) = split_probe(body.parts)?;
    let max = s.lite.settings.max_candidate_images;
    if candidates.len() > max {
        return Err(Error::invalid_value(
            format!("{} candidate photos: at most {max} in one request", candidates.len()),
            serde_json::json!({ "limit": max }),
        ));
    }
    let labels: Vec<String> = candidates.iter().map(Part::label).collect();
    let names: Vec<String> = candidates.iter().map(|p| p.name.clone()).collect();
    let probe_name = probe.name.clone();
    let mut images = vec![(probe.name, probe.bytes)];
    images.extend(candidates.into_iter().map(|p| (p.name, p.bytes)));
    let mut templates = s.lite.probes(images).await?;
    let p = templates.remove(0);
    let list: Vec<_> = templates.into_iter().zip(names).collect();
    let ranked = s.lite.compare_n((&p, &probe_name), &list)?;
    Ok(json(ranked_views(ranked, &labels)).into_response())
}

/// Passive liveness of a photo: raw image body (`image/jpeg`, `image/png`).
#[utoipa::path(post, path = "/v1/face/liveness/detect", tag = "lite",
    request_body(description = "the photo (image/jpeg or image/png; base64 text with Content-Transfer-Encoding: base64)", content((Binary = "image/jpeg"), (Binary = "image/png"))),
    responses((status = 200, body = LivenessView)), security((), ("lite_key" = [])))]
async fn liveness_detect(State(s): State<LiteState>, _: LiteCaller, body: ImageBody) -> Result<Response> {
    let l = s.lite.liveness(body.bytes, &body.part).await?;
    Ok(json(LivenessView { passed: l.passed, score: score(l.score) }).into_response())
}
