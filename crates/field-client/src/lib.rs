//! The reference field client: what a phone app does to sync with anjian.
//!
//! * A local SQLite **replica** of the user's scope (`records`: type, id,
//!   version, JSON), rebuilt when the server answers `reset: true`, and changes
//!   applied by version so a change that arrives twice is harmless.
//! * An **outbox** of mutations numbered 1, 2, 3… per device; recording works
//!   offline, a mutation leaves the outbox only when the server's
//!   `last_processed_seq` covers it, and its outcome is kept for the user.
//! * **Push** with retry and exponential backoff: a lost answer, a cut request or
//!   a restarted server is retried with the same `seq`s, and the server's stored
//!   outcomes make the retry exactly-once.
//! * **Pull** in pages until `has_more` is false; conflicts are surfaced to the
//!   caller with the server's version of the record.
//! * **Photos** kept on the device until the server has verified them, and
//!   uploaded with a fresh URL per attempt (see [`photos`]).
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    Value as DbValue,
};
use serde_json::{Value, json};
use uuid::Uuid;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records (entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (entity_type, entity_id))",
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, base_version INTEGER, client_time TEXT NOT NULL, payload TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outcomes (seq INTEGER PRIMARY KEY, status TEXT NOT NULL, entity_type TEXT, entity_id TEXT, result TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS photos (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL, state TEXT NOT NULL, error TEXT)",
];

mod photos;
pub use photos::UploadReport;

/// A mutation the server did not apply, for the user to resolve.
#[derive(Debug, Clone)]
pub struct Unapplied {
    pub seq: i64,
    /// `conflict` or `rejected`.
    pub status: String,
    pub code: String,
    /// For conflicts: the record as it is on the server.
    pub server_entity: Option<Value>,
}

/// What a push achieved.
#[derive(Debug, Clone, Default)]
pub struct PushReport {
    pub applied: usize,
    pub unapplied: Vec<Unapplied>,
    /// Mutations still queued (beyond a gap, or not yet sent).
    pub pending: usize,
    /// Attempts that failed and were retried.
    pub retries: usize,
}

/// What a pull achieved.
#[derive(Debug, Clone, Default)]
pub struct PullReport {
    pub changes: usize,
    pub reset: bool,
    pub pages: usize,
}

/// Retry policy of push and pull.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 8,
            first: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }
}

/// A field device: replica, outbox, and the way to the server.
pub struct FieldClient {
    http: reqwest::Client,
    base: String,
    db: DatabaseConnection,
    pub device_id: Uuid,
    backoff: Backoff,
    /// Photos not yet verified by the server, beside the replica.
    photo_dir: std::path::PathBuf,
}

fn s(v: impl Into<String>) -> DbValue {
    DbValue::String(Some(v.into()))
}

