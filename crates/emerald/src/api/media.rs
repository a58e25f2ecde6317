//! `/api/media/…` and the stored files under `/static/…` (spec §4.5, §6.6).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::collections::file_response;
use super::openapi::{Binary, MediaListQuery};
use super::oz::base_url::BaseUrl;
use super::oz::ids::parse_id;
use super::oz::json::ok;
use super::oz::query::OzQuery;
use super::views::{MediaView, PageView};
use super::AppState;
use crate::domain::model::caller::Caller;
use crate::domain::Result;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_media))
        .routes(routes!(get_media, delete_media))
        .routes(routes!(media_file))
}

/// List media: `{total_count, offset, limit, items}`; filters `media_id`, `folder_id`,
/// `media_type` (short forms too), `time_created`/`time_updated` ranges, `meta_data`.
#[utoipa::path(get, path = "/api/media", tag = "media",
    params(MediaListQuery),
    responses((status = 200, body = PageView<MediaView>)), security(("token" = [])))]
async fn list_media(State(s): State<AppState>, caller: Caller, base: BaseUrl, q: OzQuery) -> Result<Response> {
    let page = s.domain.list_media(&caller, &q.0).await?;
    Ok(ok(PageView::new(page, |m| MediaView::new(m, &base.0))).into_response())
}

/// One media object.
#[utoipa::path(get, path = "/api/media/{media_id}", tag = "media",
    params(("media_id" = uuid::Uuid, Path)), responses((status = 200, body = MediaView)), security(("token" = [])))]
async fn get_media(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Response> {
    let media = s.domain.get_media(&caller, parse_id("media_id", &id)?).await?;
    Ok(ok(MediaView::new(media, &base.0)).into_response())
}

/// Delete one file from its folder (ADMIN; CLIENT ADMIN in its company). Spec §6.6.
#[utoipa::path(delete, path = "/api/media/{media_id}", tag = "media",
    params(("media_id" = uuid::Uuid, Path)), responses((status = 204)), security(("token" = [])))]
async fn delete_media(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.delete_media(&caller, parse_id("media_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A stored file: `{media_id}.{ext}` (the original) or `{media_id}_thumb.jpg`. Needs the
/// token; visible to whoever may see the folder.
#[utoipa::path(get, path = "/static/{folder_id}/{file}", tag = "media",
    params(("folder_id" = uuid::Uuid, Path), ("file" = String, Path)),
    responses((status = 200, description = "the file's bytes",
        content((Binary = "image/*"), (Binary = "video/*"), (Binary = "application/*")))),
    security(("token" = [])))]
async fn media_file(
    State(s): State<AppState>,
    caller: Caller,
    Path((folder_id, file)): Path<(String, String)>,
) -> Result<Response> {
    let folder_id = parse_id("folder_id", &folder_id)?;
    let blob = s.domain.open_media_file(&caller, folder_id, &file).await?;
    Ok(file_response(blob))
}
