//! Telling people without being asked (api.md "Notifications"): the hourly
//! overdue sweep (the enterprise and the inspector who found it are told a
//! hazard is overdue; a major or long-overdue one goes to the office's 挂牌督办
//! list), the daily deadline reminders, and each user's own list. A notice
//! is written once per user, hazard, deadline and event, however often the
//! jobs run.

use std::collections::HashMap;

use anjian_domain::hazard::HazardStatus;
use anjian_domain::notice::{days_overdue, escalated, reminder};
use anjian_domain::{DeadlinePolicy, Error, Result, Role};
use anjian_store::entity::{hazard, notification};
use anjian_store::repo::notifications as repo;
use anjian_store::repo::users::User;
use anjian_store::repo::{Page, PageRequest};
use anjian_store::{Db, WriteTx};
use chrono::{DateTime, Days, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::lifecycle::Input;
use crate::outbox::{Email, Outlets, escape};

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
        dispatched_at: None,
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

/// A notification older than this when it is handed on goes out in-app only
/// (an outlet configured after a long time without must not send a backlog
/// of stale reminders).
const STALE_AFTER_HOURS: i64 = 24;

/// Hands every notification not yet handed on to the outbox: an e-mail to
/// its user's address when mail is configured, a signed webhook call when a
/// webhook is; each once (keyed by the notification), in the transaction
/// that marks it dispatched. (notifications, messages queued).
pub async fn dispatch(db: &Db, outlets: &Outlets, now: DateTime<Utc>) -> Result<(u64, u64)> {
    const BATCH: u64 = 200;
    let mut total = (0, 0);
    loop {
        let (n, q) = repo::dispatch(db, BATCH, now, |u| route(u, outlets, now)).await?;
        total = (total.0 + n, total.1 + q);
        if n < BATCH {
            return Ok(total);
        }
    }
}

/// What one notification becomes in the outbox.
fn route(u: &repo::Undispatched, outlets: &Outlets, now: DateTime<Utc>) -> Vec<repo::Outgoing> {
    let n = &u.notice;
    // A user disabled since is not written to; nor is a stale notice sent.
    if u.user.disabled || now - n.created_at > chrono::Duration::hours(STALE_AFTER_HOURS) {
        return Vec::new();
    }
    let link = match (n.entity_type.as_deref(), n.entity_id) {
        (Some("hazard"), Some(id)) if *u.user.role == Role::Enterprise => {
            Some(format!("{}/portal/hazards/{id}", outlets.public_url))
        }
        (Some("hazard"), Some(id)) if matches!(*u.user.role, Role::Office | Role::Admin) => {
            Some(format!("{}/office/hazards/{id}", outlets.public_url))
        }
        _ => None,
    };
    let mut out = Vec::new();
    if let (Some(_), Some(to)) = (
        &outlets.mail,
        u.user.email.as_deref().filter(|e| e.contains('@')),
    ) {
        let mut text = format!("{}\n\n{}\n", n.title, n.body);
        let mut html = format!(
            "<html><body style=\"font-family:sans-serif\"><h3>{}</h3><p>{}</p>",
            escape(&n.title),
            escape(&n.body)
        );
        if let Some(l) = &link {
            text.push_str(&format!("\n查看详情：{l}\n"));
            html.push_str(&format!("<p><a href=\"{0}\">查看详情</a></p>", escape(l)));
        }
        html.push_str("<p style=\"color:#888\">罗溪镇安全生产隐患排查治理系统（自动发送，请勿回复）</p></body></html>");
        let email = Email {
            to: vec![to.to_owned()],
            subject: n.title.clone(),
            text,
            html,
            attachments: Vec::new(),
        };
        if let Ok(payload) = serde_json::to_value(&email) {
            out.push((
                anjian_store::repo::outbox::EMAIL,
                format!("email:notice:{}", n.id),
                payload,
            ));
        }
    }
    if outlets.webhook.is_some() {
        out.push((
            anjian_store::repo::outbox::WEBHOOK,
            format!("webhook:notice:{}", n.id),
            json!({
                "type": "notification",
                "notification": {
                    "id": n.id,
                    "kind": n.kind,
                    "title": n.title,
                    "body": n.body,
                    "entity_type": n.entity_type,
                    "entity_id": n.entity_id,
                    "created_at": n.created_at,
                    "link": link,
                },
                "recipient": {
                    "user_id": u.user.id,
                    "username": u.user.username,
                    "display_name": u.user.display_name,
                    "role": u.user.role,
                    "enterprise_id": u.user.enterprise_id,
                    "phone": u.user.phone,
                    "email": u.user.email,
                },
            }),
        ));
    }
    out
}

/// The notices a lifecycle command gives, written in its transaction: a
/// verdict on a rectification and a decision on an extension request go to
/// the enterprise's enabled accounts (a decision also to whoever asked); a
/// submitted rectification goes to the inspector who found the hazard, who
/// reviews it. Nobody is told of their own act.
pub(crate) async fn on_command(
    tx: &WriteTx,
    (before, after): (&hazard::Model, &hazard::Model),
    event_id: Uuid,
    input: &Input,
    requester: Option<Uuid>,
) -> Result<u64> {
    let title = &after.title;
    let (kind, text, mut to) = match input {
        Input::Review { comment, .. } => {
            let accepted = *after.status == HazardStatus::Closed;
            let (t, b) = if accepted {
                (
                    format!("整改已通过复查，隐患已销号：{title}"),
                    format!("隐患“{title}”的整改已通过复查，予以销号。"),
                )
            } else {
                (
                    format!("整改未通过复查：{title}"),
                    format!(
                        "隐患“{title}”的整改未通过复查，请按意见重新整改并提交（整改期限 {}）。",
                        after.deadline
                    ),
                )
            };
            let b = with_comment(b, comment);
            let to =
                anjian_store::repo::notifications::enterprise_accounts(tx, after.enterprise_id)
                    .await?;
            ("verdict", (t, b), to)
        }
        Input::DecideExtension { approve, comment } => {
            let (t, b) = if *approve {
                (
                    format!("延期申请已批准：{title}"),
                    format!(
                        "隐患“{title}”的延期申请已批准，整改期限由 {} 延至 {}。",
                        before.deadline, after.deadline
                    ),
                )
            } else {
                (
                    format!("延期申请未获批准：{title}"),
                    format!(
                        "隐患“{title}”的延期申请未获批准，整改期限仍为 {}。",
                        after.deadline
                    ),
                )
            };
            let b = with_comment(b, comment);
            let mut to =
                anjian_store::repo::notifications::enterprise_accounts(tx, after.enterprise_id)
                    .await?;
            to.extend(requester);
            ("extension", (t, b), to)
        }
        Input::Rectify { .. } => {
            let t = format!("企业已提交整改，待复查：{title}");
            let b = format!("隐患“{title}”的整改材料已提交，请安排复查。");
            ("submitted", (t, b), vec![after.created_by])
        }
        _ => return Ok(0),
    };
    to.sort();
    to.dedup();
    let mut rows = Vec::new();
    for u in to {
        if u == tx.actor().user_id.unwrap_or_default()
            || !anjian_store::repo::notifications::enabled(tx, u).await?
        {
            continue;
        }
        rows.push(notice(
            u,
            (kind, format!("{kind}:{event_id}")),
            text.clone(),
            after,
            tx.now(),
        ));
    }
    anjian_store::repo::notifications::add_in(tx, rows).await
}

fn with_comment(body: String, comment: &str) -> String {
    if comment.trim().is_empty() {
        body
    } else {
        format!("{body}意见：{}", comment.trim())
    }
}
