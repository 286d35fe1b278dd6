//! The hazard lifecycle (排查 → 登记 → 整改 → 复查 → 销号) and the deadline policy.

use chrono::TimeZone;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::enterprise::closed_enum;
use crate::{Error, Role};

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

/// Commands that move a hazard between statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HazardAction {
    /// The enterprise submits a rectification.
    Submit,
    /// A review accepts the rectification.
    Accept,
    /// A review rejects the rectification.
    Reject,
    /// The office cancels the hazard.
    Cancel,
}

impl HazardStatus {
    /// The status after `action`, or `invalid_transition` when the current status
    /// does not allow it. Roles are checked by [`HazardAction::permitted`].
    pub fn apply(self, action: HazardAction) -> Result<HazardStatus, Error> {
        use HazardAction as A;
        use HazardStatus as S;
        match (self, action) {
            (S::Open, A::Submit) => Ok(S::Submitted),
            (S::Submitted, A::Accept) => Ok(S::Closed),
            (S::Submitted, A::Reject) => Ok(S::Open),
            (S::Open | S::Submitted, A::Cancel) => Ok(S::Cancelled),
            (from, _) => Err(Error::InvalidTransition {
                from: from.as_str().to_owned(),
                missing: None,
            }),
        }
    }

    /// Closed and cancelled hazards never change again.
    pub fn is_final(self) -> bool {
        matches!(self, HazardStatus::Closed | HazardStatus::Cancelled)
    }
}

impl HazardAction {
    /// Whether `role` may perform this action on a hazard of `severity`.
    /// A major hazard is closed by the office (or an admin) only.
    pub fn permitted(self, role: Role, severity: Severity) -> bool {
        match self {
            HazardAction::Submit => role == Role::Enterprise || role.is_staff(),
            HazardAction::Accept => {
                role.is_staff() || (role == Role::Inspector && severity == Severity::General)
            }
            HazardAction::Reject => role.is_staff() || role == Role::Inspector,
            HazardAction::Cancel => role.is_staff(),
        }
    }
}

/// Whether `role` may change a hazard's severity: the office's call (api.md
/// "Offline sync"), since severity decides who may close the hazard.
pub fn may_change_severity(role: Role) -> bool {
    role.is_staff()
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
        status == HazardStatus::Open && self.office_date(now) > deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = HazardStatus> {
        proptest::sample::select(HazardStatus::ALL.to_vec())
    }
    fn action() -> impl Strategy<Value = HazardAction> {
        proptest::sample::select(vec![
            HazardAction::Submit,
            HazardAction::Accept,
            HazardAction::Reject,
            HazardAction::Cancel,
        ])
    }

    proptest! {
        #[test]
        fn final_states_are_absorbing(actions in proptest::collection::vec(action(), 0..20), start in status()) {
            let mut s = start;
            let mut reached_final = s.is_final();
            for a in actions {
                match s.apply(a) {
                    Ok(next) => { prop_assert!(!reached_final); s = next; }
                    Err(Error::InvalidTransition { .. }) => {}
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
                reached_final |= s.is_final();
            }
        }

        #[test]
        fn closed_only_through_accept(start in status(), a in action()) {
            if let Ok(HazardStatus::Closed) = start.apply(a) {
                prop_assert_eq!(a, HazardAction::Accept);
                prop_assert_eq!(start, HazardStatus::Submitted);
            }
        }
    }

    #[test]
    fn major_hazards_close_by_office_only() {
        assert!(!HazardAction::Accept.permitted(Role::Inspector, Severity::Major));
        assert!(HazardAction::Accept.permitted(Role::Inspector, Severity::General));
        assert!(HazardAction::Accept.permitted(Role::Office, Severity::Major));
        assert!(!HazardAction::Accept.permitted(Role::Enterprise, Severity::General));
        assert!(!HazardAction::Cancel.permitted(Role::Inspector, Severity::General));
    }

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
