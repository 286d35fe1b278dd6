//! The rest of the hazard cycle over REST and sync (api.md "Inspections and
//! hazards"): rectification with after-photos, review, the governance plan of
//! a major hazard, extension requests, cancellation; the order of refusals;
//! photos listed by a command; what pull and the audit trail show.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use anjian_tests::corpus::plain_jpeg;
use anjian_tests::field::{Field, create_hazard, field};
use anjian_tests::{Device, assert_invalid, envelope_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The field town with an inspector of village 0, the office, and an
/// enterprise account of the first enterprise of village 0 (and one of
/// village 1).
struct Cycle {
    f: Field,
    insp: Device,
    office: Device,
    ent: String,
    other: String,
}

async fn cycle() -> Cycle {
    let f = field().await;
    let insp = f.inspector("insp_c", 0).await;
    let office = f.office("office_c").await;
    let mut tokens = Vec::new();
    for (name, e) in [("ent_c", &f.ents[0][0]), ("ent_d", &f.ents[1][0])] {
        f.app
            .create_user(
                &f.admin,
                json!({"username": name, "display_name": name, "role": "enterprise",
                    "enterprise_id": e["id"], "password": "enterprise-pass-1"}),
            )
            .await;
        tokens.push(f.app.login(name, "enterprise-pass-1").await);
    }
    let other = tokens.pop().unwrap();
    let ent = tokens.pop().unwrap();
    Cycle {
        f,
        insp,
        office,
        ent,
        other,
    }
}

impl Cycle {
    async fn hazard(&mut self, severity: &str) -> String {
        let h = create_hazard(&self.f, &mut self.insp, severity).await;
        h["id"].as_str().unwrap().to_owned()
    }

    async fn photo(&self, token: &str, n: u32) -> Uuid {
        self.f
            .app
            .upload_photo(token, &plain_jpeg(20 + n, 14))
            .await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.f.app.post(path, token, body).await
    }

    async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.f
            .app
            .send(self.f.app.req(Method::PUT, path, Some(token)).json(&body))
            .await
    }

    async fn get_hazard(&self, id: &str) -> Value {
        let (s, b) = self
            .f
            .app
            .get(&format!("/api/v1/hazards/{id}"), &self.f.admin)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    async fn rectify(&self, id: &str, token: &str, photos: &[Uuid]) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/hazards/{id}/rectifications"),
            token,
            json!({"description": "已清理配电箱前杂物，划定警戒线", "photo_ids": photos}),
        )
        .await
    }

    async fn review(
        &self,
        id: &str,
        token: &str,
        decision: &str,
        comment: &str,
    ) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/hazards/{id}/review"),
            token,
            json!({"decision": decision, "comment": comment}),
        )
        .await
    }
}

fn code(s: StatusCode, b: &Value) -> (u16, String) {
    (s.as_u16(), envelope_code(b))
}

