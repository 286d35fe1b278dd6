//! The reference client against the real server, through a proxy that loses
//! answers, cuts requests, delays and resets connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use anjian_field_client::{Backoff, FieldClient};
use anjian_tests::proxy::{Fault, Proxy};
use anjian_tests::{ADMIN_PASSWORD, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

fn no_reuse() -> reqwest::Client {
    // One connection per request, so each scripted fault hits one request.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn client(app: &TestApp, base: &str) -> FieldClient {
    let path = app
        .dir
        .path()
        .join(format!("replica-{}.db", Uuid::now_v7()));
    FieldClient::open(base, &path)
        .await
        .unwrap()
        .with_http(no_reuse())
        .with_backoff(Backoff {
            attempts: 10,
            first: Duration::from_millis(20),
            max: Duration::from_millis(200),
        })
}

#[tokio::test]
async fn the_client_converges_with_the_server_through_faults() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.running.as_ref().unwrap().addr).await;
    let c = client(&app, &proxy.url()).await;
    c.login("admin", ADMIN_PASSWORD).await.unwrap();
    let first = c.pull().await.unwrap();
    assert!(first.changes >= 3152 + 12 + 8);
    let ents: Vec<Value> = c
        .list("enterprise")
        .await
        .unwrap()
        .into_iter()
        .take(5)
        .collect();
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = Uuid::now_v7();
        ids.push(id);
        c.record(
            "hazard.create",
            None,
            json!({"id": id, "enterprise_id": ents[i % 5]["id"], "title": format!("隐患{i}"),
            "severity": "general", "found_at": chrono::Utc::now()}),
        )
        .await
        .unwrap();
    }
    c.record(
        "hazard.update",
        Some(1),
        json!({"id": ids[0], "fields": {"measures": "离线修改"}}),
    )
    .await
    .unwrap();
    proxy
        .script(&[
            Fault::DropResponse,
            Fault::CutRequest,
            Fault::Reset,
            Fault::Delay(Duration::from_millis(150)),
        ])
        .await;
    let report = c.push().await.unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(
        report.retries, 3,
        "lost answer, cut request and reset each cost one retry: {report:?}"
    );
    assert!(report.unapplied.is_empty(), "{report:?}");
    // Every hazard exactly once, with exactly one creation in its history.
    let admin = app.admin().await;
    for id in &ids {
        let (s, h) = app.get(&format!("/api/v1/hazards/{id}"), &admin).await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert_eq!(
            h["history"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == "create")
                .count(),
            1
        );
    }
    let (_, h0) = app
        .get(&format!("/api/v1/hazards/{}", ids[0]), &admin)
        .await;
    assert_eq!(
        (h0["measures"].clone(), h0["version"].clone()),
        (json!("离线修改"), json!(2))
    );
    // Pull through more faults; the replica ends equal to the server.
    proxy
        .script(&[Fault::DropResponse, Fault::Reset, Fault::CutRequest])
        .await;
    c.pull().await.unwrap();
    let server: BTreeMap<String, i64> = app
        .all("/api/v1/hazards", &admin)
        .await
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap().to_owned(),
                h["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(c.versions("hazard").await.unwrap(), server);
    assert_eq!(c.versions("enterprise").await.unwrap().len(), 3152);
}

#[tokio::test]
async fn conflicts_are_surfaced_with_the_server_record() {
    let app = TestApp::spawn().await;
    let base = app.url.clone();
    let a = client(&app, &base).await;
    let b = client(&app, &base).await;
    a.login("admin", ADMIN_PASSWORD).await.unwrap();
    b.login("admin", ADMIN_PASSWORD).await.unwrap();
    a.pull().await.unwrap();
    let e = a.list("enterprise").await.unwrap().remove(0);
    let id = Uuid::now_v7();
    a.record("hazard.create", None, json!({"id": id, "enterprise_id": e["id"], "title": "消防通道堵塞", "severity": "general", "found_at": chrono::Utc::now()}))
        .await
        .unwrap();
    a.push().await.unwrap();
    b.pull().await.unwrap();
    let (v, _) = b.get("hazard", &id.to_string()).await.unwrap().unwrap();
    a.record(
        "hazard.update",
        Some(v),
        json!({"id": id, "fields": {"measures": "甲"}}),
    )
    .await
    .unwrap();
    b.record(
        "hazard.update",
        Some(v),
        json!({"id": id, "fields": {"measures": "乙"}}),
    )
    .await
    .unwrap();
    assert!(a.push().await.unwrap().unapplied.is_empty());
    let r = b.push().await.unwrap();
    assert_eq!(r.unapplied.len(), 1);
    assert_eq!(r.unapplied[0].status, "conflict");
    assert_eq!(
        r.unapplied[0].server_entity.as_ref().unwrap()["measures"],
        "甲"
    );
    assert_eq!(r.pending, 0, "a conflict does not block the queue");
}
