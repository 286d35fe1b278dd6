//! What the bytes of a stored object say about the photo, so a photo declared
//! with bytes already stored is processed at once with the same metadata.

use sea_orm_migration::prelude::*;

use crate::sql;

pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_stored_object_metadata"
    }
}

const UP: &str = r#"
ALTER TABLE stored_objects ADD COLUMN taken_at TSTZ;
ALTER TABLE stored_objects ADD COLUMN gps_lat F64;
ALTER TABLE stored_objects ADD COLUMN gps_lon F64;
"#;

const DOWN: &str = r#"
ALTER TABLE stored_objects DROP COLUMN gps_lon;
ALTER TABLE stored_objects DROP COLUMN gps_lat;
ALTER TABLE stored_objects DROP COLUMN taken_at;
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
