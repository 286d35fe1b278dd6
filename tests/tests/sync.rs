//! Offline sync: exactly-once push, conflicts, and a pull that never skips.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::collections::{BTreeMap, HashSet};

use anjian_tests::field::{create_hazard, field, field_on, first, hazard, results, submit};
use anjian_tests::{Device, envelope_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn a_push_applies_in_order_and_a_repeat_is_replayed_not_reapplied() {
    let f = field().await;
    let mut d = f.inspector("insp_a", 0).await;
    let e = &f.ents[0][0];
    let (_, t) = f.app.get("/api/v1/templates", &f.admin).await;
    let tpl = &t["items"][0];
    let photo = Uuid::now_v7();
    let inspection = Uuid::now_v7();
    let item = tpl["items"][0]["code"].clone();
    let mut h = hazard(e, "general");
    h["inspection_id"] = json!(inspection);
    h["photo_ids"] = json!([photo]);
    let batch = vec![
        d.mutation("photo.declare", None, json!({"id": photo, "sha256": "a".repeat(64), "size": 1000, "content_type": "image/jpeg"})),
        d.mutation("inspection.create", None, json!({"id": inspection, "enterprise_id": e["id"], "template_id": tpl["id"],
            "template_version": tpl["version"], "started_at": "2026-11-27T01:00:00Z", "finished_at": "2026-11-27T02:30:00Z",
            "results": [{"item_code": item, "outcome": "fail", "note": "见隐患"}], "summary": "发现一般隐患1项"})),
        d.mutation("hazard.create", None, h.clone()),
    ];
    let hazards0 = f.app.count("hazards").await;
    let (s, b) = f.app.push(&d, batch.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        results(&b),
        [
            (1, "applied".into(), false),
            (2, "applied".into(), false),
            (3, "applied".into(), false)
        ],
        "{b}"
    );
    assert_eq!(b["last_processed_seq"], 3);
    assert_eq!(f.app.count("hazards").await, hazards0 + 1);
    // The same push again: every outcome comes back replayed, nothing is applied twice.
    let (_, again) = f.app.push(&d, batch.clone()).await;
    assert_eq!(
        results(&again),
        [
            (1, "applied".into(), true),
            (2, "applied".into(), true),
            (3, "applied".into(), true)
        ]
    );
    assert_eq!(f.app.count("hazards").await, hazards0 + 1);
    // The same seq with another payload is refused.
    let mut changed = batch[2].clone();
    changed["payload"]["title"] = json!("别的内容");
    let (_, b) = f.app.push(&d, vec![changed]).await;
    assert_eq!(b["results"][0]["status"], "rejected");
    assert_eq!(b["results"][0]["error"]["code"], "seq_reused");
    // Read it back over REST, with its deadline defaulted from found_at (Shanghai date 2026-11-27 + 15).
    let (s, hz) = f
        .app
        .get(
            &format!("/api/v1/hazards/{}", h["id"].as_str().unwrap()),
            &d.token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{hz}");
    assert_eq!(hz["deadline"], "2026-12-12");
    assert_eq!(hz["status"], "open");
    assert_eq!(hz["photo_ids"], json!([photo]));
    assert_eq!(hz["history"][0]["action"], "create");
    let (_, ins) = f
        .app
        .get(&format!("/api/v1/inspections/{inspection}"), &d.token)
        .await;
    assert_eq!(ins["results"][0]["outcome"], "fail");
    let listed = f
        .app
        .all(
            &format!(
                "/api/v1/hazards?enterprise_id={}&status=open",
                e["id"].as_str().unwrap()
            ),
            &d.token,
        )
        .await;
    assert!(listed.iter().any(|x| x["id"] == h["id"]));
}

#[tokio::test]
async fn gaps_stop_processing_and_a_poison_mutation_does_not_block_the_queue() {
    let f = field().await;
    let mut d = f.inspector("insp_b", 0).await;
    let e = &f.ents[0][0];
    let m1 = d.mutation("hazard.create", None, hazard(e, "general"));
    let mut bad = hazard(e, "catastrophic");
    bad["title"] = json!("");
    let m2 = d.mutation("hazard.create", None, bad);
    let m3 = d.mutation("hazard.create", None, hazard(e, "major"));
    // seq 2 and 3 without 1: a gap, nothing is processed.
    let (_, b) = f.app.push(&d, vec![m2.clone(), m3.clone()]).await;
    assert_eq!(results(&b), []);
    assert_eq!(b["last_processed_seq"], 0);
    let (_, b) = f.app.push(&d, vec![m1, m2, m3]).await;
    assert_eq!(
        results(&b),
        [
            (1, "applied".into(), false),
            (2, "rejected".into(), false),
            (3, "applied".into(), false)
        ]
    );
    let fields = &b["results"][1]["error"]["details"]["fields"];
    assert!(
        fields["title"].is_array() && fields["severity"].is_array(),
        "{b}"
    );
    assert_eq!(b["results"][1]["error"]["code"], "validation_failed");
    assert!(b["results"][1]["error"]["message"].as_str().is_some());
    assert_eq!(b["last_processed_seq"], 3);
}

#[tokio::test]
async fn device_ownership_protocol_and_size_limits() {
    let f = field().await;
    let mut d = f.inspector("insp_c", 0).await;
    let other = f.inspector("insp_d", 0).await;
    let e = &f.ents[0][0];
    let m = d.mutation("hazard.create", None, hazard(e, "general"));
    assert_eq!(f.app.push(&d, vec![m.clone()]).await.0, StatusCode::OK);
    let thief = Device {
        id: d.id,
        token: other.token.clone(),
        next_seq: 2,
    };
    let (s, b) = f.app.push(&thief, vec![]).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (s, b) = f
        .app
        .get(
            &format!("/api/v1/sync/pull?device_id={}", d.id),
            &other.token,
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (s, b) = f
        .app
        .post(
            "/api/v1/sync/push",
            &d.token,
            json!({"device_id": d.id, "protocol": 2, "mutations": []}),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UPGRADE_REQUIRED, "upgrade_required")
    );
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"seq": i + 2, "type": "photo.declare", "payload": {}}))
        .collect();
    let (s, b) = f
        .app
        .post(
            "/api/v1/sync/push",
            &d.token,
            json!({"device_id": d.id, "protocol": 1, "mutations": many}),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (_, b) = f
        .app
        .get(&format!("/api/v1/sync/pull?device_id={}", d.id), &d.token)
        .await;
    assert_eq!(b["last_processed_seq"], 1);
}

