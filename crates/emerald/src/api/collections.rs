//! `/api/collections/…` (spec §4.7, §12): collections, their persons and the persons' photos,
//! and the photos' files under `/static/collections/…`. Lists are bare arrays (spec §7.1 [I]).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::{Binary, CollectionListQuery, PersonListQuery, UploadForm};
use super::oz::base_url::BaseUrl;
use super::oz::body::{from_value, OzBody};
use super::oz::ids::parse_id;
use super::oz::json::{created, ok};
use super::oz::multipart::OzUpload;
use super::oz::query::OzQuery;
use super::views::{CollectionView, PersonImageView, PersonView};
use super::AppState;
use crate::domain::collections::persons::EnrolMode;
use crate::domain::collections::service::NewCollection;
use crate::domain::folders::service::BlobDownload;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::MetaData;
use crate::domain::{Error, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_collections, create_collection))
        .routes(routes!(get_collection, rename_collection, delete_collection))
        .routes(routes!(list_persons, add_person))
        .routes(routes!(add_persons))
        .routes(routes!(get_person, delete_person))
        .routes(routes!(list_person_images, add_person_images))
        .routes(routes!(get_person_image, delete_person_image))
        .routes(routes!(person_image_file))
        // Uploads are bounded per file and per count by the upload extractor.
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The two ids of a person path.
fn person_ids(cid: &str, pid: &str) -> Result<(uuid::Uuid, uuid::Uuid)> {
    Ok((parse_id("collection_id", cid)?, parse_id("person_id", pid)?))
}

/// List collections (bare array) with each one's `persons_count` (GAP-9): filters `alias`,
/// `company_id`, `collection_id`, `time_created`/`time_updated` ranges, `meta_data`;
/// `offset`, `limit`, `sorting`.
#[utoipa::path(get, path = "/api/collections", tag = "collections",
    params(CollectionListQuery),
    responses((status = 200, body = [CollectionView])), security(("token" = [])))]
