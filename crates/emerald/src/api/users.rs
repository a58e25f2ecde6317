//! `/api/users/…` (spec §7.2).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::openapi::UserListQuery;
use super::oz::body::{double_option, OzBody};
use super::oz::ids::parse_id;
use super::oz::json::{created, ok};
use super::oz::query::OzQuery;
use super::views::UserView;
use super::AppState;
use crate::domain::identity::credentials::{Email, Password};
use crate::domain::identity::users::{check_name, NewUser, UserPatch};
use crate::domain::model::account::AnalysisPermissions;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::{Error, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user)).routes(routes!(current_user)).routes(routes!(
        get_user,
        update_user,
        delete_user
    ))
}

/// The user the token belongs to (GAP-1 of the console spec [I]): its role, company and
/// permissions, as `GET /api/users/{user_id}` answers them.
#[utoipa::path(get, path = "/api/users/me", tag = "users",
    responses((status = 200, body = UserView)), security(("token" = [])))]
async fn current_user(State(s): State<AppState>, caller: Caller) -> Result<Response> {
    let user = s.domain.get_user(&caller, caller.user_id).await?;
    Ok(ok(UserView::from(user)).into_response())
}

/// List users (bare array): filters `company_id`, `user_type`, `search_text`, `meta_data`.
#[utoipa::path(get, path = "/api/users", tag = "users",
    params(UserListQuery),
    responses((status = 200, body = [UserView])), security(("token" = [])))]
async fn list_users(State(s): State<AppState>, caller: Caller, q: OzQuery) -> Result<Response> {
    let page = s.domain.list_users(&caller, q.text("search_text"), &q.0).await?;
    Ok(ok(page.items.into_iter().map(UserView::from).collect::<Vec<_>>()).into_response())
}

/// The permission flags in all three historical spellings (spec §3.1).
#[derive(Deserialize, ToSchema, Default)]
pub struct PermissionFlags {
    #[serde(alias = "can_start_analyse_biometry", alias = "can_start_analyze_biometry")]
    pub can_start_analysis_biometry: Option<bool>,
    #[serde(alias = "can_start_analyse_quality", alias = "can_start_analyze_quality")]
    pub can_start_analysis_quality: Option<bool>,
    #[serde(alias = "can_start_analyse_collection", alias = "can_start_analyze_collection")]
    pub can_start_analysis_collection: Option<bool>,
    #[serde(alias = "can_start_analyse_documents", alias = "can_start_analyze_documents")]
    pub can_start_analysis_documents: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct UserCreate {
    pub email: String,
    pub password: String,
    /// Default CLIENT.
    #[schema(schema_with = crate::api::openapi::user_type_request, required = false)]
    pub user_type: Option<String>,
    /// Required for the CLIENT roles, absent for ADMIN and OPERATOR.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub company_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub is_service: Option<bool>,
    /// Pre-6.0: a CLIENT with `is_admin` is a CLIENT ADMIN.
    pub is_admin: Option<bool>,
    #[serde(flatten)]
    pub flags: PermissionFlags,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// The role from `user_type` and the legacy flags (spec §3.1, §17).
fn role_of(user_type: Option<&str>, is_admin: Option<bool>) -> Result<Option<UserType>> {
    let t = user_type.map(str::parse::<UserType>).transpose()?;
    Ok(match (t, is_admin) {
        (Some(UserType::Client) | None, Some(true)) => Some(UserType::ClientAdmin),
        (t, _) => t,
    })
}

impl TryFrom<UserCreate> for NewUser {
    type Error = Error;

    fn try_from(w: UserCreate) -> Result<Self> {
        let UserCreate {
            email,
            password,
            user_type,
            company_id,
            first_name,
            last_name,
            middle_name,
            is_service,
            is_admin,
            flags,
            meta_data,
        } = w;
        let defaults = AnalysisPermissions::default();
        let PermissionFlags {
            can_start_analysis_biometry,
            can_start_analysis_quality,
            can_start_analysis_collection,
            can_start_analysis_documents,
        } = flags;
        Ok(NewUser {
            email: Email::parse(&email)?,
            password: Password::parse(&password)?,
            user_type: role_of(user_type.as_deref(), is_admin)?.unwrap_or(UserType::Client),
            company_id: company_id.as_deref().map(|c| parse_id("company_id", c)).transpose()?,
            first_name: check_name("first_name", first_name.as_deref().unwrap_or(""))?,
            last_name: check_name("last_name", last_name.as_deref().unwrap_or(""))?,
            middle_name: middle_name.as_deref().map(|m| check_name("middle_name", m)).transpose()?,
            is_service: is_service.unwrap_or(false),
            can_start: AnalysisPermissions {
                biometry: can_start_analysis_biometry.unwrap_or(defaults.biometry),
                quality: can_start_analysis_quality.unwrap_or(defaults.quality),
                collection: can_start_analysis_collection.unwrap_or(defaults.collection),
                documents: can_start_analysis_documents.unwrap_or(defaults.documents),
            },
            meta_data: meta_data.map(|m| MetaData::parse(m, "meta_data")).transpose()?.unwrap_or_default(),
        })
    }
}

/// Create a user (ADMIN; CLIENT ADMIN within its company).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = UserCreate,
    responses((status = 201, body = UserView)), security(("token" = [])))]
