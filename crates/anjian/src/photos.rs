//! Wiring of photo evidence: the object store from the configuration (an
//! external S3, or the embedded server over the data dir), and the sweep of
//! what uploads leave behind.

use std::collections::HashMap;
use std::time::Duration;

use anjian_api::Photos;
use anjian_evidence::embedded::KeyPair;
use anjian_evidence::{Embedded, ObjectStore, Processor, StoreConfig, keys};
use anjian_store::{Actor, Db, repo};
use anyhow::Context;
use chrono::Utc;
use sha2::Digest;
use uuid::Uuid;

use crate::config::Config;

/// Bucket of the embedded store.
pub const EMBEDDED_BUCKET: &str = "anjian";
/// Key id of the server's own calls to the embedded store (loopback only).
const INTERNAL_ACCESS_KEY: &str = "anjian-internal";
/// Key id of the URLs handed to phones.
const PRESIGN_ACCESS_KEY: &str = "anjian-embedded";

/// Decode memory allowed in flight at once (MiB).
const DECODE_BUDGET_MIB: u32 = 256;

/// A secret of the embedded store, derived from the signing key so presigned
/// URLs stay valid across restarts; `label` keeps the two key pairs apart.
fn embedded_secret(secret_key: &[u8], label: &[u8]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"anjian embedded object store\0");
    h.update(label);
    h.update(secret_key);
    hex::encode(h.finalize())
}

