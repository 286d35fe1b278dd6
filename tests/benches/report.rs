//! `just bench report`: the weekly report (W48 of 2026, as of its cut-off)
//! over the town's 3,152-enterprise roster with the `--demo` year of history
//! made through the use cases (1×), then with every inspection and hazard of
//! that year, its history and its rectifications copied nine more times
//! (10×). Times the figures alone and the figures with both files stored,
//! the median of five runs after one warm-up.
//!
//! Runs on PostgreSQL when `ANJIAN_TEST_DATABASE_URL` is set, else on
//! SQLite (`just bench report` runs both). Prints a table; asserts nothing.
#![expect(clippy::unwrap_used, reason = "a bench fails loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anjian::StartOptions;
use anjian_domain::report::IsoWeek;
use anjian_domain::{DeadlinePolicy, FixedClock};
use anjian_store::entity::{hazard, hazard_event, inspection, rectification};
use anjian_tests::TestApp;
use chrono::{TimeZone, Utc};
use sea_orm::{EntityTrait, IntoActiveModel};
use uuid::Uuid;

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

async fn insert<E, M>(db: &anjian_store::Db, rows: Vec<M>)
where
    E: EntityTrait<Model = M>,
    M: IntoActiveModel<E::ActiveModel> + sea_orm::ModelTrait<Entity = E>,
    E::ActiveModel: Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<E::ActiveModel> = rows
            .by_ref()
            .take(500)
            .map(IntoActiveModel::into_active_model)
            .collect();
        E::insert_many(chunk)
            .exec_without_returning(db.conn())
            .await
            .unwrap();
    }
}

/// The ids of the copies, to remove them before the teardown checks the
/// write path's promise (copies have no audit entries of their own).
#[derive(Default)]
struct Copies {
    inspections: Vec<Uuid>,
    hazards: Vec<Uuid>,
    events: Vec<Uuid>,
    rectifications: Vec<Uuid>,
}

impl Copies {
    async fn remove(self, db: &anjian_store::Db) {
        use sea_orm::{ColumnTrait, QueryFilter};
        let c = db.conn();
        for ids in self.rectifications.chunks(500) {
            rectification::Entity::delete_many()
                .filter(rectification::Column::Id.is_in(ids.to_vec()))
                .exec(c)
                .await
                .unwrap();
        }
        for ids in self.events.chunks(500) {
            hazard_event::Entity::delete_many()
                .filter(hazard_event::Column::Id.is_in(ids.to_vec()))
                .exec(c)
                .await
                .unwrap();
        }
        for ids in self.hazards.chunks(500) {
            hazard::Entity::delete_many()
                .filter(hazard::Column::Id.is_in(ids.to_vec()))
                .exec(c)
                .await
                .unwrap();
        }
        for ids in self.inspections.chunks(500) {
            inspection::Entity::delete_many()
                .filter(inspection::Column::Id.is_in(ids.to_vec()))
                .exec(c)
                .await
                .unwrap();
        }
    }
}

/// Copies every inspection and hazard (with its events and rectifications)
/// `copies` times under new ids.
async fn multiply(db: &anjian_store::Db, copies: usize) -> Copies {
    let mut made = Copies::default();
    let c = db.conn();
    let inspections = inspection::Entity::find().all(c).await.unwrap();
    let hazards = hazard::Entity::find().all(c).await.unwrap();
    let events = hazard_event::Entity::find().all(c).await.unwrap();
    let rects = rectification::Entity::find().all(c).await.unwrap();
    for _ in 0..copies {
        let mut insp_map = std::collections::HashMap::new();
        let mut haz_map = std::collections::HashMap::new();
        let ins: Vec<inspection::Model> = inspections
            .iter()
            .map(|i| {
                let id = Uuid::now_v7();
                insp_map.insert(i.id, id);
                inspection::Model { id, ..i.clone() }
            })
            .collect();
        let hs: Vec<hazard::Model> = hazards
            .iter()
            .map(|h| {
                let id = Uuid::now_v7();
                haz_map.insert(h.id, id);
                hazard::Model {
                    id,
                    inspection_id: h.inspection_id.and_then(|i| insp_map.get(&i).copied()),
                    ..h.clone()
                }
            })
            .collect();
        let evs: Vec<hazard_event::Model> = events
            .iter()
            .map(|e| hazard_event::Model {
                id: Uuid::now_v7(),
                hazard_id: haz_map[&e.hazard_id],
                ..e.clone()
            })
            .collect();
        let rs: Vec<rectification::Model> = rects
            .iter()
            .map(|r| rectification::Model {
                id: Uuid::now_v7(),
                hazard_id: haz_map[&r.hazard_id],
                ..r.clone()
            })
            .collect();
        made.inspections.extend(ins.iter().map(|i| i.id));
        made.hazards.extend(hs.iter().map(|h| h.id));
        made.events.extend(evs.iter().map(|e| e.id));
        made.rectifications.extend(rs.iter().map(|r| r.id));
        insert(db, ins).await;
        insert(db, hs).await;
        insert(db, evs).await;
        insert(db, rs).await;
    }
    made
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Monday 30 November 2026, 10:00 office time: W48's cut-off has passed.
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
    let clock = Arc::new(FixedClock::at(now));
    let t = Instant::now();
    let app = TestApp::spawn_with(StartOptions {
        demo: true,
        demo_history: true,
        clock: Some(clock),
        ..StartOptions::default()
    })
    .await;
    let history = t.elapsed();
    let backend = match app.backend {
        anjian_tests::Backend::Sqlite => "SQLite",
        anjian_tests::Backend::Postgres { .. } => "PostgreSQL",
    };
    let db = app.db();
    let store = app.running.as_ref().unwrap().objects.clone();
    let policy = DeadlinePolicy::default();
    let week: IsoWeek = "2026-W48".parse().unwrap();
    println!(
        "\nweekly report, {backend}: demo history (1×) made in {:.1} s\n",
        history.as_secs_f64()
    );
    println!(
        "| scale | inspections | hazards | hazard events | figures (median of {RUNS}) | with XLSX + CSV stored | 108 problem / rectified |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut copies = Copies::default();
    for scale in [1usize, 10] {
        if scale > 1 {
            copies = multiply(db, scale - 1).await;
        }
        let (fig, _) = anjian_usecases::reports::figures(db, week, (&policy, now))
            .await
            .unwrap();
        let mut figures = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            anjian_usecases::reports::figures(db, week, (&policy, now))
                .await
                .unwrap();
            figures.push(t.elapsed());
        }
        anjian_usecases::reports::make(db, Some(&store), week, (&policy, now))
            .await
            .unwrap();
        let mut made = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            anjian_usecases::reports::make(db, Some(&store), week, (&policy, now))
                .await
                .unwrap();
            made.push(t.elapsed());
        }
        let c = &fig.counters;
        println!(
            "| {scale}× | {} | {} | {} | {} | {} | {} / {} |",
            app.count("inspections").await,
            app.count("hazards").await,
            app.count("hazard_events").await,
            ms(median(figures)),
            ms(median(made)),
            c.problem_enterprises_ytd,
            c.problem_enterprises_rectified_ytd,
        );
    }
    copies.remove(db).await;
}
