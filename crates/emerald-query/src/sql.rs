//! Compiling a [`ListQuery`] to SQL text with `$N` placeholders and ordered [`Param`]s.
//!
//! Only names from the [`ListSpec`] (columns, the `meta_index` table) are spliced into the text;
//! every client value is a bound parameter.

use crate::filter::{FieldCondition, FieldOp};
use crate::meta::{MetaCondition, MetaOp};
use crate::{Condition, Dialect, ListQuery, ListSpec, Param};

/// `LIMIT` for "no limit" with an offset: SQLite needs some LIMIT before OFFSET and PostgreSQL
/// rejects `LIMIT -1`; the largest BIGINT suits both.
const LIMIT_UNBOUNDED: i64 = i64::MAX;
/// The always-true condition, valid in both dialects.
const TRUE_SQL: &str = "1=1";

/// Accumulates placeholders and their values.
struct Binder {
    next: usize,
    params: Vec<Param>,
}

impl Binder {
    fn bind(&mut self, p: Param) -> String {
        let ph = format!("${}", self.next);
        self.next += 1;
        self.params.push(p);
        ph
    }

    fn list(&mut self, values: &[Param]) -> String {
        values.iter().map(|v| self.bind(v.clone())).collect::<Vec<_>>().join(", ")
    }
}

impl ListQuery {
    /// A boolean SQL expression (`1=1` when there are no filters; conditions AND-ed, each in
    /// parentheses) with placeholders `$first_param`, `$first_param+1`, … and their params.
    pub fn where_sql(&self, spec: &ListSpec, dialect: Dialect, first_param: usize) -> (String, Vec<Param>) {
        // Both dialects accept the same text today; see `Dialect`.
        match dialect {
            Dialect::Sqlite | Dialect::Postgres => {}
        }
        let mut b = Binder { next: first_param, params: Vec::new() };
        let mut parts = Vec::with_capacity(self.filters.len());
        for cond in &self.filters {
            match cond {
                Condition::Field(f) => parts.push(field_sql(f, &mut b)),
                Condition::Meta(m) => {
                    if let Some(meta) = spec.meta {
                        parts.push(meta_sql(m, meta.object_kind, meta.id_column, &mut b));
                    }
                }
            }
        }
        let sql = if parts.is_empty() {
            TRUE_SQL.to_owned()
        } else {
            parts.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" AND ")
        };
        (sql, b.params)
    }

    /// ` ORDER BY <sorts>, <tiebreak>`; the tiebreak follows the last term's direction.
    pub fn order_sql(&self, spec: &ListSpec) -> String {
        let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
        let mut terms: Vec<String> = self.sorting.iter().map(|s| format!("{} {}", s.column, dir(s.desc))).collect();
        if !spec.tiebreak_column.is_empty() && !self.sorting.iter().any(|s| s.column == spec.tiebreak_column) {
            let desc = self.sorting.last().is_some_and(|s| s.desc);
            terms.push(format!("{} {}", spec.tiebreak_column, dir(desc)));
        }
        if terms.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", terms.join(", "))
        }
    }

    /// ` LIMIT n OFFSET m`, or nothing for "all from 0".
    pub fn limit_sql(&self) -> String {
        match (self.limit, self.offset) {
            (Some(n), 0) => format!(" LIMIT {n}"),
            (Some(n), m) => format!(" LIMIT {n} OFFSET {m}"),
            (None, 0) => String::new(),
            (None, m) => format!(" LIMIT {LIMIT_UNBOUNDED} OFFSET {m}"),
        }
    }
}

fn field_sql(f: &FieldCondition, b: &mut Binder) -> String {
    let col = f.column;
    match &f.op {
        FieldOp::In { values, null } => {
            let vals = match values.as_slice() {
                [] => None,
                [one] => Some(format!("{col} = {}", b.bind(one.clone()))),
                many => Some(format!("{col} IN ({})", b.list(many))),
            };
            match (vals, null) {
                (Some(v), false) => v,
                (Some(v), true) => format!("{v} OR {col} IS NULL"),
                (None, _) => format!("{col} IS NULL"),
            }
        }
        FieldOp::NotIn { values, null } => {
            let vals = match values.as_slice() {
                [] => None,
                [one] => Some(format!("{col} <> {}", b.bind(one.clone()))),
                many => Some(format!("{col} NOT IN ({})", b.list(many))),
            };
            match (vals, null) {
                (Some(v), false) => v,
                (Some(v), true) => format!("{v} AND {col} IS NOT NULL"),
                (None, _) => format!("{col} IS NOT NULL"),
            }
        }
        FieldOp::Compare(cmp, v) => format!("{col} {} {}", cmp.sql(), b.bind(v.clone())),
    }
}

fn meta_sql(m: &MetaCondition, kind: &str, id_column: &str, b: &mut Binder) -> String {
    let k = b.bind(Param::Text(kind.to_owned()));
    let p = b.bind(Param::Text(m.path.clone()));
    let rows = format!("SELECT object_id FROM meta_index WHERE object_kind = {k} AND path = {p}");
    match &m.op {
        MetaOp::Eq(Some(v)) => format!("{id_column} IN ({rows} AND value_text = {})", b.bind(Param::Text(v.clone()))),
        // `#>>` is NULL for a JSON null and for a missing key alike.
        MetaOp::Eq(None) => format!("{id_column} NOT IN ({rows} AND value_text IS NOT NULL)"),
        MetaOp::Ne(Some(v)) => format!("{id_column} IN ({rows} AND value_text <> {})", b.bind(Param::Text(v.clone()))),
        MetaOp::Ne(None) => format!("{id_column} IN ({rows} AND value_text IS NOT NULL)"),
        MetaOp::Compare(cmp, v) => {
            format!("{id_column} IN ({rows} AND value_num {} {})", cmp.sql(), b.bind(Param::Float(*v)))
        }
    }
}
