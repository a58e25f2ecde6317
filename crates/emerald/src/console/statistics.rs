//! `GET {base}/statistics` and its chart CSVs: the same domain functions as
//! `GET /api/statistics/orders` (also `group_by=type`) and `GET /api/statistics/performance`
//! (the database aggregates; nothing is counted here), over a period of UTC days, by day, week
//! or month, for a company (ADMIN, OPERATOR) or a user (CLIENT ADMIN, CLIENT OPERATOR) as the
//! role allows. Charts are SVG drawn here (console/charts.rs: bars, lines or donuts, chosen
//! per chart by a GET form), each with its data as a table and as CSV; the page's own script
//! (assets/statistics.js) keeps the choices per browser and exports a chart as PNG.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::charts::{Chart, Kind, SeriesAttr};
use super::html::{query_value, Html};
use super::pages::{badge, dl_row, get, input, parse_query, utc};
use super::{error_page, page_with_script, settings, text, Session};
use crate::api::reports::csv_field;
use crate::api::AppState;
use crate::domain::folders::service::FolderWith;
use crate::domain::folders::statistics::{
    parse_utc_offset, utc_offset_text, Performance, PeriodCounts, ScoreHistogram, ANALYSIS_STATUSES,
    LATENCY_P90_TARGET_SECS, ORDER_STATUSES, PERSON_KEY_DEFAULT, QUEUE_TARGET, SCORE_BINS,
};
use crate::domain::model::role::UserType;
use crate::domain::store::{Granularity, ListParams, Percentiles, Periods};
use crate::domain::Error;

/// Most periods a chart fills in (a longer range shows only the periods with orders).
const PERIODS_FILLED_MAX: usize = 400;
const DAY: f64 = 86_400.0;

/// The page's filters, as the form sent them (dates `YYYY-MM-DD`).
struct Filters {
    min: String,
    max: String,
    granularity: Granularity,
    /// The periods' fixed offset from UTC, seconds east (`utc_offset`, set by console.js to the
    /// browser's; UTC without script).
    utc_offset: i32,
    /// A malformed `utc_offset`: its message (the page shows UTC and says why).
    offset_refused: Option<String>,
    company_id: Option<String>,
    user_id: Option<String>,
    performance: bool,
    /// The folders' meta_data key that names a person (`person_key`, `iin` by default).
    person_key: String,
    chart_orders: Kind,
    chart_types: Kind,
    /// The score histograms' kind (bars or line: a histogram has no donut).
    chart_scores: Kind,
}

/// The analysis types, in the order the page shows them.
const TYPES: [&str; 4] = ["QUALITY", "BIOMETRY", "COLLECTION", "DOCUMENTS"];

fn granularity_name(g: Granularity) -> &'static str {
    match g {
        Granularity::Day => "day",
        Granularity::Week => "week",
        Granularity::Month | Granularity::Total => "month",
    }
}

impl Filters {
    /// From the query; the last 7 days by default (as Oz's "this week").
    fn of(q: &[(String, String)]) -> Filters {
        let now = crate::domain::time::now();
        let granularity = match get(q, "granularity") {
            Some("week") => Granularity::Week,
            Some("month") => Granularity::Month,
            _ => Granularity::Day,
        };
        let (utc_offset, offset_refused) = match parse_utc_offset("utc_offset", get(q, "utc_offset").unwrap_or("")) {
            Ok(off) => (off, None),
            Err(e) => (0, Some(e.to_string())),
        };
        // Today in the offset: the default window is its last 7 days.
        let local_now = now + f64::from(utc_offset);
        Filters {
            min: get(q, "time_created.min")
                .map(str::to_owned)
                .unwrap_or_else(|| utc(local_now - 6.0 * DAY)[..10].to_owned()),
            max: get(q, "time_created.max").map(str::to_owned).unwrap_or_else(|| utc(local_now)[..10].to_owned()),
            granularity,
            utc_offset,
            offset_refused,
            company_id: get(q, "company_id").map(str::to_owned),
            user_id: get(q, "user_id").map(str::to_owned),
            performance: get(q, "tab") == Some("performance"),
            person_key: get(q, "person_key")
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .unwrap_or(PERSON_KEY_DEFAULT)
                .to_owned(),
            chart_orders: Kind::of(get(q, "chart_orders")),
            chart_types: Kind::of(get(q, "chart_types")),
            chart_scores: match Kind::of(get(q, "chart_scores")) {
                Kind::Donut => Kind::Bars,
                k => k,
            },
        }
    }

    /// The folder-list parameters of the API calls (the end date as the whole day; with an
    /// offset, the dates are the offset's days, sent as UNIX times).
    fn params(&self) -> ListParams {
        let max = if self.max.len() == 10 { format!("{}T23:59:59.999999", self.max) } else { self.max.clone() };
        let (min, max) = match self.utc_offset {
            0 => (self.min.clone(), max),
            off => {
                let now = crate::domain::time::now();
                let shift = |v: &str| match emerald_query::parse_datetime(v, now) {
                    Ok(t) => format!("{:.6}", t - f64::from(off)),
                    Err(_) => v.to_owned(),
                };
                (shift(&self.min), shift(&max))
            }
        };
        let mut p = vec![("time_created.min".to_owned(), min), ("time_created.max".to_owned(), max)];
        if let Some(c) = &self.company_id {
            p.push(("company_id".into(), c.clone()));
        }
        if let Some(u) = &self.user_id {
            p.push(("user_id".into(), u.clone()));
        }
        ListParams(p)
    }

