//! The weekly report (api.md "Reports"): ISO weeks in the office calendar,
//! their cut-off, and the figures of a week counted from facts as the server
//! knew them at that cut-off. Pure: the store reads the facts as of the
//! cut-off, this counts them, so a past week always counts the same.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::Serialize;
use uuid::Uuid;

use crate::figures::rate;
use crate::{HazardStatus, Severity};

/// An ISO week of the office calendar (`2026-W48`): Monday to Sunday, in the
/// ISO week-year it belongs to (2026-W53 runs 28 Dec 2026 to 3 Jan 2027).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i32,
    week: u32,
}

/// Hour (office time) of the Monday after a week at which its figures are cut off.
pub const CUTOFF_HOUR: u32 = 8;

impl IsoWeek {
    /// The week `week` of ISO week-year `year`, if that year has it.
    pub fn new(year: i32, week: u32) -> Option<IsoWeek> {
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
        Some(IsoWeek { year, week })
    }

    /// The week a day belongs to.
    pub fn of(day: NaiveDate) -> IsoWeek {
        let w = day.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn week(self) -> u32 {
        self.week
    }

    /// Its first day.
    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).unwrap_or(NaiveDate::MIN)
    }

    /// Its last day.
    pub fn sunday(self) -> NaiveDate {
        self.monday() + Days::new(6)
    }

    /// The week before.
    pub fn previous(self) -> IsoWeek {
        IsoWeek::of(self.monday() - Days::new(7))
    }

    /// The week after.
    pub fn next(self) -> IsoWeek {
        IsoWeek::of(self.monday() + Days::new(7))
    }

    /// The first day of its ISO week-year: where "this year" and `_ytd` start.
    pub fn year_start(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, 1, Weekday::Mon).unwrap_or(NaiveDate::MIN)
    }

    /// The office-local moment its period ends (the next Monday 00:00).
    pub fn end_local(self) -> NaiveDateTime {
        (self.sunday() + Days::new(1)).and_time(NaiveTime::MIN)
    }

    /// The office-local moment of its cut-off: the Monday 08:00 after it.
    pub fn cutoff_local(self) -> NaiveDateTime {
        (self.sunday() + Days::new(1))
            .and_time(NaiveTime::from_hms_opt(CUTOFF_HOUR, 0, 0).unwrap_or(NaiveTime::MIN))
    }

    /// The last week whose cut-off is at or before `local` (office time):
    /// the week the Monday report is made for.
    pub fn last_cut_off(local: NaiveDateTime) -> IsoWeek {
        let this = IsoWeek::of(local.date());
        let prev = this.previous();
        if prev.cutoff_local() <= local {
            prev
        } else {
            prev.previous()
        }
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// Why a week could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO week of the form 2026-W48")]
pub struct BadWeek;

impl FromStr for IsoWeek {
    type Err = BadWeek;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (y, w) = s.split_once("-W").ok_or(BadWeek)?;
        if y.len() != 4 || w.len() != 2 || !(y.bytes().chain(w.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(BadWeek);
        }
        let year = y.parse().map_err(|_| BadWeek)?;
        let week = w.parse().map_err(|_| BadWeek)?;
        IsoWeek::new(year, week).ok_or(BadWeek)
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An enterprise of the roster as it stood at the cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseFact {
    pub id: Uuid,
    pub name: String,
    pub village_id: Uuid,
    pub operating: bool,
}

/// A finished inspection the server knew of at the cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionFact {
    pub enterprise_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub finished_on: NaiveDate,
}

/// A hazard the server knew of at the cut-off: its status at the week's end,
/// its deadline and severity as of the cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HazardFact {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub category: String,
    pub title: String,
    pub severity: Severity,
    pub deadline: NaiveDate,
    pub found_on: NaiveDate,
    pub status: HazardStatus,
    /// When it was closed, if by the week's end.
    pub closed_on: Option<NaiveDate>,
    /// When the accepted rectification was submitted.
    pub submitted_on: Option<NaiveDate>,
}

/// Everything a week's figures are counted from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub enterprises: Vec<EnterpriseFact>,
    /// Village id → name.
    pub villages: BTreeMap<Uuid, String>,
    /// Campaign id → name.
    pub campaigns: BTreeMap<Uuid, String>,
    pub inspections: Vec<InspectionFact>,
    pub hazards: Vec<HazardFact>,
}