#[tokio::test]
async fn references_are_checked_against_scope_and_role() {
    let f = field().await;
    let mut insp = f.inspector("insp_e", 0).await;
    let elsewhere = &f.ents[1][0];
    let unknown_photo = Uuid::now_v7();
    let mut with_photo = hazard(&f.ents[0][0], "general");
    with_photo["photo_ids"] = json!([unknown_photo]);
    let mut early = hazard(&f.ents[0][0], "general");
    early["deadline"] = json!("2026-11-20");
    let batch = vec![
        insp.mutation("hazard.create", None, hazard(elsewhere, "general")),
        insp.mutation("hazard.create", None, with_photo),
        insp.mutation("hazard.create", None, early),
        insp.mutation("hazard.teleport", None, json!({})),
    ];
    let (_, b) = f.app.push(&insp, batch).await;
    let codes: Vec<&str> = b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "not_found",
            "not_found",
            "validation_failed",
            "validation_failed"
        ],
        "{b}"
    );
    assert!(b["results"][2]["error"]["details"]["fields"]["deadline"].is_array());
    // An enterprise user may not record hazards.
    let own = f.ents[0][0]["id"].as_str().unwrap();
    f.app
        .create_user(&f.admin, json!({"username": "ent_x", "display_name": "企业", "role": "enterprise", "enterprise_id": own, "password": "enterprise-pass"}))
        .await;
    let mut ent = Device::new(f.app.login("ent_x", "enterprise-pass").await);
    let m = ent.mutation("hazard.create", None, hazard(&f.ents[0][0], "general"));
    let (_, b) = f.app.push(&ent, vec![m]).await;
    assert_eq!(b["results"][0]["error"]["code"], "forbidden");
}

