//! Every rule and every error message of the list grammar (spec §6.3).

mod common;

use common::{pairs, NOW, SPEC};
use emerald_query::{
    parse, parse_datetime, Cmp, Condition, FieldCondition, FieldOp, ListQuery, MetaCondition, MetaOp, Param,
    QueryError, Sort,
};
use serde_json::{json, Value};
use uuid::Uuid;

fn ok(list: &[(&str, &str)]) -> ListQuery {
    match parse(&pairs(list), &SPEC, NOW) {
        Ok(q) => q,
        Err(e) => panic!("{list:?} failed: {e:?}"),
    }
}

fn err(list: &[(&str, &str)]) -> QueryError {
    match parse(&pairs(list), &SPEC, NOW) {
        Ok(q) => panic!("{list:?} parsed: {q:?}"),
        Err(e) => e,
    }
}

fn qe(code: u16, message: &str, details: Value) -> QueryError {
    QueryError { code, message: message.to_owned(), details }
}

fn field(list: &[(&str, &str)]) -> FieldOp {
    match ok(list).filters.as_slice() {
        [Condition::Field(FieldCondition { op, .. })] => op.clone(),
        other => panic!("not one field condition: {other:?}"),
    }
}

fn meta(value: &str) -> Vec<MetaCondition> {
    ok(&[("meta_data", value)])
        .filters
        .into_iter()
        .map(|c| match c {
            Condition::Meta(m) => m,
            other => panic!("not meta: {other:?}"),
        })
        .collect()
}

fn text(s: &str) -> Param {
    Param::Text(s.to_owned())
}

// ---- pagination -------------------------------------------------------------------------

#[test]
fn pagination_defaults() {
    let q = ok(&[]);
    assert_eq!((q.offset, q.limit, q.total_omit), (0, Some(100), false));
    assert_eq!(q.filters, vec![]);
}

#[test]
fn pagination_values() {
    let q = ok(&[("offset", "20"), ("limit", "5000"), ("total_omit", "true")]);
    assert_eq!((q.offset, q.limit, q.total_omit), (20, Some(5000), true));
    assert_eq!(ok(&[("limit", "-1")]).limit, None);
    assert_eq!(ok(&[("limit", "0")]).limit, Some(0));
    assert_eq!(ok(&[("limit", " 7 ")]).limit, Some(7));
    assert_eq!(ok(&[("limit", "3"), ("limit", "4")]).limit, Some(4), "last occurrence wins");
    assert!(!ok(&[("total_omit", "False")]).total_omit);
    assert!(ok(&[("total_omit", "1")]).total_omit);
}

#[test]
fn pagination_errors() {
    assert_eq!(err(&[("offset", "-1")]), qe(4, "Invalid offset value for pagination", json!({"key": "offset"})));
    assert_eq!(err(&[("limit", "-2")]), qe(4, "Invalid limit value for pagination", json!({"key": "limit"})));
    assert_eq!(
        err(&[("limit", "5001")]),
        qe(4, "Invalid limit value for pagination - exceed max available", json!({"key": "limit"}))
    );
    assert_eq!(err(&[("limit", "ten")]), qe(5, "Invalid data type for param limit", json!({"key_path": "limit"})));
    assert_eq!(err(&[("limit", "1.5")]), qe(5, "Invalid data type for param limit", json!({"key_path": "limit"})));
    assert_eq!(err(&[("offset", "x")]), qe(5, "Invalid data type for param offset", json!({"key_path": "offset"})));
    assert_eq!(
        err(&[("total_omit", "maybe")]),
        qe(5, "Invalid data type for param total_omit", json!({"key_path": "total_omit"}))
    );
}

// ---- sorting ----------------------------------------------------------------------------

fn sorts(q: &ListQuery) -> Vec<(&'static str, bool)> {
    q.sorting.iter().map(|s| (s.key, s.desc)).collect()
}