    /// The filters and chart choices as name-value pairs (the tab aside).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("time_created.min", self.min.clone()),
            ("time_created.max", self.max.clone()),
            ("granularity", granularity_name(self.granularity).to_owned()),
        ];
        if self.utc_offset != 0 {
            out.push(("utc_offset", utc_offset_text(self.utc_offset)));
        }
        for (k, v) in [("company_id", &self.company_id), ("user_id", &self.user_id)] {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        }
        if self.person_key != PERSON_KEY_DEFAULT {
            out.push(("person_key", self.person_key.clone()));
        }
        out.push(("chart_orders", self.chart_orders.name().to_owned()));
        out.push(("chart_types", self.chart_types.name().to_owned()));
        out.push(("chart_scores", self.chart_scores.name().to_owned()));
        out
    }

    /// The filters as a query string (for tabs and CSV links), ending with `&`.
    fn query(&self) -> String {
        self.pairs().into_iter().map(|(k, v)| format!("{k}={}&", query_value(&v))).collect()
    }

    /// The periods the store buckets by.
    fn periods_of(&self) -> Periods {
        Periods { granularity: self.granularity, utc_offset: self.utc_offset }
    }

    /// Every period from the start to the end, when there are not too many (the dates are the
    /// offset's days: bucketed as UTC, as the store buckets the shifted times).
    fn periods(&self) -> Option<Vec<String>> {
        let now = crate::domain::time::now();
        let start = emerald_query::parse_datetime(&self.min, now).ok()?;
        let end = emerald_query::parse_datetime(&self.max, now).ok()?;
        let mut out = Vec::new();
        let mut t = period_start(start, self.granularity);
        while t <= end {
            out.push(utc(t)[..10].to_owned());
            if out.len() > PERIODS_FILLED_MAX {
                return None;
            }
            t = next_period(t, self.granularity)?;
        }
        Some(out)
    }
}

/// The UNIX time of the start of `t`'s period (UTC; weeks from Monday).
fn period_start(t: f64, g: Granularity) -> f64 {
    let day = (t / DAY).floor();
    match g {
        Granularity::Day | Granularity::Total => day * DAY,
        // 1970-01-01 was a Thursday: Monday is 3 days before.
        Granularity::Week => (day - (day + 3.0).rem_euclid(7.0)) * DAY,
        Granularity::Month => {
            let first = format!("{}-01", &utc(t)[..7]);
            emerald_query::parse_datetime(&first, 0.0).unwrap_or(day * DAY)
        }
    }
}

fn next_period(t: f64, g: Granularity) -> Option<f64> {
    match g {
        Granularity::Day | Granularity::Total => Some(t + DAY),
        Granularity::Week => Some(t + 7.0 * DAY),
        // Some day of the next month, back to its first.
        Granularity::Month => Some(period_start(t + 32.0 * DAY, Granularity::Month)),
    }
}

/// Seconds as a short duration.
fn duration(secs: Option<f64>) -> String {
    match secs {
        None => "–".to_owned(),
        Some(s) if s < 120.0 => format!("{s:.1} s"),
        Some(s) if s < 7_200.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3_600.0),
    }
}

fn is_input_error(e: &Error) -> bool {
    matches!(e, Error::InvalidValue { .. } | Error::InvalidType { .. } | Error::InvalidStructure { .. })
}

/// `GET {base}/statistics?time_created.min=&time_created.max=&granularity=&company_id=&user_id=&tab=`.
pub async fn statistics(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let q = parse_query(raw);
    let f = Filters::of(&q);
    let mut b = Html::new();
    b.el("<h1>", text::STATS_TITLE, "</h1>");
    b.s("<nav class=\"tabs\" aria-label=\"").t(text::STATS_TITLE).s("\"><a href=\"").t(base).s("/statistics?");
    b.t(f.query()).s("\"").s(if f.performance { "" } else { " aria-current=\"page\"" }).s(">");
    b.t(text::STATS_COMMON).s("</a> <a href=\"").t(base).s("/statistics?").t(f.query()).s("tab=performance\"");
    b.s(if f.performance { " aria-current=\"page\"" } else { "" }).s(">").t(text::STATS_PERFORMANCE).s("</a></nav>");
    filter_form(&mut b, &state, &session, &f).await;
    if let Some(m) = &f.offset_refused {
        b.el("<p class=\"error\" role=\"alert\">", m, "</p>");
    }
    offset_note(&mut b, f.utc_offset);
    let params = f.params();
    let result = if f.performance {
        performance_tab(&mut b, &state, &session, &f, &params).await
    } else {
        common_tab(&mut b, &state, &session, &f, &params).await
    };
    match result {
        Ok(()) => {}
        Err(e) if is_input_error(&e) => {
            b.el("<p class=\"error\" role=\"alert\">", e.to_string(), "</p>");
        }
        Err(e) => return error_page(base, e),
    }
    page_with_script(&state, &session, text::STATS_TITLE, b, STATISTICS_JS_PATH)
}

