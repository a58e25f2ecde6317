//! Connection, migrations and the two macros that let one query source serve both backends.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::domain::store::{Page, Store};
use crate::domain::{Error, Result};

/// The pool of one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run the same expression against whichever pool this is; `$pool` is a concrete
/// `&SqlitePool` or `&PgPool` inside, so every query type-checks against both backends.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::sql::Db::Sqlite($pool) => $body,
            $crate::store::sql::Db::Postgres($pool) => $body,
        }
    };
}

/// Begin a transaction that writes: every store transaction but the gallery's two snapshot
/// reads (`load_templates`, `gallery_changes_since`), which keep a deferred `BEGIN`.
///
/// SQLite: `BEGIN IMMEDIATE`. sqlx's `begin()` sends a deferred `BEGIN`, and a deferred
/// transaction that reads before it writes holds a read snapshot; when another connection
/// commits in between, its first write cannot upgrade and fails at once with SQLITE_BUSY
/// ("database is locked") — `busy_timeout` does not help, the snapshot is stale. `IMMEDIATE`
/// takes the write lock up front (SQLite has one writer at a time anyway), so the transaction
/// waits out a concurrent writer within `busy_timeout` instead of failing. PostgreSQL: a plain
/// `BEGIN` (row locks and `READ COMMITTED` do the rest).
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, Self::Database>>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>>> + Send {
        self.begin()
    }
}

impl SqlStore {
    /// What ends a `SELECT` that reads a row the transaction is about to change: PostgreSQL's
    /// ` FOR UPDATE` (the row is held until the commit); nothing on SQLite, where `BEGIN
    /// IMMEDIATE` already holds the one write lock.
    pub(crate) fn row_lock(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE",
        }
    }

    /// On PostgreSQL, the statement that locks a folder's row (`FOR UPDATE`), the folder being
    /// `$1` or the folder of whatever `folder_of` selects by `$1` (a subquery): a transaction
    /// that changes a folder or anything in it (media, analyses, their meta_data, jobs) takes
    /// this lock first, so that all of them take their locks in one order and none deadlocks
    /// with a folder's deletion (which cascades to its media and analyses) or an analysis's
    /// result. SQLite: none — `BEGIN IMMEDIATE` already lets one writer in at a time.
    pub(crate) fn folder_lock(&self, folder_of: Option<&str>) -> Option<String> {
        match self.db {
            Db::Sqlite(_) => None,
            Db::Postgres(_) => Some(match folder_of {
                None => format!("SELECT 1 FROM folders WHERE folder_id = $1{}", self.row_lock()),
                Some(sub) => format!("SELECT 1 FROM folders WHERE folder_id = ({sub}){}", self.row_lock()),
            }),
        }
    }
}

/// Record that a COLLECTION analysis matched a person: `$m` is a
/// [`crate::domain::model::collection::CollectionMatchRecord`], `$exec` a pool or `&mut *tx`. The row's
/// company is the matched collection's (the analysis may belong to an ADMIN without one).
macro_rules! insert_collection_match {
    ($exec:expr, $m:expr) => {{
        let m: &$crate::domain::model::collection::CollectionMatchRecord = $m;
        sqlx::query(
            "INSERT INTO collection_matches (analyse_id, person_id, person_image_id, collection_id, company_id) \
             SELECT $1, $2, $3, collection_id, company_id FROM collections WHERE collection_id = $4",
        )
        .bind(m.analyse_id)
        .bind(m.person_id)
        .bind(m.person_image_id)
        .bind(m.collection_id)
        .execute($exec)
        .await
    }};
}

/// Bind a list of [`emerald_query::Param`]s to a query, in order.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                emerald_query::Param::Text(v) => q.bind(v.clone()),
                emerald_query::Param::Float(v) => q.bind(*v),
                emerald_query::Param::Int(v) => q.bind(*v),
                emerald_query::Param::Uuid(v) => q.bind(*v),
                emerald_query::Param::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Run a compiled list ([`ListSql`]): its optional count query and its page query, then turn