#[test]
fn sorting_rules() {
    assert_eq!(sorts(&ok(&[])), vec![("time_created", true)], "default sort");
    assert_eq!(sorts(&ok(&[("sorting", "time_created{asc}")])), vec![("time_created", false)]);
    assert_eq!(
        sorts(&ok(&[("sorting", "name,time_updated{desc}")])),
        vec![("name", true), ("time_updated", true), ("time_created", true)],
        "bare = desc, default appended"
    );
    assert_eq!(sorts(&ok(&[("sorting", "TIME_UPDATED{ASC}")])), vec![("time_updated", false), ("time_created", true)]);
    assert_eq!(
        sorts(&ok(&[("sorting", "time_updated%7Basc%7D")])),
        vec![("time_updated", false), ("time_created", true)],
        "unquoted again"
    );
    assert_eq!(
        sorts(&ok(&[("sorting", " name{asc},name{desc}, ,")])),
        vec![("name", false), ("time_created", true)],
        "duplicates ignored, blanks skipped"
    );
    let q = ok(&[("sorting", "time_updated{asc}")]);
    assert_eq!(q.sorting[0], Sort { key: "time_updated", column: "f.time_updated", desc: false });
}

#[test]
fn sorting_errors() {
    assert_eq!(
        err(&[("sorting", "time_created{asc")]),
        qe(
            4,
            "Invalid sorting descriptor format time_created{asc",
            json!({"key_path": "sorting", "descriptor": "time_created{asc"})
        )
    );
    assert_eq!(
        err(&[("sorting", "na me")]),
        qe(4, "Invalid sorting descriptor format na me", json!({"key_path": "sorting", "descriptor": "na me"}))
    );
    assert_eq!(
        err(&[("sorting", "Color{asc}")]),
        qe(
            4,
            "Invalid sorting_field value for descriptor color{asc}. Not found in model",
            json!({"key_path": "sorting", "descriptor": "color{asc}", "field": "color"})
        )
    );
    assert_eq!(
        err(&[("sorting", "name{up}")]),
        qe(
            4,
            "Invalid sorting_direction value for descriptor name{up}. Should be one [asc or desc]",
            json!({"key_path": "sorting", "descriptor": "name{up}"})
        )
    );
}

// ---- field filters ----------------------------------------------------------------------

#[test]
fn eq_in_null() {
    assert_eq!(field(&[("name", "a")]), FieldOp::In { values: vec![text("a")], null: false });
    assert_eq!(field(&[("name", "a,b,a")]), FieldOp::In { values: vec![text("a"), text("b")], null: false });
    assert_eq!(field(&[("name", "a"), ("name", "b")]), FieldOp::In { values: vec![text("a"), text("b")], null: false });
    assert_eq!(field(&[("name", "NULL")]), FieldOp::In { values: vec![], null: true });
    assert_eq!(field(&[("name", "a,null")]), FieldOp::In { values: vec![text("a")], null: true });
    assert_eq!(field(&[("name.exclude", "a,Null")]), FieldOp::NotIn { values: vec![text("a")], null: true });
}

#[test]
fn ranges() {
    let q = ok(&[("count.min", "1"), ("count.max", "9"), ("count.greater", "0"), ("count.less", "10")]);
    let ops: Vec<FieldOp> = q
        .filters
        .into_iter()
        .map(|c| match c {
            Condition::Field(f) => f.op,
            Condition::Meta(m) => panic!("{m:?}"),
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            FieldOp::Compare(Cmp::Ge, Param::Int(1)),
            FieldOp::Compare(Cmp::Le, Param::Int(9)),
            FieldOp::Compare(Cmp::Gt, Param::Int(0)),
            FieldOp::Compare(Cmp::Lt, Param::Int(10)),
        ]
    );
}

#[test]
fn conversions() {
    let id = Uuid::from_u128(0x1234);
    assert_eq!(field(&[("folder_id", &id.to_string())]), FieldOp::In { values: vec![Param::Uuid(id)], null: false });
    assert_eq!(
        field(&[("folder_id", &id.simple().to_string())]),
        FieldOp::In { values: vec![Param::Uuid(id)], null: false }
    );
    assert_eq!(field(&[("score", " 1.5")]), FieldOp::In { values: vec![Param::Float(1.5)], null: false });
    assert_eq!(
        field(&[("is_done", "TRUE,0")]),
        FieldOp::In { values: vec![Param::Bool(true), Param::Bool(false)], null: false }
    );
    assert_eq!(
        field(&[("resolution_status", "finished,Image,IMAGE_FOLDER")]),
        FieldOp::In { values: vec![text("FINISHED"), text("IMAGE_FOLDER")], null: false },
        "enum canonical, alias, de-duplicated after conversion"
    );
    assert_eq!(field(&[("analyse.type", "quality")]), FieldOp::In { values: vec![text("QUALITY")], null: false });
    assert_eq!(
        field(&[("time_created.min", "1700000000123")]),
        FieldOp::Compare(Cmp::Ge, Param::Float(1_700_000_000.123))
    );
    assert_eq!(field(&[("time_created.max", "now")]), FieldOp::Compare(Cmp::Le, Param::Float(NOW)));
}

