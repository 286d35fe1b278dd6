//! Schema migrations. Never edit a migration that has landed; add a new one.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_stored_object_metadata;
mod m0003_hazard_event_changes;
mod m0004_photos_by_declarer;
mod m0005_photo_variant_queue;
mod m0006_rectifications_fed;
mod m0007_user_contact;
mod m0008_job_run_leases;
mod m0009_outbox;
mod m0010_notice_dispatch;
mod m0011_report_headline;
mod sql;

/// All migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_stored_object_metadata::Migration),
            Box::new(m0003_hazard_event_changes::Migration),
            Box::new(m0004_photos_by_declarer::Migration),
            Box::new(m0005_photo_variant_queue::Migration),
            Box::new(m0006_rectifications_fed::Migration),
            Box::new(m0007_user_contact::Migration),
            Box::new(m0008_job_run_leases::Migration),
            Box::new(m0009_outbox::Migration),
            Box::new(m0010_notice_dispatch::Migration),
            Box::new(m0011_report_headline::Migration),
        ]
    }
}
