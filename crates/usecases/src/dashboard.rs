//! The office dashboard's figures as of now (office, admin): today's
//! counters for the town and each village, and the hazards found and closed
//! in each of the last weeks.

use anjian_domain::figures::{self, Tally};
use anjian_domain::{Capability, DeadlinePolicy, Result};
use anjian_store::Db;
use anjian_store::entity::village;
use anjian_store::repo::users::User;
use anjian_store::repo::{self, PageRequest};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::access::require;

/// What the dashboard shows.
#[derive(Debug, Clone)]
pub struct Figures {
    pub today: NaiveDate,
    pub total: Tally,
    /// Every village, in code order, with its counters.
    pub villages: Vec<(village::Model, Tally)>,
    /// (the week's Monday, found, closed), oldest first.
    pub weeks: Vec<(NaiveDate, u64, u64)>,
}

/// Weeks the chart shows.
pub const WEEKS: u32 = 12;

#[tracing::instrument(name = "dashboard.figures", skip_all, fields(user.id = %by.user.id))]
pub async fn figures(
    db: &Db,
    by: &User,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<Figures> {
    require(by, Capability::ReadReports)?;
    let today = policy.office_date(now);
    // From the earlier of the year's start and the chart's first week.
    let chart_start = today - chrono::Days::new(7 * u64::from(WEEKS) + 7);
    let from = figures::year_start(today).min(chart_start);
    let since = policy
        .tz
        .from_local_datetime(&from.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc));
    let facts = repo::hazards::facts(db, since, policy).await?;
    let page = PageRequest {
        after: None,
        limit: 500,
    };
    let mut by_village = figures::by_village(&facts, today);
    let villages = repo::villages::list(db, &page)
        .await?
        .items
        .into_iter()
        .map(|v| {
            let t = by_village.remove(&v.id).unwrap_or_default();
            (v, t)
        })
        .collect();
    Ok(Figures {
        today,
        total: figures::tally(&facts, today),
        villages,
        weeks: figures::weekly(&facts, today, WEEKS),
    })
}