async fn create_user(State(s): State<AppState>, caller: Caller, OzBody(req): OzBody<UserCreate>) -> Result<Response> {
    let user = s.domain.create_user(&caller, NewUser::try_from(req)?).await?;
    Ok(created(UserView::from(user)).into_response())
}

/// One user; invisible users answer 404.
#[utoipa::path(get, path = "/api/users/{user_id}", tag = "users",
    params(("user_id" = uuid::Uuid, Path)), responses((status = 200, body = UserView)), security(("token" = [])))]
async fn get_user(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    let user = s.domain.get_user(&caller, parse_id("user_id", &id)?).await?;
    Ok(ok(UserView::from(user)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub password: Option<String>,
    /// [I] The caller's current password (GAP-12), optional: when given it is checked before
    /// anything changes (wrong: code 4, counted as a failed login for the account's
    /// throttle); only on the caller's own account (code 4 on another's).
    pub old_password: Option<String>,
    #[schema(schema_with = crate::api::openapi::user_type_request, required = false)]
    pub user_type: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub company_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub middle_name: Option<Option<String>>,
    pub is_service: Option<bool>,
    pub is_admin: Option<bool>,
    /// `false` blocks the user (its logins and tokens answer code 211), `true` unblocks it.
    pub is_active: Option<bool>,
    #[serde(flatten)]
    pub flags: PermissionFlags,
    /// Merged into the stored metadata (`null` values remove keys).
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

impl TryFrom<UserUpdate> for UserPatch {
    type Error = Error;

    fn try_from(w: UserUpdate) -> Result<Self> {
        let UserUpdate {
            email,
            password,
            old_password,
            user_type,
            company_id,
            first_name,
            last_name,
            middle_name,
            is_service,
            is_admin,
            is_active,
            flags,
            meta_data,
        } = w;
        let PermissionFlags {
            can_start_analysis_biometry,
            can_start_analysis_quality,
            can_start_analysis_collection,
            can_start_analysis_documents,
        } = flags;
        Ok(UserPatch {
            email: email.as_deref().map(Email::parse).transpose()?,
            password: password.as_deref().map(Password::parse).transpose()?,
            old_password: old_password.as_deref().map(Password::current),
            user_type: role_of(user_type.as_deref(), is_admin)?,
            company_id: company_id.as_deref().map(|c| parse_id("company_id", c)).transpose()?,
            first_name: first_name.as_deref().map(|v| check_name("first_name", v)).transpose()?,
            last_name: last_name.as_deref().map(|v| check_name("last_name", v)).transpose()?,
            middle_name: match middle_name {
                Some(Some(m)) => Some(Some(check_name("middle_name", &m)?)),
                Some(None) => Some(None),
                None => None,
            },
            is_service,
            is_active,
            can_start_biometry: can_start_analysis_biometry,
            can_start_quality: can_start_analysis_quality,
            can_start_collection: can_start_analysis_collection,
            can_start_documents: can_start_analysis_documents,
            meta_data: meta_data.map(|m| MetaData::parse(m, "meta_data")).transpose()?,
        })
    }
}

/// Change a user (partial; `password` write-only; `meta_data` merged). With `old_password`
/// [I] (GAP-12) the caller's current password is checked first: a client that changes its own
/// password this way cannot be locked out by whoever holds its token.
#[utoipa::path(patch, path = "/api/users/{user_id}", tag = "users", request_body = UserUpdate,
    params(("user_id" = uuid::Uuid, Path)), responses((status = 200, body = UserView)), security(("token" = [])))]
async fn update_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OzBody(req): OzBody<UserUpdate>,
) -> Result<Response> {
    let id = parse_id("user_id", &id)?;
    let user = s.domain.update_user(&caller, id, UserPatch::try_from(req)?).await?;
    Ok(ok(UserView::from(user)).into_response())
}

/// Delete a user (ADMIN; CLIENT ADMIN within its company; never yourself).
#[utoipa::path(delete, path = "/api/users/{user_id}", tag = "users",
    params(("user_id" = uuid::Uuid, Path)), responses((status = 204)), security(("token" = [])))]
async fn delete_user(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response> {
    s.domain.delete_user(&caller, parse_id("user_id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
