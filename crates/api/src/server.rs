//! The listener loop: HTTP/1.1 with the limits that keep slow or hostile
//! clients from holding the server (api.md leaves the transport to us).
//!
//! - A connection must send a request's headers within
//!   [`Limits::header_read_timeout`], or it is closed (also an idle kept-alive one).
//! - A request body must make progress every [`Limits::body_idle_timeout`]
//!   (uploads over weak networks may take long, but may not stall).
//! - Requests that carry no upload must be answered within
//!   [`Limits::request_timeout`] (408 otherwise).
//! - At most [`Limits::max_connections`] connections are served at once; past
//!   that, new ones wait in the kernel's backlog instead of holding our files.
//!   The server's own calls to the embedded object store use a listener of
//!   their own, so a flood here can't starve them.

use anjian_domain::ErrorCode;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::error::ApiError;

/// Timeouts and the connection cap of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Whether a request carries an upload that may take long over a weak
/// network: photo bytes (through the API or the embedded store), a push, a
/// roster file. Only these run without a total time limit.
fn is_upload(method: &Method, path: &str) -> bool {
    match *method {
        Method::PUT => {
            (path.starts_with("/api/v1/photos/") && path.ends_with("/content"))
                || !path.starts_with("/api/")
        }
        Method::POST => path == "/api/v1/sync/push" || path == "/api/v1/enterprises/import",
        _ => false,
    }
}

/// Middleware: the total time limit of requests without an upload.
pub async fn deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    if is_upload(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(axum::http::StatusCode::REQUEST_TIMEOUT, ErrorCode::Timeout)
            .into_response(),
    }
}

/// Adds the limits that live in the router (body idle time, total time).
pub fn with_limits(router: Router, limits: Limits) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            deadline,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_idle_timeout,
        ))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        // One buffer per write, so that `Enveloping` sees whole answers.
        .writev(false);
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, nothing more is accepted.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a moment, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let app = app.clone();
            async move {
                app.oneshot(req.map(Body::new))
                    .await
                    .map_err(|e: Infallible| match e {})
            }
        });
        let conn = http.serve_connection(TokioIo::new(Enveloping::new(stream)), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The answers the HTTP parser writes by itself, before any handler runs (an
/// unreadable request, a request line or headers too long), exactly as it
/// writes them, with the code of the envelope that replaces them.
const PARSER_ANSWERS: [(&[u8], axum::http::StatusCode, ErrorCode); 3] = [
    (
        b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        axum::http::StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    ),
    (
        b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        axum::http::StatusCode::URI_TOO_LONG,
        ErrorCode::UriTooLong,
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ErrorCode::InvalidRequest,
    ),
];

/// Whether `buf` is `bare` as the parser writes it: its head, perhaps with a
/// `date` header, and nothing after.
fn is_parser_answer(bare: &[u8], buf: &[u8]) -> bool {
    let head = &bare[..bare.len() - 2];
    let Some(rest) = buf.strip_prefix(head) else {
        return false;
    };
    rest == b"\r\n"
        || (rest.starts_with(b"date: ")
            && rest.ends_with(b"\r\n\r\n")
            && rest.windows(2).filter(|w| w == b"\r\n").count() == 2)
}

/// The envelope answer that replaces a bare answer of the parser.
fn enveloped(status: axum::http::StatusCode, code: ErrorCode) -> Vec<u8> {
    let body = serde_json::json!({"error": {
        "code": code.as_str(),
        "message": crate::error::message(code, crate::context::Lang::Zh),
        "request_id": uuid::Uuid::now_v7().to_string(),
    }})
    .to_string();
    format!(
        "HTTP/1.1 {} {}\r\nconnection: close\r\ncontent-type: application/json\r\ncache-control: no-store\r\ncontent-length: {}\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

pin_project_lite::pin_project! {
    /// A connection whose parser-written error answers get the envelope like
    /// every other error (api.md "Conventions"): the parser answers those
    /// before any middleware could.
    struct Enveloping<T> {
        #[pin]
        inner: T,
        // A replacement being written, and how much of it is out.
        pending: Option<(Vec<u8>, usize, usize)>,
    }
}

impl<T> Enveloping<T> {
    fn new(inner: T) -> Self {
        Enveloping {
            inner,
            pending: None,
        }
    }
}

impl<T: tokio::io::AsyncRead> tokio::io::AsyncRead for Enveloping<T> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite> tokio::io::AsyncWrite for Enveloping<T> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        let mut this = self.project();
        if this.pending.is_none() {
            match PARSER_ANSWERS
                .iter()
                .find(|(bare, _, _)| is_parser_answer(bare, buf))
            {
                Some((_, status, code)) => {
                    *this.pending = Some((enveloped(*status, *code), 0, buf.len()))
                }
                None => return this.inner.poll_write(cx, buf),
            }
        }
        while let Some((bytes, sent, covers)) = this.pending.as_mut() {
            if *sent == bytes.len() {
                let n = *covers;
                *this.pending = None;
                return Poll::Ready(Ok(n));
            }
            match this.inner.as_mut().poll_write(cx, &bytes[*sent..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::is_upload;
    use axum::http::Method;

    #[test]
    fn only_the_parsers_own_answers_are_replaced() {
        let bare = super::PARSER_ANSWERS[1].0;
        assert!(super::is_parser_answer(bare, bare));
        let dated = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 04:25:18 GMT\r\n\r\n";
        assert!(super::is_parser_answer(bare, dated));
        let ours = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\nx-more: y\r\n\r\n";
        assert!(!super::is_parser_answer(bare, ours));
        assert!(!super::is_parser_answer(bare, b"HTTP/1.1 200 OK\r\n\r\n"));
    }

    #[test]
    fn only_uploads_run_without_a_total_limit() {
        assert!(is_upload(&Method::PUT, "/api/v1/photos/x/content"));
        assert!(is_upload(&Method::PUT, "/anjian/staging/x"));
        assert!(is_upload(&Method::POST, "/api/v1/sync/push"));
        assert!(!is_upload(&Method::POST, "/api/v1/photos/x/complete"));
        assert!(!is_upload(&Method::GET, "/api/v1/sync/pull"));
        assert!(!is_upload(&Method::PUT, "/api/v1/hazards/x/plan"));
    }
}
