//! The Oz (Lamb) list-query grammar, parsed once into a typed tree and compiled to SQL with
//! bound parameters for SQLite and PostgreSQL (spec §6.3, §9; style §1, §3).
//!
//! No HTTP and no database driver live here: [`parse`] takes the URL-decoded query pairs, and
//! [`ListQuery::where_sql`] / [`ListQuery::order_sql`] / [`ListQuery::limit_sql`] return SQL text
//! plus [`Param`]s that the server binds itself.
//!
//! # Grammar
//!
//! ```text
//! query      = { pair } ;  pairs are URL-decoded (key, value); keys are case-sensitive
//! pair       = "offset=" int            ; default 0, negative -> code 4
//!            | "limit=" int             ; default 100, -1 = all, < -1 or > 5000 -> code 4
//!            | "total_omit=" bool       ; skip the COUNT query
//!            | "sorting=" sort_list     ; see `sorting`
//!            | "meta_data=" descriptors ; see `meta`
//!            | field_key [ "." op ] "=" values   ; see `filter`
//!            | ignored_key "=" any      ; `ListSpec::ignore_keys` and every unknown key
//! op         = "exclude" | "min" | "max" | "greater" | "less"
//! values     = value { "," value }      ; "null" (any case) = SQL NULL
//! ```
//!
//! `offset`, `limit`, `total_omit` and `sorting` take the last occurrence of a repeated key
//! (Django `QueryDict` semantics); filters and `meta_data` merge every occurrence as if
//! comma-joined. An empty value (`?name=`) is no filter at all. At most [`MAX_FILTER_VALUES`]
//! values in all (code 4 `Too many filter values for param <key>. Max is 1000`).

mod datetime;
mod error;
mod filter;
mod meta;
mod pagination;
mod sorting;
mod sql;

pub use datetime::{parse_datetime, DATETIME_FORMAT};
pub use error::QueryError;
pub use filter::{Cmp, FieldCondition, FieldOp};
pub use meta::{flatten_meta, MetaCondition, MetaEntry, MetaOp, META_KEY};
pub use pagination::{LIMIT_DEFAULT, LIMIT_MAX};
pub use sorting::{parse_sorting, Sort, SORTING_KEY};

/// Which SQL dialect to compile for. Today both produce the same text (`$N` placeholders,
/// `1=1`, `IN`, sub-selects on `meta_index`); the parameter keeps the door open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One bound parameter, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Float(f64),
    Int(i64),
    Uuid(uuid::Uuid),
    Bool(bool),
}

/// The type of a filterable column; decides how a query value converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Uuid,
    Text,
    Int,
    Float,
    Bool,
    /// A float UNIX-seconds column; values follow [`parse_datetime`].
    Time,
    /// Canonical upper-case values; input matches case-insensitively. An entry `"ALIAS=CANON"`
    /// accepts `alias` and compiles to `CANON` (e.g. `"IMAGE=IMAGE_FOLDER"`).
    Enum(&'static [&'static str]),
}

/// The filter operations a field allows (a tiny bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ops(u8);

impl Ops {
    pub const EQ: Ops = Ops(1);
    pub const EXCLUDE: Ops = Ops(2);
    pub const MIN: Ops = Ops(4);
    pub const MAX: Ops = Ops(8);
    pub const GREATER: Ops = Ops(16);
    pub const LESS: Ops = Ops(32);
    pub const NONE: Ops = Ops(0);
    /// Lamb's default: `=`, `.exclude`, `.min`, `.max`.
    pub const DEFAULT: Ops = Ops(1 | 2 | 4 | 8);
    pub const ALL: Ops = Ops(63);

    /// Both sets together (usable in `const`/`static` items).
    pub const fn with(self, other: Ops) -> Ops {
        Ops(self.0 | other.0)
    }

    pub const fn contains(self, other: Ops) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for Ops {
    fn default() -> Self {
        Ops::DEFAULT
    }
}

impl std::ops::BitOr for Ops {
    type Output = Ops;
    fn bitor(self, rhs: Ops) -> Ops {
        self.with(rhs)
    }
}

/// One filterable query key.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The query key, e.g. `time_created` or `analyse.type`.
    pub key: &'static str,
    /// The SQL expression it compiles to, e.g. `f.time_created`.
    pub column: &'static str,
    pub kind: FieldKind,
    pub ops: Ops,
}

