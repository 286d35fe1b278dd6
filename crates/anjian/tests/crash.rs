//! The real `anjian` process is killed with SIGKILL in the middle of pushes and
//! restarted; the client re-pushes. Every acknowledged mutation must exist
//! exactly once and nothing queued may be lost. Runs on SQLite, or on PostgreSQL
//! when `ANJIAN_TEST_DATABASE_URL` names a server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anjian_field_client::{Backoff, FieldClient};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};
use serde_json::json;
use uuid::Uuid;

const ADMIN_PASSWORD: &str = "crash-test-admin-password";

struct Server {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &Path, port: u16, database_url: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anjian"));
    cmd.arg("serve")
        .env_clear()
        .env("ANJIAN_DATA_DIR", dir)
        .env("ANJIAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("ANJIAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ANJIAN_SECRET_KEY", "s".repeat(40))
        .env("ANJIAN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(u) = database_url {
        cmd.env("DATABASE_URL", u);
    }
    let mut child = cmd.spawn().unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && r.status().is_success()
        {
            return Server { child, port };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("anjian did not start");
}

/// SIGKILL after `ms`, then the server again on the same port and data.
async fn kill_and_restart(server: Server, dir: &Path, db: Option<&str>, ms: u64) -> Server {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let port = server.kill();
    tokio::time::sleep(Duration::from_millis(100)).await;
    start(dir, port, db).await
}

impl Server {
    fn kill(mut self) -> u16 {
        self.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        self.child.wait().unwrap();
        self.port
    }
}

async fn database() -> Option<String> {
    let admin = std::env::var("ANJIAN_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))?;
    let name = format!("anjian_crash_{}", Uuid::now_v7().simple());
    let mut o = ConnectOptions::new(admin.clone());
    o.max_connections(1);
    let c = Database::connect(o).await.unwrap();
    c.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    c.close().await.unwrap();
    let base = &admin[..admin.rfind('/').unwrap()];
    Some(format!("{base}/{name}"))
}

/// A data dir, a database (on PostgreSQL, when configured) and a server on them.
async fn fresh() -> (tempfile::TempDir, Option<String>, Server) {
    let dir = tempfile::tempdir().unwrap();
    let db = database().await;
    let server = start(dir.path(), free_port(), db.as_deref()).await;
    (dir, db, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_push_loses_nothing_and_doubles_nothing() {
    let (dir, db, mut server) = fresh().await;
    let port = server.port;
    let base = format!("http://127.0.0.1:{port}");
    let client = FieldClient::open(&base, &dir.path().join("replica.db"))
        .await
        .unwrap()
        .with_backoff(Backoff {
            attempts: 200,
            first: Duration::from_millis(20),
            max: Duration::from_millis(100),
        });
    client.login("admin", ADMIN_PASSWORD).await.unwrap();
    client.pull().await.unwrap();
    let ents = client.list("enterprise").await.unwrap();
    let mut ids = Vec::new();
    let mut retries = 0;
    for (round, kill_after_ms) in [15u64, 40, 90, 5].into_iter().enumerate() {
        for i in 0..300 {
            let id = Uuid::now_v7();
            ids.push(id);
            client
                .record("hazard.create", None, json!({"id": id, "enterprise_id": ents[(round * 300 + i) % ents.len()]["id"],
                    "title": format!("第{round}轮隐患{i}"), "severity": "general", "found_at": chrono::Utc::now()}))
                .await
                .unwrap();
        }
        let push = async { client.push().await };
        let chaos = kill_and_restart(server, dir.path(), db.as_deref(), kill_after_ms);
        let (report, restarted) = tokio::join!(push, chaos);
        server = restarted;
        let report = report.unwrap();
        assert_eq!(report.pending, 0, "round {round}: {report:?}");
        assert!(report.unapplied.is_empty(), "round {round}: {report:?}");
        retries += report.retries;
    }
    assert!(
        retries >= 4,
        "every kill should have interrupted a push ({retries} retries)"
    );
    // Each hazard exists once, created once; the device's position covers all.
    client.pull().await.unwrap();
    let replica = client.versions("hazard").await.unwrap();
    assert_eq!(replica.len(), ids.len());
    for id in &ids {
        assert_eq!(
            replica.get(&id.to_string()),
            Some(&1),
            "{id} missing or changed"
        );
    }
    let token = Api::login(server.port).await.token;
    let (s, h): (_, serde_json::Value) = {
        let r = reqwest::Client::new()
            .get(format!("{base}/api/v1/hazards/{}", ids[0]))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    };
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(h["history"].as_array().unwrap().len(), 1);
    let r: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{base}/api/v1/sync/pull?device_id={}&limit=1",
            client.device_id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["last_processed_seq"], ids.len() as i64);
    server.kill();
}

#[tokio::test]
async fn the_field_cli_records_offline_and_syncs_later() {
    let (dir, db, server) = fresh().await;
    let port = server.port;
    let replica = dir.path().join("cli.db");
    let field = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_anjian"))
            .arg("field")
            .args([
                "--server",
                &format!("http://127.0.0.1:{port}"),
                "--replica",
                replica.to_str().unwrap(),
            ])
            .args(args)
            .env_clear()
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    assert!(field(&["login", "--username", "admin", "--password", ADMIN_PASSWORD]).0);
    let (ok, out) = field(&["pull"]);
    assert!(ok, "{out}");
    let (_, status) = field(&["status"]);
    assert!(status.contains("enterprise: 3152"), "{status}");
    // The network goes away; the inspection is recorded anyway.
    let port = server.kill();
    let code = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seeds/enterprises.csv"),
    )
    .unwrap()
    .lines()
    .nth(1)
    .unwrap()
    .split(',')
    .next()
    .unwrap()
    .to_owned();
    let photo = dir.path().join("exit.jpg");
    std::fs::write(&photo, jpeg(9)).unwrap();
    let (ok, out) = field(&[
        "inspect",
        "--enterprise",
        &code,
        "--template",
        "fire",
        "--fail",
        "FIRE-04",
        "--fail",
        "FIRE-02",
        "--photo",
        photo.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let (_, status) = field(&["status"]);
    assert!(
        status.contains("outbox: 4") && status.contains("photos queued: 1"),
        "{status}"
    );
    let server = start(dir.path(), port, db.as_deref()).await;
    let (ok, out) = field(&["sync"]);
    assert!(ok, "{out}");
    assert!(out.contains("applied 4"), "{out}");
    assert!(out.contains("photos: uploaded 1"), "{out}");
    let (_, status) = field(&["status"]);
    assert!(
        status.contains("hazard: 2")
            && status.contains("inspection: 1")
            && status.contains("outbox: 0")
            && status.contains("photos done: 1"),
        "{status}"
    );
    server.kill();
}

/// A logged-in HTTP client of a server that may be killed at any moment.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn login(port: u16) -> Api {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let r: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            http,
            base,
            token: r["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `POST /photos/{id}/complete`, retried while the server is down.
    async fn complete(&self, id: Uuid) -> serde_json::Value {
        for _ in 0..600 {
            match self
                .http
                .post(format!("{}/api/v1/photos/{id}/complete", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return r.json().await.unwrap(),
                Ok(r) if r.status().is_client_error() => {
                    panic!("{id}: {} {}", r.status(), r.text().await.unwrap())
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        panic!("{id} never completed");
    }
}

fn jpeg(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(2400, 1800, |x, y| {
        image::Rgb([
            (x % 251) as u8 ^ seed,
            (y % 241) as u8,
            ((x * y) % 239) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_photo_loses_no_uploaded_photo() {
    use sha2::Digest;
    let (dir, db, mut server) = fresh().await;
    let port = server.port;
    let api = Api::login(port).await;
    let mut done = Vec::new();
    for (round, kill_after_ms) in [0u64, 20, 60, 120, 250].into_iter().enumerate() {
        let bytes = jpeg(round as u8);
        let id = Uuid::now_v7();
        let d: serde_json::Value = api
            .http
            .post(format!("{}/api/v1/photos", api.base))
            .bearer_auth(&api.token)
            .json(
                &json!({"id": id, "sha256": hex::encode(sha2::Sha256::digest(&bytes)),
                "size": bytes.len(), "content_type": "image/jpeg"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut put = api.http.put(d["upload"]["url"].as_str().unwrap());
        for (k, v) in d["upload"]["headers"].as_object().unwrap() {
            put = put.header(k, v.as_str().unwrap());
        }
        // The upload is acknowledged; from here on it must not be lost.
        assert!(
            put.body(bytes.clone())
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
        let complete = api.complete(id);
        let chaos = kill_and_restart(server, dir.path(), db.as_deref(), kill_after_ms);
        let (photo, restarted) = tokio::join!(complete, chaos);
        server = restarted;
        assert_eq!(photo["status"], "processed", "round {round}: {photo}");
        done.push((id, bytes));
    }
    // Every photo is whole: the original is the uploaded bytes, the variants decode.
    for (id, bytes) in &done {
        for variant in ["original", "preview", "thumb"] {
            let r = api
                .http
                .get(format!("{}/api/v1/photos/{id}/{variant}", api.base))
                .bearer_auth(&api.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::FOUND, "{id} {variant}");
            let url = r.headers()["location"].to_str().unwrap().to_owned();
            let body = api
                .http
                .get(url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            if variant == "original" {
                assert_eq!(body.as_ref(), bytes.as_slice(), "{id}");
            } else {
                image::load_from_memory(&body).unwrap();
            }
        }
    }
    server.kill();
}

#[tokio::test]
async fn photos_sweep_reports_then_removes_abandoned_uploads() {
    let (dir, db, server) = fresh().await;
    let port = server.port;
    let api = Api::login(port).await;
    let id = Uuid::now_v7();
    let r = api
        .http
        .post(format!("{}/api/v1/photos", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"id": id, "sha256": "ab".repeat(32), "size": 1000, "content_type": "image/jpeg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let port = server.kill();
    let sweep = |apply: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anjian"));
        cmd.args(["photos", "sweep", "--days", "0"])
            .env_clear()
            .env("ANJIAN_DATA_DIR", dir.path())
            .env("ANJIAN_SECRET_KEY", "s".repeat(40))
            .env("ANJIAN_LOG", "warn");
        if apply {
            cmd.arg("--apply");
        }
        if let Some(u) = &db {
            cmd.env("DATABASE_URL", u);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let report = sweep(false);
    assert_eq!(report["stale_photos"], json!([id]), "{report}");
    assert_eq!(report["applied"], false);
    assert_eq!(
        sweep(false)["stale_photos"],
        json!([id]),
        "a report removes nothing"
    );
    assert_eq!(sweep(true)["applied"], true);
    assert_eq!(sweep(false)["stale_photos"], json!([]));
    let server = start(dir.path(), port, db.as_deref()).await;
    let r = api
        .http
        .get(format!("{}/api/v1/photos/{id}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
    server.kill();
}
