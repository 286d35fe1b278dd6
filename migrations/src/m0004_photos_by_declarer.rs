//! Photos by declarer and status: a declaration counts the user's photos
//! still waiting for their bytes (the per-user cap), and must not scan the
//! table to do it.

use sea_orm_migration::prelude::*;

use crate::sql;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_photos_by_declarer"
    }
}

const UP: &str = r#"
CREATE INDEX photos_declarer_status ON photos (declared_by, status);
"#;

const DOWN: &str = r#"
DROP INDEX photos_declarer_status;
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