#[tokio::test]
async fn stale_updates_merge_disjoint_fields_and_conflict_on_the_same_field() {
    let f = field().await;
    let mut a = f.inspector("insp_f", 0).await;
    let mut b = f.inspector("insp_g", 0).await;
    let h = create_hazard(&f, &mut a, "general").await;
    let id = h["id"].clone();
    // Both edit from version 1, offline.
    let (_, r) = f
        .app
        .push_one(
            &mut a,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"measures": "A的措施"}}),
        )
        .await;
    assert_eq!(first(&r, "/version"), (json!("applied"), json!(2)));
    let (_, r) = f
        .app
        .push_one(
            &mut b,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"responsible_person": "李娜"}}),
        )
        .await;
    assert_eq!(first(&r, "/version"), (json!("applied"), json!(3)), "{r}");
    let (_, r) = f
        .app
        .push_one(
            &mut b,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"measures": "B的措施"}}),
        )
        .await;
    let res = &r["results"][0];
    assert_eq!(res["status"], "conflict", "{r}");
    assert_eq!(res["server_entity"]["measures"], "A的措施");
    assert_eq!(res["server_entity"]["responsible_person"], "李娜");
    assert_eq!(res["server_entity"]["version"], 3);
    // Nothing was silently overwritten.
    let (_, now) = f
        .app
        .get(
            &format!("/api/v1/hazards/{}", id.as_str().unwrap()),
            &a.token,
        )
        .await;
    assert_eq!(
        (now["measures"].clone(), now["version"].clone()),
        (json!("A的措施"), json!(3))
    );
    // Based on the current version, the same field applies.
    let (_, r) = f
        .app
        .push_one(
            &mut b,
            "hazard.update",
            Some(3),
            json!({"id": id, "fields": {"measures": "B的措施"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied");
    let (_, r) = f
        .app
        .push_one(
            &mut b,
            "hazard.update",
            Some(4),
            json!({"id": id, "fields": {"status": "closed"}}),
        )
        .await;
    assert_eq!(r["results"][0]["error"]["code"], "validation_failed");
}

#[tokio::test]
async fn reviews_are_commands_checked_against_the_current_status() {
    let f = field().await;
    let mut insp = f.inspector("insp_h", 0).await;
    let mut office = f.office("office_h").await;
    let h = create_hazard(&f, &mut insp, "general").await;
    let id = h["id"].as_str().unwrap();
    let review = |decision: &str| json!({"id": id, "decision": decision, "comment": "复查意见"});
    // Open: nothing to review yet.
    let (_, r) = f
        .app
        .push_one(&mut insp, "hazard.review", None, review("accept"))
        .await;
    assert_eq!(
        first(&r, "/error/code"),
        (json!("conflict"), json!("invalid_transition"))
    );
    submit(&f, id).await;
    // The office closes it; the inspector's offline rejection arrives later.
    let (_, r) = f
        .app
        .push_one(&mut office, "hazard.review", None, review("accept"))
        .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let (_, r) = f
        .app
        .push_one(&mut insp, "hazard.review", None, review("reject"))
        .await;
    assert_eq!(
        first(&r, "/error/code"),
        (json!("conflict"), json!("invalid_transition"))
    );
    assert_eq!(r["results"][0]["server_entity"]["status"], "closed");
    // A major hazard is closed by the office only.
    let major = create_hazard(&f, &mut insp, "major").await;
    let mid = major["id"].as_str().unwrap();
    submit(&f, mid).await;
    let m = insp.mutation(
        "hazard.review",
        None,
        json!({"id": mid, "decision": "accept", "comment": ""}),
    );
    let (_, r) = f.app.push(&insp, vec![m]).await;
    assert_eq!(r["results"][0]["error"]["code"], "forbidden");
    // …and only with a complete governance plan.
    let m = office.mutation(
        "hazard.review",
        None,
        json!({"id": mid, "decision": "accept", "comment": ""}),
    );
    let (_, r) = f.app.push(&office, vec![m]).await;
    assert_eq!(r["results"][0]["error"]["code"], "invalid_transition");
    assert_eq!(r["results"][0]["error"]["details"]["missing"], "plan");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_pushes_from_one_device_apply_each_mutation_once() {
    let f = field().await;
    let mut d = f.inspector("insp_i", 0).await;
    let batch: Vec<Value> = (0..20)
        .map(|_| d.mutation("hazard.create", None, hazard(&f.ents[0][0], "general")))
        .collect();
    let before = f.app.count("hazards").await;
    let (r1, r2) = tokio::join!(f.app.push(&d, batch.clone()), f.app.push(&d, batch.clone()));
    assert_eq!((r1.0, r2.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(f.app.count("hazards").await, before + 20);
    let fresh = |b: &Value| {
        b["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["replayed"] == false)
            .count()
    };
    assert_eq!(fresh(&r1.1) + fresh(&r2.1), 20, "{} / {}", r1.1, r2.1);
}

fn ids_of(changes: &[Value], t: &str) -> HashSet<String> {
    changes
        .iter()
        .filter(|c| c["entity_type"] == t && c["op"] == "upsert")
        .map(|c| c["entity_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Applies changes to a replica by version, as a phone does.
fn apply(replica: &mut BTreeMap<(String, String), i64>, changes: &[Value]) {
    for c in changes {
        let key = (
            c["entity_type"].as_str().unwrap().to_owned(),
            c["entity_id"].as_str().unwrap().to_owned(),
        );
        if c["op"] == "delete" {
            replica.remove(&key);
        } else {
            let v = c["version"].as_i64().unwrap();
            let cur = replica.entry(key).or_insert(v);
            *cur = (*cur).max(v);
        }
    }
}

#[tokio::test]
async fn pull_gives_the_scope_then_only_what_changed() {
    let f = field().await;
    let mut a = f.inspector("insp_j", 0).await;
    let mut b = f.inspector("insp_k", 0).await;
    let mut far = f.inspector("insp_l", 1).await;
    let mine = create_hazard(&f, &mut a, "general").await;
    let hidden = hazard(&f.ents[1][0], "general");
    let m = far.mutation("hazard.create", None, hidden.clone());
    f.app.push(&far, vec![m]).await;
    let (changes, last) = f.app.pull_all(&a, None).await;
    assert_eq!(last["reset"], false);
    assert_eq!(last["last_processed_seq"], 1);
    assert_eq!(ids_of(&changes, "village").len(), 12);
    assert_eq!(ids_of(&changes, "template").len(), 8);
    let ents = ids_of(&changes, "enterprise");
    assert_eq!(ents.len(), f.ents[0].len());
    let hz = ids_of(&changes, "hazard");
    assert!(hz.contains(mine["id"].as_str().unwrap()));
    assert!(
        !hz.contains(hidden["id"].as_str().unwrap()),
        "another village's hazard leaked"
    );
    // Up to date: nothing more.
    let cursor = last["cursor"].as_str().unwrap().to_owned();
    let (none, last2) = f.app.pull_all(&a, Some(&cursor)).await;
    assert!(none.is_empty(), "{none:?}");
    // A colleague records and edits; only that arrives, whole and current.
    let new = create_hazard(&f, &mut b, "major").await;
    let m = b.mutation(
        "hazard.update",
        Some(1),
        json!({"id": new["id"], "fields": {"measures": "更新"}}),
    );
    f.app.push(&b, vec![m]).await;
    let (delta, _) = f
        .app
        .pull_all(&a, Some(last2["cursor"].as_str().unwrap()))
        .await;
    assert_eq!(delta.len(), 1, "{delta:?}");
    assert_eq!(delta[0]["data"]["measures"], "更新");
    assert_eq!(delta[0]["version"], 2);
    // Forged cursors reset.
    let (_, b2) = f
        .app
        .get(
            &format!("/api/v1/sync/pull?device_id={}&cursor=AAAA", a.id),
            &a.token,
        )
        .await;
    assert_eq!(b2["reset"], true);
}

#[tokio::test]
async fn a_scope_change_resets_and_revoked_records_leave() {
    let f = field().await;
    let mut a = f.inspector("insp_m", 0).await;
    let (_, first) = f.app.pull_all(&a, None).await;
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    f.move_inspector("insp_m", 1).await;
    let (changes, last) = f.app.pull_all(&a, Some(&cursor)).await;
    assert_eq!(last["reset"], true);
    let ents = ids_of(&changes, "enterprise");
    assert_eq!(ents.len(), f.ents[1].len());
    assert!(!ents.contains(f.ents[0][0]["id"].as_str().unwrap()));
    // The device was pushed to before? Not needed: scope changes alone reset.
    let m = a.mutation("hazard.create", None, hazard(&f.ents[1][0], "general"));
    let (_, r) = f.app.push(&a, vec![m]).await;
    assert_eq!(r["results"][0]["status"], "applied");
}

#[tokio::test]
async fn an_enterprise_moving_village_leaves_one_replica_and_enters_the_other() {
    let f = field().await;
    let mut a = f.inspector("insp_n", 0).await;
    let b = f.inspector("insp_o", 1).await;
    let moving = f.ents[0][0].clone();
    let h = create_hazard(&f, &mut a, "general").await;
    let mut ra = BTreeMap::new();
    let mut rb = BTreeMap::new();
    let (ca, la) = f.app.pull_all(&a, None).await;
    let (cb, lb) = f.app.pull_all(&b, None).await;
    apply(&mut ra, &ca);
    apply(&mut rb, &cb);
    let key = |t: &str, v: &Value| (t.to_owned(), v.as_str().unwrap().to_owned());
    assert!(ra.contains_key(&key("hazard", &h["id"])));
    let (s, _) = f
        .app
        .patch(
            &format!("/api/v1/enterprises/{}", moving["id"].as_str().unwrap()),
            &f.admin,
            json!({"village_id": f.villages[1]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (ca, _) = f
        .app
        .pull_all(&a, Some(la["cursor"].as_str().unwrap()))
        .await;
    let (cb, _) = f
        .app
        .pull_all(&b, Some(lb["cursor"].as_str().unwrap()))
        .await;
    apply(&mut ra, &ca);
    apply(&mut rb, &cb);
    assert!(
        !ra.contains_key(&key("hazard", &h["id"]))
            && !ra.contains_key(&key("enterprise", &moving["id"]))
    );
    assert!(
        rb.contains_key(&key("hazard", &h["id"]))
            && rb.contains_key(&key("enterprise", &moving["id"]))
    );
    assert!(
        cb.iter()
            .all(|c| c["op"] == "delete" || !c["data"].is_null())
    );
}

#[tokio::test]
async fn a_device_clock_a_day_off_changes_no_order() {
    let f = field().await;
    let mut fast = f.inspector("insp_p", 0).await;
    let mut slow = f.inspector("insp_q", 0).await;
    let reader = Device::new(f.app.admin().await);
    let (_, start) = f.app.pull_all(&reader, None).await;
    let id = create_hazard(&f, &mut fast, "general").await["id"].clone();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let mut m1 = fast.mutation(
        "hazard.update",
        Some(1),
        json!({"id": id, "fields": {"measures": "第一次"}}),
    );
    m1["client_time"] = json!(tomorrow);
    f.app.push(&fast, vec![m1]).await;
    let mut m2 = slow.mutation(
        "hazard.update",
        Some(2),
        json!({"id": id, "fields": {"measures": "第二次"}}),
    );
    m2["client_time"] = json!(yesterday);
    let (_, r) = f.app.push(&slow, vec![m2]).await;
    assert_eq!(r["results"][0]["version"], 3, "{r}");
    let (_, now) = f
        .app
        .get(
            &format!("/api/v1/hazards/{}", id.as_str().unwrap()),
            &f.admin,
        )
        .await;
    assert_eq!(
        now["measures"], "第二次",
        "server order, not device clocks, decides"
    );
    let (delta, _) = f
        .app
        .pull_all(&reader, Some(start["cursor"].as_str().unwrap()))
        .await;
    let hz: Vec<&Value> = delta.iter().filter(|c| c["entity_id"] == id).collect();
    assert_eq!(hz.last().unwrap()["version"], 3);
}

/// Several devices push creates and edits concurrently (their transactions
/// commit in any order) while a puller keeps pulling. After the writers stop
/// and a last pull, the puller's replica equals the server's state exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_puller_under_concurrent_writers_ends_equal_to_the_server() {
    let f = field().await;
    let reader_token = f.app.admin().await;
    let reader = Device::new(reader_token.clone());
    let mut writers = Vec::new();
    for i in 0..4 {
        writers.push(f.inspector(&format!("writer{i}"), 0).await);
    }
    let ent = f.ents[0].clone();
    let (initial, start) = f.app.pull_all(&reader, None).await;
    let mut replica = BTreeMap::new();
    apply(&mut replica, &initial);
    let mut cursor = start["cursor"].as_str().unwrap().to_owned();
    for round in 0..6 {
        let app = &f.app;
        let mut tasks = Vec::new();
        for (w, d) in writers.iter_mut().enumerate() {
            let ent = ent.clone();
            tasks.push(async move {
                let mut made: Vec<Value> = Vec::new();
                for k in 0..8 {
                    let h = hazard(&ent[(w * 7 + k) % ent.len()], "general");
                    let m = d.mutation("hazard.create", None, h.clone());
                    let (s, b) = app.push(d, vec![m]).await;
                    assert_eq!(s, StatusCode::OK, "{b}");
                    made.push(h);
                    if k % 3 == 2 {
                        let target = &made[k / 2];
                        let m = d.mutation("hazard.update", Some(1), json!({"id": target["id"], "fields": {"measures": format!("第{round}轮")}}));
                        app.push(d, vec![m]).await;
                    }
                }
            });
        }
        let pulling = async {
            let mut c = cursor.clone();
            for _ in 0..6 {
                let (changes, last) = f.app.pull_all(&reader, Some(&c)).await;
                apply(&mut replica, &changes);
                c = last["cursor"].as_str().unwrap().to_owned();
                tokio::task::yield_now().await;
            }
            c
        };
        let (_, c) = tokio::join!(futures::future::join_all(tasks), pulling);
        cursor = c;
    }
    let (changes, _) = f.app.pull_all(&reader, Some(&cursor)).await;
    apply(&mut replica, &changes);
    let server: BTreeMap<(String, String), i64> = f
        .app
        .all("/api/v1/hazards", &reader_token)
        .await
        .iter()
        .map(|h| {
            (
                ("hazard".to_owned(), h["id"].as_str().unwrap().to_owned()),
                h["version"].as_i64().unwrap(),
            )
        })
        .collect();
    let mine: BTreeMap<(String, String), i64> = replica
        .into_iter()
        .filter(|((t, _), _)| t == "hazard")
        .collect();
    assert_eq!(mine.len(), 4 * 8 * 6);
    assert_eq!(mine, server);
}

#[tokio::test]
async fn pull_is_gzipped_when_the_client_accepts_it() {
    let f = field().await;
    let d = f.inspector("insp_z", 0).await;
    let resp = f
        .app
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/sync/pull?device_id={}", d.id),
            Some(&d.token),
        )
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip magic");
}

#[tokio::test]
async fn a_seq_repeated_within_one_push_is_applied_once() {
    let f = field().await;
    let mut d = f.inspector("insp_y", 0).await;
    let m = d.mutation("hazard.create", None, hazard(&f.ents[0][0], "general"));
    let mut other = m.clone();
    other["payload"]["title"] = json!("不同的内容");
    let before = f.app.count("hazards").await;
    let (_, b) = f.app.push(&d, vec![m.clone(), m, other]).await;
    assert_eq!(
        results(&b),
        [
            (1, "applied".into(), false),
            (1, "applied".into(), true),
            (1, "rejected".into(), false)
        ]
    );
    assert_eq!(b["results"][2]["error"]["code"], "seq_reused");
    assert_eq!(f.app.count("hazards").await, before + 1);
}

#[tokio::test]
async fn push_bodies_up_to_5_mb_are_read_and_larger_ones_refused() {
    let f = field().await;
    let mut d = f.inspector("insp_w", 0).await;
    let big = "很".repeat(10_000); // 30 KB of UTF-8
    let ms: Vec<Value> = (0..100)
        .map(|_| {
            let mut h = hazard(&f.ents[0][0], "general");
            h["description"] = json!(big);
            d.mutation("hazard.create", None, h)
        })
        .collect();
    let (s, b) = f.app.push(&d, ms).await;
    assert_eq!(s, StatusCode::OK, "a 3 MB push is within the limit: {b}");
    assert_eq!(
        b["results"][0]["error"]["details"]["fields"]["description"][0],
        "too_long"
    );
    let huge: Vec<Value> = (0..200)
        .map(|i| json!({"seq": 101 + i, "type": "hazard.create", "payload": {"description": big}}))
        .collect();
    let (s, b) = f.app.push(&d, huge).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn an_id_already_taken_is_a_rejected_conflict_and_the_queue_moves_on() {
    let f = field().await;
    let mut d = f.inspector("insp_v", 0).await;
    let h = hazard(&f.ents[0][0], "general");
    let first = d.mutation("hazard.create", None, h.clone());
    let again = d.mutation("hazard.create", None, h.clone());
    let next = d.mutation("hazard.create", None, hazard(&f.ents[0][1], "general"));
    let (_, b) = f.app.push(&d, vec![first, again, next]).await;
    assert_eq!(
        results(&b),
        [
            (1, "applied".into(), false),
            (2, "rejected".into(), false),
            (3, "applied".into(), false)
        ],
        "{b}"
    );
    assert_eq!(b["results"][1]["error"]["code"], "conflict");
}

#[tokio::test]
async fn a_batch_with_an_id_taken_elsewhere_keeps_the_rest() {
    let f = field().await;
    let mut a = f.inspector("insp_u", 0).await;
    let mut b = f.inspector("insp_t", 0).await;
    let h = create_hazard(&f, &mut a, "general").await;
    let before = f.app.count("hazards").await;
    let batch = vec![
        b.mutation("hazard.create", None, hazard(&f.ents[0][1], "general")),
        b.mutation("hazard.create", None, h.clone()),
        b.mutation("hazard.create", None, hazard(&f.ents[0][2], "major")),
    ];
    let (_, r) = f.app.push(&b, batch.clone()).await;
    assert_eq!(
        results(&r),
        [
            (1, "applied".into(), false),
            (2, "rejected".into(), false),
            (3, "applied".into(), false)
        ],
        "{r}"
    );
    assert_eq!(r["results"][1]["error"]["code"], "conflict");
    assert_eq!(f.app.count("hazards").await, before + 2);
    // The corrected outcome is the one stored and replayed.
    let (_, again) = f.app.push(&b, batch).await;
    assert_eq!(
        results(&again),
        [
            (1, "applied".into(), true),
            (2, "rejected".into(), true),
            (3, "applied".into(), true)
        ]
    );
}

#[tokio::test]
async fn a_database_failure_answers_503_and_writes_nothing() {
    use sea_orm::ConnectionTrait;
    let f = field().await;
    let mut d = f.inspector("insp_s", 0).await;
    let (_, r) = f
        .app
        .push_one(
            &mut d,
            "hazard.create",
            None,
            hazard(&f.ents[0][0], "general"),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied");
    let before = (
        f.app.count("hazards").await,
        f.app.count("audit_log").await,
        f.app.count("change_feed").await,
    );
    let batch = vec![
        d.mutation("hazard.create", None, hazard(&f.ents[0][1], "general")),
        d.mutation("hazard.create", None, hazard(&f.ents[0][2], "general")),
    ];
    // The table of stored outcomes disappears: the push can't be made durable.
    let conn = f.app.db().conn();
    conn.execute_unprepared("ALTER TABLE sync_mutations RENAME TO sync_mutations_away")
        .await
        .unwrap();
    let resp = f
        .app
        .req(reqwest::Method::POST, "/api/v1/sync/push", Some(&d.token))
        .json(&json!({"device_id": d.id, "protocol": 1, "mutations": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get("retry-after").is_some());
    let b: Value = resp.json().await.unwrap();
    assert_eq!(envelope_code(&b), "unavailable");
    conn.execute_unprepared("ALTER TABLE sync_mutations_away RENAME TO sync_mutations")
        .await
        .unwrap();
    let after = (
        f.app.count("hazards").await,
        f.app.count("audit_log").await,
        f.app.count("change_feed").await,
    );
    assert_eq!(after, before, "nothing half-written");
    // The device keeps its queue and the retry applies it once.
    let (_, r) = f.app.push(&d, batch).await;
    assert_eq!(
        results(&r),
        [(2, "applied".into(), false), (3, "applied".into(), false)]
    );
}

#[tokio::test]
async fn severity_is_the_offices_call() {
    let f = field().await;
    let mut insp = f.inspector("insp_sev", 0).await;
    let mut office = f.office("office_sev").await;
    let h = create_hazard(&f, &mut insp, "major").await;
    let id = h["id"].as_str().unwrap();
    // Downgrading it on the phone, to close it oneself, is refused.
    let (_, r) = f
        .app
        .push_one(
            &mut insp,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"severity": "general"}}),
        )
        .await;
    assert_eq!(
        first(&r, "/error/code"),
        (json!("rejected"), json!("forbidden")),
        "{r}"
    );
    // Sending the severity it already has changes nothing and is no offence.
    let (_, r) = f
        .app
        .push_one(
            &mut insp,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"severity": "major", "measures": "停产整改"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    submit(&f, id).await;
    let (_, r) = f
        .app
        .push_one(
            &mut insp,
            "hazard.review",
            None,
            json!({"id": id, "decision": "accept", "comment": ""}),
        )
        .await;
    assert_eq!(r["results"][0]["error"]["code"], "forbidden", "{r}");
    let (_, now) = f.app.get(&format!("/api/v1/hazards/{id}"), &f.admin).await;
    assert_eq!(
        (now["severity"].clone(), now["status"].clone()),
        (json!("major"), json!("submitted"))
    );
    // The office may.
    let (_, r) = f
        .app
        .push_one(
            &mut office,
            "hazard.update",
            Some(now["version"].as_i64().unwrap()),
            json!({"id": id, "fields": {"severity": "general"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
}

#[tokio::test]
async fn a_replayed_conflict_shows_the_record_only_while_it_is_in_scope() {
    let f = field().await;
    let mut a = f.inspector("insp_replay_a", 0).await;
    let mut b = f.inspector("insp_replay_b", 0).await;
    let h = create_hazard(&f, &mut a, "general").await;
    let id = h["id"].as_str().unwrap();
    let (_, r) = f
        .app
        .push_one(
            &mut a,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"measures": "A"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied");
    let stale = b.mutation(
        "hazard.update",
        Some(1),
        json!({"id": id, "fields": {"measures": "B"}}),
    );
    let (_, r) = f.app.push(&b, vec![stale.clone()]).await;
    assert_eq!(r["results"][0]["status"], "conflict", "{r}");
    let (_, r) = f.app.push(&b, vec![stale.clone()]).await;
    assert_eq!(
        (
            r["results"][0]["replayed"].clone(),
            r["results"][0]["server_entity"]["measures"].clone()
        ),
        (json!(true), json!("A"))
    );
    // B moves to another village; the hazard changes meanwhile.
    f.move_inspector("insp_replay_b", 1).await;
    let (_, r) = f
        .app
        .push_one(
            &mut a,
            "hazard.update",
            Some(2),
            json!({"id": id, "fields": {"responsible_person": "联系人 13800000000"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied");
    b.token = f.app.login("insp_replay_b", "inspector-password").await;
    let (_, r) = f.app.push(&b, vec![stale]).await;
    let res = &r["results"][0];
    assert_eq!(
        (res["status"].clone(), res["replayed"].clone()),
        (json!("conflict"), json!(true)),
        "{r}"
    );
    assert!(
        res["server_entity"].is_null(),
        "a replay leaked the record: {r}"
    );
}

#[tokio::test]
async fn a_bad_string_is_its_mutations_rejection_and_the_queue_moves_on() {
    let f = field().await;
    let mut d = f.inspector("insp_nul", 0).await;
    let e = &f.ents[0][0];
    let good_before = hazard(e, "general");
    let mut nul = hazard(e, "general");
    nul["title"] = json!("配电箱\u{0}前堆放杂物");
    let mut huge_code = hazard(e, "general");
    huge_code["item_code"] = json!("X".repeat(1_000_000));
    let good_after = hazard(e, "general");
    let batch = vec![
        d.mutation("hazard.create", None, good_before.clone()),
        d.mutation("hazard.create", None, nul),
        d.mutation("hazard.create", None, huge_code),
        d.mutation("hazard.update", Some(1), json!({"id": good_before["id"], "fields": {"bad\u{0}name": "x", "measures": "整改\u{7}"}})),
        d.mutation("hazard.create", None, good_after.clone()),
    ];
    let (s, b) = f.app.push(&d, batch.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        results(&b),
        [
            (1, "applied".into(), false),
            (2, "rejected".into(), false),
            (3, "rejected".into(), false),
            (4, "rejected".into(), false),
            (5, "applied".into(), false)
        ],
        "{b}"
    );
    let r = &b["results"];
    assert_eq!(r[1]["error"]["code"], "validation_failed");
    assert_eq!(
        r[1]["error"]["details"]["fields"]["title"],
        json!(["control_character"])
    );
    assert_eq!(
        r[2]["error"]["details"]["fields"]["item_code"],
        json!(["too_long"])
    );
    let fields = r[3]["error"]["details"]["fields"].as_object().unwrap();
    assert!(fields.keys().all(|k| !k.contains('\u{0}')), "{b}");
    assert_eq!(fields["fields.measures"], json!(["control_character"]));
    // The outcomes were stored as answered: a retry replays them.
    let (s, again) = f.app.push(&d, batch).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["results"][3]["error"], b["results"][3]["error"]);
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["replayed"] == true)
    );
    // And the device is not jammed: the next mutation applies.
    let (_, next) = f
        .app
        .push_one(&mut d, "hazard.create", None, hazard(e, "general"))
        .await;
    assert_eq!(next["results"][0]["status"], "applied", "{next}");
    // An unbounded comment is refused too.
    let (_, r) = f
        .app
        .push_one(
            &mut d,
            "hazard.review",
            None,
            json!({"id": good_after["id"], "decision": "reject", "comment": "意".repeat(5000)}),
        )
        .await;
    assert_eq!(
        r["results"][0]["error"]["details"]["fields"]["comment"],
        json!(["too_long"]),
        "{r}"
    );
}

#[tokio::test]
async fn hazard_history_keeps_the_old_and_new_deadline_and_severity() {
    use anjian_store::entity::hazard_event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let f = field().await;
    let mut insp = f.inspector("insp_hist", 0).await;
    let mut office = f.office("office_hist").await;
    let h = create_hazard(&f, &mut insp, "general").await;
    let id: Uuid = h["id"].as_str().unwrap().parse().unwrap();
    let (_, r) = f
        .app
        .push_one(
            &mut insp,
            "hazard.update",
            Some(1),
            json!({"id": id, "fields": {"deadline": "2027-01-20"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let (_, r) = f
        .app
        .push_one(
            &mut office,
            "hazard.update",
            Some(2),
            json!({"id": id, "fields": {"severity": "major"}}),
        )
        .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let events = hazard_event::Entity::find()
        .filter(hazard_event::Column::HazardId.eq(id))
        .order_by_asc(hazard_event::Column::At)
        .all(f.app.db().conn())
        .await
        .unwrap();
    let changes: Vec<Value> = events
        .iter()
        .map(|e| e.changes.clone().unwrap_or(Value::Null))
        .collect();
    // Found 2026-11-27 (Shanghai): a general hazard's default deadline is 15 days on.
    assert_eq!(
        changes[0]["severity"],
        json!({"from": null, "to": "general"})
    );
    assert_eq!(
        changes[0]["deadline"],
        json!({"from": null, "to": "2026-12-12"})
    );
    assert_eq!(
        changes[1],
        json!({"deadline": {"from": "2026-12-12", "to": "2027-01-20"}})
    );
    assert_eq!(
        changes[2],
        json!({"severity": {"from": "general", "to": "major"}})
    );
}

/// Use cases run at the clock they are given: a push, its history and its
/// audit entries carry that time, and overdue is judged by it.
#[tokio::test]
async fn a_push_runs_at_the_clock_it_is_given() {
    let at: chrono::DateTime<chrono::Utc> = "2027-03-02T01:30:00Z".parse().unwrap();
    let clock = anjian_domain::FixedClock::at(at);
    let app = anjian_tests::TestApp::spawn_with(anjian::StartOptions {
        clock: Some(std::sync::Arc::new(clock.clone())),
        ..anjian::StartOptions::default()
    })
    .await;
    let f = field_on(app).await;
    let mut d = f.inspector("insp_clock", 0).await;
    let mut h = hazard(&f.ents[0][0], "general");
    h["found_at"] = json!("2027-03-01T02:00:00Z");
    h["deadline"] = json!("2027-03-05");
    let m = d.mutation("hazard.create", None, h.clone());
    let (s, b) = f.app.push(&d, vec![m]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["server_time"], json!(at), "{b}");
    let (_, got) = f
        .app
        .get(
            &format!("/api/v1/hazards/{}", h["id"].as_str().unwrap()),
            &f.admin,
        )
        .await;
    assert_eq!(got["history"][0]["at"], json!(at), "{got}");
    let (_, audit) = f
        .app
        .get(
            &format!(
                "/api/v1/audit?entity_type=hazard&entity_id={}",
                h["id"].as_str().unwrap()
            ),
            &f.admin,
        )
        .await;
    assert_eq!(audit["items"][0]["at"], json!(at), "{audit}");
    assert_eq!(got["overdue"], false, "{got}");
    // A week later by the same clock the hazard is overdue.
    clock.advance(chrono::Duration::days(7));
    let (_, got) = f
        .app
        .get(
            &format!("/api/v1/hazards/{}", h["id"].as_str().unwrap()),
            &f.admin,
        )
        .await;
    assert_eq!(got["overdue"], true, "{got}");
    let m = d.mutation(
        "hazard.update",
        Some(1),
        json!({"id": h["id"], "fields": {"measures": "已断电"}}),
    );
    let (_, b) = f.app.push(&d, vec![m]).await;
    assert_eq!(b["results"][0]["status"], "applied", "{b}");
    assert_eq!(b["server_time"], json!(at + chrono::Duration::days(7)));
}
