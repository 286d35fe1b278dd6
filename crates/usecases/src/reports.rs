//! The weekly report (api.md "Reports"): a week's figures as the server
//! knew them at its cut-off (the Monday 08:00 after it, office time), or as
//! of now for the week in progress; stored with its files, listed, read.

use anjian_domain::report::{self, Facts, IsoWeek, Weekly};
use anjian_domain::{Capability, DeadlinePolicy, Error, Result};
use anjian_evidence::ObjectStore;
use anjian_store::Db;
use anjian_store::entity::report as stored;
use anjian_store::repo::reports::{self as repo, AsOf};
use anjian_store::repo::users::User;
use anjian_store::repo::{Page, PageRequest};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::access::require;
use crate::report_files;

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

/// Counts `week` as of `now`: the figures, the facts they were counted
/// from, and whether they are provisional.
async fn count(
    db: &Db,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<(Weekly, Facts, bool)> {
    let (at, provisional) = moments(week, policy, now)?;
    let facts = repo::facts(db, at, policy).await?;
    let last_day = policy.office_date(at.end - chrono::Duration::seconds(1));
    Ok((report::weekly(week, last_day, &facts), facts, provisional))
}

/// Counts `week` as of `now` (no permission check: for benchmarks and tools).
#[tracing::instrument(name = "report.weekly.figures", skip_all, fields(week = %week))]
pub async fn figures(
    db: &Db,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<(Weekly, bool)> {
    let (w, _, provisional) = count(db, week, (policy, now)).await?;
    Ok((w, provisional))
}

/// A report file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Xlsx,
    Csv,
}

impl FileKind {
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Xlsx => "xlsx",
            FileKind::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Csv => "text/csv; charset=utf-8",
        }
    }

    /// Where a week's file is kept in the object store.
    pub fn key(self, week: IsoWeek) -> String {
        format!(
            "reports/weekly/{week}/anjian-weekly-{week}.{}",
            self.extension()
        )
    }

    /// The name a person saves it under.
    pub fn file_name(self, week: IsoWeek) -> String {
        format!("安全生产隐患排查治理周报-{week}.{}", self.extension())
    }
}

/// Makes and stores the report of `week` as of `now`, with its files when
/// there is an object store, replacing an earlier one (no permission check:
/// for the scheduler and the CLI). The files are stored first: a report on
/// record always has them.
#[tracing::instrument(name = "report.weekly.generate", skip_all, fields(week = %week))]
pub async fn make(
    db: &Db,
    store: Option<&ObjectStore>,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<WeeklyReport> {
    let (figures, facts, provisional) = count(db, week, (policy, now)).await?;
    let (mut xlsx_key, mut csv_key) = (None, None);
    if let Some(store) = store {
        let xlsx = report_files::xlsx(&figures, &facts).map_err(Error::internal)?;
        let csv = report_files::csv(&figures);
        for (kind, bytes, slot) in [
            (FileKind::Xlsx, xlsx, &mut xlsx_key),
            (FileKind::Csv, csv, &mut csv_key),
        ] {
            let key = kind.key(week);
            store
                .put(&key, bytes.into(), kind.content_type(), false)
                .await
                .map_err(Error::internal)?;
            *slot = Some(key);
        }
    }
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
            xlsx_key,
            csv_key,
        },
    )
    .await?;
    Ok(report)
}

/// A stored report's file: its bytes (at most `max`).
pub async fn file(
    db: &Db,
    store: &ObjectStore,
    by: &User,
    (week, kind): (IsoWeek, FileKind),
) -> Result<bytes::Bytes> {
    require(by, Capability::ReadReports)?;
    let r = repo::get(db, WEEKLY, &week.to_string())
        .await?
        .ok_or(Error::NotFound)?;
    let key = match kind {
        FileKind::Xlsx => r.xlsx_key,
        FileKind::Csv => r.csv_key,
    }
    .ok_or(Error::NotFound)?;
    store
        .get(&key, MAX_FILE_BYTES)
        .await
        .map_err(Error::internal)
}

/// The largest report file read back (a town's XLSX is tens of KiB).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// `POST /reports/weekly/{week}/generate` (office, admin).
pub async fn generate(
    db: &Db,
    store: Option<&ObjectStore>,
    by: &User,
    week: IsoWeek,
    (policy, now): (&DeadlinePolicy, DateTime<Utc>),
) -> Result<WeeklyReport> {
    require(by, Capability::ReadReports)?;
    make(db, store, week, (policy, now)).await
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