/// each `$row` into an item with `$convert` (a `fn($row) -> Result<Item>`).
macro_rules! fetch_page {
    ($db:expr, $l:expr, $row:ty, $convert:expr) => {{
        let l = &$l;
        let total: Option<i64> = match &l.count {
            Some(sql) => {
                Some(on_db!($db, |pool| bind_params!(sqlx::query_scalar(sql), &l.params).fetch_one(pool).await)?)
            }
            None => None,
        };
        let rows: Vec<$row> =
            on_db!($db, |pool| bind_params!(sqlx::query_as(&l.select), &l.params).fetch_all(pool).await)?;
        $crate::domain::store::Page {
            total: total.map(|t| t as u64),
            offset: l.offset,
            limit: l.limit,
            items: rows.into_iter().map($convert).collect::<$crate::domain::Result<_>>()?,
        }
    }};
}

/// A helper that runs statements inside a transaction of either backend: declares the
/// function generic over the backend with every bound the bound value types need, written once.
macro_rules! tx_fn {
    ($(#[$m:meta])* $vis:vis async fn $name:ident($tx:ident $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty $body:block) => {
        $(#[$m])*
        $vis async fn $name<DB>($tx: &mut sqlx::Transaction<'_, DB> $(, $arg: $ty)*) -> $ret
        where
            DB: sqlx::Database,
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
            for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        $body
    };
}

/// The SQL store over one backend.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub(crate) db: Db,
}

impl SqlStore {
    pub fn dialect(&self) -> emerald_query::Dialect {
        match self.db {
            Db::Sqlite(_) => emerald_query::Dialect::Sqlite,
            Db::Postgres(_) => emerald_query::Dialect::Postgres,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// How long a PostgreSQL session may sit idle inside a transaction before the server ends it
/// (see `pg_options`).
const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// Sampled statistics refresh (rows examined per index).
const SQLITE_ANALYZE: &str = "PRAGMA analysis_limit = 1000; ANALYZE;";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Open the database named by `url` (`postgres://…`, `sqlite:…`), or the SQLite file in
/// `data_dir` when `url` is None, and bring its schema up to date.
pub async fn connect(url: Option<&str>, data_dir: &Path) -> anyhow::Result<SqlStore> {
    let db = match url {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            let opts = pg_options(u)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .context("connecting to PostgreSQL")?;
            POSTGRES_MIGRATIONS.run(&pool).await.context("running PostgreSQL migrations")?;
            Db::Postgres(pool)
        }
        Some(u) if u.starts_with("sqlite:") => Db::Sqlite(open_sqlite(SqliteConnectOptions::from_str(u)?).await?),
        Some(u) => anyhow::bail!("unsupported database URL {u:?}: use postgres://… or sqlite:…"),
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating the data dir {}", data_dir.display()))?;
            let file = data_dir.join("emerald.db");
            Db::Sqlite(open_sqlite(SqliteConnectOptions::new().filename(file)).await?)
        }
    };
    Ok(SqlStore { db })
}

/// The connection options of a PostgreSQL URL. A transaction left open by a node that stopped
/// making progress (a hung process, a task that can no longer run) would hold its row locks for
/// ever, and every node's writes to those rows would wait behind it. No store transaction waits
/// on anything but the database between its statements, so a minute idle inside one is a
/// fault: PostgreSQL ends that session and its locks go. A URL that sets the option keeps its
/// own value.
fn pg_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let opts = PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
    Ok(if url.contains("idle_in_transaction_session_timeout") {
        opts
    } else {
        opts.options([("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT)])
    })
}

async fn open_sqlite(opts: SqliteConnectOptions) -> anyhow::Result<SqlitePool> {
    let opts = opts
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    // Migrations and planner statistics on one connection, closed before the pool opens.
    // Without statistics SQLite drives a `meta_data=` lookup from the tenancy index (scanning
    // all of a company's folders) instead of from `meta_index`; a bounded ANALYZE samples each
    // index, so it stays fast on large databases. A connection reads the statistics when it
    // loads the schema and keeps them (ANALYZE elsewhere does not reach it), so every pooled
    // connection must open after the ANALYZE — else some keep stale (e.g. empty-table) plans
    // and a tenth of lookups take hundreds of milliseconds. Pooled connections are recycled
    // (sqlx's 30-minute lifetime), which carries the periodic re-ANALYZE to them.
    let setup = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts.clone())
        .await
        .context("opening the SQLite database")?;
    SQLITE_MIGRATIONS.run(&setup).await.context("running SQLite migrations")?;
    sqlx::query(SQLITE_ANALYZE).execute(&setup).await.context("analysing the SQLite database")?;
    setup.close().await;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .context("opening the SQLite database")?;
    Ok(pool)
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    async fn refresh_statistics(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::query(SQLITE_ANALYZE).execute(pool).await.map(|_| ()).map_err(Error::from),
            // Autovacuum keeps the statistics current once it has run; a table it has never
            // analysed (a bulk load just before start) is planned blind, and a metadata lookup then
            // walks every folder of the user (17 ms at 10k folders, 0.14 ms once analysed).
            Db::Postgres(pool) => {
                let never: Vec<String> = sqlx::query_scalar(
                    "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                     AND last_analyze IS NULL AND last_autoanalyze IS NULL AND (n_live_tup > 0 OR n_mod_since_analyze > 0)",
                )
                .fetch_all(pool)
                .await?;
                for table in never {
                    sqlx::query(&format!("ANALYZE \"{}\"", table.replace('"', "\"\""))).execute(pool).await?;
                }
                Ok(())
            }
        }
    }

    async fn ping(&self) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()).map_err(Error::from))
    }
}

