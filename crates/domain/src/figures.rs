//! The campaign's figures as of today, as the office dashboard shows them:
//! what is open, overdue and major, and how far the year's rectification has
//! got (api.md "Reports" defines the counters; the weekly report computes
//! them as of a week's cut-off, this as of now).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;
use uuid::Uuid;

use crate::{HazardStatus, Severity};

/// What the figures need to know of a hazard, dates in the office time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HazardFacts {
    pub enterprise_id: Uuid,
    pub village_id: Uuid,
    pub status: HazardStatus,
    pub severity: Severity,
    pub deadline: NaiveDate,
    pub found_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    /// When the rectification that was accepted was submitted (the last one
    /// before closing).
    pub submitted_on: Option<NaiveDate>,
}

/// The counters of a set of hazards.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Waiting for the enterprise's rectification.
    pub open: u64,
    /// Rectified, waiting for review.
    pub submitted: u64,
    /// Open and past the deadline.
    pub overdue: u64,
    /// Major hazards open or submitted.
    pub major_open: u64,
    pub found_ytd: u64,
    pub closed_ytd: u64,
    /// Of those closed this year: the accepted rectification was submitted
    /// on or before the deadline.
    pub closed_on_time_ytd: u64,
    pub problem_enterprises_ytd: u64,
    pub problem_enterprises_rectified_ytd: u64,
    /// Closed / found this year, cancelled ones counted in neither (0..1).
    pub hazard_completion_rate: f64,
    /// Rectified / problem enterprises (0..1).
    pub enterprise_completion_rate: f64,
}

/// The Monday of ISO week 1 of the ISO week-year `today` belongs to: where
/// "this year" starts for the figures, as for the weekly report.
pub fn year_start(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_isoywd_opt(today.iso_week().year(), 1, Weekday::Mon).unwrap_or(today)
}

/// A rate with 4 decimals; 0 when there is nothing to divide.
pub(crate) fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

/// Counts `facts` as of `today`.
pub fn tally<'a>(facts: impl IntoIterator<Item = &'a HazardFacts>, today: NaiveDate) -> Tally {
    let since = year_start(today);
    let mut t = Tally::default();
    // Per enterprise with a hazard found this year: whether all are settled.
    let mut problem: HashMap<Uuid, bool> = HashMap::new();
    let mut counted = 0u64;
    for h in facts {
        match h.status {
            HazardStatus::Open => {
                t.open += 1;
                t.overdue += u64::from(today > h.deadline);
            }
            HazardStatus::Submitted => t.submitted += 1,
            HazardStatus::Closed | HazardStatus::Cancelled => {}
        }
        if h.severity == Severity::Major && !h.status.is_final() {
            t.major_open += 1;
        }
        if h.found_on >= since && h.found_on <= today {
            t.found_ytd += 1;
            let settled = h.status.is_final();
            let e = problem.entry(h.enterprise_id).or_insert(true);
            *e = *e && settled;
            if h.status != HazardStatus::Cancelled {
                counted += 1;
                if h.status == HazardStatus::Closed {
                    t.closed_ytd += 1;
                    if h.submitted_on.is_some_and(|s| s <= h.deadline) {
                        t.closed_on_time_ytd += 1;
                    }
                }
            }
        }
    }
    t.problem_enterprises_ytd = problem.len() as u64;
    t.problem_enterprises_rectified_ytd = problem.values().filter(|s| **s).count() as u64;
    t.hazard_completion_rate = rate(t.closed_ytd, counted);
    t.enterprise_completion_rate = rate(
        t.problem_enterprises_rectified_ytd,
        t.problem_enterprises_ytd,
    );
    t
}

/// The same counters for each village.
pub fn by_village<'a>(
    facts: impl IntoIterator<Item = &'a HazardFacts>,
    today: NaiveDate,
) -> BTreeMap<Uuid, Tally> {
    let mut groups: BTreeMap<Uuid, Vec<&HazardFacts>> = BTreeMap::new();
    for h in facts {
        groups.entry(h.village_id).or_default().push(h);
    }
    groups
        .into_iter()
        .map(|(v, hs)| (v, tally(hs, today)))
        .collect()
}