/// Which offset the dates and periods are in.
fn offset_note(b: &mut Html, utc_offset: i32) {
    b.s("<p class=\"note\" id=\"stats-offset\">");
    if utc_offset == 0 {
        b.t(text::STATS_IN_UTC);
    } else {
        b.t(format!("{} UTC{} {}", text::STATS_IN_OFFSET, utc_offset_text(utc_offset), text::STATS_OFFSET_FIXED));
    }
    b.s("</p>");
}

/// The page's own script (under the console's base path).
pub const STATISTICS_JS_PATH: &str = "/assets/statistics.js";

async fn filter_form(b: &mut Html, state: &AppState, session: &Session, f: &Filters) {
    b.s("<form method=\"get\" action=\"").t(&session.base).s("/statistics\" class=\"filters\"><fieldset><legend>");
    b.t(text::PERIOD).s("</legend>");
    if f.performance {
        b.s("<input type=\"hidden\" name=\"tab\" value=\"performance\">");
    }
    input(b, "time_created.min", text::FILTER_FROM, "date", Some(&f.min));
    input(b, "time_created.max", text::FILTER_TO, "date", Some(&f.max));
    // console.js writes the browser's offset here (`±HH:MM`); without script it stays UTC.
    let offset = if f.utc_offset == 0 { String::new() } else { utc_offset_text(f.utc_offset) };
    b.s("<input type=\"hidden\" name=\"utc_offset\" data-utc-offset value=\"").t(offset).s("\">");
    b.s("<label for=\"f-granularity\">").t(text::GRANULARITY).s("</label>");
    b.s("<select id=\"f-granularity\" name=\"granularity\">");
    for (value, label) in [("day", text::BY_DAY), ("week", text::BY_WEEK), ("month", text::BY_MONTH)] {
        b.s("<option value=\"").s(value).s("\"");
        if granularity_name(f.granularity) == value {
            b.s(" selected");
        }
        b.s(">").t(label).s("</option>");
    }
    b.s("</select>");
    b.s("<label for=\"f-person_key\">").t(text::PERSON_KEY).s("</label><input id=\"f-person_key\" ");
    b.s("name=\"person_key\" type=\"text\" maxlength=\"100\" value=\"").t(&f.person_key).s("\">");
    // The chart choices stay as they are.
    for (k, v) in f.pairs().into_iter().filter(|(k, _)| k.starts_with("chart_")) {
        b.s("<input type=\"hidden\" name=\"").s(k).s("\" value=\"").t(v).s("\">");
    }
    let t = session.caller.user_type;
    if t.is_global() {
        super::collections::company_select(b, state, session, f.company_id.as_deref().unwrap_or("")).await;
    } else if matches!(t, UserType::ClientAdmin | UserType::ClientOperator) {
        let users = state
            .domain
            .list_users(&session.caller, None, &ListParams(vec![("limit".into(), "500".into())]))
            .await
            .map(|p| p.items)
            .unwrap_or_default();
        b.s("<label for=\"f-user_id\">").t(text::USER).s("</label><select id=\"f-user_id\" name=\"user_id\">");
        b.s("<option value=\"\">").t(text::FILTER_ANY).s("</option>");
        for u in users {
            let id = u.user_id.to_string();
            b.s("<option value=\"").t(&id).s("\"").s(if f.user_id.as_deref() == Some(&id) { " selected" } else { "" });
            b.s(">").t(&u.email).s("</option>");
        }
        b.s("</select>");
    }
    b.s("<div class=\"actions\"><button type=\"submit\">").t(text::APPLY).s("</button></div></fieldset></form>");
}

fn csv_link(b: &mut Html, base: &str, f: &Filters, chart: &'static str) {
    b.s("<p><a hx-boost=\"false\" download href=\"").t(base).s("/statistics.csv?").t(f.query()).s("chart=");
    b.s(chart).s("\">").t(text::CHART_CSV).s("</a></p>");
}

