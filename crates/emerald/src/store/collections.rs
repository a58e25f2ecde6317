//! Collections, persons, person images with their templates, COLLECTION matches and the
//! gallery generation, on both backends (spec §12).
//!
//! A template is stored as its model id and the vector's f32 values, little-endian, in a
//! BLOB (SQLite) / BYTEA (PostgreSQL). Every transaction that adds or removes templates bumps
//! `gallery_state.generation` and returns the new value: the row lock (PostgreSQL) or the
//! single writer (SQLite) makes generations commit in order.

use async_trait::async_trait;
use emerald_query::{FieldKind, FieldSpec, ListSpec, MetaSpec, Ops, Param};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::folders::{id_list, rows_by_ids, IDS_PER_QUERY};
use super::guard::insert_events;
use super::meta::{delete_meta_index, write_meta_index};
use super::sql::{build_list, like_pattern, on_foreign_key, on_unique, BeginWrite, Db, SqlStore};
use crate::domain::collections::service::has_related_analyses;
use crate::domain::model::audit::AuthEvent;
use crate::domain::model::caller::Scope;
use crate::domain::model::collection::{
    Collection, CollectionMatchRecord, EnrolledImage, GalleryFeed, GalleryFeedItem, GalleryFeedKind, Person,
    PersonImage, StoredTemplate,
};
use crate::domain::model::face::Template;
use crate::domain::model::metadata::{MetaData, ObjectKind};
use crate::domain::store::{Collections, ListParams, Page, TemplateSink};
use crate::domain::{Error, Result};

const COLLECTION_COLUMNS: &str =
    "SELECT c.collection_id, c.company_id, c.alias, c.meta_data, c.technical_meta_data, c.time_created, c.time_updated";

const PERSON_COLUMNS: &str = "SELECT p.person_id, p.collection_id, p.company_id, p.meta_data, p.technical_meta_data, p.time_created, p.time_updated";

const IMAGE_COLUMNS: &str = "SELECT i.person_image_id, i.media_id, i.person_id, i.collection_id, i.company_id, i.original_name, i.extension, \
    i.has_thumb, i.size_bytes, i.sha256, i.tags, i.meta_data, i.technical_meta_data, i.model_id, i.time_created, i.time_updated";

const TEMPLATE_COLUMNS: &str = "SELECT i.person_image_id, i.person_id, i.collection_id, i.model_id, i.template";

const BUMP_GENERATION: &str = "UPDATE gallery_state SET generation = generation + 1 WHERE id = 1 RETURNING generation";
const READ_GENERATION: &str = "SELECT generation FROM gallery_state WHERE id = 1";

/// Templates per page while the gallery loads.
const TEMPLATES_PER_PAGE: i64 = 5000;

/// `GET /api/collections/`.
pub(crate) static COLLECTION_LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "collection_id", column: "c.collection_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "alias", column: "c.alias", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "company_id", column: "c.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "c.time_created", kind: FieldKind::Time, ops: Ops::ALL },
        FieldSpec { key: "time_updated", column: "c.time_updated", kind: FieldKind::Time, ops: Ops::ALL },
    ],
    sort_fields: &[("alias", "c.alias"), ("time_created", "c.time_created"), ("time_updated", "c.time_updated")],
    default_sort: &[("time_created", false)],
    tiebreak_column: "c.collection_id",
    meta: Some(MetaSpec { object_kind: "collection", id_column: "c.collection_id" }),
    ignore_keys: &[],
};

/// `GET /api/collections/{id}/persons/`.
pub(crate) static PERSON_LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "person_id", column: "p.person_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "p.time_created", kind: FieldKind::Time, ops: Ops::ALL },
        FieldSpec { key: "time_updated", column: "p.time_updated", kind: FieldKind::Time, ops: Ops::ALL },
    ],
    sort_fields: &[("time_created", "p.time_created"), ("time_updated", "p.time_updated")],
    default_sort: &[("time_created", false)],
    tiebreak_column: "p.person_id",
    meta: Some(MetaSpec { object_kind: "person", id_column: "p.person_id" }),
    ignore_keys: &["search_text"],
};

