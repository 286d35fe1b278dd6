//! Told without asking (api.md "Notifications"): reminders 3 days and 1 day
//! before a deadline, the overdue notice the day after it (not on it), the
//! escalation of a major or long-overdue hazard to the office; each once,
//! however often the jobs run; everyone reads only its own.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::sync::Arc;

use anjian_domain::{DeadlinePolicy, FixedClock};
use anjian_tests::TestApp;
use anjian_tests::field::{field_on, hazard};
use anjian_usecases::notices::{Swept, overdue_sweep, reminders};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn at(s: &str) -> DateTime<Utc> {
    // Office time 09:00 of the day.
    format!("{s}T01:00:00Z").parse().unwrap()
}

#[tokio::test]
async fn reminders_overdue_notices_and_escalation_come_once_each() {
    let clock = FixedClock::at(at("2026-12-01"));
    let app = TestApp::spawn_with(anjian::StartOptions {
        clock: Some(Arc::new(clock.clone())),
        ..anjian::StartOptions::default()
    })
    .await;
    let f = field_on(app).await;
    let mut insp = f.inspector("insp_n", 0).await;
    let office = f.office("office_n").await.token;
    f.app
        .create_user(
            &f.admin,
            json!({"username": "ent_n", "display_name": "安全员", "role": "enterprise",
                "enterprise_id": f.ents[0][0]["id"], "password": "enterprise-pass-1"}),
        )
        .await;
    let ent = f.app.login("ent_n", "enterprise-pass-1").await;
    let mut ids = Vec::new();
    for severity in ["general", "major"] {
        let mut h = hazard(&f.ents[0][0], severity);
        h["found_at"] = json!("2026-11-30T02:00:00Z");
        h["deadline"] = json!("2026-12-10");
        let m = insp.mutation("hazard.create", None, h.clone());
        let (_, b) = f.app.push(&insp, vec![m]).await;
        assert_eq!(b["results"][0]["status"], "applied", "{b}");
        ids.push(h["id"].as_str().unwrap().to_owned());
    }
    let db = f.app.db();
    let policy = DeadlinePolicy::default();
    // Three days before: the enterprise and the inspector, for each hazard.
    assert_eq!(reminders(db, &policy, at("2026-12-06")).await.unwrap(), 0);
    assert_eq!(reminders(db, &policy, at("2026-12-07")).await.unwrap(), 4);
    assert_eq!(reminders(db, &policy, at("2026-12-07")).await.unwrap(), 0);
    assert_eq!(reminders(db, &policy, at("2026-12-09")).await.unwrap(), 4);
    // On the deadline nothing is overdue; the day after, both are, and the
    // major one goes to the office.
    assert_eq!(
        overdue_sweep(db, (&policy, 30), at("2026-12-10"))
            .await
            .unwrap(),
        Swept::default()
    );
    let s = overdue_sweep(db, (&policy, 30), at("2026-12-11"))
        .await
        .unwrap();
    assert_eq!((s.overdue, s.escalated, s.written), (2, 1, 4 + 1));
    let again = overdue_sweep(db, (&policy, 30), at("2026-12-11"))
        .await
        .unwrap();
    assert_eq!((again.overdue, again.written), (2, 0));
    // Thirty days overdue, the general one is escalated too.
    let s = overdue_sweep(db, (&policy, 30), at("2027-01-09"))
        .await
        .unwrap();
    assert_eq!((s.escalated, s.written), (2, 1));

    // Each reads its own.
    let mine = f.app.all("/api/v1/notifications", &ent).await;
    let kinds = |items: &[Value]| {
        let mut k: Vec<String> = items
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        kinds(&mine),
        [
            "overdue", "overdue", "reminder", "reminder", "reminder", "reminder"
        ]
    );
    assert!(
        mine.iter()
            .all(|n| n["entity_type"] == "hazard" && n["read_at"].is_null())
    );
    assert!(
        mine[0]["title"].as_str().unwrap().contains("隐患已逾期"),
        "{mine:?}"
    );
    let theirs = f.app.all("/api/v1/notifications", &office).await;
    assert_eq!(kinds(&theirs), ["escalated", "escalated"]);
    let id = mine[0]["id"].as_str().unwrap();
    let (s, b) = f
        .app
        .post(
            &format!("/api/v1/notifications/{id}/read"),
            &office,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = f
        .app
        .post(&format!("/api/v1/notifications/{id}/read"), &ent, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(!b["read_at"].is_null());
    let _ = ids;
}