async fn common_tab(
    b: &mut Html,
    state: &AppState,
    session: &Session,
    f: &Filters,
    params: &ListParams,
) -> Result<(), Error> {
    let d = &state.domain;
    let caller = &session.caller;
    let mut succeeded = params.clone();
    succeeded.0.push(("resolution_status".into(), "SUCCESS".into()));
    // The page's six queries at once: each is bounded by the window (store/statistics.rs), and
    // the database runs them side by side on its pool's connections.
    let (orders, types, perf, persons, succeeded, backlog) = tokio::try_join!(
        d.order_statistics(caller, params, f.periods_of(), &f.person_key),
        d.analysis_statistics(caller, params, f.periods_of()),
        d.performance(caller, params),
        d.unique_persons(caller, params, &f.person_key),
        d.unique_persons(caller, &succeeded, &f.person_key),
        review_backlog(state, session, None),
    )?;

    b.s("<section><h2>").t(text::ORDERS_TITLE).s("</h2><dl>");
    window_rows(b, &orders, backlog);
    dl_row(
        b,
        text::DECISION_MEDIAN,
        format!("{} ({} {})", duration(perf.decision.p50), perf.decision.count, text::DECISIONS),
    );
    b.el("<dt>", format!("{} {}", text::UNIQUE_PERSONS_BY, f.person_key), "</dt>");
    b.el("<dd>", format!("{} ({} {} {})", persons.persons, persons.folders, text::ORDERS_CARRY, f.person_key), "</dd>");
    if persons.persons > 0 {
        dl_row(b, text::ATTEMPTS_PER_PERSON, format!("{:.2}", persons.folders as f64 / persons.persons as f64));
        let share = succeeded.persons as f64 * 100.0 / persons.persons as f64;
        dl_row(b, text::PERSONS_SUCCEEDED, format!("{} ({share:.1} %)", succeeded.persons));
    }
    b.s("</dl>");

    // Orders over time as the chosen chart, its numbers, then the totals by status.
    b.s("<h3>").t(text::ORDERS_OVER_TIME).s("</h3>");
    kind_form(b, &session.base, f, "orders");
    orders_chart(&fill_periods(f, &orders)).render(b, f.chart_orders);
    csv_link(b, &session.base, f, "orders");
    orders_by_status(b, &orders);
    b.s("</section>");

    // Analyses by type and result over the period: the chosen chart, then the table.
    b.s("<section><h2>").t(text::ANALYSES).s("</h2>");
    kind_form(b, &session.base, f, "types");
    types_chart(f, &types, f.chart_types).render(b, f.chart_types);
    b.s("<div class=\"scroll\"><table class=\"counts\"><caption>")
        .t(text::ANALYSES_BY_RESULT)
        .s("</caption><thead><tr>");
    b.s("<th scope=\"col\">").t(text::FILTER_TYPE).s("</th><th scope=\"col\">").t(text::TOTAL).s("</th>");
    for r in ANALYSIS_STATUSES {
        b.s("<th scope=\"col\">");
        badge(b, r);
        b.s("</th>");
    }
    b.s("</tr></thead><tbody>");
    for t in TYPES {
        let of_type: Vec<&PeriodCounts> = types.iter().filter(|p| p.analysis_type.as_deref() == Some(t)).collect();
        b.s("<tr><th scope=\"row\">").t(t).s("</th>");
        b.el("<td class=\"num\">", of_type.iter().map(|p| p.total).sum::<u64>(), "</td>");
        for r in ANALYSIS_STATUSES {
            b.el("<td class=\"num\">", of_type.iter().map(|p| p.count(r)).sum::<u64>(), "</td>");
        }
        b.s("</tr>");
    }
    b.s("</tbody></table></div>");
    csv_link(b, &session.base, f, "types");
    b.s("</section>");
    histograms(b, &session.base, f, &perf);
    Ok(())
}

/// The company page's statistics (spec §4.7): its orders of the last 7 UTC days by status, the
/// decline rate and the cases waiting for a decision now — the statistics page's own domain
/// calls with `company_id`, over the orders the caller sees (the page links the whole
/// statistics page for the roles that choose a company there).
pub(super) async fn company_summary(b: &mut Html, state: &AppState, session: &Session, company_id: uuid::Uuid) {
    let (d, caller) = (&state.domain, &session.caller);
    let min = utc(crate::domain::time::now() - 6.0 * DAY)[..10].to_owned();
    let window = ListParams(vec![("time_created.min".into(), min), ("company_id".into(), company_id.to_string())]);
    let Ok((orders, backlog)) = tokio::try_join!(
        d.order_statistics(caller, &window, Periods::utc(Granularity::Total), PERSON_KEY_DEFAULT),
        review_backlog(state, session, Some(company_id)),
    ) else {
        return;
    };
    b.s("<section id=\"statistics\"><h2>").t(text::COMPANY_LAST_7_DAYS).s("</h2><dl>");
    window_rows(b, &orders, backlog);
    b.s("</dl>");
    orders_by_status(b, &orders);
    b.s("</section>");
}

/// The cases waiting for a decision now (OPERATOR_REQUIRED orders the caller sees, of one
/// company when given): the folder list's count.
async fn review_backlog(state: &AppState, session: &Session, company_id: Option<uuid::Uuid>) -> Result<u64, Error> {
    let mut params =
        vec![("resolution_status".to_owned(), "OPERATOR_REQUIRED".to_owned()), ("limit".into(), "1".into())];
    params.extend(company_id.map(|c| ("company_id".to_owned(), c.to_string())));
    let with = FolderWith { media: false, analyses: false, user: false, company: false };
    Ok(state.domain.list_folders(&session.caller, &ListParams(params), with).await?.total.unwrap_or(0))
}

/// A window's orders in `<dl>` rows: created, the decline rate (DECLINED of SUCCESS +
/// DECLINED), and the `backlog` now; the `<dl>` is left open.
fn window_rows(b: &mut Html, orders: &[PeriodCounts], backlog: u64) {
    let sum = |s: &str| orders.iter().map(|p| p.count(s)).sum::<u64>();
    let (ok, declined) = (sum("SUCCESS"), sum("DECLINED"));
    dl_row(b, text::ORDERS_IN_WINDOW, orders.iter().map(|p| p.total).sum::<u64>());
    let rate = match ok + declined {
        0 => "–".to_owned(),
        n => format!("{:.1} %", declined as f64 * 100.0 / n as f64),
    };
    dl_row(b, text::DECLINE_RATE, rate);
    dl_row(b, text::REVIEW_BACKLOG, backlog);
}

