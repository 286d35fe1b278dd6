//! What a hazard event changed besides the status: the old and new values of
//! its fields (`{"deadline": {"from": …, "to": …}, …}`), so that a report can
//! read a hazard's deadline and severity as they were at any moment.

use sea_orm_migration::prelude::*;

use crate::sql;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_hazard_event_changes"
    }
}

const UP: &str = r#"
ALTER TABLE hazard_events ADD COLUMN changes JSONB;
"#;

const DOWN: &str = r#"
ALTER TABLE hazard_events DROP COLUMN changes;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        sql::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        sql::run(manager, DOWN).await
    }
}
