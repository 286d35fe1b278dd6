//! `just bench sync`: push ingestion against raw batched INSERTs of the same rows
//! into the same database in the same run, a full-scope pull of an inspector's
//! territory with a year of records, and the no-change pull.
//!
//! Runs on PostgreSQL when `ANJIAN_TEST_DATABASE_URL` is set (as `just bench`
//! does), else on SQLite. Prints a table; asserts nothing.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::time::{Duration, Instant};

use anjian_tests::{Device, TestApp};
use sea_orm::{ConnectionTrait, Statement, Value as DbValue};
use serde_json::{Value, json};
use uuid::Uuid;

fn hazard(enterprise: &Value, i: usize, found: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"id": Uuid::now_v7(), "enterprise_id": enterprise["id"], "title": format!("隐患{i}"),
        "description": "现场检查发现的问题，需要按期整改", "category": "消防", "severity": if i.is_multiple_of(10) { "major" } else { "general" },
        "found_at": found, "responsible_person": "王伟", "measures": "立即整改"})
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = TestApp::spawn().await;
    let backend = match app.backend {
        anjian_tests::Backend::Sqlite => "SQLite",
        anjian_tests::Backend::Postgres { .. } => "PostgreSQL",
    };
    let admin = app.admin().await;
    // An inspector with a territory of about 300 enterprises.
    let (_, v) = app.get("/api/v1/villages", &admin).await;
    let mut best = (String::new(), Vec::new());
    for village in v["items"].as_array().unwrap() {
        let id = village["id"].as_str().unwrap();
        let ents = app
            .all(&format!("/api/v1/enterprises?village_id={id}"), &admin)
            .await;
        if best.1.is_empty() || (ents.len() as i64 - 300).abs() < (best.1.len() as i64 - 300).abs()
        {
            best = (id.to_owned(), ents);
        }
    }
    let (village, ents) = best;
    app.create_user(
        &admin,
        json!({"username": "bench", "display_name": "压测网格员", "role": "inspector",
        "village_ids": [village], "password": "bench-password"}),
    )
    .await;
    let token = app.login("bench", "bench-password").await;

    // 1 and 2, three rounds each: push ingestion of a season of hazards for the
    // territory (one per enterprise per device, 4 devices at once, 500 per push),
    // then the same rows as raw batched INSERTs into a copy of the table.
    let db = app.db();
    let conn = db.conn();
    let be = db.backend();
    conn.execute_unprepared("CREATE TABLE bench_hazards AS SELECT * FROM hazards WHERE 1 = 0")
        .await
        .unwrap();
    let mut devices: Vec<Device> = (0..4).map(|_| Device::new(token.clone())).collect();
    let (mut push_rates, mut raw_rates, mut total) = (Vec::new(), Vec::new(), 0);
    for round in 0..3 {
        let year_ago = chrono::Utc::now() - chrono::Duration::days(365 - 120 * round);
        let per_device = ents.len();
        let mut batches = Vec::new();
        for (d_i, d) in devices.iter_mut().enumerate() {
            let ms: Vec<Value> = (0..per_device)
                .map(|i| {
                    let found =
                        year_ago + chrono::Duration::hours(((d_i * per_device + i) * 2) as i64);
                    d.mutation(
                        "hazard.create",
                        None,
                        hazard(&ents[i % ents.len()], i, found),
                    )
                })
                .collect();
            batches.push(ms);
        }
        let n: usize = batches.iter().map(Vec::len).sum();
        total += n;
        let t = Instant::now();
        let pushes = devices.iter().zip(batches.iter()).map(|(d, ms)| {
            let app = &app;
            async move {
                for chunk in ms.chunks(500) {
                    let (s, b) = app.push(d, chunk.to_vec()).await;
                    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
                }
            }
        });
        futures::future::join_all(pushes).await;
        push_rates.push(n as f64 / t.elapsed().as_secs_f64());

        // The same rows as raw batched INSERTs into a copy of the table.
        let rows: Vec<Vec<DbValue>> = batches
            .iter()
            .flatten()
            .map(|m| {
                let p = &m["payload"];
                vec![
                    DbValue::Uuid(Some(Uuid::now_v7())),
                    DbValue::Uuid(Some(p["enterprise_id"].as_str().unwrap().parse().unwrap())),
                    p["title"].as_str().unwrap().into(),
                    p["description"].as_str().unwrap().into(),
                    p["category"].as_str().unwrap().into(),
                    p["severity"].as_str().unwrap().into(),
                    "open".into(),
                    DbValue::ChronoDateTimeUtc(Some(
                        p["found_at"].as_str().unwrap().parse().unwrap(),
                    )),
                    DbValue::ChronoDate(Some(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap())),
                    p["responsible_person"].as_str().unwrap().into(),
                    p["measures"].as_str().unwrap().into(),
                    DbValue::Json(Some(Box::new(json!([])))),
                    DbValue::Json(Some(Box::new(json!({})))),
                    DbValue::Uuid(Some(Uuid::nil())),
                    1i64.into(),
                    DbValue::ChronoDateTimeUtc(Some(chrono::Utc::now())),
                    DbValue::ChronoDateTimeUtc(Some(chrono::Utc::now())),
                ]
            })
            .collect();
        let cols = "id, enterprise_id, title, description, category, severity, status, found_at, deadline, responsible_person, measures, photo_ids, field_versions, created_by, version, created_at, updated_at";
        let t = Instant::now();
        for chunk in rows.chunks(500) {
            let mut sql = format!("INSERT INTO bench_hazards ({cols}) VALUES ");
            let mut values = Vec::new();
            let mut n = 1;
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for (j, v) in r.iter().enumerate() {
                    if j > 0 {
                        sql.push(',');
                    }
                    match be {
                        sea_orm::DatabaseBackend::Postgres => sql.push_str(&format!("${n}")),
                        _ => sql.push('?'),
                    }
                    n += 1;
                    values.push(v.clone());
                }
                sql.push(')');
            }
            let txn = sea_orm::TransactionTrait::begin(conn).await.unwrap();
            txn.execute_raw(Statement::from_sql_and_values(be, sql, values))
                .await
                .unwrap();
            txn.commit().await.unwrap();
        }
        raw_rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (push_rate, raw_rate) = (median(push_rates), median(raw_rates));

    // 3. Full-scope pull of the territory (all pages), fresh device each time.
    let mut full = Vec::new();
    let mut changes = 0;
    for _ in 0..5 {
        let d = Device::new(token.clone());
        let t = Instant::now();
        // Pages of 1000, as the reference field client asks for.
        let (c, last) = app.pull_pages(&d, None, 1000).await;
        full.push(t.elapsed());
        changes = c.len();
        assert!(!last["has_more"].as_bool().unwrap());
    }
    // 4. No-change pull: an up-to-date cursor.
    let d = Device::new(token.clone());
    let (_, cur) = app.pull_all(&d, None).await;
    let cursor = cur["cursor"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sync/pull?device_id={}&cursor={cursor}", d.id);
    let mut idle = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let (s, b) = app.get(&path, &token).await;
        idle.push(t.elapsed());
        assert!(s.is_success() && b["changes"].as_array().unwrap().is_empty());
    }

    // For comparison: the cheapest authenticated request.
    let mut me = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let (s, _) = app.get("/api/v1/me", &token).await;
        me.push(t.elapsed());
        assert!(s.is_success());
    }

    println!();
    println!(
        "anjian sync benchmark on {backend} ({} enterprises in the territory, {total} mutations in all)",
        ents.len()
    );
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| push ingestion (4 devices, 500/push), median of 3 rounds | {push_rate:.0} mutations/s | |"
    );
    println!(
        "| raw batched INSERT of the same rows, same database, median of 3 | {raw_rate:.0} rows/s | |"
    );
    println!("| push / raw | {:.3} | >= 0.5 |", push_rate / raw_rate);
    println!(
        "| full-scope pull ({changes} changes, pages of 1000), median of 5 | {:.1} ms | <= 200 ms |",
        pct(full.clone(), 0.5).as_secs_f64() * 1e3
    );
    println!(
        "| no-change pull p50 / p99 (300 pulls) | {:.2} ms / {:.2} ms | p50 <= 2 ms |",
        pct(idle.clone(), 0.5).as_secs_f64() * 1e3,
        pct(idle, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "| for comparison: GET /me (auth only) p50 / p99 | {:.2} ms / {:.2} ms | |",
        pct(me.clone(), 0.5).as_secs_f64() * 1e3,
        pct(me, 0.99).as_secs_f64() * 1e3
    );
}