/// A window's orders by summary status, as a table of bars.
fn orders_by_status(b: &mut Html, orders: &[PeriodCounts]) {
    let sum = |s: &str| orders.iter().map(|p| p.count(s)).sum::<u64>();
    b.s("<div class=\"scroll\"><table class=\"counts\"><caption>").t(text::ORDERS_BY_STATUS).s("</caption><tbody>");
    let max = ORDER_STATUSES.iter().map(|s| sum(s)).max().unwrap_or(0);
    for s in ORDER_STATUSES {
        count_row(b, s, sum(s), max, Some(s));
    }
    b.s("</tbody></table></div>");
}

/// The orders of every period of the range (zeros where none), or only those with orders
/// when the range has too many periods.
fn fill_periods(f: &Filters, rows: &[PeriodCounts]) -> Vec<PeriodCounts> {
    let Some(all) = f.periods() else { return rows.to_vec() };
    let mut out: Vec<PeriodCounts> = all
        .into_iter()
        .map(|period| {
            rows.iter().find(|r| r.period == period).cloned().unwrap_or(PeriodCounts {
                period,
                analysis_type: None,
                total: 0,
                counts: ORDER_STATUSES.iter().map(|s| (*s, 0)).collect(),
                unique_persons: Some(0),
            })
        })
        .collect();
    // Rows outside the computed range (none expected) are kept rather than lost.
    for r in rows {
        if !out.iter().any(|o| o.period == r.period) {
            out.push(r.clone());
        }
    }
    out
}

/// Orders per period by status.
fn orders_chart(periods: &[PeriodCounts]) -> Chart {
    Chart {
        id: "orders",
        title: text::ORDERS_OVER_TIME.to_owned(),
        category_label: text::PERIOD_START,
        categories: periods.iter().map(|p| p.period.clone()).collect(),
        attr: SeriesAttr::Status,
        series: ORDER_STATUSES.iter().map(|s| (*s).to_owned()).collect(),
        values: periods.iter().map(|p| ORDER_STATUSES.iter().map(|s| p.count(s)).collect()).collect(),
        donut_per_category: false,
    }
}

/// Analyses by type and result (bars, a donut per type), or per period by type (line).
fn types_chart(f: &Filters, rows: &[PeriodCounts], kind: Kind) -> Chart {
    if kind == Kind::Line {
        let mut periods: Vec<String> = f.periods().unwrap_or_default();
        for r in rows {
            if !periods.contains(&r.period) {
                periods.push(r.period.clone());
            }
        }
        periods.sort();
        let values = periods
            .iter()
            .map(|p| {
                TYPES
                    .iter()
                    .map(|t| {
                        rows.iter()
                            .filter(|r| &r.period == p && r.analysis_type.as_deref() == Some(*t))
                            .map(|r| r.total)
                            .sum::<u64>()
                    })
                    .collect()
            })
            .collect();
        return Chart {
            id: "types",
            title: text::ANALYSES_OVER_TIME.to_owned(),
            category_label: text::PERIOD_START,
            categories: periods,
            attr: SeriesAttr::Type,
            series: TYPES.iter().map(|t| (*t).to_owned()).collect(),
            values,
            donut_per_category: false,
        };
    }
    Chart {
        id: "types",
        title: text::ANALYSES_BY_RESULT.to_owned(),
        category_label: text::FILTER_TYPE,
        categories: TYPES.iter().map(|t| (*t).to_owned()).collect(),
        attr: SeriesAttr::Status,
        series: ANALYSIS_STATUSES.iter().map(|s| (*s).to_owned()).collect(),
        values: TYPES
            .iter()
            .map(|t| {
                let of_type = rows.iter().filter(|p| p.analysis_type.as_deref() == Some(*t));
                ANALYSIS_STATUSES.iter().map(|s| of_type.clone().map(|p| p.count(s)).sum::<u64>()).collect()
            })
            .collect(),
        donut_per_category: true,
    }
}

/// A chart's type chooser: a GET form carrying the page's other filters (works without
/// script; statistics.js remembers the choice and shows the PNG button). The score histograms'
/// form has no PNG button of its own: each histogram has one.
fn kind_form(b: &mut Html, base: &str, f: &Filters, chart: &'static str) {
    let (name, current, kinds): (&str, Kind, &[Kind]) = match chart {
        "types" => ("chart_types", f.chart_types, &Kind::ALL),
        "scores" => ("chart_scores", f.chart_scores, &[Kind::Bars, Kind::Line]),
        _ => ("chart_orders", f.chart_orders, &Kind::ALL),
    };
    b.s("<form method=\"get\" action=\"").t(base).s("/statistics\" class=\"chart-kind\" data-chart=\"");
    b.s(chart).s("\">");
    for (k, v) in f.pairs().into_iter().filter(|(k, _)| *k != name) {
        b.s("<input type=\"hidden\" name=\"").s(k).s("\" value=\"").t(v).s("\">");
    }
    b.s("<label for=\"kind-").s(chart).s("\">").t(text::CHART_KIND).s("</label> <select id=\"kind-").s(chart);
    b.s("\" name=\"").s(name).s("\">");
    for k in kinds {
        b.s("<option value=\"").s(k.name()).s("\"").s(if *k == current { " selected" } else { "" }).s(">");
        b.t(k.label()).s("</option>");
    }
    b.s("</select> <button type=\"submit\">").t(text::CHART_SHOW).s("</button>");
    if chart != "scores" {
        png_button(b, chart);
    }
    b.s("</form>");
}

