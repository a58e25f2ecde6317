//! Statistics over the folders a caller sees (spec §16 [I], the console spec's GAP-6): orders
//! by summary status per day, week or month with the unique persons among them, the same per
//! analysis type, and performance — processing latency, time to decision, the unfinished
//! queue and score histograms. The store computes every figure with aggregate queries.

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::folders::service::visibility;
use crate::domain::model::caller::Caller;
use crate::domain::store::{Granularity, ListParams, Percentiles, Periods, PersonCount};
use crate::domain::time::now;
use crate::domain::Domain;

/// An order's summary status (`system_resolution`; INITIAL before any analysis), in the
/// order the statistics list them.
pub const ORDER_STATUSES: [&str; 6] = ["SUCCESS", "DECLINED", "OPERATOR_REQUIRED", "FAILED", "PROCESSING", "INITIAL"];
/// An analysis' `resolution_status`, in the order the statistics list them.
pub const ANALYSIS_STATUSES: [&str; 5] = ["SUCCESS", "DECLINED", "OPERATOR_REQUIRED", "FAILED", "PROCESSING"];
/// The monitoring targets of spec §18.6: p90 latency under 20 s, fewer than 20 unfinished.
pub const LATENCY_P90_TARGET_SECS: f64 = 20.0;
pub const QUEUE_TARGET: u64 = 20;
/// Bins of the score histograms (each 0.05 wide).
pub const SCORE_BINS: u32 = 20;
/// The metadata key unique persons are counted by unless another is asked for.
pub const PERSON_KEY_DEFAULT: &str = "iin";

/// `granularity=` (or the spec's `group_by=`): day, week or month, case-insensitive.
pub fn parse_granularity(key: &str, value: &str) -> Result<Granularity> {
    match value.trim().to_ascii_lowercase().as_str() {
        "day" => Ok(Granularity::Day),
        "week" => Ok(Granularity::Week),
        "month" => Ok(Granularity::Month),
        _ => Err(Error::invalid_value(
            format!("Invalid {key} value {value}: expected day, week or month"),
            serde_json::json!({ "key_path": key }),
        )),
    }
}

/// The most a `utc_offset` moves the periods: ±14:00 (the widest offset in use, UTC+14).
pub const UTC_OFFSET_MAX_SECS: i32 = 14 * 3600;

