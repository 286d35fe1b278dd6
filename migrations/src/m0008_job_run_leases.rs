//! A claimed job run holds a lease that its runner renews while it works:
//! when the runner dies mid-run the lease runs out and another replica
//! retakes the period (a failed run is retaken the same way, later).

const UP: &str = r#"
ALTER TABLE job_runs ADD COLUMN lease_expires_at TSTZ;
ALTER TABLE job_runs ADD COLUMN attempts I64 NOT NULL DEFAULT 1;
"#;

const DOWN: &str = r#"
ALTER TABLE job_runs DROP COLUMN attempts;
ALTER TABLE job_runs DROP COLUMN lease_expires_at;
"#;

crate::sql::ddl_migration!("m0008_job_run_leases", UP, DOWN);