/// Saves the chart `chart-{id}` as a PNG (statistics.js shows it).
fn png_button(b: &mut Html, id: &str) {
    b.s(" <button type=\"button\" class=\"png\" data-chart=\"").t(id).s("\" hidden>").t(text::CHART_PNG);
    b.s("</button>");
}

/// A count drawn as a bar against the largest of its table (SVG attributes: no inline style).
fn count_row(h: &mut Html, label: &str, n: u64, max: u64, status: Option<&str>) {
    let pct = if max == 0 { 0.0 } else { (n as f64 / max as f64 * 100.0 * 100.0).round() / 100.0 };
    h.s("<tr><th scope=\"row\">");
    match status {
        Some(s) => badge(h, s),
        None => {
            h.t(label);
        }
    }
    h.s("</th><td class=\"num\">").t(n).s("</td><td class=\"bar\"><svg viewBox=\"0 0 100 10\" ");
    h.s("preserveAspectRatio=\"none\" role=\"img\" aria-label=\"").t(format!("{label} {n}")).s("\">");
    h.s("<rect class=\"track\" x=\"0\" y=\"1\" width=\"100\" height=\"8\"/><rect class=\"fill below\" x=\"0\" ");
    h.s("y=\"1\" height=\"8\" width=\"").t(pct).s("\"/></svg></td></tr>");
}

/// Score histograms with the threshold line (the tuning view Oz lacks): bars or a line as the
/// `chart_scores` form chose, each its own image (`chart-scores-{type}`) with a PNG button, and
/// their numbers as one CSV.
fn histograms(b: &mut Html, base: &str, f: &Filters, perf: &Performance) {
    b.s("<section><h2>").t(text::SCORE_HISTOGRAMS).s("</h2>");
    kind_form(b, base, f, "scores");
    b.s("<div class=\"cards\">");
    for hist in &perf.histograms {
        histogram(b, hist, f.chart_scores);
    }
    b.s("</div>");
    csv_link(b, base, f, "scores");
    b.s("</section>");
}

/// One histogram: 200 × 100 units of bins (or a line through their middles), the threshold
/// line, the axis from 0 to 1.
fn histogram(b: &mut Html, hist: &ScoreHistogram, kind: Kind) {
    let id = format!("scores-{}", hist.analysis_type.to_ascii_lowercase());
    let count: u64 = hist.bins.iter().sum();
    let top = hist.bins.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bins = SCORE_BINS as f64;
    let width = 200.0 / bins;
    let height = |n: u64| n as f64 / top * 95.0;
    let range = |i: usize| {
        let lo = i as f64 / bins;
        format!("{lo:.2}–{:.2}: ", lo + 1.0 / bins)
    };
    b.s("<figure class=\"chart\" data-chart=\"").t(&id).s("\"><svg class=\"chart\" id=\"chart-").t(&id);
    b.s("\" viewBox=\"0 0 200 110\" role=\"img\" aria-labelledby=\"chart-").t(&id).s("-title\"><title id=\"chart-");
    b.t(&id).s("-title\">").t(format!("{} {} ({count})", hist.analysis_type, hist.score)).s("</title>");
    // The operator band (GAP-14) behind the bins: the OPERATOR_REQUIRED zone.
    if let Some(lo) = hist.band_min.filter(|lo| *lo < hist.threshold) {
        let (x0, x1) = (lo.clamp(0.0, 1.0) * 200.0, hist.threshold.clamp(0.0, 1.0) * 200.0);
        b.s("<rect class=\"band\" data-status=\"OPERATOR_REQUIRED\" x=\"")
            .t(format!("{x0:.1}"))
            .s("\" y=\"0\" width=\"");
        b.t(format!("{:.1}", x1 - x0))
            .s("\" height=\"100\"><title>")
            .t(format!("OPERATOR_REQUIRED {lo} – {}", hist.threshold));
        b.s("</title></rect>");
    }
    match kind {
        Kind::Line => {
            let points: Vec<String> = hist
                .bins
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{:.1},{:.1}", (i as f64 + 0.5) * width, 100.0 - height(*n)))
                .collect();
            b.s("<polyline class=\"line\" data-type=\"").t(hist.analysis_type).s("\" points=\"");
            b.t(points.join(" ")).s("\"/>");
            for (i, n) in hist.bins.iter().enumerate() {
                b.s("<circle class=\"point\" data-type=\"").t(hist.analysis_type).s("\" cx=\"");
                b.t(format!("{:.1}", (i as f64 + 0.5) * width)).s("\" cy=\"");
                b.t(format!("{:.1}", 100.0 - height(*n))).s("\" r=\"1.5\"><title>").t(range(i)).t(n);
                b.s("</title></circle>");
            }
        }
        _ => {
            for (i, n) in hist.bins.iter().enumerate() {
                if *n == 0 {
                    continue;
                }
                b.s("<rect class=\"fill below\" x=\"").t(format!("{:.1}", i as f64 * width)).s("\" y=\"");
                b.t(format!("{:.1}", 100.0 - height(*n))).s("\" width=\"").t(format!("{:.1}", width - 1.0));
                b.s("\" height=\"").t(format!("{:.1}", height(*n))).s("\"><title>").t(range(i)).t(n);
                b.s("</title></rect>");
            }
        }
    }
    let x = format!("{:.1}", hist.threshold.clamp(0.0, 1.0) * 200.0);
    b.s("<line class=\"threshold\" x1=\"").t(&x).s("\" x2=\"").t(&x).s("\" y1=\"0\" y2=\"100\"/>");
    b.s("<line class=\"axis\" x1=\"0\" y1=\"100\" x2=\"200\" y2=\"100\"/>");
    b.s("<text x=\"0\" y=\"110\">0</text><text x=\"200\" y=\"110\" text-anchor=\"end\">1</text>");
    b.s("<text x=\"200\" y=\"9\" text-anchor=\"end\">").t(format!("max {}", top as u64)).s("</text></svg><figcaption>");
    b.t(format!("{} · {} · {count} · {} {:.2}", hist.analysis_type, hist.score, text::THRESHOLD, hist.threshold));
    if let Some(lo) = hist.band_min {
        b.t(format!(" · {} {lo:.2}", text::OPERATOR_BAND_FROM_SHORT));
    }
    png_button(b, &id);
    b.s("</figcaption></figure>");
}

