//! Round trips: query pairs → `where_sql` / `order_sql` / `limit_sql`, for both dialects.

mod common;

use common::{pairs, NOW, SPEC};
use emerald_query::{parse, Dialect, ListQuery, Param};
use uuid::Uuid;

fn q(list: &[(&str, &str)]) -> ListQuery {
    match parse(&pairs(list), &SPEC, NOW) {
        Ok(q) => q,
        Err(e) => panic!("{list:?}: {e:?}"),
    }
}

/// The same SQL and params in both dialects, checked here once for every case.
fn where_(list: &[(&str, &str)], first: usize) -> (String, Vec<Param>) {
    let query = q(list);
    let lite = query.where_sql(&SPEC, Dialect::Sqlite, first);
    let pg = query.where_sql(&SPEC, Dialect::Postgres, first);
    assert_eq!(lite, pg);
    lite
}

fn t(s: &str) -> Param {
    Param::Text(s.to_owned())
}

#[test]
fn empty_is_true() {
    assert_eq!(where_(&[], 1), ("1=1".to_owned(), vec![]));
}

#[test]
fn field_filters() {
    assert_eq!(where_(&[("name", "a")], 1), ("(f.name = $1)".to_owned(), vec![t("a")]));
    assert_eq!(where_(&[("name", "a,b")], 3), ("(f.name IN ($3, $4))".to_owned(), vec![t("a"), t("b")]));
    assert_eq!(where_(&[("name", "null")], 1), ("(f.name IS NULL)".to_owned(), vec![]));
    assert_eq!(where_(&[("name", "a,b,null")], 1).0, "(f.name IN ($1, $2) OR f.name IS NULL)");
    assert_eq!(where_(&[("name", "a,null")], 1).0, "(f.name = $1 OR f.name IS NULL)");
    assert_eq!(where_(&[("name.exclude", "a")], 1).0, "(f.name <> $1)");
    assert_eq!(where_(&[("name.exclude", "a,b")], 1).0, "(f.name NOT IN ($1, $2))");
    assert_eq!(where_(&[("name.exclude", "a,null")], 1).0, "(f.name <> $1 AND f.name IS NOT NULL)");
    assert_eq!(where_(&[("name.exclude", "null")], 1).0, "(f.name IS NOT NULL)");
    assert_eq!(
        where_(
            &[("time_created.min", "10"), ("time_created.max", "20"), ("count.greater", "1"), ("count.less", "5")],
            2
        ),
        (
            "(f.time_created >= $2) AND (f.time_created <= $3) AND (f.count > $4) AND (f.count < $5)".to_owned(),
            vec![Param::Float(10.0), Param::Float(20.0), Param::Int(1), Param::Int(5)]
        )
    );
    let id = Uuid::from_u128(7);
    assert_eq!(where_(&[("folder_id", &id.to_string())], 1).1, vec![Param::Uuid(id)]);
    assert_eq!(where_(&[("resolution_status", "image")], 1).1, vec![t("IMAGE_FOLDER")]);
    assert_eq!(where_(&[("is_done", "true")], 1).1, vec![Param::Bool(true)]);
}

#[test]
fn meta_filters() {
    let sub = "SELECT object_id FROM meta_index WHERE object_kind = $1 AND path = $2";
    let (sql, params) = where_(&[("meta_data", "a.b==x")], 1);
    assert_eq!(sql, format!("(f.folder_id IN ({sub} AND value_text = $3))"));
    assert_eq!(params, vec![t("folder"), t("a.b"), t("x")]);
    assert_eq!(where_(&[("meta_data", "k!=x")], 1).0, format!("(f.folder_id IN ({sub} AND value_text <> $3))"));
    assert_eq!(
        where_(&[("meta_data", "k==null")], 1).0,
        format!("(f.folder_id NOT IN ({sub} AND value_text IS NOT NULL))")
    );
    assert_eq!(
        where_(&[("meta_data", "k!=null")], 1).0,
        format!("(f.folder_id IN ({sub} AND value_text IS NOT NULL))")
    );
    let (sql, params) = where_(&[("meta_data", "n>=2.5")], 1);
    assert_eq!(sql, format!("(f.folder_id IN ({sub} AND value_num >= $3))"));
    assert_eq!(params, vec![t("folder"), t("n"), Param::Float(2.5)]);
    let (sql, params) = where_(&[("name", "a"), ("meta_data", "x<1,y>2")], 5);
    assert_eq!(
        sql,
        "(f.name = $5) AND (f.folder_id IN (SELECT object_id FROM meta_index WHERE object_kind = $6 AND path = $7 \
         AND value_num < $8)) AND (f.folder_id IN (SELECT object_id FROM meta_index WHERE object_kind = $9 AND \
         path = $10 AND value_num > $11))"
    );
    assert_eq!(params.len(), 7);
}

#[test]
fn placeholders_are_dense() {
    let (sql, params) = where_(&[("name", "a,b,null"), ("count.min", "1"), ("meta_data", "k==v,j!=null")], 4);
    for n in 4..4 + params.len() {
        assert!(sql.contains(&format!("${n}")), "${n} missing in {sql}");
    }
    assert!(!sql.contains(&format!("${}", 4 + params.len())));
    assert!(!sql.contains("$3"));
}

#[test]
fn order() {
    assert_eq!(q(&[]).order_sql(&SPEC), " ORDER BY f.time_created DESC, f.folder_id DESC");
    assert_eq!(
        q(&[("sorting", "name{asc}")]).order_sql(&SPEC),
        " ORDER BY f.name ASC, f.time_created DESC, f.folder_id DESC"
    );
    assert_eq!(
        q(&[("sorting", "time_created{asc}")]).order_sql(&SPEC),
        " ORDER BY f.time_created ASC, f.folder_id ASC"
    );
}

#[test]
fn limit() {
    assert_eq!(q(&[]).limit_sql(), " LIMIT 100");
    assert_eq!(q(&[("offset", "10"), ("limit", "5")]).limit_sql(), " LIMIT 5 OFFSET 10");
    assert_eq!(q(&[("limit", "-1")]).limit_sql(), "");
    assert_eq!(q(&[("limit", "-1"), ("offset", "3")]).limit_sql(), " LIMIT 9223372036854775807 OFFSET 3");
}

#[test]
fn no_value_reaches_the_text() {
    let evil = "x'); DROP TABLE folders; --";
    let (sql, params) = where_(&[("name", evil), ("meta_data", &format!("k=={evil}"))], 1);
    assert!(!sql.contains("DROP"));
    assert!(params.contains(&t(evil)));
}
