//! Photos on a field device: taken offline, kept beside the replica until the
//! server has verified them, declared through the outbox, and uploaded
//! whenever the network allows.
//!
//! An upload never loops forever on one URL: a failed or expired presigned PUT
//! is followed by a fresh declaration (a fresh URL), and after repeated failures
//! of the store the bytes go through the API instead. Bytes the server refuses
//! (`not_an_image`, `image_too_large`) are set aside for the user, not retried.

use std::path::PathBuf;

use anyhow::Context;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value as DbValue};
use serde_json::{Value, json};
use sha2::Digest;
use uuid::Uuid;

use crate::{FieldClient, s};

/// What an upload round achieved.
#[derive(Debug, Clone, Default)]
pub struct UploadReport {
    /// Verified by the server in this round: its original is stored durably,
    /// so the device may delete its copy (the variants follow on the server).
    pub uploaded: usize,
    /// Refused by the server: `(photo, code)`. Kept on the device, not retried.
    pub refused: Vec<(Uuid, String)>,
    /// Still to upload (the network or the server failed for now).
    pub pending: usize,
    /// Attempts that failed and were retried.
    pub retries: usize,
    /// Uploads that went through the API because the store was unreachable.
    pub via_api: usize,
}

/// Whether an answer says the server holds the photo's bytes, checked:
/// `verified` (variants on their way) or `processed`.
fn has_bytes(b: &Value) -> bool {
    matches!(b["status"].as_str(), Some("verified" | "processed"))
}

/// Where one attempt at a photo got to.
enum Step {
    Done,
    Refused(String),
    /// Try again (the count of failed presigned PUTs so far grows on `true`).
    Retry {
        store_failed: bool,
    },
}

impl FieldClient {
    pub(crate) fn photo_dir(&self) -> PathBuf {
        self.photo_dir.clone()
    }