async fn performance_tab(
    b: &mut Html,
    state: &AppState,
    session: &Session,
    f: &Filters,
    params: &ListParams,
) -> Result<(), Error> {
    let perf = state.domain.performance(&session.caller, params).await?;
    b.s("<section><h2>").t(text::LATENCY).s("</h2>");
    b.el("<p class=\"note\">", text::LATENCY_NOTE, "</p>");
    b.s("<div class=\"scroll\"><table class=\"counts\"><thead><tr>");
    for col in [text::FILTER_TYPE, text::TOTAL, "p50", "p90", "max"] {
        b.el("<th scope=\"col\">", col, "</th>");
    }
    b.el("<th scope=\"col\">", text::TARGET, "</th></tr></thead><tbody>");
    for (t, l) in &perf.latency {
        latency_row(b, t, l);
    }
    b.s("</tbody></table></div>");
    csv_link(b, &session.base, f, "latency");
    b.s("<dl>");
    b.s("<dt>").t(text::QUEUE_NOW).s("</dt><dd>");
    badge(b, if perf.unfinished < QUEUE_TARGET { "OK" } else { "FAILED" });
    b.t(format!(" {} (< {QUEUE_TARGET}) · {} {}", perf.unfinished, text::OLDEST, duration(perf.oldest_unfinished_age)));
    b.s("</dd>");
    let dec = &perf.decision;
    dl_row(
        b,
        text::DECISION_MEDIAN,
        format!("p50 {} · p90 {} ({} {})", duration(dec.p50), duration(dec.p90), dec.count, text::DECISIONS),
    );
    b.s("</dl></section>");
    Ok(())
}

fn latency_row(b: &mut Html, t: &str, l: &Percentiles) {
    b.s("<tr><th scope=\"row\">").t(t).s("</th>").el("<td class=\"num\">", l.count, "</td>");
    for v in [l.p50, l.p90, l.max] {
        b.el("<td class=\"num\">", duration(v), "</td>");
    }
    b.s("<td>");
    badge(b, if l.p90.is_none_or(|p| p < LATENCY_P90_TARGET_SECS) { "OK" } else { "FAILED" });
    b.t(format!(" p90 < {LATENCY_P90_TARGET_SECS} s")).s("</td></tr>");
}

