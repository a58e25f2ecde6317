//! Users on both backends.

use async_trait::async_trait;
use emerald_query::{FieldKind, FieldSpec, ListSpec, MetaSpec, Ops, Param};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::folders::rows_by_ids;
use super::guard::insert_events;
use super::meta::{delete_meta_index, write_meta_index};
use super::sql::{build_list, like_pattern, on_unique, BeginWrite, SqlStore};
use crate::domain::model::account::{AnalysisPermissions, User};
use crate::domain::model::audit::AuthEvent;
use crate::domain::model::caller::Scope;
use crate::domain::model::metadata::{MetaData, ObjectKind};
use crate::domain::model::role::UserType;
use crate::domain::store::{ListParams, Page, Users};
use crate::domain::{Error, Result};

const COLUMNS: &str =
    "SELECT u.user_id, u.company_id, u.email, u.user_type, u.first_name, u.last_name, u.middle_name, \
    u.is_service, u.is_active, u.can_start_biometry, u.can_start_quality, u.can_start_collection, u.can_start_documents, \
    u.meta_data, u.technical_meta_data, u.time_created, u.time_updated";

const USER_TYPES: &[&str] = &["ADMIN", "OPERATOR", "CLIENT", "CLIENT ADMIN", "CLIENT OPERATOR", "CLIENT SERVICE"];

/// `GET /api/users/` filters and sort keys.
pub(crate) static LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "user_id", column: "u.user_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "company_id", column: "u.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "user_type", column: "u.user_type", kind: FieldKind::Enum(USER_TYPES), ops: Ops::DEFAULT },
        FieldSpec { key: "email", column: "u.email_lower", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "is_service", column: "u.is_service", kind: FieldKind::Bool, ops: Ops::DEFAULT },
        FieldSpec { key: "is_active", column: "u.is_active", kind: FieldKind::Bool, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "u.time_created", kind: FieldKind::Time, ops: Ops::DEFAULT },
        FieldSpec { key: "time_updated", column: "u.time_updated", kind: FieldKind::Time, ops: Ops::DEFAULT },
    ],
    sort_fields: &[
        ("email", "u.email_lower"),
        ("last_name", "u.last_name"),
        ("time_created", "u.time_created"),
        ("time_updated", "u.time_updated"),
    ],
    default_sort: &[("time_created", false)],
    tiebreak_column: "u.user_id",
    meta: Some(MetaSpec { object_kind: "user", id_column: "u.user_id" }),
    ignore_keys: &["search_text"],
};

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: Uuid,
    company_id: Option<Uuid>,
    email: String,
    user_type: String,
    first_name: String,
    last_name: String,
    middle_name: Option<String>,
    is_service: bool,
    is_active: bool,
    can_start_biometry: bool,
    can_start_quality: bool,
    can_start_collection: bool,
    can_start_documents: bool,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(r: UserRow) -> Result<Self> {
        let UserRow {
            user_id,
            company_id,
            email,
            user_type,
            first_name,
            last_name,
            middle_name,
            is_service,
            is_active,
            can_start_biometry,
            can_start_quality,
            can_start_collection,
            can_start_documents,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = r;
        let user_type: UserType = user_type
            .parse()
            .map_err(|_| Error::internal(anyhow::anyhow!("stored user_type {user_type:?} is not a role")))?;
        Ok(User {
            user_id,
            company_id,
            email,
            user_type,
            first_name,
            last_name,
            middle_name,
            is_service,
            is_active,
            can_start: AnalysisPermissions {
                biometry: can_start_biometry,
                quality: can_start_quality,
                collection: can_start_collection,
                documents: can_start_documents,
            },
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
        })
    }
}

fn email_taken(email: &str) -> Error {
    Error::invalid_value(format!("User with email {email} already exists"), serde_json::json!({ "key_path": "email" }))
}