fn template_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn template_vector(bytes: &[u8]) -> Result<Vec<f32>> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return Err(Error::internal(anyhow::anyhow!("stored template of {} bytes", bytes.len())));
    }
    Ok(chunks.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

#[derive(sqlx::FromRow)]
struct CollectionRow {
    collection_id: Uuid,
    company_id: Uuid,
    alias: String,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
}

impl From<CollectionRow> for Collection {
    fn from(r: CollectionRow) -> Self {
        let CollectionRow {
            collection_id,
            company_id,
            alias,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = r;
        Collection {
            collection_id,
            company_id,
            alias,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    person_id: Uuid,
    collection_id: Uuid,
    company_id: Uuid,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Self {
        let PersonRow {
            person_id,
            collection_id,
            company_id,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = r;
        Person {
            person_id,
            collection_id,
            company_id,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ImageRow {
    person_image_id: Uuid,
    media_id: Uuid,
    person_id: Uuid,
    collection_id: Uuid,
    company_id: Uuid,
    original_name: String,
    extension: String,
    has_thumb: bool,
    size_bytes: i64,
    sha256: String,
    tags: Json<Value>,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    model_id: String,
    time_created: f64,
    time_updated: f64,
}

impl From<ImageRow> for PersonImage {
    fn from(r: ImageRow) -> Self {
        let ImageRow {
            person_image_id,
            media_id,
            person_id,
            collection_id,
            company_id,
            original_name,
            extension,
            has_thumb,
            size_bytes,
            sha256,
            tags,
            meta_data,
            technical_meta_data,
            model_id,
            time_created,
            time_updated,
        } = r;
        let tags = match tags.0 {
            Value::Array(items) => items.into_iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        };
        PersonImage {
            person_image_id,
            media_id,
            person_id,
            collection_id,
            company_id,
            original_name,
            extension,
            has_thumb,
            size_bytes,
            sha256,
            tags,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            model_id,
            time_created,
            time_updated,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    person_image_id: Uuid,
    person_id: Uuid,
    collection_id: Uuid,
    model_id: String,
    template: Vec<u8>,
}

impl TryFrom<TemplateRow> for StoredTemplate {
    type Error = Error;

    fn try_from(r: TemplateRow) -> Result<Self> {
        let TemplateRow { person_image_id, person_id, collection_id, model_id, template } = r;
        Ok(StoredTemplate {
            person_image_id,
            person_id,
            collection_id,
            template: Template { model_id, vector: template_vector(&template)? },
        })
    }
}

tx_fn! {
    /// Record in the gallery change feed what `generation` changed: `kind` on each of `ids`
    /// (a generation without ids gets a `none` row, so that the feed has no holes).
    async fn record_gallery_changes(tx, generation: i64, kind: &str, ids: &[Uuid]) -> Result<()> {
        let nil = [Uuid::nil()];
        let (kind, ids) = if ids.is_empty() { ("none", &nil[..]) } else { (kind, ids) };
        for id in ids {
            sqlx::query("INSERT INTO gallery_changes (generation, kind, ref_id) VALUES ($1, $2, $3)")
                .bind(generation)
                .bind(kind)
                .bind(*id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

tx_fn! {
    /// Insert photo rows inside `tx`, in order.
    async fn insert_image_rows(tx, images: &[EnrolledImage]) -> Result<()> {
        for (i, e) in images.iter().enumerate() {
            let m = &e.image;
            sqlx::query(
                "INSERT INTO person_images (person_image_id, media_id, person_id, collection_id, company_id, original_name, extension, \
                 has_thumb, size_bytes, sha256, upload_index, tags, meta_data, technical_meta_data, model_id, template, time_created, time_updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(m.person_image_id)
            .bind(m.media_id)
            .bind(m.person_id)
            .bind(m.collection_id)
            .bind(m.company_id)
            .bind(m.original_name.clone())
            .bind(m.extension.clone())
            .bind(m.has_thumb)
            .bind(m.size_bytes)
            .bind(m.sha256.clone())
            .bind(i as i32)
            .bind(Json(Value::from(m.tags.clone())))
            .bind(Json(m.meta_data.to_value()))
            .bind(Json(m.technical_meta_data.to_value()))
            .bind(e.template.model_id.clone())
            .bind(template_bytes(&e.template.vector))
            .bind(m.time_created)
            .bind(m.time_updated)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

fn alias_taken() -> Error {
    Error::invalid_value(
        "This company already has a collection with this alias",
        serde_json::json!({ "key_path": "alias" }),
    )
}

#[async_trait]
impl Collections for SqlStore {
    async fn insert_collection(&self, c: &Collection, audit: &[AuthEvent]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO collections (collection_id, company_id, alias, meta_data, technical_meta_data, time_created, time_updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(c.collection_id)
            .bind(c.company_id)
            .bind(&c.alias)
            .bind(Json(c.meta_data.to_value()))
            .bind(Json(c.technical_meta_data.to_value()))
            .bind(c.time_created)
            .bind(c.time_updated)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if e.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) {
                    Error::not_exist("Company")
                } else {
                    on_unique(e, alias_taken)
                }
            })?;
            write_meta_index(&mut tx, ObjectKind::Collection, c.collection_id, &c.meta_data).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn get_collection(&self, id: Uuid) -> Result<Option<Collection>> {
        let sql = format!("{COLLECTION_COLUMNS} FROM collections c WHERE c.collection_id = $1");
        let row: Option<CollectionRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(Collection::from))
    }

    async fn list_collections(&self, scope: Scope, params: &ListParams) -> Result<Page<Collection>> {
        let mut base = Vec::new();
        if let Scope::Company(c) = scope {
            base.push(("c.company_id = ?", Param::Uuid(c)));
        }
        let l = build_list(self.dialect(), &COLLECTION_LIST, params, COLLECTION_COLUMNS, "FROM collections c", base)?;
        Ok(self.fetch_page::<CollectionRow>(&l).await?.map(Collection::from))
    }

    async fn rename_collection(&self, c: &Collection, audit: &[AuthEvent]) -> Result<bool> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("UPDATE collections SET alias = $1, time_updated = $2 WHERE collection_id = $3")
                .bind(&c.alias)
                .bind(c.time_updated)
                .bind(c.collection_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_unique(e, alias_taken))?
                .rows_affected();
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    async fn delete_collection(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("DELETE FROM collections WHERE collection_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    on_foreign_key(e, || {
                        Error::invalid_value(
                            "Collection is not empty; delete its persons first",
                            serde_json::json!({ "key_path": "collection_id" }),
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

    async fn persons_per_collection(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, u64)>> {
        let rows: Vec<(Uuid, i64)> = rows_by_ids(
            &self.db,
            |ids| {
                format!(
                    "SELECT collection_id, COUNT(*) FROM persons WHERE collection_id IN ({ids}) GROUP BY collection_id"
                )
            },
            ids,
        )
        .await?;
        Ok(rows.into_iter().map(|(id, n)| (id, n.max(0) as u64)).collect())
    }

    async fn count_collection_persons(&self, id: Uuid) -> Result<u64> {
        let n: i64 =
            on_db!(&self.db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM persons WHERE collection_id = $1")
                .bind(id)
                .fetch_one(pool)
                .await)?;
        Ok(n as u64)
    }

    async fn collection_aliases(&self, company: Option<Uuid>) -> Result<Vec<(Uuid, String)>> {
        let rows: Vec<(Uuid, String)> = on_db!(&self.db, |pool| match company {
            Some(c) =>
                sqlx::query_as("SELECT collection_id, alias FROM collections WHERE company_id = $1")
                    .bind(c)
                    .fetch_all(pool)
                    .await,
            None => sqlx::query_as("SELECT collection_id, alias FROM collections").fetch_all(pool).await,
        })?;
        Ok(rows)
    }

    async fn insert_persons(&self, persons: &[(Person, Vec<EnrolledImage>)], audit: &[AuthEvent]) -> Result<i64> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for (p, images) in persons {
                sqlx::query(
                    "INSERT INTO persons (person_id, collection_id, company_id, meta_data, technical_meta_data, time_created, time_updated) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(p.person_id)
                .bind(p.collection_id)
                .bind(p.company_id)
                .bind(Json(p.meta_data.to_value()))
                .bind(Json(p.technical_meta_data.to_value()))
                .bind(p.time_created)
                .bind(p.time_updated)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_foreign_key(e, || Error::not_exist("Collection")))?;
                write_meta_index(&mut tx, ObjectKind::Person, p.person_id, &p.meta_data).await?;
                insert_image_rows(&mut tx, images).await?;
            }
            let generation: i64 = sqlx::query_scalar(BUMP_GENERATION).fetch_one(&mut *tx).await?;
            let ids: Vec<Uuid> =
                persons.iter().flat_map(|(_, images)| images.iter().map(|e| e.image.person_image_id)).collect();
            record_gallery_changes(&mut tx, generation, "insert", &ids).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(generation)
        })
    }

    async fn insert_person_images(
        &self,
        person_id: Uuid,
        images: &[EnrolledImage],
        time_updated: f64,
        audit: &[AuthEvent],
    ) -> Result<Option<i64>> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("UPDATE persons SET time_updated = $1 WHERE person_id = $2")
                .bind(time_updated)
                .bind(person_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(None);
            }
            insert_image_rows(&mut tx, images).await?;
            let generation: i64 = sqlx::query_scalar(BUMP_GENERATION).fetch_one(&mut *tx).await?;
            let ids: Vec<Uuid> = images.iter().map(|e| e.image.person_image_id).collect();
            record_gallery_changes(&mut tx, generation, "insert", &ids).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(generation))
        })
    }

    async fn get_person(&self, id: Uuid) -> Result<Option<Person>> {
        let sql = format!("{PERSON_COLUMNS} FROM persons p WHERE p.person_id = $1");
        let row: Option<PersonRow> = on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(Person::from))
    }

    async fn list_persons(&self, collection_id: Uuid, params: &ListParams) -> Result<Page<Person>> {
        let mut base = vec![("p.collection_id = ?", Param::Uuid(collection_id))];
        // `search_text` (GAP-9): any metadata text value of the person (names in
        // `person_info`, ids …) containing it, case-insensitively.
        if let Some(text) = params.get("search_text").map(str::trim).filter(|t| !t.is_empty()) {
            base.push((
                "EXISTS (SELECT 1 FROM meta_index mi WHERE mi.object_id = p.person_id AND mi.object_kind = 'person' \
                 AND lower(mi.value_text) LIKE ? ESCAPE '\\')",
                Param::Text(like_pattern(text)),
            ));
        }
        let l = build_list(self.dialect(), &PERSON_LIST, params, PERSON_COLUMNS, "FROM persons p", base)?;
        Ok(self.fetch_page::<PersonRow>(&l).await?.map(Person::from))
    }

    async fn images_of(&self, person_ids: &[Uuid]) -> Result<Vec<PersonImage>> {
        let rows: Vec<ImageRow> = rows_by_ids(&self.db,
                |ids| format!("{IMAGE_COLUMNS} FROM person_images i WHERE i.person_id IN ({ids}) ORDER BY i.time_created, i.upload_index, i.person_image_id"),
                person_ids,
            )
            .await?;
        Ok(rows.into_iter().map(PersonImage::from).collect())
    }

    async fn find_person_image(&self, person_id: Uuid, id: Uuid) -> Result<Option<PersonImage>> {
        let sql = format!("{IMAGE_COLUMNS} FROM person_images i WHERE i.person_id = $1 AND (i.person_image_id = $2 OR i.media_id = $3)");
        let row: Option<ImageRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(person_id).bind(id).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(PersonImage::from))
    }

    async fn person_image_by_media(&self, media_id: Uuid) -> Result<Option<PersonImage>> {
        let sql = format!("{IMAGE_COLUMNS} FROM person_images i WHERE i.media_id = $1");
        let row: Option<ImageRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(media_id).fetch_optional(pool).await)?;
        Ok(row.map(PersonImage::from))
    }

    async fn delete_person(&self, id: Uuid, audit: &[AuthEvent]) -> Result<Option<(Vec<PersonImage>, i64)>> {
        let images = self.images_of(&[id]).await?;
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // Its photos go with it (ON DELETE CASCADE); a match row stops both (foreign keys).
            // The person's row before its index rows: the order a meta_data edit takes them in
            // (on PostgreSQL the reverse order deadlocked with one, met by bench/race.py).
            let n = sqlx::query("DELETE FROM persons WHERE person_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_foreign_key(e, || has_related_analyses("Person", &[])))?
                .rows_affected();
            if n == 0 {
                return Ok(None);
            }
            delete_meta_index(&mut tx, id).await?;
            let generation: i64 = sqlx::query_scalar(BUMP_GENERATION).fetch_one(&mut *tx).await?;
            record_gallery_changes(&mut tx, generation, "remove_person", &[id]).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some((images, generation)))
        })
    }

    async fn delete_person_image(&self, person_image_id: Uuid, audit: &[AuthEvent]) -> Result<Option<i64>> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("DELETE FROM person_images WHERE person_image_id = $1")
                .bind(person_image_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_foreign_key(e, || has_related_analyses("Person image", &[])))?
                .rows_affected();
            if n == 0 {
                return Ok(None);
            }
            let generation: i64 = sqlx::query_scalar(BUMP_GENERATION).fetch_one(&mut *tx).await?;
            record_gallery_changes(&mut tx, generation, "remove_image", &[person_image_id]).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(generation))
        })
    }

    async fn person_meta_values(&self, collection_id: Uuid, key: &str) -> Result<Vec<String>> {
        let sql = "SELECT mi.value_text FROM meta_index mi JOIN persons p ON p.person_id = mi.object_id \
                   WHERE mi.object_kind = 'person' AND mi.path = $1 AND p.collection_id = $2 AND mi.value_text IS NOT NULL";
        let rows: Vec<String> =
            on_db!(&self.db, |pool| sqlx::query_scalar(sql).bind(key).bind(collection_id).fetch_all(pool).await)?;
        Ok(rows)
    }

    async fn insert_collection_match(&self, m: &CollectionMatchRecord) -> Result<()> {
        on_db!(&self.db, |pool| insert_collection_match!(pool, m)
            .map(|_| ())
            .map_err(|e| on_foreign_key(e, || Error::not_exist("Person"))))
    }

    async fn analyses_matching_person(&self, person_id: Uuid) -> Result<Vec<Uuid>> {
        let sql = "SELECT DISTINCT analyse_id FROM collection_matches WHERE person_id = $1 ORDER BY analyse_id";
        Ok(on_db!(&self.db, |pool| sqlx::query_scalar(sql).bind(person_id).fetch_all(pool).await)?)
    }

    async fn analyses_matching_image(&self, person_image_id: Uuid) -> Result<Vec<Uuid>> {
        let sql = "SELECT DISTINCT analyse_id FROM collection_matches WHERE person_image_id = $1 ORDER BY analyse_id";
        Ok(on_db!(&self.db, |pool| sqlx::query_scalar(sql).bind(person_image_id).fetch_all(pool).await)?)
    }

    async fn gallery_generation(&self) -> Result<i64> {
        Ok(on_db!(&self.db, |pool| sqlx::query_scalar(READ_GENERATION).fetch_one(pool).await)?)
    }

    async fn load_templates(&self, sink: TemplateSink<'_>) -> Result<i64> {
        let page_sql = format!(
            "{TEMPLATE_COLUMNS} FROM person_images i WHERE i.person_image_id > $1 ORDER BY i.person_image_id LIMIT $2"
        );
        let postgres = matches!(self.db, Db::Postgres(_));
        on_db!(&self.db, |pool| {
            // One snapshot for the generation and every page (SQLite's read transaction is one).
            // Reads only: a deferred BEGIN, which takes no write lock on SQLite (a gallery of 1M
            // templates loads for seconds; writers must not wait for it).
            let mut tx = pool.begin().await?;
            if postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
            }
            let generation: i64 = sqlx::query_scalar(READ_GENERATION).fetch_one(&mut *tx).await?;
            let mut after = Uuid::nil();
            loop {
                let rows: Vec<TemplateRow> =
                    sqlx::query_as(&page_sql).bind(after).bind(TEMPLATES_PER_PAGE).fetch_all(&mut *tx).await?;
                let Some(last) = rows.last() else { break };
                after = last.person_image_id;
                let full = rows.len() as i64 == TEMPLATES_PER_PAGE;
                sink(rows.into_iter().map(StoredTemplate::try_from).collect::<Result<Vec<_>>>()?);
                if !full {
                    break;
                }
            }
            tx.commit().await?;
            Ok(generation)
        })
    }

    async fn gallery_changes_since(&self, after: i64, max_rows: i64) -> Result<Option<GalleryFeed>> {
        let postgres = matches!(self.db, Db::Postgres(_));
        let rows: Option<(i64, Vec<(i64, String, Uuid)>)> = on_db!(&self.db, |pool| {
            // Reads only: a deferred BEGIN (on SQLite, one snapshot from the first read on).
            let mut tx = pool.begin().await?;
            if postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
            }
            let generation: i64 = sqlx::query_scalar(READ_GENERATION).fetch_one(&mut *tx).await?;
            // Every generation in (after, generation] must still be in the feed.
            let (present, rows): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(DISTINCT generation), COUNT(*) FROM gallery_changes WHERE generation > $1 AND generation <= $2",
            )
            .bind(after)
            .bind(generation)
            .fetch_one(&mut *tx)
            .await?;
            if generation < after || present != generation - after || rows > max_rows {
                tx.commit().await?;
                return Ok::<_, Error>(None);
            }
            let changes = sqlx::query_as(
                "SELECT generation, kind, ref_id FROM gallery_changes WHERE generation > $1 AND generation <= $2 ORDER BY generation",
            )
            .bind(after)
            .bind(generation)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, Error>(Some((generation, changes)))
        })?;
        let Some((generation, rows)) = rows else { return Ok(None) };
        let mut changes = Vec::with_capacity(rows.len());
        for (g, kind, id) in rows {
            let kind = match kind.as_str() {
                "insert" => GalleryFeedKind::Insert,
                "remove_image" => GalleryFeedKind::RemoveImage,
                "remove_person" => GalleryFeedKind::RemovePerson,
                "none" => continue,
                other => {
                    return Err(Error::internal(anyhow::anyhow!(
                        "gallery_changes row of generation {g} has an unknown kind {other:?}"
                    )))
                }
            };
            changes.push(GalleryFeedItem { generation: g, kind, id });
        }
        Ok(Some(GalleryFeed { generation, changes }))
    }

    async fn store_id(&self) -> Result<String> {
        Ok(on_db!(&self.db, |pool| sqlx::query_scalar("SELECT store_id FROM gallery_state WHERE id = 1")
            .fetch_one(pool)
            .await)?)
    }

    async fn prune_gallery_changes(&self, keep: i64) -> Result<u64> {
        let sql =
            "DELETE FROM gallery_changes WHERE generation <= (SELECT generation FROM gallery_state WHERE id = 1) - $1";
        Ok(on_db!(&self.db, |pool| sqlx::query(sql).bind(keep).execute(pool).await.map(|r| r.rows_affected()))?)
    }

    async fn stored_templates(&self, person_image_ids: &[Uuid]) -> Result<Vec<StoredTemplate>> {
        let rows: Vec<TemplateRow> = rows_by_ids(
            &self.db,
            |ids| format!("{TEMPLATE_COLUMNS} FROM person_images i WHERE i.person_image_id IN ({ids})"),
            person_image_ids,
        )
        .await?;
        rows.into_iter().map(StoredTemplate::try_from).collect()
    }

    async fn foreign_templates(
        &self,
        model_id: &str,
        collections: Option<&[Uuid]>,
    ) -> Result<Vec<(Uuid, String, i64)>> {
        // `<` or `>` rather than `<>`: both backends then read the (model_id, collection_id)
        // index as two ranges, so the common answer (none) costs two index probes.
        const OTHER_MODEL: &str = "(model_id < $1 OR model_id > $1)";
        let Some(collections) = collections else {
            let sql = format!(
                "SELECT collection_id, model_id, COUNT(*) FROM person_images WHERE {OTHER_MODEL} GROUP BY collection_id, model_id"
            );
            return Ok(on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(model_id).fetch_all(pool).await)?);
        };
        let mut out = Vec::new();
        for chunk in collections.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT collection_id, model_id, COUNT(*) FROM person_images WHERE {OTHER_MODEL} AND collection_id IN ({}) \
                 GROUP BY collection_id, model_id",
                id_list(chunk.len(), 2)
            );
            let rows: Vec<(Uuid, String, i64)> = on_db!(&self.db, |pool| {
                let mut q = sqlx::query_as(&sql).bind(model_id);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn foreign_template_images(&self, model_id: &str, after: Uuid, limit: i64) -> Result<Vec<PersonImage>> {
        let sql = format!(
            "{IMAGE_COLUMNS} FROM person_images i WHERE (i.model_id < $1 OR i.model_id > $1) AND i.person_image_id > $2 \
             ORDER BY i.person_image_id LIMIT $3"
        );
        let rows: Vec<ImageRow> =
            on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(model_id).bind(after).bind(limit).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(PersonImage::from).collect())
    }

    async fn replace_template(&self, person_image_id: Uuid, template: &Template) -> Result<Option<i64>> {
        let bytes = template_bytes(&template.vector);
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("UPDATE person_images SET model_id = $1, template = $2 WHERE person_image_id = $3")
                .bind(&template.model_id)
                .bind(&bytes)
                .bind(person_image_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(None);
            }
            // Announced like an enrolment: whoever replays the feed reads the new template.
            let generation: i64 = sqlx::query_scalar(BUMP_GENERATION).fetch_one(&mut *tx).await?;
            record_gallery_changes(&mut tx, generation, "insert", &[person_image_id]).await?;
            tx.commit().await?;
            Ok(Some(generation))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_round_trip_little_endian() {
        let v = vec![1.0f32, -0.5, 0.25, f32::MIN_POSITIVE];
        let b = template_bytes(&v);
        assert_eq!(&b[..4], &1.0f32.to_le_bytes());
        assert_eq!(template_vector(&b).unwrap(), v);
        assert!(template_vector(&b[..5]).is_err());
    }
}
