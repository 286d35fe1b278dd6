//! The demo history of `anjian serve --demo`: the town's proportions, made
//! through the use cases at the generator's clock, and made only once.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::sync::Arc;

use anjian::StartOptions;
use anjian_domain::{DeadlinePolicy, FixedClock};
use anjian_tests::TestApp;
use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

fn options(clock: &Arc<FixedClock>) -> StartOptions {
    StartOptions {
        demo: true,
        demo_history: true,
        clock: Some(clock.clone()),
        ..StartOptions::default()
    }
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let db = app.db();
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn a_year_of_history_in_the_towns_proportions_is_made_once() {
    // 2026-11-30 10:00 in the office time zone.
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
    let clock = Arc::new(FixedClock::at(now));
    let mut app = TestApp::spawn_with(options(&clock)).await;
    let made = app
        .running
        .as_ref()
        .unwrap()
        .demo_history
        .clone()
        .expect("the first --demo start makes the history");
    assert!(made.inspections > 3152 + 2000, "{made:?}");
    assert!(made.hazards > 500, "{made:?}");
    assert!(made.rectifications > 400 && made.reviews > 400, "{made:?}");
    assert!(
        made.extensions > 0 && made.plans > 0 && made.cancellations > 0,
        "{made:?}"
    );

    // The town's figures: every enterprise on the roster inspected this year,
    // 108 problem enterprises, 99 of them (92%) rectified.
    let year_start = "2025-12-28 16:00:00";
    let inspected = scalar(
        &app,
        &format!(
            "SELECT COUNT(DISTINCT enterprise_id) AS n FROM inspections WHERE finished_at >= '{year_start}'"
        ),
    )
    .await;
    assert_eq!(inspected, 3152);
    let office = anjian_store::repo::users::find_by_username(app.db().conn(), "office")
        .await
        .unwrap()
        .unwrap();
    let policy = DeadlinePolicy::default();
    let f = anjian_usecases::dashboard::figures(app.db(), &office, (&policy, now))
        .await
        .unwrap();
    let t = &f.total;
    assert_eq!(t.problem_enterprises_ytd, 108, "{t:?}");
    assert_eq!(t.problem_enterprises_rectified_ytd, 99, "{t:?}");
    assert!(
        (t.enterprise_completion_rate - 0.9167).abs() < 0.001,
        "{t:?}"
    );
    assert!(
        t.overdue >= 6 && t.major_open >= 2 && t.submitted >= 2,
        "{t:?}"
    );
    assert!(
        t.closed_on_time_ytd > 0 && t.closed_on_time_ytd < t.closed_ytd,
        "{t:?}"
    );
    assert!(
        f.weeks
            .iter()
            .any(|(_, found, closed)| *found > 0 && *closed > 0)
    );
    // Last week's report counts the same town: as the server knew it at
    // W48's cut-off (this morning 08:00), every hazard command was in.
    let store = app.running.as_ref().unwrap().objects.clone();
    let t0 = std::time::Instant::now();
    let (w48, provisional) =
        anjian_usecases::reports::figures(app.db(), "2026-W48".parse().unwrap(), (&policy, now))
            .await
            .unwrap();
    let figures_ms = t0.elapsed().as_millis();
    let t0 = std::time::Instant::now();
    let made = anjian_usecases::reports::make(
        app.db(),
        Some(&store),
        "2026-W48".parse().unwrap(),
        (&policy, now),
    )
    .await
    .unwrap();
    eprintln!(
        "W48 report over the demo history: figures {figures_ms} ms, with both files {} ms (debug build): {}",
        t0.elapsed().as_millis(),
        serde_json::to_string(&made.figures.counters).unwrap()
    );
    assert!(!provisional);
    let c = &w48.counters;
    // The operating ones (the roster has suspended and closed enterprises too).
    assert!(c.enterprises_total.unwrap_or(0) > 2900, "{c:?}");
    assert_eq!(
        (
            c.problem_enterprises_ytd,
            c.problem_enterprises_rectified_ytd
        ),
        (108, 99),
        "{c:?}"
    );
    assert_eq!(c.enterprises_inspected_ytd, Some(3152), "{c:?}");
    // Up to Sunday's end; the dashboard counts this morning too.
    assert!(t.found_ytd - c.hazards_found_ytd <= 2, "{c:?} {t:?}");
    assert!(t.closed_ytd - c.hazards_closed_ytd <= 2, "{c:?} {t:?}");
    assert!(c.hazards_overdue >= 6 && !w48.overdue.is_empty(), "{c:?}");
    assert_eq!(w48.by_village.len(), f.villages.len());
    assert!(!w48.by_campaign.is_empty());

    let pending = anjian_usecases::records::pending_extensions(app.db(), &office)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);

    // Every photo the history lists was ingested and is at least verified.
    let unverified = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM photos WHERE status NOT IN ('verified', 'processed')",
    )
    .await;
    assert_eq!(unverified, 0);

    // The first demo account's enterprise has a history to show in the portal.
    let ent = app
        .login("ent01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    let hazards = app.all("/api/v1/hazards", &ent).await;
    let status = |s: &str| hazards.iter().filter(|h| h["status"] == s).count();
    assert!(status("closed") >= 1, "{hazards:?}");
    assert!(status("open") >= 2, "{hazards:?}");
    assert!(hazards.iter().any(|h| h["overdue"] == true));
    assert!(
        hazards
            .iter()
            .any(|h| h["severity"] == "major" && h["status"] == "open")
    );
    let (s, _) = app
        .get(
            &format!("/api/v1/hazards/{}", hazards[0]["id"].as_str().unwrap()),
            &ent,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // A second start leaves the history as it is.
    let before = app.count("hazards").await;
    clock.set(now + chrono::Duration::days(1));
    app.restart(options(&clock)).await;
    assert!(app.running.as_ref().unwrap().demo_history.is_none());
    assert_eq!(app.count("hazards").await, before);
}