#[test]
fn conversion_errors() {
    let dt = |key: &str| qe(5, &format!("Invalid data type for param {key}"), json!({ "key_path": key }));
    assert_eq!(err(&[("folder_id", "nope")]), dt("folder_id"));
    assert_eq!(err(&[("count", "1.5")]), dt("count"));
    assert_eq!(err(&[("count.min", "x")]), dt("count.min"));
    assert_eq!(err(&[("score", "nan")]), dt("score"));
    assert_eq!(err(&[("is_done", "yes")]), dt("is_done"));
    assert_eq!(err(&[("resolution_status", "DONE")]), dt("resolution_status"));
    assert_eq!(err(&[("count.min", "null")]), dt("count.min"));
    assert_eq!(
        err(&[("time_created.min", "yesterday")]),
        qe(
            4,
            "Invalid to convert date from string=yesterday according to format=iso",
            json!({"key_path": "time_created.min"})
        )
    );
}

#[test]
fn op_not_allowed() {
    assert_eq!(
        err(&[("folder_id.min", "x")]),
        qe(4, "Filter operation min is not allowed for param folder_id", json!({"key_path": "folder_id.min"}))
    );
    assert_eq!(
        err(&[("name.greater", "x")]),
        qe(4, "Filter operation greater is not allowed for param name", json!({"key_path": "name.greater"}))
    );
    assert_eq!(
        err(&[("analyse.type.exclude", "quality")]),
        qe(
            4,
            "Filter operation exclude is not allowed for param analyse.type",
            json!({"key_path": "analyse.type.exclude"})
        )
    );
}

#[test]
fn ignored_keys() {
    let q =
        ok(&[("with_analyses", "true"), ("search_text", "x"), ("utm_source", "y"), ("name.foo", "z"), ("name", "")]);
    assert_eq!(q.filters, vec![]);
}

// ---- meta_data --------------------------------------------------------------------------

#[test]
fn meta_descriptors() {
    let m = |path: &str, op| MetaCondition { path: path.to_owned(), op };
    assert_eq!(meta("transaction_id==unique_id1"), vec![m("transaction_id", MetaOp::Eq(Some("unique_id1".into())))]);
    assert_eq!(
        meta("a.b.0!=x,k==null,n<=1.5,n>=2,n<3,n>-4"),
        vec![
            m("a.b.0", MetaOp::Ne(Some("x".into()))),
            m("k", MetaOp::Eq(None)),
            m("n", MetaOp::Compare(Cmp::Le, 1.5)),
            m("n", MetaOp::Compare(Cmp::Ge, 2.0)),
            m("n", MetaOp::Compare(Cmp::Lt, 3.0)),
            m("n", MetaOp::Compare(Cmp::Gt, -4.0)),
        ]
    );
    assert_eq!(meta("k!=NULL"), vec![m("k", MetaOp::Ne(None))]);
    assert_eq!(meta("a<=b==c"), vec![m("a<=b", MetaOp::Eq(Some("c".into())))], "== is tried first");
    assert_eq!(meta("eq==a=b"), vec![m("eq", MetaOp::Eq(Some("a=b".into())))]);
    let q = ok(&[("meta_data", "a==1"), ("meta_data", "b==2")]);
    assert_eq!(q.filters.len(), 2, "repeated meta_data merged");
}

#[test]
fn meta_errors() {
    let e3 = qe(3, "Could not parse json field request descriptor: key_path and value required", Value::Null);
    for bad in ["a", "==b", "a==", "a==1,", "a=b", "<3"] {
        assert_eq!(err(&[("meta_data", bad)]), e3, "{bad}");
    }
    let e5 = qe(5, "Invalid data type for param meta_data", json!({"key_path": "meta_data"}));
    assert_eq!(err(&[("meta_data", "n<abc")]), e5);
    assert_eq!(err(&[("meta_data", "n>null")]), e5);
}

