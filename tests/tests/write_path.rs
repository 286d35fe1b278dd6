//! The one write path: version, audit and change feed in one transaction, and
//! feed positions in commit order under concurrent writers.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::collections::BTreeSet;
use std::time::Duration;

use anjian_store::entity::{change_feed, enterprise, hazard_event};
use anjian_store::{Actor, Error};
use anjian_tests::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

async fn some_enterprise(app: &TestApp) -> enterprise::Model {
    enterprise::Entity::find()
        .order_by_asc(enterprise::Column::Id)
        .one(app.db().conn())
        .await
        .unwrap()
        .unwrap()
}

async fn max_position(app: &TestApp) -> i64 {
    let p: Option<i64> = change_feed::Entity::find()
        .select_only()
        .column_as(change_feed::Column::Position.max(), "m")
        .into_tuple()
        .one(app.db().conn())
        .await
        .unwrap()
        .flatten();
    p.unwrap_or(0)
}

#[tokio::test]
async fn an_update_bumps_version_and_writes_audit_and_feed_together() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let before = some_enterprise(&app).await;
    let (audit0, feed0) = (app.count("audit_log").await, app.count("change_feed").await);
    let mut tx = db.write(Actor::system()).await.unwrap();
    let after = enterprise::Model {
        name: "改名后".into(),
        ..before.clone()
    };
    let stored = tx.update("test.rename", &before, after).await.unwrap();
    assert_eq!(stored.version, before.version + 1);
    let pos = tx.commit().await.unwrap().unwrap();
    assert_eq!(app.count("audit_log").await, audit0 + 1);
    assert_eq!(app.count("change_feed").await, feed0 + 1);
    let entry = change_feed::Entity::find()
        .filter(change_feed::Column::Position.eq(pos))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.entity_id, entry.version, entry.op.as_str()),
        (before.id, before.version + 1, "upsert")
    );
    assert_eq!(entry.village_id, Some(before.village_id));
}

#[tokio::test]
async fn an_uncommitted_write_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let before = some_enterprise(&app).await;
    let (audit0, feed0) = (app.count("audit_log").await, app.count("change_feed").await);
    {
        let mut tx = db.write(Actor::system()).await.unwrap();
        let after = enterprise::Model {
            name: "不会保存".into(),
            ..before.clone()
        };
        tx.update("test.abandon", &before, after).await.unwrap();
        // Dropped without commit: the effect, the audit entry and the feed entry go together.
    }
    let now = enterprise::Entity::find_by_id(before.id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now, before);
    assert_eq!(
        (app.count("audit_log").await, app.count("change_feed").await),
        (audit0, feed0)
    );
}

#[tokio::test]
async fn a_stale_base_version_is_refused() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let before = some_enterprise(&app).await;
    let mut tx = db.write(Actor::system()).await.unwrap();
    tx.update(
        "test.first",
        &before,
        enterprise::Model {
            name: "第一次".into(),
            ..before.clone()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.write(Actor::system()).await.unwrap();
    let err = tx
        .update(
            "test.second",
            &before,
            enterprise::Model {
                name: "第二次".into(),
                ..before.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VersionMismatch { .. }), "{err:?}");
}

/// Many writers commit concurrently while a reader polls `position > cursor`.
/// With positions handed out in commit order the reader sees every position;
/// with a plain sequence it could move past one that commits late.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_polling_reader_never_skips_a_position_under_concurrent_writers() {
    let app = TestApp::spawn().await;
    let db = app.db().clone();
    let start = max_position(&app).await;
    let targets: Vec<enterprise::Model> = enterprise::Entity::find()
        .order_by_asc(enterprise::Column::Id)
        .limit(8)
        .all(db.conn())
        .await
        .unwrap();
    let rounds = 25;
    let mut writers = Vec::new();
    for target in targets {
        let db = db.clone();
        writers.push(tokio::spawn(async move {
            let mut current = target;
            for i in 0..rounds {
                let mut tx = db.write(Actor::system()).await.unwrap();
                let after = enterprise::Model {
                    contact_name: format!("联系人{i}"),
                    ..current.clone()
                };
                current = tx.update("test.concurrent", &current, after).await.unwrap();
                // Widen the window between taking work and committing.
                tokio::time::sleep(Duration::from_micros(200)).await;
                tx.commit().await.unwrap();
            }
        }));
    }
    let reader_db = db.clone();
    let reader = tokio::spawn(async move {
        let mut cursor = start;
        let mut seen = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            let rows: Vec<i64> = change_feed::Entity::find()
                .select_only()
                .column(change_feed::Column::Position)
                .filter(change_feed::Column::Position.gt(cursor))
                .order_by_asc(change_feed::Column::Position)
                .into_tuple()
                .all(reader_db.conn())
                .await
                .unwrap();
            for p in rows {
                seen.insert(p);
                cursor = cursor.max(p);
            }
            if seen.len() >= 8 * rounds {
                break;
            }
            tokio::task::yield_now().await;
        }
        seen
    });
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();
    let all: BTreeSet<i64> = change_feed::Entity::find()
        .select_only()
        .column(change_feed::Column::Position)
        .filter(change_feed::Column::Position.gt(start))
        .into_tuple()
        .all(db.conn())
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(all.len(), 8 * rounds, "one position per commit");
    assert_eq!(seen, all, "the reader skipped positions");
    let expected: BTreeSet<i64> = (start + 1..=start + (8 * rounds) as i64).collect();
    assert_eq!(all, expected, "positions have no gaps");
}