    /// Keeps the photo on the device and queues its declaration; works
    /// offline. List the returned id in a record's `photo_ids`.
    pub async fn add_photo(&self, bytes: &[u8], content_type: &str) -> anyhow::Result<Uuid> {
        let id = Uuid::now_v7();
        let sha = hex::encode(sha2::Sha256::digest(bytes));
        let dir = self.photo_dir();
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(id.to_string());
        {
            use tokio::io::AsyncWriteExt;
            let mut f = tokio::fs::File::create(&path).await?;
            f.write_all(bytes).await?;
            f.sync_all().await?;
        }
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO photos (id, sha256, size, content_type, state) VALUES (?, ?, ?, ?, 'queued')",
                [
                    s(id.to_string()),
                    s(sha.clone()),
                    DbValue::BigInt(Some(bytes.len() as i64)),
                    s(content_type),
                ],
            ))
            .await?;
        self.record(
            "photo.declare",
            None,
            json!({"id": id, "sha256": sha, "size": bytes.len(), "content_type": content_type,
                "taken_at": chrono::Utc::now()}),
        )
        .await?;
        Ok(id)
    }

    /// Photos by state: `queued`, `done` or `refused`.
    pub async fn photos(&self, state: &str) -> anyhow::Result<Vec<Uuid>> {
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT id FROM photos WHERE state = ? ORDER BY id",
                [s(state)],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String>("", "id")?.parse()?))
            .collect()
    }

    async fn set_photo_state(
        &self,
        id: Uuid,
        state: &str,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE photos SET state = ?, error = ? WHERE id = ?",
                [
                    s(state),
                    DbValue::String(error.map(str::to_owned)),
                    s(id.to_string()),
                ],
            ))
            .await?;
        if state == "done" {
            // The server holds verified bytes now; the device copy can go.
            let _ = tokio::fs::remove_file(self.photo_dir().join(id.to_string())).await;
        }
        Ok(())
    }

    /// Uploads every queued photo, each with retries and backoff.
    pub async fn upload_photos(&self) -> anyhow::Result<UploadReport> {
        let mut report = UploadReport::default();
        for id in self.photos("queued").await? {
            let row = self
                .db
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "SELECT sha256, size, content_type FROM photos WHERE id = ?",
                    [s(id.to_string())],
                ))
                .await?
                .context("photo row")?;
            let decl = json!({"id": id, "sha256": row.try_get::<String>("", "sha256")?,
                "size": row.try_get::<i64>("", "size")?, "content_type": row.try_get::<String>("", "content_type")?});
            let bytes = tokio::fs::read(self.photo_dir().join(id.to_string()))
                .await
                .with_context(|| format!("photo {id} is gone from the device"))?;
            let mut store_failures = 0u32;
            let mut done = false;
            for attempt in 0..self.backoff.attempts {
                let via_api = store_failures >= 2;
                match self.upload_once(id, &decl, &bytes, via_api).await {
                    Step::Done => {
                        self.set_photo_state(id, "done", None).await?;
                        report.uploaded += 1;
                        report.via_api += usize::from(via_api);
                        done = true;
                        break;
                    }
                    Step::Refused(code) => {
                        self.set_photo_state(id, "refused", Some(&code)).await?;
                        report.refused.push((id, code));
                        done = true;
                        break;
                    }
                    Step::Retry { store_failed } => {
                        store_failures += u32::from(store_failed);
                        report.retries += 1;
                        self.sleep(attempt).await;
                    }
                }
            }
            if !done {
                report.pending += 1;
            }
        }
        Ok(report)
    }

    /// Declare (for a fresh URL), upload, complete.
    async fn upload_once(&self, id: Uuid, decl: &Value, bytes: &[u8], via_api: bool) -> Step {
        let base = self.base.clone();
        let declared = self
            .send(|c, t| {
                c.post(format!("{base}/api/v1/photos"))
                    .bearer_auth(t)
                    .json(decl)
            })
            .await;
        let upload = match declared {
            Ok((st, b)) if st == reqwest::StatusCode::OK && has_bytes(&b) => {
                return Step::Done;
            }
            Ok((st, b)) if st == reqwest::StatusCode::CREATED => b["upload"].clone(),
            Ok((st, b)) if st.is_client_error() && st != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                return Step::Refused(b["error"]["code"].as_str().unwrap_or("refused").to_owned());
            }
            _ => {
                return Step::Retry {
                    store_failed: false,
                };
            }
        };
        if via_api {
            let body = bytes.to_vec();
            let r = self
                .send(|c, t| {
                    c.put(format!("{base}/api/v1/photos/{id}/content"))
                        .bearer_auth(t)
                        .header("content-type", "application/octet-stream")
                        .body(body.clone())
                })
                .await;
            match r {
                Ok((st, _)) if st.is_success() => {}
                Ok((st, b)) if st == reqwest::StatusCode::UNPROCESSABLE_ENTITY => {
                    return Step::Refused(
                        b["error"]["code"].as_str().unwrap_or("refused").to_owned(),
                    );
                }
                _ => {
                    return Step::Retry {
                        store_failed: false,
                    };
                }
            }
        } else {
            let Some(url) = upload["url"].as_str() else {
                return Step::Retry { store_failed: true };
            };
            let mut put = self.http.put(url);
            if let Some(h) = upload["headers"].as_object() {
                for (k, v) in h {
                    if k != "host"
                        && let Some(v) = v.as_str()
                    {
                        put = put.header(k, v);
                    }
                }
            }
            match put.body(bytes.to_vec()).send().await {
                Ok(r) if r.status().is_success() => {}
                // Expired, refused or cut off: a fresh URL next time.
                _ => return Step::Retry { store_failed: true },
            }
        }
        let completed = self
            .send(|c, t| {
                c.post(format!("{base}/api/v1/photos/{id}/complete"))
                    .bearer_auth(t)
            })
            .await;
        match completed {
            Ok((st, b)) if st.is_success() && has_bytes(&b) => Step::Done,
            Ok((st, b)) if st == reqwest::StatusCode::UNPROCESSABLE_ENTITY => {
                let code = b["error"]["code"].as_str().unwrap_or("refused").to_owned();
                if code == "checksum_mismatch" {
                    // The bytes were damaged on the way; send them again.
                    Step::Retry {
                        store_failed: false,
                    }
                } else {
                    Step::Refused(code)
                }
            }
            _ => Step::Retry {
                store_failed: false,
            },
        }
    }
}
