//! Folders, media and the minimal analyses table on both backends (spec §6).

use async_trait::async_trait;
use emerald_query::{FieldKind, FieldSpec, ListSpec, MetaSpec, Ops, Param, Sort};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::guard::insert_events;
use super::meta::write_meta_index;
use super::sql::{build_list_with, number_placeholders, BeginWrite, Db, SqlStore};
use crate::domain::model::analysis::Analysis;
use crate::domain::model::audit::AuthEvent;
use crate::domain::model::caller::Scope;
use crate::domain::model::media::{Folder, FolderStatus, Media, MediaKind};
use crate::domain::model::metadata::{MetaData, ObjectKind};
use crate::domain::store::{FolderCursor, Folders, ListParams, Page, PersonCount, Visibility};
use crate::domain::{Error, Result};

const FOLDER_COLUMNS: &str = "SELECT f.folder_id, f.company_id, f.user_id, f.resolution_status, f.system_resolution, \
    f.resolution_comment, f.is_archive, f.meta_data, f.technical_meta_data, f.time_created, f.time_updated";

const MEDIA_COLUMNS: &str = "SELECT m.media_id, m.folder_id, m.company_id, m.user_id, m.media_type, m.original_name, \
    m.extension, m.has_thumb, m.size_bytes, m.sha256, m.tags, m.meta_data, m.technical_meta_data, m.time_created, m.time_updated";

/// `GET /api/folders/` (spec §6.3). `resolution_status` and `analyse.type` are compiled here
/// (see [`folder_conditions`]) because they are not plain column comparisons.
pub(crate) static FOLDER_LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "folder_id", column: "f.folder_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "user_id", column: "f.user_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "company_id", column: "f.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "f.time_created", kind: FieldKind::Time, ops: Ops::ALL },
        FieldSpec { key: "time_updated", column: "f.time_updated", kind: FieldKind::Time, ops: Ops::ALL },
    ],
    sort_fields: &[("time_created", "f.time_created"), ("time_updated", "f.time_updated")],
    default_sort: &[("time_created", true)],
    tiebreak_column: "f.folder_id",
    meta: Some(MetaSpec { object_kind: "folder", id_column: "f.folder_id" }),
    ignore_keys: &[],
};

/// `GET /api/media/`.
pub(crate) static MEDIA_LIST: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "media_id", column: "m.media_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "folder_id", column: "m.folder_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "user_id", column: "m.user_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec { key: "company_id", column: "m.company_id", kind: FieldKind::Uuid, ops: Ops::DEFAULT },
        FieldSpec {
            key: "media_type",
            column: "m.media_type",
            kind: FieldKind::Enum(&[
                "IMAGE_FOLDER",
                "VIDEO_FOLDER",
                "SHOTS_SET_FOLDER",
                "IMAGE=IMAGE_FOLDER",
                "VIDEO=VIDEO_FOLDER",
                "SHOTS_SET=SHOTS_SET_FOLDER",
            ]),
            ops: Ops::DEFAULT,
        },
        FieldSpec { key: "time_created", column: "m.time_created", kind: FieldKind::Time, ops: Ops::ALL },
        FieldSpec { key: "time_updated", column: "m.time_updated", kind: FieldKind::Time, ops: Ops::ALL },
    ],
    sort_fields: &[("time_created", "m.time_created"), ("time_updated", "m.time_updated")],
    default_sort: &[("time_created", true)],
    tiebreak_column: "m.media_id",
    meta: Some(MetaSpec { object_kind: "media", id_column: "m.media_id" }),
    ignore_keys: &[],
};

/// Folder statuses (`resolution_status`) and results (`system_resolution`) a folder filter accepts;
/// results match `system_resolution` (spec §8.6 compatibility shim).
pub(crate) const FOLDER_STATUSES: [&str; 4] = ["INITIAL", "PROCESSING", "FAILED", "FINISHED"];
pub(crate) const FOLDER_RESULTS: [&str; 5] = ["SUCCESS", "DECLINED", "OPERATOR_REQUIRED", "FAILED", "PROCESSING"];
/// Most values in one `analyse.type` / `resolution_status` filter.
const ENUM_FILTER_MAX_VALUES: usize = 32;