/// A unique-constraint violation becomes a clear 4xx, everything else a database error.
pub(crate) fn on_unique(err: sqlx::Error, what: impl FnOnce() -> Error) -> Error {
    match err.as_database_error() {
        Some(db) if db.is_unique_violation() => what(),
        _ => Error::from(err),
    }
}

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A list request compiled to SQL: the page query, the optional count query, their shared
/// parameters, and the page bounds to echo.
pub(crate) struct ListSql {
    pub select: String,
    pub count: Option<String>,
    pub params: Vec<emerald_query::Param>,
    pub offset: u64,
    pub limit: Option<u64>,
}

/// Compile `params` against `spec`. `base` are conditions the caller imposes (tenancy, search
/// text), each with one parameter that every `?` in it stands for. `select` and `from` are
/// `"SELECT cols"` and `"FROM table alias"`.
pub(crate) fn build_list(
    dialect: emerald_query::Dialect,
    spec: &emerald_query::ListSpec,
    params: &crate::domain::store::ListParams,
    select: &str,
    from: &str,
    base: Vec<(&str, emerald_query::Param)>,
) -> Result<ListSql> {
    let base = base
        .into_iter()
        .map(|(frag, param)| {
            let n = frag.matches('?').count();
            (frag.to_owned(), vec![param; n])
        })
        .collect();
    build_list_with(dialect, spec, params, select, from, base)
}

/// [`build_list`] for conditions with any number of parameters: each `?` in a fragment takes
/// the fragment's next parameter.
pub(crate) fn build_list_with(
    dialect: emerald_query::Dialect,
    spec: &emerald_query::ListSpec,
    params: &crate::domain::store::ListParams,
    select: &str,
    from: &str,
    base: Vec<(String, Vec<emerald_query::Param>)>,
) -> Result<ListSql> {
    let query = emerald_query::parse(&params.0, spec, crate::domain::time::now())?;
    let mut conds = Vec::with_capacity(base.len() + 1);
    let mut binds = Vec::new();
    for (frag, params) in base {
        conds.push(number_placeholders(&frag, binds.len() + 1));
        binds.extend(params);
    }
    let (filter_sql, filter_params) = query.where_sql(spec, dialect, binds.len() + 1);
    conds.push(filter_sql);
    binds.extend(filter_params);
    let where_clause = format!(" WHERE ({})", conds.join(") AND ("));
    let count = (!query.total_omit).then(|| format!("SELECT COUNT(*) {from}{where_clause}"));
    let select = format!("{select} {from}{where_clause}{}{}", query.order_sql(spec), query.limit_sql());
    Ok(ListSql { select, count, params: binds, offset: query.offset, limit: query.limit })
}

