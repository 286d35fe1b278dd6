//! The embedded S3 server: s3s over a directory, served on the API's own
//! listener under `/<bucket>/`, so presigned URLs work from a phone.

use std::convert::Infallible;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tower::ServiceExt;

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

    /// A tower service for `Router::route_service`.
    pub fn service<M: Clone + Send + Sync + 'static>(
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
