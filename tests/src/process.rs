//! The real `anjian` binary on a database provisioned like every other test's
//! (a copy of the seeded template, checked and removed at the end), so that a
//! test can kill it with SIGKILL at any moment and start it again.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{ADMIN_PASSWORD, Provisioned, SECRET_KEY};

/// A running `anjian serve` process.
pub struct Process {
    bin: std::path::PathBuf,
    child: Option<Child>,
    pub port: u16,
    /// Dropped after the process is killed: checks and removes the database.
    pub provisioned: Provisioned,
    /// Settings of the next start, on top of the harness's (`ANJIAN_…`).
    pub env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Process {
    /// Starts `bin` (the binary, `env!("CARGO_BIN_EXE_anjian")`) on a fresh
    /// copy of the seeded database and waits until it answers.
    pub async fn spawn(bin: &str) -> Process {
        Process::spawn_with(bin, &[]).await
    }

    /// [`Process::spawn`] with settings of its own (`ANJIAN_…`).
    pub async fn spawn_with(bin: &str, env: &[(&str, &str)]) -> Process {
        let mut p = Process::prepared(bin, env).await;
        p.start().await;
        p
    }

    /// The process with its database provisioned, not started yet
    /// ([`Process::start`]).
    pub async fn prepared(bin: &str, env: &[(&str, &str)]) -> Process {
        let provisioned = Provisioned::new(|_| {}).await;
        Process {
            bin: bin.into(),
            child: None,
            port: free_port(),
            provisioned,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Another `anjian serve` on this one's database, as a second replica
    /// runs: its own port and data directory, the same settings.
    pub async fn replica(&self) -> Replica {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = self.command(&["serve"]);
        cmd.env("ANJIAN_LISTEN", format!("127.0.0.1:{port}"))
            .env("ANJIAN_DATA_DIR", dir.path());
        let child = launch(cmd, &format!("http://127.0.0.1:{port}")).await;
        Replica {
            child: Some(child),
            port,
            _dir: dir,
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The data directory (database file, spool, embedded store).
    pub fn dir(&self) -> &std::path::Path {
        self.provisioned.dir.path()
    }

    /// The binary with `args`, configured for this server's data directory
    /// and database (for its other commands, e.g. `photos sweep`).
    pub fn command(&self, args: &[&str]) -> Command {
        let cfg = &self.provisioned.cfg;
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env_clear()
            .env("ANJIAN_DATA_DIR", &cfg.data_dir)
            .env("ANJIAN_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("ANJIAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("ANJIAN_SECRET_KEY", SECRET_KEY)
            .env("ANJIAN_LOG", "warn");
        if let Some(u) = &cfg.database_url {
            cmd.env("DATABASE_URL", &u.0);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Starts the process again after [`Process::kill`], on the same port,
    /// data directory and database.
    pub async fn restart(&mut self) {
        self.start().await;
    }

    /// Starts the process (on its port, data directory and database) and
    /// waits until it answers.
    pub async fn start(&mut self) {
        let cmd = self.command(&["serve"]);
        self.child = Some(launch(cmd, &self.url()).await);
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Kills the process after `after`, then starts it again on the same
    /// port, data directory and database.
    pub async fn kill_and_restart(&mut self, after: Duration) {
        tokio::time::sleep(after).await;
        self.kill();
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.start().await;
    }
}

/// Spawns `cmd` (quiet) and waits until `url` answers `/healthz`.
async fn launch(mut cmd: Command, url: &str) -> Child {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await
            && r.status().is_success()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("anjian did not start");
}

/// A second `anjian serve` on a [`Process`]'s database ([`Process::replica`]).
pub struct Replica {
    child: Option<Child>,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Replica {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The process goes before its database is checked and removed.
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
