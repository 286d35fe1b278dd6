//! Scheduled jobs run once per period, whichever replica gets there first;
//! a run whose runner died is retaken when its lease runs out; what was
//! missed while the server was down is caught up.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use anjian_scheduler::{JobContext, JobSpec};
use anjian_store::entity::{job_run, login, report};
use anjian_store::repo::jobs;
use anjian_tests::TestApp;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

fn context(app: &TestApp) -> JobContext {
    JobContext {
        db: app.db().clone(),
        policy: anjian_domain::DeadlinePolicy::default(),
        store: Some(app.running.as_ref().unwrap().objects.clone()),
        lease: Duration::seconds(60),
        sweep_days: 7,
        long_overdue_days: 30,
        report_recipients: Vec::new(),
    }
}

fn job(name: &str) -> JobSpec {
    anjian_scheduler::table()
        .into_iter()
        .find(|j| j.name == name)
        .unwrap()
}

async fn runs(app: &TestApp, name: &str) -> Vec<job_run::Model> {
    job_run::Entity::find()
        .filter(job_run::Column::Job.eq(name))
        .order_by_asc(job_run::Column::Period)
        .all(app.db().conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_job_runs_once_per_period_whichever_replica_comes_first() {
    let app = TestApp::spawn().await;
    let ctx = context(&app);
    let db = app.db();
    // Two logins; the first (ids are time-ordered) ended long ago.
    app.admin().await;
    let token = app.admin().await;
    let logins = login::Entity::find()
        .order_by_asc(login::Column::Id)
        .all(db.conn())
        .await
        .unwrap();
    assert_eq!(logins.len(), 2);
    login::Entity::update_many()
        .col_expr(
            login::Column::RevokedAt,
            Expr::value(Utc::now() - Duration::days(40)),
        )
        .filter(login::Column::Id.eq(logins[0].id))
        .exec(db.conn())
        .await
        .unwrap();
    let purge = job("auth.purge");
    let now = Utc::now();
    let first = anjian_scheduler::run_once(&ctx, &purge, "replica-a", now)
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("1 logins purged"));
    // The same period again, on this replica or another: nothing runs.
    for replica in ["replica-a", "replica-b"] {
        assert_eq!(
            anjian_scheduler::run_once(&ctx, &purge, replica, now)
                .await
                .unwrap(),
            None
        );
    }
    // The next hour is another period, for whoever comes first.
    let later = now + Duration::hours(1);
    assert!(
        anjian_scheduler::run_once(&ctx, &purge, "replica-b", later)
            .await
            .unwrap()
            .is_some()
    );
    let runs = runs(&app, "auth.purge").await;
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.status == "succeeded"
        && r.finished_at.is_some()
        && r.lease_expires_at.is_none()
        && r.attempts == 1));
    // The live login was kept.
    assert_eq!(login::Entity::find().all(db.conn()).await.unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/me", &token).await.0,
        reqwest::StatusCode::OK
    );
}

#[tokio::test]
async fn a_run_whose_runner_died_is_retaken_when_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    let ctx = context(&app);
    let weekly = job("report.weekly");
    let now: DateTime<Utc> = "2026-11-30T02:00:00Z".parse().unwrap(); // Monday 10:00
    // A runner claimed W48's report and died before finishing it.
    let dead = jobs::claim(
        app.db(),
        ("report.weekly", "2026-W48"),
        "dead",
        (now - Duration::minutes(30), Duration::minutes(2)),
    )
    .await
    .unwrap();
    assert!(dead.is_some());
    // While its lease holds, nobody else may run it.
    let held = jobs::claim(
        app.db(),
        ("report.weekly", "2026-W48"),
        "other",
        (now - Duration::minutes(29), Duration::minutes(2)),
    )
    .await
    .unwrap();
    assert_eq!(held, None);
    // Past it, the next runner retakes the period and makes the report.
    let done = anjian_scheduler::run_once(&ctx, &weekly, "replica-b", now)
        .await
        .unwrap();
    assert!(done.unwrap().starts_with("2026-W48:"));
    let r = runs(&app, "report.weekly").await;
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].status.as_str(), r[0].runner.as_str(), r[0].attempts),
        ("succeeded", "replica-b", 2)
    );
    // The dead runner's late finish changes nothing: it holds the run no more.
    jobs::finish(
        app.db(),
        (dead.unwrap().run, "dead"),
        Err(("late", now)),
        now,
    )
    .await
    .unwrap();
    assert_eq!(runs(&app, "report.weekly").await[0].status, "succeeded");
    // Done once: later ticks of the same week leave it alone.
    assert_eq!(
        anjian_scheduler::run_once(&ctx, &weekly, "replica-a", now + Duration::days(3))
            .await
            .unwrap(),
        None
    );
    let reports = report::Entity::find().all(app.db().conn()).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].period, "2026-W48");
}

#[tokio::test]
async fn a_start_catches_up_what_was_missed_while_down() {
    let app = TestApp::spawn().await;
    let ctx = context(&app);
    // Down from Friday to Tuesday: Monday's report and Monday's sweep were missed.
    let tuesday: DateTime<Utc> = "2026-12-01T01:00:00Z".parse().unwrap(); // 09:00 office time
    anjian_scheduler::catch_up(&ctx, "replica-a", tuesday).await;
    let periods =
        |runs: Vec<job_run::Model>| -> Vec<String> { runs.into_iter().map(|r| r.period).collect() };
    assert_eq!(periods(runs(&app, "report.weekly").await), vec!["2026-W48"]);
    assert_eq!(
        periods(runs(&app, "photos.sweep").await),
        vec!["2026-12-01"]
    );
    assert_eq!(
        periods(runs(&app, "auth.purge").await),
        vec!["2026-12-01T09"]
    );
    // Another tick in the same hour runs nothing again.
    anjian_scheduler::catch_up(&ctx, "replica-b", tuesday + Duration::minutes(1)).await;
    for name in ["report.weekly", "photos.sweep", "auth.purge"] {
        let r = runs(&app, name).await;
        assert_eq!(r.len(), 1, "{name}");
        assert_eq!(r[0].runner, "replica-a", "{name}");
    }
    // Before 03:00 the day's sweep is not yet due: yesterday's is.
    let early: DateTime<Utc> = "2026-12-01T18:30:00Z".parse().unwrap(); // 02:30 on the 2nd
    anjian_scheduler::catch_up(&ctx, "replica-a", early).await;
    assert_eq!(
        periods(runs(&app, "photos.sweep").await),
        vec!["2026-12-01"]
    );
}