async fn list_collections(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let page = s.domain.list_collections(&caller, &q.0).await?;
    let counts = s.domain.persons_per_collection(&page.items).await?;
    Ok(ok(page.items.into_iter().map(|c| CollectionView::counted(c, &counts)).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct CollectionCreate {
    pub alias: String,
    /// Default: the caller's company (ADMIN must name one).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub company_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// Create a collection (ADMIN; CLIENT ADMIN in its company). Spec §12 step 2.
#[utoipa::path(post, path = "/api/collections", tag = "collections", request_body = CollectionCreate,
    responses((status = 201, body = CollectionView)), security(("token" = [])))]
async fn create_collection(
    State(s): State<AppState>,
    caller: Caller,
    OzBody(req): OzBody<CollectionCreate>,
) -> Result<Response> {
    let CollectionCreate { alias, company_id, meta_data } = req;
    let new = NewCollection {
        alias,
        company_id: company_id.map(|c| parse_id("company_id", &c)).transpose()?,
        meta_data: meta_data.map(|m| MetaData::parse(m, "meta_data")).transpose()?.unwrap_or_default(),
    };
    let collection = s.domain.create_collection(&caller, new).await?;
    // A new collection has no person yet: the same shape as the list and the single read.
    Ok(created(CollectionView::counted(collection, &[])).into_response())
}

/// One collection.
#[utoipa::path(get, path = "/api/collections/{collection_id}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path)), responses((status = 200, body = CollectionView)), security(("token" = [])))]
async fn get_collection(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let collection = s.domain.get_collection(&caller, parse_id("collection_id", &id)?).await?;
    let counts = s.domain.persons_per_collection(std::slice::from_ref(&collection)).await?;
    Ok(ok(CollectionView::counted(collection, &counts)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct CollectionRename {
    /// 1 to 256 characters (trimmed), unique within the collection's company.
    pub alias: String,
}

/// Rename a collection ([I], not in the Oz API; ADMIN; CLIENT ADMIN in its company): the alias
/// rules of the creation. COLLECTION analyses made before keep the alias they matched under.
#[utoipa::path(patch, path = "/api/collections/{collection_id}", tag = "collections", request_body = CollectionRename,
    params(("collection_id" = uuid::Uuid, Path)), responses((status = 200, body = CollectionView)), security(("token" = [])))]
async fn rename_collection(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OzBody(body): OzBody<Value>,
) -> Result<Response> {
    let id = parse_id("collection_id", &id)?;
    // An array would deserialise into the struct by position.
    if !body.is_object() {
        return Err(Error::InvalidStructure { message: "The body must be a JSON object".into(), details: Value::Null });
    }
    let req: CollectionRename = from_value(body)?;
    let collection = s.domain.rename_collection(&caller, id, &req.alias).await?;
    let counts = s.domain.persons_per_collection(std::slice::from_ref(&collection)).await?;
    Ok(ok(CollectionView::counted(collection, &counts)).into_response())
}

/// Delete an empty collection (code 4 while persons remain). Spec §12 step 8.
#[utoipa::path(delete, path = "/api/collections/{collection_id}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path)), responses((status = 204)), security(("token" = [])))]
async fn delete_collection(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.delete_collection(&caller, parse_id("collection_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A collection's persons with their photos (bare array): filters `person_id`,
/// `time_created`/`time_updated` ranges, `meta_data`, `search_text` (any metadata text value
/// containing it, GAP-9); `offset`, `limit` (default 100), `sorting`.
/// Spec §12 step 5.
#[utoipa::path(get, path = "/api/collections/{collection_id}/persons", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), PersonListQuery),
    responses((status = 200, body = [PersonView])), security(("token" = [])))]
async fn list_persons(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    q: OzQuery,
) -> Result<Response> {
    let page = s.domain.list_persons(&caller, parse_id("collection_id", &id)?, &q.0).await?;
    Ok(ok(PersonView::list(page.items, &base.0)).into_response())
}

/// Add a person: multipart photo parts + `payload` with `media:tags` and `person:meta_data`.
/// Every photo must show exactly one usable face, else nothing is stored (code 4 naming the
/// rejected files). Spec §12 step 3.
#[utoipa::path(post, path = "/api/collections/{collection_id}/persons", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "photo parts and a `payload` JSON part"),
    responses((status = 201, body = PersonView)), security(("token" = [])))]
async fn add_person(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    OzUpload(upload): OzUpload,
) -> Result<Response> {
    let enrolled =
        s.domain.add_person(&caller, parse_id("collection_id", &id)?, upload, EnrolMode::AllOrNothing).await?;
    // All or nothing: exactly the one person was stored.
    let person = enrolled
        .persons
        .into_iter()
        .next()
        .ok_or_else(|| crate::domain::Error::internal(anyhow::anyhow!("no person enrolled")))?;
    Ok(created(PersonView::new(person, &base.0)).into_response())
}

/// Add several persons in one request ([I]): photo parts + `payload.persons`, a list of
/// `{"files": [file keys], "person:meta_data": {…}}`; `media:tags` as usual. All or nothing.
#[utoipa::path(post, path = "/api/collections/{collection_id}/persons/batch", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "photo parts and a `payload` JSON part with `persons`"),
    responses((status = 201, body = [PersonView])), security(("token" = [])))]
async fn add_persons(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    OzUpload(upload): OzUpload,
) -> Result<Response> {
    let persons = s.domain.add_persons(&caller, parse_id("collection_id", &id)?, upload).await?;
    Ok(created(PersonView::list(persons, &base.0)).into_response())
}

/// One person with its photos.
#[utoipa::path(get, path = "/api/collections/{collection_id}/persons/{person_id}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    responses((status = 200, body = PersonView)), security(("token" = [])))]
async fn get_person(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path((cid, pid)): Path<(String, String)>,
) -> Result<Response> {
    let (cid, pid) = person_ids(&cid, &pid)?;
    let person = s.domain.get_person(&caller, cid, pid).await?;
    Ok(ok(PersonView::new(person, &base.0)).into_response())
}

