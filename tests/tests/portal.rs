//! The enterprise portal over HTTP as a browser uses it (cookies, forms,
//! multipart uploads, redirects): signing in, the forced password change,
//! the hazard list and page, a rectification with an after-photo, an
//! extension request, a plan; CSRF and session checks; another enterprise's
//! hazard.

#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use anjian_tests::TestApp;
use anjian_tests::corpus::plain_jpeg;
use anjian_tests::field::{Field, create_hazard, field_on};
use anjian_tests::web::Browser;
use reqwest::{Method, StatusCode, header};
use serde_json::json;

/// The town, an enterprise account of the first enterprise of village 0 and
/// one of village 1, and a hazard of the first enterprise.
async fn town() -> (Field, String) {
    let f = field_on(TestApp::spawn().await).await;
    for (name, e) in [("portal_a", &f.ents[0][0]), ("portal_b", &f.ents[1][0])] {
        f.app
            .create_user(
                &f.admin,
                json!({"username": name, "display_name": format!("{name}安全员"), "role": "enterprise",
                    "enterprise_id": e["id"], "password": "enterprise-pass-1"}),
            )
            .await;
    }
    let mut insp = f.inspector("portal_insp", 0).await;
    let h = create_hazard(&f, &mut insp, "major").await;
    (f, h["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_enterprise_signs_in_sees_its_hazard_and_submits_a_rectification() {
    let (f, id) = town().await;
    let mut b = Browser::new(&f.app);
    // Signed out: to the login page, and back after it.
    let p = b.get(&format!("/portal/hazards/{id}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.location
            .as_deref()
            .unwrap()
            .starts_with("/portal/login?next=")
    );
    // A wrong password: the form again, in Chinese, with the username kept.
    let p = b.sign_in("portal_a", "wrong-password-1").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("用户名或密码错误") && p.body.contains("value=\"portal_a\""));
    let p = b.sign_in("portal_a", "enterprise-pass-1").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/portal/hazards"));
    let list = b.get("/portal/hazards").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("配电箱前堆放杂物") && list.body.contains("重大隐患"),
        "{}",
        list.body
    );
    assert!(list.body.contains("剩余"), "countdown");
    // The hazard's page: details, the forms an open major hazard has.
    let page = b.get(&format!("/portal/hazards/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for want in [
        "车间配电箱前1米内堆放纸箱",
        "提交整改",
        "申请延期",
        "重大隐患治理方案",
        "登记隐患",
    ] {
        assert!(page.body.contains(want), "{want}");
    }
    let csrf = page.csrf();
    // The plan, one part left empty: saved, still incomplete.
    let plan_path = format!("/portal/hazards/{id}/plan");
    let p = b
        .post(
            &plan_path,
            &[
                ("csrf", &csrf),
                ("objectives", "清除配电箱前杂物"),
                ("measures", "划线定置"),
                ("funding", "500元"),
                ("organisation", "安全员负责"),
                ("timeline", "三日内"),
                ("safety_measures", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(p.location.as_deref().unwrap()).await;
    assert!(page.body.contains("治理方案已保存") && page.body.contains("方案尚不完整"));
    // A rectification without a description: refused, the photo kept.
    let photo = plain_jpeg(40, 30);
    let path = format!("/portal/hazards/{id}/rectify");
    let p = b
        .post_multipart(
            &path,
            &[("csrf", &csrf), ("description", " ")],
            std::slice::from_ref(&photo),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    assert!(p.body.contains("隐患描述：必填"), "{}", p.body);
    assert!(p.body.contains("已上传的照片已保留"));
    let kept_at = p.body.find("name=\"photo_id\" value=\"").unwrap();
    let kept = &p.body[kept_at + 23..kept_at + 23 + 36];
    // Not an image: named as such.
    let p = b
        .post_multipart(
            &path,
            &[("csrf", &csrf), ("description", "已清理")],
            &[b"GIF89a not a photo".to_vec()],
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?} {}",
        p.location,
        p.body
    );
    assert!(p.body.contains("不是可识别的图片"), "{}", p.body);
    // Submitted with the kept photo: no second upload needed.
    let p = b
        .post_multipart(
            &path,
            &[
                ("csrf", &csrf),
                ("description", "已清理杂物并划定警戒线"),
                ("photo_id", kept),
            ],
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(p.location.as_deref().unwrap()).await;
    assert!(page.body.contains("整改已提交，等待复查"));
    assert!(page.body.contains("待复查"));
    assert!(!page.body.contains("action=\"/portal/hazards/") || !page.body.contains("/rectify\""));
    // The API sees the same: submitted, the rectification with its photo.
    let (_, h) = f.app.get(&format!("/api/v1/hazards/{id}"), &f.admin).await;
    assert_eq!(h["status"], "submitted");
    let last = h["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "rectification");
    assert_eq!(last["photo_ids"], json!([kept]));
    // An extension request through its form.
    let deadline: chrono::NaiveDate = h["deadline"].as_str().unwrap().parse().unwrap();
    let later = (deadline + chrono::Days::new(20)).to_string();
    let p = b
        .post(
            &format!("/portal/hazards/{id}/extension"),
            &[
                ("csrf", &csrf),
                ("requested_deadline", &later),
                ("reason", "设备到货延迟"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(p.location.as_deref().unwrap()).await;
    assert!(page.body.contains(&format!("申请延至 {later}")));
    // English on the switch.
    let p = b.get(&format!("/lang/en?next=/portal/hazards/{id}")).await;
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/portal/hazards/{id}").as_str())
    );
    let page = b.get(&format!("/portal/hazards/{id}")).await;
    assert!(page.body.contains("Major hazard") && page.body.contains("History"));
}

#[tokio::test]
async fn forms_need_their_token_and_sessions_end() {
    let (f, id) = town().await;
    let mut b = Browser::new(&f.app);
    b.sign_in("portal_a", "enterprise-pass-1").await;
    let page = b.get(&format!("/portal/hazards/{id}")).await;
    let csrf = page.csrf();
    // No token, a forged one: refused, nothing written.
    let path = format!("/portal/hazards/{id}/extension");
    for token in ["", "forged-token"] {
        let p = b
            .post(
                &path,
                &[
                    ("csrf", token),
                    ("requested_deadline", "2027-06-30"),
                    ("reason", "x"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        assert!(p.body.contains("页面已过期"));
    }
    assert_eq!(f.app.count("extension_requests").await, 0);
    // Another enterprise's hazard: not found, also for its forms.
    let mut other = Browser::new(&f.app);
    other.sign_in("portal_b", "enterprise-pass-1").await;
    let p = other.get(&format!("/portal/hazards/{id}")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("记录不存在"));
    let other_csrf = other.get("/portal/hazards").await.csrf();
    let p = other
        .post(
            &path,
            &[
                ("csrf", &other_csrf),
                ("requested_deadline", "2027-06-30"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    // The token of one session is not another's.
    let p = other.post("/portal/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Signing out ends the session; the old cookie opens nothing.
    let saved = b.cookies.clone();
    let p = b.post("/portal/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    b.cookies = saved;
    let p = b.get("/portal/hazards").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.location.unwrap().contains("expired=1"));
    // A cookie nobody issued, an expired one: the login page.
    b.cookies.insert("anjian_session".into(), "AAAA".into());
    assert_eq!(b.get("/portal/hazards").await.status, StatusCode::SEE_OTHER);
    // The login form needs its token too.
    let mut c = Browser::new(&f.app);
    let p = c
        .post(
            "/portal/login",
            &[
                ("csrf", "x"),
                ("username", "portal_a"),
                ("password", "enterprise-pass-1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Staff and inspectors are sent elsewhere.
    let p = c.sign_in("portal_insp", "inspector-password").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("企业端仅供企业账号使用"));
}

#[tokio::test]
async fn a_provisioned_account_changes_its_password_first_and_signs_in_by_credit_code() {
    let (f, _) = town().await;
    let (_, p) = f
        .app
        .post("/api/v1/users/provision-enterprises", &f.admin, json!({}))
        .await;
    let acct = p["created"][5].clone();
    let (_, e) = f
        .app
        .get(
            &format!(
                "/api/v1/enterprises/{}",
                acct["enterprise_id"].as_str().unwrap()
            ),
            &f.admin,
        )
        .await;
    let mut b = Browser::new(&f.app);
    let p = b
        .sign_in(
            e["credit_code"].as_str().unwrap(),
            acct["initial_password"].as_str().unwrap(),
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/portal/password"));
    // Every page leads to the change until it is made.
    let p = b.get("/portal/hazards").await;
    assert_eq!(p.location.as_deref(), Some("/portal/password"));
    let form = b.get("/portal/password").await;
    assert!(form.body.contains("首次登录请先修改初始密码"));
    let csrf = form.csrf();
    let initial = acct["initial_password"].as_str().unwrap();
    let p = b
        .post(
            "/portal/password",
            &[
                ("csrf", &csrf),
                ("current_password", initial),
                ("new_password", "Luoxi-qiye-2026"),
                ("confirm_password", "Luoxi-qiye-2027"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("两次输入的新密码不一致"));
    let p = b
        .post(
            "/portal/password",
            &[
                ("csrf", &csrf),
                ("current_password", initial),
                ("new_password", "Luoxi-qiye-2026"),
                ("confirm_password", "Luoxi-qiye-2026"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let list = b.get(p.location.as_deref().unwrap()).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("密码已修改"));
}

#[tokio::test]
async fn the_root_leads_somewhere_useful() {
    let app = TestApp::spawn().await;
    let resp = app.req(Method::GET, "/", None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = resp.text().await.unwrap();
    for link in ["href=\"/portal\"", "href=\"/docs\""] {
        assert!(body.contains(link), "{link}");
    }
    assert!(body.contains("罗溪镇"));
    // Unknown paths keep the JSON envelope.
    let (s, b) = app.send(app.req(Method::GET, "/nothing-here", None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["error"]["code"], "not_found");
}