#[async_trait]
impl Users for SqlStore {
    async fn insert_user(&self, u: &User, password_hash: &str, audit: &[AuthEvent]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO users (user_id, company_id, email, email_lower, password_hash, user_type, first_name, last_name, \
                 middle_name, is_service, can_start_biometry, can_start_quality, can_start_collection, can_start_documents, \
                 meta_data, technical_meta_data, time_created, time_updated, is_active) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
            )
            .bind(u.user_id)
            .bind(u.company_id)
            .bind(&u.email)
            .bind(u.email.to_lowercase())
            .bind(password_hash)
            .bind(u.user_type.as_str())
            .bind(&u.first_name)
            .bind(&u.last_name)
            .bind(&u.middle_name)
            .bind(u.is_service)
            .bind(u.can_start.biometry)
            .bind(u.can_start.quality)
            .bind(u.can_start.collection)
            .bind(u.can_start.documents)
            .bind(Json(u.meta_data.to_value()))
            .bind(Json(u.technical_meta_data.to_value()))
            .bind(u.time_created)
            .bind(u.time_updated)
            .bind(u.is_active)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || email_taken(&u.email)))?;
            write_meta_index(&mut tx, ObjectKind::User, u.user_id, &u.meta_data).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<User>> {
        let sql = format!("{COLUMNS} FROM users u WHERE u.user_id = $1");
        let row: Option<UserRow> = on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(User::try_from).transpose()
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> Result<Vec<User>> {
        let sql = |list: &str| format!("{COLUMNS} FROM users u WHERE u.user_id IN ({list})");
        rows_by_ids::<UserRow>(&self.db, sql, ids).await?.into_iter().map(User::try_from).collect()
    }

    async fn get_login(&self, email: &str) -> Result<Option<(User, String)>> {
        #[derive(sqlx::FromRow)]
        struct LoginRow {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let sql = format!("{COLUMNS}, u.password_hash FROM users u WHERE u.email_lower = $1");
        let row: Option<LoginRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(email.to_lowercase()).fetch_optional(pool).await)?;
        match row {
            Some(r) => Ok(Some((User::try_from(r.user)?, r.password_hash))),
            None => Ok(None),
        }
    }

    async fn list_users(
        &self,
        scope: Scope,
        only_user: Option<Uuid>,
        search_text: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<User>> {
        let mut base = Vec::new();
        if let Scope::Company(c) = scope {
            base.push(("u.company_id = ?", Param::Uuid(c)));
        }
        if let Some(u) = only_user {
            base.push(("u.user_id = ?", Param::Uuid(u)));
        }
        if let Some(text) = search_text.map(str::trim).filter(|t| !t.is_empty()) {
            base.push((
                "lower(u.email) LIKE ? ESCAPE '\\' OR lower(u.first_name || ' ' || u.last_name) LIKE ? ESCAPE '\\'",
                Param::Text(like_pattern(text)),
            ));
        }
        let l = build_list(self.dialect(), &LIST, params, COLUMNS, "FROM users u", base)?;
        Ok(fetch_page!(&self.db, l, UserRow, User::try_from))
    }

    async fn update_user(
        &self,
        was: &User,
        edited: User,
        password_hash: Option<&str>,
        audit: &[AuthEvent],
    ) -> Result<Option<User>> {
        let read = format!("{COLUMNS} FROM users u WHERE u.user_id = $1{}", self.row_lock());
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let current: Option<UserRow> = sqlx::query_as(&read).bind(was.user_id).fetch_optional(&mut *tx).await?;
            let Some(current) = current else { return Ok(None) };
            let u = &edited.rebase(was, User::try_from(current)?);
            sqlx::query(
                "UPDATE users SET company_id = $1, email = $2, email_lower = $3, user_type = $4, first_name = $5, \
                 last_name = $6, middle_name = $7, is_service = $8, can_start_biometry = $9, can_start_quality = $10, \
                 can_start_collection = $11, can_start_documents = $12, meta_data = $13, time_updated = $14, \
                 password_hash = COALESCE($15, password_hash), is_active = $17 WHERE user_id = $16",
            )
            .bind(u.company_id)
            .bind(&u.email)
            .bind(u.email.to_lowercase())
            .bind(u.user_type.as_str())
            .bind(&u.first_name)
            .bind(&u.last_name)
            .bind(&u.middle_name)
            .bind(u.is_service)
            .bind(u.can_start.biometry)
            .bind(u.can_start.quality)
            .bind(u.can_start.collection)
            .bind(u.can_start.documents)
            .bind(Json(u.meta_data.to_value()))
            .bind(u.time_updated)
            .bind(password_hash)
            .bind(u.user_id)
            .bind(u.is_active)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || email_taken(&u.email)))?;
            write_meta_index(&mut tx, ObjectKind::User, u.user_id, &u.meta_data).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(u.clone()))
        })
    }

    async fn delete_user(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n =
                sqlx::query("DELETE FROM users WHERE user_id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            delete_meta_index(&mut tx, id).await?;
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    async fn count_users(&self) -> Result<u64> {
        let n: i64 = on_db!(&self.db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)?;
        Ok(n as u64)
    }
}