impl FieldClient {
    /// Opens (or creates) the replica at `path` for the server at `base_url`.
    pub async fn open(base_url: &str, path: &Path) -> anyhow::Result<FieldClient> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts)
            .await
            .context("opening the replica")?;
        for stmt in SCHEMA {
            db.execute_unprepared(stmt).await?;
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()?;
        let mut c = FieldClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            db,
            device_id: Uuid::nil(),
            backoff: Backoff::default(),
            photo_dir: path.with_extension("photos"),
        };
        c.device_id = match c.meta("device_id").await? {
            Some(id) => id.parse()?,
            None => {
                let id = Uuid::now_v7();
                c.set_meta("device_id", &id.to_string()).await?;
                id
            }
        };
        Ok(c)
    }

    /// Uses another HTTP client (tests use one without connection reuse).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Points the client at another address (e.g. the server after a restart).
    pub fn set_base(&mut self, base_url: &str) {
        self.base = base_url.trim_end_matches('/').to_owned();
    }

    async fn meta(&self, key: &str) -> anyhow::Result<Option<String>> {
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT value FROM meta WHERE key = ?",
                [s(key)],
            ))
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("", "value")?),
            None => None,
        })
    }

    async fn set_meta(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [s(key), s(value)],
            ))
            .await?;
        Ok(())
    }

    /// Signs in and keeps the tokens in the replica.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": password, "device_id": self.device_id}))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("login failed ({status}): {}", body["error"]["message"]);
        }
        self.store_tokens(&body).await
    }

    async fn store_tokens(&self, body: &Value) -> anyhow::Result<()> {
        let access = body["access_token"].as_str().context("no access token")?;
        let refresh = body["refresh_token"].as_str().context("no refresh token")?;
        self.set_meta("access_token", access).await?;
        self.set_meta("refresh_token", refresh).await
    }

    async fn refresh(&self) -> anyhow::Result<()> {
        let token = self.meta("refresh_token").await?.context("not logged in")?;
        let resp = self
            .http
            .post(format!("{}/api/v1/auth/refresh", self.base))
            .json(&json!({"refresh_token": token}))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("the login has ended; sign in again");
        }
        self.store_tokens(&resp.json().await?).await
    }

    /// Sends a request with the access token, refreshing it once on 401.
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<(reqwest::StatusCode, Value)> {
        for attempt in 0..2 {
            let token = self.meta("access_token").await?.context("not logged in")?;
            let resp = build(&self.http, &token).send().await?;
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.refresh().await?;
                continue;
            }
            let body = resp.json::<Value>().await.unwrap_or(Value::Null);
            return Ok((status, body));
        }
        bail!("unauthenticated")
    }

    /// Queues a mutation; works offline. Returns its `seq`.
    pub async fn record(
        &self,
        kind: &str,
        base_version: Option<i64>,
        payload: Value,
    ) -> anyhow::Result<i64> {
        let next: i64 = self.meta("next_seq").await?.map_or(Ok(1), |v| v.parse())?;
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO outbox (seq, type, base_version, client_time, payload) VALUES (?, ?, ?, ?, ?)",
                [
                    DbValue::BigInt(Some(next)),
                    s(kind),
                    DbValue::BigInt(base_version),
                    s(chrono::Utc::now().to_rfc3339()),
                    s(payload.to_string()),
                ],
            ))
            .await?;
        self.set_meta("next_seq", &(next + 1).to_string()).await?;
        Ok(next)
    }

    /// Mutations still in the outbox.
    pub async fn pending(&self) -> anyhow::Result<usize> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM outbox",
            ))
            .await?;
        Ok(row.map_or(Ok(0i64), |r| r.try_get("", "n"))? as usize)
    }

    async fn outbox(&self, limit: usize) -> anyhow::Result<Vec<Value>> {
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT seq, type, base_version, client_time, payload FROM outbox ORDER BY seq LIMIT ?",
                [DbValue::BigInt(Some(limit as i64))],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("", "payload")?;
                Ok(json!({
                    "seq": r.try_get::<i64>("", "seq")?,
                    "type": r.try_get::<String>("", "type")?,
                    "base_version": r.try_get::<Option<i64>>("", "base_version")?,
                    "client_time": r.try_get::<String>("", "client_time")?,
                    "payload": serde_json::from_str::<Value>(&payload)?,
                }))
            })
            .collect()
    }

    async fn sleep(&self, attempt: u32) {
        let d = self
            .backoff
            .first
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.backoff.max);
        tokio::time::sleep(d).await;
    }

    /// Sends the outbox in batches of at most 500 until it is empty or the
    /// server stops at a gap. Network failures and 5xx are retried with backoff.
    pub async fn push(&self) -> anyhow::Result<PushReport> {
        let mut report = PushReport::default();
        loop {
            let batch = self.outbox(500).await?;
            if batch.is_empty() {
                break;
            }
            let body = json!({"device_id": self.device_id, "protocol": 1, "mutations": batch});
            let mut attempt = 0;
            let answer = loop {
                let url = format!("{}/api/v1/sync/push", self.base);
                let r = self
                    .send(|h, t| h.post(&url).bearer_auth(t).json(&body))
                    .await;
                match r {
                    Ok((status, b)) if status.is_success() => break b,
                    Ok((status, b)) if status.is_client_error() => {
                        bail!("push refused ({status}): {}", b["error"]["code"]);
                    }
                    other => {
                        attempt += 1;
                        report.retries += 1;
                        if attempt >= self.backoff.attempts {
                            bail!("push failed after {attempt} attempts: {other:?}");
                        }
                        tracing::debug!(?other, attempt, "push retry");
                        self.sleep(attempt).await;
                    }
                }
            };
            let last = answer["last_processed_seq"]
                .as_i64()
                .context("no last_processed_seq")?;
            for r in answer["results"].as_array().into_iter().flatten() {
                let seq = r["seq"].as_i64().unwrap_or(0);
                let status = r["status"].as_str().unwrap_or("").to_owned();
                if r["error"]["code"] == "seq_reused" {
                    bail!(
                        "the server holds a different mutation {seq} for this device; the replica is inconsistent"
                    );
                }
                self.db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "INSERT OR REPLACE INTO outcomes (seq, status, entity_type, entity_id, result) VALUES (?, ?, ?, ?, ?)",
                        [
                            DbValue::BigInt(Some(seq)),
                            s(status.clone()),
                            s(r["entity_type"].as_str().unwrap_or("")),
                            s(r["entity_id"].as_str().unwrap_or("")),
                            s(r.to_string()),
                        ],
                    ))
                    .await?;
                if status == "applied" {
                    report.applied += 1;
                } else {
                    report.unapplied.push(Unapplied {
                        seq,
                        status,
                        code: r["error"]["code"].as_str().unwrap_or("").to_owned(),
                        server_entity: Some(r["server_entity"].clone()).filter(|v| !v.is_null()),
                    });
                }
            }
            self.db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "DELETE FROM outbox WHERE seq <= ?",
                    [DbValue::BigInt(Some(last))],
                ))
                .await?;
            let first_left = batch.first().and_then(|m| m["seq"].as_i64()).unwrap_or(0);
            if last < first_left {
                // The server is waiting for an earlier seq than we hold: nothing more can go.
                break;
            }
        }
        report.pending = self.pending().await?;
        Ok(report)
    }

    /// Pulls until the replica is current.
    pub async fn pull(&self) -> anyhow::Result<PullReport> {
        let mut report = PullReport::default();
        loop {
            let cursor = self.meta("cursor").await?;
            let mut url = format!(
                "{}/api/v1/sync/pull?device_id={}&limit=1000",
                self.base, self.device_id
            );
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let mut attempt = 0;
            let b = loop {
                match self.send(|h, t| h.get(&url).bearer_auth(t)).await {
                    Ok((status, b)) if status.is_success() => break b,
                    Ok((status, b)) if status.is_client_error() => {
                        bail!("pull refused ({status}): {}", b["error"]["code"])
                    }
                    other => {
                        attempt += 1;
                        if attempt >= self.backoff.attempts {
                            bail!("pull failed after {attempt} attempts: {other:?}");
                        }
                        self.sleep(attempt).await;
                    }
                }
            };
            report.pages += 1;
            if b["reset"] == true {
                report.reset = true;
                self.db.execute_unprepared("DELETE FROM records").await?;
            }
            for c in b["changes"].as_array().into_iter().flatten() {
                report.changes += 1;
                let (t, id) = (
                    c["entity_type"].as_str().unwrap_or(""),
                    c["entity_id"].as_str().unwrap_or(""),
                );
                if c["op"] == "delete" {
                    self.db
                        .execute_raw(Statement::from_sql_and_values(
                            DbBackend::Sqlite,
                            "DELETE FROM records WHERE entity_type = ? AND entity_id = ?",
                            [s(t), s(id)],
                        ))
                        .await?;
                } else {
                    // Apply by version: an older copy never replaces a newer one.
                    self.db
                        .execute_raw(Statement::from_sql_and_values(
                            DbBackend::Sqlite,
                            "INSERT INTO records (entity_type, entity_id, version, data) VALUES (?, ?, ?, ?) \
                             ON CONFLICT (entity_type, entity_id) DO UPDATE SET version = excluded.version, data = excluded.data \
                             WHERE excluded.version >= records.version",
                            [s(t), s(id), DbValue::BigInt(c["version"].as_i64()), s(c["data"].to_string())],
                        ))
                        .await?;
                }
            }
            self.set_meta("cursor", b["cursor"].as_str().unwrap_or(""))
                .await?;
            self.set_meta(
                "server_last_processed_seq",
                &b["last_processed_seq"].to_string(),
            )
            .await?;
            if b["has_more"] != true {
                return Ok(report);
            }
        }
    }

    /// Push, upload photos, then pull.
    pub async fn sync(&self) -> anyhow::Result<(PushReport, UploadReport, PullReport)> {
        let p = self.push().await?;
        let u = self.upload_photos().await?;
        let q = self.pull().await?;
        Ok((p, u, q))
    }

    /// A record of the replica.
    pub async fn get(&self, entity_type: &str, id: &str) -> anyhow::Result<Option<(i64, Value)>> {
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT version, data FROM records WHERE entity_type = ? AND entity_id = ?",
                [s(entity_type), s(id)],
            ))
            .await?;
        Ok(match row {
            Some(r) => Some((
                r.try_get("", "version")?,
                serde_json::from_str(&r.try_get::<String>("", "data")?)?,
            )),
            None => None,
        })
    }

    /// Every record of a type: id → version.
    pub async fn versions(
        &self,
        entity_type: &str,
    ) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT entity_id, version FROM records WHERE entity_type = ?",
                [s(entity_type)],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "entity_id")?, r.try_get("", "version")?)))
            .collect()
    }

    /// Records of a type as JSON.
    pub async fn list(&self, entity_type: &str) -> anyhow::Result<Vec<Value>> {
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT data FROM records WHERE entity_type = ? ORDER BY entity_id",
                [s(entity_type)],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(&r.try_get::<String>("", "data")?)?))
            .collect()
    }
}
