//! `GET/POST/PATCH/DELETE …/meta_data` for every object (spec §9): one implementation, one
//! set of semantics; each object contributes only its path.
//!
//! GET → 200 `{…}`; POST → replace, 200 with the new object; PATCH → shallow merge (`null`
//! removes a key), 200; DELETE → 204 and `{}`; `DELETE …?key=a&key=b` removes just those keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::MetaObject;
use super::oz::body::OzBody;
use super::oz::ids::parse_id;
use super::oz::json::ok;
use super::oz::query::OzQuery;
use super::AppState;
use crate::domain::meta::MetaTarget;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::{MetaChange, MetaData, ObjectKind};
use crate::domain::{Error, Result};

/// The addressed object from the path's ids: the one named `key`, and the other (its parent,
/// such as a person's collection) if the path has one.
fn target(kind: ObjectKind, key: &str, path: &[(String, String)]) -> Result<MetaTarget> {
    let mut id = None;
    let mut parent = None;
    for (k, v) in path {
        let parsed = parse_id(k, v)?;
        if k == key {
            id = Some(parsed);
        } else {
            parent = Some(parsed);
        }
    }
    let id = id.ok_or_else(|| Error::internal(anyhow::anyhow!("route without {key}")))?;
    Ok(MetaTarget { kind, id, parent })
}

async fn read(
    s: AppState,
    caller: Caller,
    kind: ObjectKind,
    key: &str,
    path: Vec<(String, String)>,
) -> Result<Response> {
    let meta = s.domain.get_meta(&caller, target(kind, key, &path)?).await?;
    Ok(ok(meta.into_value()).into_response())
}

async fn write(
    s: AppState,
    caller: Caller,
    kind: ObjectKind,
    key: &str,
    path: Vec<(String, String)>,
    change: MetaChange,
) -> Result<Response> {
    let meta = s.domain.change_meta(&caller, target(kind, key, &path)?, change).await?;
    Ok(ok(meta.into_value()).into_response())
}

async fn delete(
    s: AppState,
    caller: Caller,
    kind: ObjectKind,
    key: &str,
    path: Vec<(String, String)>,
    q: OzQuery,
) -> Result<Response> {
    let keys = q.all("key");
    let change = if keys.is_empty() { MetaChange::Clear } else { MetaChange::RemoveKeys(keys) };
    s.domain.change_meta(&caller, target(kind, key, &path)?, change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The four handlers of one object's metadata, documented in the OpenAPI. `$key` names the
/// object's id in `$path`; `$parent` the enclosing object's, for nested paths.
macro_rules! meta_endpoints {
    ($routes:ident, $kind:expr, $path:literal, $key:literal, $tag:literal, $get:ident, $post:ident, $patch:ident, $del:ident) => {
        meta_endpoints!($routes, $kind, $path, [$key], $key, $tag, $get, $post, $patch, $del);
    };
    ($routes:ident, $kind:expr, $path:literal, [$($pkey:literal),+], $key:literal, $tag:literal, $get:ident, $post:ident, $patch:ident, $del:ident) => {
        /// Read the object's `meta_data`.
        #[utoipa::path(get, path = $path, tag = $tag, params($(($pkey = uuid::Uuid, Path)),+),
            responses((status = 200, body = MetaObject, description = "the meta_data object")), security(("token" = [])))]
        async fn $get(State(s): State<AppState>, caller: Caller, Path(path): Path<Vec<(String, String)>>) -> Result<Response> {
            read(s, caller, $kind, $key, path).await
        }

        /// Replace the object's `meta_data`.
        #[utoipa::path(post, path = $path, tag = $tag, params($(($pkey = uuid::Uuid, Path)),+), request_body = MetaObject,
            responses((status = 200, body = MetaObject, description = "the new meta_data object")), security(("token" = [])))]
        async fn $post(State(s): State<AppState>, caller: Caller, Path(path): Path<Vec<(String, String)>>, OzBody(body): OzBody<Value>) -> Result<Response> {
            write(s, caller, $kind, $key, path, MetaChange::Replace(MetaData::parse(body, "meta_data")?)).await
        }

        /// Merge into the object's `meta_data` (`null` removes a key).
        #[utoipa::path(patch, path = $path, tag = $tag, params($(($pkey = uuid::Uuid, Path)),+), request_body = MetaObject,
            responses((status = 200, body = MetaObject, description = "the new meta_data object")), security(("token" = [])))]
        async fn $patch(State(s): State<AppState>, caller: Caller, Path(path): Path<Vec<(String, String)>>, OzBody(body): OzBody<Value>) -> Result<Response> {
            write(s, caller, $kind, $key, path, MetaChange::Merge(MetaData::parse(body, "meta_data")?)).await
        }

        /// Clear the object's `meta_data`, or only the keys given as `?key=…`.
        #[utoipa::path(delete, path = $path, tag = $tag, params($(($pkey = uuid::Uuid, Path)),+, ("key" = Option<Vec<String>>, Query)),
            responses((status = 204)), security(("token" = [])))]
        async fn $del(State(s): State<AppState>, caller: Caller, Path(path): Path<Vec<(String, String)>>, q: OzQuery) -> Result<Response> {
            delete(s, caller, $kind, $key, path, q).await
        }

        pub fn $routes() -> OpenApiRouter<AppState> {
            OpenApiRouter::new().routes(routes!($get, $post, $patch, $del))
        }
    };
}

meta_endpoints!(
    user_routes,
    ObjectKind::User,
    "/api/users/{user_id}/meta_data",
    "user_id",
    "users",
    get_user_meta,
    replace_user_meta,
    merge_user_meta,
    delete_user_meta
);
meta_endpoints!(
    company_routes,
    ObjectKind::Company,
    "/api/companies/{company_id}/meta_data",
    "company_id",
    "companies",
    get_company_meta,
    replace_company_meta,
    merge_company_meta,
    delete_company_meta
);
meta_endpoints!(
    folder_routes,
    ObjectKind::Folder,
    "/api/folders/{folder_id}/meta_data",
    "folder_id",
    "folders",
    get_folder_meta,
    replace_folder_meta,
    merge_folder_meta,
    delete_folder_meta
);
meta_endpoints!(
    media_routes,
    ObjectKind::Media,
    "/api/media/{media_id}/meta_data",
    "media_id",
    "media",
    get_media_meta,
    replace_media_meta,
    merge_media_meta,
    delete_media_meta
);
meta_endpoints!(
    analysis_routes,
    ObjectKind::Analysis,
    "/api/analyses/{analyse_id}/meta_data",
    "analyse_id",
    "analyses",
    get_analysis_meta,
    replace_analysis_meta,
    merge_analysis_meta,
    delete_analysis_meta
);
meta_endpoints!(
    collection_routes,
    ObjectKind::Collection,
    "/api/collections/{collection_id}/meta_data",
    "collection_id",
    "collections",
    get_collection_meta,
    replace_collection_meta,
    merge_collection_meta,
    delete_collection_meta
);
meta_endpoints!(
    person_routes,
    ObjectKind::Person,
    "/api/collections/{collection_id}/persons/{person_id}/meta_data",
    ["collection_id", "person_id"],
    "person_id",
    "collections",
    get_person_meta,
    replace_person_meta,
    merge_person_meta,
    delete_person_meta
);
