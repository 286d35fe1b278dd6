//! `just bench photos`: photo processing of a 12 MP JPEG (preview + thumb)
//! against bare decode + resize with the same crates in the same run, peak
//! memory with four photos in flight, hostile files, libjpeg-turbo's full
//! decode of the same file (`djpeg`, Debian `libjpeg-turbo-progs`) for scale,
//! and `complete` end to end through the server and the embedded S3 store.
//!
//! Prints a table; asserts nothing.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::time::{Duration, Instant};

use anjian_evidence::imaging::{self, Processor};
use anjian_tests::corpus::{noisy_jpeg, pixel_flood_png, sha};
use fast_image_resize as fir;

/// Decode and resize to both edges, nothing else: the floor of the work.
fn bare(bytes: &[u8]) -> (usize, usize) {
    let img = image::load_from_memory(bytes).unwrap().into_rgb8();
    let (w, h) = img.dimensions();
    let src = fir::images::ImageRef::new(w, h, img.as_raw(), fir::PixelType::U8x3).unwrap();
    let fit = |edge: u32| {
        let s = f64::from(edge) / f64::from(w.max(h));
        (
            ((f64::from(w) * s).round() as u32).max(1),
            ((f64::from(h) * s).round() as u32).max(1),
        )
    };
    let opts = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3));
    let (pw, ph) = fit(1600);
    let mut preview = fir::images::Image::new(pw, ph, fir::PixelType::U8x3);
    fir::Resizer::new()
        .resize(&src, &mut preview, &opts)
        .unwrap();
    let (tw, th) = fit(320);
    let mut thumb = fir::images::Image::new(tw, th, fir::PixelType::U8x3);
    fir::Resizer::new()
        .resize(&preview, &mut thumb, &opts)
        .unwrap();
    (preview.buffer().len(), thumb.buffer().len())
}

