//! Companies on both backends.

use async_trait::async_trait;
use emerald_query::{FieldKind, FieldSpec, ListSpec, MetaSpec, Ops, Param};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::folders::rows_by_ids;
use super::guard::insert_events;
use super::meta::{delete_meta_index, write_meta_index};
use super::sql::{build_list, like_pattern, BeginWrite, SqlStore};
use crate::domain::model::account::Company;
use crate::domain::model::analysis::ThresholdOverrides;
use crate::domain::model::audit::AuthEvent;
use crate::domain::model::caller::Scope;
use crate::domain::model::metadata::{MetaData, ObjectKind};
use crate::domain::store::{Companies, Edit, ListParams, Page};
use crate::domain::{Error, Result};

const COLUMNS: &str = "SELECT c.company_id, c.name, c.meta_data, c.technical_meta_data, c.time_created, c.time_updated";

/// `GET /api/companies/` filters and sort keys.
pub(crate) static LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "company_id", column: "c.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "name", column: "c.name", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "c.time_created", kind: FieldKind::Time, ops: Ops::DEFAULT },
        FieldSpec { key: "time_updated", column: "c.time_updated", kind: FieldKind::Time, ops: Ops::DEFAULT },
    ],
    sort_fields: &[("name", "c.name"), ("time_created", "c.time_created"), ("time_updated", "c.time_updated")],
    default_sort: &[("name", false)],
    tiebreak_column: "c.company_id",
    meta: Some(MetaSpec { object_kind: "company", id_column: "c.company_id" }),
    ignore_keys: &["search_text"],
};

#[derive(sqlx::FromRow)]
struct CompanyRow {
    company_id: Uuid,
    name: String,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
}

impl From<CompanyRow> for Company {
    fn from(r: CompanyRow) -> Self {
        let CompanyRow { company_id, name, meta_data, technical_meta_data, time_created, time_updated } = r;
        Company {
            company_id,
            name,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
        }
    }
}

/// A company's own decision thresholds (GAP-14).
const READ_OVERRIDES: &str =
    "SELECT threshold_quality, threshold_biometry, threshold_collection, threshold_biometry_min, \
     threshold_collection_min FROM companies WHERE company_id = $1";
type OverridesRow = (Option<f64>, Option<f64>, Option<f64>, Option<f64>, Option<f64>);

fn overrides_of((quality, biometry, collection, biometry_min, collection_min): OverridesRow) -> ThresholdOverrides {
    ThresholdOverrides { quality, biometry, collection, biometry_min, collection_min }
}

#[async_trait]
impl Companies for SqlStore {
    async fn insert_company(&self, c: &Company, audit: &[AuthEvent]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO companies (company_id, name, meta_data, technical_meta_data, time_created, time_updated) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(c.company_id)
            .bind(&c.name)
            .bind(Json(c.meta_data.to_value()))
            .bind(Json(c.technical_meta_data.to_value()))
            .bind(c.time_created)
            .bind(c.time_updated)
            .execute(&mut *tx)
            .await?;
            write_meta_index(&mut tx, ObjectKind::Company, c.company_id, &c.meta_data).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn get_company(&self, id: Uuid) -> Result<Option<Company>> {
        let sql = format!("{COLUMNS} FROM companies c WHERE c.company_id = $1");
        let row: Option<CompanyRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(Company::from))
    }

    async fn companies_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Company>> {
        let sql = |list: &str| format!("{COLUMNS} FROM companies c WHERE c.company_id IN ({list})");
        Ok(rows_by_ids::<CompanyRow>(&self.db, sql, ids).await?.into_iter().map(Company::from).collect())
    }

    async fn list_companies(
        &self,
        scope: Scope,
        search_text: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<Company>> {
        let mut base = Vec::new();
        if let Scope::Company(c) = scope {
            base.push(("c.company_id = ?", Param::Uuid(c)));
        }
        if let Some(text) = search_text.map(str::trim).filter(|t| !t.is_empty()) {
            base.push(("lower(c.name) LIKE ? ESCAPE '\\'", Param::Text(like_pattern(text))));
        }
        let l = build_list(self.dialect(), &LIST, params, COLUMNS, "FROM companies c", base)?;
        Ok(fetch_page!(&self.db, l, CompanyRow, |r| Ok(Company::from(r))))
    }

    async fn update_company(&self, was: &Company, edited: Company, audit: &[AuthEvent]) -> Result<Option<Company>> {
        let read = format!("{COLUMNS} FROM companies c WHERE c.company_id = $1{}", self.row_lock());
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let current: Option<CompanyRow> =
                sqlx::query_as(&read).bind(was.company_id).fetch_optional(&mut *tx).await?;
            let Some(current) = current else { return Ok(None) };
            let c = edited.rebase(was, Company::from(current));
            sqlx::query("UPDATE companies SET name = $1, meta_data = $2, time_updated = $3 WHERE company_id = $4")
                .bind(&c.name)
                .bind(Json(c.meta_data.to_value()))
                .bind(c.time_updated)
                .bind(c.company_id)
                .execute(&mut *tx)
                .await?;
            write_meta_index(&mut tx, ObjectKind::Company, c.company_id, &c.meta_data).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(c))
        })
    }

    async fn delete_company(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("DELETE FROM companies WHERE company_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    super::sql::on_foreign_key(e, || {
                        Error::invalid_value(
                            "Company still has users or collections",
                            serde_json::json!({ "key_path": "company_id" }),
                        )
                    })
                })?
                .rows_affected();
            delete_meta_index(&mut tx, id).await?;
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    async fn count_company_users(&self, id: Uuid) -> Result<u64> {
        let n: i64 = on_db!(&self.db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE company_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await)?;
        Ok(n as u64)
    }

    async fn company_threshold_overrides(&self, id: Uuid) -> Result<Option<ThresholdOverrides>> {
        let row: Option<OverridesRow> =
            on_db!(&self.db, |pool| sqlx::query_as(READ_OVERRIDES).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(overrides_of))
    }

    async fn update_company_threshold_overrides(
        &self,
        id: Uuid,
        time_updated: f64,
        edit: Edit<'_, ThresholdOverrides>,
    ) -> Result<Option<(ThresholdOverrides, Vec<AuthEvent>)>> {
        let read = format!("{READ_OVERRIDES}{}", self.row_lock());
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<OverridesRow> = sqlx::query_as(&read).bind(id).fetch_optional(&mut *tx).await?;
            let Some(row) = row else { return Ok(None) };
            let (after, events) = edit(overrides_of(row))?;
            let ThresholdOverrides { quality, biometry, collection, biometry_min, collection_min } = after;
            sqlx::query(
                "UPDATE companies SET threshold_quality = $1, threshold_biometry = $2, threshold_collection = $3, \
                 threshold_biometry_min = $4, threshold_collection_min = $5, time_updated = $6 WHERE company_id = $7",
            )
            .bind(quality)
            .bind(biometry)
            .bind(collection)
            .bind(biometry_min)
            .bind(collection_min)
            .bind(time_updated)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            insert_events(&mut tx, &events).await?;
            tx.commit().await?;
            Ok(Some((after, events)))
        })
    }
}
