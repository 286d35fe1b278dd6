//! The embedded S3 server: s3s over a directory, served on the API's own
//! listener under `/<bucket>/`, so presigned URLs work from a phone.

use std::convert::Infallible;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tower::ServiceExt;

/// Largest request body the embedded store reads.
const MAX_BODY: usize = 32 * 1024 * 1024;

const TOO_LARGE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed object size.</Message></Error>";

/// An S3 server over `root`, holding `bucket`, accepting one key pair.
#[derive(Clone, Debug)]
pub struct Embedded {
    service: S3Service,
}

impl Embedded {
    /// Creates `root/bucket` when missing.
    pub fn open(
        root: &Path,
        bucket: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> std::io::Result<Embedded> {
        std::fs::create_dir_all(root.join(bucket))?;
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(access_key_id, secret_access_key));
        Ok(Embedded { service: b.build() })
    }

    /// Answers one S3 request. S3's own XML errors go back unchanged, marked
    /// with `marker` so the API's error layer leaves them alone.
    pub async fn call<M: Clone + Send + Sync + 'static>(
        &self,
        req: Request<Body>,
        marker: M,
    ) -> Response<Body> {
        // Nothing we store is larger than a photo (plus the framing of a
        // chunked upload); a larger body is refused before s3s reads it.
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            let mut resp = Response::new(Body::from(TOO_LARGE));
            *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            resp.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/xml"),
            );
            resp.extensions_mut().insert(marker);
            return resp;
        }
        let req = req.map(|b| Body::new(http_body_util::Limited::new(b, MAX_BODY)));
        match self.service.clone().oneshot(req).await {
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

    /// Routes `/<bucket>`, `/<bucket>/` and `/<bucket>/<key>` to this store;
    /// responses carry `marker`.
    pub fn routes<S, M>(self, bucket: &str, marker: M) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        M: Clone + Send + Sync + 'static,
    {
        let svc = self.service(marker);
        axum::Router::new()
            .route_service(&format!("/{bucket}"), svc.clone())
            .route_service(&format!("/{bucket}/"), svc.clone())
            .route_service(&format!("/{bucket}/{{*key}}"), svc)
    }

    fn service<M: Clone + Send + Sync + 'static>(
        self,
        marker: M,
    ) -> impl tower::Service<
        Request<Body>,
        Response = Response<Body>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static {
        tower::service_fn(move |req: Request<Body>| {
            let this = self.clone();
            let marker = marker.clone();
            async move { Ok::<_, Infallible>(this.call(req, marker).await) }
        })
    }
}
