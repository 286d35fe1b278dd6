//! The embedded S3 server: s3s over a directory.
//!
//! It answers two ways. On the API's own listener, under `/<bucket>/`, it
//! serves phones and browsers presigned requests only, and of those only what
//! they need: GET and HEAD of objects, PUT of upload (staging) keys, with
//! every `x-amz-*` header signed; those URLs are signed with a key pair that
//! grants nothing else. The server's own calls (originals, variants, deletes,
//! listings) go with another key pair to a loopback listener of their own,
//! which also keeps them clear of the public listener's connection cap.

use std::convert::Infallible;
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tower::ServiceExt;

use crate::keys;

/// Largest request body the embedded store reads.
const MAX_BODY: usize = 32 * 1024 * 1024;

const TOO_LARGE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed object size.</Message></Error>";
const DENIED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";

/// An access key id and its secret.
#[derive(Clone, Copy, Debug)]
pub struct KeyPair<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

/// An S3 server over `root`, holding one bucket.
#[derive(Clone, Debug)]
pub struct Embedded {
    /// Every S3 operation, for the server's own key.
    full: S3Service,
    /// The presigned requests phones make, for the presigning key.
    presigned: S3Service,
    /// Where the bucket's objects are files.
    bucket_dir: std::path::PathBuf,
    /// Where uploads are held while they are verified (same file system).
    holding_dir: std::path::PathBuf,
}

/// An upload held for verification: its bytes can't change under it, and it
/// becomes an object without a copy.
#[derive(Debug)]
pub struct Held {
    path: std::path::PathBuf,
    bucket_dir: std::path::PathBuf,
}

impl Held {
    /// The held bytes, at most `max` of them.
    pub async fn read(&self, max: u64) -> Result<bytes::Bytes, crate::StoreError> {
        read_capped(self.path.clone(), max).await
    }

    /// Makes the held bytes the object `key` unless it exists (stored bytes
    /// of a content-addressed key are the same bytes), flushed to disk:
    /// `true` when they became it now.
    pub async fn store_as(self, key: &str) -> Result<bool, crate::StoreError> {
        let to = self.bucket_dir.join(key);
        let from = self.path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
            let dir = to.parent().map(std::path::Path::to_path_buf);
            if let Some(d) = &dir {
                std::fs::create_dir_all(d)?;
            }
            let made = match std::fs::hard_link(&from, &to) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(e),
            };
            std::fs::remove_file(&from)?;
            if let Some(d) = dir {
                std::fs::File::open(d)?.sync_all()?;
            }
            Ok(made)
        })
        .await
        .map_err(|e| crate::StoreError::Failed(format!("storing held upload: {e}")))?
        .map_err(|e| crate::StoreError::Failed(format!("storing held upload: {e}")))
    }
}

/// The file at `path`, refused past `max` bytes before it is read.
async fn read_capped(
    path: std::path::PathBuf,
    max: u64,
) -> Result<bytes::Bytes, crate::StoreError> {
    let failed = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => crate::StoreError::NotFound,
        _ => crate::StoreError::Failed(format!("reading {}: {e}", path.display())),
    };
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<Option<Vec<u8>>> {
            if std::fs::metadata(&path)?.len() > max {
                return Ok(None);
            }
            std::fs::read(&path).map(Some)
        })
    };
    match read.await {
        Ok(Ok(Some(b))) => Ok(b.into()),
        Ok(Ok(None)) => Err(crate::StoreError::TooLarge(max)),
        Ok(Err(e)) => Err(failed(e)),
        Err(e) => Err(crate::StoreError::Failed(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Not stored: let go of the bytes (a no-op once `store_as` ran).
        let _ = std::fs::remove_file(&self.path);
    }
}

fn service(fs: crate::durable::Durable, key: KeyPair<'_>) -> S3Service {
    let mut b = S3ServiceBuilder::new(fs);
    b.set_auth(SimpleAuth::from_single(key.id, key.secret));
    b.build()
}

fn xml(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Whether the body is declared larger than anything we store (a photo plus
/// the framing of a chunked upload): refused before anything reads it.
fn too_large(req: &Request<Body>) -> bool {
    req.headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY as u64)
}

fn is_bearer(v: &axum::http::HeaderValue) -> bool {
    v.as_bytes()
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"bearer "))
}

/// Query parameters a presigned URL of ours may carry.
fn presign_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("x-amz-")
        || lower == "x-id"
        || matches!(
            lower.as_str(),
            "response-content-type" | "response-content-disposition" | "response-cache-control"
        )
}