/// `(fragment, params)` conditions for the caller's visibility.
pub(crate) fn visibility_conditions(vis: Visibility, alias: &str) -> Vec<(String, Vec<Param>)> {
    let mut out = Vec::new();
    if let Scope::Company(c) = vis.scope {
        out.push((format!("{alias}.company_id = ?"), vec![Param::Uuid(c)]));
    }
    if let Some(u) = vis.only_user {
        out.push((format!("{alias}.user_id = ?"), vec![Param::Uuid(u)]));
    }
    out
}

/// The comma-separated, upper-cased values of every `key=` in `params`.
pub(crate) fn enum_values(params: &ListParams, key: &str) -> Result<Vec<String>> {
    let mut values: Vec<String> = Vec::new();
    for (_, raw) in params.0.iter().filter(|(k, _)| k == key) {
        for v in raw.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            let v = v.to_ascii_uppercase();
            if !values.contains(&v) {
                values.push(v);
            }
        }
    }
    if values.len() > ENUM_FILTER_MAX_VALUES {
        return Err(Error::invalid_value(
            format!("Too many values for param {key}: at most {ENUM_FILTER_MAX_VALUES}"),
            serde_json::json!({ "key_path": key }),
        ));
    }
    Ok(values)
}

pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `resolution_status=` and `analyse.type=` as conditions.
pub(crate) fn folder_conditions(params: &ListParams) -> Result<Vec<(String, Vec<Param>)>> {
    let mut out = Vec::new();
    let statuses = enum_values(params, "resolution_status")?;
    if !statuses.is_empty() {
        if let Some(bad) =
            statuses.iter().find(|s| !FOLDER_STATUSES.contains(&s.as_str()) && !FOLDER_RESULTS.contains(&s.as_str()))
        {
            return Err(Error::invalid_value(
                format!("Invalid resolution_status value {bad}: expected INITIAL, PROCESSING, FAILED, FINISHED, SUCCESS, DECLINED or OPERATOR_REQUIRED"),
                serde_json::json!({ "key_path": "resolution_status" }),
            ));
        }
        let own: Vec<&String> = statuses.iter().filter(|s| FOLDER_STATUSES.contains(&s.as_str())).collect();
        let results: Vec<&String> = statuses.iter().filter(|s| FOLDER_RESULTS.contains(&s.as_str())).collect();
        let mut parts = Vec::new();
        let mut ps = Vec::new();
        if !own.is_empty() {
            parts.push(format!("f.resolution_status IN ({})", placeholders(own.len())));
            ps.extend(own.iter().map(|s| Param::Text((*s).clone())));
        }
        if !results.is_empty() {
            parts.push(format!("f.system_resolution IN ({})", placeholders(results.len())));
            ps.extend(results.iter().map(|s| Param::Text((*s).clone())));
        }
        out.push((parts.join(" OR "), ps));
    }
    let types = enum_values(params, "analyse.type")?;
    if !types.is_empty() {
        out.push((
            format!(
                "EXISTS (SELECT 1 FROM analyses a WHERE a.folder_id = f.folder_id AND a.type IN ({}))",
                placeholders(types.len())
            ),
            types.into_iter().map(Param::Text).collect(),
        ));
    }
    Ok(out)
}

/// Folders strictly after `c` in the order `sorting`, then `folder_id` (the tiebreak, in the
/// last term's direction, as [`emerald_query::ListQuery::order_sql`] orders): the keyset
/// condition of a chunked listing. The first term is also bounded on its own (redundant), so
/// an index on it (`folders_time`, or the tenancy indexes' `time_created`) serves a range scan
/// instead of a walk from the start.
fn after_condition(sorting: &[Sort], c: &FolderCursor) -> (String, Vec<Param>) {
    let tiebreak = FOLDER_LIST.tiebreak_column;
    let value = |column: &str| match column {
        "f.time_created" => Param::Float(c.time_created),
        "f.time_updated" => Param::Float(c.time_updated),
        _ => Param::Uuid(c.folder_id),
    };
    let mut terms: Vec<(&str, bool)> = sorting.iter().map(|s| (s.column, s.desc)).collect();
    if !terms.iter().any(|(column, _)| *column == tiebreak) {
        terms.push((tiebreak, terms.last().is_some_and(|(_, desc)| *desc)));
    }
    let (first, first_desc) = terms[0];
    let mut params = vec![value(first)];
    let mut alternatives = Vec::with_capacity(terms.len());
    for (i, &(column, desc)) in terms.iter().enumerate() {
        let mut all: Vec<String> = Vec::with_capacity(i + 1);
        for &(equal, _) in &terms[..i] {
            all.push(format!("{equal} = ?"));
            params.push(value(equal));
        }
        all.push(format!("{column} {} ?", if desc { "<" } else { ">" }));
        params.push(value(column));
        alternatives.push(all.join(" AND "));
    }
    let bound = if first_desc { "<=" } else { ">=" };
    (format!("{first} {bound} ? AND (({}))", alternatives.join(") OR (")), params)
}

