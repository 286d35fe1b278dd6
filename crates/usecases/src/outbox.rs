//! Delivering the outbox: e-mail through SMTP. A message is written to the
//! outbox by the use case that has something to say (the weekly report),
//! then sent here: on failure it is tried again later (a minute, doubling,
//! at most an hour apart) and never dropped. Its outbox id is its
//! Message-ID, so the one duplicate a crash between the server's acceptance
//! and our record of it can cause carries the same id.

use std::time::Duration as StdDuration;

use anjian_domain::{Error, Result};
use anjian_evidence::ObjectStore;
use anjian_store::Db;
use anjian_store::entity::outbox as row;
use anjian_store::repo::outbox as repo;
use chrono::{DateTime, Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// An e-mail as the outbox keeps it; attachments are read from the object
/// store when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    /// Its object-store key.
    pub key: String,
}

/// Queues `email` under `key` (once: a second call with the same key does
/// nothing); whether it was queued.
pub async fn queue_email(db: &Db, key: &str, email: &Email, now: DateTime<Utc>) -> Result<bool> {
    let payload = serde_json::to_value(email).map_err(Error::internal)?;
    repo::enqueue(db, (repo::EMAIL, key), payload, now).await
}

/// An SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// A relay at `smtp://[user:password@]host[:port]` (port 25 by
    /// default), spoken to in plain SMTP as a relay on the office's network
    /// or on loopback takes it; mail comes from `from`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("the SMTP URL must start with smtp://"))?;
        let (auth, hostport) = match rest.trim_end_matches('/').rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest.trim_end_matches('/')),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| anyhow::anyhow!("bad SMTP port `{p}`"))?,
            ),
            None => (hostport, 25),
        };
        if host.is_empty() {
            anyhow::bail!("the SMTP URL names no host");
        }
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(StdDuration::from_secs(30)));
        if let Some(a) = auth {
            let (user, password) = a.split_once(':').unwrap_or((a, ""));
            b = b.credentials(Credentials::new(user.to_owned(), password.to_owned()));
        }
        Ok(Mailer {
            transport: b.build(),
            from: from
                .parse()
                .map_err(|e| anyhow::anyhow!("sender `{from}`: {e}"))?,
        })
    }
}

/// How long a failed message waits: a minute, doubling, at most an hour.
pub fn retry_delay(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 6)).unwrap_or(6);
    (Duration::minutes(1) * 2_i32.pow(doublings)).min(Duration::hours(1))
}

/// How long one message may take to send.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(60);

/// How long a sender holds a message it took.
const HOLD: i64 = 120;

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    pub failed: u64,
}

/// Sends every e-mail due at `now`, one at a time.
#[tracing::instrument(name = "outbox.deliver", skip_all, fields(sender = holder))]
pub async fn deliver_due(
    db: &Db,
    (mailer, store): (&Mailer, Option<&ObjectStore>),
    holder: &str,
    now: DateTime<Utc>,
) -> Result<Delivered> {
    let mut d = Delivered::default();
    while let Some(m) = repo::take(db, repo::EMAIL, holder, (now, Duration::seconds(HOLD))).await? {
        match send(&m, mailer, store).await {
            Ok(()) => {
                repo::sent(db, m.id, now).await?;
                tracing::info!(key = m.dedupe_key, id = %m.id, "mail sent");
                d.sent += 1;
            }
            Err(e) => {
                let retry_at = now + retry_delay(m.attempts + 1);
                tracing::warn!(key = m.dedupe_key, id = %m.id, attempt = m.attempts + 1,
                    error = %e, %retry_at, "mail not sent; tried again later");
                repo::failed(db, m.id, retry_at, &format!("{e:#}")).await?;
                d.failed += 1;
            }
        }
    }
    Ok(d)
}

async fn send(m: &row::Model, mailer: &Mailer, store: Option<&ObjectStore>) -> anyhow::Result<()> {
    let email: Email = serde_json::from_value(m.payload.clone())?;
    let mut b = Message::builder()
        .message_id(Some(format!("<{}@anjian>", m.id)))
        .from(mailer.from.clone())
        .subject(email.subject.clone());
    for to in &email.to {
        b = b.to(to.parse()?);
    }
    let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
        email.text.clone(),
        email.html.clone(),
    ));
    for a in &email.attachments {
        let Some(store) = store else {
            anyhow::bail!("attachment {} needs the object store", a.key);
        };
        let bytes = store.get(&a.key, 64 * 1024 * 1024).await?;
        body = body.singlepart(
            MailAttachment::new(a.file_name.clone())
                .body(bytes.to_vec(), ContentType::parse(&a.content_type)?),
        );
    }
    // A relay that stops answering must not hold the sender for ever.
    tokio::time::timeout(SEND_TIMEOUT, mailer.transport.send(b.multipart(body)?))
        .await
        .map_err(|_| anyhow::anyhow!("the SMTP relay did not answer within {SEND_TIMEOUT:?}"))??;
    Ok(())
}

/// Starts a sender: a pass over the outbox every `every`, until the task is
/// aborted.
pub fn spawn_sender(
    db: Db,
    (mailer, store): (Mailer, Option<ObjectStore>),
    every: StdDuration,
) -> tokio::task::JoinHandle<()> {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&db, (&mailer, store.as_ref()), &holder, Utc::now()).await {
                tracing::warn!(error = %e, "outbox unreachable");
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// What waits, per channel: (channel, messages, failed attempts so far, the
/// oldest one's creation), for `/metrics`.
pub async fn backlog(db: &Db) -> Result<Vec<(String, u64, u64, Option<DateTime<Utc>>)>> {
    repo::backlog(db).await
}
