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

/// The webhook's secret in the test below.
const HOOK_SECRET: &str = "gateway-shared-secret-123";

/// Checks a webhook call as a gateway would, with its own HMAC: the
/// signature over the timestamp and the body; the delivery id.
fn verify(call: &anjian_tests::webhook::Call) -> (uuid::Uuid, i64, Value) {
    use hmac::Mac;
    let ts: i64 = call.header("x-anjian-timestamp").parse().unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&call.body);
    let sig = call
        .header("x-anjian-signature")
        .strip_prefix("sha256=")
        .unwrap();
    assert!(
        mac.verify_slice(&hex::decode(sig).unwrap()).is_ok(),
        "the signature is the HMAC of the timestamp and the body"
    );
    assert_eq!(call.header("content-type"), "application/json");
    (
        call.header("x-anjian-delivery").parse().unwrap(),
        ts,
        serde_json::from_slice(&call.body).unwrap(),
    )
}

#[tokio::test]
async fn verdicts_and_decisions_reach_the_enterprise_in_app_by_mail_and_by_signed_webhook() {
    use anjian_tests::smtp::SmtpServer;
    use anjian_tests::webhook::WebhookReceiver;
    use anjian_usecases::outbox::{Delivered, Mailer, Outlets, Webhook, deliver_due};

    let smtp = SmtpServer::start().await;
    let hook = WebhookReceiver::start().await;
    let f = anjian_tests::field::field().await;
    let mut insp = f.inspector("insp_v", 0).await;
    let office = f.office("office_v").await.token;
    f.app
        .create_user(
            &f.admin,
            json!({"username": "ent_v", "display_name": "王安全", "role": "enterprise",
                "enterprise_id": f.ents[0][0]["id"], "password": "enterprise-pass-1",
                "email": "anquan@qiye.example.cn", "phone": "13812345678"}),
        )
        .await;
    let ent = f.app.login("ent_v", "enterprise-pass-1").await;
    // A second account of the enterprise, disabled after the notices are
    // written and before they go out: it gets no mail.
    let second = f
        .app
        .create_user(
            &f.admin,
            json!({"username": "ent_w", "display_name": "李安全", "role": "enterprise",
                "enterprise_id": f.ents[0][0]["id"], "password": "enterprise-pass-2",
                "email": "second@qiye.example.cn"}),
        )
        .await;
    let h = anjian_tests::field::create_hazard(&f, &mut insp, "general").await;
    let id = h["id"].as_str().unwrap();
    let photo = f
        .app
        .upload_photo(&ent, &anjian_tests::corpus::plain_jpeg(23, 14))
        .await;
    let (s, b) = f
        .app
        .post(
            &format!("/api/v1/hazards/{id}/rectifications"),
            &ent,
            json!({"description": "已清理通道杂物", "photo_ids": [photo]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The inspector who found it is told it waits for review.
    let told = f.app.all("/api/v1/notifications", &insp.token).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["kind"], "submitted");
    let (s, b) = f
        .app
        .post(
            &format!("/api/v1/hazards/{id}/review"),
            &office,
            json!({"decision": "reject", "comment": "照片看不清通道"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let deadline: chrono::NaiveDate = b["deadline"].as_str().unwrap().parse().unwrap();
    let until = deadline + chrono::Days::new(10);
    let (s, x) = f
        .app
        .post(
            &format!("/api/v1/hazards/{id}/extension-requests"),
            &ent,
            json!({"requested_deadline": until, "reason": "防火门厂家供货延迟"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{x}");
    let (s, b) = f
        .app
        .post(
            &format!(
                "/api/v1/extension-requests/{}/decision",
                x["id"].as_str().unwrap()
            ),
            &office,
            json!({"decision": "approve", "comment": "同意延期"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mine = f.app.all("/api/v1/notifications", &ent).await;
    let mut kinds: Vec<&str> = mine.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["extension", "verdict"]);
    let verdict = mine.iter().find(|n| n["kind"] == "verdict").unwrap();
    assert!(
        verdict["title"]
            .as_str()
            .unwrap()
            .contains("整改未通过复查")
            && verdict["body"].as_str().unwrap().contains("照片看不清通道"),
        "{verdict}"
    );
    let decision = mine.iter().find(|n| n["kind"] == "extension").unwrap();
    assert!(
        decision["body"]
            .as_str()
            .unwrap()
            .contains(&until.to_string()),
        "{decision}"
    );
    // The office made the decisions: it is not told of its own.
    assert!(f.app.all("/api/v1/notifications", &office).await.is_empty());
    let (s, b) = f
        .app
        .patch(
            &format!("/api/v1/users/{second}"),
            &f.admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Out by mail (the enterprise has an address; the inspector has none)
    // and by webhook (every notice), the gateway down at first.
    let outlets = Outlets {
        mail: Some(Mailer::new(&smtp.url(), "anjian@luoxi.example.cn").unwrap()),
        webhook: Some(Webhook::new(&hook.url(), HOOK_SECRET).unwrap()),
        public_url: f.app.url.clone(),
    };
    hook.refuse_next(1);
    let now = Utc::now();
    let db = f.app.db();
    let first = deliver_due(db, (&outlets, None), "sender", now)
        .await
        .unwrap();
    assert_eq!(first, Delivered { sent: 4, failed: 1 });
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    for raw in &mails {
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        assert_eq!(
            m.to().unwrap().first().unwrap().address(),
            Some("anquan@qiye.example.cn")
        );
        let subject = m.subject().unwrap();
        assert!(
            subject.contains("整改未通过复查") || subject.contains("延期申请已批准"),
            "{subject}"
        );
        let html = m.body_html(0).unwrap();
        assert!(html.contains(&format!("/portal/hazards/{id}")), "{html}");
        assert_eq!(m.attachments().count(), 0);
        let key = m
            .message_id()
            .unwrap()
            .trim_end_matches("@anjian")
            .to_owned();
        let row = anjian_store::repo::outbox::by_key(
            db,
            &format!(
                "email:notice:{}",
                mine.iter()
                    .find(|n| n["title"].as_str() == Some(subject))
                    .unwrap()["id"]
                    .as_str()
                    .unwrap()
            ),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(row.id.to_string(), key);
    }
    let calls = hook.calls();
    assert_eq!(calls.len(), 3);
    let refused = calls.iter().find(|c| !c.accepted).unwrap();
    let (refused_delivery, ts, _) = verify(refused);
    // Stamped as it went: the pass's time and what the pass took so far.
    assert!((0..=2).contains(&(ts - now.timestamp())), "{ts}");
    let mut ent_user = None;
    for c in &calls {
        let (delivery, _, body) = verify(c);
        let n = &body["notification"];
        let row = anjian_store::repo::outbox::by_key(
            db,
            &format!("webhook:notice:{}", n["id"].as_str().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(row.id, delivery);
        if body["recipient"]["username"] == "ent_v" {
            assert_eq!(body["recipient"]["phone"], "13812345678");
            assert_eq!(body["recipient"]["role"], "enterprise");
            assert_eq!(n["entity_id"], id);
            ent_user = body["recipient"]["user_id"]
                .as_str()
                .map(|u| u.parse().unwrap());
        }
    }
    // Not before its time; then the same delivery again, signed anew.
    let early = deliver_due(
        db,
        (&outlets, None),
        "sender",
        now + chrono::Duration::seconds(30),
    )
    .await
    .unwrap();
    assert_eq!(early, Delivered::default());
    let later = now + chrono::Duration::seconds(61);
    let second = deliver_due(db, (&outlets, None), "sender", later)
        .await
        .unwrap();
    assert_eq!(second, Delivered { sent: 1, failed: 0 });
    let calls = hook.calls();
    assert_eq!(calls.len(), 4);
    let (delivery, ts, _) = verify(&calls[3]);
    assert_eq!(delivery, refused_delivery);
    assert!((0..=2).contains(&(ts - later.timestamp())), "{ts}");
    // Nothing twice.
    let again = deliver_due(
        db,
        (&outlets, None),
        "sender",
        later + chrono::Duration::hours(2),
    )
    .await
    .unwrap();
    assert_eq!(again, Delivered::default());
    assert_eq!(f.app.count("outbox").await, 5);

    // A notice more than a day old when first handed on stays in-app.
    let old = anjian_store::entity::notification::Model {
        id: uuid::Uuid::now_v7(),
        user_id: ent_user.unwrap(),
        kind: "reminder".into(),
        title: "整改期限提醒".into(),
        body: "旧提醒".into(),
        entity_type: None,
        entity_id: None,
        dedupe_key: Some("old-reminder".into()),
        created_at: later - chrono::Duration::days(2),
        read_at: None,
        dispatched_at: None,
    };
    anjian_store::repo::notifications::add(db, vec![old])
        .await
        .unwrap();
    let stale = deliver_due(db, (&outlets, None), "sender", later)
        .await
        .unwrap();
    assert_eq!(stale, Delivered::default());
    assert_eq!(f.app.count("outbox").await, 5);
    assert_eq!(f.app.all("/api/v1/notifications", &ent).await.len(), 3);
}
