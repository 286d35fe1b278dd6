//! Scheduled jobs run once per period, on one replica at a time.

use anjian_store::entity::{job_run, login};
use anjian_tests::TestApp;
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

#[tokio::test]
async fn a_job_runs_once_per_period_on_the_lease_holder_only() {
    let app = TestApp::spawn().await;
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
    let job = anjian_scheduler::table()
        .into_iter()
        .find(|j| j.name == "auth.purge")
        .unwrap();
    let now = Utc::now();
    let first = anjian_scheduler::run_once(db, &job, "replica-a", now)
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("1 logins purged"));
    // The same period again, on this replica or another: nothing runs.
    assert_eq!(
        anjian_scheduler::run_once(db, &job, "replica-a", now)
            .await
            .unwrap(),
        None
    );
    let later = now + Duration::hours(1);
    assert_eq!(
        anjian_scheduler::run_once(db, &job, "replica-b", later)
            .await
            .unwrap(),
        None,
        "replica-b does not hold the lease"
    );
    assert!(
        anjian_scheduler::run_once(db, &job, "replica-a", later)
            .await
            .unwrap()
            .is_some()
    );
    let runs = job_run::Entity::find()
        .filter(job_run::Column::Job.eq("auth.purge"))
        .all(db.conn())
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.status == "succeeded" && r.finished_at.is_some())
    );
    // The live login was kept.
    assert_eq!(login::Entity::find().all(db.conn()).await.unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/me", &token).await.0,
        reqwest::StatusCode::OK
    );
}
