//! Domain → wire views (one `From` each, every field destructured so a new domain field
//! breaks the build here instead of silently missing on the wire).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::auth::TokenPair;
use crate::domain::model::{AnalysisPermissions, Company, User};

/// Company (spec §4.2).
#[derive(Serialize, ToSchema)]
pub struct CompanyView {
    pub company_id: Uuid,
    pub name: String,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

impl From<Company> for CompanyView {
    fn from(c: Company) -> Self {
        let Company { company_id, name, meta_data, technical_meta_data, time_created: _, time_updated: _ } = c;
        CompanyView { company_id, name, meta_data: meta_data.into_value(), technical_meta_data: technical_meta_data.into_value() }
    }
}

/// User (spec §4.3): the 6.0 permission flags and their pre-6.0 spellings, `is_admin` for
/// clients that predate the CLIENT ADMIN role. The password is never rendered.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub user_id: Uuid,
    pub user_type: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub company_id: Option<Uuid>,
    pub is_admin: bool,
    pub is_service: bool,
    pub can_start_analysis_biometry: bool,
    pub can_start_analysis_quality: bool,
    pub can_start_analysis_collection: bool,
    pub can_start_analysis_documents: bool,
    pub can_start_analyse_biometry: bool,
    pub can_start_analyse_quality: bool,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        let is_service = u.is_service_account();
        let User {
            user_id,
            company_id,
            email,
            user_type,
            first_name,
            last_name,
            middle_name,
            is_service: _,
            can_start,
            meta_data,
            technical_meta_data,
            time_created: _,
            time_updated: _,
        } = u;
        let AnalysisPermissions { biometry, quality, collection, documents } = can_start;
        UserView {
            user_id,
            user_type: user_type.as_str().to_owned(),
            email,
            first_name,
            last_name,
            middle_name,
            company_id,
            is_admin: matches!(user_type, crate::domain::role::UserType::Admin | crate::domain::role::UserType::ClientAdmin),
            is_service,
            can_start_analysis_biometry: biometry,
            can_start_analysis_quality: quality,
            can_start_analysis_collection: collection,
            can_start_analysis_documents: documents,
            can_start_analyse_biometry: biometry,
            can_start_analyse_quality: quality,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
        }
    }
}

/// Login and refresh answer. `access_token` is the 4th key on purpose: an Oz bootstrap script
/// reads it as the 8th whitespace-separated field of the one-line response (spec §2.1).
#[derive(Serialize, ToSchema)]
pub struct AuthView {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub expire_date: f64,
    pub access_token: String,
    pub expire_token: String,
    pub user: UserView,
}

impl From<TokenPair> for AuthView {
    fn from(p: TokenPair) -> Self {
        let TokenPair { user, session_id, access_token, expire_token, expire_date } = p;
        AuthView { user_id: user.user_id, session_id, expire_date, access_token, expire_token, user: user.into() }
    }
}
