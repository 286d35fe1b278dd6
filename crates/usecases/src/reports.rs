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
    let whole = serde_json::to_value(&report).map_err(Error::internal)?;
    let headline = headline(&whole);
    repo::save(
        db,
        stored::Model {
            id: Uuid::now_v7(),
            kind: WEEKLY.into(),
            period: week.to_string(),
            generated_at: now,
            figures: whole,
            xlsx_key,
            csv_key,
            headline: Some(headline),
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

/// The figures a list of reports shows, from a report's whole figures.
const HEADLINE: &[&str] = &[
    "period_start",
    "period_end",
    "provisional",
    "hazards_found_week",
    "hazards_closed_week",
    "hazards_open",
    "hazards_overdue",
    "problem_enterprises_ytd",
    "problem_enterprises_rectified_ytd",
    "enterprise_completion_rate",
    "hazard_completion_rate",
];

fn headline(whole: &serde_json::Value) -> serde_json::Value {
    HEADLINE
        .iter()
        .filter_map(|k| whole.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Stored weekly reports, newest week first: week, generated_at and the
/// headline figures (period, found and closed this week, open, overdue,
/// problem enterprises and how many rectified, the completion rates).
pub async fn list(db: &Db, by: &User, page: &PageRequest) -> Result<Page<repo::Listed>> {
    require(by, Capability::ReadReports)?;
    let mut p = repo::list(db, WEEKLY, page).await?;
    for r in &mut p.items {
        r.2 = r.2.as_ref().map(headline);
    }
    Ok(p)
}

/// The e-mail of a week's report: a summary in Chinese (the headline
/// figures, the table by village, the overdue count) with the workbook attached.
pub fn email(r: &WeeklyReport, to: &[String], with_xlsx: bool) -> crate::outbox::Email {
    let w = &r.figures;
    let c = &w.counters;
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    let title = report_files::title(w);
    let headline = [
        ("年度问题企业", c.problem_enterprises_ytd.to_string()),
        (
            "整改完成企业",
            c.problem_enterprises_rectified_ytd.to_string(),
        ),
        ("企业整改完成率", pct(c.enterprise_completion_rate)),
        ("本周发现隐患", c.hazards_found_week.to_string()),
        ("本周销号隐患", c.hazards_closed_week.to_string()),
        ("未销号隐患", c.hazards_open.to_string()),
        ("逾期未整改", c.hazards_overdue.to_string()),
        ("重大隐患未销号", c.major_open.to_string()),
        ("隐患整改完成率", pct(c.hazard_completion_rate)),
    ];
    let mut text = format!("{title}\n\n");
    let mut html = format!(
        "<html><body style=\"font-family:sans-serif\"><h2>{}</h2>{}<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">",
        crate::outbox::escape(&title),
        if r.provisional {
            "<p><b>临时数据：截止时间（下周一 08:00）前生成。</b></p>"
        } else {
            ""
        }
    );
    for (k, v) in &headline {
        text.push_str(&format!("{k}：{v}\n"));
        html.push_str(&format!(
            "<tr><th align=\"left\">{k}</th><td align=\"right\">{v}</td></tr>"
        ));
    }
    html.push_str("</table><h3>各村情况</h3><table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>村（社区）</th><th>本周发现</th><th>本周销号</th><th>逾期</th><th>问题企业</th><th>整改完成</th><th>完成率</th></tr>");
    text.push_str("\n各村情况（村：本周发现/本周销号/逾期/问题企业/整改完成/完成率）\n");
    for g in &w.by_village {
        let v = &g.counters;
        text.push_str(&format!(
            "{}：{}/{}/{}/{}/{}/{}\n",
            g.name,
            v.hazards_found_week,
            v.hazards_closed_week,
            v.hazards_overdue,
            v.problem_enterprises_ytd,
            v.problem_enterprises_rectified_ytd,
            pct(v.enterprise_completion_rate)
        ));
        html.push_str(&format!(
            "<tr><td>{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td></tr>",
            crate::outbox::escape(&g.name),
            v.hazards_found_week,
            v.hazards_closed_week,
            v.hazards_overdue,
            v.problem_enterprises_ytd,
            v.problem_enterprises_rectified_ytd,
            pct(v.enterprise_completion_rate)
        ));
    }
    html.push_str("</table>");
    let tail = format!(
        "逾期未整改隐患 {} 项（挂牌督办候选），明细见附件“逾期隐患”表。",
        w.overdue.len()
    );
    text.push_str(&format!("\n{tail}\n"));
    html.push_str(&format!("<p>{tail}</p></body></html>"));
    let week = w.week;
    crate::outbox::Email {
        to: to.to_vec(),
        subject: title,
        text,
        html,
        attachments: if with_xlsx {
            vec![crate::outbox::Attachment {
                file_name: FileKind::Xlsx.file_name(week),
                content_type: FileKind::Xlsx.content_type().to_owned(),
                key: FileKind::Xlsx.key(week),
            }]
        } else {
            Vec::new()
        },
    }
}

/// Queues the e-mail of `week`'s report to `to` (once per week, however
/// often the report is made again).
pub async fn mail(
    db: &Db,
    r: &WeeklyReport,
    (to, with_xlsx): (&[String], bool),
    now: DateTime<Utc>,
) -> Result<bool> {
    let key = format!("report.weekly:{}", r.figures.week);
    crate::outbox::queue_email(db, &key, &email(r, to, with_xlsx), now).await
}
