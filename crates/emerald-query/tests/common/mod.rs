//! A folder-like list spec shared by the integration tests.
#![allow(dead_code)]

use emerald_query::{FieldKind, FieldSpec, ListSpec, MetaSpec, Ops};

pub const STATUSES: &[&str] = &["INITIAL", "PROCESSING", "FINISHED", "IMAGE=IMAGE_FOLDER", "IMAGE_FOLDER"];

pub static SPEC: ListSpec = ListSpec {
    fields: &[
        FieldSpec { key: "folder_id", column: "f.folder_id", kind: FieldKind::Uuid, ops: Ops::EQ.with(Ops::EXCLUDE) },
        FieldSpec { key: "name", column: "f.name", kind: FieldKind::Text, ops: Ops::DEFAULT },
        FieldSpec { key: "count", column: "f.count", kind: FieldKind::Int, ops: Ops::ALL },
        FieldSpec { key: "score", column: "f.score", kind: FieldKind::Float, ops: Ops::ALL },
        FieldSpec { key: "is_done", column: "f.is_done", kind: FieldKind::Bool, ops: Ops::DEFAULT },
        FieldSpec { key: "time_created", column: "f.time_created", kind: FieldKind::Time, ops: Ops::DEFAULT },
        FieldSpec { key: "resolution_status", column: "f.status", kind: FieldKind::Enum(STATUSES), ops: Ops::DEFAULT },
        FieldSpec {
            key: "analyse.type",
            column: "a.type",
            kind: FieldKind::Enum(&["QUALITY", "BIOMETRY"]),
            ops: Ops::EQ,
        },
    ],
    sort_fields: &[("time_created", "f.time_created"), ("time_updated", "f.time_updated"), ("name", "f.name")],
    default_sort: &[("time_created", true)],
    tiebreak_column: "f.folder_id",
    meta: Some(MetaSpec { object_kind: "folder", id_column: "f.folder_id" }),
    ignore_keys: &["with_analyses", "search_text"],
};

pub const NOW: f64 = 1_700_000_000.5;

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
