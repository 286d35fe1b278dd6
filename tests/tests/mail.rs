//! The weekly report by e-mail, through a real SMTP server on loopback that
//! refuses first and accepts later: the message waits in the outbox, is
//! retried, arrives once with its workbook attached, and the workbook opens.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use anjian_scheduler::JobContext;
use anjian_tests::TestApp;
use anjian_tests::smtp::SmtpServer;
use anjian_usecases::outbox::{Delivered, Mailer, Outlets, deliver_due};
use chrono::{DateTime, Duration, Utc};

#[tokio::test]
async fn the_weekly_report_arrives_by_mail_after_the_relay_refused_it_once() {
    use calamine::Reader;
    use mail_parser::MimeHeaders;
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn().await;
    let store = app.running.as_ref().unwrap().objects.clone();
    let ctx = JobContext {
        db: app.db().clone(),
        policy: anjian_domain::DeadlinePolicy::default(),
        store: Some(store.clone()),
        lease: Duration::seconds(60),
        sweep_days: 7,
        long_overdue_days: 30,
        report_recipients: vec!["anjian-ban@luoxi.example.cn".into()],
    };
    let weekly = anjian_scheduler::table()
        .into_iter()
        .find(|j| j.name == "report.weekly")
        .unwrap();
    // Monday 5 October 2026, 09:00 office time: W40's report is due.
    let now: DateTime<Utc> = "2026-10-05T01:00:00Z".parse().unwrap();
    let ran = anjian_scheduler::run_once(&ctx, &weekly, "replica-a", now)
        .await
        .unwrap();
    assert!(ran.unwrap().starts_with("2026-W40:"));

    assert_eq!(app.count("outbox").await, 1);
    let mailer = Outlets {
        mail: Some(Mailer::new(&smtp.url(), "anjian@luoxi.example.cn").unwrap()),
        ..Outlets::default()
    };
    smtp.refuse_next(1);
    let first = deliver_due(app.db(), (&mailer, Some(&store)), "sender", now)
        .await
        .unwrap();
    assert_eq!(first, Delivered { sent: 0, failed: 1 });
    assert!(smtp.messages().is_empty());
    let (_, text) = read_metrics(&app).await;
    assert!(
        text.contains("anjian_outbox_pending{channel=\"email\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("anjian_outbox_failed_attempts{channel=\"email\"} 1"),
        "{text}"
    );
    // Not tried again before its time; then it goes.
    let early = deliver_due(
        app.db(),
        (&mailer, Some(&store)),
        "sender",
        now + Duration::seconds(30),
    )
    .await
    .unwrap();
    assert_eq!(early, Delivered::default());
    let later = deliver_due(
        app.db(),
        (&mailer, Some(&store)),
        "sender",
        now + Duration::seconds(61),
    )
    .await
    .unwrap();
    assert_eq!(later, Delivered { sent: 1, failed: 0 });
    let (_, text) = read_metrics(&app).await;
    assert!(
        text.contains("anjian_outbox_pending{channel=\"email\"} 0"),
        "{text}"
    );

    // The report made again (a retaken run, a manual run) mails nothing twice.
    let r = anjian_usecases::reports::make(
        app.db(),
        Some(&store),
        "2026-W40".parse().unwrap(),
        (&ctx.policy, now + Duration::minutes(5)),
    )
    .await
    .unwrap();
    let again = anjian_usecases::reports::mail(
        app.db(),
        &r,
        (&ctx.report_recipients, true),
        now + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(!again);
    deliver_due(
        app.db(),
        (&mailer, Some(&store)),
        "sender",
        now + Duration::hours(2),
    )
    .await
    .unwrap();
    let got = smtp.messages();
    assert_eq!(got.len(), 1);

    let m = mail_parser::MessageParser::default()
        .parse(&got[0])
        .unwrap();
    assert!(
        m.subject().unwrap().contains("2026-W40"),
        "{:?}",
        m.subject()
    );
    assert!(m.subject().unwrap().contains("周报"));
    let row = anjian_store::repo::outbox::by_key(app.db(), "report.weekly:2026-W40")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message_id(), Some(format!("{}@anjian", row.id).as_str()));
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    let html = m.body_html(0).unwrap();
    assert!(
        html.contains("企业整改完成率") && html.contains("各村情况"),
        "{html}"
    );
    let files: Vec<_> = m.attachments().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].attachment_name(),
        Some("安全生产隐患排查治理周报-2026-W40.xlsx")
    );
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(files[0].contents().to_vec())).unwrap();
    assert_eq!(wb.sheet_names()[0], "汇总");
    let villages = wb.worksheet_range("按村").unwrap();
    assert!(villages.rows().count() > 3);
}

async fn read_metrics(app: &TestApp) -> (reqwest::StatusCode, String) {
    let r = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}