/// Where `meta_data=` searches: rows of `meta_index` with this `object_kind`, matched on
/// `id_column`.
#[derive(Debug, Clone, Copy)]
pub struct MetaSpec {
    pub object_kind: &'static str,
    pub id_column: &'static str,
}

/// Everything one list endpoint accepts.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    pub fields: &'static [FieldSpec],
    /// `(sorting key, SQL column)`.
    pub sort_fields: &'static [(&'static str, &'static str)],
    /// `(sorting key, descending)`, appended after the client's own descriptors.
    pub default_sort: &'static [(&'static str, bool)],
    /// A unique column ordered last so pages are stable.
    pub tiebreak_column: &'static str,
    pub meta: Option<MetaSpec>,
    /// Keys the caller handles itself (`with_analyses`, `search_text` …).
    pub ignore_keys: &'static [&'static str],
}

/// One typed filter; all of a query's conditions are AND-ed.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Field(FieldCondition),
    Meta(MetaCondition),
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub offset: u64,
    /// `None` = `limit=-1` = everything.
    pub limit: Option<u64>,
    pub total_omit: bool,
    /// The effective order: the client's descriptors, then the spec's defaults not already named.
    pub sorting: Vec<Sort>,
    pub filters: Vec<Condition>,
}

/// Parse raw URL-decoded `(key, value)` pairs against `spec`. `now` (UNIX seconds) resolves
/// `now` / `today` in datetime values.
pub fn parse(params: &[(String, String)], spec: &ListSpec, now: f64) -> Result<ListQuery, QueryError> {
    let last = |key: &str| params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let page = pagination::parse(last(pagination::OFFSET_KEY), last(pagination::LIMIT_KEY))?;
    let total_omit = match last(pagination::TOTAL_OMIT_KEY) {
        Some(v) => filter::parse_bool(v).ok_or_else(|| QueryError::data_type(pagination::TOTAL_OMIT_KEY))?,
        None => false,
    };
    let mut sorting = parse_sorting(last(SORTING_KEY).unwrap_or(""), spec)?;
    for &(key, desc) in spec.default_sort {
        if !sorting.iter().any(|s| s.key == key) {
            if let Some(&(key, column)) = spec.sort_fields.iter().find(|(k, _)| *k == key) {
                sorting.push(Sort { key, column, desc });
            }
        }
    }

    // Merge repeated keys in order of first appearance; unknown keys never get this far, so
    // the grouping stays small whatever the client sends.
    let mut grouped: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, value) in params {
        let known = if key == META_KEY { spec.meta.is_some() } else { filter::is_field_key(key, spec) };
        if !known || is_reserved(key) || spec.ignore_keys.contains(&key.as_str()) || value.is_empty() {
            continue;
        }
        match grouped.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value),
            None => grouped.push((key, vec![value])),
        }
    }
    let mut filters = Vec::new();
    let mut budget = MAX_FILTER_VALUES;
    for (key, raws) in grouped {
        let count = raws.iter().map(|r| r.split(',').count()).sum::<usize>();
        budget = budget.checked_sub(count).ok_or_else(|| QueryError::too_many_values(key))?;
        let items = raws.iter().flat_map(|r| r.split(','));
        if key == META_KEY {
            for item in items {
                filters.push(Condition::Meta(meta::parse_descriptor(item)?));
            }
        } else if let Some(conds) = filter::parse_field(key, items, spec, now)? {
            filters.extend(conds.into_iter().map(Condition::Field));
        }
    }
    Ok(ListQuery { offset: page.offset, limit: page.limit, total_omit, sorting, filters })
}

/// At most this many comma-separated filter values (and `meta_data` descriptors) per query, so a
/// compiled query stays well below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
pub const MAX_FILTER_VALUES: usize = 1000;

fn is_reserved(key: &str) -> bool {
    matches!(key, pagination::OFFSET_KEY | pagination::LIMIT_KEY | pagination::TOTAL_OMIT_KEY | SORTING_KEY)
}