/// `GET {base}/statistics.csv?chart=orders|types|scores|latency&<the page's filters>`: a
/// chart's numbers (cells guarded against formulas like every export).
pub async fn statistics_csv(State(state): State<AppState>, session: Session, RawQuery(raw): RawQuery) -> Response {
    let base = &settings(&state).base;
    let q = parse_query(raw);
    // A file has no place for a message: a malformed offset is refused (the page says it).
    if let Err(e) = parse_utc_offset("utc_offset", get(&q, "utc_offset").unwrap_or("")) {
        return error_page(base, e);
    }
    let f = Filters::of(&q);
    let params = f.params();
    let (d, caller) = (&state.domain, &session.caller);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let chart = get(&q, "chart").unwrap_or("orders");
    let result: Result<(), Error> = async {
        match chart {
            "types" => {
                let types = d.analysis_statistics(caller, &params, f.periods_of()).await?;
                rows.push(
                    ["period", "type", "total"].into_iter().chain(ANALYSIS_STATUSES).map(str::to_owned).collect(),
                );
                for p in types {
                    let mut r =
                        vec![p.period.clone(), p.analysis_type.clone().unwrap_or_default(), p.total.to_string()];
                    r.extend(ANALYSIS_STATUSES.iter().map(|s| p.count(s).to_string()));
                    rows.push(r);
                }
            }
            "scores" => {
                let perf = d.performance(caller, &params).await?;
                rows.push(["type", "score", "threshold", "bin_from", "bin_to", "analyses"].map(str::to_owned).to_vec());
                for h in perf.histograms {
                    for (i, n) in h.bins.iter().enumerate() {
                        let lo = i as f64 / SCORE_BINS as f64;
                        rows.push(vec![
                            h.analysis_type.to_owned(),
                            h.score.to_owned(),
                            h.threshold.to_string(),
                            format!("{lo:.2}"),
                            format!("{:.2}", lo + 1.0 / SCORE_BINS as f64),
                            n.to_string(),
                        ]);
                    }
                }
            }
            "latency" => {
                let perf = d.performance(caller, &params).await?;
                rows.push(["type", "count", "p50_s", "p90_s", "max_s"].map(str::to_owned).to_vec());
                let num = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
                for (t, l) in
                    perf.latency.iter().chain(std::iter::once(&("DECISION".to_owned(), perf.decision.clone())))
                {
                    rows.push(vec![t.clone(), l.count.to_string(), num(l.p50), num(l.p90), num(l.max)]);
                }
            }
            _ => {
                let orders = d.order_statistics(caller, &params, f.periods_of(), &f.person_key).await?;
                rows.push(
                    ["period", "total"]
                        .into_iter()
                        .chain(ORDER_STATUSES)
                        .chain(["unique_persons"])
                        .map(str::to_owned)
                        .collect(),
                );
                for p in fill_periods(&f, &orders) {
                    let mut r = vec![p.period.clone(), p.total.to_string()];
                    r.extend(ORDER_STATUSES.iter().map(|s| p.count(s).to_string()));
                    r.push(p.unique_persons.unwrap_or(0).to_string());
                    rows.push(r);
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        return error_page(base, e);
    }
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, c);
        }
        out.push_str("\r\n");
    }
    let name = match chart {
        "types" => "statistics-types.csv",
        "scores" => "statistics-scores.csv",
        "latency" => "statistics-latency.csv",
        _ => "statistics-orders.csv",
    };
    let mut res = (StatusCode::OK, out).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist() -> ScoreHistogram {
        let mut bins = vec![0; SCORE_BINS as usize];
        bins[2] = 4;
        bins[18] = 2;
        ScoreHistogram { analysis_type: "BIOMETRY", score: "min_confidence", threshold: 0.85, band_min: None, bins }
    }

    #[test]
    fn a_histogram_is_bars_or_a_line_with_its_threshold_and_png_button() {
        let mut b = Html::new();
        histogram(&mut b, &hist(), Kind::Bars);
        let bars = b.into_string();
        for part in [
            "<svg class=\"chart\" id=\"chart-scores-biometry\" viewBox=\"0 0 200 110\" role=\"img\" \
             aria-labelledby=\"chart-scores-biometry-title\"><title id=\"chart-scores-biometry-title\">\
             BIOMETRY min_confidence (6)</title>",
            // The fullest bin at the top (95 units), the other at half of it.
            "<rect class=\"fill below\" x=\"20.0\" y=\"5.0\" width=\"9.0\" height=\"95.0\"><title>0.10–0.15: 4</title>",
            "<rect class=\"fill below\" x=\"180.0\" y=\"52.5\" width=\"9.0\" height=\"47.5\"><title>0.90–0.95: 2</title>",
            "<line class=\"threshold\" x1=\"170.0\" x2=\"170.0\"",
            "<button type=\"button\" class=\"png\" data-chart=\"scores-biometry\" hidden>Save as PNG</button>",
        ] {
            assert!(bars.contains(part), "{part} in {bars}");
        }
        assert_eq!(bars.matches("<rect ").count(), 2, "{bars}");
        assert!(!bars.contains("<polyline"), "{bars}");

        let mut b = Html::new();
        histogram(&mut b, &hist(), Kind::Line);
        let line = b.into_string();
        for part in [
            "<polyline class=\"line\" data-type=\"BIOMETRY\" points=\"5.0,100.0 15.0,100.0 25.0,5.0 35.0,100.0",
            "185.0,52.5 195.0,100.0\"/>",
            "<circle class=\"point\" data-type=\"BIOMETRY\" cx=\"25.0\" cy=\"5.0\" r=\"1.5\"><title>0.10–0.15: 4</title>",
            "<line class=\"threshold\" x1=\"170.0\" x2=\"170.0\"",
            "data-chart=\"scores-biometry\" hidden>Save as PNG</button>",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
        assert_eq!(line.matches("<circle class=\"point\"").count(), SCORE_BINS as usize, "{line}");
        assert!(!line.contains("<rect"), "{line}");
    }

    #[test]
    fn a_histogram_draws_the_operator_band_behind_its_bins() {
        let mut h = hist();
        h.band_min = Some(0.6);
        let mut b = Html::new();
        histogram(&mut b, &h, Kind::Bars);
        let s = b.into_string();
        assert!(
            s.contains(
                "<rect class=\"band\" data-status=\"OPERATOR_REQUIRED\" x=\"120.0\" y=\"0\" width=\"50.0\" \
                 height=\"100\"><title>OPERATOR_REQUIRED 0.6 – 0.85</title></rect>"
            ),
            "{s}"
        );
        assert!(s.contains("Threshold 0.85 · operator band from 0.60"), "{s}");
        // No band, or an edge at the threshold (an empty band): nothing drawn.
        for band in [None, Some(0.85)] {
            let mut h = hist();
            h.band_min = band;
            let mut b = Html::new();
            histogram(&mut b, &h, Kind::Line);
            assert!(!b.into_string().contains("class=\"band\""), "{band:?}");
        }
    }

    #[test]
    fn histograms_have_no_donut() {
        let q = |v: &str| vec![("chart_scores".to_owned(), v.to_owned())];
        assert_eq!(Filters::of(&q("line")).chart_scores, Kind::Line);
        assert_eq!(Filters::of(&q("donut")).chart_scores, Kind::Bars);
        assert_eq!(Filters::of(&[]).chart_scores, Kind::Bars);
    }
}