/// Photo evidence as wired: the settings handlers use and, with the embedded
/// store, the task serving the server's own calls to it on a loopback port.
pub struct Evidence {
    pub photos: Photos,
    pub internal: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The photo settings for a server linked as `public_url`. With no S3
/// configured, the embedded server is opened over the data dir (keys derived
/// from `secret_key`): its presigned side is for the caller to serve on the
/// public listener; its full side is served here on a loopback port.
pub async fn photos(
    config: &Config,
    secret_key: &[u8],
    public_url: &str,
) -> anyhow::Result<Evidence> {
    let (cfg, embedded, internal) = match &config.s3 {
        Some(s3) => (
            StoreConfig {
                endpoint: s3.endpoint.clone(),
                public_endpoint: s3
                    .public_endpoint
                    .clone()
                    .unwrap_or_else(|| s3.endpoint.clone()),
                bucket: s3.bucket.clone(),
                region: s3.region.clone(),
                access_key_id: s3.access_key_id.0.clone(),
                secret_access_key: s3.secret_access_key.0.clone(),
                presign_key: None,
            },
            None,
            None,
        ),
        None => {
            let internal_secret = embedded_secret(secret_key, b"internal");
            let presign_secret = embedded_secret(secret_key, b"presign");
            let root = config.data_dir.join("objects");
            let embedded = Embedded::open(
                &root,
                EMBEDDED_BUCKET,
                KeyPair {
                    id: INTERNAL_ACCESS_KEY,
                    secret: &internal_secret,
                },
                KeyPair {
                    id: PRESIGN_ACCESS_KEY,
                    secret: &presign_secret,
                },
            )
            .with_context(|| format!("opening the object store in {}", root.display()))?;
            let listener =
                tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
            let addr = listener.local_addr()?;
            let task = serve_store(embedded.clone(), EMBEDDED_BUCKET, listener);
            (
                StoreConfig {
                    endpoint: format!("http://{addr}"),
                    public_endpoint: public_url.trim_end_matches('/').to_owned(),
                    bucket: EMBEDDED_BUCKET.into(),
                    region: "us-east-1".into(),
                    access_key_id: INTERNAL_ACCESS_KEY.into(),
                    secret_access_key: internal_secret,
                    presign_key: Some((PRESIGN_ACCESS_KEY.into(), presign_secret)),
                },
                Some(embedded),
                Some(task),
            )
        }
    };
    clear_spool(&config.data_dir.join("spool"));
    Ok(Evidence {
        photos: Photos {
            store: ObjectStore::new(&cfg),
            processor: Processor::new(DECODE_BUDGET_MIB),
            embedded,
            spool_dir: config.data_dir.join("spool"),
            upload_ttl: Duration::from_secs(15 * 60),
            download_ttl: Duration::from_secs(5 * 60),
        },
        internal,
    })
}

/// Removes uploads a killed process left half-received in the spool (older
/// than an hour, so a running process's uploads are never touched).
fn clear_spool(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < hour_ago);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The object store for a command run outside the server: the embedded one
/// is served on a loopback port of its own for as long as the command runs.
pub async fn store_for_cli(config: &Config) -> anyhow::Result<ObjectStore> {
    let e = photos(config, &config.secret_key()?, "http://127.0.0.1").await?;
    Ok(e.photos.store)
}

/// Serves every S3 operation of an embedded store on `listener` (a loopback
/// port), until the runtime ends or the returned task is aborted.
pub fn serve_store(
    store: Embedded,
    bucket: &str,
    listener: tokio::net::TcpListener,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let app: axum::Router = store.full_routes(bucket);
    tokio::spawn(async move { axum::serve(listener, app).await })
}

/// What the sweep found (and, with `apply`, removed).
#[derive(Debug, Default, serde::Serialize)]
pub struct SweepReport {
    /// Declared long ago, never uploaded, listed by no record.
    pub stale_photos: Vec<Uuid>,
    /// Declared long ago, never uploaded, but a record lists them: kept.
    pub stale_attached: Vec<Uuid>,
    /// Uploads whose photo is gone or already processed.
    pub orphan_uploads: Vec<String>,
    /// Content-addressed objects no stored-object record names.
    pub orphan_objects: Vec<String>,
    /// Stored objects no photo refers to.
    pub unreferenced: Vec<String>,
    pub applied: bool,
}

/// Finds photos declared more than `days` ago whose bytes never came, and
/// stored objects nothing refers to; removes them when `apply`.
pub async fn sweep(
    db: &Db,
    store: &ObjectStore,
    days: u32,
    apply: bool,
) -> anyhow::Result<SweepReport> {
    let e = |e: anjian_domain::Error| anyhow::anyhow!("{e:?}");
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let mut r = SweepReport {
        applied: apply,
        ..Default::default()
    };
    for p in repo::photos::stale_pending(db, cutoff).await.map_err(e)? {
        if p.owner_id.is_some() {
            r.stale_attached.push(p.id);
        } else {
            r.stale_photos.push(p.id);
        }
    }
    // Uploads: an upload younger than the cutoff may still be completed.
    let staged = store.list(keys::STAGING_PREFIX).await?;
    let ids: Vec<(Uuid, String)> = staged
        .iter()
        .filter(|o| o.last_modified.is_none_or(|t| t < cutoff))
        .filter_map(|o| {
            let id = o.key.strip_prefix(keys::STAGING_PREFIX)?.parse().ok()?;
            Some((id, o.key.clone()))
        })
        .collect();
    let status: HashMap<Uuid, String> =
        repo::photos::statuses(db, &ids.iter().map(|(i, _)| *i).collect::<Vec<_>>())
            .await
            .map_err(e)?
            .into_iter()
            .collect();
    for (id, key) in ids {
        let live = status.get(&id).is_some_and(|s| s == repo::photos::PENDING)
            && !r.stale_photos.contains(&id);
        if !live {
            r.orphan_uploads.push(key);
        }
    }
    // Content: objects whose SHA-256 no record names.
    let known = repo::photos::stored_shas(db).await.map_err(e)?;
    for prefix in keys::CONTENT_PREFIXES {
        for o in store.list(prefix).await? {
            if o.last_modified.is_some_and(|t| t >= cutoff) {
                continue; // may belong to a completion in progress
            }
            let sha = o
                .key
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".jpg")
                .to_owned();
            if !known.contains(&sha) {
                r.orphan_objects.push(o.key.clone());
            }
        }
    }
    r.unreferenced = repo::photos::unreferenced_objects(db).await.map_err(e)?;
    if apply {
        for id in &r.stale_photos {
            repo::photos::remove_pending(db, Actor::system(), *id)
                .await
                .map_err(e)?;
            store.delete(&keys::staging(id)).await?;
        }
        for key in &r.orphan_uploads {
            store.delete(key).await?;
        }
        for key in &r.orphan_objects {
            store.delete(key).await?;
        }
        for sha in &r.unreferenced {
            if repo::photos::forget_object(db, sha).await.map_err(e)? {
                store.delete(&keys::original(sha)).await?;
                store.delete(&keys::variant("preview", sha)).await?;
                store.delete(&keys::variant("thumb", sha)).await?;
            }
        }
    }
    Ok(r)
}
