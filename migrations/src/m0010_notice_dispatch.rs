//! A notification is handed to the outbox (e-mail, webhook) after it is
//! written: `dispatched_at` says it has been, so that a relay on any replica
//! picks up each one once, and one that crashed mid-way picks up the rest.

const UP: &str = r#"
ALTER TABLE notifications ADD COLUMN dispatched_at TSTZ;
CREATE INDEX notifications_undispatched ON notifications (dispatched_at, id);
"#;

const DOWN: &str = r#"
DROP INDEX notifications_undispatched;
ALTER TABLE notifications DROP COLUMN dispatched_at;
"#;

crate::sql::ddl_migration!("m0010_notice_dispatch", UP, DOWN);
