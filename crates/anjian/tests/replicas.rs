//! Two `anjian serve` processes on one PostgreSQL database share the
//! scheduled jobs: each job's period is claimed once. The holder of the
//! weekly report's lease is killed (SIGKILL) in the middle of the job — held
//! up by a lock on the report table, after its claim and its files, before
//! its row — and the other replica retakes the period when the lease runs
//! out: one report, one e-mail, every job done once per period.
//!
//! SQLite is one server per database file: on SQLite this test says so and
//! does nothing (CI's PostgreSQL pass runs it).
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::time::{Duration, Instant};

use anjian_tests::process::Process;
use anjian_tests::smtp::SmtpServer;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    rows(db, sql).await[0].try_get_by_index::<i64>(0).unwrap()
}

/// Waits (up to `within`) until `sql` counts at least one row.
async fn until(db: &DatabaseConnection, sql: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while scalar(db, sql).await == 0 {
        assert!(Instant::now() < deadline, "waited {within:?} for: {sql}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_job_is_replaced_and_every_job_runs_once_per_period() {
    if anjian_tests::Backend::current() == anjian_tests::Backend::Sqlite {
        eprintln!(
            "two replicas need PostgreSQL (one server per SQLite file): checked on the PostgreSQL pass"
        );
        return;
    }
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let mut a = Process::prepared(
        env!("CARGO_BIN_EXE_anjian"),
        &[
            ("ANJIAN_JOB_LEASE_SECS", "3"),
            ("ANJIAN_SMTP_URL", &smtp_url),
            ("ANJIAN_REPORT_RECIPIENTS", "anjian-ban@luoxi.example.cn"),
            ("ANJIAN_PHOTO_WORKERS", "1"),
        ],
    )
    .await;
    let url = a.provisioned.cfg.database_url.clone().unwrap().0;
    let watch = Database::connect(&url).await.unwrap();
    // The report's row can't be written while this holds the table.
    let lock = Database::connect(&url).await.unwrap();
    let held = lock.begin().await.unwrap();
    held.execute_unprepared("LOCK TABLE reports IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    a.start().await;
    let mut b = a.replica().await;
    let (pid_a, pid_b) = (a.pid().unwrap(), b.pid().unwrap());

    // The report job has claimed its week, made its files, and waits on the
    // lock with its lease renewed.
    until(
        &watch,
        "SELECT count(*) FROM job_runs WHERE job = 'report.weekly' AND status = 'running'",
        Duration::from_secs(30),
    )
    .await;
    until(
        &watch,
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'reports'::regclass",
        Duration::from_secs(30),
    )
    .await;
    let run = &rows(
        &watch,
        "SELECT runner, period FROM job_runs WHERE job = 'report.weekly'",
    )
    .await[0];
    let (runner, week): (String, String) = (
        run.try_get_by_index(0).unwrap(),
        run.try_get_by_index(1).unwrap(),
    );
    let holder_is_a = runner.starts_with(&format!("{pid_a}-"));
    assert!(
        holder_is_a || runner.starts_with(&format!("{pid_b}-")),
        "{runner}"
    );
    // Kill the holder mid-job; let the table go.
    if holder_is_a {
        a.kill();
    } else {
        b.kill();
    }
    held.rollback().await.unwrap();

    // The survivor retakes the period once the lease runs out (3 s, then its
    // next tick, every 15 s).
    until(
        &watch,
        "SELECT count(*) FROM job_runs WHERE job = 'report.weekly' AND status = 'succeeded'",
        Duration::from_secs(60),
    )
    .await;
    let run = &rows(
        &watch,
        "SELECT runner, attempts FROM job_runs WHERE job = 'report.weekly'",
    )
    .await[0];
    let (retaker, attempts): (String, i64) = (
        run.try_get_by_index(0).unwrap(),
        run.try_get_by_index(1).unwrap(),
    );
    let survivor = if holder_is_a { pid_b } else { pid_a };
    assert!(retaker.starts_with(&format!("{survivor}-")), "{retaker}");
    assert_eq!(attempts, 2);
    assert_eq!(
        scalar(
            &watch,
            &format!("SELECT count(*) FROM reports WHERE kind = 'weekly' AND period = '{week}'")
        )
        .await,
        1
    );

    // The mail goes once, whichever replica sends it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.messages().is_empty() {
        assert!(Instant::now() < deadline, "no report mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        scalar(
            &watch,
            &format!("SELECT count(*) FROM outbox WHERE dedupe_key = 'report.weekly:{week}'")
        )
        .await,
        1
    );

    // Every other job ran once for its period, on whichever came first.
    let runs = rows(
        &watch,
        "SELECT job, period, status, attempts FROM job_runs ORDER BY job",
    )
    .await;
    let mut jobs = Vec::new();
    for r in &runs {
        let (job, period, status, attempts): (String, String, String, i64) = (
            r.try_get_by_index(0).unwrap(),
            r.try_get_by_index(1).unwrap(),
            r.try_get_by_index(2).unwrap(),
            r.try_get_by_index(3).unwrap(),
        );
        if job == "report.weekly" {
            continue;
        }
        assert_eq!(
            (status.as_str(), attempts),
            ("succeeded", 1),
            "{job} {period}"
        );
        jobs.push(job);
    }
    jobs.dedup();
    for job in ["auth.purge", "hazards.overdue", "photos.sweep"] {
        assert!(jobs.iter().any(|j| j == job), "{job} did not run: {jobs:?}");
    }
    drop(b);
}
