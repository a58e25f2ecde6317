//! `/api/folders/…` (spec §6): upload, list (also as a CSV report, spec §16 [I]), read, delete,
//! and a folder's media.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::{FolderListQuery, UploadForm};
use super::oz::base_url::BaseUrl;
use super::oz::body::{double_option, from_value, OzBody};
use super::oz::ids::parse_id;
use super::oz::json::{created, ok, OzJson};
use super::oz::multipart::OzUpload;
use super::oz::query::OzQuery;
use super::reports::folders_csv;
use super::views::{FolderView, MediaView, PageView};
use super::AppState;
use crate::domain::folders::service::FolderWith;
use crate::domain::model::caller::Caller;
use crate::domain::{Error, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_folders, create_folder))
        .routes(routes!(get_folder, comment_folder, delete_folder))
        .routes(routes!(list_folder_media, add_media))
        .routes(routes!(claim_folder, release_folder))
        // Uploads are bounded per file and per count by the upload extractor, not by a
        // whole-body limit.
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Create a folder with media (multipart: file parts under any names + a JSON `payload` part
/// with `folder:meta_data`, `media:tags`, `media:meta_data`, `resolution_endpoint`). A bare
/// POST makes an empty folder. With `analyses` in the payload (single request, spec §10) the
/// answer waits for them: 201 with their results, or 202 with the folder still PROCESSING when
/// `--single-request-timeout` ran out. Spec §6.1.
#[utoipa::path(post, path = "/api/folders", tag = "folders",
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "file parts and a `payload` JSON part"),
    responses((status = 201, body = FolderView, description = "the new folder with its media (and, in single request mode, its finished analyses)"),
        (status = 202, body = FolderView, description = "single request mode: the wait ran out, analyses are still PROCESSING")),
    security(("token" = [])))]
async fn create_folder(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    OzUpload(upload): OzUpload,
) -> Result<Response> {
    if upload.payload.analyses.is_none() {
        let folder = s.domain.create_folder(&caller, upload).await?;
        return Ok(created(FolderView::new(folder, &base.0)).into_response());
    }
    // Single request mode (spec §10): 201 with the final results, 202 when the wait ran out.
    let timeout = s.domain.queue.single_request_timeout;
    let (folder, done) = s.domain.create_folder_and_wait(&caller, upload, timeout).await?;
    let status = if done { StatusCode::CREATED } else { StatusCode::ACCEPTED };
    Ok(OzJson(status, FolderView::new(folder, &base.0)).into_response())
}

/// List folders: `{total_count, offset, limit, items}`; filters `time_created.min/.max`,
/// `time_updated.min/.max`, `resolution_status`, `folder_id`, `user_id`, `company_id`,
/// `meta_data`, `analyse.type`; flags `with_media`, `with_analyses`, and [I] `with_user` /
/// `with_company` (each folder carries its owner as `user` and its company as `company`, the
/// objects of `GET /api/folders/{id}`, read for the page's folders only: GAP-9). With
/// `format=csv` or `Accept: text/csv`: a CSV report, `meta_keys=a,b` adding metadata columns;
/// every matching folder, streamed: `GET /api/reports/folders.csv`. Spec §6.3, §16.
#[utoipa::path(get, path = "/api/folders", tag = "folders",
    params(FolderListQuery),
    responses((status = 200, description = "a page of folders, or the CSV report",
        content((PageView<FolderView> = "application/json"), (String = "text/csv")))),
    security(("token" = [])))]
async fn list_folders(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    headers: HeaderMap,
    q: OzQuery,
) -> Result<Response> {
    let with = FolderWith {
        media: q.flag("with_media")?,
        analyses: q.flag("with_analyses")?,
        user: q.flag("with_user")?,
        company: q.flag("with_company")?,
    };
    let page = s.domain.list_folders(&caller, &q.0, with).await?;
    if wants_csv(&q, &headers) {
        return folders_csv(page.items, q.text("meta_keys").unwrap_or_default());
    }
    Ok(ok(PageView::new(page, |f| FolderView::new(f, &base.0))).into_response())
}

fn wants_csv(q: &OzQuery, headers: &HeaderMap) -> bool {
    match q.text("format") {
        Some(f) => f.eq_ignore_ascii_case("csv"),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.split(',').any(|t| t.trim().to_ascii_lowercase().starts_with("text/csv"))),
    }
}

/// One folder with its media; `with_analyses`, `with_user`, `with_company`. Spec §6.4.
#[utoipa::path(get, path = "/api/folders/{folder_id}", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path), ("with_analyses" = Option<bool>, Query), ("with_user" = Option<bool>, Query),
        ("with_company" = Option<bool>, Query)),
    responses((status = 200, body = FolderView)), security(("token" = [])))]
