//! The authorization matrix: every route of the OpenAPI document, asked by
//! every kind of caller, with the status each must get. A route the document
//! publishes and this table lacks fails the test, so a new route comes with
//! its row.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use anjian_domain::CreditCode;
use anjian_tests::corpus::{plain_jpeg, sha};
use anjian_tests::{ADMIN_PASSWORD, Device, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The callers, in the column order of [`MATRIX`].
const CALLERS: [&str; 8] = [
    "admin",
    "office",
    "inspector in scope",
    "inspector elsewhere",
    "enterprise own",
    "enterprise other",
    "anonymous",
    "disabled",
];

/// What a route is asked about.
#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    Enterprise,
    Hazard,
    Inspection,
    Photo,
    User,
    Template,
    Campaign,
    Extension,
    Notification,
}

/// (method, path as the OpenAPI document has it, what `{id}` is, expected
/// status per caller in [`CALLERS`] order).
#[rustfmt::skip]
const MATRIX: &[(&str, &str, Target, [u16; 8])] = &[
    // Public.
    ("GET", "/healthz", Target::None, [200; 8]),
    ("GET", "/readyz", Target::None, [200; 8]),
    ("GET", "/metrics", Target::None, [200; 8]),
    // A login names its own user; the caller's token plays no part.
    ("POST", "/api/v1/auth/login", Target::None, [200; 8]),
    ("POST", "/api/v1/auth/refresh", Target::None, [401; 8]),
    ("POST", "/api/v1/auth/logout", Target::None, [204, 204, 204, 204, 204, 204, 401, 401]),
    ("GET", "/api/v1/me", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    // Everyone changes its own password (here with a wrong current one: 422).
    ("POST", "/api/v1/me/password", Target::None, [422, 422, 422, 422, 422, 422, 401, 401]),
    // Administration.
    ("GET", "/api/v1/users", Target::None, [200, 403, 403, 403, 403, 403, 401, 401]),
    ("POST", "/api/v1/users", Target::None, [201, 403, 403, 403, 403, 403, 401, 401]),
    ("GET", "/api/v1/users/{id}", Target::User, [200, 403, 403, 403, 403, 403, 401, 401]),
    ("PATCH", "/api/v1/users/{id}", Target::User, [200, 403, 403, 403, 403, 403, 401, 401]),
    // The target is an office account: the office resets enterprise accounts only.
    ("POST", "/api/v1/users/{id}/reset-password", Target::User, [200, 403, 403, 403, 403, 403, 401, 401]),
    ("POST", "/api/v1/users/provision-enterprises", Target::None, [200, 403, 403, 403, 403, 403, 401, 401]),
    ("GET", "/api/v1/audit", Target::None, [200, 200, 403, 403, 403, 403, 401, 401]),
    // Notifications: everyone reads its own; the target is the enterprise's.
    ("GET", "/api/v1/notifications", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("POST", "/api/v1/notifications/{id}/read", Target::Notification, [404, 404, 404, 404, 200, 404, 401, 401]),
    // Reports (a past week; made before it is read).
    ("POST", "/api/v1/reports/weekly/{week}/generate", Target::None, [200, 200, 403, 403, 403, 403, 401, 401]),
    ("GET", "/api/v1/reports/weekly/{week}", Target::None, [200, 200, 403, 403, 403, 403, 401, 401]),
    ("GET", "/api/v1/reports/weekly", Target::None, [200, 200, 403, 403, 403, 403, 401, 401]),
    // Reference data.
    ("GET", "/api/v1/villages", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/templates", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/templates/{id}", Target::Template, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/campaigns", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("POST", "/api/v1/campaigns", Target::None, [201, 201, 403, 403, 403, 403, 401, 401]),
    ("GET", "/api/v1/campaigns/{id}", Target::Campaign, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/enterprises", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("POST", "/api/v1/enterprises", Target::None, [201, 201, 403, 403, 403, 403, 401, 401]),
    ("POST", "/api/v1/enterprises/import", Target::None, [200, 200, 403, 403, 403, 403, 401, 401]),
    ("GET", "/api/v1/enterprises/{id}", Target::Enterprise, [200, 200, 200, 404, 200, 404, 401, 401]),
    ("PATCH", "/api/v1/enterprises/{id}", Target::Enterprise, [200, 200, 403, 403, 403, 403, 401, 401]),
    // What was found there.
    ("GET", "/api/v1/inspections", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/inspections/{id}", Target::Inspection, [200, 200, 200, 404, 200, 404, 401, 401]),
    ("GET", "/api/v1/hazards", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/hazards/{id}", Target::Hazard, [200, 200, 200, 404, 200, 404, 401, 401]),
    // Lifecycle commands, each with a body that fails validation: 422 shows
    // that scope and role let the caller through (api.md orders refusals:
    // scope 404, role 403, body 422, state 409).
    ("POST", "/api/v1/hazards/{id}/rectifications", Target::Hazard, [422, 403, 422, 404, 422, 404, 401, 401]),
    ("POST", "/api/v1/hazards/{id}/review", Target::Hazard, [422, 422, 422, 404, 403, 404, 401, 401]),
    ("POST", "/api/v1/hazards/{id}/cancel", Target::Hazard, [422, 422, 403, 404, 403, 404, 401, 401]),
    ("PUT", "/api/v1/hazards/{id}/plan", Target::Hazard, [422, 422, 403, 404, 422, 404, 401, 401]),
    ("POST", "/api/v1/hazards/{id}/extension-requests", Target::Hazard, [422, 403, 403, 404, 422, 404, 401, 401]),
    ("POST", "/api/v1/extension-requests/{id}/decision", Target::Extension, [422, 422, 403, 404, 403, 404, 401, 401]),
    // Photos: the target is attached to the hazard; its original is not for
    // enterprises. (The 302 is followed to the store, API token and all, as
    // browsers and phones do.)
    ("POST", "/api/v1/photos", Target::None, [201, 201, 201, 201, 201, 201, 401, 401]),
    ("GET", "/api/v1/photos/{id}", Target::Photo, [200, 200, 200, 404, 200, 404, 401, 401]),
    ("GET", "/api/v1/photos/{id}/{variant}", Target::Photo, [200, 200, 200, 404, 403, 404, 401, 401]),
    ("PUT", "/api/v1/photos/{id}/content", Target::Photo, [204, 204, 204, 404, 403, 404, 401, 401]),
    ("POST", "/api/v1/photos/{id}/complete", Target::Photo, [200, 200, 200, 404, 403, 404, 401, 401]),
    // Sync: every user syncs its own scope from its own devices.
    ("POST", "/api/v1/sync/push", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
    ("GET", "/api/v1/sync/pull", Target::None, [200, 200, 200, 200, 200, 200, 401, 401]),
];

/// The records the routes are asked about.
struct Records {
    enterprise: String,
    hazard: String,
    inspection: String,
    photo: String,
    photo_bytes: Vec<u8>,
    user: String,
    template: String,
    campaign: String,
    extension: String,
    notification: String,
}

struct World {
    app: TestApp,
    /// A token per caller (`None`: anonymous).
    tokens: Vec<Option<String>>,
    /// Username and password per caller, for fresh logins.
    logins: Vec<Option<(String, String)>>,
    records: Records,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, villages) = app.get("/api/v1/villages", &admin).await;
    let village = |i: usize| villages["items"][i]["id"].as_str().unwrap().to_owned();
    let first_of = |v: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let (_, e) = app
                .get(
                    &format!("/api/v1/enterprises?village_id={v}&limit=1"),
                    admin,
                )
                .await;
            e["items"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let here = first_of(village(0)).await;
    let there = first_of(village(1)).await;
    let pw = "matrix-password-2026";
    let users = [
        ("m_office", json!({"role": "office"})),
        (
            "m_insp_in",
            json!({"role": "inspector", "village_ids": [village(0)]}),
        ),
        (
            "m_insp_out",
            json!({"role": "inspector", "village_ids": [village(1)]}),
        ),
        (
            "m_ent_own",
            json!({"role": "enterprise", "enterprise_id": here}),
        ),
        (
            "m_ent_other",
            json!({"role": "enterprise", "enterprise_id": there}),
        ),
        ("m_gone", json!({"role": "office"})),
        ("m_target", json!({"role": "office"})),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, extra) in users {
        let mut body = json!({"username": name, "display_name": name, "password": pw});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        ids.insert(name, app.create_user(&admin, body).await);
    }
    let mut logins = vec![Some(("admin".to_owned(), ADMIN_PASSWORD.to_owned()))];
    for name in [
        "m_office",
        "m_insp_in",
        "m_insp_out",
        "m_ent_own",
        "m_ent_other",
    ] {
        logins.push(Some((name.to_owned(), pw.to_owned())));
    }
    logins.push(None);
    logins.push(Some(("m_gone".to_owned(), pw.to_owned())));
    let mut tokens = Vec::new();
    for l in &logins {
        tokens.push(match l {
            Some((u, p)) => Some(app.login(u, p).await),
            None => None,
        });
    }
    // The inspector in scope records an inspection and a hazard with a photo.
    let insp = tokens[2].clone().unwrap();
    let photo_bytes = plain_jpeg(64, 48);
    let photo = Uuid::now_v7();
    let (s, _) = app
        .post(
            "/api/v1/photos",
            &insp,
            json!({"id": photo, "sha256": sha(&photo_bytes), "size": photo_bytes.len(), "content_type": "image/jpeg"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let put = app
        .req(
            Method::PUT,
            &format!("/api/v1/photos/{photo}/content"),
            Some(&insp),
        )
        .header("content-type", "application/octet-stream")
        .body(photo_bytes.clone());
    assert_eq!(app.send(put).await.0, StatusCode::NO_CONTENT);
    let (s, _) = app
        .send(app.req(
            Method::POST,
            &format!("/api/v1/photos/{photo}/complete"),
            Some(&insp),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, templates) = app.get("/api/v1/templates?limit=1", &admin).await;
    let template = templates["items"][0]["id"].as_str().unwrap().to_owned();
    let (inspection, hazard) = (Uuid::now_v7(), Uuid::now_v7());
    let mut d = Device::new(insp);
    let batch = vec![
        d.mutation(
            "inspection.create",
            None,
            json!({"id": inspection, "enterprise_id": here,
            "template_id": template, "started_at": "2026-11-27T01:00:00Z", "results": []}),
        ),
        d.mutation(
            "hazard.create",
            None,
            json!({"id": hazard, "enterprise_id": here, "inspection_id": inspection,
            "title": "消防通道堵塞", "category": "消防", "severity": "general",
            "found_at": "2026-11-27T02:00:00Z", "photo_ids": [photo]}),
        ),
    ];
    let (_, b) = app.push(&d, batch).await;
    assert_eq!(b["last_processed_seq"], 2, "{b}");
    // The enterprise asks for more time.
    let (s, x) = app
        .post(
            &format!("/api/v1/hazards/{hazard}/extension-requests"),
            tokens[4].as_deref().unwrap(),
            json!({"requested_deadline": "2027-01-31", "reason": "设备到货延迟"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{x}");
    let extension = x["id"].as_str().unwrap().to_owned();
    // A notification of the enterprise's own account.
    let note = Uuid::now_v7();
    let own: Uuid = ids["m_ent_own"].parse().unwrap();
    anjian_store::repo::notifications::add(
        app.db(),
        vec![anjian_store::entity::notification::Model {
            id: note,
            user_id: own,
            kind: "reminder".into(),
            title: "整改期限提醒".into(),
            body: "还剩 3 天".into(),
            entity_type: Some("hazard".into()),
            entity_id: Some(hazard.to_string().parse().unwrap()),
            dedupe_key: Some(format!("matrix:{own}")),
            created_at: chrono::Utc::now(),
            read_at: None,
            dispatched_at: None,
        }],
    )
    .await
    .unwrap();
    let (_, campaigns) = app.get("/api/v1/campaigns?limit=1", &admin).await;
    let campaign = campaigns["items"][0]["id"].as_str().unwrap().to_owned();
    // The disabled caller keeps the token it had.
    let (s, _) = app
        .patch(
            &format!("/api/v1/users/{}", ids["m_gone"]),
            &admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    World {
        records: Records {
            enterprise: here,
            hazard: hazard.to_string(),
            inspection: inspection.to_string(),
            photo: photo.to_string(),
            photo_bytes,
            user: ids["m_target"].clone(),
            template,
            campaign,
            extension,
            notification: note.to_string(),
        },
        app,
        tokens,
        logins,
    }
}

impl World {
    /// The request a caller (`who`, its column) makes to a route.
    async fn request(
        &self,
        method: &str,
        path: &str,
        target: Target,
        who: usize,
    ) -> reqwest::RequestBuilder {
        let r = &self.records;
        let id = match target {
            Target::None => "",
            Target::Enterprise => &r.enterprise,
            Target::Hazard => &r.hazard,
            Target::Inspection => &r.inspection,
            Target::Photo => &r.photo,
            Target::User => &r.user,
            Target::Template => &r.template,
            Target::Campaign => &r.campaign,
            Target::Extension => &r.extension,
            Target::Notification => &r.notification,
        };
        let mut concrete = path
            .replace("{id}", id)
            .replace("{variant}", "original")
            .replace("{week}", "2026-W40");
        if path == "/api/v1/sync/pull" {
            concrete = format!("{concrete}?device_id={}", Uuid::now_v7());
        }
        let mut token = self.tokens[who].clone();
        if path == "/api/v1/auth/logout" && who < 6 {
            // Its own fresh login, so that the caller's token lives on.
            let (u, p) = self.logins[who].clone().unwrap();
            token = Some(self.app.login(&u, &p).await);
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let req = self.app.req(m, &concrete, token.as_deref());
        let unique = 100 + who as u32;
        match (method, path) {
            ("POST", "/api/v1/auth/login") => {
                req.json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            }
            ("POST", "/api/v1/auth/refresh") => req.json(&json!({"refresh_token": "not-a-token"})),
            ("POST", "/api/v1/users") => req.json(&json!({"username": format!("made{unique}"),
                "display_name": "新用户", "role": "office", "password": "office-password-1"})),
            ("PATCH", "/api/v1/users/{id}") => req.json(&json!({"display_name": "改过名"})),
            ("POST", "/api/v1/campaigns") => req.json(&json!({"name": format!("矩阵{unique}"),
                "starts_on": "2026-12-01", "ends_on": "2026-12-31", "template_ids": [r.template]})),
            ("POST", "/api/v1/enterprises") => {
                let code = CreditCode::complete(&format!("91320411MA9M{unique:05}")).unwrap();
                req.json(&json!({"credit_code": code.to_string(), "name": format!("常州矩阵{unique}有限公司"),
                    "address": "新北区罗溪镇1号", "village_id": self.village_of_target().await,
                    "industry_code": "C3389", "scale": "below", "contact_name": "李娜",
                    "contact_phone": "13812345678"}))
            }
            ("POST", "/api/v1/enterprises/import") => req
                .header("content-type", "text/csv")
                .body("credit_code,name,address,village,industry_code,scale,risk_tags,status,contact_name,contact_phone\n"),
            ("PATCH", "/api/v1/enterprises/{id}") => req.json(&json!({"contact_name": "王伟"})),
            ("POST", "/api/v1/photos") => {
                let bytes = plain_jpeg(10 + who as u32, 10);
                req.json(&json!({"id": Uuid::now_v7(), "sha256": sha(&bytes), "size": bytes.len(),
                    "content_type": "image/jpeg"}))
            }
            ("PUT", "/api/v1/photos/{id}/content") => req
                .header("content-type", "application/octet-stream")
                .body(r.photo_bytes.clone()),
            ("PUT", "/api/v1/hazards/{id}/plan") => req.json(&json!({"objectives": 1})),
            ("POST", "/api/v1/me/password") => req.json(&json!({"current_password": "not-mine-at-all",
                "new_password": "Luoxi-anquan-2026"})),
            ("POST", p) if p.starts_with("/api/v1/hazards/{id}/") || p.starts_with("/api/v1/extension-requests/") => {
                req.json(&json!({}))
            }
            ("POST", "/api/v1/sync/push") => {
                req.json(&json!({"device_id": Uuid::now_v7(), "protocol": 1, "mutations": []}))
            }
            _ => req,
        }
    }

    async fn village_of_target(&self) -> String {
        let admin = self.tokens[0].as_deref().unwrap();
        let (_, e) = self
            .app
            .get(
                &format!("/api/v1/enterprises/{}", self.records.enterprise),
                admin,
            )
            .await;
        e["village_id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let w = world().await;
    // Every published operation has its row, and every row its operation.
    let (_, doc) = w.app.get("/api/v1/openapi.json", "").await;
    let mut published: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                published.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut rows: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    published.sort();
    rows.sort();
    let missing: Vec<_> = published.iter().filter(|p| !rows.contains(p)).collect();
    let stale: Vec<_> = rows.iter().filter(|r| !published.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes that don't exist: {stale:?}"
    );

    let mut wrong = Vec::new();
    for (method, path, target, expected) in MATRIX {
        for (who, want) in expected.iter().enumerate() {
            let req = w.request(method, path, *target, who).await;
            let resp = req.send().await.unwrap();
            let got = resp.status().as_u16();
            if got != *want {
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                wrong.push(format!(
                    "{method} {path} as {}: {got}, expected {want} {body}",
                    CALLERS[who]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The pages (not in the OpenAPI document): (path, what `{id}` is, expected
/// status per caller in [`CALLERS`] order). Enterprise accounts sign in at
/// `/portal/login`, the office and admins at `/office/login`; inspectors and
/// disabled accounts can't sign in to either and are sent to sign in (303),
/// as anonymous callers are. A signed-in caller of the other realm gets 403.
#[rustfmt::skip]
const PAGES: &[(&str, Target, [u16; 8])] = &[
    ("/", Target::None, [200; 8]),
    ("/portal/hazards", Target::None, [403, 403, 303, 303, 200, 200, 303, 303]),
    ("/portal/hazards/{id}", Target::Hazard, [403, 403, 303, 303, 200, 404, 303, 303]),
    ("/portal/password", Target::None, [403, 403, 303, 303, 200, 200, 303, 303]),
    ("/office", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/reviews", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/overdue", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/extensions", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/password", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/enterprises", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/enterprises/{id}", Target::Enterprise, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/hazards/{id}", Target::Hazard, [200, 200, 303, 303, 403, 403, 303, 303]),
    ("/office/reports", Target::None, [200, 200, 303, 303, 403, 403, 303, 303]),
];

#[tokio::test]
async fn every_page_answers_every_caller_as_the_matrix_says() {
    use anjian_tests::web::Browser;
    let w = world().await;
    let mut wrong = Vec::new();
    for who in 0..CALLERS.len() {
        let mut b = Browser::new(&w.app);
        if let Some((u, p)) = w.logins[who].clone() {
            // Each realm's own sign-in; the one that takes the caller counts.
            for realm in ["/portal", "/office"] {
                let form = b.get(&format!("{realm}/login")).await;
                let csrf = form.csrf();
                let r = b
                    .post(
                        &format!("{realm}/login"),
                        &[("csrf", &csrf), ("username", &u), ("password", &p)],
                    )
                    .await;
                if r.status == StatusCode::SEE_OTHER {
                    break;
                }
            }
        }
        for (path, target, expected) in PAGES {
            let id = match target {
                Target::Hazard => w.records.hazard.as_str(),
                Target::Enterprise => w.records.enterprise.as_str(),
                _ => "",
            };
            let got = b.get(&path.replace("{id}", id)).await.status.as_u16();
            if got != expected[who] {
                wrong.push(format!(
                    "GET {path} as {}: {got}, expected {}",
                    CALLERS[who], expected[who]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