#[tokio::test]
async fn an_enterprise_rectifies_and_the_inspector_closes_after_a_rejection() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    let p1 = c.photo(&c.ent, 1).await;
    let (s, r) = c.rectify(&id, &c.ent, &[p1]).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["hazard_id"], id.as_str());
    assert_eq!(r["photo_ids"], json!([p1]));
    assert!(r["submitted_at"].is_string() && r["submitted_by"].is_string());
    let h = c.get_hazard(&id).await;
    assert_eq!(h["status"], "submitted");
    // The same hazard can't be submitted twice.
    let p2 = c.photo(&c.ent, 2).await;
    let (s, b) = c.rectify(&id, &c.ent, &[p2]).await;
    assert_eq!(code(s, &b), (409, "invalid_transition".into()));
    // A rejection says why.
    let (s, b) = c.review(&id, &c.insp.token, "reject", " ").await;
    assert_invalid(s, &b, Some(("comment", &["required"])));
    let (s, b) = c
        .review(&id, &c.insp.token, "reject", "照片看不清警戒线")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "open");
    assert!(b["closed_at"].is_null());
    // Fixed again, with the photo the failed attempt left unattached.
    let (s, _) = c.rectify(&id, &c.ent, &[p2]).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = c.review(&id, &c.insp.token, "accept", "").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "closed");
    assert!(b["closed_at"].is_string());
    let actions: Vec<&str> = b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "rectification",
            "review.reject",
            "rectification",
            "review.accept"
        ]
    );
    assert_eq!(b["history"][1]["photo_ids"], json!([p1]));
    assert_eq!(b["history"][2]["comment"], "照片看不清警戒线");
    // Closed is final.
    let (s, b) = c.review(&id, &c.office.token, "reject", "再看看").await;
    assert_eq!(code(s, &b), (409, "invalid_transition".into()));
    // The enterprise sees its after-photos; the other enterprise sees nothing.
    let (s, _) = c.f.app.get(&format!("/api/v1/photos/{p1}"), &c.ent).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c.f.app.get(&format!("/api/v1/photos/{p1}"), &c.other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Pull carries the rectifications to the enterprise and the inspector.
    for token in [&c.ent, &c.insp.token] {
        let d = Device::new(token.clone());
        let (changes, _) = c.f.app.pull_all(&d, None).await;
        let rects: Vec<&Value> = changes
            .iter()
            .filter(|x| x["entity_type"] == "rectification")
            .collect();
        assert_eq!(rects.len(), 2, "{rects:?}");
        assert_eq!(rects[0]["data"]["hazard_id"], id.as_str());
    }
    let d = Device::new(c.other.clone());
    let (changes, _) = c.f.app.pull_all(&d, None).await;
    assert!(!changes.iter().any(|x| x["entity_type"] == "rectification"));
    // Every step is on the audit trail.
    let (_, audit) =
        c.f.app
            .get(
                &format!("/api/v1/audit?entity_type=hazard&entity_id={id}&limit=100"),
                &c.f.admin,
            )
            .await;
    let acts: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "hazard.rectification",
        "hazard.review.reject",
        "hazard.review.accept",
    ] {
        assert!(acts.contains(&a), "{a} missing from {acts:?}");
    }
}

#[tokio::test]
async fn refusals_come_scope_then_role_then_body_then_state() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    let bad = json!({"decision": "maybe"});
    let path = format!("/api/v1/hazards/{id}/review");
    // Out of scope, with a bad body: 404.
    let (s, b) = c.post(&path, &c.other, bad.clone()).await;
    assert_eq!(code(s, &b), (404, "not_found".into()));
    let (s, b) = c
        .post(
            &format!("/api/v1/hazards/{}/review", Uuid::now_v7()),
            &c.office.token,
            bad.clone(),
        )
        .await;
    assert_eq!(code(s, &b), (404, "not_found".into()));
    // In scope, a role that may not review, with a bad body: 403.
    let (s, b) = c.post(&path, &c.ent, bad.clone()).await;
    assert_eq!(code(s, &b), (403, "forbidden".into()));
    // May review, bad body: 422; good body on an open hazard: 409.
    let (s, b) = c.post(&path, &c.insp.token, bad).await;
    assert_invalid(s, &b, None);
    assert!(
        b["error"]["details"]["fields"]["decision"].is_array(),
        "{b}"
    );
    let (s, b) = c.review(&id, &c.insp.token, "accept", "").await;
    assert_eq!(code(s, &b), (409, "invalid_transition".into()));
    // Not JSON at all: refused only after scope and role.
    let req =
        c.f.app
            .req(Method::POST, &path, Some(&c.other))
            .header("content-type", "text/plain")
            .body("accept");
    assert_eq!(c.f.app.send(req).await.0, StatusCode::NOT_FOUND);
    let req =
        c.f.app
            .req(Method::POST, &path, Some(&c.insp.token))
            .header("content-type", "text/plain")
            .body("accept");
    assert_eq!(
        c.f.app.send(req).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // The office may not submit an enterprise's rectification; another
    // enterprise doesn't learn the hazard exists.
    let (s, b) = c.rectify(&id, &c.office.token, &[]).await;
    assert_eq!(code(s, &b), (403, "forbidden".into()));
    let (s, b) = c.rectify(&id, &c.other, &[]).await;
    assert_eq!(code(s, &b), (404, "not_found".into()));
    // Nothing was written by any of these.
    assert_eq!(c.get_hazard(&id).await["version"], 1);
    assert_eq!(c.f.app.count("rectifications").await, 0);
}

