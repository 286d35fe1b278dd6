//! A stored report keeps its headline figures apart from the whole figures,
//! so that the archive lists a hundred weeks without reading a hundred
//! reports (rows made before this have none; they are read whole).

const UP: &str = r#"
ALTER TABLE reports ADD COLUMN headline JSONB;
"#;

const DOWN: &str = r#"
ALTER TABLE reports DROP COLUMN headline;
"#;

crate::sql::ddl_migration!("m0011_report_headline", UP, DOWN);
