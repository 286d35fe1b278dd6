//! A real SMTP server inside the test process (mailin's state machine over
//! a loopback listener): it keeps what it accepts, and can refuse the next
//! messages with a temporary error, as a relay that is down would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Vec<u8>>>,
    refuse: AtomicUsize,
}

struct Session {
    shared: Arc<Shared>,
    data: Vec<u8>,
}

impl Handler for Session {
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> Response {
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let refused = self
            .shared
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refused {
            // 421 closes the connection, as a relay going down does.
            return mailin::response::NO_SERVICE;
        }
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(std::mem::take(&mut self.data));
        mailin::response::OK
    }
}

/// The server; it stops when dropped.
pub struct SmtpServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let shared = s.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut session = SessionBuilder::new("smtp.test").build(
                        peer.ip(),
                        Session {
                            shared,
                            data: Vec::new(),
                        },
                    );
                    let greeting = session.greeting().buffer().unwrap_or_default();
                    if w.write_all(&greeting).await.is_err() {
                        return;
                    }
                    let mut lines = BufReader::new(r);
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        match lines.read_until(b'\n', &mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let res = session.process(&line);
                        match res.action {
                            Action::NoReply => {}
                            Action::Close => {
                                let _ = w.write_all(&res.buffer().unwrap_or_default()).await;
                                return;
                            }
                            Action::Reply | Action::UpgradeTls => {
                                if w.write_all(&res.buffer().unwrap_or_default())
                                    .await
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        SmtpServer { addr, shared, task }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The next `n` messages are refused (421, and the connection closed) at
    /// the end of their data.
    pub fn refuse_next(&self, n: usize) {
        self.shared.refuse.store(n, Ordering::SeqCst);
    }

    /// The messages accepted so far, as received.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
