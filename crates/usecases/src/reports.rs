//! The weekly report (api.md "Reports"): a week's figures as the server
//! knew them at its cut-off (the Monday 08:00 after it, office time), or as
//! of now for the week in progress; stored with its files, listed, read.

use anjian_domain::report::{self, IsoWeek, Weekly};
use anjian_domain::{Capability, DeadlinePolicy, Error, Result};
use anjian_store::Db;
use anjian_store::entity::report as stored;
use anjian_store::repo::reports::{self as repo, AsOf};
use anjian_store::repo::users::User;
use anjian_store::repo::{Page, PageRequest};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::access::require;

/// The `kind` of weekly reports in the `reports` table.
pub const WEEKLY: &str = "weekly";

/// A generated weekly report: the figures, when they were made, and whether
/// they are provisional (made before the week's cut-off).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyReport {
    #[serde(flatten)]
    pub figures: Weekly,
    pub generated_at: DateTime<Utc>,
    pub provisional: bool,
}

/// An office-local moment as an instant.
fn instant(policy: &DeadlinePolicy, local: NaiveDateTime) -> DateTime<Utc> {
    policy
        .tz
        .from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// What a report of `week` made at `now` counts: up to the week's end as
/// committed by its cut-off; before the cut-off, as of now (provisional).
/// A week that has not begun has no figures.
fn moments(week: IsoWeek, policy: &DeadlinePolicy, now: DateTime<Utc>) -> Result<(AsOf, bool)> {
    let start = instant(policy, week.monday().and_time(chrono::NaiveTime::MIN));
    if now < start {
        return Err(Error::validation("week", "not_begun"));
    }
    let end = instant(policy, week.end_local());
    let cutoff = instant(policy, week.cutoff_local());
    let year_start = instant(policy, week.year_start().and_time(chrono::NaiveTime::MIN));
    let provisional = now < cutoff;
    Ok((
        AsOf {
            year_start,
            end: end.min(now),
            cutoff: cutoff.min(now),
        },
        provisional,
    ))
}

/// Counts `week` as of `now` (no permission check: for the scheduler and the CLI).
#[tracing::instrument(name = "report.weekly.figures", skip_all, fields(week = %week))]
pub async fn figures(
    db: &Db,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<(Weekly, bool)> {
    let (at, provisional) = moments(week, policy, now)?;
    let facts = repo::facts(db, at, policy).await?;
    let last_day = policy.office_date(at.end - chrono::Duration::seconds(1));
    Ok((report::weekly(week, last_day, &facts), provisional))
}

/// Makes and stores the report of `week` as of `now`, replacing an earlier one
/// (no permission check: for the scheduler and the CLI).
#[tracing::instrument(name = "report.weekly.generate", skip_all, fields(week = %week))]
pub async fn make(
    db: &Db,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<WeeklyReport> {
    let (figures, provisional) = self::figures(db, week, (policy, now)).await?;
    let report = WeeklyReport {
        figures,
        generated_at: now,
        provisional,
    };
    repo::save(
        db,
        stored::Model {
            id: Uuid::now_v7(),
            kind: WEEKLY.into(),
            period: week.to_string(),
            generated_at: now,
            figures: serde_json::to_value(&report).map_err(Error::internal)?,
            xlsx_key: None,
            csv_key: None,
        },
    )
    .await?;
    Ok(report)
}

/// `POST /reports/weekly/{week}/generate` (office, admin).
pub async fn generate(
    db: &Db,
    by: &User,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<WeeklyReport> {
    require(by, Capability::ReadReports)?;
    make(db, week, (policy, now)).await
}

/// The stored report of `week`, as it was generated.
pub async fn get(db: &Db, by: &User, week: IsoWeek) -> Result<serde_json::Value> {
    require(by, Capability::ReadReports)?;
    repo::get(db, WEEKLY, &week.to_string())
        .await?
        .map(|r| r.figures)
        .ok_or(Error::NotFound)
}

/// Stored weekly reports, newest week first: (week, generated_at).
pub async fn list(db: &Db, by: &User, page: &PageRequest) -> Result<Page<(String, DateTime<Utc>)>> {
    require(by, Capability::ReadReports)?;
    repo::list(db, WEEKLY, page).await
}