async fn get_folder(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    q: OzQuery,
) -> Result<Response> {
    let id = parse_id("folder_id", &id)?;
    let with = FolderWith {
        media: true,
        analyses: q.flag("with_analyses")?,
        user: q.flag("with_user")?,
        company: q.flag("with_company")?,
    };
    let folder = s.domain.get_folder(&caller, id, with).await?;
    Ok(ok(FolderView::new(folder, &base.0)).into_response())
}

/// `PATCH /api/folders/{id}` body.
#[derive(Deserialize, ToSchema)]
pub struct FolderComment {
    /// The comment; null or empty clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, required = true)]
    pub resolution_comment: Option<Option<String>>,
}

/// An operator's comment on the folder's resolution (spec §8.9 [I]): `{"resolution_comment":
/// "…"}` (null or empty clears it); OPERATOR, or CLIENT OPERATOR in its company. Answers the
/// folder with its media.
#[utoipa::path(patch, path = "/api/folders/{folder_id}", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path)), request_body = FolderComment,
    responses((status = 200, body = FolderView)), security(("token" = [])))]
async fn comment_folder(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    OzBody(body): OzBody<Value>,
) -> Result<Response> {
    let id = parse_id("folder_id", &id)?;
    if !body.is_object() {
        return Err(Error::InvalidStructure { message: "The body must be a JSON object".into(), details: Value::Null });
    }
    let Some(comment) = from_value::<FolderComment>(body)?.resolution_comment else {
        return Err(Error::invalid_value(
            "Nothing to change: resolution_comment is the folder field an operator sets",
            serde_json::json!({ "key_path": "resolution_comment" }),
        ));
    };
    let folder = s.domain.comment_folder(&caller, id, comment).await?;
    Ok(ok(FolderView::new(folder, &base.0)).into_response())
}

/// Delete a folder with its media, analyses and files (ADMIN; CLIENT ADMIN in its company).
/// Spec §6.6.
#[utoipa::path(delete, path = "/api/folders/{folder_id}", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path)), responses((status = 204)), security(("token" = [])))]
async fn delete_folder(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.delete_folder(&caller, parse_id("folder_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Add media to a folder (same multipart contract); answers the array of new media. Spec §6.2.
#[utoipa::path(post, path = "/api/folders/{folder_id}/media", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "file parts and a `payload` JSON part"),
    responses((status = 201, body = [MediaView])), security(("token" = [])))]
async fn add_media(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    OzUpload(upload): OzUpload,
) -> Result<Response> {
    let id = parse_id("folder_id", &id)?;
    let media = s.domain.add_media(&caller, id, upload).await?;
    Ok(created(MediaView::list(media, &base.0)).into_response())
}

/// The folder's media (bare array), in upload order.
#[utoipa::path(get, path = "/api/folders/{folder_id}/media", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path)), responses((status = 200, body = [MediaView])), security(("token" = [])))]
async fn list_folder_media(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Response> {
    let media = s.domain.folder_media(&caller, parse_id("folder_id", &id)?).await?;
    Ok(ok(MediaView::list(media, &base.0)).into_response())
}

/// A review claim (GAP-10): who holds the case, until when.
#[derive(serde::Serialize, ToSchema)]
pub struct ClaimView {
    pub folder_id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub time_created: f64,
    pub expires_at: f64,
}

/// Claim a case for review (OPERATOR, CLIENT OPERATOR): the caller holds it until
/// `expires_at` (`EMERALD_REVIEW_CLAIM_TIMEOUT`, default 15 min); claiming again extends it.
/// 409 (code 4, the holder in `error_details`) while another operator holds it. GAP-10 [I].
#[utoipa::path(post, path = "/api/folders/{folder_id}/claim", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ClaimView), (status = 409, description = "held by another operator")),
    security(("token" = [])))]
async fn claim_folder(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let c = s.domain.claim_folder(&caller, parse_id("folder_id", &id)?).await?;
    let view = ClaimView {
        folder_id: c.folder_id,
        user_id: c.user_id,
        time_created: c.time_created,
        expires_at: c.expires_at,
    };
    Ok(ok(view).into_response())
}

/// Release the caller's claim (204, also when there was none); 409 while another operator
/// holds the case. GAP-10 [I].
#[utoipa::path(delete, path = "/api/folders/{folder_id}/claim", tag = "folders",
    params(("folder_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 409, description = "held by another operator")), security(("token" = [])))]
async fn release_folder(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.release_folder(&caller, parse_id("folder_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
