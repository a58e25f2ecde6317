//! Sessions (token pairs, stored as hashes) on both backends.

use async_trait::async_trait;
use uuid::Uuid;

use super::sql::{BeginWrite, SqlStore};
use crate::domain::model::account::{Session, SessionUser};
use crate::domain::model::role::UserType;
use crate::domain::store::Sessions;
use crate::domain::{Error, Result};

#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: Uuid,
    user_id: Uuid,
    access_hash: String,
    expire_hash: String,
    expires_at: f64,
    parent_session_id: Option<Uuid>,
    time_created: f64,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        let SessionRow { session_id, user_id, access_hash, expire_hash, expires_at, parent_session_id, time_created } =
            r;
        Session { session_id, user_id, access_hash, expire_hash, expires_at, parent_session_id, time_created }
    }
}

#[derive(sqlx::FromRow)]
struct SessionUserRow {
    #[sqlx(flatten)]
    session: SessionRow,
    user_type: String,
    company_id: Option<Uuid>,
    is_service: bool,
    is_active: bool,
}

const SESSION_COLUMNS: &str =
    "s.session_id, s.user_id, s.access_hash, s.expire_hash, s.expires_at, s.parent_session_id, s.time_created";

#[async_trait]
impl Sessions for SqlStore {
    async fn insert_session(&self, s: &Session) -> Result<()> {
        on_db!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO sessions (session_id, user_id, access_hash, expire_hash, expires_at, parent_session_id, time_created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(s.session_id)
        .bind(s.user_id)
        .bind(&s.access_hash)
        .bind(&s.expire_hash)
        .bind(s.expires_at)
        .bind(s.parent_session_id)
        .bind(s.time_created)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    async fn session_by_access(&self, access_hash: &str) -> Result<Option<SessionUser>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, u.user_type, u.company_id, u.is_service, u.is_active \
             FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.access_hash = $1"
        );
        let row: Option<SessionUserRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(access_hash).fetch_optional(pool).await)?;
        let Some(row) = row else { return Ok(None) };
        let user_type: UserType = row
            .user_type
            .parse()
            .map_err(|_| Error::internal(anyhow::anyhow!("stored user_type {:?} is not a role", row.user_type)))?;
        Ok(Some(SessionUser {
            session: row.session.into(),
            user_type,
            company_id: row.company_id,
            is_service_account: row.is_service || user_type == UserType::ClientService,
            is_active: row.is_active,
        }))
    }

    async fn session_by_expire(&self, expire_hash: &str) -> Result<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.expire_hash = $1");
        let row: Option<SessionRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(expire_hash).fetch_optional(pool).await)?;
        Ok(row.map(Session::from))
    }

    async fn extend_session(&self, id: Uuid, expires_at: f64) -> Result<()> {
        // Never shorten: two concurrent requests may race to extend.
        on_db!(&self.db, |pool| sqlx::query(
            "UPDATE sessions SET expires_at = $1 WHERE session_id = $2 AND expires_at < $1"
        )
        .bind(expires_at)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn retire_parent(&self, id: Uuid, parent: Uuid) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM sessions WHERE session_id = $1").bind(parent).execute(&mut *tx).await?;
            sqlx::query("UPDATE sessions SET parent_session_id = NULL WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn delete_expired_sessions(&self, before: f64) -> Result<u64> {
        let r = on_db!(&self.db, |pool| sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(r)
    }

    async fn delete_session(&self, id: Uuid) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM sessions WHERE session_id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