// ---- datetimes --------------------------------------------------------------------------

fn dt_err(s: &str) -> QueryError {
    qe(4, &format!("Invalid to convert date from string={s} according to format=iso"), Value::Null)
}

#[test]
fn datetime_units() {
    assert_eq!(parse_datetime("1700000000", NOW), Ok(1_700_000_000.0));
    assert_eq!(parse_datetime("1700000000.25", NOW), Ok(1_700_000_000.25));
    assert_eq!(parse_datetime("9999999999", NOW), Ok(9_999_999_999.0), "10 digits: seconds");
    assert_eq!(parse_datetime("1700000000000", NOW), Ok(1_700_000_000.0), "13 digits: ms");
    assert_eq!(parse_datetime("1700000000000000", NOW), Ok(1_700_000_000.0), "16 digits: µs");
    assert_eq!(parse_datetime("0", NOW), Ok(0.0));
    assert_eq!(parse_datetime("-5", NOW), Ok(-5.0));
    assert_eq!(parse_datetime(" 12 ", NOW), Ok(12.0));
}

#[test]
fn datetime_words() {
    assert_eq!(parse_datetime("now", NOW), Ok(NOW));
    assert_eq!(parse_datetime("NOW", NOW), Ok(NOW));
    assert_eq!(parse_datetime("Today", NOW), Ok(1_699_920_000.0));
}

#[test]
fn datetime_iso() {
    let t = 1_700_000_000.0; // 2023-11-14T22:13:20Z
    assert_eq!(parse_datetime("2023-11-14T22:13:20Z", NOW), Ok(t));
    assert_eq!(parse_datetime("2023-11-14T22:13:20", NOW), Ok(t));
    assert_eq!(parse_datetime("2023-11-14 22:13:20+00:00", NOW), Ok(t));
    assert_eq!(parse_datetime("2023-11-15T01:13:20+03:00", NOW), Ok(t));
    assert_eq!(parse_datetime("2023-11-14T20:13:20-0200", NOW), Ok(t));
    assert_eq!(parse_datetime("2023-11-14T22:13:20.5Z", NOW), Ok(t + 0.5));
    assert_eq!(parse_datetime("2023-11-14T22:13", NOW), Ok(t - 20.0));
    assert_eq!(parse_datetime("2023-11-14", NOW), Ok(1_699_920_000.0));
    assert_eq!(parse_datetime("20231114", NOW), Ok(20_231_114.0), "a number first, as Lamb tries float()");
    assert_eq!(parse_datetime("20231114T00:00Z", NOW), Ok(1_699_920_000.0));
    assert_eq!(parse_datetime("2024-02-29", NOW), Ok(1_709_164_800.0));
    assert_eq!(parse_datetime("1970-01-01T00:00:00Z", NOW), Ok(0.0));
}

#[test]
fn datetime_errors() {
    for bad in [
        "",
        "yesterday",
        "2023-13-01",
        "2023-02-29",
        "2023-11-14T24:00",
        "2023-11-14T22:13:60",
        "2023-11-14X22:13",
        "2023-11-14T22:13:20+25:00",
        "nan",
        "inf",
        "1e400",
        "12ab",
        "2023/11/14",
        "1.2.3",
        "0000-01-01",
    ] {
        assert_eq!(parse_datetime(bad, NOW), Err(dt_err(bad)), "{bad:?}");
    }
}

#[test]
fn too_many_values() {
    let many = vec!["a"; 1001].join(",");
    assert_eq!(
        err(&[("name", &many)]),
        qe(4, "Too many filter values for param name. Max is 1000", json!({"key_path": "name"}))
    );
    let half = vec!["a"; 600].join(",");
    assert_eq!(
        err(&[("name", &half), ("name.exclude", &half)]),
        qe(4, "Too many filter values for param name.exclude. Max is 1000", json!({"key_path": "name.exclude"}))
    );
    assert_eq!(ok(&[("name", &vec!["a"; 1000].join(","))]).filters.len(), 1);
    let unknown: Vec<(String, String)> = (0..20_000).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    assert_eq!(parse(&unknown, &SPEC, NOW).map(|q| q.filters.len()), Ok(0), "unknown keys are cheap");
}
