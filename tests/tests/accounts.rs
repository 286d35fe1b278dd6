//! Accounts for the town's enterprises (api.md "Users", "Auth"): provisioning
//! with one-time passwords (API and CLI list), the forced change at first
//! login, `POST /me/password`, resets by the office, sign-in with a credit
//! code, and where notifications go (`email`, `phone`).

use anjian_tests::{TestApp, assert_invalid, envelope_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> (StatusCode, Value) {
    app.post(
        "/api/v1/me/password",
        token,
        json!({"current_password": current, "new_password": new}),
    )
    .await
}

#[tokio::test]
async fn provisioned_accounts_must_change_their_password_before_anything_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let total = app.all("/api/v1/enterprises", &admin).await.len();
    let (s, p) = app
        .post("/api/v1/users/provision-enterprises", &admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let created = p["created"].as_array().unwrap();
    assert_eq!(
        created.len() as u64 + p["skipped"].as_u64().unwrap(),
        total as u64
    );
    assert!(created.len() > 3000, "{}", created.len());
    // Again: nothing left to make.
    let (_, again) = app
        .post("/api/v1/users/provision-enterprises", &admin, json!({}))
        .await;
    assert_eq!(again["created"], json!([]));
    assert_eq!(again["skipped"].as_u64().unwrap(), total as u64);

    let first = &created[0];
    let username = first["username"].as_str().unwrap();
    let initial = first["initial_password"].as_str().unwrap();
    let (_, e) = app
        .get(
            &format!(
                "/api/v1/enterprises/{}",
                first["enterprise_id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(username, e["credit_code"].as_str().unwrap().to_lowercase());
    // The credit code as printed (upper case) signs in too.
    let (s, login) = app
        .login_full(e["credit_code"].as_str().unwrap(), initial)
        .await;
    assert_eq!(s, StatusCode::OK, "{login}");
    assert_eq!(login["user"]["must_change_password"], true);
    let token = login["access_token"].as_str().unwrap().to_owned();
    let other_login = app.login(username, initial).await;
    // Until the change: `GET /me`, the change and logout only.
    let (s, me) = app.get("/api/v1/me", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "enterprise");
    for path in ["/api/v1/hazards", "/api/v1/villages", "/api/v1/enterprises"] {
        let (s, b) = app.get(path, &token).await;
        assert_eq!(
            (s.as_u16(), envelope_code(&b)),
            (403, "password_change_required".into()),
            "{path}"
        );
    }
    // Wrong current password; a new one the rules refuse; the same one.
    let (s, b) = change(&app, &token, "not-the-password", "Luoxi-anquan-2026").await;
    assert_invalid(s, &b, Some(("current_password", &["incorrect"])));
    let (s, b) = change(&app, &token, initial, "1234567890").await;
    assert_invalid(s, &b, None);
    assert!(
        b["error"]["details"]["fields"]["new_password"].is_array(),
        "{b}"
    );
    let (s, b) = change(&app, &token, initial, initial).await;
    assert_invalid(s, &b, None);
    let (s, b) = change(&app, &token, initial, "Luoxi-anquan-2026").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // This login goes on, with everything open; the other login ended.
    let (s, me) = app.get("/api/v1/me", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["must_change_password"], false);
    assert_eq!(app.get("/api/v1/hazards", &token).await.0, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/me", &other_login).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The old password is gone, the new one works.
    assert_eq!(
        app.login_full(username, initial).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.login(username, "Luoxi-anquan-2026").await;
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_user(
        &admin,
        json!({"username": "pw_office", "display_name": "值班员", "role": "office", "password": "office-password-1"}),
    )
    .await;
    let token = app.login("pw_office", "office-password-1").await;
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        last = change(&app, &token, "guess-guess-1", "Another-pass-2026")
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // The limit is the account's: a login with the right password waits too.
    assert_eq!(
        app.login_full("pw_office", "office-password-1").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_office_resets_enterprise_accounts_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, ents) = app.get("/api/v1/enterprises?limit=2", &admin).await;
    let ents = ents["items"].as_array().unwrap().clone();
    let ent_id = app
        .create_user(
            &admin,
            json!({"username": "reset_ent", "display_name": "安全员", "role": "enterprise",
                "enterprise_id": ents[0]["id"], "password": "enterprise-pass-1"}),
        )
        .await;
    let (_, villages) = app.get("/api/v1/villages", &admin).await;
    let insp_id = app
        .create_user(
            &admin,
            json!({"username": "reset_insp", "display_name": "网格员", "role": "inspector",
                "village_ids": [villages["items"][0]["id"]], "password": "inspector-password"}),
        )
        .await;
    app.create_user(
        &admin,
        json!({"username": "reset_office", "display_name": "值班员", "role": "office", "password": "office-password-1"}),
    )
    .await;
    let office = app.login("reset_office", "office-password-1").await;
    let ent_token = app.login("reset_ent", "enterprise-pass-1").await;
    let reset = |id: &str| format!("/api/v1/users/{id}/reset-password");
    let (s, b) = app.post(&reset(&ent_id), &office, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let initial = b["initial_password"].as_str().unwrap().to_owned();
    // Its logins ended; the new password must be changed at once.
    assert_eq!(
        app.get("/api/v1/me", &ent_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_full("reset_ent", "enterprise-pass-1").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, l) = app.login_full("reset_ent", &initial).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["user"]["must_change_password"], true);
    // The office may not reset an inspector; the admin may; unknown: 404.
    assert_eq!(
        app.post(&reset(&insp_id), &office, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&reset(&insp_id), &admin, json!({})).await.0,
        StatusCode::OK
    );
    let unknown = reset(&uuid::Uuid::now_v7().to_string());
    assert_eq!(
        app.post(&unknown, &admin, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    // An enterprise user may not reset anyone.
    let (s, _) = app
        .post(
            &reset(&insp_id),
            l["access_token"].as_str().unwrap(),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_credit_code_signs_in_only_where_it_names_one_enabled_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, ents) = app.get("/api/v1/enterprises?limit=2", &admin).await;
    let ents = ents["items"].as_array().unwrap().clone();
    let code = ents[0]["credit_code"].as_str().unwrap().to_owned();
    let make = |name: &str| {
        json!({"username": name, "display_name": "安全员", "role": "enterprise",
            "enterprise_id": ents[0]["id"], "password": "enterprise-pass-1"})
    };
    app.create_user(&admin, make("cc_one")).await;
    let (s, l) = app.login_full(&code, "enterprise-pass-1").await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l["user"]["username"], "cc_one");
    // Two enabled accounts: the code names neither.
    let second = app.create_user(&admin, make("cc_two")).await;
    assert_eq!(
        app.login_full(&code, "enterprise-pass-1").await.0,
        StatusCode::UNAUTHORIZED
    );
    // One of them disabled: the code names the other again.
    app.patch(
        &format!("/api/v1/users/{second}"),
        &admin,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(
        app.login_full(&code, "enterprise-pass-1").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn email_and_phone_are_where_notifications_go() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, u) = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "contact_office", "display_name": "值班员", "role": "office",
                "password": "office-password-1", "email": "anquan@luoxi.gov.cn", "phone": "0519-85123456"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(u["email"], "anquan@luoxi.gov.cn");
    assert_eq!(u["phone"], "0519-85123456");
    assert_eq!(u["must_change_password"], false);
    let id = u["id"].as_str().unwrap();
    let (s, b) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &admin,
            json!({"email": "not-an-address", "phone": "call me"}),
        )
        .await;
    assert_invalid(s, &b, None);
    let fields = &b["error"]["details"]["fields"];
    assert!(
        fields["email"].is_array() && fields["phone"].is_array(),
        "{b}"
    );
    let (s, b) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &admin,
            json!({"email": null, "must_change_password": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["email"].is_null());
    assert_eq!(b["phone"], "0519-85123456");
    assert_eq!(b["must_change_password"], true);
    let (s, b) = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "must_change", "display_name": "值班员", "role": "office",
                "password": "office-password-1", "must_change_password": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let t = app.login("must_change", "office-password-1").await;
    let (s, b) = app
        .send(app.req(Method::GET, "/api/v1/audit", Some(&t)))
        .await;
    assert_eq!(
        (s.as_u16(), envelope_code(&b)),
        (403, "password_change_required".into())
    );
}

#[tokio::test]
async fn the_command_line_writes_the_list_for_distribution() {
    use calamine::Reader;
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("企业账号.xlsx");
    let p = anjian::accounts::provision(app.db(), &path).await.unwrap();
    assert!(p.created.len() > 3000);
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let range = wb.worksheet_range("企业账号").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        rows[0][..6],
        [
            "序号",
            "所属村（社区）",
            "企业名称",
            "统一社会信用代码",
            "登录用户名",
            "初始密码"
        ]
    );
    let first = &p.created[0];
    assert_eq!(rows[1][2], first.enterprise.name);
    assert_eq!(rows[1][4], first.username);
    assert_eq!(rows[1][5], first.initial_password);
    assert!(!rows[1][1].is_empty(), "village name");
    // What the list says signs in.
    let (s, _) = app.login_full(&rows[1][3], &rows[1][5]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!dir.path().join("企业账号.xlsx.part").exists());
}
