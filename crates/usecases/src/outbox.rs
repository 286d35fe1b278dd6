//! Delivering the outbox: e-mail through SMTP and signed webhook calls (for
//! SMS or WeChat gateways). A message is written to the outbox by the use
//! case that has something to say (the weekly report; a notification, handed
//! on by [`crate::notices::dispatch`]), then sent here: on failure it is
//! tried again later (a minute, doubling, at most an hour apart) and never
//! dropped. Its outbox id travels with it (the mail's Message-ID, the
//! webhook's `X-Anjian-Delivery`), so the one duplicate a crash between the
//! receiver's acceptance and our record of it can cause carries the same id.

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

/// A webhook receiver: each notice is POSTed to `url` as JSON, signed with
/// HMAC-SHA256 under `secret` over `"{timestamp}.{body}"` (see
/// [`signature`]), so that the receiver can tell it comes from us and refuse
/// a replay of an old call.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish()
    }
}

/// The header naming the delivery (the outbox id: the same on every attempt).
pub const DELIVERY_HEADER: &str = "X-Anjian-Delivery";
/// The header with the call's time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Anjian-Timestamp";
/// The header with the signature, `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Anjian-Signature";

/// The signature of a webhook call: `sha256=` and the hex HMAC-SHA256 under
/// `secret` of the timestamp, a dot and the body's bytes.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhook {
    /// A receiver at `url` (plain `http://`: a gateway on the office's
    /// network, or a local proxy in front of a remote one), signing with
    /// `secret` (at least 16 bytes).
    pub fn new(url: &str, secret: &str) -> anyhow::Result<Webhook> {
        if !url.starts_with("http://") {
            anyhow::bail!("the webhook URL must be an http:// URL");
        }
        if secret.len() < 16 {
            anyhow::bail!("the webhook secret must have at least 16 characters");
        }
        Ok(Webhook {
            url: url.to_owned(),
            secret: secret.as_bytes().to_vec(),
            client: reqwest::Client::builder()
                .timeout(StdDuration::from_secs(30))
                .build()?,
        })
    }

    /// Calls the receiver with `m` at `now` (the time of this attempt: the
    /// receiver refuses a timestamp far from its clock).
    async fn call(&self, m: &row::Model, now: DateTime<Utc>) -> anyhow::Result<()> {
        let body = serde_json::to_vec(&m.payload)?;
        let ts = now.timestamp();
        let r = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header(DELIVERY_HEADER, m.id.to_string())
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, signature(&self.secret, ts, &body))
            .body(body)
            .send()
            .await?;
        if !r.status().is_success() {
            anyhow::bail!("the webhook answered {}", r.status());
        }
        Ok(())
    }
}

/// Where messages go: the SMTP relay and the webhook, each where
/// configured, and the server's public address (for links in messages).
#[derive(Debug, Clone, Default)]
pub struct Outlets {
    pub mail: Option<Mailer>,
    pub webhook: Option<Webhook>,
    pub public_url: String,
}

impl Outlets {
    /// Whether anything is configured to send through.
    pub fn any(&self) -> bool {
        self.mail.is_some() || self.webhook.is_some()
    }
}

/// `s` with the characters HTML gives meaning to escaped.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// Hands new notifications on to the outbox, then sends every message due
/// at `now` through the outlets configured, one at a time.
#[tracing::instrument(name = "outbox.deliver", skip_all, fields(sender = holder))]
pub async fn deliver_due(
    db: &Db,
    (outlets, store): (&Outlets, Option<&ObjectStore>),
    holder: &str,
    now: DateTime<Utc>,
) -> Result<Delivered> {
    let started = std::time::Instant::now();
    let at = || now + Duration::from_std(started.elapsed()).unwrap_or_default();
    crate::notices::dispatch(db, outlets, now).await?;
    let mut d = Delivered::default();
    for channel in [repo::EMAIL, repo::WEBHOOK] {
        let configured = match channel {
            repo::EMAIL => outlets.mail.is_some(),
            _ => outlets.webhook.is_some(),
        };
        if !configured {
            continue;
        }
        while let Some(m) = repo::take(db, channel, holder, (now, Duration::seconds(HOLD))).await? {
            let sent = match (&outlets.mail, &outlets.webhook) {
                (Some(mailer), _) if channel == repo::EMAIL => send(&m, mailer, store).await,
                // Stamped when it goes, not when the pass began: a pass
                // that waits on slow receivers must not send stale stamps.
                (_, Some(hook)) => hook.call(&m, at()).await,
                _ => Err(anyhow::anyhow!("no outlet for {channel}")),
            };
            match sent {
                Ok(()) => {
                    repo::sent(db, m.id, now).await?;
                    tracing::info!(channel, key = m.dedupe_key, id = %m.id, "message sent");
                    d.sent += 1;
                }
                Err(e) => {
                    let retry_at = now + retry_delay(m.attempts + 1);
                    tracing::warn!(channel, key = m.dedupe_key, id = %m.id, attempt = m.attempts + 1,
                        error = %e, %retry_at, "message not sent; tried again later");
                    repo::failed(db, m.id, retry_at, &format!("{e:#}")).await?;
                    d.failed += 1;
                }
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
    (outlets, store): (Outlets, Option<ObjectStore>),
    every: StdDuration,
) -> tokio::task::JoinHandle<()> {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&db, (&outlets, store.as_ref()), &holder, Utc::now()).await
            {
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
