//! Metadata writes and the `meta_index` search table (one row per scalar leaf), kept in the
//! same transaction as the object's `meta_data` column.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::guard::insert_events;
use super::sql::{BeginWrite, SqlStore};
use crate::domain::model::audit::AuthEvent;
use crate::domain::model::metadata::{MetaData, ObjectKind};
use crate::domain::store::{Edit, Metadata};
use crate::domain::Result;

/// Rows per multi-row INSERT (5 parameters each; well under both backends' limits).
const INDEX_ROWS_PER_INSERT: usize = 500;

/// The table and id column of each kind of object. Names come from this fixed match, never
/// from input, so formatting them into SQL is safe.
fn table_of(kind: ObjectKind) -> (&'static str, &'static str) {
    match kind {
        ObjectKind::Company => ("companies", "company_id"),
        ObjectKind::User => ("users", "user_id"),
        ObjectKind::Folder => ("folders", "folder_id"),
        ObjectKind::Media => ("media", "media_id"),
        ObjectKind::Analysis => ("analyses", "analyse_id"),
        ObjectKind::Collection => ("collections", "collection_id"),
        ObjectKind::Person => ("persons", "person_id"),
    }
}

tx_fn! {
    /// Replace the index rows of one object with the leaves of `meta`.
    pub(crate) async fn write_meta_index(tx, kind: ObjectKind, id: Uuid, meta: &MetaData) -> Result<()> {
        sqlx::query("DELETE FROM meta_index WHERE object_id = $1").bind(id).execute(&mut **tx).await?;
        let entries = emerald_query::flatten_meta(&meta.to_value());
        for chunk in entries.chunks(INDEX_ROWS_PER_INSERT) {
            let mut sql = String::from("INSERT INTO meta_index (object_kind, object_id, path, value_text, value_num) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 5;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5));
            }
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q.bind(kind.as_str()).bind(id).bind(e.path.clone()).bind(e.text.clone()).bind(e.num);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

tx_fn! {
    /// Forget the index rows of a deleted object.
    pub(crate) async fn delete_meta_index(tx, id: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM meta_index WHERE object_id = $1").bind(id).execute(&mut **tx).await?;
        Ok(())
    }
}

#[async_trait]
impl Metadata for SqlStore {
    async fn update_meta(
        &self,
        kind: ObjectKind,
        id: Uuid,
        time_updated: f64,
        edit: Edit<'_, MetaData>,
    ) -> Result<Option<(MetaData, Vec<AuthEvent>)>> {
        let (table, id_col) = table_of(kind);
        let read = format!("SELECT meta_data FROM {table} WHERE {id_col} = $1{}", self.row_lock());
        let write = format!("UPDATE {table} SET meta_data = $1, time_updated = $2 WHERE {id_col} = $3");
        // Something in a folder: its folder first (`folder_lock`), as every folder transaction.
        let folder_lock = match kind {
            ObjectKind::Media | ObjectKind::Analysis => {
                self.folder_lock(Some(&format!("SELECT folder_id FROM {table} WHERE {id_col} = $1")))
            }
            _ => None,
        };
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(lock) = &folder_lock {
                sqlx::query(lock).bind(id).execute(&mut *tx).await?;
            }
            let current: Option<Json<serde_json::Value>> =
                sqlx::query_scalar(&read).bind(id).fetch_optional(&mut *tx).await?;
            let Some(Json(current)) = current else { return Ok(None) };
            let (next, events) = edit(MetaData::from_stored(current))?;
            sqlx::query(&write).bind(Json(next.to_value())).bind(time_updated).bind(id).execute(&mut *tx).await?;
            write_meta_index(&mut tx, kind, id, &next).await?;
            insert_events(&mut tx, &events).await?;
            tx.commit().await?;
            Ok(Some((next, events)))
        })
    }
}
