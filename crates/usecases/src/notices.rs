//! Telling people without being asked (api.md "Notifications"): the hourly
//! overdue sweep (the enterprise and the inspector who found it are told a
//! hazard is overdue; a major or long-overdue one goes to the office's 挂牌督办
//! list), the daily deadline reminders, and each user's own list. A notice
//! is written once per user, hazard, deadline and event, however often the
//! jobs run.

use std::collections::HashMap;

use anjian_domain::notice::{days_overdue, escalated, reminder};
use anjian_domain::{DeadlinePolicy, Error, Result, Role};
use anjian_store::Db;
use anjian_store::entity::{hazard, notification};
use anjian_store::repo::notifications as repo;
use anjian_store::repo::users::User;
use anjian_store::repo::{Page, PageRequest};
use chrono::{DateTime, Days, Utc};
use uuid::Uuid;

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Hazards overdue now.
    pub overdue: u64,
    /// Of those, on the 挂牌督办 list.
    pub escalated: u64,
    /// Notifications written (new ones only).
    pub written: u64,
}

/// Who hears about a hazard: its enterprise's accounts, the one who found
/// it, and the office.
struct Audience {
    by_enterprise: HashMap<Uuid, Vec<Uuid>>,
    office: Vec<Uuid>,
    enabled: std::collections::HashSet<Uuid>,
}

impl Audience {
    async fn load(db: &Db) -> Result<Audience> {
        let mut a = Audience {
            by_enterprise: HashMap::new(),
            office: Vec::new(),
            enabled: Default::default(),
        };
        for (id, role, enterprise) in repo::recipients(db).await? {
            a.enabled.insert(id);
            if role == Role::Office.as_str() {
                a.office.push(id);
            } else if let (true, Some(e)) = (role == Role::Enterprise.as_str(), enterprise) {
                a.by_enterprise.entry(e).or_default().push(id);
            }
        }
        Ok(a)
    }

    /// The enterprise's accounts and the hazard's finder (when enabled).
    fn of(&self, h: &hazard::Model) -> Vec<Uuid> {
        let mut v = self
            .by_enterprise
            .get(&h.enterprise_id)
            .cloned()
            .unwrap_or_default();
        if self.enabled.contains(&h.created_by) && !v.contains(&h.created_by) {
            v.push(h.created_by);
        }
        v
    }
}

fn notice(
    user_id: Uuid,
    (kind, key): (&str, String),
    (title, body): (String, String),
    h: &hazard::Model,
    now: DateTime<Utc>,
) -> notification::Model {
    notification::Model {
        id: Uuid::now_v7(),
        user_id,
        kind: kind.to_owned(),
        title,
        body,
        entity_type: Some("hazard".into()),
        entity_id: Some(h.id),
        dedupe_key: Some(format!("{key}:{user_id}")),
        created_at: now,
        read_at: None,
    }
}

/// The hourly sweep: every hazard still waiting for its rectification the
/// day after its deadline is overdue; its enterprise and its finder are told
/// once per deadline, and the office once when it is escalated.
#[tracing::instrument(name = "hazards.overdue_sweep", skip_all)]
pub async fn overdue_sweep(
    db: &Db,
    (policy, long_days): (&DeadlinePolicy, u32),
    now: DateTime<Utc>,
) -> Result<Swept> {
    let today = policy.office_date(now);
    let hazards = repo::open_due_before(db, today).await?;
    let who = Audience::load(db).await?;
    let mut out = Swept::default();
    let mut rows = Vec::new();
    for h in &hazards {
        let Some(days) = days_overdue(h.deadline, today) else {
            continue;
        };
        out.overdue += 1;
        let text = (
            format!("隐患已逾期：{}", h.title),
            format!(
                "隐患“{}”的整改期限为 {}，已逾期 {days} 天，请尽快整改并提交整改材料。",
                h.title, h.deadline
            ),
        );
        for u in who.of(h) {
            rows.push(notice(
                u,
                ("overdue", format!("overdue:{}:{}", h.id, h.deadline)),
                text.clone(),
                h,
                now,
            ));
        }
        if escalated(*h.severity, days, long_days) {
            out.escalated += 1;
            let text = (
                format!("挂牌督办：{}", h.title),
                format!(
                    "{}隐患“{}”整改期限为 {}，已逾期 {days} 天，列入挂牌督办。",
                    if *h.severity == anjian_domain::Severity::Major {
                        "重大"
                    } else {
                        "长期逾期"
                    },
                    h.title,
                    h.deadline
                ),
            );
            for u in &who.office {
                rows.push(notice(
                    *u,
                    ("escalated", format!("escalated:{}:{}", h.id, h.deadline)),
                    text.clone(),
                    h,
                    now,
                ));
            }
        }
    }
    out.written = repo::add(db, rows).await?;
    Ok(out)
}

/// The daily reminders: 3 days and 1 day before a deadline, to the
/// enterprise and the finder of a hazard still waiting for its rectification.
#[tracing::instrument(name = "hazards.reminders", skip_all)]
pub async fn reminders(db: &Db, policy: &DeadlinePolicy, now: DateTime<Utc>) -> Result<u64> {
    let today = policy.office_date(now);
    let horizon = today + Days::new(4);
    let hazards = repo::open_due_before(db, horizon).await?;
    let who = Audience::load(db).await?;
    let mut rows = Vec::new();
    for h in &hazards {
        let Some(left) = reminder(h.deadline, today) else {
            continue;
        };
        let text = (
            format!("整改期限提醒：{}", h.title),
            format!(
                "隐患“{}”的整改期限为 {}，还剩 {left} 天，请按期完成整改并提交整改材料。",
                h.title, h.deadline
            ),
        );
        for u in who.of(h) {
            rows.push(notice(
                u,
                (
                    "reminder",
                    format!("reminder{left}:{}:{}", h.id, h.deadline),
                ),
                text.clone(),
                h,
                now,
            ));
        }
    }
    repo::add(db, rows).await
}

/// `GET /notifications`: the caller's, newest first.
pub async fn list(db: &Db, by: &User, page: &PageRequest) -> Result<Page<notification::Model>> {
    repo::list(db, by.user.id, page).await
}

/// `POST /notifications/{id}/read`: the caller's notification, read.
pub async fn read(db: &Db, by: &User, id: Uuid, now: DateTime<Utc>) -> Result<notification::Model> {
    repo::read(db, by.user.id, id, now)
        .await?
        .ok_or(Error::NotFound)
}