#[tokio::test]
async fn a_value_the_database_refuses_is_told_apart_from_an_outage() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let db = app.db();
    // The database refusing what a statement gave it: the fault of one mutation.
    let refused = match app.backend {
        anjian_tests::Backend::Sqlite => {
            "INSERT INTO villages (id, code, name) VALUES (NULL, NULL, NULL)"
        }
        anjian_tests::Backend::Postgres { .. } => "SELECT chr(0)",
    };
    let e = db.conn().execute_unprepared(refused).await.unwrap_err();
    assert!(anjian_store::db::refused_content(&Error::internal(e)));
    // Anything else is not the content's fault (an outage, a fault of ours).
    let e = db
        .conn()
        .execute_unprepared("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert!(!anjian_store::db::refused_content(&Error::internal(e)));
}

#[tokio::test]
async fn the_teardown_check_catches_a_write_that_went_around_the_write_path() {
    let app = TestApp::spawn().await;
    anjian_tests::check_write_path(app.db_url()).await.unwrap();
    let e = some_enterprise(&app).await;
    // A feed entry for a version nobody audited.
    let mut tx = app.db().write(Actor::system()).await.unwrap();
    tx.feed_raw(
        "enterprise",
        e.id,
        e.version + 5,
        anjian_store::write::FeedOp::Upsert,
        anjian_store::write::FeedScope::default(),
    );
    tx.commit().await.unwrap();
    let err = anjian_tests::check_write_path(app.db_url())
        .await
        .unwrap_err();
    assert!(err.contains("no audit entry"), "{err}");
    // Put things right, or the harness's own check fails this test.
    change_feed::Entity::delete_many()
        .filter(change_feed::Column::Version.eq(e.version + 5))
        .exec(app.db().conn())
        .await
        .unwrap();
    anjian_tests::check_write_path(app.db_url()).await.unwrap();
}

/// A record's child rows are audited with the change that wrote them: a
/// hazard's creation event is named in the hazard's creation entry, an
/// update's event in the update's entry.
#[tokio::test]
async fn child_rows_are_audited_with_the_change_that_wrote_them() {
    use anjian_tests::field::{field, hazard};
    let f = field().await;
    let mut d = f.inspector("insp_audit", 0).await;
    let h = hazard(&f.ents[0][0], "general");
    let id = h["id"].as_str().unwrap().to_owned();
    let create = d.mutation("hazard.create", None, h);
    let update = d.mutation(
        "hazard.update",
        Some(1),
        serde_json::json!({"id": id, "fields": {"measures": "更换灭火器"}}),
    );
    let (_, b) = f.app.push(&d, vec![create, update]).await;
    assert_eq!(b["results"][1]["status"], "applied", "{b}");
    let (_, audit) = f
        .app
        .get(
            &format!("/api/v1/audit?entity_type=hazard&entity_id={id}"),
            &f.admin,
        )
        .await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{audit}");
    let events: Vec<String> = hazard_event::Entity::find()
        .filter(hazard_event::Column::HazardId.eq(id.parse::<uuid::Uuid>().unwrap()))
        .order_by_asc(hazard_event::Column::Id)
        .all(f.app.db().conn())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(items[0]["action"], "hazard.create");
    assert_eq!(
        items[0]["after"]["children"]["hazard_event"],
        serde_json::json!([events[0]]),
        "{audit}"
    );
    assert_eq!(items[1]["action"], "hazard.update");
    assert_eq!(
        items[1]["after"]["children"]["hazard_event"],
        serde_json::json!([events[1]]),
        "{audit}"
    );
}
