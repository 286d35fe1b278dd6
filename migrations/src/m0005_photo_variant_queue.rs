//! Variants made after verification: a photo is acknowledged `verified` once
//! its original is stored, and a durable queue makes the variants. A stored
//! object records when its variants were made; a queue row per object waits
//! to be processed, with a lease that lets another replica take it over when
//! its holder dies, and a retry time that backs off after failures.

const UP: &str = r#"
ALTER TABLE stored_objects ADD COLUMN variants_at TSTZ;
UPDATE stored_objects SET variants_at = stored_at;
CREATE TABLE photo_jobs (
    sha256 TEXT PRIMARY KEY,
    enqueued_at TSTZ NOT NULL,
    attempts I64 NOT NULL,
    next_at TSTZ NOT NULL,
    lease_holder TEXT,
    lease_until TSTZ,
    last_error TEXT
);
CREATE INDEX photo_jobs_next ON photo_jobs (next_at);
"#;

const DOWN: &str = r#"
DROP TABLE photo_jobs;
ALTER TABLE stored_objects DROP COLUMN variants_at;
"#;

crate::sql::ddl_migration!("m0005_photo_variant_queue", UP, DOWN);
