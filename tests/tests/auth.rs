//! Login, refresh rotation, reuse detection, logout, revocation, rate limits.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use anjian_api::token::TokenKeys;
use anjian_tests::{ADMIN_PASSWORD, TestApp, envelope_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.send(
        app.req(Method::POST, "/api/v1/auth/refresh", None)
            .json(&json!({ "refresh_token": token })),
    )
    .await
}

#[tokio::test]
async fn login_answers_tokens_and_the_user() {
    let app = TestApp::spawn().await;
    let (s, b) = app.login_full("admin", ADMIN_PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["token_type"], "Bearer");
    assert!(b["expires_in"].as_i64().unwrap() > 0);
    assert!(b["refresh_token"].as_str().unwrap().len() > 20);
    assert_eq!(b["user"]["role"], "admin");
    assert_eq!(b["user"]["village_ids"], json!([]));
    let (s, me) = app
        .get("/api/v1/me", b["access_token"].as_str().unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["username"], "admin");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let (s1, b1) = app.login_full("admin", "not-the-password").await;
    let (s2, b2) = app.login_full("nobody", "not-the-password").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(envelope_code(&b1), envelope_code(&b2));
    assert_eq!(b1["error"]["message"], b2["error"]["message"]);
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        assert_eq!(
            app.login_full("admin", "wrong-password-x").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let resp = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(envelope_code(&b), "rate_limited");
    // Another user is not locked out by admin's failures.
    let admin_locked = app.login_full("office-none", "x").await.0;
    assert_eq!(admin_locked, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_login() {
    let app = TestApp::spawn().await;
    let (_, first) = app.login_full("admin", ADMIN_PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (s, second) = refresh(&app, r1).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    let access2 = second["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", access2).await.0, StatusCode::OK);
    // Presenting the rotated token again: the login is revoked, r2 and access2 die.
    let (s, b) = refresh(&app, r1).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(refresh(&app, r2).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/me", access2).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A fresh login still works.
    app.admin().await;
    assert_eq!(
        refresh(&app, "forged-token").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_revokes_access_and_refresh() {
    let app = TestApp::spawn().await;
    let (_, b) = app.login_full("admin", ADMIN_PASSWORD).await;
    let access = b["access_token"].as_str().unwrap();
    let (s, _) = app
        .send(app.req(Method::POST, "/api/v1/auth/logout", Some(access)))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", access).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, b["refresh_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn disabling_a_user_or_changing_its_password_revokes_its_logins_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app
        .create_user(&admin, json!({"username": "office2", "display_name": "值班员", "role": "office", "password": "office-pass-222"}))
        .await;
    let (_, b) = app.login_full("office2", "office-pass-222").await;
    let token = b["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::OK);
    let (s, u) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &admin,
            json!({"password": "a-new-password-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(
        app.get("/api/v1/me", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, b["refresh_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_full("office2", "office-pass-222").await.0,
        StatusCode::UNAUTHORIZED
    );
    let token = app.login("office2", "a-new-password-1").await;
    let (s, u) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!((s, u["disabled"].clone()), (StatusCode::OK, json!(true)));
    let (s, b) = app.get("/api/v1/enterprises", &token).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(
        app.login_full("office2", "a-new-password-1").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn expired_and_forged_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    // The test server signs with "k" x 40; re-sign the same login with a past expiry.
    let keys = TokenKeys::new("k".repeat(40).as_bytes());
    let payload = keys.open("access", &token).unwrap();
    let login = uuid::Uuid::from_slice(&payload[..16]).unwrap();
    let expired = keys.access_token(login, chrono::Utc::now().timestamp() - 1);
    let (s, b) = app.get("/api/v1/me", &expired).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let forged =
        TokenKeys::new(b"another-key").access_token(login, chrono::Utc::now().timestamp() + 600);
    assert_eq!(
        app.get("/api/v1/me", &forged).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = app.send(app.req(Method::GET, "/api/v1/me", None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .send(
            app.req(Method::GET, "/api/v1/me", None)
                .header("authorization", "Basic YWRtaW46eA=="),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn user_admin_is_for_admins_and_validates_roles() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, v) = app.get("/api/v1/villages", &admin).await;
    let village = v["items"][0]["id"].as_str().unwrap().to_owned();
    let cases = [
        (
            json!({"username": "i1", "display_name": "x", "role": "inspector", "password": "long-enough-1"}),
            "village_ids",
        ),
        (
            json!({"username": "e1x", "display_name": "x", "role": "enterprise", "password": "long-enough-1"}),
            "enterprise_id",
        ),
        (
            json!({"username": "ok_user", "display_name": "x", "role": "office", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "Bad Name", "display_name": "x", "role": "office", "password": "long-enough-1"}),
            "username",
        ),
        (
            json!({"username": "r1x", "display_name": "x", "role": "king", "password": "long-enough-1"}),
            "role",
        ),
    ];
    let before = app.count("users").await;
    for (body, field) in cases {
        let (s, b) = app.post("/api/v1/users", &admin, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {b}");
        assert!(
            b["error"]["details"]["fields"][field].is_array(),
            "{field}: {b}"
        );
    }
    assert_eq!(app.count("users").await, before);
    let body = json!({"username": "insp9", "display_name": "网格员", "role": "inspector", "village_ids": [village], "password": "long-enough-1"});
    let id = app.create_user(&admin, body.clone()).await;
    let (s, b) = app.post("/api/v1/users", &admin, body).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::CONFLICT, "conflict")
    );
    let insp = app.login("insp9", "long-enough-1").await;
    assert_eq!(
        app.get("/api/v1/users", &insp).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &insp,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let users = app.all("/api/v1/users", &admin).await;
    let me = users.iter().find(|u| u["id"] == id.as_str()).unwrap();
    assert_eq!(me["village_ids"], json!([village]));
    assert!(me.get("password_hash").is_none() && me.get("password").is_none());
    // Stale If-Match on users as well.
    let (s, _) = app
        .send(
            app.req(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&admin))
                .header("If-Match", "7")
                .json(&json!({"display_name": "y"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The first admin can't be disabled or demoted.
    let admin_id = users.iter().find(|u| u["username"] == "admin").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            &admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The audit trail never holds a password hash.
    let (_, audit) = app
        .get(
            &format!("/api/v1/audit?entity_type=user&entity_id={id}"),
            &admin,
        )
        .await;
    assert!(!audit.to_string().contains("argon2"));
}

#[tokio::test]
async fn demo_accounts_share_one_password_and_have_scopes() {
    let app = TestApp::spawn_demo().await;
    let office = app
        .login("office", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    assert_eq!(app.all("/api/v1/enterprises", &office).await.len(), 3152);
    let insp = app
        .login("inspector01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    let mine = app.all("/api/v1/enterprises", &insp).await;
    assert!(!mine.is_empty() && mine.len() < 3152);
    let ent = app
        .login("ent01", anjian_usecases::setup::DEMO_PASSWORD)
        .await;
    assert_eq!(app.all("/api/v1/enterprises", &ent).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_gets_no_more_than_five_tries() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let attempts = (0..150).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            app.login_full("admin", &format!("wrong-password-{i}"))
                .await
                .0
        })
    });
    let statuses = futures::future::join_all(attempts).await;
    let tried = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, limited), (5, 145), "{statuses:?}");
    // The right password is refused too until the window ends.
    assert_eq!(
        app.login_full("admin", ADMIN_PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_successful_login_is_not_counted_against_the_user() {
    let app = TestApp::spawn().await;
    for _ in 0..4 {
        assert_eq!(
            app.login_full("admin", "wrong-password-x").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    for _ in 0..5 {
        app.admin().await;
    }
    assert_eq!(
        app.login_full("admin", "wrong-password-x").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_full("admin", ADMIN_PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Fails 50 logins (one per username) as `forwarded_for`, then tries once more
/// as `then`; the status of that last attempt.
async fn fifty_failures_then(app: &TestApp, forwarded_for: &str, then: &str) -> StatusCode {
    let attempt = |user: String, xff: String| {
        app.req(Method::POST, "/api/v1/auth/login", None)
            .header("x-forwarded-for", xff)
            .json(&json!({"username": user, "password": "wrong-password-x"}))
            .send()
    };
    for i in 0..50 {
        let r = attempt(format!("nobody{i}"), forwarded_for.to_owned())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    attempt("nobody-else".into(), then.to_owned())
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    // Untrusted: the header is ignored, every attempt counts against the socket's address.
    let app = TestApp::spawn().await;
    assert_eq!(
        fifty_failures_then(&app, "203.0.113.1", "203.0.113.2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    drop(app);
    // Behind a trusted proxy on loopback: the header names the client.
    let app = TestApp::spawn_configured(Default::default(), |c| {
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    assert_eq!(
        fifty_failures_then(&app, "203.0.113.1", "203.0.113.2").await,
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .header("x-forwarded-for", "203.0.113.1")
        .json(&json!({"username": "someone", "password": "wrong-password-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
}
