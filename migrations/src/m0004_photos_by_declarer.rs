//! Photos by declarer and status: a declaration counts the user's photos
//! still waiting for their bytes (the per-user cap), and must not scan the
//! table to do it.

const UP: &str = r#"
CREATE INDEX photos_declarer_status ON photos (declared_by, status);
"#;

const DOWN: &str = r#"
DROP INDEX photos_declarer_status;
"#;

crate::sql::ddl_migration!("m0004_photos_by_declarer", UP, DOWN);