/// Delete a person and its photos; refused (code 4, `analyse_ids` in the details) while
/// COLLECTION analyses reference it. Spec §12 step 6.
#[utoipa::path(delete, path = "/api/collections/{collection_id}/persons/{person_id}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    responses((status = 204)), security(("token" = [])))]
async fn delete_person(
    State(s): State<AppState>,
    caller: Caller,
    Path((cid, pid)): Path<(String, String)>,
) -> Result<Response> {
    let (cid, pid) = person_ids(&cid, &pid)?;
    s.domain.delete_person(&caller, cid, pid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A person's photos (bare array), each with `person_image_id` and `media_id`. Spec §12 step 5.
#[utoipa::path(get, path = "/api/collections/{collection_id}/persons/{person_id}/images", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    responses((status = 200, body = [PersonImageView])), security(("token" = [])))]
async fn list_person_images(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path((cid, pid)): Path<(String, String)>,
) -> Result<Response> {
    let (cid, pid) = person_ids(&cid, &pid)?;
    let images = s.domain.person_images(&caller, cid, pid).await?;
    Ok(ok(PersonImageView::list(images, &base.0)).into_response())
}

/// More photos of a person (same multipart contract, same face rule) → 201 array. Spec §12 step 4.
#[utoipa::path(post, path = "/api/collections/{collection_id}/persons/{person_id}/images", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "photo parts and a `payload` JSON part"),
    responses((status = 201, body = [PersonImageView])), security(("token" = [])))]
async fn add_person_images(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path((cid, pid)): Path<(String, String)>,
    OzUpload(upload): OzUpload,
) -> Result<Response> {
    let (cid, pid) = person_ids(&cid, &pid)?;
    let images = s.domain.add_person_images(&caller, cid, pid, upload).await?;
    Ok(created(PersonImageView::list(images, &base.0)).into_response())
}

/// One photo, by `person_image_id` or `media_id`.
#[utoipa::path(get, path = "/api/collections/{collection_id}/persons/{person_id}/images/{image_id}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("image_id" = uuid::Uuid, Path)),
    responses((status = 200, body = PersonImageView)), security(("token" = [])))]
async fn get_person_image(
    State(s): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path((cid, pid, iid)): Path<(String, String, String)>,
) -> Result<Response> {
    let (cid, pid) = person_ids(&cid, &pid)?;
    let image = s.domain.get_person_image(&caller, cid, pid, parse_id("image_id", &iid)?).await?;
    Ok(ok(PersonImageView::new(image, &base.0)).into_response())
}

/// Delete one photo, addressed by `media_id` (as the guide does) or `person_image_id`; refused
/// while COLLECTION analyses reference it. Spec §12 step 7.
#[utoipa::path(delete, path = "/api/collections/{collection_id}/persons/{person_id}/images/{image_id}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("person_id" = uuid::Uuid, Path), ("image_id" = uuid::Uuid, Path)),
    responses((status = 204)), security(("token" = [])))]
async fn delete_person_image(
    State(s): State<AppState>,
    caller: Caller,
    Path((cid, pid, iid)): Path<(String, String, String)>,
) -> Result<Response> {
    let (cid, pid) = person_ids(&cid, &pid)?;
    s.domain.delete_person_image(&caller, cid, pid, parse_id("image_id", &iid)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A person's photo `{media_id}.{ext}` or its thumbnail `{media_id}_thumb.jpg`. Needs the
/// token; visible to whoever may see the collection.
#[utoipa::path(get, path = "/static/collections/{collection_id}/{file}", tag = "collections",
    params(("collection_id" = uuid::Uuid, Path), ("file" = String, Path)),
    responses((status = 200, description = "the file's bytes", content((Binary = "image/*")))), security(("token" = [])))]
async fn person_image_file(
    State(s): State<AppState>,
    caller: Caller,
    Path((cid, file)): Path<(String, String)>,
) -> Result<Response> {
    let blob = s.domain.open_person_image_file(&caller, parse_id("collection_id", &cid)?, &file).await?;
    Ok(file_response(blob))
}

/// A stored file as an HTTP response (shared with the media route).
pub fn file_response(blob: BlobDownload) -> Response {
    let mut res = Body::from_stream(blob.stream).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(blob.content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    res
}