/// `utc_offset=` of the statistics' periods: `±HH:MM` (`+03:00`, `-05:30`; `Z` or empty is UTC),
/// within ±14:00; the seconds east of UTC. A `+` sent unencoded in a query reaches the server as
/// a space, so a leading space (or no sign) is read as `+`.
pub fn parse_utc_offset(key: &str, value: &str) -> Result<i32> {
    let bad = || {
        Error::invalid_value(
            format!("Invalid {key} value {value:?}: expected ±HH:MM from -14:00 to +14:00, e.g. +03:00 or -05:30"),
            serde_json::json!({ "key_path": key }),
        )
    };
    let v = value.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("z") {
        return Ok(0);
    }
    let (sign, rest) = match v.as_bytes()[0] {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => (1, v),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let secs = h * 3600 + m * 60;
    if m > 59 || secs > UTC_OFFSET_MAX_SECS {
        return Err(bad());
    }
    Ok(sign * secs)
}

/// An offset as `±HH:MM` (`+00:00` for UTC).
pub fn utc_offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// Counts per status over one period (and analysis type).
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodCounts {
    /// The first day of the period, `YYYY-MM-DD` (UTC, or in the periods' `utc_offset`).
    pub period: String,
    /// The analysis type, for counts per type.
    pub analysis_type: Option<String>,
    pub total: u64,
    /// `(status, count)` for every status of [`ORDER_STATUSES`] or [`ANALYSIS_STATUSES`].
    pub counts: Vec<(&'static str, u64)>,
    /// Distinct values of the person key among the period's folders (orders only).
    pub unique_persons: Option<u64>,
}

impl PeriodCounts {
    pub fn count(&self, status: &str) -> u64 {
        self.counts.iter().find(|(s, _)| *s == status).map(|(_, n)| *n).unwrap_or(0)
    }
}

/// One type's score distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreHistogram {
    pub analysis_type: &'static str,
    /// The `results_data` key the score is read from.
    pub score: &'static str,
    /// The threshold new analyses of the type get: the company's (GAP-14) when the folders are
    /// one company's, else the installation's.
    pub threshold: f64,
    /// The operator band's lower edge those analyses get (GAP-14: the company's, when the
    /// folders are one company's and it has one; BIOMETRY and COLLECTION).
    pub band_min: Option<f64>,
    /// Analyses per bin of width `1 / SCORE_BINS`, from 0 up.
    pub bins: Vec<u64>,
}

/// `GET /api/statistics/performance`.
#[derive(Debug, Clone, PartialEq)]
pub struct Performance {
    /// Processing time per analysis type, and `ALL`.
    pub latency: Vec<(String, Percentiles)>,
    /// From the result to the first operator decision.
    pub decision: Percentiles,
    /// Analyses PROCESSING now.
    pub unfinished: u64,
    /// Age of the oldest of them, seconds.
    pub oldest_unfinished_age: Option<f64>,
    pub histograms: Vec<ScoreHistogram>,
}

impl Domain {
    /// Orders per period and summary status, with the unique persons by `person_key`, over
    /// the folders `params` selects (the folder list's filters) among those the caller sees.
    /// Periods without orders are left out.
    pub async fn order_statistics(
        &self,
        caller: &Caller,
        params: &ListParams,
        g: Periods,
        person_key: &str,
    ) -> Result<Vec<PeriodCounts>> {
        let vis = visibility(caller);
        let rows = self.store.order_counts(vis, params, g).await?;
        let persons = self.store.person_counts(vis, params, g, person_key).await?;
        let mut out: Vec<PeriodCounts> = Vec::new();
        for (period, status, n) in rows {
            if out.last().is_none_or(|p| p.period != period) {
                let unique = persons.iter().find(|(p, _, _)| *p == period).map(|(_, _, n)| *n).unwrap_or(0);
                out.push(PeriodCounts {
                    period: period.clone(),
                    analysis_type: None,
                    total: 0,
                    counts: ORDER_STATUSES.iter().map(|s| (*s, 0)).collect(),
                    unique_persons: Some(unique),
                });
            }
            let p = out.last_mut().expect("pushed above");
            p.total += n;
            if let Some(c) = p.counts.iter_mut().find(|(s, _)| *s == status) {
                c.1 += n;
            }
        }
        Ok(out)
    }

    /// Unique persons by `person_key` over all the selected folders.
    pub async fn unique_persons(&self, caller: &Caller, params: &ListParams, person_key: &str) -> Result<PersonCount> {
        let rows =
            self.store.person_counts(visibility(caller), params, Periods::utc(Granularity::Total), person_key).await?;
        let (folders, persons) = rows.first().map(|(_, f, n)| (*f, *n)).unwrap_or((0, 0));
        Ok(PersonCount { folders, persons })
    }

    /// Analyses per period, type and result (`group_by=type`) of the selected folders.
    pub async fn analysis_statistics(
        &self,
        caller: &Caller,
        params: &ListParams,
        g: Periods,
    ) -> Result<Vec<PeriodCounts>> {
        let rows = self.store.analysis_counts(visibility(caller), params, g).await?;
        let mut out: Vec<PeriodCounts> = Vec::new();
        for (period, t, status, n) in rows {
            if out.last().is_none_or(|p| p.period != period || p.analysis_type.as_deref() != Some(t.as_str())) {
                out.push(PeriodCounts {
                    period: period.clone(),
                    analysis_type: Some(t.clone()),
                    total: 0,
                    counts: ANALYSIS_STATUSES.iter().map(|s| (*s, 0)).collect(),
                    unique_persons: None,
                });
            }
            let p = out.last_mut().expect("pushed above");
            p.total += n;
            if let Some(c) = p.counts.iter_mut().find(|(s, _)| *s == status) {
                c.1 += n;
            }
        }
        Ok(out)
    }

    /// Latency percentiles, time to decision, the unfinished queue and score histograms of
    /// the selected folders' analyses.
    pub async fn performance(&self, caller: &Caller, params: &ListParams) -> Result<Performance> {
        let vis = visibility(caller);
        let latency = self.store.analysis_latency(vis, params).await?;
        let decision = self.store.decision_latency(vis, params).await?;
        let (unfinished, oldest) = self.store.unfinished(vis).await?;
        let scores = self.store.score_histogram(vis, params, SCORE_BINS).await?;
        // The line of one company's thresholds (GAP-14) when the folders are one company's: the
        // caller's own, or the one filtered on; otherwise the installation's.
        let company = caller.company_id.or_else(|| {
            params
                .get("company_id")
                .and_then(|c| Uuid::parse_str(c.trim()).ok())
                .filter(|_| caller.user_type.is_global())
        });
        let th = self.thresholds_for(company).await?;
        let histograms = [
            ("QUALITY", "confidence_spoofing", th.quality, None),
            ("BIOMETRY", "min_confidence", th.biometry, th.biometry_min),
            ("COLLECTION", "max_confidence", th.collection, th.collection_min),
        ]
        .into_iter()
        .map(|(t, score, threshold, band_min)| {
            let mut bins = vec![0; SCORE_BINS as usize];
            for (_, b, n) in scores.iter().filter(|(ty, _, _)| ty == t) {
                bins[(*b as usize).min(SCORE_BINS as usize - 1)] += n;
            }
            ScoreHistogram { analysis_type: t, score, threshold, band_min, bins }
        })
        .collect();
        Ok(Performance {
            latency,
            decision,
            unfinished,
            oldest_unfinished_age: oldest.map(|t| (now() - t).max(0.0)),
            histograms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets_are_hours_and_minutes_within_fourteen_hours() {
        for (raw, secs) in [
            ("+03:00", 10_800),
            ("-05:30", -19_800),
            (" 05:45", 20_700),
            ("09:30", 34_200),
            ("+14:00", 50_400),
            ("-14:00", -50_400),
            ("Z", 0),
            ("", 0),
            ("-00:00", 0),
        ] {
            assert_eq!(parse_utc_offset("utc_offset", raw).unwrap(), secs, "{raw:?}");
        }
        for raw in
            ["+14:01", "-15:00", "+3:00", "+03", "+0300", "+03:60", "+03:0x", "UTC", "+03:00:00", "--03:00", "+-3:00"]
        {
            assert!(parse_utc_offset("utc_offset", raw).is_err(), "{raw:?}");
        }
        assert_eq!(utc_offset_text(-19_800), "-05:30");
        assert_eq!(utc_offset_text(10_800), "+03:00");
        assert_eq!(utc_offset_text(0), "+00:00");
    }
}