/// Why a request on the public listener is refused, if it is: only presigned
/// GET/HEAD of an object and PUT of a staging key, every `x-amz-*` header signed.
pub fn refuse_public(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &axum::http::HeaderMap,
    bucket: &str,
) -> Option<&'static str> {
    // A signature in a header is the server's kind of request, not a phone's.
    // (A phone's own API token, kept on a same-host redirect from
    // `GET /photos/{id}/{variant}`, is dropped before the store sees it.)
    if headers
        .get(axum::http::header::AUTHORIZATION)
        .is_some_and(|v| !is_bearer(v))
    {
        return Some("not presigned");
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("X-Amz-Signature").is_none() || get("X-Amz-Credential").is_none() {
        return Some("not presigned");
    }
    if params.iter().any(|(k, _)| !presign_param(k)) {
        return Some("operation not allowed");
    }
    let signed: Vec<String> = get("X-Amz-SignedHeaders")
        .unwrap_or("")
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    let unsigned_amz = headers
        .keys()
        .any(|h| h.as_str().starts_with("x-amz-") && !signed.iter().any(|s| s == h.as_str()));
    if unsigned_amz {
        return Some("unsigned x-amz header");
    }
    let key = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(bucket))
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or("");
    if key.is_empty() || key.ends_with('/') {
        return Some("not an object");
    }
    match *method {
        Method::GET | Method::HEAD => None,
        Method::PUT if key.starts_with(keys::STAGING_PREFIX) => None,
        _ => Some("operation not allowed"),
    }
}

impl Embedded {
    /// Creates `root/bucket` when missing. `full` may do everything; `presign`
    /// signs the URLs handed to phones.
    pub fn open(
        root: &Path,
        bucket: &str,
        full: KeyPair<'_>,
        presign: KeyPair<'_>,
    ) -> std::io::Result<Embedded> {
        std::fs::create_dir_all(root.join(bucket))?;
        // Beside the bucket, never a key of it; what a killed process held
        // there is dropped at the next start.
        let holding_dir = root.join(".anjian-holding");
        let _ = std::fs::remove_dir_all(&holding_dir);
        std::fs::create_dir_all(&holding_dir)?;
        // One file system behind both faces.
        let fs = crate::durable::Durable::new(root)?;
        Ok(Embedded {
            full: service(fs.clone(), full),
            presigned: service(fs, presign),
            bucket_dir: root.join(bucket),
            holding_dir,
        })
    }

    /// The bytes of the object `key`, at most `max`, read from disk (this
    /// process serves the store: no request to itself). For objects nobody
    /// writes again (content-addressed); an upload is read through [`Embedded::hold`].
    pub async fn read(&self, key: &str, max: u64) -> Result<bytes::Bytes, crate::StoreError> {
        read_capped(self.bucket_dir.join(key), max).await
    }

    /// Stores `bytes` as the object `key`, replacing it, flushed to disk
    /// before it answers: written beside the bucket, then renamed into place.
    pub async fn write(&self, key: &str, bytes: bytes::Bytes) -> Result<(), crate::StoreError> {
        let to = self.bucket_dir.join(key);
        let tmp = self.holding_dir.join(uuid::Uuid::now_v7().to_string());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            drop(f);
            let dir = to.parent().map(std::path::Path::to_path_buf);
            if let Some(d) = &dir {
                std::fs::create_dir_all(d)?;
            }
            std::fs::rename(&tmp, &to)?;
            if let Some(d) = dir {
                std::fs::File::open(d)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| crate::StoreError::Failed(format!("writing {key}: {e}")))?
        .map_err(|e| crate::StoreError::Failed(format!("writing {key}: {e}")))
    }

    /// Whether the object `key` exists.
    pub async fn exists(&self, key: &str) -> bool {
        tokio::fs::try_exists(self.bucket_dir.join(key))
            .await
            .unwrap_or(false)
    }

