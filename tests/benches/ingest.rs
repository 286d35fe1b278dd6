//! `just bench ingest`: phones sending records with a photo each, as fast as
//! the server acknowledges them. Eight simulated phones run at once; each
//! record is a declaration, a presigned PUT of a ~300 KB 2048×1536 JPEG (one
//! image made before the timed part, unique per record by a nonce in a COM
//! segment), `complete`, and a push of a `hazard.create` listing the photo.
//! A record is acknowledged when its push answers `applied`. The variant
//! workers run at their default setting.
//!
//! In the same run, the baseline: the same clients PUT the same bytes to the
//! same store through presigned URLs and nothing else (the limit for moving
//! bytes). Then: the time from the last acknowledgement until every variant
//! exists, and the rate the queue drains at once acknowledgements stop.
//!
//! Runs on PostgreSQL when `ANJIAN_TEST_DATABASE_URL` is set (as `just bench`
//! does), else on SQLite. Prints a table; asserts nothing.
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anjian_tests::corpus::sha;
use anjian_tests::{Device, TestApp};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

/// Simulated phones.
const PHONES: usize = 8;
/// Records each phone sends.
const RECORDS: usize = 40;
/// The size a phone photo has here.
const TARGET_BYTES: usize = 300 * 1024;

/// A photo-like 2048×1536 JPEG of about [`TARGET_BYTES`]: smooth gradients
/// with mild sensor noise, at the highest quality that stays within the size.
fn phone_photo() -> Vec<u8> {
    let (w, h) = (2048u32, 1536u32);
    let mut state = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % 7) as i32 - 3;
        let wave = ((f64::from(x) / 37.0).sin() * 40.0 + (f64::from(y) / 53.0).cos() * 40.0) as i32;
        let c = |v: i32| (v + n + wave).clamp(0, 255) as u8;
        image::Rgb([
            c((x * 200 / w) as i32),
            c((y * 200 / h) as i32),
            c(((x + y) * 120 / (w + h)) as i32 + 60),
        ])
    });
    let mut best = Vec::new();
    for q in (40..=95).rev().step_by(5) {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .encode_image(&img)
            .unwrap();
        best = out;
        if best.len() <= TARGET_BYTES {
            break;
        }
    }
    best
}

