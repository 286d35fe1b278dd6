//! Photo evidence against the embedded S3 server with the real SDK: the whole
//! flow, verification done by the server, hostile files, and who sees what.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::io::Cursor;

use anjian_tests::corpus::{huge_header_jpeg, phone_jpeg, pixel_flood_png, plain_jpeg, sha};
use anjian_tests::{Device, ExternalStore, TestApp, envelope_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

// ---- the flow ---------------------------------------------------------------

struct Photos {
    app: TestApp,
    admin: String,
    /// Follows no redirects, to see the 302s.
    raw: reqwest::Client,
}

async fn photos() -> Photos {
    Photos::new(TestApp::spawn_demo().await).await
}

fn declaration(id: Uuid, bytes: &[u8], content_type: &str) -> Value {
    json!({"id": id, "sha256": sha(bytes), "size": bytes.len(), "content_type": content_type})
}

impl Photos {
    async fn new(app: TestApp) -> Photos {
        let admin = app.admin().await;
        Photos {
            raw: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            app,
            admin,
        }
    }

    async fn declare(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.app.post("/api/v1/photos", token, body).await
    }

    /// PUTs to a presigned upload as the answer of a declaration describes it.
    async fn put_presigned(&self, upload: &Value, bytes: Vec<u8>) -> reqwest::Response {
        let mut r = self.raw.put(upload["url"].as_str().unwrap());
        for (k, v) in upload["headers"].as_object().unwrap() {
            if k != "host" {
                r = r.header(k, v.as_str().unwrap());
            }
        }
        r.body(bytes).send().await.unwrap()
    }

    async fn complete(&self, token: &str, id: Uuid) -> (StatusCode, Value) {
        self.app
            .send(self.app.req(
                Method::POST,
                &format!("/api/v1/photos/{id}/complete"),
                Some(token),
            ))
            .await
    }

    async fn put_content(&self, token: &str, id: Uuid, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.app
            .send(
                self.app
                    .req(
                        Method::PUT,
                        &format!("/api/v1/photos/{id}/content"),
                        Some(token),
                    )
                    .header("content-type", "application/octet-stream")
                    .body(bytes),
            )
            .await
    }

    /// Declares, uploads by presigned URL and completes; the completed photo.
    async fn upload(&self, token: &str, bytes: &[u8]) -> (Uuid, Value) {
        let id = Uuid::now_v7();
        let (s, b) = self
            .declare(token, declaration(id, bytes, "image/jpeg"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let put = self.put_presigned(&b["upload"], bytes.to_vec()).await;
        assert_eq!(
            put.status(),
            StatusCode::OK,
            "{}",
            put.text().await.unwrap()
        );
        let (s, b) = self.complete(token, id).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        (id, b)
    }

    /// The photo's metadata once its variants exist.
    async fn processed(&self, token: &str, id: Uuid) -> Value {
        self.app.processed_photo(token, id).await
    }

    /// Follows `GET /photos/{id}/{variant}`: the 302, then the bytes.
    async fn fetch(
        &self,
        token: &str,
        id: Uuid,
        variant: &str,
    ) -> Result<reqwest::Response, StatusCode> {
        let r = self
            .raw
            .get(format!("{}/api/v1/photos/{id}/{variant}", self.app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::FOUND {
            return Err(r.status());
        }
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        Ok(self.raw.get(loc).send().await.unwrap())
    }
}

/// A completion acknowledged on verification: the original is stored, the
/// variants are on their way.
#[track_caller]
fn assert_verified(s: StatusCode, b: &Value) {
    assert_eq!(
        (s, &b["status"], &b["variants"]),
        (StatusCode::OK, &json!("verified"), &json!(["original"])),
        "{b}"
    );
}

fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0")
}

#[tokio::test]
async fn a_photo_goes_up_presigned_is_verified_and_served_in_three_variants() {
    let p = photos().await;
    let insp = p
        .app
        .login("inspector01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    let bytes = phone_jpeg(2400, 1800);
    let (id, done) = p.upload(&insp, &bytes).await;
    assert_verified(StatusCode::OK, &done);
    let done = p.processed(&insp, id).await;
    // Orientation 6: displayed upright, so width and height swap.
    assert_eq!(
        (done["width"].as_i64(), done["height"].as_i64()),
        (Some(1800), Some(2400))
    );
    assert_eq!(done["taken_at"], "2026-11-27T02:30:00Z", "{done}");
    let gps = &done["gps"];
    assert!(
        (gps["lat"].as_f64().unwrap() - 30.25).abs() < 1e-9,
        "{done}"
    );
    assert!(
        (gps["lon"].as_f64().unwrap() - 120.16).abs() < 1e-9,
        "{done}"
    );
    assert_eq!(done["variants"], json!(["original", "preview", "thumb"]));

    let (s, meta) = p.app.get(&format!("/api/v1/photos/{id}"), &insp).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(meta["sha256"], sha(&bytes));

    let original = p.fetch(&insp, id, "original").await.unwrap();
    assert_eq!(original.status(), StatusCode::OK);
    assert_eq!(original.headers()["content-type"], "image/jpeg");
    assert_eq!(original.headers()["x-content-type-options"], "nosniff");
    assert_eq!(original.bytes().await.unwrap().as_ref(), bytes.as_slice());

    for (variant, edge) in [("preview", 1600), ("thumb", 320)] {
        let r = p.fetch(&insp, id, variant).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{variant}");
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let b = r.bytes().await.unwrap();
        assert!(!has_exif(&b), "{variant} carries EXIF");
        let img = image::load_from_memory(&b).unwrap();
        // Upright (portrait) and fitted to the long edge.
        assert_eq!(img.height(), edge, "{variant}");
        assert_eq!(img.width(), edge * 3 / 4, "{variant}");
    }

    // Completing again is harmless.
    let (s, again) = p.complete(&insp, id).await;
    assert_eq!((s, &again["status"]), (StatusCode::OK, &json!("processed")));
}

#[tokio::test]
async fn equal_bytes_are_stored_once_but_stay_two_photos() {
    let p = photos().await;
    let bytes = plain_jpeg(640, 480);
    let (first, _) = p.upload(&p.admin, &bytes).await;
    p.processed(&p.admin, first).await;
    let second = Uuid::now_v7();
    let (s, b) = p
        .declare(&p.admin, declaration(second, &bytes, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "processed");
    assert!(b.get("upload").is_none());
    assert_eq!(b["width"], 640);
    assert_ne!(first, second);
    assert_eq!(p.app.count("photos").await, 2);
    assert_eq!(p.app.count("stored_objects").await, 1);
    // Declaring the same photo again is safe.
    let (s, _) = p
        .declare(&p.admin, declaration(second, &bytes, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_server_checks_the_bytes_itself() {
    let p = photos().await;
    let good = plain_jpeg(320, 240);
    let bad = plain_jpeg(321, 240);
    let id = Uuid::now_v7();
    let (s, b) = p
        .declare(&p.admin, declaration(id, &good, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Other bytes against the pinned checksum: the store refuses them...
    let mut other = bad.clone();
    other.resize(good.len(), 0);
    let put = p.put_presigned(&b["upload"], other).await;
    assert!(put.status().is_client_error(), "{}", put.status());
    // ...and whatever it may have kept, complete does not take.
    let (s, b) = p.complete(&p.admin, id).await;
    assert!(
        (s == StatusCode::CONFLICT && envelope_code(&b) == "not_uploaded")
            || (s == StatusCode::UNPROCESSABLE_ENTITY && envelope_code(&b) == "checksum_mismatch"),
        "{s} {b}"
    );
    // Through the API: refused before anything is stored.
    let (s, b) = p.put_content(&p.admin, id, bad.clone()).await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::UNPROCESSABLE_ENTITY, "checksum_mismatch".into())
    );
    let (s, b) = p.complete(&p.admin, id).await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::CONFLICT, "not_uploaded".into())
    );
    // The right bytes through the API complete it.
    let (s, _) = p.put_content(&p.admin, id, good.clone()).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = p.complete(&p.admin, id).await;
    assert_verified(s, &b);
}

#[tokio::test]
async fn an_interrupted_upload_resumes_with_a_fresh_url() {
    let p = photos().await;
    let bytes = plain_jpeg(800, 600);
    let id = Uuid::now_v7();
    let (_, b) = p
        .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
        .await;
    // Half the body, then the connection drops (a phone losing signal).
    let url = reqwest::Url::parse(b["upload"]["url"].as_str().unwrap()).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut head = format!(
        "PUT {}?{} HTTP/1.1\r\nhost: {host}\r\n",
        url.path(),
        url.query().unwrap()
    );
    for (k, v) in b["upload"]["headers"].as_object().unwrap() {
        if k != "host" && k != "content-length" {
            head.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap()));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", bytes.len()));
    let mut tcp = tokio::net::TcpStream::connect(&host).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&bytes[..bytes.len() / 2]).await.unwrap();
    tcp.flush().await.unwrap();
    drop(tcp);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (s, b) = p.complete(&p.admin, id).await;
    assert!(
        s == StatusCode::CONFLICT || envelope_code(&b) == "checksum_mismatch",
        "{s} {b}"
    );
    // Declaring again hands out a fresh URL; the whole body completes it.
    let (s, again) = p
        .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let put = p.put_presigned(&again["upload"], bytes.clone()).await;
    assert_eq!(put.status(), StatusCode::OK);
    let (s, b) = p.complete(&p.admin, id).await;
    assert_verified(s, &b);
}

#[tokio::test]
async fn a_tampered_or_expired_url_is_refused() {
    let p = photos().await;
    let bytes = plain_jpeg(64, 64);
    let id = Uuid::now_v7();
    let (_, b) = p
        .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
        .await;
    let mut upload = b["upload"].clone();
    // Another key under the same signature.
    let url = upload["url"]
        .as_str()
        .unwrap()
        .replace(&id.to_string(), &Uuid::now_v7().to_string());
    upload["url"] = json!(url);
    assert_eq!(
        p.put_presigned(&upload, bytes.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    // A URL signed by the server's own store with a one-second life, used late.
    let store = &p.app.running.as_ref().unwrap().objects;
    let short = store
        .presign_put(
            &anjian_evidence::keys::staging(&id),
            &sha(&bytes),
            bytes.len() as i64,
            "image/jpeg",
            std::time::Duration::from_secs(1),
        )
        .await
        .unwrap();
    let upload = json!({"url": short.url, "headers": short.headers.into_iter().collect::<std::collections::BTreeMap<_, _>>()});
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        p.put_presigned(&upload, bytes.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    // The URL the server handed out still works.
    assert_eq!(
        p.put_presigned(&b["upload"], bytes.clone()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn hostile_files_are_refused_with_precise_codes() {
    let p = photos().await;
    let mut truncated = plain_jpeg(1200, 900);
    truncated.truncate(truncated.len() / 3);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("pixel flood PNG", pixel_flood_png(), "image_too_large"),
        ("huge JPEG header", huge_header_jpeg(), "image_too_large"),
        ("truncated JPEG", truncated, "not_an_image"),
        (
            "HTML named .jpg",
            b"<html><body><script>alert(document.cookie)</script></body></html>".to_vec(),
            "not_an_image",
        ),
        (
            "plain text",
            b"GIF89a but not really".to_vec(),
            "not_an_image",
        ),
    ];
    for (what, bytes, code) in cases {
        let id = Uuid::now_v7();
        let (s, b) = p
            .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{what}: {b}");
        let (s, _) = p.put_content(&p.admin, id, bytes).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{what}");
        let (s, b) = p.complete(&p.admin, id).await;
        assert_eq!(
            (s, envelope_code(&b)),
            (StatusCode::UNPROCESSABLE_ENTITY, code.to_owned()),
            "{what}: {b}"
        );
        // The decoder's own words stay in the log: they are no part of the contract.
        assert!(
            b["error"].get("details").is_none_or(Value::is_null),
            "{what}: {b}"
        );
        let (_, meta) = p.app.get(&format!("/api/v1/photos/{id}"), &p.admin).await;
        assert_eq!(meta["status"], "pending_upload", "{what}");
    }
    // Zero bytes are not even declared.
    let (s, b) = p
        .declare(&p.admin, declaration(Uuid::now_v7(), b"", "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b["error"]["details"]["fields"]["size"].is_array(), "{b}");
    // A JPEG with HTML after it: accepted as the JPEG it is; the variants are
    // re-encoded pixels, and nothing of the HTML survives in them.
    let mut polyglot = plain_jpeg(400, 300);
    polyglot.extend(b"<html><script>alert(1)</script></html>");
    let (id, _) = p.upload(&p.admin, &polyglot).await;
    p.processed(&p.admin, id).await;
    for v in ["preview", "thumb"] {
        let body = p
            .fetch(&p.admin, id, v)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!body.windows(7).any(|w| w == b"<script"), "{v}");
    }
    // The type is the bytes', not the declaration's.
    let png = {
        let mut v = Vec::new();
        image::RgbImage::new(50, 40)
            .write_to(&mut Cursor::new(&mut v), image::ImageFormat::Png)
            .unwrap();
        v
    };
    let (id, done) = p.upload(&p.admin, &png).await;
    assert_eq!(done["content_type"], "image/png");
    let r = p.fetch(&p.admin, id, "original").await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    // Operators see the outcomes.
    let metrics = p
        .raw
        .get(format!("{}/metrics", p.app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "anjian_photos_total{outcome=\"not_an_image\"} 3",
        "anjian_photos_total{outcome=\"image_too_large\"} 2",
        "anjian_photos_total{outcome=\"verified\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
}

#[tokio::test]
async fn who_sees_what() {
    let p = photos().await;
    let pw = anjian_usecases::setup::DEMO_PASSWORD;
    let insp = p.app.login("inspector01", pw).await;
    let (_, me) = p.app.get("/api/v1/me", &insp).await;
    let village = me["village_ids"][0].as_str().unwrap().to_owned();
    let ents = p
        .app
        .all(
            &format!("/api/v1/enterprises?village_id={village}"),
            &p.admin,
        )
        .await;
    let ent = &ents[0];
    // An account of this enterprise, and one of an enterprise elsewhere.
    let (_, villages) = p.app.get("/api/v1/villages", &p.admin).await;
    let elsewhere = villages["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] != json!(village))
        .unwrap();
    let other = p
        .app
        .all(
            &format!(
                "/api/v1/enterprises?village_id={}",
                elsewhere["id"].as_str().unwrap()
            ),
            &p.admin,
        )
        .await;
    let other = &other[0];
    for (name, e) in [("ent_here", ent), ("ent_there", other)] {
        p.app
            .create_user(
                &p.admin,
                json!({"username": name, "display_name": name, "role": "enterprise",
                    "enterprise_id": e["id"], "password": "enterprise-password"}),
            )
            .await;
    }
    let bytes = phone_jpeg(600, 400);
    let (id, _) = p.upload(&insp, &bytes).await;
    p.processed(&insp, id).await;
    // Unattached: the declarer, office and admin only.
    let insp2 = p.app.login("inspector02", pw).await;
    let office = p.app.login("office", pw).await;
    assert_eq!(
        p.app.get(&format!("/api/v1/photos/{id}"), &office).await.0,
        StatusCode::OK
    );
    assert_eq!(
        p.app.get(&format!("/api/v1/photos/{id}"), &insp2).await.0,
        StatusCode::NOT_FOUND
    );

    // Attached to a hazard of the enterprise by a push.
    let mut d = Device::new(insp.clone());
    let hazard = json!({"id": Uuid::now_v7(), "enterprise_id": ent["id"], "title": "灭火器过期",
        "description": "二楼灭火器压力不足", "category": "消防", "severity": "general",
        "found_at": "2026-11-27T02:00:00Z", "responsible_person": "李强", "measures": "更换灭火器",
        "photo_ids": [id]});
    let m = d.mutation("hazard.create", None, hazard);
    let (_, b) = p.app.push(&d, vec![m]).await;
    assert_eq!(b["results"][0]["status"], "applied", "{b}");

    // Another village's inspector and another enterprise: as if it did not exist.
    assert_eq!(
        p.app.get(&format!("/api/v1/photos/{id}"), &insp2).await.0,
        StatusCode::NOT_FOUND
    );
    let stranger = p.app.login("ent_there", "enterprise-password").await;
    assert_eq!(
        p.app
            .get(&format!("/api/v1/photos/{id}"), &stranger)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        p.fetch(&stranger, id, "thumb").await.unwrap_err(),
        StatusCode::NOT_FOUND
    );

    {
        let ent_token = p.app.login("ent_here", "enterprise-password").await;
        let (s, meta) = p.app.get(&format!("/api/v1/photos/{id}"), &ent_token).await;
        assert_eq!(s, StatusCode::OK);
        assert!(meta["gps"].is_null(), "{meta}");
        for v in ["preview", "thumb"] {
            let r = p.fetch(&ent_token, id, v).await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(!has_exif(&r.bytes().await.unwrap()));
        }
        assert_eq!(
            p.fetch(&ent_token, id, "original").await.unwrap_err(),
            StatusCode::FORBIDDEN
        );
    }
    // The inspector in scope keeps the original with its GPS.
    let r = p.fetch(&insp, id, "original").await.unwrap();
    assert!(has_exif(&r.bytes().await.unwrap()));
    // Unknown variants and ids name nothing.
    assert_eq!(
        p.fetch(&insp, id, "huge").await.unwrap_err(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        p.fetch(&insp, Uuid::now_v7(), "thumb").await.unwrap_err(),
        StatusCode::NOT_FOUND
    );
    // A disabled account loses its photos at once, token or not.
    let users = p.app.all("/api/v1/users", &p.admin).await;
    let insp_id = users
        .iter()
        .find(|u| u["username"] == "inspector01")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .unwrap();
    let (s, _) = p
        .app
        .patch(
            &format!("/api/v1/users/{insp_id}"),
            &p.admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        p.fetch(&insp, id, "original").await.unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = p.complete(&insp, id).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Without a login, nothing.
    let r = p
        .raw
        .get(format!("{}/api/v1/photos/{id}/thumb", p.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_same_photo_through_sync_and_rest() {
    let p = photos().await;
    let insp = p
        .app
        .login("inspector01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    let bytes = plain_jpeg(500, 500);
    let id = Uuid::now_v7();
    let mut d = Device::new(insp.clone());
    let m = d.mutation("photo.declare", None, declaration(id, &bytes, "image/jpeg"));
    let (_, b) = p.app.push(&d, vec![m]).await;
    assert_eq!(b["results"][0]["status"], "applied", "{b}");
    // The phone asks for an upload URL by declaring it again over REST.
    let (s, b) = p
        .declare(&insp, declaration(id, &bytes, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "pending_upload");
    let put = p.put_presigned(&b["upload"], bytes.clone()).await;
    assert_eq!(put.status(), StatusCode::OK);
    let (s, _) = p.complete(&insp, id).await;
    assert_eq!(s, StatusCode::OK);
    // Another user declaring that id: a conflict, in both places.
    let (s, b) = p
        .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
        .await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::CONFLICT, "conflict".into())
    );
}

#[tokio::test]
async fn the_object_store_shares_the_listener_without_taking_its_paths() {
    let p = photos().await;
    let (s, b) = p.app.get("/readyz", "").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["object_store"], "ok");
    // Unsigned requests to the bucket are refused by the store itself.
    let r = p
        .raw
        .get(format!("{}/anjian/originals/", p.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Bodies larger than any photo are refused before the store reads them.
    let r = p
        .raw
        .put(format!("{}/anjian/staging/x", p.app.url))
        .body(vec![0u8; 33 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Other unknown paths keep the JSON 404.
    let (s, b) = p.app.get("/anjianx/whatever", "").await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::NOT_FOUND, "not_found".into())
    );
}

#[tokio::test]
async fn the_sweep_finds_abandoned_uploads_and_removes_them_on_apply() {
    let p = photos().await;
    let stale = Uuid::now_v7();
    let bytes = plain_jpeg(100, 100);
    let (s, _) = p
        .declare(&p.admin, declaration(stale, &bytes, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (kept, _) = p.upload(&p.admin, &plain_jpeg(120, 100)).await;
    use sea_orm::ConnectionTrait;
    let db = p.app.db();
    let backend = db.conn().get_database_backend();
    db.conn()
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    "UPDATE photos SET declared_at = $1 WHERE id = $2"
                }
                _ => "UPDATE photos SET declared_at = ? WHERE id = ?",
            },
            [
                (chrono::Utc::now() - chrono::Duration::days(30)).into(),
                stale.into(),
            ],
        ))
        .await
        .unwrap();
    let store = p.app.running.as_ref().unwrap().objects.clone();
    let report = anjian::photos::sweep(db, &store, 7, false).await.unwrap();
    assert_eq!(report.stale_photos, vec![stale]);
    assert_eq!(p.app.count("photos").await, 2, "a report removes nothing");
    let report = anjian::photos::sweep(db, &store, 7, true).await.unwrap();
    assert!(report.applied);
    assert_eq!(p.app.count("photos").await, 1);
    let (s, _) = p
        .app
        .get(&format!("/api/v1/photos/{stale}"), &p.admin)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    p.processed(&p.admin, kept).await;
    assert!(
        p.fetch(&p.admin, kept, "thumb")
            .await
            .unwrap()
            .status()
            .is_success()
    );
}

#[tokio::test]
async fn large_uploads_through_the_api_are_streamed_and_capped() {
    let p = photos().await;
    let big = anjian_tests::corpus::noisy_jpeg(4000, 3000, 7);
    assert!(big.len() > 2 * 1024 * 1024, "{} bytes", big.len());
    let id = Uuid::now_v7();
    let (s, _) = p
        .declare(&p.admin, declaration(id, &big, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = p.put_content(&p.admin, id, big.clone()).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = p.complete(&p.admin, id).await;
    assert_eq!((s, &b["width"]), (StatusCode::OK, &json!(4000)), "{b}");
    // Over 25 MB: cut off while streaming, nothing stored.
    let huge = vec![0xFFu8; 26 * 1024 * 1024];
    let id = Uuid::now_v7();
    let mut decl = declaration(id, &huge, "image/jpeg");
    decl["size"] = json!(25 * 1024 * 1024);
    let (s, _) = p.declare(&p.admin, decl).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = p.put_content(&p.admin, id, huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(envelope_code(&b), "payload_too_large");
    let (s, b) = p.complete(&p.admin, id).await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::CONFLICT, "not_uploaded".into())
    );
    // Someone else's photo: not theirs to upload.
    let insp = p
        .app
        .login("inspector01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    let (s, _) = p.put_content(&insp, id, vec![1, 2, 3]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_external_s3_store_works_the_same_and_its_outage_is_reported() {
    // Another S3 server on a port of its own, with its own keys and bucket,
    // which phones reach by another address than the server does.
    let store = ExternalStore::start().await;
    let front = anjian_tests::proxy::Proxy::start(store.addr).await;
    let public = front.url();
    let app = TestApp::spawn_configured(Default::default(), |c| {
        c.s3 = Some(store.config(Some(public.clone())));
    })
    .await;
    let p = Photos::new(app).await;
    let bytes = phone_jpeg(700, 500);
    let id = Uuid::now_v7();
    let (s, d) = p
        .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        d["upload"]["url"].as_str().unwrap().starts_with(&public),
        "{d}"
    );
    assert_eq!(
        p.put_presigned(&d["upload"], bytes.clone()).await.status(),
        StatusCode::OK
    );
    let (s, done) = p.complete(&p.admin, id).await;
    assert_verified(s, &done);
    let r = p.fetch(&p.admin, id, "original").await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // The server's own listener serves no bucket.
    let (s, _) = p.app.get("/anjian/originals/", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = p.app.get("/readyz", "").await;
    assert_eq!((s, &b["object_store"]), (StatusCode::OK, &json!("ok")));

    // The store goes away: readiness says so, and completing asks for a retry.
    store.task.abort();
    let _ = store.task.await;
    let (s, b) = p.app.get("/readyz", "").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert_eq!(b["object_store"], "unreachable");
    assert_eq!(b["database"], "ok");
    let other = plain_jpeg(90, 90);
    let id = Uuid::now_v7();
    let (s, _) = p
        .declare(&p.admin, declaration(id, &other, "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "a presigned URL needs no network");
    let r = p
        .app
        .req(
            Method::POST,
            &format!("/api/v1/photos/{id}/complete"),
            Some(&p.admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(envelope_code(&b), "unavailable");
}

#[tokio::test]
async fn completing_the_same_photo_at_once_from_several_requests_is_safe() {
    let p = photos().await;
    let bytes = plain_jpeg(1200, 800);
    let id = Uuid::now_v7();
    let (_, d) = p
        .declare(&p.admin, declaration(id, &bytes, "image/jpeg"))
        .await;
    assert!(
        p.put_presigned(&d["upload"], bytes.clone())
            .await
            .status()
            .is_success()
    );
    let all = futures::future::join_all((0..4).map(|_| p.complete(&p.admin, id))).await;
    for (s, b) in &all {
        assert_eq!(*s, StatusCode::OK, "{b}");
        assert_eq!(b["status"], "verified", "{b}");
    }
    p.processed(&p.admin, id).await;
    assert_eq!(p.app.count("stored_objects").await, 1);
    let r = p.fetch(&p.admin, id, "original").await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

// ---- a hash is not a key ------------------------------------------------------

/// Attaches photo `id` to a new hazard of `enterprise` pushed with `token`.
async fn attach_to_hazard(p: &Photos, token: &str, enterprise: &Value, id: Uuid) {
    let mut d = Device::new(token.to_owned());
    let hazard = json!({"id": Uuid::now_v7(), "enterprise_id": enterprise["id"], "title": "消防通道堵塞",
        "category": "消防", "severity": "general", "found_at": "2026-11-27T02:00:00Z", "photo_ids": [id]});
    let m = d.mutation("hazard.create", None, hazard);
    let (_, b) = p.app.push(&d, vec![m]).await;
    assert_eq!(b["results"][0]["status"], "applied", "{b}");
}

/// The first enterprise of the village of a demo inspector.
async fn enterprise_of(p: &Photos, token: &str) -> Value {
    let (_, me) = p.app.get("/api/v1/me", token).await;
    let village = me["village_ids"][0].as_str().unwrap().to_owned();
    let ents = p
        .app
        .get(
            &format!("/api/v1/enterprises?village_id={village}&limit=1"),
            &p.admin,
        )
        .await
        .1;
    ents["items"][0].clone()
}

#[tokio::test]
async fn knowing_a_hash_grants_no_bytes_and_tells_nothing() {
    let p = photos().await;
    let pw = anjian_usecases::setup::DEMO_PASSWORD;
    let insp = p.app.login("inspector01", pw).await;
    let ent = enterprise_of(&p, &insp).await;
    let bytes = phone_jpeg(640, 480);
    let (id, _) = p.upload(&insp, &bytes).await;
    attach_to_hazard(&p, &insp, &ent, id).await;
    // The owner's enterprise sees it; the rest of the town only knows its hash.
    let (_, meta) = p.app.get(&format!("/api/v1/photos/{id}"), &insp).await;
    let hash = meta["sha256"].as_str().unwrap().to_owned();
    let other_village = p.app.login("inspector02", pw).await;
    let far = enterprise_of(&p, &other_village).await;
    p.app
        .create_user(
            &p.admin,
            json!({"username": "ent_far", "display_name": "别家企业",
            "role": "enterprise", "enterprise_id": far["id"], "password": "enterprise-password"}),
        )
        .await;
    let other_enterprise = p.app.login("ent_far", "enterprise-password").await;
    for (who, token) in [
        ("inspector02", &other_village),
        ("ent_far", &other_enterprise),
    ] {
        let stolen = Uuid::now_v7();
        let (s, b) = p
            .declare(token, json!({"id": stolen, "sha256": hash, "size": bytes.len(), "content_type": "image/jpeg"}))
            .await;
        assert_eq!(
            (s, &b["status"]),
            (StatusCode::CREATED, &json!("pending_upload")),
            "{who}: {b}"
        );
        assert!(b["width"].is_null() && b["gps"].is_null(), "{who}: {b}");
        for v in ["original", "preview", "thumb"] {
            let got = p.fetch(token, stolen, v).await;
            assert!(
                matches!(got, Err(StatusCode::CONFLICT | StatusCode::FORBIDDEN)),
                "{who} got bytes of {v}"
            );
        }
        // Completing without uploading the bytes gives nothing either.
        let (s, b) = p.complete(token, stolen).await;
        assert_eq!(
            (s, envelope_code(&b)),
            (StatusCode::CONFLICT, "not_uploaded".into()),
            "{who}"
        );
        // The original photo stays out of reach.
        assert_eq!(
            p.app.get(&format!("/api/v1/photos/{id}"), token).await.0,
            StatusCode::NOT_FOUND
        );
    }
    // No oracle: a stored foreign hash and one never seen get the same answer.
    let unseen = sha(&plain_jpeg(17, 17));
    let mut answers = Vec::new();
    for h in [&hash, &unseen] {
        let (s, b) = p
            .declare(&other_village, json!({"id": Uuid::now_v7(), "sha256": h, "size": bytes.len(), "content_type": "image/jpeg"}))
            .await;
        let mut keys: Vec<String> = b.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        answers.push((
            s,
            b["status"].clone(),
            keys,
            b["upload"]["headers"].as_object().map(|h| h.len()),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    // Whoever really has the bytes uploads them; storage deduplicates silently.
    let (mine, done) = p.upload(&other_village, &bytes).await;
    assert_eq!(done["status"], "verified", "{done}");
    p.processed(&other_village, mine).await;
    assert_eq!(p.app.count("stored_objects").await, 1);
    assert!(p.fetch(&other_village, mine, "original").await.is_ok());
    // Having uploaded them, declaring those bytes again may skip the upload.
    let (s, b) = p
        .declare(
            &other_village,
            declaration(Uuid::now_v7(), &bytes, "image/jpeg"),
        )
        .await;
    assert_eq!(
        (s, &b["status"]),
        (StatusCode::OK, &json!("processed")),
        "{b}"
    );
}

#[tokio::test]
async fn an_inspector_moved_away_loses_the_photos_of_the_records_left_behind() {
    let p = photos().await;
    let (_, villages) = p.app.get("/api/v1/villages", &p.admin).await;
    let [v0, v1] = [0, 1].map(|i| villages["items"][i]["id"].clone());
    let id = p
        .app
        .create_user(
            &p.admin,
            json!({"username": "mover", "display_name": "调动的网格员",
            "role": "inspector", "village_ids": [v0], "password": "inspector-password"}),
        )
        .await;
    let insp = p.app.login("mover", "inspector-password").await;
    let ent = enterprise_of(&p, &insp).await;
    let bytes = phone_jpeg(500, 400);
    let (photo, _) = p.upload(&insp, &bytes).await;
    attach_to_hazard(&p, &insp, &ent, photo).await;
    // Another photo of its own, never attached.
    let (loose, _) = p.upload(&insp, &plain_jpeg(300, 200)).await;
    assert!(p.fetch(&insp, photo, "original").await.is_ok());
    let (s, _) = p
        .app
        .patch(
            &format!("/api/v1/users/{id}"),
            &p.admin,
            json!({"village_ids": [v1]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Declaring it did not make it theirs: the record decides.
    assert_eq!(
        p.app.get(&format!("/api/v1/photos/{photo}"), &insp).await.0,
        StatusCode::NOT_FOUND
    );
    for v in ["original", "preview", "thumb"] {
        assert_eq!(
            p.fetch(&insp, photo, v).await.unwrap_err(),
            StatusCode::NOT_FOUND,
            "{v}"
        );
    }
    let (s, b) = p
        .declare(&insp, declaration(Uuid::now_v7(), &bytes, "image/jpeg"))
        .await;
    assert_eq!(
        (s, &b["status"]),
        (StatusCode::CREATED, &json!("pending_upload")),
        "{b}"
    );
    // What it declared and never attached is still its own.
    assert_eq!(
        p.app.get(&format!("/api/v1/photos/{loose}"), &insp).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn presigned_urls_do_only_what_phones_need() {
    let p = photos().await;
    let bytes = plain_jpeg(320, 240);
    let (done, _) = p.upload(&p.admin, &bytes).await;
    p.processed(&p.admin, done).await;
    let id = Uuid::now_v7();
    let other = plain_jpeg(321, 240);
    let (_, b) = p
        .declare(&p.admin, declaration(id, &other, "image/jpeg"))
        .await;
    let upload = b["upload"].clone();
    let url = upload["url"].as_str().unwrap().to_owned();
    let original = format!("anjian/originals/{}", sha(&bytes));
    // Headers the URL does not sign would make the store copy, tag or annotate.
    for (h, v) in [
        ("x-amz-copy-source", original.as_str()),
        ("x-amz-meta-owner", "someone"),
        ("x-amz-tagging", "a=b"),
        ("x-amz-acl", "public-read"),
    ] {
        let mut r = p.raw.put(&url);
        for (k, v) in upload["headers"].as_object().unwrap() {
            if k != "host" {
                r = r.header(k, v.as_str().unwrap());
            }
        }
        let r = r.header(h, v).body(other.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{h}");
    }
    let (s, b) = p.complete(&p.admin, id).await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::CONFLICT, "not_uploaded".into())
    );
    // A download URL reads; it lists, deletes and reads sub-resources nothing.
    let r = p
        .raw
        .get(format!("{}/api/v1/photos/{done}/thumb", p.app.url))
        .bearer_auth(&p.admin)
        .send()
        .await
        .unwrap();
    let get_url = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        p.raw.get(&get_url).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        p.raw.delete(&get_url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    for extra in ["&acl=", "&tagging=", "&list-type=2", "&uploads="] {
        let r = p.raw.get(format!("{get_url}{extra}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{extra}");
    }
    let bucket_url = format!(
        "{}/anjian/?{}",
        p.app.url,
        get_url.split_once('?').unwrap().1
    );
    assert_eq!(
        p.raw.get(bucket_url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // The thumb is still there: nothing was deleted.
    assert_eq!(
        p.raw.get(&get_url).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn photos_waiting_for_their_bytes_are_capped_per_user_and_a_push_waits() {
    let app = TestApp::spawn_configured(
        anjian::StartOptions {
            demo: true,
            ..anjian::StartOptions::default()
        },
        |c| c.max_pending_photos = 3,
    )
    .await;
    let p = Photos::new(app).await;
    let insp = p
        .app
        .login("inspector01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    let ent = enterprise_of(&p, &insp).await;
    let images: Vec<Vec<u8>> = (0..5).map(|i| plain_jpeg(200 + i, 100)).collect();
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    for i in 0..3 {
        let (s, b) = p
            .declare(&insp, declaration(ids[i], &images[i], "image/jpeg"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = p
        .declare(&insp, declaration(ids[3], &images[3], "image/jpeg"))
        .await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into()),
        "{b}"
    );
    // Asking again for an upload URL of a declared photo is not a new declaration.
    let (s, _) = p
        .declare(&insp, declaration(ids[0], &images[0], "image/jpeg"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // A push stops before the declaration past the cap; the record after it waits too.
    let mut d = Device::new(insp.clone());
    let plain = json!({"id": Uuid::now_v7(), "enterprise_id": ent["id"], "title": "安全通道堆物",
        "category": "消防", "severity": "general", "found_at": "2026-11-27T02:00:00Z"});
    let mut with_photo = plain.clone();
    with_photo["id"] = json!(Uuid::now_v7());
    with_photo["photo_ids"] = json!([ids[4]]);
    let batch = vec![
        d.mutation("hazard.create", None, plain),
        d.mutation(
            "photo.declare",
            None,
            declaration(ids[4], &images[4], "image/jpeg"),
        ),
        d.mutation("hazard.create", None, with_photo),
    ];
    let (s, b) = p.app.push(&d, batch.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["last_processed_seq"], 1, "{b}");
    assert_eq!(b["results"].as_array().unwrap().len(), 1);
    // Once a photo is uploaded, the same push goes through whole.
    let (_, up) = p
        .declare(&insp, declaration(ids[1], &images[1], "image/jpeg"))
        .await;
    assert_eq!(
        p.put_presigned(&up["upload"], images[1].clone())
            .await
            .status(),
        StatusCode::OK
    );
    let (s, _) = p.complete(&insp, ids[1]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, b) = p.app.push(&d, batch).await;
    assert_eq!(b["last_processed_seq"], 3, "{b}");
    assert_eq!(b["results"][2]["status"], "applied", "{b}");
}

#[tokio::test]
async fn a_photo_listed_while_its_variants_are_made_is_attached_all_the_same() {
    // The variant workers change a verified photo when they finish; a push
    // listing it at that moment waits for them instead of failing.
    let p = photos().await;
    let (_, ents) = p.app.get("/api/v1/enterprises?limit=1", &p.admin).await;
    let ent = ents["items"][0].clone();
    let rounds = futures::future::join_all((0..8u32).map(|i| {
        let p = &p;
        let ent = &ent;
        async move {
            let bytes = anjian_tests::corpus::noisy_jpeg(1200, 900, 100 + i);
            let (id, done) = p.upload(&p.admin, &bytes).await;
            assert_eq!(done["status"], "verified", "{done}");
            attach_to_hazard(p, &p.admin, ent, id).await;
            id
        }
    }))
    .await;
    for id in rounds {
        let photo = p.processed(&p.admin, id).await;
        assert_eq!(photo["status"], "processed");
    }
}
