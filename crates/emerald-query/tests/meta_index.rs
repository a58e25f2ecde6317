//! `flatten_meta` rows, and the index-based meaning of `meta_data=` checked against a direct
//! evaluation of PostgreSQL `#>>` semantics on the JSON document (fast path vs slow path).

mod common;

use common::{pairs, NOW, SPEC};
use emerald_query::{flatten_meta, parse, Cmp, Condition, MetaCondition, MetaEntry, MetaOp};
use proptest::prelude::*;
use serde_json::{json, Value};

fn e(path: &str, text: Option<&str>, num: Option<f64>) -> MetaEntry {
    MetaEntry { path: path.to_owned(), text: text.map(str::to_owned), num }
}

#[test]
fn flatten_renders_like_postgres() {
    let doc = json!({
        "s": "abc", "n": 42, "f": 1.5, "neg": -3, "t": true, "z": false, "nil": null, "numstr": " 7.25 ",
        "nested": {"a": {"b": "deep"}}, "arr": [1, "x", null, {"k": "v"}], "empty": {}, "none": []
    });
    let mut got = flatten_meta(&doc);
    got.sort_by(|a, b| a.path.cmp(&b.path));
    let mut want = vec![
        e("s", Some("abc"), None),
        e("n", Some("42"), Some(42.0)),
        e("f", Some("1.5"), Some(1.5)),
        e("neg", Some("-3"), Some(-3.0)),
        e("t", Some("true"), None),
        e("z", Some("false"), None),
        e("nil", None, None),
        e("numstr", Some(" 7.25 "), Some(7.25)),
        e("nested.a.b", Some("deep"), None),
        e("arr.0", Some("1"), Some(1.0)),
        e("arr.1", Some("x"), None),
        e("arr.2", None, None),
        e("arr.3.k", Some("v"), None),
    ];
    want.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(got, want);
    assert_eq!(flatten_meta(&json!("top")), vec![e("", Some("top"), None)]);
    assert_eq!(flatten_meta(&json!({})), vec![]);
    assert_eq!(flatten_meta(&json!({"inf": "inf", "nan": "NaN"}))[0].num, None);
}

/// `doc #>> path`: the text of the value at `path`, `None` when missing or JSON null.
fn pg_text(doc: &Value, path: &str) -> Option<String> {
    let mut cur = doc;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match cur {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn cmp(c: Cmp, a: f64, b: f64) -> bool {
    match c {
        Cmp::Ge => a >= b,
        Cmp::Le => a <= b,
        Cmp::Gt => a > b,
        Cmp::Lt => a < b,
    }
}

/// Slow path: Lamb on PostgreSQL, evaluated on the document (scalars only, as the index holds).
fn slow(doc: &Value, m: &MetaCondition) -> bool {
    let text = pg_text(doc, &m.path);
    match &m.op {
        MetaOp::Eq(Some(v)) => text.as_deref() == Some(v.as_str()),
        MetaOp::Eq(None) => text.is_none(),
        MetaOp::Ne(Some(v)) => text.is_some_and(|t| &t != v),
        MetaOp::Ne(None) => text.is_some(),
        MetaOp::Compare(c, v) => {
            text.and_then(|t| t.trim().parse::<f64>().ok()).is_some_and(|x| x.is_finite() && cmp(*c, x, *v))
        }
    }
}

/// Fast path: what the compiled `meta_index` sub-select selects.
fn fast(rows: &[MetaEntry], m: &MetaCondition) -> bool {
    let mut at = rows.iter().filter(|r| r.path == m.path);
    match &m.op {
        MetaOp::Eq(Some(v)) => at.any(|r| r.text.as_deref() == Some(v.as_str())),
        MetaOp::Eq(None) => !at.any(|r| r.text.is_some()),
        MetaOp::Ne(Some(v)) => at.any(|r| r.text.as_deref().is_some_and(|t| t != v)),
        MetaOp::Ne(None) => at.any(|r| r.text.is_some()),
        MetaOp::Compare(c, v) => at.any(|r| r.num.is_some_and(|x| cmp(*c, x, *v))),
    }
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(|n| json!(n)),
        (-5.0f64..5.0).prop_map(|f| json!((f * 4.0).round() / 4.0)),
        prop::sample::select(vec!["a", "b", "1", " 2.5", "x,y", ""]).prop_map(|s| json!(s)),
    ]
}

fn doc() -> impl Strategy<Value = Value> {
    let leaf = scalar();
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), tree, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn descriptor() -> impl Strategy<Value = String> {
    let path = prop::sample::select(vec!["a", "b", "c", "a.a", "a.0", "b.1.c", "a.b.a"]);
    let op = prop::sample::select(vec!["==", "!=", "<=", ">=", "<", ">"]);
    let value = prop::sample::select(vec!["a", "b", "1", "2.5", "-1", "true", "null", "0"]);
    (path, op, value).prop_map(|(p, o, v)| format!("{p}{o}{v}"))
}

fn count_scalars(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(count_scalars).sum(),
        Value::Array(a) => a.iter().map(count_scalars).sum(),
        _ => 1,
    }
}

proptest! {
    #[test]
    fn leaf_count_matches(d in doc()) {
        let rows = flatten_meta(&d);
        prop_assert_eq!(rows.len(), count_scalars(&d));
        for r in &rows {
            prop_assert_eq!(r.text.clone(), pg_text(&d, &r.path));
        }
    }

    #[test]
    fn index_agrees_with_json(d in doc(), ds in descriptor()) {
        let q = parse(&pairs(&[("meta_data", &ds)]), &SPEC, NOW);
        let q = match q {
            Ok(q) => q,
            // An ordering operator with a non-numeric value is refused up front.
            Err(e) if e.code == 5 => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{ds}: {e:?}"))),
        };
        let rows = flatten_meta(&d);
        for c in &q.filters {
            let Condition::Meta(m) = c else { continue };
            // `#>>` also renders objects and arrays as text; the index only holds scalars, so
            // compare only where the path does not name a container.
            let container = matches!(lookup(&d, &m.path), Some(Value::Object(_) | Value::Array(_)));
            if !container {
                prop_assert_eq!(fast(&rows, m), slow(&d, m), "{} on {}", ds, d);
            }
        }
    }
}

fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(doc, |cur, seg| match cur {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
        _ => None,
    })
}
