//! Fast path vs slow path: the compiled SQL runs on a real in-memory SQLite (through Python's
//! built-in `sqlite3`, so no C build in this crate's dev-dependencies) and must return exactly the
//! rows, in order, that a pure-Rust evaluation of the same `ListQuery` returns. Skipped when
//! `python3` is not installed.

mod common;

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use common::{pairs, NOW, SPEC};
use emerald_query::{flatten_meta, parse, Cmp, Condition, Dialect, FieldOp, ListQuery, MetaEntry, MetaOp, Param};
use proptest::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

/// One stored value, with SQLite's ordering (NULL < numbers < text < blob).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    fn of(p: &Param) -> Cell {
        match p {
            Param::Text(s) => Cell::Text(s.clone()),
            Param::Float(f) => Cell::Num(*f),
            Param::Int(i) => Cell::Num(*i as f64),
            Param::Uuid(u) => Cell::Blob(u.as_bytes().to_vec()),
            Param::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Num(_) => 1,
            Cell::Text(_) => 2,
            Cell::Blob(_) => 3,
        }
    }

    fn order(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Num(a), Cell::Num(b)) => a.total_cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Cell::Blob(a), Cell::Blob(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Num(f) => json!(f),
            Cell::Text(s) => json!(s),
            Cell::Blob(b) => {
                json!({ "blob": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
            }
        }
    }
}

const COLUMNS: [&str; 7] =
    ["f.name", "f.count", "f.score", "f.is_done", "f.time_created", "f.time_updated", "f.status"];

#[derive(Debug)]
struct Row {
    id: Uuid,
    cells: Vec<Cell>,
    meta: Vec<MetaEntry>,
}

impl Row {
    fn get(&self, column: &str) -> Cell {
        if column == "f.folder_id" {
            return Cell::Blob(self.id.as_bytes().to_vec());
        }
        COLUMNS.iter().position(|c| *c == column).map_or(Cell::Null, |i| self.cells[i].clone())
    }
}

fn holds(row: &Row, cond: &Condition) -> bool {
    match cond {
        Condition::Field(f) => {
            let v = row.get(f.column);
            let is = |p: &Param| v.order(&Cell::of(p)) == Ordering::Equal;
            match &f.op {
                FieldOp::In { values, null } => {
                    (v != Cell::Null && values.iter().any(is)) || (*null && v == Cell::Null)
                }
                FieldOp::NotIn { values, .. } => v != Cell::Null && !values.iter().any(is),
                FieldOp::Compare(c, p) => v != Cell::Null && cmp(*c, v.order(&Cell::of(p))),
            }
        }
        Condition::Meta(m) => {
            let mut at = row.meta.iter().filter(|r| r.path == m.path);
            match &m.op {
                MetaOp::Eq(Some(x)) => at.any(|r| r.text.as_deref() == Some(x.as_str())),
                MetaOp::Eq(None) => !at.any(|r| r.text.is_some()),
                MetaOp::Ne(Some(x)) => at.any(|r| r.text.as_deref().is_some_and(|t| t != x)),
                MetaOp::Ne(None) => at.any(|r| r.text.is_some()),
                MetaOp::Compare(c, x) => at.any(|r| r.num.is_some_and(|n| cmp(*c, n.total_cmp(x)))),
            }
        }
    }
}

fn cmp(c: Cmp, o: Ordering) -> bool {
    match c {
        Cmp::Ge => o != Ordering::Less,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Lt => o == Ordering::Less,
    }
}

/// The slow path: filter, sort (tiebreak follows the last term, as `order_sql` does), page.
fn evaluate(q: &ListQuery, rows: &[Row]) -> Vec<Uuid> {
    let mut hit: Vec<&Row> = rows.iter().filter(|r| q.filters.iter().all(|c| holds(r, c))).collect();
    let tie_desc = q.sorting.last().is_some_and(|s| s.desc);
    hit.sort_by(|a, b| {
        let mut o = Ordering::Equal;
        for s in &q.sorting {
            o = o.then_with(|| {
                let x = a.get(s.column).order(&b.get(s.column));
                if s.desc {
                    x.reverse()
                } else {
                    x
                }
            });
        }
        let t = a.id.as_bytes().cmp(b.id.as_bytes());
        o.then(if tie_desc { t.reverse() } else { t })
    });
    let take = q.limit.map_or(usize::MAX, |l| l as usize);
    hit.into_iter().skip(q.offset as usize).take(take).map(|r| r.id).collect()
}

