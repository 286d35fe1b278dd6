//! The real `anjian` process is killed with SIGKILL in the middle of pushes
//! and photo completions and restarted; the client retries. Every
//! acknowledged mutation must exist exactly once, no uploaded photo may be
//! lost, and the write path's promise holds on the database afterwards. Runs
//! on SQLite, or on PostgreSQL when `ANJIAN_TEST_DATABASE_URL` names a server,
//! on the one test harness (`anjian_tests::process`).
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::process::Command;
use std::time::Duration;

use anjian_field_client::{Backoff, FieldClient};
use anjian_tests::ADMIN_PASSWORD;
use anjian_tests::corpus::{noisy_jpeg, sha};
use anjian_tests::process::Process;
use serde_json::json;
use uuid::Uuid;

async fn spawn() -> Process {
    Process::spawn(env!("CARGO_BIN_EXE_anjian")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_push_loses_nothing_and_doubles_nothing() {
    let mut server = spawn().await;
    let base = server.url();
    let client = FieldClient::open(&base, &server.dir().join("replica.db"))
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
        let chaos = server.kill_and_restart(Duration::from_millis(kill_after_ms));
        let (report, ()) = tokio::join!(push, chaos);
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
    let api = Api::login(&server).await;
    let h = api.get(&format!("/hazards/{}", ids[0])).await;
    assert_eq!(h["history"].as_array().unwrap().len(), 1);
    let r = api
        .get(&format!(
            "/sync/pull?device_id={}&limit=1",
            client.device_id
        ))
        .await;
    assert_eq!(r["last_processed_seq"], ids.len() as i64);
}

#[tokio::test]
async fn the_field_cli_records_offline_and_syncs_later() {
    let mut server = spawn().await;
    let base = server.url();
    let replica = server.dir().join("cli.db");
    let field = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_anjian"))
            .arg("field")
            .args(["--server", &base, "--replica", replica.to_str().unwrap()])
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
    server.kill();
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
    let photo = server.dir().join("exit.jpg");
    std::fs::write(&photo, noisy_jpeg(2400, 1800, 9)).unwrap();
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
    server.restart().await;
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
}

/// A logged-in HTTP client of a server that may be killed at any moment.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn login(server: &Process) -> Api {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("{}/api/v1", server.url());
        let r: serde_json::Value = http
            .post(format!("{base}/auth/login"))
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

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// A GET that must answer 200.
    async fn get(&self, path: &str) -> serde_json::Value {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
        r.json().await.unwrap()
    }

    /// `POST /photos/{id}/complete`, retried while the server is down.
    async fn complete(&self, id: Uuid) -> serde_json::Value {
        for _ in 0..600 {
            match self
                .req(reqwest::Method::POST, &format!("/photos/{id}/complete"))
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

/// Declares `bytes` as photo `id` and PUTs them to the presigned URL.
async fn upload(api: &Api, id: Uuid, bytes: &[u8]) {
    let d: serde_json::Value = api
        .req(reqwest::Method::POST, "/photos")
        .json(&json!({"id": id, "sha256": sha(bytes), "size": bytes.len(), "content_type": "image/jpeg"}))
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
    let r = put.body(bytes.to_vec()).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

impl Api {
    /// `GET /photos/{id}` until it says `processed`, retried while the server is down.
    async fn processed(&self, id: Uuid) -> serde_json::Value {
        for _ in 0..1200 {
            if let Ok(r) = self
                .req(reqwest::Method::GET, &format!("/photos/{id}"))
                .send()
                .await
                && r.status().is_success()
            {
                let b: serde_json::Value = r.json().await.unwrap();
                if b["status"] == "processed" {
                    return b;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{id} never processed");
    }

    /// The bytes behind `GET /photos/{id}/{variant}` (a 302 to the store).
    async fn variant(&self, id: Uuid, variant: &str) -> Vec<u8> {
        let r = self
            .req(reqwest::Method::GET, &format!("/photos/{id}/{variant}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::FOUND, "{id} {variant}");
        let url = r.headers()["location"].to_str().unwrap().to_owned();
        let r = self.http.get(url).send().await.unwrap();
        r.bytes().await.unwrap().to_vec()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_photo_loses_no_uploaded_photo() {
    // A short hold on queued photos, so a worker killed mid-way is replaced soon.
    let mut server = Process::spawn_with(
        env!("CARGO_BIN_EXE_anjian"),
        &[("ANJIAN_PHOTO_LEASE_SECS", "1")],
    )
    .await;
    let api = Api::login(&server).await;
    let mut done = Vec::new();
    for (round, kill_after_ms) in [0u64, 20, 60, 120, 250].into_iter().enumerate() {
        let bytes = noisy_jpeg(2400, 1800, round as u32);
        let id = Uuid::now_v7();
        // The upload is acknowledged; from here on it must not be lost.
        upload(&api, id, &bytes).await;
        // Killed during verification...
        let complete = api.complete(id);
        let chaos = server.kill_and_restart(Duration::from_millis(kill_after_ms));
        let (photo, ()) = tokio::join!(complete, chaos);
        assert!(
            ["verified", "processed"].contains(&photo["status"].as_str().unwrap_or("")),
            "round {round}: {photo}"
        );
        // ...and while its variants are being made.
        server
            .kill_and_restart(Duration::from_millis(kill_after_ms / 4))
            .await;
        done.push((id, bytes));
    }
    // Every acknowledged photo ends processed, once, with its original whole.
    for (id, bytes) in &done {
        api.processed(*id).await;
        assert_eq!(
            api.variant(*id, "original").await.as_slice(),
            bytes.as_slice(),
            "{id}"
        );
        for variant in ["preview", "thumb"] {
            image::load_from_memory(&api.variant(*id, variant).await).unwrap();
        }
        let trail = api
            .get(&format!(
                "/audit?entity_type=photo&entity_id={id}&limit=100"
            ))
            .await;
        let processed = trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "photo.process")
            .count();
        assert_eq!(processed, 1, "{id}: {trail}");
    }
}

#[tokio::test]
async fn a_verified_photo_waits_for_its_variants_through_a_restart() {
    // A replica that makes no variants: the photo stays verified.
    let mut server = Process::spawn_with(
        env!("CARGO_BIN_EXE_anjian"),
        &[("ANJIAN_PHOTO_WORKERS", "0")],
    )
    .await;
    let api = Api::login(&server).await;
    let bytes = noisy_jpeg(1600, 1200, 7);
    let id = Uuid::now_v7();
    upload(&api, id, &bytes).await;
    let photo = api.complete(id).await;
    assert_eq!(photo["status"], "verified", "{photo}");
    assert_eq!(photo["variants"], json!(["original"]));
    // The original is there from verification on; the rest is not ready.
    assert_eq!(
        api.variant(id, "original").await.as_slice(),
        bytes.as_slice()
    );
    let r = api
        .req(reqwest::Method::GET, &format!("/photos/{id}/preview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CONFLICT);
    assert_eq!(r.headers()["retry-after"], "2");
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "not_ready");
    let url = format!("{}/metrics", server.url());
    let metrics = |api: &Api| {
        let req = api.http.get(&url);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let m = metrics(&api).await;
    assert!(m.contains("anjian_photo_queue_depth 1"), "{m}");
    // Restarted with workers, the queue is drained.
    server.kill();
    server.env.clear();
    server.restart().await;
    let photo = api.processed(id).await;
    assert_eq!(photo["variants"], json!(["original", "preview", "thumb"]));
    image::load_from_memory(&api.variant(id, "thumb").await).unwrap();
    let m = metrics(&api).await;
    assert!(m.contains("anjian_photo_queue_depth 0"), "{m}");
}

#[tokio::test]
async fn photos_sweep_reports_then_removes_abandoned_uploads() {
    let mut server = spawn().await;
    let api = Api::login(&server).await;
    let id = Uuid::now_v7();
    let r = api
        .req(reqwest::Method::POST, "/photos")
        .json(&json!({"id": id, "sha256": "ab".repeat(32), "size": 1000, "content_type": "image/jpeg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    server.kill();
    let sweep = |apply: bool| {
        let mut args = vec!["photos", "sweep", "--days", "0"];
        if apply {
            args.push("--apply");
        }
        let out = server.command(&args).output().unwrap();
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
    server.restart().await;
    let r = api
        .req(reqwest::Method::GET, &format!("/photos/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
}
