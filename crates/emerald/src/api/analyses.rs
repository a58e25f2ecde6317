//! `/api/folders/{id}/analyses/` and `/api/analyses/…` (spec §8): request, read, list, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::{AnalysisListQuery, FolderAnalysisListQuery};
use super::oz::analysis_request::{parse_analyses, AnalysesBody, DecisionBody};
use super::oz::base_url::BaseUrl;
use super::oz::body::{from_value, OzBody};
use super::oz::ids::parse_id;
use super::oz::json::{created, ok};
use super::oz::query::OzQuery;
use super::views::{AnalysisView, PageView};
use super::AppState;
use crate::domain::model::caller::Caller;
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_analyses, list_folder_analyses))
        .routes(routes!(list_analyses))
        .routes(routes!(get_analysis, decide_analysis, delete_analysis))
}

/// Request analyses of a folder's media: `{"analyses": [{"type", "source_media", "params",
/// "meta_data"}], "resolution_endpoint"}`. Answers the array of new analyses, all PROCESSING,
/// sharing a `group_id`. Spec §8.2.
#[utoipa::path(post, path = "/api/folders/{folder_id}/analyses", tag = "analyses",
    params(("folder_id" = uuid::Uuid, Path)), request_body = AnalysesBody,
    responses((status = 201, body = [AnalysisView])), security(("token" = [])))]
async fn request_analyses(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    OzBody(body): OzBody<Value>,
) -> Result<Response> {
    let folder_id = parse_id("folder_id", &id)?;
    // A bare array is the analyses list itself.
    let body = match body {
        Value::Array(_) => AnalysesBody { analyses: body, resolution_endpoint: None },
        other => from_value::<AnalysesBody>(other)?,
    };
    let requests = parse_analyses(body.analyses, "analyses")?;
    let endpoint = body.resolution_endpoint.filter(|u| !u.trim().is_empty());
    let analyses = s.domain.request_analyses(&caller, folder_id, requests, endpoint).await?;
    Ok(created(AnalysisView::list(analyses, &base.0)).into_response())
}

/// A folder's analyses (bare array, oldest first); filters `analyse_id`, `type`, `state`
/// (matching `state` or `resolution_status`), each with `.exclude`. Spec §8.7.
#[utoipa::path(get, path = "/api/folders/{folder_id}/analyses", tag = "analyses",
    params(("folder_id" = uuid::Uuid, Path), FolderAnalysisListQuery),
    responses((status = 200, body = [AnalysisView])), security(("token" = [])))]
async fn list_folder_analyses(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    q: OzQuery,
) -> Result<Response> {
    let items = s.domain.folder_analyses(&caller, parse_id("folder_id", &id)?, &q.0).await?;
    Ok(ok(AnalysisView::list(items, &base.0)).into_response())
}

/// All visible analyses: `{total_count, offset, limit, items}`; list grammar plus
/// `analyse_id`, `folder_id`, `group_id`, `type`, `state`, `resolution_status`, `time_*`,
/// `meta_data`, and `person_id` (COLLECTION analyses that matched the person, GAP-9).
#[utoipa::path(get, path = "/api/analyses", tag = "analyses",
    params(AnalysisListQuery),
    responses((status = 200, body = PageView<AnalysisView>)), security(("token" = [])))]
async fn list_analyses(State(s): State<AppState>, caller: Caller, base: BaseUrl, q: OzQuery) -> Result<Response> {
    let page = s.domain.list_analyses(&caller, &q.0).await?;
    Ok(ok(PageView::new(page, |a| AnalysisView::new(a, &base.0))).into_response())
}

/// One analysis (what clients poll). Spec §8.7.
#[utoipa::path(get, path = "/api/analyses/{analyse_id}", tag = "analyses",
    params(("analyse_id" = uuid::Uuid, Path)), responses((status = 200, body = AnalysisView)), security(("token" = [])))]
async fn get_analysis(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Response> {
    let a = s.domain.get_analysis(&caller, parse_id("analyse_id", &id)?).await?;
    Ok(ok(AnalysisView::new(a, &base.0)).into_response())
}

/// An operator's decision ("Make Decision", spec §8.9 [I]): `{"resolution_status": "SUCCESS" |
/// "DECLINED", "resolution_comment": "…"}` on any FINISHED analysis, as the spec's contract says;
/// with `"force": false` only on one still awaiting a decision (OPERATOR_REQUIRED; code 4
/// otherwise, also when another operator decided first — GAP-3, what the console sends).
/// A case another operator holds (an unexpired review claim, `POST /api/folders/{id}/claim`,
/// GAP-10) is refused with code 4 (HTTP 409, the holder in `error_details`) unless
/// `"force": true` is sent explicitly (absent, the claim holds).
/// OPERATOR, or CLIENT OPERATOR in its company. Answers the analysis; the folder status is
/// recomputed; the decision is recorded in `GET /api/audit`.
#[utoipa::path(patch, path = "/api/analyses/{analyse_id}", tag = "analyses",
    params(("analyse_id" = uuid::Uuid, Path)), request_body = DecisionBody,
    responses((status = 200, body = AnalysisView)), security(("token" = [])))]
async fn decide_analysis(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    OzBody(body): OzBody<Value>,
) -> Result<Response> {
    let id = parse_id("analyse_id", &id)?;
    let body = from_value::<DecisionBody>(body)?;
    let (resolution, overrides) = (body.resolution()?, body.overrides());
    let a = s.domain.decide_analysis(&caller, id, resolution, body.resolution_comment, overrides).await?;
    Ok(ok(AnalysisView::new(a, &base.0)).into_response())
}

/// Delete an analysis (ADMIN; CLIENT ADMIN in its company); the folder status is recomputed.
/// Spec §12.
#[utoipa::path(delete, path = "/api/analyses/{analyse_id}", tag = "analyses",
    params(("analyse_id" = uuid::Uuid, Path)), responses((status = 204)), security(("token" = [])))]
async fn delete_analysis(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.delete_analysis(&caller, parse_id("analyse_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
