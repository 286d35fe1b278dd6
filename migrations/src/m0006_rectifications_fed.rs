//! Rectifications and extension requests travel in the sync feed, filtered by
//! enterprise like the hazards they belong to: both tables gain the hazard's
//! `enterprise_id`, and an extension request its `updated_at`. No release
//! ever wrote to either table, so they are made anew. At most one request per
//! hazard waits for a decision, also under concurrent requests.

const UP: &str = r#"
DROP TABLE extension_requests;
DROP TABLE rectifications;
CREATE TABLE rectifications (
    id UUID PRIMARY KEY,
    hazard_id UUID NOT NULL REFERENCES hazards(id),
    enterprise_id UUID NOT NULL REFERENCES enterprises(id),
    description TEXT NOT NULL,
    photo_ids JSONB NOT NULL,
    submitted_by UUID NOT NULL REFERENCES users(id),
    submitted_at TSTZ NOT NULL,
    version I64 NOT NULL
);
CREATE INDEX rectifications_hazard ON rectifications (hazard_id, submitted_at);
CREATE INDEX rectifications_enterprise ON rectifications (enterprise_id);
CREATE TABLE extension_requests (
    id UUID PRIMARY KEY,
    hazard_id UUID NOT NULL REFERENCES hazards(id),
    enterprise_id UUID NOT NULL REFERENCES enterprises(id),
    requested_deadline DATE NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by UUID NOT NULL REFERENCES users(id),
    requested_at TSTZ NOT NULL,
    decided_by UUID REFERENCES users(id),
    decided_at TSTZ,
    comment TEXT,
    version I64 NOT NULL,
    updated_at TSTZ NOT NULL
);
CREATE INDEX extension_requests_hazard ON extension_requests (hazard_id, requested_at);
CREATE INDEX extension_requests_enterprise ON extension_requests (enterprise_id);
CREATE INDEX extension_requests_status ON extension_requests (status);
CREATE UNIQUE INDEX extension_requests_one_pending ON extension_requests (hazard_id) WHERE status = 'pending';
"#;

const DOWN: &str = r#"
DROP TABLE extension_requests;
DROP TABLE rectifications;
CREATE TABLE rectifications (
    id UUID PRIMARY KEY,
    hazard_id UUID NOT NULL REFERENCES hazards(id),
    description TEXT NOT NULL,
    photo_ids JSONB NOT NULL,
    submitted_by UUID NOT NULL REFERENCES users(id),
    submitted_at TSTZ NOT NULL,
    version I64 NOT NULL
);
CREATE INDEX rectifications_hazard ON rectifications (hazard_id);
CREATE TABLE extension_requests (
    id UUID PRIMARY KEY,
    hazard_id UUID NOT NULL REFERENCES hazards(id),
    requested_deadline DATE NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by UUID NOT NULL REFERENCES users(id),
    requested_at TSTZ NOT NULL,
    decided_by UUID REFERENCES users(id),
    decided_at TSTZ,
    comment TEXT,
    version I64 NOT NULL
);
CREATE INDEX extension_requests_hazard ON extension_requests (hazard_id);
CREATE INDEX extension_requests_status ON extension_requests (status);
"#;

crate::sql::ddl_migration!("m0006_rectifications_fed", UP, DOWN);