const PYTHON: &str = r#"
import json, sqlite3, sys
d = json.load(sys.stdin)
def cell(v):
    return bytes.fromhex(v["blob"]) if isinstance(v, dict) else v
db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE folders (folder_id BLOB PRIMARY KEY, name TEXT, count INTEGER, score REAL, is_done INTEGER, time_created REAL, time_updated REAL, status TEXT)")
db.execute("CREATE TABLE meta_index (object_kind TEXT, object_id BLOB, path TEXT, value_text TEXT, value_num REAL)")
db.executemany("INSERT INTO folders VALUES (?,?,?,?,?,?,?,?)", [[cell(c) for c in r] for r in d["rows"]])
db.executemany("INSERT INTO meta_index VALUES (?,?,?,?,?)", [[cell(c) for c in r] for r in d["meta"]])
out = [r[0].hex() for r in db.execute(d["sql"], {str(i + d["first"]): cell(p) for i, p in enumerate(d["params"])})]
print(json.dumps(out))
"#;

/// The fast path: the compiled SQL on SQLite. `None` when Python is unavailable.
fn run_sqlite(q: &ListQuery, rows: &[Row]) -> Option<Vec<Uuid>> {
    let first = 3;
    let (filter, params) = q.where_sql(&SPEC, Dialect::Sqlite, first);
    let sql = format!("SELECT f.folder_id FROM folders f WHERE ({filter}){}{}", q.order_sql(&SPEC), q.limit_sql());
    let id = |u: &Uuid| Cell::Blob(u.as_bytes().to_vec()).json();
    let input = json!({
        "rows": rows.iter().map(|r| {
            let mut v = vec![id(&r.id)];
            v.extend(r.cells.iter().map(Cell::json));
            v
        }).collect::<Vec<_>>(),
        "meta": rows.iter().flat_map(|r| r.meta.iter().map(|m| json!(["folder", id(&r.id), m.path, m.text, m.num]))).collect::<Vec<_>>(),
        "sql": sql,
        "first": first,
        "params": params.iter().map(|p| Cell::of(p).json()).collect::<Vec<_>>(),
    });
    let mut child =
        Command::new("python3").arg("-c").arg(PYTHON).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    child.stdin.take()?.write_all(input.to_string().as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "sqlite run failed for {sql}");
    let ids: Vec<String> = serde_json::from_slice(&out.stdout).ok()?;
    Some(ids.iter().filter_map(|h| Uuid::try_parse(h).ok()).collect())
}

fn cell_strategy(kind: usize) -> BoxedStrategy<Cell> {
    let null = Just(Cell::Null);
    match kind {
        0 | 6 => prop_oneof![
            null,
            prop::sample::select(vec!["a", "b", "INITIAL", "IMAGE_FOLDER", "FINISHED"])
                .prop_map(|s| Cell::Text(s.into()))
        ]
        .boxed(),
        1 => prop_oneof![null, (-1i64..4).prop_map(|i| Cell::Num(i as f64))].boxed(),
        2 => prop_oneof![null, prop::sample::select(vec![0.5, 1.0, 1.5]).prop_map(Cell::Num)].boxed(),
        3 => prop_oneof![null, (0..2).prop_map(|i| Cell::Num(f64::from(i)))].boxed(),
        _ => prop::sample::select(vec![100.0, 200.0, 300.0]).prop_map(Cell::Num).boxed(),
    }
}

