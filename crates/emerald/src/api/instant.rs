//! `POST /api/instant/folders/` (spec §13.1): the single-request contract, run in memory,
//! nothing stored. Authentication per `--instant-auth`: a token checked without writing
//! (`token`), none (`none`, the integrator authenticates), or the route is off (`off`).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::UploadForm;
use super::oz::caller::access_token;
use super::oz::json::ok;
use super::oz::multipart::OzMemoryUpload;
use super::views::FolderView;
use super::AppState;
use crate::config::InstantAuth;
use crate::domain::model::caller::Caller;
use crate::domain::{Error, Result};

/// The caller of an Instant request, checked before the body is read.
struct InstantCaller(Option<Caller>);

impl FromRequestParts<AppState> for InstantCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match state.instant_auth {
            InstantAuth::Off => Err(Error::NotRealized("Instant mode is switched off on this server".into())),
            InstantAuth::None => Ok(InstantCaller(None)),
            InstantAuth::Token => {
                let token = access_token(&parts.headers).ok_or(Error::AuthNotProvided)?;
                let caller = state.domain.authenticate_read_only(token).await?;
                state.domain.charge_quota(&caller, crate::domain::identity::abuse::RequestClass::Expensive).await?;
                Ok(InstantCaller(Some(caller)))
            }
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(instant_folder)).layer(axum::extract::DefaultBodyLimit::disable())
}

/// Analyse media without storing anything: multipart file parts plus a `payload` with
/// `media:tags`, `folder:meta_data`, `analyses`. Answers the folder with media and analyses in
/// their final states; the `folder_id` was never stored; best shots are `data:` URIs.
#[utoipa::path(post, path = "/api/instant/folders", tag = "instant",
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "file parts and a `payload` JSON part"),
    responses((status = 200, body = FolderView)), security(("token" = [])))]
async fn instant_folder(
    State(s): State<AppState>,
    InstantCaller(caller): InstantCaller,
    OzMemoryUpload(upload): OzMemoryUpload,
) -> Result<Response> {
    let folder = s.domain.instant(caller.as_ref(), upload).await?;
    Ok(ok(FolderView::instant(folder)).into_response())
}