/// `photo` with a COM segment carrying `nonce` after SOI: other bytes, the
/// same picture.
fn with_nonce(photo: &[u8], nonce: u64) -> Vec<u8> {
    let text = format!("anjian bench {nonce:016x}");
    let len = u16::try_from(text.len() + 2).unwrap();
    let mut out = Vec::with_capacity(photo.len() + text.len() + 4);
    out.extend_from_slice(&photo[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&photo[2..]);
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Declares photo `id`; the presigned upload it answers with.
async fn declare(app: &TestApp, token: &str, id: Uuid, bytes: &[u8]) -> Value {
    let (s, b) = app
        .post(
            "/api/v1/photos",
            token,
            json!({"id": id, "sha256": sha(bytes), "size": bytes.len(), "content_type": "image/jpeg"}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{b}");
    b["upload"].clone()
}

/// PUTs `bytes` as a presigned upload describes.
async fn put(http: &reqwest::Client, upload: &Value, bytes: Vec<u8>) {
    let mut r = http.put(upload["url"].as_str().unwrap());
    for (k, v) in upload["headers"].as_object().unwrap() {
        if k != "host" {
            r = r.header(k, v.as_str().unwrap());
        }
    }
    let resp = r.body(bytes).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// The variant queue's depth, from `/metrics`.
async fn queue_depth(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("anjian_photo_queue_depth "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let photo = phone_photo();
    let app = Arc::new(TestApp::spawn().await);
    let token = app.admin().await;
    let (_, ents) = app.get("/api/v1/enterprises?limit=200", &token).await;
    let ents: Vec<Value> = ents["items"].as_array().unwrap().clone();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let records = PHONES * RECORDS;
    // Unique bytes for every upload of the run, made before any timing.
    let mut nonce = 0u64;
    let mut unique = |n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| {
                nonce += 1;
                with_nonce(&photo, nonce)
            })
            .collect()
    };

    // Baseline: presigned PUTs of the same bytes by the same clients.
    let raw_bytes = unique(records);
    let mut raw_uploads = Vec::with_capacity(records);
    for b in &raw_bytes {
        raw_uploads.push(declare(&app, &token, Uuid::now_v7(), b).await);
    }
    let work = Arc::new(Mutex::new(
        raw_uploads.into_iter().zip(raw_bytes).collect::<Vec<_>>(),
    ));
    let started = Instant::now();
    let mut phones = tokio::task::JoinSet::new();
    for _ in 0..PHONES {
        let (work, http) = (work.clone(), http.clone());
        phones.spawn(async move {
            loop {
                let Some((upload, bytes)) = work.lock().await.pop() else {
                    return;
                };
                put(&http, &upload, bytes).await;
            }
        });
    }
    while phones.join_next().await.is_some() {}
    let raw_rate = records as f64 / started.elapsed().as_secs_f64();

    // Records with a photo each, acknowledged end to end.
    let work = Arc::new(Mutex::new(unique(records)));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(records)));
    let started = Instant::now();
    let mut phones = tokio::task::JoinSet::new();
    for phone in 0..PHONES {
        let (work, http, app, latencies) =
            (work.clone(), http.clone(), app.clone(), latencies.clone());
        let token = token.clone();
        let ents = ents.clone();
        phones.spawn(async move {
            let mut device = Device::new(token.clone());
            let mut n = 0;
            loop {
                let Some(bytes) = work.lock().await.pop() else {
                    return;
                };
                let t = Instant::now();
                let id = Uuid::now_v7();
                let upload = declare(&app, &token, id, &bytes).await;
                put(&http, &upload, bytes).await;
                let (s, b) = app
                    .post(&format!("/api/v1/photos/{id}/complete"), &token, json!({}))
                    .await;
                assert_eq!(s.as_u16(), 200, "{b}");
                let e = &ents[(phone * RECORDS + n) % ents.len()];
                n += 1;
                let hazard = json!({"id": Uuid::now_v7(), "enterprise_id": e["id"],
                    "title": "配电箱未接地", "description": "二车间配电箱外壳未接地",
                    "category": "用电安全", "severity": "general",
                    "found_at": chrono::Utc::now(), "photo_ids": [id]});
                let m = device.mutation("hazard.create", None, hazard);
                let (s, b) = app.push(&device, vec![m]).await;
                assert_eq!(s.as_u16(), 200, "{b}");
                assert_eq!(b["results"][0]["status"], "applied", "{b}");
                latencies.lock().await.push(t.elapsed());
            }
        });
    }
    while phones.join_next().await.is_some() {}
    let acked_in = started.elapsed();
    let depth_at_last_ack = queue_depth(&app).await;
    let drain_started = Instant::now();
    while queue_depth(&app).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_in = drain_started.elapsed();
    let rate = records as f64 / acked_in.as_secs_f64();
    let mut lat = latencies.lock().await.clone();
    lat.sort();

    let backend = if std::env::var("ANJIAN_TEST_DATABASE_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "\nanjian photo ingest on {backend}: {PHONES} phones × {RECORDS} records, \
         {} KB 2048×1536 JPEG each, {} variant workers\n",
        photo.len() / 1024,
        anjian::config::default_photo_workers(),
    );
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| records with a photo acknowledged | {rate:.1}/s (p50 {:.0} ms, p99 {:.0} ms) | >= 100/s |",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
    );
    println!("| raw presigned PUTs of the same bytes, same clients | {raw_rate:.1}/s | |");
    println!(
        "| acknowledged / raw PUT | {:.2} | >= 0.3 |",
        rate / raw_rate
    );
    println!(
        "| queue at the last acknowledgement; then all variants in | {depth_at_last_ack} photos; {:.1} s | |",
        drained_in.as_secs_f64()
    );
    let drain_rate = if depth_at_last_ack == 0 {
        f64::INFINITY
    } else {
        depth_at_last_ack as f64 / drained_in.as_secs_f64()
    };
    println!("| queue drain once acknowledgements stop | {drain_rate:.1} photos/s | >= 45/s |");
}
