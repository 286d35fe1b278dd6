//! Villages, enterprises, templates, campaigns: reads through the scope check,
//! writes through the one write path.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::collections::HashSet;

use anjian_domain::CreditCode;
use anjian_tests::{TestApp, envelope_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn admin_pages_through_exactly_3152_valid_unique_enterprises() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let all = app.all("/api/v1/enterprises", &admin).await;
    assert_eq!(all.len(), 3152);
    let codes: HashSet<&str> = all
        .iter()
        .map(|e| e["credit_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 3152);
    assert!(codes.iter().all(|c| CreditCode::parse(c).is_ok()));
    let ids: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3152, "pages overlap");
    let e = &all[0];
    for f in [
        "credit_code",
        "name",
        "address",
        "village_id",
        "industry_code",
        "scale",
        "risk_tags",
        "status",
        "contact_name",
        "contact_phone",
        "location",
        "version",
    ] {
        assert!(e.get(f).is_some(), "missing {f} in {e}");
    }
}

#[tokio::test]
async fn reference_data_is_seeded() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, v) = app.get("/api/v1/villages", &admin).await;
    assert_eq!(s, StatusCode::OK);
    let villages = v["items"].as_array().unwrap();
    assert_eq!(villages.len(), 12);
    assert!(villages.iter().any(|v| v["name"] == "空港一村"));
    let (_, t) = app.get("/api/v1/templates", &admin).await;
    let templates = t["items"].as_array().unwrap();
    assert!(templates.len() >= 8);
    for t in templates {
        let items = t["items"].as_array().unwrap();
        assert!(
            (10..=30).contains(&items.len()),
            "{} has {}",
            t["code"],
            items.len()
        );
        for it in items {
            for f in [
                "code",
                "category",
                "text",
                "guidance",
                "legal_basis",
                "severity_hint",
                "photo_required_on_fail",
            ] {
                assert!(!it[f].is_null(), "{f} missing in {it}");
            }
        }
    }
    let id = templates[0]["id"].as_str().unwrap();
    let (s, one) = app.get(&format!("/api/v1/templates/{id}"), &admin).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["id"], templates[0]["id"]);
    let (_, c) = app.get("/api/v1/campaigns", &admin).await;
    let campaigns = c["items"].as_array().unwrap();
    assert!(
        campaigns
            .iter()
            .any(|c| c["name"].as_str().unwrap().contains("危污乱散低"))
    );
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, v) = app.get("/api/v1/villages", &admin).await;
    let village = v["items"][0]["id"].as_str().unwrap().to_owned();
    let in_village = app
        .all(&format!("/api/v1/enterprises?village_id={village}"), &admin)
        .await;
    assert!(!in_village.is_empty());
    assert!(
        in_village
            .iter()
            .all(|e| e["village_id"] == village.as_str())
    );
    let dusty = app.all("/api/v1/enterprises?risk_tag=dust", &admin).await;
    assert!(!dusty.is_empty());
    assert!(
        dusty
            .iter()
            .all(|e| e["risk_tags"].as_array().unwrap().contains(&json!("dust")))
    );
    let closed = app.all("/api/v1/enterprises?status=closed", &admin).await;
    assert!(closed.iter().all(|e| e["status"] == "closed"));
    let some = &in_village[0];
    let name = some["name"].as_str().unwrap();
    let q: String = name.chars().skip(2).take(4).collect();
    let found = app
        .all(&format!("/api/v1/enterprises?q={}", urlencode(&q)), &admin)
        .await;
    assert!(found.iter().any(|e| e["id"] == some["id"]));
    let (s, b) = app.get("/api/v1/enterprises?risk_tag=ghosts", &admin).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn village_ids(app: &TestApp, token: &str) -> Vec<String> {
    let (_, v) = app.get("/api/v1/villages", token).await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn inspector_sees_only_assigned_villages_and_404_elsewhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let villages = village_ids(&app, &admin).await;
    app.create_user(
        &admin,
        json!({"username": "insp1", "display_name": "网格员一", "role": "inspector",
        "village_ids": [villages[0]], "password": "inspector-pass-1"}),
    )
    .await;
    let insp = app.login("insp1", "inspector-pass-1").await;
    let mine = app.all("/api/v1/enterprises", &insp).await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e["village_id"] == villages[0].as_str()));
    let other = app
        .all(
            &format!("/api/v1/enterprises?village_id={}", villages[1]),
            &admin,
        )
        .await;
    let (s, b) = app
        .get(
            &format!("/api/v1/enterprises/{}", other[0]["id"].as_str().unwrap()),
            &insp,
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (s, _) = app
        .get(
            &format!("/api/v1/enterprises/{}", mine[0]["id"].as_str().unwrap()),
            &insp,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Filtering for the other village yields nothing rather than leaking it.
    let leaked = app
        .all(
            &format!("/api/v1/enterprises?village_id={}", villages[1]),
            &insp,
        )
        .await;
    assert!(leaked.is_empty());
}

#[tokio::test]
async fn enterprise_user_sees_only_its_own() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, page) = app.get("/api/v1/enterprises?limit=2", &admin).await;
    let own = page["items"][0]["id"].as_str().unwrap().to_owned();
    let other = page["items"][1]["id"].as_str().unwrap().to_owned();
    app.create_user(
        &admin,
        json!({"username": "ent1", "display_name": "企业安全员", "role": "enterprise",
        "enterprise_id": own, "password": "enterprise-pass-1"}),
    )
    .await;
    let ent = app.login("ent1", "enterprise-pass-1").await;
    let visible = app.all("/api/v1/enterprises", &ent).await;
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0]["id"], own.as_str());
    let (s, _) = app.get(&format!("/api/v1/enterprises/{other}"), &ent).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // And it may not write.
    let (s, b) = app
        .patch(
            &format!("/api/v1/enterprises/{own}"),
            &ent,
            json!({"name": "改名"}),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
}

