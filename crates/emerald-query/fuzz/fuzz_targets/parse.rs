//! Arbitrary query strings through the whole list grammar and both SQL compilers: no panic,
//! placeholders dense from the first number.
#![no_main]

use emerald_query::{parse, Dialect, FieldKind, FieldSpec, ListSpec, MetaSpec, Ops};
use libfuzzer_sys::fuzz_target;

static SPEC: ListSpec = ListSpec {
    fields: &[
        FieldSpec {
            key: "folder_id",
            column: "f.folder_id",
            kind: FieldKind::Uuid,
            ops: Ops::DEFAULT,
        },
        FieldSpec {
            key: "name",
            column: "f.name",
            kind: FieldKind::Text,
            ops: Ops::ALL,
        },
        FieldSpec {
            key: "count",
            column: "f.count",
            kind: FieldKind::Int,
            ops: Ops::ALL,
        },
        FieldSpec {
            key: "score",
            column: "f.score",
            kind: FieldKind::Float,
            ops: Ops::ALL,
        },
        FieldSpec {
            key: "is_done",
            column: "f.is_done",
            kind: FieldKind::Bool,
            ops: Ops::DEFAULT,
        },
        FieldSpec {
            key: "time_created",
            column: "f.time_created",
            kind: FieldKind::Time,
            ops: Ops::ALL,
        },
        FieldSpec {
            key: "status",
            column: "f.status",
            kind: FieldKind::Enum(&["A", "B=BEE"]),
            ops: Ops::DEFAULT,
        },
    ],
    sort_fields: &[("time_created", "f.time_created"), ("name", "f.name")],
    default_sort: &[("time_created", true)],
    tiebreak_column: "f.folder_id",
    meta: Some(MetaSpec {
        object_kind: "folder",
        id_column: "f.folder_id",
    }),
    ignore_keys: &["with_analyses"],
};

fuzz_target!(|data: &[u8]| {
    // "k=v&k=v" without URL decoding: the grammar sees decoded pairs anyway.
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect();
    if let Ok(q) = parse(&pairs, &SPEC, 1_700_000_000.0) {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let (sql, params) = q.where_sql(&SPEC, dialect, 3);
            for n in 3..3 + params.len() {
                assert!(sql.contains(&format!("${n}")));
            }
        }
        let _ = (q.order_sql(&SPEC), q.limit_sql());
    }
});