impl SqlStore {
    /// Run a compiled list: its count (unless omitted) and its page of rows.
    pub(crate) async fn fetch_page<R>(&self, l: &ListSql) -> Result<Page<R>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let total: Option<i64> = match &l.count {
            Some(sql) => {
                Some(on_db!(&self.db, |pool| bind_params!(sqlx::query_scalar(sql), &l.params).fetch_one(pool).await)?)
            }
            None => None,
        };
        let items: Vec<R> =
            on_db!(&self.db, |pool| bind_params!(sqlx::query_as(&l.select), &l.params).fetch_all(pool).await)?;
        Ok(Page { total: total.map(|t| t as u64), offset: l.offset, limit: l.limit, items })
    }
}

/// A foreign-key violation (deleting something still referenced) becomes a clear 4xx.
pub(crate) fn on_foreign_key(err: sqlx::Error, what: impl FnOnce() -> Error) -> Error {
    match err.as_database_error() {
        Some(db) if db.is_foreign_key_violation() => what(),
        _ => Error::from(err),
    }
}

/// Replace each `?` in `frag` by `$first`, `$first+1`, ….
pub(crate) fn number_placeholders(frag: &str, first: usize) -> String {
    let mut out = String::with_capacity(frag.len() + 8);
    let mut n = first;
    for c in frag.chars() {
        if c == '?' {
            out.push_str(&format!("${n}"));
            n += 1;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write transaction that reads first, while another connection writes and commits: with
    /// a deferred `BEGIN` the first transaction's write fails at once with "database is
    /// locked" (its snapshot is stale); `begin_write` makes the other writer wait instead, and
    /// both changes land.
    #[tokio::test]
    async fn a_sqlite_write_transaction_that_reads_first_survives_a_concurrent_writer() {
        let dir = tempfile::tempdir().unwrap();
        let pool = open_sqlite(SqliteConnectOptions::new().filename(dir.path().join("t.db"))).await.unwrap();
        sqlx::query("CREATE TABLE counter (n INTEGER NOT NULL)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO counter (n) VALUES (0)").execute(&pool).await.unwrap();

        let mut tx = pool.begin_write().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT n FROM counter").fetch_one(&mut *tx).await.unwrap();
        let other = {
            let pool = pool.clone();
            tokio::spawn(async move { sqlx::query("UPDATE counter SET n = n + 10").execute(&pool).await })
        };
        // Give the other writer time to commit, if it could.
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("UPDATE counter SET n = $1").bind(n + 1).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        other.await.unwrap().unwrap();
        let n: i64 = sqlx::query_scalar("SELECT n FROM counter").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 11, "the read-then-write transaction first, then the other writer");
    }

    /// Sessions opened from a PostgreSQL URL end a transaction left idle for a minute; a URL
    /// that sets the option keeps its own value.
    #[tokio::test]
    async fn postgres_sessions_end_transactions_left_idle() {
        use sqlx::Connection;
        let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) else {
            eprintln!("skipped: DATABASE_URL names no PostgreSQL database");
            return;
        };
        let setting = |url: String| async move {
            let mut c = sqlx::PgConnection::connect_with(&pg_options(&url).unwrap()).await.unwrap();
            let v: String =
                sqlx::query_scalar("SHOW idle_in_transaction_session_timeout").fetch_one(&mut c).await.unwrap();
            v
        };
        assert_eq!(setting(url.clone()).await, "1min");
        let sep = if url.contains('?') { '&' } else { '?' };
        let own = format!("{url}{sep}options=-c%20idle_in_transaction_session_timeout%3D5s");
        assert_eq!(setting(own).await, "5s");
    }
}
