//! The hazard lifecycle (排查 → 登记 → 整改 → 复查 → 销号) and the deadline policy.

use chrono::TimeZone;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::enterprise::closed_enum;
use crate::{Error, Role};

pub mod create;
pub mod lifecycle;
pub mod patch;

pub use lifecycle::{
    Command, CommandKind, Decision, HazardState, PLAN_PARTS, Plan, Transition, decide,
};

closed_enum!(
    /// 一般隐患 / 重大隐患.
    Severity { General => "general", Major => "major" }
);

closed_enum!(
    /// Where a hazard is in its lifecycle.
    HazardStatus {
        Open => "open",
        Submitted => "submitted",
        Closed => "closed",
        Cancelled => "cancelled",
    }
);

closed_enum!(
    /// Where a request for a later deadline (延期申请) stands.
    ExtensionStatus {
        Pending => "pending",
        Approved => "approved",
        Denied => "denied",
    }
);

impl HazardStatus {
    /// Closed and cancelled hazards never change again.
    pub fn is_final(self) -> bool {
        matches!(self, HazardStatus::Closed | HazardStatus::Cancelled)
    }
}

/// Whether `role` may change a hazard's severity: the office's call (api.md
/// "Offline sync"), since severity decides who may close the hazard.
pub fn may_change_severity(role: Role) -> bool {
    role.is_staff()
}

/// Which hazards are overdue at a moment: see [`DeadlinePolicy::overdue_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueCut {
    pub status: HazardStatus,
    pub deadline_before: NaiveDate,
}

/// Default rectification periods by severity, counted from the date of `found_at`
/// in the office time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePolicy {
    pub general_days: u32,
    pub major_days: u32,
    /// The office time zone.
    pub tz: Tz,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self {
            general_days: 15,
            major_days: 60,
            tz: chrono_tz::Asia::Shanghai,
        }
    }
}

impl DeadlinePolicy {
    /// The office calendar date of an instant.
    pub fn office_date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.tz.from_utc_datetime(&at.naive_utc()).date_naive()
    }

    /// The deadline for a hazard: the one given, checked not to be before the date
    /// it was found, or the default for its severity.
    pub fn deadline(
        &self,
        found_at: DateTime<Utc>,
        severity: Severity,
        given: Option<NaiveDate>,
    ) -> Result<NaiveDate, Error> {
        let found = self.office_date(found_at);
        match given {
            Some(d) if d < found => Err(Error::validation("deadline", "before_found_at")),
            Some(d) => Ok(d),
            None => {
                let days = match severity {
                    Severity::General => self.general_days,
                    Severity::Major => self.major_days,
                };
                found
                    .checked_add_days(Days::new(u64::from(days)))
                    .ok_or_else(|| Error::validation("found_at", "out_of_range"))
            }
        }
    }

    /// `open` and today (office time zone) after the deadline.
    pub fn is_overdue(
        &self,
        status: HazardStatus,
        deadline: NaiveDate,
        now: DateTime<Utc>,
    ) -> bool {
        let cut = self.overdue_at(now);
        status == cut.status && deadline < cut.deadline_before
    }

    /// The overdue rule at `now` as a filter (for queries that must agree
    /// with [`DeadlinePolicy::is_overdue`]): hazards in `status` whose deadline
    /// is before `deadline_before`.
    pub fn overdue_at(&self, now: DateTime<Utc>) -> OverdueCut {
        OverdueCut {
            status: HazardStatus::Open,
            deadline_before: self.office_date(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_is_changed_by_the_office_only() {
        assert!(may_change_severity(Role::Office));
        assert!(may_change_severity(Role::Admin));
        assert!(!may_change_severity(Role::Inspector));
        assert!(!may_change_severity(Role::Enterprise));
    }

    #[test]
    fn deadlines_count_from_the_office_date() {
        let p = DeadlinePolicy::default();
        // 2026-11-27 20:00 UTC is 2026-11-28 04:00 in Shanghai.
        let found = "2026-11-27T20:00:00Z".parse().unwrap();
        let d = p.deadline(found, Severity::General, None).unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2026, 12, 13).unwrap());
        let d = p.deadline(found, Severity::Major, None).unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2027, 1, 27).unwrap());
        let early = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert!(p.deadline(found, Severity::General, Some(early)).is_err());
        let same = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(
            p.deadline(found, Severity::General, Some(same)).unwrap(),
            same
        );
    }

    #[test]
    fn overdue_is_open_and_past_deadline() {
        let p = DeadlinePolicy::default();
        let deadline = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let on_day = "2026-12-01T15:59:00Z".parse().unwrap();
        let next_day = "2026-12-01T16:00:00Z".parse().unwrap();
        assert!(!p.is_overdue(HazardStatus::Open, deadline, on_day));
        assert!(p.is_overdue(HazardStatus::Open, deadline, next_day));
        assert!(!p.is_overdue(HazardStatus::Submitted, deadline, next_day));
    }
}
