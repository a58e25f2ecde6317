//! Authentication as an extractor: `X-Forensic-Access-Token` (also the documented typo
//! `X-Forensics-Access-Token`; header names are case-insensitive) → [`Caller`] (spec §2.2).

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::http::Method;

use crate::api::AppState;
use crate::domain::identity::abuse::RequestClass;
use crate::domain::model::caller::Caller;
use crate::domain::Error;

pub const TOKEN_HEADERS: [&str; 2] = ["x-forensic-access-token", "x-forensics-access-token"];

/// The access token sent with a request, if any.
pub fn access_token(headers: &HeaderMap) -> Option<&str> {
    TOKEN_HEADERS
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    /// The caller, charged one request against its token's and company's quotas (code 101 when
    /// spent, before the handler does anything).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = access_token(&parts.headers).ok_or(Error::AuthNotProvided)?;
        let caller = state.domain.authenticate(token, false).await?;
        state.domain.charge_quota(&caller, request_class(parts)).await?;
        Ok(caller)
    }
}

/// Routes whose POST makes engine work (uploads, analyses, enrolment, Instant): they also
/// count against the expensive-work quota.
const EXPENSIVE_POSTS: &[&str] = &[
    "/api/folders",
    "/api/folders/{folder_id}/media",
    "/api/folders/{folder_id}/analyses",
    "/api/instant/folders",
    "/api/collections/{collection_id}/persons",
    "/api/collections/{collection_id}/persons/batch",
    "/api/collections/{collection_id}/persons/{person_id}/images",
];

pub fn request_class(parts: &Parts) -> RequestClass {
    let expensive = parts.method == Method::POST
        && parts.extensions.get::<MatchedPath>().is_some_and(|m| EXPENSIVE_POSTS.contains(&m.as_str()));
    if expensive {
        RequestClass::Expensive
    } else {
        RequestClass::Ordinary
    }
}

/// The caller of a token refresh: the access token may have expired, the expire token in the
/// body is what renews it.
pub struct RefreshCaller(pub Caller);

impl FromRequestParts<AppState> for RefreshCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = access_token(&parts.headers).ok_or(Error::AuthNotProvided)?;
        state.domain.authenticate(token, true).await.map(RefreshCaller)
    }
}