/// The counters of api.md's table, for the town or one group. Enterprise
/// counters are `null` in groups they don't apply to (a category, a severity).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counters {
    pub enterprises_total: Option<u64>,
    pub enterprises_inspected_week: Option<u64>,
    pub enterprises_inspected_ytd: Option<u64>,
    pub hazards_found_week: u64,
    pub hazards_closed_week: u64,
    /// Not yet closed or cancelled at the week's end (awaiting review included).
    pub hazards_open: u64,
    /// Of the open ones: rectified and awaiting review.
    pub hazards_submitted: u64,
    /// Open, not rectified, and past the deadline on the week's last day.
    pub hazards_overdue: u64,
    pub major_open: u64,
    pub hazards_found_ytd: u64,
    pub hazards_closed_ytd: u64,
    /// Of those closed this year: the accepted rectification was submitted on
    /// or before the deadline.
    pub hazards_closed_on_time_ytd: u64,
    pub problem_enterprises_ytd: u64,
    pub problem_enterprises_rectified_ytd: u64,
    pub enterprise_completion_rate: f64,
    pub hazard_completion_rate: f64,
}

/// One row of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    /// The village's or campaign's id, the category's code, the severity.
    pub key: String,
    /// What a person reads for it (village or campaign name, the key otherwise).
    pub name: String,
    #[serde(flatten)]
    pub counters: Counters,
}

/// A hazard overdue at the week's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overdue {
    pub hazard_id: Uuid,
    pub enterprise_id: Uuid,
    pub enterprise_name: String,
    pub village: String,
    pub title: String,
    pub severity: Severity,
    pub deadline: NaiveDate,
    pub days_overdue: i64,
}

/// A week's figures (all of api.md's fields but `generated_at`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weekly {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-W48"))]
    pub week: IsoWeek,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    #[serde(flatten)]
    pub counters: Counters,
    pub by_village: Vec<Group>,
    pub by_category: Vec<Group>,
    pub by_severity: Vec<Group>,
    pub by_campaign: Vec<Group>,
    /// Longest overdue first.
    pub overdue: Vec<Overdue>,
}

/// Which enterprise counters a group has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Every enterprise (the town, a village): totals and inspections.
    Roster,
    /// Inspections under a campaign, no roster total.
    Inspections,
    /// Hazards only.
    Hazards,
}

/// Counts one group: its enterprises (for totals), inspections and hazards.
fn count(
    (week, end): (IsoWeek, NaiveDate),
    reach: Reach,
    enterprises: &[&EnterpriseFact],
    inspections: &[&InspectionFact],
    hazards: &[&HazardFact],
) -> Counters {
    let (start, since) = (week.monday(), week.year_start());
    let mut c = Counters::default();
    if reach == Reach::Roster {
        c.enterprises_total = Some(enterprises.iter().filter(|e| e.operating).count() as u64);
    }
    if reach != Reach::Hazards {
        let distinct = |from: NaiveDate| {
            inspections
                .iter()
                .filter(|i| i.finished_on >= from && i.finished_on <= end)
                .map(|i| i.enterprise_id)
                .collect::<BTreeSet<_>>()
                .len() as u64
        };
        c.enterprises_inspected_week = Some(distinct(start));
        c.enterprises_inspected_ytd = Some(distinct(since));
    }
    let mut settled: HashMap<Uuid, bool> = HashMap::new();
    let mut counted = 0u64;
    for h in hazards {
        if h.found_on > end {
            continue;
        }
        let in_week = |d: NaiveDate| d >= start && d <= end;
        c.hazards_found_week += u64::from(in_week(h.found_on));
        c.hazards_closed_week += u64::from(h.closed_on.is_some_and(in_week));
        let open = !h.status.is_final();
        c.hazards_open += u64::from(open);
        c.hazards_submitted += u64::from(h.status == HazardStatus::Submitted);
        c.hazards_overdue += u64::from(is_overdue(h, end));
        c.major_open += u64::from(open && h.severity == Severity::Major);
        if h.found_on >= since {
            c.hazards_found_ytd += 1;
            let all = settled.entry(h.enterprise_id).or_insert(true);
            *all = *all && h.status.is_final();
            if h.status != HazardStatus::Cancelled {
                counted += 1;
                if h.status == HazardStatus::Closed {
                    c.hazards_closed_ytd += 1;
                    c.hazards_closed_on_time_ytd +=
                        u64::from(h.submitted_on.is_some_and(|s| s <= h.deadline));
                }
            }
        }
    }
    c.problem_enterprises_ytd = settled.len() as u64;
    c.problem_enterprises_rectified_ytd = settled.values().filter(|s| **s).count() as u64;
    c.enterprise_completion_rate = rate(
        c.problem_enterprises_rectified_ytd,
        c.problem_enterprises_ytd,
    );
    c.hazard_completion_rate = rate(c.hazards_closed_ytd, counted);
    c
}