fn new_enterprise(village: &str, code: &str) -> Value {
    json!({"credit_code": code, "name": "常州测试精密机械有限公司", "address": "新北区罗溪镇空港一村1号",
        "village_id": village, "industry_code": "C3484", "scale": "below", "risk_tags": ["dust"],
        "contact_name": "张伟", "contact_phone": "13912345678", "location": {"lat": 31.75, "lon": 118.86}})
}

/// A valid credit code that is not on the seeded roster.
fn fresh_code(n: u32) -> String {
    CreditCode::complete(&format!("91320411MA9T{n:05}"))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn create_then_patch_with_if_match() {
    let app = TestApp::spawn().await;
    let office_pw = "office-pass-123";
    let admin = app.admin().await;
    app.create_user(&admin, json!({"username": "office1", "display_name": "安监办", "role": "office", "password": office_pw})).await;
    let office = app.login("office1", office_pw).await;
    let villages = village_ids(&app, &office).await;
    let before_audit = app.count("audit_log").await;
    let before_feed = app.count("change_feed").await;
    let (s, e) = app
        .post(
            "/api/v1/enterprises",
            &office,
            new_enterprise(&villages[0], &fresh_code(1)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["version"], 1);
    assert_eq!(e["status"], "operating");
    let id = e["id"].as_str().unwrap();
    assert_eq!(app.count("audit_log").await, before_audit + 1);
    assert_eq!(app.count("change_feed").await, before_feed + 1);

    let patch = |v: &str, body: Value| {
        app.req(
            Method::PATCH,
            &format!("/api/v1/enterprises/{id}"),
            Some(&office),
        )
        .header("If-Match", v)
        .json(&body)
    };
    let (s, e2) = app
        .send(patch(
            "1",
            json!({"name": "常州测试精密机械股份有限公司", "location": null}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{e2}");
    assert_eq!(e2["version"], 2);
    assert_eq!(e2["location"], Value::Null);
    let (s, b) = app.send(patch("1", json!({"name": "过期的修改"}))).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::CONFLICT, "version_mismatch")
    );
    assert_eq!(b["error"]["details"]["current_version"], 2);
    let (_, now) = app.get(&format!("/api/v1/enterprises/{id}"), &office).await;
    assert_eq!(now["name"], "常州测试精密机械股份有限公司");
    // Invalid changes are rejected with field reasons and change nothing.
    let (s, b) = app
        .send(patch("2", json!({"scale": "huge", "contact_phone": "12"})))
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert!(b["error"]["details"]["fields"]["scale"].is_array());
    assert!(b["error"]["details"]["fields"]["contact_phone"].is_array());
    let (_, same) = app.get(&format!("/api/v1/enterprises/{id}"), &office).await;
    assert_eq!(same["version"], 2);
    // The audit trail has both writes with before and after.
    let (s, audit) = app
        .get(
            &format!("/api/v1/audit?entity_type=enterprise&entity_id={id}"),
            &office,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["before"]["version"], 1);
    assert_eq!(items[1]["after"]["version"], 2);
    assert!(items[1]["request_id"].as_str().is_some());
}

#[tokio::test]
async fn bad_enterprises_are_rejected_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let villages = village_ids(&app, &admin).await;
    let (_, page) = app.get("/api/v1/enterprises?limit=1", &admin).await;
    let existing = page["items"].as_array().unwrap();
    let taken = existing[0]["credit_code"].as_str().unwrap();
    let before = app.count("enterprises").await;
    let audit = app.count("audit_log").await;
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            new_enterprise(&villages[0], "91320411MA9T000010"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            new_enterprise(&villages[0], taken),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            new_enterprise("0190f0a0-0000-7000-8000-000000000000", &fresh_code(2)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"name": "缺字段"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!([1, 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = app.post("/api/v1/enterprises", &admin, body.clone()).await;
        assert_eq!(
            (s, envelope_code(&b).as_str()),
            (status, code),
            "{body} → {b}"
        );
    }
    let mut extra = new_enterprise(&villages[0], &fresh_code(3));
    extra["surprise"] = json!(1);
    let (s, b) = app.post("/api/v1/enterprises", &admin, extra).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        b["error"]["details"]["fields"]["surprise"][0],
        "unknown_field"
    );
    assert_eq!(app.count("enterprises").await, before);
    assert_eq!(app.count("audit_log").await, audit);
}

#[tokio::test]
async fn csv_import_creates_updates_and_rejects_rows_independently() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, page) = app.get("/api/v1/enterprises?limit=2", &admin).await;
    let existing = page["items"].as_array().unwrap();
    let e0 = &existing[0];
    let e1 = &existing[1];
    let (_, vs) = app.get("/api/v1/villages", &admin).await;
    let code_of = |id: &Value| {
        vs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == *id)
            .unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let row = |e: &Value, name: &str| {
        format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            e["credit_code"].as_str().unwrap(),
            name,
            e["address"].as_str().unwrap(),
            code_of(&e["village_id"]),
            e["industry_code"].as_str().unwrap(),
            e["scale"].as_str().unwrap(),
            e["risk_tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect::<Vec<_>>()
                .join("|"),
            e["status"].as_str().unwrap(),
            e["contact_name"].as_str().unwrap(),
            e["contact_phone"].as_str().unwrap()
        )
    };
    let mut csv = String::from(
        "统一社会信用代码,企业名称,地址,村社区,行业代码,规模,风险标签,状态,联系人,联系电话\n",
    );
    csv.push_str(&row(e0, e0["name"].as_str().unwrap())); // row 2: unchanged
    csv.push_str(&row(e1, "常州导入更名机械有限公司")); // row 3: updated
    csv.push_str(&format!("{},常州新导入五金制品有限公司,罗溪镇1号,空港二村,C3389,below,dust|vocs,operating,李娜,13812345678\n", fresh_code(4))); // row 4: created
    csv.push_str(
        "91320411MA9T000010,坏代码公司,某地,空港二村,C3389,below,,operating,李娜,13812345678\n",
    ); // row 5: bad checksum
    csv.push_str(&format!(
        "{},未知村公司,某地,火星村,C3389,below,,operating,李娜,13812345678\n",
        fresh_code(5)
    )); // row 6: unknown village
    csv.push_str(&format!(
        "{},重复行公司,某地,空港二村,C3389,below,,operating,李娜,13812345678\n",
        fresh_code(4)
    )); // row 7: duplicate
    let before = app.count("enterprises").await;
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header("content-type", "text/csv")
                .body(csv.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["created"].as_u64(),
            b["updated"].as_u64(),
            b["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{b}"
    );
    let rejected: Vec<u64> = b["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [5, 6, 7]);
    assert_eq!(b["rejected"][0]["errors"]["credit_code"][0], "checksum");
    assert_eq!(b["rejected"][1]["errors"]["village"][0], "unknown");
    assert_eq!(app.count("enterprises").await, before + 1);
    let (_, e1_now) = app
        .get(
            &format!("/api/v1/enterprises/{}", e1["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(e1_now["name"], "常州导入更名机械有限公司");
    assert_eq!(e1_now["version"], e1["version"].as_i64().unwrap() + 1);
    // Importing the same file again changes nothing more.
    let (_, b2) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    assert_eq!(
        (
            b2["created"].as_u64(),
            b2["updated"].as_u64(),
            b2["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(3))
    );
}

#[tokio::test]
async fn xlsx_import_reads_the_first_sheet() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let head = [
        "credit_code",
        "name",
        "address",
        "village",
        "industry_code",
        "scale",
        "risk_tags",
        "status",
        "contact_name",
        "contact_phone",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let code = fresh_code(6);
    let row = [
        code.as_str(),
        "常州表格导入塑料制品厂",
        "罗溪镇2号",
        "320411108003",
        "C2929",
        "below",
        "vocs",
        "operating",
        "王芳",
    ];
    for (c, v) in row.iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    ws.write_number(1, 9, 13912345678.0).unwrap(); // phones often arrive as numbers
    let bytes = wb.save_to_buffer().unwrap();
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header(
                    "content-type",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
                .body(bytes),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["created"], 1, "{b}");
    let found = app
        .all(&format!("/api/v1/enterprises?q={code}"), &admin)
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["contact_phone"], "13912345678");
}

#[tokio::test]
async fn import_rejects_wrong_types_and_missing_columns() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header("content-type", "image/png")
                .body("x"),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header("content-type", "text/csv")
                .body("name,address\nx,y\n"),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert!(
        b["error"]["details"]["fields"]["file"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "missing_column:credit_code")
    );
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header("content-type", "application/octet-stream")
                .body(b"PK\x03\x04garbage".to_vec()),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let inspector_forbidden = app.login_full("admin", "wrong-password").await.0;
    assert_eq!(inspector_forbidden, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn campaigns_are_created_by_office_only_and_validated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let villages = village_ids(&app, &admin).await;
    let (_, t) = app.get("/api/v1/templates", &admin).await;
    let tid = t["items"][0]["id"].as_str().unwrap();
    let body = json!({"name": "2027年春节前安全大检查", "starts_on": "2027-01-10", "ends_on": "2027-02-10",
        "template_ids": [tid], "target": {"village_ids": [villages[0]], "risk_tags": ["gas"]}});
    let (s, c) = app.post("/api/v1/campaigns", &admin, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["target"]["risk_tags"][0], "gas");
    let (s, one) = app
        .get(
            &format!("/api/v1/campaigns/{}", c["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(
        (s, one["name"].clone()),
        (StatusCode::OK, body["name"].clone())
    );
    let mut bad = body.clone();
    bad["ends_on"] = json!("2026-01-01");
    bad["template_ids"] = json!(["0190f0a0-0000-7000-8000-000000000000"]);
    let (s, b) = app.post("/api/v1/campaigns", &admin, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &b["error"]["details"]["fields"];
    assert!(
        fields["ends_on"].is_array() && fields["template_ids"].is_array(),
        "{b}"
    );
    app.create_user(
        &admin,
        json!({"username": "insp2", "display_name": "网格员", "role": "inspector",
        "village_ids": [villages[0]], "password": "inspector-pass-2"}),
    )
    .await;
    let insp = app.login("insp2", "inspector-pass-2").await;
    let (s, _) = app.post("/api/v1/campaigns", &insp, body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_collection_pages_with_limit_and_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for path in [
        "/api/v1/villages",
        "/api/v1/templates",
        "/api/v1/campaigns",
        "/api/v1/users",
    ] {
        let whole = app.all(path, &admin).await;
        assert!(!whole.is_empty(), "{path}");
        // One at a time, following the cursor, gives the same items in the same order.
        let mut one_by_one = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let p = match &cursor {
                Some(c) => format!("{path}?limit=1&cursor={c}"),
                None => format!("{path}?limit=1"),
            };
            let (s, b) = app.get(&p, &admin).await;
            assert_eq!(s, StatusCode::OK, "{p}: {b}");
            let items = b["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{p}: {b}");
            one_by_one.push(items[0].clone());
            match b["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(one_by_one, whole, "{path}");
        let (s, b) = app.get(&format!("{path}?limit=0"), &admin).await;
        assert_eq!(
            (s, envelope_code(&b)),
            (StatusCode::BAD_REQUEST, "invalid_request".into()),
            "{path}"
        );
        let (s, _) = app.get(&format!("{path}?cursor=forged"), &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
    }
}