#[derive(sqlx::FromRow)]
struct FolderRow {
    folder_id: Uuid,
    company_id: Option<Uuid>,
    user_id: Uuid,
    resolution_status: String,
    system_resolution: Option<String>,
    resolution_comment: Option<String>,
    is_archive: bool,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
}

impl TryFrom<FolderRow> for Folder {
    type Error = Error;

    fn try_from(r: FolderRow) -> Result<Self> {
        let FolderRow {
            folder_id,
            company_id,
            user_id,
            resolution_status,
            system_resolution,
            resolution_comment,
            is_archive,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = r;
        Ok(Folder {
            folder_id,
            company_id,
            user_id,
            resolution_status: FolderStatus::parse_stored(&resolution_status)?,
            system_resolution,
            resolution_comment,
            is_archive,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    media_id: Uuid,
    folder_id: Uuid,
    company_id: Option<Uuid>,
    user_id: Uuid,
    media_type: String,
    original_name: String,
    extension: String,
    has_thumb: bool,
    size_bytes: i64,
    sha256: String,
    tags: Json<Value>,
    meta_data: Json<Value>,
    technical_meta_data: Json<Value>,
    time_created: f64,
    time_updated: f64,
}

impl TryFrom<MediaRow> for Media {
    type Error = Error;

    fn try_from(r: MediaRow) -> Result<Self> {
        let MediaRow {
            media_id,
            folder_id,
            company_id,
            user_id,
            media_type,
            original_name,
            extension,
            has_thumb,
            size_bytes,
            sha256,
            tags,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = r;
        let kind: MediaKind =
            media_type.parse().map_err(|_| Error::internal(anyhow::anyhow!("stored media_type {media_type:?}")))?;
        let tags = match tags.0 {
            Value::Array(items) => items.into_iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        };
        Ok(Media {
            media_id,
            folder_id,
            company_id,
            user_id,
            kind,
            original_name,
            extension,
            has_thumb,
            size_bytes,
            sha256,
            tags,
            meta_data: MetaData::from_stored(meta_data.0),
            technical_meta_data: MetaData::from_stored(technical_meta_data.0),
            time_created,
            time_updated,
        })
    }
}

tx_fn! {
    /// Insert media rows and their metadata index rows inside `tx`.
    async fn insert_media_rows(tx, media: &[Media]) -> Result<()> {
        for (i, m) in media.iter().enumerate() {
            sqlx::query(
                "INSERT INTO media (media_id, folder_id, company_id, user_id, media_type, original_name, extension, has_thumb, \
                 size_bytes, sha256, upload_index, tags, meta_data, technical_meta_data, time_created, time_updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(m.media_id)
            .bind(m.folder_id)
            .bind(m.company_id)
            .bind(m.user_id)
            .bind(m.kind.as_str())
            .bind(m.original_name.clone())
            .bind(m.extension.clone())
            .bind(m.has_thumb)
            .bind(m.size_bytes)
            .bind(m.sha256.clone())
            .bind(i as i32)
            .bind(Json(Value::from(m.tags.clone())))
            .bind(Json(m.meta_data.to_value()))
            .bind(Json(m.technical_meta_data.to_value()))
            .bind(m.time_created)
            .bind(m.time_updated)
            .execute(&mut **tx)
            .await?;
            write_meta_index(tx, ObjectKind::Media, m.media_id, &m.meta_data).await?;
        }
        Ok(())
    }
}

/// `IN ($first, …)` for `n` ids.
pub(crate) fn id_list(n: usize, first: usize) -> String {
    number_placeholders(&placeholders(n), first)
}

/// Rows per `IN (…)` of ids (well under both backends' parameter limits).
pub(crate) const IDS_PER_QUERY: usize = 1000;

/// Rows of `sql`, built around one `IN (…)` list of ids whose only binds are those ids
/// (`sql` gets the placeholders, [`id_list`]), for every chunk of [`IDS_PER_QUERY`] ids.
pub(crate) async fn rows_by_ids<R>(db: &Db, sql: impl Fn(&str) -> String, ids: &[Uuid]) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = sql(&id_list(chunk.len(), 1));
        let rows: Vec<R> = on_db!(db, |pool| {
            let mut q = sqlx::query_as(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

#[async_trait]
impl Folders for SqlStore {
    async fn insert_folder(&self, f: &Folder, media: &[Media], audit: &[AuthEvent]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO folders (folder_id, company_id, user_id, resolution_status, system_resolution, resolution_comment, \
                 is_archive, meta_data, technical_meta_data, time_created, time_updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(f.folder_id)
            .bind(f.company_id)
            .bind(f.user_id)
            .bind(f.resolution_status.as_str())
            .bind(&f.system_resolution)
            .bind(&f.resolution_comment)
            .bind(f.is_archive)
            .bind(Json(f.meta_data.to_value()))
            .bind(Json(f.technical_meta_data.to_value()))
            .bind(f.time_created)
            .bind(f.time_updated)
            .execute(&mut *tx)
            .await?;
            write_meta_index(&mut tx, ObjectKind::Folder, f.folder_id, &f.meta_data).await?;
            insert_media_rows(&mut tx, media).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn insert_media(
        &self,
        folder_id: Uuid,
        media: &[Media],
        time_updated: f64,
        audit: &[AuthEvent],
    ) -> Result<bool> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("UPDATE folders SET time_updated = $1 WHERE folder_id = $2")
                .bind(time_updated)
                .bind(folder_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            insert_media_rows(&mut tx, media).await?;
            insert_events(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn get_folder(&self, id: Uuid) -> Result<Option<Folder>> {
        let sql = format!("{FOLDER_COLUMNS} FROM folders f WHERE f.folder_id = $1");
        let row: Option<FolderRow> = on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(Folder::try_from).transpose()
    }

    async fn list_folders(&self, vis: Visibility, params: &ListParams) -> Result<Page<Folder>> {
        let mut base = visibility_conditions(vis, "f");
        base.extend(folder_conditions(params)?);
        let l = build_list_with(self.dialect(), &FOLDER_LIST, params, FOLDER_COLUMNS, "FROM folders f", base)?;
        Ok(fetch_page!(&self.db, l, FolderRow, Folder::try_from))
    }

    async fn folders_after(
        &self,
        vis: Visibility,
        params: &ListParams,
        after: Option<&FolderCursor>,
        limit: u64,
    ) -> Result<Vec<Folder>> {
        let params = params.chunk(limit);
        let mut base = visibility_conditions(vis, "f");
        base.extend(folder_conditions(&params)?);
        if let Some(c) = after {
            let query = emerald_query::parse(&params.0, &FOLDER_LIST, crate::domain::time::now())?;
            base.push(after_condition(&query.sorting, c));
        }
        let l = build_list_with(self.dialect(), &FOLDER_LIST, &params, FOLDER_COLUMNS, "FROM folders f", base)?;
        Ok(fetch_page!(&self.db, l, FolderRow, Folder::try_from).items)
    }

    async fn media_of(&self, folder_ids: &[Uuid]) -> Result<Vec<Media>> {
        let sql = |ids: &str| {
            format!("{MEDIA_COLUMNS} FROM media m WHERE m.folder_id IN ({ids}) ORDER BY m.time_created, m.upload_index, m.media_id")
        };
        rows_by_ids::<MediaRow>(&self.db, sql, folder_ids).await?.into_iter().map(Media::try_from).collect()
    }

    async fn analyses_of(&self, folder_ids: &[Uuid]) -> Result<Vec<Analysis>> {
        super::analyses::analyses_of(&self.db, folder_ids).await
    }

    async fn delete_folder(&self, id: Uuid, audit: &[AuthEvent]) -> Result<Option<Vec<Media>>> {
        let media = self.media_of(&[id]).await?;
        let lock = self.folder_lock(None);
        let gone = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(lock) = &lock {
                sqlx::query(lock).bind(id).execute(&mut *tx).await?;
            }
            for sql in [
                "DELETE FROM jobs WHERE ref_id IN (SELECT analyse_id FROM analyses WHERE folder_id = $1)",
                "DELETE FROM jobs WHERE ref_id IN (SELECT delivery_id FROM webhook_deliveries WHERE folder_id = $1)",
                "DELETE FROM meta_index WHERE object_id IN (SELECT media_id FROM media WHERE folder_id = $1)",
                "DELETE FROM meta_index WHERE object_id IN (SELECT analyse_id FROM analyses WHERE folder_id = $1)",
                // Deleting the analyses frees the persons they matched (spec §12).
                "DELETE FROM collection_matches WHERE analyse_id IN (SELECT analyse_id FROM analyses WHERE folder_id = $1)",
                "DELETE FROM meta_index WHERE object_id = $1",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            // media and analyses go with the folder (ON DELETE CASCADE).
            let n = sqlx::query("DELETE FROM folders WHERE folder_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(n == 0)
        })?;
        Ok(if gone { None } else { Some(media) })
    }

    async fn get_media(&self, id: Uuid) -> Result<Option<Media>> {
        let sql = format!("{MEDIA_COLUMNS} FROM media m WHERE m.media_id = $1");
        let row: Option<MediaRow> = on_db!(&self.db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(Media::try_from).transpose()
    }

    async fn list_media(&self, vis: Visibility, params: &ListParams) -> Result<Page<Media>> {
        let base = visibility_conditions(vis, "m");
        let l = build_list_with(self.dialect(), &MEDIA_LIST, params, MEDIA_COLUMNS, "FROM media m", base)?;
        Ok(fetch_page!(&self.db, l, MediaRow, Media::try_from))
    }

    async fn delete_media(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool> {
        let lock = self.folder_lock(Some("SELECT folder_id FROM media WHERE media_id = $1"));
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(lock) = &lock {
                sqlx::query(lock).bind(id).execute(&mut *tx).await?;
            }
            let n =
                sqlx::query("DELETE FROM media WHERE media_id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM meta_index WHERE object_id = $1").bind(id).execute(&mut *tx).await?;
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    async fn set_folder_comment(
        &self,
        id: Uuid,
        comment: Option<&str>,
        time_updated: f64,
        audit: &[AuthEvent],
    ) -> Result<bool> {
        let sql = "UPDATE folders SET resolution_comment = $1, time_updated = $2 WHERE folder_id = $3";
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query(sql).bind(comment).bind(time_updated).bind(id).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                insert_events(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    async fn count_persons(
        &self,
        vis: Visibility,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<PersonCount> {
        let mut conds = visibility_conditions(vis, "f");
        if let Some(t) = min {
            conds.push(("f.time_created >= ?".into(), vec![Param::Float(t)]));
        }
        if let Some(t) = max {
            conds.push(("f.time_created <= ?".into(), vec![Param::Float(t)]));
        }
        let mut params = vec![Param::Text(key.to_owned())];
        // Driven from the window's folders (see `store::statistics`).
        let mut sql = format!(
            "SELECT COUNT(*), COUNT(DISTINCT mi.value_text) {}",
            super::statistics::folders_with_meta(self.dialect(), min.is_some())
        );
        for (i, (frag, ps)) in conds.into_iter().enumerate() {
            sql.push_str(if i == 0 { " WHERE " } else { " AND " });
            sql.push_str(&number_placeholders(&frag, params.len() + 1));
            params.extend(ps);
        }
        let (folders, persons): (i64, i64) =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&sql), &params).fetch_one(pool).await)?;
        Ok(PersonCount { folders: folders as u64, persons: persons as u64 })
    }
}