/// Overdue on `day`: still waiting for its rectification the day after the
/// deadline or later (on the deadline itself it is not).
pub fn is_overdue(h: &HazardFact, day: NaiveDate) -> bool {
    h.status == HazardStatus::Open && day > h.deadline
}

/// Counts a week from its facts, up to its last day (`last_day`: the
/// Sunday, or today for the week in progress).
pub fn weekly(week: IsoWeek, last_day: NaiveDate, facts: &Facts) -> Weekly {
    let at = (week, last_day.min(week.sunday()));
    let village_of: HashMap<Uuid, &EnterpriseFact> =
        facts.enterprises.iter().map(|e| (e.id, e)).collect();
    let village = |e: &Uuid| village_of.get(e).map(|e| e.village_id);
    let all_e: Vec<&EnterpriseFact> = facts.enterprises.iter().collect();
    let all_i: Vec<&InspectionFact> = facts.inspections.iter().collect();
    let all_h: Vec<&HazardFact> = facts.hazards.iter().collect();

    let by_village = facts
        .villages
        .iter()
        .map(|(id, name)| {
            let es: Vec<_> = all_e
                .iter()
                .copied()
                .filter(|e| e.village_id == *id)
                .collect();
            let is: Vec<_> = all_i
                .iter()
                .copied()
                .filter(|i| village(&i.enterprise_id) == Some(*id))
                .collect();
            let hs: Vec<_> = all_h
                .iter()
                .copied()
                .filter(|h| village(&h.enterprise_id) == Some(*id))
                .collect();
            Group {
                key: id.to_string(),
                name: name.clone(),
                counters: count(at, Reach::Roster, &es, &is, &hs),
            }
        })
        .collect();
    let mut categories: BTreeMap<&str, Vec<&HazardFact>> = BTreeMap::new();
    for h in &all_h {
        categories.entry(h.category.as_str()).or_default().push(h);
    }
    let by_category = categories
        .into_iter()
        .map(|(k, hs)| Group {
            key: k.to_owned(),
            name: k.to_owned(),
            counters: count(at, Reach::Hazards, &[], &[], &hs),
        })
        .collect();
    let by_severity = [Severity::General, Severity::Major]
        .into_iter()
        .map(|s| {
            let hs: Vec<_> = all_h.iter().copied().filter(|h| h.severity == s).collect();
            Group {
                key: s.as_str().to_owned(),
                name: s.as_str().to_owned(),
                counters: count(at, Reach::Hazards, &[], &[], &hs),
            }
        })
        .collect();
    let by_campaign = facts
        .campaigns
        .iter()
        .map(|(id, name)| {
            let is: Vec<_> = all_i
                .iter()
                .copied()
                .filter(|i| i.campaign_id == Some(*id))
                .collect();
            let hs: Vec<_> = all_h
                .iter()
                .copied()
                .filter(|h| h.campaign_id == Some(*id))
                .collect();
            Group {
                key: id.to_string(),
                name: name.clone(),
                counters: count(at, Reach::Inspections, &[], &is, &hs),
            }
        })
        .collect();
    let end = at.1;
    let mut overdue: Vec<Overdue> = facts
        .hazards
        .iter()
        .filter(|h| h.found_on <= end && is_overdue(h, end))
        .map(|h| {
            let e = village_of.get(&h.enterprise_id);
            Overdue {
                hazard_id: h.id,
                enterprise_id: h.enterprise_id,
                enterprise_name: e.map(|e| e.name.clone()).unwrap_or_default(),
                village: e
                    .and_then(|e| facts.villages.get(&e.village_id))
                    .cloned()
                    .unwrap_or_default(),
                title: h.title.clone(),
                severity: h.severity,
                deadline: h.deadline,
                days_overdue: (end - h.deadline).num_days(),
            }
        })
        .collect();
    overdue.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then_with(|| a.hazard_id.cmp(&b.hazard_id))
    });
    Weekly {
        week,
        period_start: week.monday(),
        period_end: week.sunday(),
        counters: count(at, Reach::Roster, &all_e, &all_i, &all_h),
        by_village,
        by_category,
        by_severity,
        by_campaign,
        overdue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn w(s: &str) -> IsoWeek {
        s.parse().unwrap_or(IsoWeek { year: 0, week: 0 })
    }

    #[test]
    fn weeks_read_and_print_as_iso_weeks() {
        assert_eq!(w("2026-W48").to_string(), "2026-W48");
        assert_eq!(w("2026-W48").monday(), d(2026, 11, 23));
        assert_eq!(w("2026-W48").sunday(), d(2026, 11, 29));
        for bad in [
            "2026-W54",
            "2027-W53",
            "2026-W00",
            "2026W48",
            "2026-w48",
            "26-W48",
            "2026-W4",
            "2026-W048",
            "+026-W48",
            "",
        ] {
            assert_eq!(bad.parse::<IsoWeek>(), Err(BadWeek), "{bad}");
        }
    }

    #[test]
    fn week_53_of_2026_crosses_the_year_end() {
        let w53 = w("2026-W53");
        assert_eq!(
            (w53.monday(), w53.sunday()),
            (d(2026, 12, 28), d(2027, 1, 3))
        );
        assert_eq!(IsoWeek::of(d(2027, 1, 3)), w53);
        assert_eq!(w53.year_start(), d(2025, 12, 29));
        assert_eq!(w53.next(), w("2027-W01"));
        assert_eq!(w("2027-W01").monday(), d(2027, 1, 4));
        assert_eq!(w("2027-W01").previous(), w53);
        assert_eq!(w("2027-W01").year_start(), d(2027, 1, 4));
    }

    #[test]
    fn the_report_due_on_monday_morning_is_last_weeks() {
        let at = |day: NaiveDate, h: u32, m: u32| {
            day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN))
        };
        // Monday 30 Nov 2026: before 08:00 the last cut-off was W47's.
        assert_eq!(
            IsoWeek::last_cut_off(at(d(2026, 11, 30), 7, 59)),
            w("2026-W47")
        );
        assert_eq!(
            IsoWeek::last_cut_off(at(d(2026, 11, 30), 8, 0)),
            w("2026-W48")
        );
        assert_eq!(
            IsoWeek::last_cut_off(at(d(2026, 12, 6), 23, 59)),
            w("2026-W48")
        );
        assert_eq!(
            IsoWeek::last_cut_off(at(d(2027, 1, 4), 8, 0)),
            w("2026-W53")
        );
        assert_eq!(
            w("2026-W48").cutoff_local(),
            at(d(2026, 11, 30), CUTOFF_HOUR, 0)
        );
    }

    fn hazard(n: u128, e: u128, found: NaiveDate, deadline: NaiveDate) -> HazardFact {
        HazardFact {
            id: Uuid::from_u128(n),
            enterprise_id: Uuid::from_u128(e),
            campaign_id: None,
            category: "fire".into(),
            title: format!("h{n}"),
            severity: Severity::General,
            deadline,
            found_on: found,
            status: HazardStatus::Open,
            closed_on: None,
            submitted_on: None,
        }
    }

    fn town() -> Facts {
        let v = Uuid::from_u128(100);
        Facts {
            enterprises: (1..=4)
                .map(|e| EnterpriseFact {
                    id: Uuid::from_u128(e),
                    name: format!("e{e}"),
                    village_id: v,
                    operating: e != 4,
                })
                .collect(),
            villages: [(v, "罗溪村".to_owned())].into(),
            ..Facts::default()
        }
    }

    #[test]
    fn overdue_starts_the_day_after_the_deadline() {
        let week = w("2026-W48");
        let mut f = town();
        // Due on the week's last day: not overdue; due the day before: 1 day.
        f.hazards = vec![
            hazard(1, 1, d(2026, 11, 10), d(2026, 11, 29)),
            hazard(2, 1, d(2026, 11, 10), d(2026, 11, 28)),
        ];
        let r = weekly(week, week.sunday(), &f);
        assert_eq!(r.counters.hazards_overdue, 1);
        assert_eq!(r.overdue.len(), 1);
        assert_eq!(r.overdue[0].days_overdue, 1);
        assert_eq!(r.overdue[0].village, "罗溪村");
        assert_eq!(r.counters.enterprises_total, Some(3));
    }

    #[test]
    fn on_time_means_submitted_by_the_deadline_then_accepted() {
        let week = w("2026-W48");
        let mut f = town();
        let mut on_time = hazard(1, 1, d(2026, 11, 1), d(2026, 11, 16));
        on_time.status = HazardStatus::Closed;
        on_time.submitted_on = Some(d(2026, 11, 16));
        on_time.closed_on = Some(d(2026, 11, 25));
        let mut late = hazard(2, 2, d(2026, 11, 1), d(2026, 11, 16));
        late.status = HazardStatus::Closed;
        late.submitted_on = Some(d(2026, 11, 17));
        late.closed_on = Some(d(2026, 11, 18));
        let mut waiting = hazard(3, 3, d(2026, 11, 24), d(2026, 12, 9));
        waiting.status = HazardStatus::Submitted;
        let mut cancelled = hazard(4, 3, d(2026, 11, 2), d(2026, 11, 17));
        cancelled.status = HazardStatus::Cancelled;
        f.hazards = vec![on_time, late, waiting, cancelled];
        f.inspections = vec![
            InspectionFact {
                enterprise_id: Uuid::from_u128(1),
                campaign_id: None,
                finished_on: d(2026, 11, 1),
            },
            InspectionFact {
                enterprise_id: Uuid::from_u128(3),
                campaign_id: None,
                finished_on: d(2026, 11, 24),
            },
            InspectionFact {
                enterprise_id: Uuid::from_u128(3),
                campaign_id: None,
                finished_on: d(2026, 11, 29),
            },
        ];
        let c = weekly(week, week.sunday(), &f).counters;
        assert_eq!((c.hazards_found_week, c.hazards_closed_week), (1, 1));
        assert_eq!(
            (c.hazards_open, c.hazards_submitted, c.hazards_overdue),
            (1, 1, 0)
        );
        assert_eq!((c.hazards_closed_ytd, c.hazards_closed_on_time_ytd), (2, 1));
        assert_eq!(c.hazard_completion_rate, 0.6667);
        // Enterprises 1 and 2 settled, 3 still waits for a review.
        assert_eq!(
            (
                c.problem_enterprises_ytd,
                c.problem_enterprises_rectified_ytd
            ),
            (3, 2)
        );
        assert_eq!(c.enterprise_completion_rate, 0.6667);
        assert_eq!(
            (c.enterprises_inspected_week, c.enterprises_inspected_ytd),
            (Some(1), Some(2))
        );
    }

    #[test]
    fn a_week_with_nothing_counts_zeros() {
        let r = weekly(w("2026-W01"), w("2026-W01").sunday(), &Facts::default());
        assert_eq!(
            r.counters,
            Counters {
                enterprises_total: Some(0),
                enterprises_inspected_week: Some(0),
                enterprises_inspected_ytd: Some(0),
                ..Counters::default()
            }
        );
        assert_eq!(r.by_severity.len(), 2);
        assert!(r.by_village.is_empty() && r.overdue.is_empty());
    }
}