    /// Takes hold of the upload at `key` (this process serves the store, so
    /// it reads the file itself instead of fetching it back): a link to its
    /// bytes that a later PUT of the same key can't change. `NotFound` when
    /// nothing was uploaded there.
    pub async fn hold(&self, key: &str) -> Result<Held, crate::StoreError> {
        let from = self.bucket_dir.join(key);
        let path = self.holding_dir.join(uuid::Uuid::now_v7().to_string());
        let to = path.clone();
        tokio::task::spawn_blocking(move || std::fs::hard_link(&from, &to))
            .await
            .map_err(|e| crate::StoreError::Failed(format!("holding upload: {e}")))?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => crate::StoreError::NotFound,
                _ => crate::StoreError::Failed(format!("holding upload: {e}")),
            })?;
        Ok(Held {
            path,
            bucket_dir: self.bucket_dir.clone(),
        })
    }

    /// Answers one S3 request with `svc`. S3's own XML errors go back
    /// unchanged, marked with `marker` so the API's error layer leaves them alone.
    async fn call<M: Clone + Send + Sync + 'static>(
        svc: S3Service,
        req: Request<Body>,
        marker: M,
    ) -> Response<Body> {
        if too_large(&req) {
            let mut resp = xml(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE);
            resp.extensions_mut().insert(marker);
            return resp;
        }
        let req = req.map(|b| Body::new(http_body_util::Limited::new(b, MAX_BODY)));
        match svc.oneshot(req).await {
            Ok(resp) => {
                let mut resp = resp.map(Body::new);
                resp.extensions_mut().insert(marker);
                resp
            }
            Err(e) => {
                tracing::warn!(error = ?e, "embedded object store failed a request");
                let mut resp = Response::new(Body::empty());
                *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                resp
            }
        }
    }

    /// The public routes: `/<bucket>`, `/<bucket>/` and `/<bucket>/<key>`,
    /// presigned requests only (see [`refuse_public`]); responses carry `marker`.
    pub fn routes<S, M>(self, bucket: &str, marker: M) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        M: Clone + Send + Sync + 'static,
    {
        let svc = self.presigned;
        let b = bucket.to_owned();
        Self::router(bucket, move |mut req: Request<Body>| {
            let svc = svc.clone();
            let marker = marker.clone();
            let refused = if too_large(&req) {
                None // answered 413 by `call`
            } else {
                refuse_public(
                    req.method(),
                    req.uri().path(),
                    req.uri().query(),
                    req.headers(),
                    &b,
                )
            };
            req.headers_mut().remove(axum::http::header::AUTHORIZATION);
            async move {
                if let Some(why) = refused {
                    tracing::info!(reason = why, "object store request refused");
                    let mut resp = xml(StatusCode::FORBIDDEN, DENIED);
                    resp.extensions_mut().insert(marker);
                    return resp;
                }
                Self::call(svc, req, marker).await
            }
        })
    }

    /// Every S3 operation under `/<bucket>`, for the server's own key: for a
    /// loopback listener of its own, never the public one.
    pub fn full_routes<S>(self, bucket: &str) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let svc = self.full;
        Self::router(bucket, move |req: Request<Body>| {
            Self::call(svc.clone(), req, ())
        })
    }

    fn router<S, F, Fut>(bucket: &str, f: F) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        F: Fn(Request<Body>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
    {
        let svc = tower::service_fn(move |req: Request<Body>| {
            let fut = f(req);
            async move { Ok::<_, Infallible>(fut.await) }
        });
        axum::Router::new()
            .route_service(&format!("/{bucket}"), svc.clone())
            .route_service(&format!("/{bucket}/"), svc.clone())
            .route_service(&format!("/{bucket}/{{*key}}"), svc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    const SIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2F20261130%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261130T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host%3Bx-amz-checksum-sha256&X-Amz-Signature=abc&x-id=PutObject";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn phones_get_objects_and_put_uploads_and_nothing_else() {
        let r = |m: Method, path: &str, q: &str, h: &[(&'static str, &'static str)]| {
            refuse_public(&m, path, Some(q), &headers(h), "anjian")
        };
        assert_eq!(r(Method::GET, "/anjian/preview/ab.jpg", SIGNED, &[]), None);
        assert_eq!(r(Method::HEAD, "/anjian/originals/ab", SIGNED, &[]), None);
        assert_eq!(
            r(
                Method::PUT,
                "/anjian/staging/x",
                SIGNED,
                &[("x-amz-checksum-sha256", "y")]
            ),
            None
        );
        // Not presigned, or signed in a header.
        assert!(r(Method::GET, "/anjian/preview/ab.jpg", "", &[]).is_some());
        assert!(
            r(
                Method::GET,
                "/anjian/preview/ab.jpg",
                SIGNED,
                &[("authorization", "AWS4 x")]
            )
            .is_some()
        );
        // A phone's API token, kept on the redirect to the URL, is no signature.
        assert_eq!(
            r(
                Method::GET,
                "/anjian/preview/ab.jpg",
                SIGNED,
                &[("authorization", "Bearer t")]
            ),
            None
        );
        // Other operations and keys.
        assert!(r(Method::PUT, "/anjian/originals/ab", SIGNED, &[]).is_some());
        assert!(r(Method::DELETE, "/anjian/staging/x", SIGNED, &[]).is_some());
        assert!(r(Method::POST, "/anjian/staging/x", SIGNED, &[]).is_some());
        assert!(r(Method::GET, "/anjian/", SIGNED, &[]).is_some());
        assert!(r(Method::GET, "/anjian/x", &format!("{SIGNED}&acl="), &[]).is_some());
        assert!(
            r(
                Method::GET,
                "/anjian/x",
                &format!("{SIGNED}&list-type=2"),
                &[]
            )
            .is_some()
        );
        // Unsigned x-amz headers would be executed by the store.
        for h in [
            "x-amz-copy-source",
            "x-amz-meta-owner",
            "x-amz-tagging",
            "x-amz-acl",
        ] {
            assert!(
                r(Method::PUT, "/anjian/staging/x", SIGNED, &[(h, "v")]).is_some(),
                "{h}"
            );
        }
    }
}