/// Hazards found and closed in each of the `weeks` ISO weeks up to today's,
/// oldest first: (the week's Monday, found, closed).
pub fn weekly<'a>(
    facts: impl IntoIterator<Item = &'a HazardFacts>,
    today: NaiveDate,
    weeks: u32,
) -> Vec<(NaiveDate, u64, u64)> {
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let first = monday - Days::new(7 * u64::from(weeks.saturating_sub(1)));
    let mut out: Vec<(NaiveDate, u64, u64)> = (0..weeks)
        .map(|i| (first + Days::new(7 * u64::from(i)), 0, 0))
        .collect();
    let slot = |d: NaiveDate| -> Option<usize> {
        if d < first || d > today {
            return None;
        }
        usize::try_from((d - first).num_days() / 7).ok()
    };
    for h in facts {
        if let Some(i) = slot(h.found_on)
            && let Some(w) = out.get_mut(i)
        {
            w.1 += 1;
        }
        if let Some(i) = h.closed_on.and_then(slot)
            && let Some(w) = out.get_mut(i)
        {
            w.2 += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default()
    }

    fn facts(e: u128, status: HazardStatus, found: NaiveDate, deadline: NaiveDate) -> HazardFacts {
        HazardFacts {
            enterprise_id: Uuid::from_u128(e),
            village_id: Uuid::from_u128(100 + e % 2),
            status,
            severity: Severity::General,
            deadline,
            found_on: found,
            closed_on: None,
            submitted_on: None,
        }
    }

    #[test]
    fn the_years_completion_counts_closed_over_found_without_cancelled() {
        let today = d(11, 30);
        let mut closed_late = facts(1, HazardStatus::Closed, d(3, 1), d(3, 16));
        closed_late.closed_on = Some(d(3, 20));
        closed_late.submitted_on = Some(d(3, 17));
        let mut closed_on_time = facts(2, HazardStatus::Closed, d(4, 1), d(4, 16));
        closed_on_time.closed_on = Some(d(4, 20));
        closed_on_time.submitted_on = Some(d(4, 16));
        let hs = [
            closed_late,
            closed_on_time,
            facts(2, HazardStatus::Open, d(11, 1), d(11, 16)),
            facts(3, HazardStatus::Cancelled, d(5, 1), d(5, 16)),
            facts(4, HazardStatus::Submitted, d(11, 20), d(12, 5)),
            // Found last year, still open: counts as open and overdue only.
            facts(
                5,
                HazardStatus::Open,
                NaiveDate::from_ymd_opt(2025, 12, 1).unwrap_or_default(),
                d(1, 1),
            ),
        ];
        let t = tally(&hs, today);
        assert_eq!((t.open, t.submitted, t.overdue), (2, 1, 2));
        assert_eq!(t.found_ytd, 5);
        assert_eq!((t.closed_ytd, t.closed_on_time_ytd), (2, 1));
        assert_eq!(t.hazard_completion_rate, 0.5);
        // Enterprises 1 and 3 settled; 2 (one open) and 4 (submitted) not.
        assert_eq!(
            (
                t.problem_enterprises_ytd,
                t.problem_enterprises_rectified_ytd
            ),
            (4, 2)
        );
        assert_eq!(t.enterprise_completion_rate, 0.5);
        assert_eq!(by_village(&hs, today).len(), 2);
    }

    #[test]
    fn the_year_is_the_iso_week_year() {
        assert_eq!(
            year_start(d(11, 30)),
            NaiveDate::from_ymd_opt(2025, 12, 29).unwrap_or_default()
        );
        let jan2_2027 = NaiveDate::from_ymd_opt(2027, 1, 2).unwrap_or_default();
        assert_eq!(
            year_start(jan2_2027),
            NaiveDate::from_ymd_opt(2025, 12, 29).unwrap_or_default()
        );
    }

    #[test]
    fn weeks_are_counted_monday_to_sunday() {
        let today = d(11, 30); // a Monday
        let mut h = facts(1, HazardStatus::Closed, d(11, 23), d(12, 8));
        h.closed_on = Some(d(11, 30));
        let w = weekly([&h], today, 3);
        assert_eq!(
            w,
            vec![(d(11, 16), 0, 0), (d(11, 23), 1, 0), (d(11, 30), 0, 1)]
        );
    }
}