fn row() -> impl Strategy<Value = Row> {
    let meta = prop::sample::select(vec![
        json!({}),
        json!({"a": "x"}),
        json!({"a": 1, "b": null}),
        json!({"a": {"a": "2.5"}, "b": [1, "a"]}),
        json!({"b": true}),
    ]);
    (any::<u128>(), (0..7).map(cell_strategy).collect::<Vec<_>>(), meta).prop_map(|(id, cells, m)| Row {
        id: Uuid::from_u128(id),
        cells,
        meta: flatten_meta(&m),
    })
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let pair = prop_oneof![
        (
            prop::sample::select(vec!["name", "name.exclude", "resolution_status", "resolution_status.exclude"]),
            prop::sample::select(vec!["a", "a,b", "null", "a,null", "image,finished", "INITIAL,null"])
        ),
        (
            prop::sample::select(vec![
                "count",
                "count.exclude",
                "count.min",
                "count.max",
                "count.greater",
                "count.less"
            ]),
            prop::sample::select(vec!["0", "1,2", "-1", "null", "3,null"])
        ),
        (
            prop::sample::select(vec!["score.min", "score.less", "is_done", "is_done.exclude"]),
            prop::sample::select(vec!["1", "0", "1,0"])
        ),
        (
            prop::sample::select(vec!["time_created.min", "time_created.max", "time_created"]),
            prop::sample::select(vec!["200", "100,300", "200000"])
        ),
        (
            Just("meta_data"),
            prop::sample::select(vec![
                "a==x",
                "a!=x",
                "a==null",
                "a!=null",
                "b==null",
                "a>=1",
                "a.a<3",
                "b.1==a",
                "b==true",
                "a==1,b==null"
            ])
        ),
        (
            Just("sorting"),
            prop::sample::select(vec!["name{asc}", "name", "time_updated{asc},name", "time_created{asc}"])
        ),
        (Just("limit"), prop::sample::select(vec!["-1", "0", "2", "5"])),
        (Just("offset"), prop::sample::select(vec!["0", "1", "3"])),
    ];
    prop::collection::vec(pair.prop_map(|(k, v)| (k.to_owned(), v.to_owned())), 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn sqlite_agrees_with_evaluator(rows in prop::collection::vec(row(), 0..12), params in query()) {
        let list: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let q = parse(&pairs(&list), &SPEC, NOW);
        let q = match q {
            Ok(q) => q,
            // e.g. `resolution_status=a`: not a status, refused before any SQL.
            Err(e) if e.code == 5 => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{list:?}: {e:?}"))),
        };
        if let Some(fast) = run_sqlite(&q, &rows) {
            prop_assert_eq!(fast, evaluate(&q, &rows), "{:?}", list);
        }
    }
}

/// Query pairs and the expected ids, in order.
type Case = (&'static [(&'static str, &'static str)], &'static [u128]);

#[test]
fn known_rows() {
    let mk = |n: u128, name: Option<&str>, t: f64, meta: Value| Row {
        id: Uuid::from_u128(n),
        cells: vec![
            name.map_or(Cell::Null, |s| Cell::Text(s.into())),
            Cell::Num(n as f64),
            Cell::Null,
            Cell::Num(1.0),
            Cell::Num(t),
            Cell::Num(t),
            Cell::Text("FINISHED".into()),
        ],
        meta: flatten_meta(&meta),
    };
    let rows = vec![
        mk(1, Some("a"), 100.0, json!({"tx": "t1", "n": 5})),
        mk(2, None, 200.0, json!({"tx": "t2", "n": "7.5"})),
        mk(3, Some("b"), 300.0, json!({"n": null})),
    ];
    let cases: [Case; 6] = [
        (&[], &[3, 2, 1]),
        (&[("meta_data", "tx==t2")], &[2]),
        (&[("meta_data", "n>=6")], &[2]),
        (&[("meta_data", "tx==null")], &[3]),
        (&[("name", "a,null"), ("sorting", "time_created{asc}")], &[1, 2]),
        (&[("name.exclude", "a"), ("resolution_status", "finished"), ("limit", "-1"), ("offset", "0")], &[3]),
    ];
    for (list, want) in cases {
        let q = match parse(&pairs(list), &SPEC, NOW) {
            Ok(q) => q,
            Err(e) => panic!("{list:?}: {e:?}"),
        };
        let want: Vec<Uuid> = want.iter().map(|n| Uuid::from_u128(*n)).collect();
        assert_eq!(evaluate(&q, &rows), want, "{list:?}");
        if let Some(fast) = run_sqlite(&q, &rows) {
            assert_eq!(fast, want, "{list:?}");
        }
    }
}
