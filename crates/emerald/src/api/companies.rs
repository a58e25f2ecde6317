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
use crate::domain::identity::companies::CompanyPatch;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::MetaData;
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, create_company))
        .routes(routes!(get_company, update_company, delete_company))
        .routes(routes!(company_thresholds))
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

/// The decision thresholds a company's new analyses get (GAP-14 [I], read-only). Each analysis
/// also carries the one it was decided with (`threshold`: request params override these; null
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
    /// Where the values come from: `installation` (the server's `--quality-threshold`,
    /// `--biometry-threshold`, `--collection-threshold`; there is no per-company override).
    pub source: String,
}

/// A company's decision thresholds (GAP-14 [I], read-only): whoever sees the company.
#[utoipa::path(get, path = "/api/companies/{company_id}/thresholds", tag = "companies",
    params(("company_id" = uuid::Uuid, Path)), responses((status = 200, body = ThresholdsView)), security(("token" = [])))]
async fn company_thresholds(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let id = parse_id("company_id", &id)?;
    let t = s.domain.company_thresholds(&caller, id).await?;
    Ok(ok(ThresholdsView {
        company_id: id,
        quality: t.quality,
        biometry: t.biometry,
        collection: t.collection,
        source: "installation".to_owned(),
    })
    .into_response())
}
