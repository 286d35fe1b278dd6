//! The object store, through aws-sdk-s3 only: the same code talks to the
//! embedded server and to AWS, MinIO, Ceph or Garage.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};

/// Where the store is and how to sign for it.
#[derive(Clone)]
pub struct StoreConfig {
    /// What the server itself connects to.
    pub endpoint: String,
    /// What presigned URLs point at (phones must reach it).
    pub public_endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// A key pair of its own for presigned URLs, when the store grants it
    /// less than the server's own (the embedded store: only what phones need).
    /// `None`: URLs are signed with the server's key.
    pub presign_key: Option<(String, String)>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("endpoint", &self.endpoint)
            .field("public_endpoint", &self.public_endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// A failure of the store. `NotFound` is told apart: callers decide what a
/// missing object means.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object not found")]
    NotFound,
    #[error("object larger than {0} bytes")]
    TooLarge(u64),
    #[error("object store: {0}")]
    Failed(String),
}

fn failed<E: ProvideErrorMetadata + std::fmt::Debug>(op: &str, e: E) -> StoreError {
    StoreError::Failed(format!(
        "{op}: {} {}",
        e.code().unwrap_or("error"),
        e.message().unwrap_or_default()
    ))
}

/// A URL the client may PUT the bytes to, and the headers it must send.
#[derive(Debug, Clone)]
pub struct PresignedPut {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// One stored object, as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: i64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The base64 form S3 uses for `x-amz-checksum-sha256`, from the hex form.
pub fn sha256_b64(hex_digest: &str) -> Option<String> {
    let raw = hex::decode(hex_digest).ok()?;
    (raw.len() == 32).then(|| base64::engine::general_purpose::STANDARD.encode(raw))
}

/// The bucket, reached through two clients: one for the server's own calls
/// and one that signs URLs for the public endpoint.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    client: Client,
    presigner: Client,
    bucket: String,
}

fn client(cfg: &StoreConfig, endpoint: &str, (key_id, secret): (&str, &str)) -> Client {
    let creds = Credentials::new(key_id, secret, None, None, "anjian");
    let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(cfg.region.clone()))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(creds)
        .timeout_config(timeouts)
        .build();
    Client::from_conf(conf)
}

impl ObjectStore {
    pub fn new(cfg: &StoreConfig) -> ObjectStore {
        ObjectStore {
            client: client(
                cfg,
                &cfg.endpoint,
                (&cfg.access_key_id, &cfg.secret_access_key),
            ),
            presigner: client(
                cfg,
                &cfg.public_endpoint,
                cfg.presign_key.as_ref().map_or(
                    (cfg.access_key_id.as_str(), cfg.secret_access_key.as_str()),
                    |(k, s)| (k.as_str(), s.as_str()),
                ),
            ),
            bucket: cfg.bucket.clone(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bucket exists and answers to our credentials.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("head bucket", e))
    }

    /// A PUT URL for exactly these bytes: length, type and SHA-256 are part of
    /// the signature, so the store refuses anything else.
    pub async fn presign_put(
        &self,
        key: &str,
        sha256_hex: &str,
        size: i64,
        content_type: &str,
        ttl: Duration,
    ) -> Result<PresignedPut, StoreError> {
        let checksum = sha256_b64(sha256_hex)
            .ok_or_else(|| StoreError::Failed("sha256 is not 64 hex digits".into()))?;
        let cfg =
            PresigningConfig::expires_in(ttl).map_err(|e| StoreError::Failed(e.to_string()))?;
        let req = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(size)
            .content_type(content_type)
            .checksum_sha256(checksum)
            .presigned(cfg)
            .await
            .map_err(|e| failed("presign put", e))?;
        Ok(PresignedPut {
            url: req.uri().to_owned(),
            headers: req
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expires_at: Utc::now() + ttl,
        })
    }

    /// A GET URL that answers with the given type and disposition.
    pub async fn presign_get(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        let cfg =
            PresigningConfig::expires_in(ttl).map_err(|e| StoreError::Failed(e.to_string()))?;
        let req = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .response_content_disposition(disposition)
            .presigned(cfg)
            .await
            .map_err(|e| failed("presign get", e))?;
        Ok(req.uri().to_owned())
    }

    /// Stores `bytes`; the store checks them against their SHA-256.
    /// With `only_new`, an existing object is kept as it is (`Ok(false)`).
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let (size, digest) = (bytes.len() as i64, sha256_hex(&bytes));
        self.put_body(
            key,
            ByteStream::from(bytes),
            size,
            &digest,
            content_type,
            only_new,
        )
        .await
    }

    /// Stores `bytes` whose SHA-256 (hex) the caller computed; the store
    /// checks them against it. With `only_new`, an existing object is kept.
    pub async fn put_hashed(
        &self,
        key: &str,
        bytes: Bytes,
        sha256_hex: &str,
        content_type: &str,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let size = bytes.len() as i64;
        self.put_body(
            key,
            ByteStream::from(bytes),
            size,
            sha256_hex,
            content_type,
            only_new,
        )
        .await
    }

    /// Stores the file at `path` (streamed from disk), whose SHA-256 is known.
    pub async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        size: i64,
        sha256_hex: &str,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| StoreError::Failed(format!("reading {}: {e}", path.display())))?;
        self.put_body(key, body, size, sha256_hex, content_type, false)
            .await
            .map(|_| ())
    }

    async fn put_body(
        &self,
        key: &str,
        body: ByteStream,
        size: i64,
        sha256_hex: &str,
        content_type: &str,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size)
            .checksum_sha256(sha256_b64(sha256_hex).unwrap_or_default())
            .body(body);
        if only_new {
            req = req.if_none_match("*");
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if only_new && e.code() == Some("PreconditionFailed") => Ok(false),
            Err(e) => Err(failed("put", e)),
        }
    }

    /// The whole object, refused past `max` bytes without reading it all.
    pub async fn get(&self, key: &str, max: u64) -> Result<Bytes, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    StoreError::NotFound
                } else {
                    failed("get", e)
                }
            })?;
        if out
            .content_length()
            .is_some_and(|n| n < 0 || n as u64 > max)
        {
            return Err(StoreError::TooLarge(max));
        }
        let mut body = out.body;
        let mut buf = BytesMut::with_capacity(out.content_length.unwrap_or(0).max(0) as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StoreError::Failed(format!("get body: {e}")))?
        {
            if (buf.len() + chunk.len()) as u64 > max {
                return Err(StoreError::TooLarge(max));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(failed("head", e)),
        }
    }

    /// Removes an object; removing a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("delete", e))
    }

    /// Every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| failed("list", e))?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    out.push(Listed {
                        key: key.to_owned(),
                        size: o.size().unwrap_or(0),
                        last_modified: o
                            .last_modified()
                            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}
