//! The portal and the dashboard in a real browser: Debian's headless
//! Chromium driven through chromedriver (WebDriver). A fresh machine may have
//! neither, so these tests are ignored under plain `cargo test`; `.ci/run`
//! installs `chromium`, `chromium-driver` and `fonts-noto-cjk` and runs them
//! with `--include-ignored`. Screenshots of each main page at phone and
//! desktop width are written to `target/screenshots/`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anjian_tests::TestApp;
use anjian_tests::corpus::plain_jpeg;
use anjian_tests::field::{create_hazard, field_on, hazard};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);

/// Where the run's files go: `target/` of the workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A chromedriver on a free port, stopped (with every browser it started)
/// when dropped.
struct Driver {
    child: Child,
    port: u16,
    /// Chromium's profiles, removed with the driver. (Not under `target/`:
    /// Chromium does not start with its profile on some overlay file systems.)
    _profiles: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let profiles = tempfile::Builder::new()
            .prefix("anjian-chromium")
            .tempdir_in("/tmp")
            .unwrap();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TMPDIR", profiles.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect(
                "chromedriver (Debian: apt-get install chromium chromium-driver fonts-noto-cjk)",
            );
        Driver {
            child,
            port,
            _profiles: profiles,
        }
    }

    /// A headless browser window of `size`.
    async fn browser(&self, (w, h): (u32, u32)) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/lib/chromium/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--hide-scrollbars", "--lang=zh-CN", format!("--window-size={w},{h}")],
                "prefs": {"intl.accept_languages": "zh-CN,zh"},
            }),
        );
        // chromedriver takes a moment to listen.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let url = format!("http://127.0.0.1:{}", self.port);
        let connect = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await;
        connect.unwrap_or_else(|e| panic!("chromedriver did not start a browser: {e:?}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium it started.
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &pgid])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves a screenshot of the page as `target/screenshots/<name>.png`.
async fn shot(c: &Client, name: &str) {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The text of the page ("" while it is being replaced by the next one).
async fn text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the page's text contains `want`.
async fn wait_text(c: &Client, want: &str) {
    for _ in 0..100 {
        if text(c).await.contains(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "`{want}` never appeared on {}: {}",
        c.current_url().await.unwrap(),
        text(c).await
    );
}

async fn sign_in(c: &Client, base: &str, realm: &str, user: &str, pw: &str) {
    c.goto(&format!("{base}/{realm}/login")).await.unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(pw)
        .await
        .unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver (installed by .ci/run)"]
async fn an_overdue_hazard_is_rectified_in_the_portal_and_closed_from_the_dashboard() {
    let f = field_on(TestApp::spawn().await).await;
    let base = f.app.url.clone();
    let mut ent_user = String::new();
    for (name, e) in [("web_ent", &f.ents[0][0]), ("web_other", &f.ents[1][0])] {
        let id = f
            .app
            .create_user(
                &f.admin,
                json!({"username": name, "display_name": "企业安全员 李娜", "role": "enterprise",
                "enterprise_id": e["id"], "password": "enterprise-pass-1"}),
            )
            .await;
        if name == "web_ent" {
            ent_user = id;
        }
    }
    f.app
        .create_user(
            &f.admin,
            json!({"username": "web_office", "display_name": "安监办 王敏", "role": "office",
            "password": "office-password-1"}),
        )
        .await;
    let mut insp = f.inspector("web_insp", 0).await;
    let mut overdue = hazard(&f.ents[0][0], "general");
    overdue["title"] = json!("消防通道被货物堵塞");
    overdue["found_at"] = json!("2026-10-01T02:00:00Z");
    overdue["deadline"] = json!("2026-10-16");
    let m = insp.mutation("hazard.create", None, overdue.clone());
    let (_, r) = f.app.push(&insp, vec![m]).await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let overdue_id = overdue["id"].as_str().unwrap().to_owned();
    let major = create_hazard(&f, &mut insp, "major").await;
    let major_id = major["id"].as_str().unwrap().to_owned();
    let mut other_insp = f.inspector("web_insp_b", 1).await;
    let theirs = hazard(&f.ents[1][0], "general");
    let m = other_insp.mutation("hazard.create", None, theirs.clone());
    f.app.push(&other_insp, vec![m]).await;

    let driver = Driver::start();
    let ent = driver.browser(PHONE).await;
    let office = driver.browser(DESKTOP).await;
    // Declared after the browsers, so dropped before them: a failing test
    // stops chromedriver (and every Chromium) first and ends at once.
    let _driver = driver;
    // The landing page leads to the portal.
    ent.goto(&base).await.unwrap();
    shot(&ent, "landing-phone").await;
    ent.find(Locator::Css("a[href='/portal']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&ent, "登录").await;
    shot(&ent, "portal-login-phone").await;
    sign_in(&ent, &base, "portal", "web_ent", "enterprise-pass-1").await;
    wait_text(&ent, "本企业隐患").await;
    assert!(text(&ent).await.contains("逾期"), "the overdue badge");
    shot(&ent, "portal-hazards-phone").await;
    // The overdue hazard: upload an after-photo, describe, submit.
    ent.find(Locator::Css(&format!(
        "a[href='/portal/hazards/{overdue_id}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&ent, "消防通道被货物堵塞").await;
    shot(&ent, "portal-hazard-phone").await;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("after.jpg");
    std::fs::write(&photo, plain_jpeg(320, 240)).unwrap();
    ent.find(Locator::Id("description"))
        .await
        .unwrap()
        .send_keys("已清空消防通道，货物移至仓库")
        .await
        .unwrap();
    ent.find(Locator::Id("photos"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    ent.find(Locator::Css("form[action$='/rectify'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&ent, "整改已提交，等待复查").await;
    shot(&ent, "portal-submitted-phone").await;

    // The major hazard, rectified through the API, waits for its plan.
    let ent_token = f.app.login("web_ent", "enterprise-pass-1").await;
    let p = f.app.upload_photo(&ent_token, &plain_jpeg(64, 48)).await;
    let (s, b) = f
        .app
        .post(
            &format!("/api/v1/hazards/{major_id}/rectifications"),
            &ent_token,
            json!({"description": "更换配电箱", "photo_ids": [p]}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{b}");

    // The office accepts the overdue one; the major one needs its plan.
    sign_in(&office, &base, "office", "web_office", "office-password-1").await;
    wait_text(&office, "今日数据").await;
    shot(&office, "office-overview-desktop").await;
    office
        .goto(&format!("{base}/office/overdue"))
        .await
        .unwrap();
    wait_text(&office, "逾期天数").await;
    shot(&office, "office-overdue-desktop").await;
    office
        .goto(&format!("{base}/office/reviews"))
        .await
        .unwrap();
    wait_text(&office, "消防通道被货物堵塞").await;
    shot(&office, "office-reviews-desktop").await;
    let accept = |id: &str| format!("#h-{id} button[value=accept]");
    office
        .find(Locator::Css(&accept(&major_id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&office, "当前状态不允许此操作").await;
    office
        .find(Locator::Css(&accept(&overdue_id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&office, "复查结果已保存").await;
    let plan = json!({"objectives": "消除配电箱隐患", "measures": "更换配电箱", "funding": "8000元",
        "organisation": "总经理负责", "timeline": "一个月内", "safety_measures": "停电作业，专人监护"});
    let resp = f
        .app
        .send(
            f.app
                .req(
                    reqwest::Method::PUT,
                    &format!("/api/v1/hazards/{major_id}/plan"),
                    Some(&ent_token),
                )
                .json(&plan),
        )
        .await;
    assert_eq!(resp.0.as_u16(), 200, "{}", resp.1);
    office
        .goto(&format!("{base}/office/reviews"))
        .await
        .unwrap();
    wait_text(&office, "方案六项已齐全").await;
    office
        .find(Locator::Css(&accept(&major_id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&office, "复查结果已保存").await;

    // The enterprise sees both closed.
    ent.goto(&format!("{base}/portal/hazards?status=closed"))
        .await
        .unwrap();
    wait_text(&ent, "消防通道被货物堵塞").await;
    assert!(
        text(&ent).await.contains("已销号 (2)"),
        "{}",
        text(&ent).await
    );
    // Another enterprise's hazard: not found.
    ent.goto(&format!(
        "{base}/portal/hazards/{}",
        theirs["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    wait_text(&ent, "记录不存在").await;

    // A form without its CSRF token is refused.
    let mut fresh = hazard(&f.ents[0][0], "general");
    fresh["title"] = json!("灭火器过期");
    let m = insp.mutation("hazard.create", None, fresh.clone());
    f.app.push(&insp, vec![m]).await;
    ent.goto(&format!(
        "{base}/portal/hazards/{}",
        fresh["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    wait_text(&ent, "灭火器过期").await;
    ent.execute(
        "document.querySelector(\"form[action$='/extension'] input[name=csrf]\").remove();",
        vec![],
    )
    .await
    .unwrap();
    ent.find(Locator::Id("requested_deadline"))
        .await
        .unwrap()
        .send_keys("2027-06-30")
        .await
        .unwrap();
    ent.find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("等待备件")
        .await
        .unwrap();
    ent.find(Locator::Css(
        "form[action$='/extension'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&ent, "页面已过期").await;
    // A session that has ended (the account disabled and enabled again ends
    // every login) sends the browser to sign in again.
    for disabled in [true, false] {
        let (s, _) = f
            .app
            .patch(
                &format!("/api/v1/users/{ent_user}"),
                &f.admin,
                json!({"disabled": disabled}),
            )
            .await;
        assert_eq!(s.as_u16(), 200);
    }
    ent.goto(&format!("{base}/portal/hazards")).await.unwrap();
    wait_text(&ent, "登录已失效，请重新登录").await;

    // Both widths of the main pages.
    office.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    office.goto(&format!("{base}/office")).await.unwrap();
    wait_text(&office, "今日数据").await;
    shot(&office, "office-overview-phone").await;
    // The office looks the enterprise up and opens its file.
    let e = &f.ents[0][0];
    office.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    office
        .goto(&format!("{base}/office/enterprises"))
        .await
        .unwrap();
    office
        .find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys(e["name"].as_str().unwrap())
        .await
        .unwrap();
    office
        .find(Locator::Css("form[role=search] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&office, "找到").await;
    shot(&office, "office-enterprises-desktop").await;
    office
        .find(Locator::Css(&format!(
            "a[href=\"/office/enterprises/{}\"]",
            e["id"].as_str().unwrap()
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&office, "检查记录").await;
    assert!(text(&office).await.contains("消防通道被货物堵塞"));
    shot(&office, "office-enterprise-desktop").await;
    office.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    office.refresh().await.unwrap();
    wait_text(&office, "检查记录").await;
    shot(&office, "office-enterprise-phone").await;
    ent.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    sign_in(&ent, &base, "portal", "web_ent", "enterprise-pass-1").await;
    wait_text(&ent, "本企业隐患").await;
    shot(&ent, "portal-hazards-desktop").await;
    ent.goto(&format!("{base}/portal/hazards/{major_id}"))
        .await
        .unwrap();
    wait_text(&ent, "处理记录").await;
    shot(&ent, "portal-hazard-desktop").await;
    let history: Value = json!(text(&ent).await.contains("复查通过，销号"));
    assert_eq!(history, json!(true));
}