/// A memory figure of this process from `/proc/self/status`, in MiB
/// (`VmRSS` now, `VmHWM` the peak so far).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median milliseconds `djpeg` takes to decode `jpeg` fully, less its own
/// start-up; `None` without `djpeg`.
fn djpeg_ms(jpeg: &[u8]) -> Option<f64> {
    let dir = std::env::temp_dir().join(format!("anjian-djpeg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let (big, tiny) = (dir.join("photo.jpg"), dir.join("tiny.jpg"));
    std::fs::write(&big, jpeg).ok()?;
    std::fs::write(&tiny, anjian_tests::corpus::plain_jpeg(1, 1)).ok()?;
    let run = |path: &std::path::Path| -> Option<Duration> {
        let t = Instant::now();
        let ok = std::process::Command::new("djpeg")
            .args(["-outfile", "/dev/null"])
            .arg(path)
            .status()
            .ok()?
            .success();
        ok.then(|| t.elapsed())
    };
    let mut full = Vec::new();
    let mut start = Vec::new();
    for _ in 0..7 {
        full.push(run(&big)?);
        start.push(run(&tiny)?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some((median(full).as_secs_f64() - median(start).as_secs_f64()) * 1e3)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (w, h) = (4000, 3000);
    let photos: Vec<bytes::Bytes> = (0..4).map(|i| noisy_jpeg(w, h, i + 1).into()).collect();
    let size_mib = photos[0].len() as f64 / 1048576.0;
    println!(
        "photo: {w}×{h} JPEG, {size_mib:.1} MiB; {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Memory first, while the process is fresh: four in flight at once.
    let before = rss_mib();
    let processor = Processor::default();
    for _round in 0..3 {
        let runs = photos.iter().cloned().map(|b| {
            let p = processor.clone();
            tokio::spawn(async move { p.run(b).await.unwrap() })
        });
        for r in futures::future::join_all(runs).await {
            r.unwrap();
        }
    }
    let peak = status_mib("VmHWM:");
    println!(
        "\nmemory, 4 photos in flight (3 rounds): RSS before {before:.0} MiB, peak {peak:.0} MiB (goal ≤ 300)"
    );

    // Throughput, one thread, interleaved so noise hits both alike.
    let rounds = 6;
    let mut t_bare = Vec::new();
    let mut t_ours = Vec::new();
    for i in 0..rounds {
        let b = &photos[i % photos.len()];
        let t = Instant::now();
        std::hint::black_box(bare(b));
        t_bare.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(imaging::process(b).unwrap());
        t_ours.push(t.elapsed());
    }
    let (mb, mo) = (median(t_bare), median(t_ours));
    println!("\nthroughput, 12 MP → preview 1600 + thumb 320 (median of {rounds}):");
    println!(
        "  bare decode + resize        {:>7.1} ms  {:>5.2} photos/s",
        mb.as_secs_f64() * 1e3,
        1.0 / mb.as_secs_f64()
    );
    println!(
        "  anjian (checks, EXIF, limits, orient, encode both)  {:>7.1} ms  {:>5.2} photos/s",
        mo.as_secs_f64() * 1e3,
        1.0 / mo.as_secs_f64()
    );
    println!(
        "  ratio anjian/bare throughput: {:.2} (goal ≥ 0.70)",
        mb.as_secs_f64() / mo.as_secs_f64()
    );

    // libjpeg-turbo's full decode of the same file, for scale: the time of a
    // `djpeg` run less that of a run on a 1×1 JPEG (the process itself).
    match djpeg_ms(&photos[0]) {
        Some(dj) => println!(
            "  djpeg (libjpeg-turbo) full decode {dj:>6.1} ms; anjian preview + thumb = {:.2}× that (goal ≤ 1.25)",
            mo.as_secs_f64() * 1e3 / dj
        ),
        None => println!("  djpeg not found (Debian: apt-get install libjpeg-turbo-progs)"),
    }

    // Hostile files: how fast they are refused, and what that costs in memory.
    println!("\nhostile files (refused by inspect + process):");
    let mut truncated = photos[0].to_vec();
    truncated.truncate(truncated.len() / 2);
    let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = 1u32;
    garbage.extend((0..24 * 1024 * 1024).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    let flood = pixel_flood_png();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("pixel-flood PNG 100000²", flood),
        ("12 MP JPEG cut in half", truncated),
        ("24 MiB noise after a JPEG signature", garbage),
        (
            "HTML named .jpg",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let rss0 = rss_mib();
        let t = Instant::now();
        let r = imaging::process(&bytes);
        let took = t.elapsed();
        println!(
            "  {what:<38} {:>8.1} ms  {:<55} RSS +{:.0} MiB",
            took.as_secs_f64() * 1e3,
            format!("{:?}", r.map(|_| "accepted"))
                .chars()
                .take(55)
                .collect::<String>(),
            (rss_mib() - rss0).max(0.0)
        );
    }

    // End to end: upload to the embedded store, then `complete`.
    let app = anjian_tests::TestApp::spawn().await;
    let admin = app.admin().await;
    let mut took = Vec::new();
    for (i, b) in photos.iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        let (_, d) = app
            .post(
                "/api/v1/photos",
                &admin,
                serde_json::json!({"id": id, "sha256": sha(b),
                    "size": b.len(), "content_type": "image/jpeg"}),
            )
            .await;
        let mut put = app.client.put(d["upload"]["url"].as_str().unwrap());
        for (k, v) in d["upload"]["headers"].as_object().unwrap() {
            put = put.header(k, v.as_str().unwrap());
        }
        let t = Instant::now();
        let r = put.body(b.clone()).send().await.unwrap();
        assert!(r.status().is_success(), "upload {i}");
        let up = t.elapsed();
        let t = Instant::now();
        let (s, _) = app
            .send(app.req(
                reqwest::Method::POST,
                &format!("/api/v1/photos/{id}/complete"),
                Some(&admin),
            ))
            .await;
        assert!(s.is_success());
        took.push((up, t.elapsed()));
    }
    let up = median(took.iter().map(|t| t.0).collect());
    let done = median(took.iter().map(|t| t.1).collect());
    println!(
        "\nend to end ({}), 12 MP JPEG: presigned PUT {:.0} ms, complete (read, SHA-256, verify, store the original; variants after) {:.0} ms (medians of {})",
        match app.backend {
            anjian_tests::Backend::Sqlite => "SQLite",
            anjian_tests::Backend::Postgres { .. } => "PostgreSQL",
        },
        up.as_secs_f64() * 1e3,
        done.as_secs_f64() * 1e3,
        took.len()
    );
}
