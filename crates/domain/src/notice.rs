//! When the campaign tells people about a hazard without being asked: the
//! deadline reminders (3 days and 1 day before), the overdue notice (from
//! the day after the deadline), and the escalation to the office's 挂牌督办
//! list (a major hazard overdue, or any hazard overdue for `long_days`).

use chrono::NaiveDate;

use crate::Severity;

/// Days before the deadline at which the enterprise is reminded.
pub const REMINDER_DAYS: [i64; 2] = [3, 1];

/// Default of the "long overdue" line (days) for escalation.
pub const DEFAULT_LONG_OVERDUE_DAYS: u32 = 30;

/// The reminder due `today` for a hazard waiting for its rectification by
/// `deadline`: 3 or 1 (days left), if today is such a day.
pub fn reminder(deadline: NaiveDate, today: NaiveDate) -> Option<i64> {
    let left = (deadline - today).num_days();
    REMINDER_DAYS.contains(&left).then_some(left)
}

/// Days overdue `today` (from the day after the deadline), if overdue.
pub fn days_overdue(deadline: NaiveDate, today: NaiveDate) -> Option<i64> {
    let d = (today - deadline).num_days();
    (d > 0).then_some(d)
}

/// Whether an overdue hazard goes to the office's 挂牌督办 list.
pub fn escalated(severity: Severity, days_overdue: i64, long_days: u32) -> bool {
    severity == Severity::Major || days_overdue >= i64::from(long_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, day).unwrap_or_default()
    }

    #[test]
    fn reminders_come_three_days_and_one_day_before() {
        assert_eq!(reminder(d(10), d(7)), Some(3));
        assert_eq!(reminder(d(10), d(9)), Some(1));
        for today in [d(6), d(8), d(10), d(11)] {
            assert_eq!(reminder(d(10), today), None, "{today}");
        }
    }

    #[test]
    fn overdue_is_the_day_after_the_deadline_and_escalation_needs_major_or_long() {
        assert_eq!(days_overdue(d(10), d(10)), None);
        assert_eq!(days_overdue(d(10), d(11)), Some(1));
        assert!(escalated(Severity::Major, 1, 30));
        assert!(!escalated(Severity::General, 29, 30));
        assert!(escalated(Severity::General, 30, 30));
    }
}
