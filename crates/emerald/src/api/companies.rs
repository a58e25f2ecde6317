//! `/api/companies/…` (spec §7.1).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::CompanyListQuery;
use super::oz::body::OzBody;
use super::oz::ids::parse_id;
use super::oz::json::{created, ok};
use super::oz::query::OzQuery;
use super::views::CompanyView;
use super::AppState;
use crate::domain::identity::companies::{CompanyPatch, CompanyThresholds};
use crate::domain::model::analysis::{ThresholdChange, ThresholdPatch, BAND_KEYS, THRESHOLD_KEYS};
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::MetaData;
use crate::domain::{Error, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, create_company))
        .routes(routes!(get_company, update_company, delete_company))
        .routes(routes!(company_thresholds, update_company_thresholds))
}

/// List companies: a bare array; `search_text` matches any part of the name.
#[utoipa::path(get, path = "/api/companies", tag = "companies",
    params(CompanyListQuery),
    responses((status = 200, body = [CompanyView])), security(("token" = [])))]
async fn list_companies(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let page = s.domain.list_companies(&caller, q.text("search_text"), &q.0).await?;
    Ok(ok(page.items.into_iter().map(CompanyView::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct CompanyCreate {
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// Create a company (ADMIN).
#[utoipa::path(post, path = "/api/companies", tag = "companies", request_body = CompanyCreate,
    responses((status = 201, body = CompanyView)), security(("token" = [])))]
async fn create_company(
    State(s): State<AppState>,
    caller: Caller,
    OzBody(req): OzBody<CompanyCreate>,
) -> Result<Response> {
    let meta = req.meta_data.map(|m| MetaData::parse(m, "meta_data")).transpose()?.unwrap_or_default();
    let company = s.domain.create_company(&caller, &req.name, meta).await?;
    Ok(created(CompanyView::from(company)).into_response())
}

/// One company; another company's id answers 404.
#[utoipa::path(get, path = "/api/companies/{company_id}", tag = "companies",
    params(("company_id" = uuid::Uuid, Path)), responses((status = 200, body = CompanyView)), security(("token" = [])))]
async fn get_company(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let company = s.domain.get_company(&caller, parse_id("company_id", &id)?).await?;
    Ok(ok(CompanyView::from(company)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct CompanyUpdate {
    pub name: Option<String>,
    /// Merged into the stored metadata (`null` values remove keys).
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// Change a company's name or metadata (ADMIN; CLIENT ADMIN for its own).
#[utoipa::path(patch, path = "/api/companies/{company_id}", tag = "companies", request_body = CompanyUpdate,
    params(("company_id" = uuid::Uuid, Path)), responses((status = 200, body = CompanyView)), security(("token" = [])))]
async fn update_company(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OzBody(req): OzBody<CompanyUpdate>,
) -> Result<Response> {
    let id = parse_id("company_id", &id)?;
    let patch =
        CompanyPatch { name: req.name, meta_data: req.meta_data.map(|m| MetaData::parse(m, "meta_data")).transpose()? };
    let company = s.domain.update_company(&caller, id, patch).await?;
    Ok(ok(CompanyView::from(company)).into_response())
}

/// Delete a company without users (ADMIN).
#[utoipa::path(delete, path = "/api/companies/{company_id}", tag = "companies",
    params(("company_id" = uuid::Uuid, Path)), responses((status = 204)), security(("token" = [])))]
async fn delete_company(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.delete_company(&caller, parse_id("company_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One value per analysis type that has a threshold (DOCUMENTS has no score).
#[derive(Serialize)]
pub struct ThresholdValues<T> {
    pub quality: T,
    pub biometry: T,
    pub collection: T,
}

/// The decision thresholds a company's new analyses get (GAP-14 [I]). Each analysis also
/// carries the one it was created with (`threshold`: a request's params override these; null
/// for DOCUMENTS, which has no score).
#[derive(Serialize, ToSchema)]
pub struct ThresholdsView {
    pub company_id: uuid::Uuid,
    /// QUALITY: `confidence_spoofing` at or above it is an attack (DECLINED).
    pub quality: f64,
    /// BIOMETRY: `min_confidence` at or above it is SUCCESS (a request's `threshold_max` wins).
    pub biometry: f64,
    /// COLLECTION: a match at or above it is a hit (a request's `decision_threshold` wins).
    pub collection: f64,
    /// BIOMETRY's operator band: `min_confidence` in `[biometry_min, biometry)` is
    /// OPERATOR_REQUIRED (a request's `threshold_min` wins); null: no band.
    #[schema(example = 0.6)]
    pub biometry_min: Option<f64>,
    /// COLLECTION's operator band: a best match in `[collection_min, collection)` is
    /// OPERATOR_REQUIRED; null: no band.
    pub collection_min: Option<f64>,
    /// `company` when at least one value is the company's own (set by an ADMIN with
    /// `PATCH`), else `installation` (the server's `--quality-threshold`,
    /// `--biometry-threshold`, `--collection-threshold`).
    #[schema(example = "installation")]
    pub source: &'static str,
    /// Where each value comes from: `installation` or `company`.
    #[schema(value_type = ThresholdSources)]
    pub sources: ThresholdValues<&'static str>,
    /// The installation's settings, which a `null` in `PATCH` returns to.
    #[schema(value_type = InstallationThresholds)]
    pub installation: ThresholdValues<f64>,
}

/// `sources` of [`ThresholdsView`] (for the schema).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ThresholdSources {
    #[schema(example = "company")]
    quality: String,
    #[schema(example = "installation")]
    biometry: String,
    #[schema(example = "installation")]
    collection: String,
}

/// `installation` of [`ThresholdsView`] (for the schema).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InstallationThresholds {
    quality: f64,
    biometry: f64,
    collection: f64,
}

impl ThresholdsView {
    fn of(company_id: uuid::Uuid, t: &CompanyThresholds) -> Self {
        let CompanyThresholds { effective, overrides: _, installation } = t;
        let source = |k: &str| t.source(k).as_str();
        ThresholdsView {
            company_id,
            quality: effective.quality,
            biometry: effective.biometry,
            collection: effective.collection,
            biometry_min: effective.biometry_min,
            collection_min: effective.collection_min,
            source: t.overall_source().as_str(),
            sources: ThresholdValues {
                quality: source("quality"),
                biometry: source("biometry"),
                collection: source("collection"),
            },
            installation: ThresholdValues {
                quality: installation.quality,
                biometry: installation.biometry,
                collection: installation.collection,
            },
        }
    }
}

/// A company's decision thresholds (GAP-14 [I]): whoever sees the company.
#[utoipa::path(get, path = "/api/companies/{company_id}/thresholds", tag = "companies",
    params(("company_id" = uuid::Uuid, Path)), responses((status = 200, body = ThresholdsView)), security(("token" = [])))]