#[tokio::test]
async fn photos_listed_by_a_command_are_checked_as_part_of_the_body() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    // None: a rectification proves itself with at least one photo.
    let (s, b) = c.rectify(&id, &c.ent, &[]).await;
    assert_invalid(s, &b, Some(("photo_ids", &["required"])));
    // Unknown.
    let (s, b) = c.rectify(&id, &c.ent, &[Uuid::now_v7()]).await;
    assert_invalid(s, &b, Some(("photo_ids", &["not_found"])));
    // Another enterprise's photo, not attached: invisible, so unknown.
    let theirs = c.photo(&c.other, 3).await;
    let (s, b) = c.rectify(&id, &c.ent, &[theirs]).await;
    assert_invalid(s, &b, Some(("photo_ids", &["not_found"])));
    // Declared but its bytes never came.
    let (s, d) = c
        .post(
            "/api/v1/photos",
            &c.ent,
            json!({"id": Uuid::now_v7(), "sha256": "ab".repeat(32), "size": 1000, "content_type": "image/jpeg"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let pending: Uuid = d["id"].as_str().unwrap().parse().unwrap();
    let (s, b) = c.rectify(&id, &c.ent, &[pending]).await;
    assert_invalid(s, &b, Some(("photo_ids", &["not_uploaded"])));
    // Listed twice.
    let mine = c.photo(&c.ent, 4).await;
    let (s, b) = c.rectify(&id, &c.ent, &[mine, mine]).await;
    assert_invalid(s, &b, Some(("photo_ids", &["duplicate"])));
    // A photo the enterprise sees but another record lists: 409.
    let h2 = create_hazard(&c.f, &mut c.insp, "general").await;
    let h2_id = h2["id"].as_str().unwrap();
    let (s, _) = c.rectify(h2_id, &c.ent, &[mine]).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = c.rectify(&id, &c.ent, &[mine]).await;
    assert_eq!(code(s, &b), (409, "conflict".into()));
    // The body's photo problems come before the hazard's state.
    let (s, b) = c.rectify(h2_id, &c.ent, &[Uuid::now_v7()]).await;
    assert_invalid(s, &b, Some(("photo_ids", &["not_found"])));
    assert_eq!(c.get_hazard(&id).await["status"], "open");
}

#[tokio::test]
async fn a_major_hazard_is_closed_by_the_office_with_a_complete_plan() {
    let mut c = cycle().await;
    let id = c.hazard("major").await;
    let plan_path = format!("/api/v1/hazards/{id}/plan");
    let p = c.photo(&c.ent, 6).await;
    assert_eq!(c.rectify(&id, &c.ent, &[p]).await.0, StatusCode::CREATED);
    // An inspector may not close a major hazard.
    let (s, b) = c.review(&id, &c.insp.token, "accept", "").await;
    assert_eq!(code(s, &b), (403, "forbidden".into()));
    let (s, b) = c.review(&id, &c.office.token, "accept", "").await;
    assert_eq!(code(s, &b), (409, "invalid_transition".into()));
    assert_eq!(b["error"]["details"]["missing"], "plan");
    // A plan with a part missing is stored, and still not enough.
    let mut plan = json!({"objectives": "消除重大火灾隐患", "measures": "更换防火门，增设喷淋",
        "funding": "企业自筹12万元", "organisation": "总经理负责，安全员落实",
        "timeline": "2027年1月31日前完成", "safety_measures": ""});
    let (s, b) = c.put(&plan_path, &c.ent, plan.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["plan"]["funding"], "企业自筹12万元");
    let (s, b) = c.review(&id, &c.office.token, "accept", "").await;
    assert_eq!(b["error"]["details"]["missing"], "plan", "{s} {b}");
    // Inspectors don't write plans; other enterprises don't see the hazard.
    let (s, _) = c.put(&plan_path, &c.insp.token, plan.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c.put(&plan_path, &c.other, plan.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = c.put(&plan_path, &c.ent, json!({"objectives": 5})).await;
    assert_invalid(s, &b, None);
    plan["safety_measures"] = json!("制定专项应急预案，施工期间设专人监护");
    let (s, _) = c.put(&plan_path, &c.ent, plan.clone()).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = c
        .review(&id, &c.office.token, "accept", "资料齐全，同意销号")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "closed");
    // A closed hazard's plan is history.
    let (s, b) = c.put(&plan_path, &c.ent, plan).await;
    assert_eq!(code(s, &b), (409, "invalid_transition".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_extension_request_at_a_time_and_approval_moves_the_deadline() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    let h = c.get_hazard(&id).await;
    let deadline: chrono::NaiveDate = h["deadline"].as_str().unwrap().parse().unwrap();
    let later = |days| (deadline + chrono::Days::new(days)).to_string();
    let path = format!("/api/v1/hazards/{id}/extension-requests");
    let ask = |date: String| json!({"requested_deadline": date, "reason": "防火门厂家供货延迟"});
    // Not later than the deadline: 422.
    let (s, b) = c.post(&path, &c.ent, ask(deadline.to_string())).await;
    assert_invalid(s, &b, Some(("requested_deadline", &["not_after_deadline"])));
    // Inspectors don't ask; the other enterprise doesn't see it.
    assert_eq!(
        c.post(&path, &c.insp.token, ask(later(10))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.post(&path, &c.other, ask(later(10))).await.0,
        StatusCode::NOT_FOUND
    );
    // A burst of requests: exactly one is taken.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..6 {
        let app_url = path.clone();
        let token = c.ent.clone();
        let body = ask(later(10 + i));
        let client =
            c.f.app
                .req(Method::POST, &app_url, Some(&token))
                .json(&body);
        set.spawn(async move {
            let r = client.send().await.unwrap();
            r.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    let (pending, _) = c.f.app.pull_all(&Device::new(c.ent.clone()), None).await;
    let requests: Vec<&Value> = pending
        .iter()
        .filter(|x| x["entity_type"] == "extension_request")
        .collect();
    assert_eq!(requests.len(), 1);
    let req = &requests[0]["data"];
    assert_eq!(req["status"], "pending");
    let until = req["requested_deadline"].as_str().unwrap().to_owned();
    let rid = req["id"].as_str().unwrap().to_owned();
    let decide = format!("/api/v1/extension-requests/{rid}/decision");
    // Only the office decides.
    assert_eq!(
        c.post(&decide, &c.ent, json!({"decision": "approve"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.post(&decide, &c.insp.token, json!({"decision": "approve"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, b) = c
        .post(
            &decide,
            &c.office.token,
            json!({"decision": "approve", "comment": "同意"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "approved");
    assert!(b["decided_by"].is_string() && b["decided_at"].is_string());
    let h = c.get_hazard(&id).await;
    assert_eq!(h["deadline"], until.as_str());
    let last = h["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "extension.approve");
    // Decided once.
    let (s, b) = c
        .post(&decide, &c.office.token, json!({"decision": "deny"}))
        .await;
    assert_eq!(code(s, &b), (409, "conflict".into()));
    // A new request must go past the new deadline; a denial leaves it.
    let until_date: chrono::NaiveDate = until.parse().unwrap();
    let (s, b) = c.post(&path, &c.ent, ask(until.clone())).await;
    assert_invalid(s, &b, Some(("requested_deadline", &["not_after_deadline"])));
    let (s, b) = c
        .post(
            &path,
            &c.ent,
            ask((until_date + chrono::Days::new(30)).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let rid = b["id"].as_str().unwrap();
    let (s, b) = c
        .post(
            &format!("/api/v1/extension-requests/{rid}/decision"),
            &c.office.token,
            json!({"decision": "deny", "comment": "不符合延期条件"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "denied");
    assert_eq!(c.get_hazard(&id).await["deadline"], until.as_str());
    // Unknown request: 404.
    let (s, _) = c
        .post(
            &format!("/api/v1/extension-requests/{}/decision", Uuid::now_v7()),
            &c.office.token,
            json!({"decision": "deny"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_needs_a_reason_and_parallel_reviews_close_once() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    let path = format!("/api/v1/hazards/{id}/cancel");
    let (s, b) = c.post(&path, &c.office.token, json!({"reason": ""})).await;
    assert_invalid(s, &b, Some(("reason", &["required"])));
    assert_eq!(
        c.post(&path, &c.insp.token, json!({"reason": "重复登记"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, b) = c
        .post(&path, &c.office.token, json!({"reason": "重复登记"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "cancelled");
    let (s, b) = c
        .post(&path, &c.office.token, json!({"reason": "重复登记"}))
        .await;
    assert_eq!(code(s, &b), (409, "invalid_transition".into()));
    // Six reviewers at once: one closes, the others find it closed.
    let id = c.hazard("general").await;
    let p = c.photo(&c.ent, 7).await;
    assert_eq!(c.rectify(&id, &c.ent, &[p]).await.0, StatusCode::CREATED);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let r =
            c.f.app
                .req(
                    Method::POST,
                    &format!("/api/v1/hazards/{id}/review"),
                    Some(&c.office.token),
                )
                .json(&json!({"decision": "accept"}));
        set.spawn(async move { r.send().await.unwrap().status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409]);
    let h = c.get_hazard(&id).await;
    assert_eq!(h["history"].as_array().unwrap().len(), 3, "{h}");
}

#[tokio::test]
async fn protected_fields_in_a_body_change_nothing() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    let p = c.photo(&c.ent, 8).await;
    let forged = Uuid::now_v7();
    let (s, r) = c
        .post(
            &format!("/api/v1/hazards/{id}/rectifications"),
            &c.ent,
            json!({"id": forged, "hazard_id": Uuid::now_v7(), "submitted_by": Uuid::now_v7(),
                "status": "closed", "version": 99, "enterprise_id": c.f.ents[1][0]["id"],
                "description": "整改完毕", "photo_ids": [p]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_ne!(r["id"], json!(forged));
    assert_eq!(r["hazard_id"], id.as_str());
    assert_eq!(r["enterprise_id"], c.f.ents[0][0]["id"]);
    assert_eq!(r["version"], 1);
    let (_, me) = c.f.app.get("/api/v1/me", &c.ent).await;
    assert_eq!(r["submitted_by"], me["id"]);
    let h = c.get_hazard(&id).await;
    assert_eq!(h["status"], "submitted");
    let (s, b) = c
        .post(
            &format!("/api/v1/hazards/{id}/review"),
            &c.office.token,
            json!({"decision": "reject", "comment": "重拍", "status": "closed", "version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "open");
}

#[tokio::test]
async fn an_inspector_records_a_rectification_on_site_and_closes_it_in_one_push() {
    let mut c = cycle().await;
    let id = c.hazard("general").await;
    let bytes = plain_jpeg(33, 21);
    let photo = Uuid::now_v7();
    let rid = Uuid::now_v7();
    let d = &mut c.insp;
    let batch = vec![
        d.mutation(
            "photo.declare",
            None,
            json!({"id": photo, "sha256": anjian_tests::corpus::sha(&bytes), "size": bytes.len(), "content_type": "image/jpeg"}),
        ),
        d.mutation(
            "rectification.create",
            None,
            json!({"id": rid, "hazard_id": id, "description": "现场已整改", "photo_ids": [photo]}),
        ),
        d.mutation(
            "hazard.review",
            None,
            json!({"id": id, "decision": "accept", "comment": "现场复查合格"}),
        ),
        // Another enterprise's hazard is not the inspector's to touch.
        d.mutation(
            "rectification.create",
            None,
            json!({"id": Uuid::now_v7(), "hazard_id": Uuid::now_v7(), "description": "x", "photo_ids": [photo]}),
        ),
    ];
    let (s, b) = c.f.app.push(&c.insp, batch).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let r = &b["results"];
    assert_eq!(r[1]["status"], "applied", "{b}");
    assert_eq!(r[1]["entity_type"], "rectification");
    assert_eq!(r[1]["entity_id"], rid.to_string());
    assert_eq!(r[2]["status"], "applied", "{b}");
    assert_eq!(r[3]["status"], "rejected");
    assert_eq!(r[3]["error"]["code"], "not_found");
    assert_eq!(c.get_hazard(&id).await["status"], "closed");
    // The phone's replica gets the rectification.
    let (changes, _) =
        c.f.app
            .pull_all(&Device::new(c.insp.token.clone()), None)
            .await;
    assert!(
        changes
            .iter()
            .any(|x| x["entity_type"] == "rectification" && x["entity_id"] == rid.to_string())
    );
}
