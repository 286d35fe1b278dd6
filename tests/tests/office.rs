//! The office dashboard over HTTP as a browser uses it: the staff sign-in,
//! today's figures, the review queue (a major hazard needs its plan), the
//! overdue list, extension decisions; who may open it.

use anjian_tests::TestApp;
use anjian_tests::field::{Field, create_hazard, field_on, submit};
use anjian_tests::web::Browser;
use reqwest::StatusCode;
use serde_json::json;

async fn town() -> Field {
    let f = field_on(TestApp::spawn().await).await;
    f.app
        .create_user(
            &f.admin,
            json!({"username": "office_w", "display_name": "安监办 王敏", "role": "office", "password": "office-password-1"}),
        )
        .await;
    f.app
        .create_user(
            &f.admin,
            json!({"username": "ent_w", "display_name": "安全员", "role": "enterprise",
                "enterprise_id": f.ents[0][0]["id"], "password": "enterprise-pass-1"}),
        )
        .await;
    f
}

#[tokio::test]
async fn the_office_reviews_closes_and_decides_from_its_dashboard() {
    let f = town().await;
    let mut insp = f.inspector("office_insp", 0).await;
    let general = create_hazard(&f, &mut insp, "general").await;
    let general = general["id"].as_str().unwrap();
    let major = create_hazard(&f, &mut insp, "major").await;
    let major = major["id"].as_str().unwrap();
    submit(&f, general).await;
    submit(&f, major).await;

    let mut b = Browser::new(&f.app);
    // Enterprise accounts are sent away from the dashboard.
    let mut e = Browser::new(&f.app);
    let p = e.get("/office").await;
    assert!(p.location.unwrap().starts_with("/office/login"));
    let form = e.get("/office/login").await;
    let csrf = form.csrf();
    let p = e
        .post(
            "/office/login",
            &[
                ("csrf", &csrf),
                ("username", "ent_w"),
                ("password", "enterprise-pass-1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(
        p.body.contains("工作台仅供安监办和管理员使用"),
        "{}",
        p.body
    );

    let form = b.get("/office/login").await;
    let csrf = form.csrf();
    let p = b
        .post(
            "/office/login",
            &[
                ("csrf", &csrf),
                ("username", "office_w"),
                ("password", "office-password-1"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/office"), "{}", p.body);
    let home = b.get("/office").await;
    assert_eq!(home.status, StatusCode::OK);
    for want in [
        "今日数据",
        "待复查",
        "隐患整改率",
        "各村（社区）进度",
        "合计",
        "<svg",
    ] {
        assert!(home.body.contains(want), "{want}");
    }
    // The queue lists both; the major one shows its (missing) plan.
    let queue = b.get("/office/reviews").await;
    assert!(queue.body.contains("待复查 (2)"), "{}", queue.body);
    assert!(queue.body.contains("方案尚不完整"));
    let csrf = queue.csrf();
    // Accepting the major hazard without a plan: refused, said why.
    let p = b
        .post(
            &format!("/office/hazards/{major}/review"),
            &[("csrf", &csrf), ("decision", "accept"), ("comment", "")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("当前状态不允许此操作"), "{}", p.body);
    // Rejecting needs a comment; with one it goes back to the enterprise.
    let p = b
        .post(
            &format!("/office/hazards/{major}/review"),
            &[("csrf", &csrf), ("decision", "reject"), ("comment", "")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = b
        .post(
            &format!("/office/hazards/{major}/review"),
            &[
                ("csrf", &csrf),
                ("decision", "reject"),
                ("comment", "请补充治理方案"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // The general one is closed.
    let p = b
        .post(
            &format!("/office/hazards/{general}/review"),
            &[
                ("csrf", &csrf),
                ("decision", "accept"),
                ("comment", "现场复查合格"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/office/reviews?done=reviewed"));
    let queue = b.get("/office/reviews?done=reviewed").await;
    assert!(queue.body.contains("复查结果已保存") && queue.body.contains("待复查 (0)"));
    let (_, h) = f
        .app
        .get(&format!("/api/v1/hazards/{general}"), &f.admin)
        .await;
    assert_eq!(h["status"], "closed");
    let (_, h) = f
        .app
        .get(&format!("/api/v1/hazards/{major}"), &f.admin)
        .await;
    assert_eq!(h["status"], "open");
    // A forged token changes nothing.
    let p = b
        .post(
            &format!("/office/hazards/{major}/review"),
            &[("csrf", "forged"), ("decision", "accept")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // An extension request, decided from the dashboard.
    let ent = f.app.login("ent_w", "enterprise-pass-1").await;
    let until = (h["deadline"]
        .as_str()
        .unwrap()
        .parse::<chrono::NaiveDate>()
        .unwrap()
        + chrono::Days::new(30))
    .to_string();
    let (s, x) = f
        .app
        .post(
            &format!("/api/v1/hazards/{major}/extension-requests"),
            &ent,
            json!({"requested_deadline": until, "reason": "防火门厂家供货延迟"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{x}");
    let list = b.get("/office/extensions").await;
    assert!(list.body.contains("防火门厂家供货延迟") && list.body.contains(&until));
    let p = b
        .post(
            &format!("/office/extensions/{}/decision", x["id"].as_str().unwrap()),
            &[
                ("csrf", &csrf),
                ("decision", "approve"),
                ("comment", "同意"),
            ],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/office/extensions?done=decided")
    );
    let (_, h) = f
        .app
        .get(&format!("/api/v1/hazards/{major}"), &f.admin)
        .await;
    assert_eq!(h["deadline"], until.as_str());
    // Deciding again: the page says it can't.
    let p = b
        .post(
            &format!("/office/extensions/{}/decision", x["id"].as_str().unwrap()),
            &[("csrf", &csrf), ("decision", "deny")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    // Figures: one closed this year, all of it on time.
    let home = b.get("/office").await;
    assert!(home.body.contains("按期整改销号"));
}

#[tokio::test]
async fn the_overdue_list_sorts_by_days_overdue() {
    let f = town().await;
    let mut insp = f.inspector("overdue_insp", 0).await;
    for (found, deadline) in [
        ("2026-10-01T02:00:00Z", "2026-10-16"),
        ("2026-09-01T02:00:00Z", "2026-09-16"),
    ] {
        let mut h = anjian_tests::field::hazard(&f.ents[0][1], "general");
        h["found_at"] = json!(found);
        h["deadline"] = json!(deadline);
        h["title"] = json!(format!("逾期隐患{deadline}"));
        let m = insp.mutation("hazard.create", None, h);
        let (_, r) = f.app.push(&insp, vec![m]).await;
        assert_eq!(r["results"][0]["status"], "applied", "{r}");
    }
    let mut b = Browser::new(&f.app);
    let form = b.get("/office/login").await;
    let csrf = form.csrf();
    b.post(
        "/office/login",
        &[
            ("csrf", &csrf),
            ("username", "office_w"),
            ("password", "office-password-1"),
        ],
    )
    .await;
    let p = b.get("/office/overdue").await;
    assert_eq!(p.status, StatusCode::OK);
    let (a, c) = (
        p.body.find("逾期隐患2026-09-16").unwrap(),
        p.body.find("逾期隐患2026-10-16").unwrap(),
    );
    assert!(a < c, "most overdue first");
    let p = b.get("/office/overdue?sort=asc").await;
    let (a, c) = (
        p.body.find("逾期隐患2026-09-16").unwrap(),
        p.body.find("逾期隐患2026-10-16").unwrap(),
    );
    assert!(a > c, "least overdue first");
}

#[tokio::test]
async fn the_office_finds_an_enterprise_and_reads_its_inspections_hazards_and_photos() {
    let f = town().await;
    let mut insp = f.inspector("file_insp", 0).await;
    let e = &f.ents[0][0];
    let (_, t) = f.app.get("/api/v1/templates", &f.admin).await;
    let tpl = &t["items"][0];
    let inspection = uuid::Uuid::now_v7();
    let mut h = anjian_tests::field::hazard(e, "general");
    h["inspection_id"] = json!(inspection);
    h["title"] = json!("配电箱前堆放杂物");
    let batch = vec![
        insp.mutation("inspection.create", None, json!({"id": inspection, "enterprise_id": e["id"], "template_id": tpl["id"],
            "started_at": "2026-11-27T01:00:00Z", "finished_at": "2026-11-27T02:30:00Z",
            "results": [{"item_code": tpl["items"][0]["code"], "outcome": "fail", "note": "见隐患"}], "summary": "发现一般隐患1项"})),
        insp.mutation("hazard.create", None, h.clone()),
    ];
    let (_, b) = f.app.push(&insp, batch).await;
    assert_eq!(b["results"][1]["status"], "applied", "{b}");
    let hazard = h["id"].as_str().unwrap();
    submit(&f, hazard).await;

    let mut b = Browser::new(&f.app);
    let p = b
        .sign_in_to("/office", "office_w", "office-password-1")
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = b.get("/office/enterprises").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("输入企业名称或信用代码查找企业"),
        "{}",
        p.body
    );

    // By name, by credit code (any case), and not in another village.
    let name = e["name"].as_str().unwrap();
    let id = e["id"].as_str().unwrap();
    // (The client percent-encodes the query.)
    let by = |q: &str| format!("/office/enterprises?q={q}");
    let p = b.get(&by(name)).await;
    assert!(
        p.body.contains(&format!("/office/enterprises/{id}")),
        "{}",
        p.body
    );
    let code = e["credit_code"].as_str().unwrap().to_lowercase();
    let p = b.get(&by(&code)).await;
    assert!(
        p.body.contains(&format!("/office/enterprises/{id}")),
        "{}",
        p.body
    );
    let p = b
        .get(&format!("{}&village={}", by(name), f.villages[1]))
        .await;
    assert!(p.body.contains("找到 0 家企业"), "{}", p.body);
    assert!(!p.body.contains(&format!("/office/enterprises/{id}")));

    // The file: roster entry, the hazard, the inspection, the photos.
    let p = b.get(&format!("/office/enterprises/{id}")).await;
    assert_eq!(p.status, StatusCode::OK);
    for want in [
        e["credit_code"].as_str().unwrap(),
        "配电箱前堆放杂物",
        "检查记录 (1)",
        "合格 0 · 不合格 1 · 不适用 0",
        "发现一般隐患1项",
        "待复查",
        "照片 (1)",
        &format!("/office/hazards/{hazard}"),
    ] {
        assert!(p.body.contains(want), "{want} missing from {}", p.body);
    }

    // The hazard's page, read only, back to the file and on to the queue.
    let p = b.get(&format!("/office/hazards/{hazard}")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("配电箱前堆放杂物"));
    assert!(
        p.body
            .contains(&format!("href=\"/office/enterprises/{id}\""))
    );
    assert!(p.body.contains("href=\"/office/reviews\""));
    assert!(!p.body.contains("/rectify"), "no enterprise form here");
    assert!(!p.body.contains("/portal/photos/"));

    // Unknown records are not found.
    for path in [
        format!("/office/enterprises/{}", uuid::Uuid::now_v7()),
        "/office/enterprises/nonsense".to_owned(),
        format!("/office/hazards/{}", uuid::Uuid::now_v7()),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_office_finds_the_weekly_reports_and_their_files_in_its_archive() {
    let f = town().await;
    let mut b = Browser::new(&f.app);
    b.sign_in_to("/office", "office_w", "office-password-1")
        .await;
    let p = b.get("/office/reports").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("尚无周报"), "{}", p.body);
    let (s, _) = f
        .app
        .post(
            "/api/v1/reports/weekly/2026-W40/generate",
            &f.admin,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let p = b.get("/office/reports").await;
    assert!(p.body.contains("2026-W40"), "{}", p.body);
    assert!(p.body.contains("href=\"/office/reports/2026-W40.xlsx\""));
    let csv = b.get("/office/reports/2026-W40.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("村（社区）,在册企业"), "{}", csv.body);
    assert!(csv.body.contains("\n合计,"));
    assert_eq!(
        b.get("/office/reports/2026-W40.xlsx").await.status,
        StatusCode::OK
    );
    for missing in [
        "/office/reports/2026-W41.xlsx",
        "/office/reports/2026-W40.pdf",
        "/office/reports/x",
    ] {
        assert_eq!(
            b.get(missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}
