//! What a hazard event changed besides the status: the old and new values of
//! its fields (`{"deadline": {"from": …, "to": …}, …}`), so that a report can
//! read a hazard's deadline and severity as they were at any moment.

const UP: &str = r#"
ALTER TABLE hazard_events ADD COLUMN changes JSONB;
"#;

const DOWN: &str = r#"
ALTER TABLE hazard_events DROP COLUMN changes;
"#;

crate::sql::ddl_migration!("m0003_hazard_event_changes", UP, DOWN);