async fn company_thresholds(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let id = parse_id("company_id", &id)?;
    let t = s.domain.company_thresholds(&caller, id).await?;
    Ok(ok(ThresholdsView::of(id, &t)).into_response())
}

/// `PATCH /api/companies/{id}/thresholds`: any of `quality`, `biometry`, `collection`, each a
/// number in [0, 1] (the company's own) or `null` (back to the installation's), and the bands'
/// lower edges `biometry_min`, `collection_min` (`null`: no band; not above the threshold they
/// lie under); absent keys keep their value.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ThresholdsUpdate {
    #[schema(example = 0.4)]
    quality: Option<f64>,
    #[schema(example = 0.9)]
    biometry: Option<f64>,
    collection: Option<f64>,
    #[schema(example = 0.6)]
    biometry_min: Option<f64>,
    collection_min: Option<f64>,
}

/// The body of a thresholds `PATCH` as the domain's change: only the five keys, each a number
/// or `null`; anything else is refused, naming the key.
fn threshold_patch(body: Value) -> Result<ThresholdPatch> {
    let Value::Object(map) = body else {
        return Err(Error::InvalidStructure {
            message: "JSON body of request should be an object of thresholds".into(),
            details: Value::Null,
        });
    };
    let mut patch = ThresholdPatch::default();
    for (key, value) in map {
        let change = match &value {
            Value::Null => ThresholdChange::Clear,
            Value::Number(n) => ThresholdChange::Set(n.as_f64().ok_or_else(|| Error::invalid_type(&key))?),
            _ => return Err(Error::invalid_type(&key)),
        };
        if !patch.set(&key, change) {
            return Err(Error::invalid_value(
                format!(
                    "Unknown threshold {key:?}: expected {}",
                    [&THRESHOLD_KEYS[..], &BAND_KEYS[..]].concat().join(", ")
                ),
                serde_json::json!({ "key_path": key }),
            ));
        }
    }
    Ok(patch)
}

/// Set or clear a company's own decision thresholds (GAP-14 [I], ADMIN only); answers what
/// `GET` answers afterwards. Analyses created before keep their `threshold`.
#[utoipa::path(patch, path = "/api/companies/{company_id}/thresholds", tag = "companies",
    request_body = ThresholdsUpdate, params(("company_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ThresholdsView)), security(("token" = [])))]
async fn update_company_thresholds(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OzBody(body): OzBody<Value>,
) -> Result<Response> {
    let id = parse_id("company_id", &id)?;
    let t = s.domain.set_company_thresholds(&caller, id, threshold_patch(body)?).await?;
    Ok(ok(ThresholdsView::of(id, &t)).into_response())
}
