//! The reference client against the real server, through a proxy that loses
//! answers, cuts requests, delays and resets connections.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

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

#[tokio::test]
async fn photos_taken_offline_reach_the_server_through_faults() {
    let app = TestApp::spawn().await;
    let proxy = Proxy::start(app.running.as_ref().unwrap().addr).await;
    let c = client(&app, &proxy.url()).await;
    c.login("admin", ADMIN_PASSWORD).await.unwrap();
    c.pull().await.unwrap();
    let ent = c.list("enterprise").await.unwrap().remove(0);
    // Offline: two photos and the hazard they prove, plus a file that is no photo.
    let jpeg = anjian_tests::corpus::phone_jpeg(900, 600);
    let a = c.add_photo(&jpeg, "image/jpeg").await.unwrap();
    let b = c
        .add_photo(&anjian_tests::corpus::plain_jpeg(300, 200), "image/jpeg")
        .await
        .unwrap();
    let junk = c
        .add_photo(b"<html>not a photo</html>", "image/jpeg")
        .await
        .unwrap();
    let hazard = Uuid::now_v7();
    c.record(
        "hazard.create",
        None,
        json!({"id": hazard, "enterprise_id": ent["id"], "title": "安全出口堵塞", "severity": "general",
            "found_at": chrono::Utc::now(), "photo_ids": [a, b]}),
    )
    .await
    .unwrap();
    // Back online, through a network that drops answers and cuts requests.
    proxy
        .script(&[
            Fault::Pass,
            Fault::DropResponse,
            Fault::CutRequest,
            Fault::Pass,
            Fault::DropResponse,
            Fault::Reset,
        ])
        .await;
    let (push, up, _) = c.sync().await.unwrap();
    assert_eq!(push.pending, 0, "{push:?}");
    assert!(push.unapplied.is_empty(), "{push:?}");
    assert_eq!(up.uploaded, 2, "{up:?}");
    assert_eq!(
        up.refused,
        vec![(junk, "not_an_image".to_owned())],
        "{up:?}"
    );
    assert_eq!(up.pending, 0);
    let mut done = c.photos("done").await.unwrap();
    done.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(done, want);
    // Verified on the server, processed after, and listed by the hazard.
    let admin = app.admin().await;
    for id in [a, b] {
        app.processed_photo(&admin, id).await;
    }
    let (_, h) = app.get(&format!("/api/v1/hazards/{hazard}"), &admin).await;
    assert_eq!(h["photo_ids"], json!([a, b]));
    // Another round has nothing left to send.
    let again = c.upload_photos().await.unwrap();
    assert_eq!((again.uploaded, again.pending), (0, 0));
}

#[tokio::test]
async fn photos_go_through_the_api_when_the_phone_cannot_reach_the_store() {
    // The store on a host of its own, which the server reaches and the phone does not.
    let store = anjian_tests::ExternalStore::start().await;
    let store_addr = store.addr;
    let app = TestApp::spawn_configured(Default::default(), |c| {
        c.s3 = Some(store.config(None));
    })
    .await;
    // Requests to the store's port go to a proxy that refuses every connection.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let store_port = store_addr.port();
    let phone = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .proxy(reqwest::Proxy::custom(move |url| {
            (url.port() == Some(store_port)).then(|| dead_url.clone())
        }))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let c = client(&app, &app.url).await.with_http(phone);
    c.login("admin", ADMIN_PASSWORD).await.unwrap();
    let bytes = anjian_tests::corpus::plain_jpeg(640, 480);
    let id = c.add_photo(&bytes, "image/jpeg").await.unwrap();
    let (_, up, _) = c.sync().await.unwrap();
    assert_eq!((up.uploaded, up.via_api, up.pending), (1, 1, 0), "{up:?}");
    assert!(up.retries >= 2, "the store was tried first: {up:?}");
    let admin = app.admin().await;
    app.processed_photo(&admin, id).await;
}
