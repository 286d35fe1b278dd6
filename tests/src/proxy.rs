//! A fault-injecting TCP proxy for sync tests: it sits between a client and the
//! server and, per connection, passes traffic, drops the answer after the server
//! has sent it (the lost acknowledgement), cuts the request midway, delays, or
//! resets the connection at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// What the proxy does to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Forward the request, wait for the first bytes of the answer (the server
    /// answers only after commit), then close without forwarding them.
    DropResponse,
    /// Forward about half of the request, then close both sides.
    CutRequest,
    /// Wait before forwarding.
    Delay(Duration),
    /// Close the client's connection at once.
    Reset,
}

/// The proxy; `faults` is a script consumed one entry per connection, then `Pass`.
pub struct Proxy {
    pub addr: SocketAddr,
    pub script: Arc<Mutex<Vec<Fault>>>,
    pub connections: Arc<AtomicU64>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let script: Arc<Mutex<Vec<Fault>>> = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let (s, n) = (script.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                n.fetch_add(1, Ordering::SeqCst);
                let fault = {
                    let mut s = s.lock().await;
                    if s.is_empty() {
                        Fault::Pass
                    } else {
                        s.remove(0)
                    }
                };
                tokio::spawn(handle(client, upstream, fault));
            }
        });
        Proxy {
            addr,
            script,
            connections,
        }
    }

    /// Faults for the next connections, in order.
    pub async fn script(&self, faults: &[Fault]) {
        self.script.lock().await.extend_from_slice(faults);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, fault: Fault) {
    match fault {
        Fault::Reset => {
            let _ = client.set_zero_linger();
            drop(client);
        }
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            pass(client, upstream).await;
        }
        Fault::Pass => pass(client, upstream).await,
        Fault::CutRequest => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = Vec::new();
            // Read what the client sends within a short while, forward half of it.
            while let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(200), client.read(&mut buf)).await
            {
                if n == 0 {
                    break;
                }
                total.extend_from_slice(&buf[..n]);
            }
            let half = total.len() / 2;
            let _ = server.write_all(&total[..half]).await;
            let _ = server.shutdown().await;
            drop(server);
            drop(client);
        }
        Fault::DropResponse => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut cr, _cw) = client.split();
            let (mut sr, mut sw) = server.split();
            let forward = async {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            };
            let first_answer = async {
                let mut b = [0u8; 1];
                let _ = sr.read(&mut b).await;
            };
            tokio::select! {
                _ = forward => {},
                _ = first_answer => {},
            }
            // The answer exists: the server committed. The client never hears of it.
        }
    }
}

async fn pass(mut client: TcpStream, upstream: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(upstream).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
