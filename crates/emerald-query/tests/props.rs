//! Property tests: no input panics; datetime units and order; sorting round-trips.

mod common;

use common::{NOW, SPEC};
use emerald_query::{parse, parse_datetime, parse_sorting, Dialect, Sort};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "offset",
            "limit",
            "total_omit",
            "sorting",
            "meta_data",
            "name",
            "name.exclude",
            "count.min",
            "count.less",
            "score.greater",
            "folder_id",
            "folder_id.max",
            "is_done",
            "time_created.min",
            "resolution_status",
            "analyse.type",
            "with_analyses",
            "unknown",
        ])
        .prop_map(str::to_owned),
        ".{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[-0-9.eE,]{0,20}",
        "[a-z_.]{1,8}(==|!=|<=|>=|<|>)[a-z0-9.-]{0,6}(,[a-z_.]{1,8}(==|!=|<)[a-z0-9]{0,4}){0,3}",
        "[a-zA-Z_]{1,12}(\\{[a-zA-Z]{0,5}\\}?)?(,[a-z_]{1,12}(\\{(asc|desc)\\})?){0,3}",
        "(null|NULL|Null)(,[a-z]{0,3}){0,3}",
    ]
}

proptest! {
    #[test]
    fn parse_never_panics(params in prop::collection::vec((key(), value()), 0..6), first in 1usize..50) {
        if let Ok(q) = parse(&params, &SPEC, NOW) {
            let (sql, binds) = q.where_sql(&SPEC, Dialect::Postgres, first);
            prop_assert_eq!((sql.clone(), binds.clone()), q.where_sql(&SPEC, Dialect::Sqlite, first));
            // Every placeholder is numbered densely from `first`.
            for n in first..first + binds.len() {
                let needle = format!("${n}");
                prop_assert!(sql.contains(&needle), "{} missing in {}", needle, sql);
            }
            let _ = (q.order_sql(&SPEC), q.limit_sql());
        }
    }

    #[test]
    fn parse_datetime_never_panics(s in ".{0,40}") {
        let _ = parse_datetime(&s, NOW);
    }

    #[test]
    fn parse_datetime_numbers_never_panic(s in "[-+0-9.eE]{0,30}") {
        if let Ok(v) = parse_datetime(&s, NOW) {
            prop_assert!(v.is_finite());
        }
    }

    #[test]
    fn seconds_are_monotonic(a in 0i64..9_999_999_999, b in 0i64..9_999_999_999) {
        let (pa, pb) = (parse_datetime(&a.to_string(), NOW), parse_datetime(&b.to_string(), NOW));
        prop_assert_eq!(pa.clone(), Ok(a as f64));
        prop_assert_eq!(a.cmp(&b), pa.unwrap_or(0.0).total_cmp(&pb.unwrap_or(0.0)));
    }

    #[test]
    fn millis_and_micros_scale(secs in 1_000_000_000i64..9_000_000_000i64) {
        // 10-digit seconds: ms has 13 digits, µs 16.
        let s = parse_datetime(&secs.to_string(), NOW);
        let ms = parse_datetime(&(secs * 1000).to_string(), NOW);
        let us = parse_datetime(&(secs * 1_000_000).to_string(), NOW);
        prop_assert_eq!(s.clone(), Ok(secs as f64));
        prop_assert_eq!(ms, s.clone());
        prop_assert_eq!(us, s);
    }

    #[test]
    fn iso_matches_seconds(secs in 0i64..253_402_300_799) {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let iso = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60);
        prop_assert_eq!(parse_datetime(&iso, NOW), Ok(secs as f64), "{}", iso);
    }

    #[test]
    fn sorting_is_idempotent(raw in "[a-zA-Z_]{1,12}(\\{(asc|desc|ASC)\\})?(,[a-z_]{1,12}(\\{(asc|desc)\\})?){0,4}") {
        if let Ok(first) = parse_sorting(&raw, &SPEC) {
            let again = parse_sorting(&render(&first), &SPEC);
            prop_assert_eq!(Ok(first), again);
        }
    }

    #[test]
    fn parse_sorting_never_panics(raw in ".{0,40}") {
        let _ = parse_sorting(&raw, &SPEC);
    }
}

fn render(sorts: &[Sort]) -> String {
    sorts.iter().map(|s| format!("{}{{{}}}", s.key, if s.desc { "desc" } else { "asc" })).collect::<Vec<_>>().join(",")
}

/// Inverse of days-from-civil (Howard Hinnant), for generating ISO strings.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}
