//! Wiring of photo evidence: the object store from the configuration (an
//! external S3, or the embedded server over the data dir). The sweep of what
//! uploads leave behind is a use case (`anjian_usecases::photos::sweep`).

use std::time::Duration;

use anjian_api::Photos;
use anjian_evidence::embedded::KeyPair;
use anjian_evidence::{Embedded, ObjectStore, Processor, StoreConfig};
use anyhow::Context;
use sha2::Digest;

use crate::config::Config;

pub use anjian_usecases::photos::{SweepReport, sweep};

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
            queue: Default::default(),
            variant_lease: Duration::from_secs(config.photo_lease_secs),
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
