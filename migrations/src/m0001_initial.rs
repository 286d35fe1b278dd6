//! The whole data model of anjian.

use sea_orm_migration::prelude::*;

use crate::sql;

pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_initial"
    }
}

const UP: &str = r#"
CREATE TABLE villages (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version I64 NOT NULL,
    created_at TSTZ NOT NULL,
    updated_at TSTZ NOT NULL
);

CREATE TABLE enterprises (
    id UUID PRIMARY KEY,
    credit_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    village_id UUID NOT NULL REFERENCES villages(id),
    industry_code TEXT NOT NULL,
    scale TEXT NOT NULL,
    risk_tags TEXT NOT NULL,
    status TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    lat F64,
    lon F64,
    version I64 NOT NULL,
    created_at TSTZ NOT NULL,
    updated_at TSTZ NOT NULL
);
CREATE INDEX enterprises_village ON enterprises (village_id, id);
CREATE INDEX enterprises_status ON enterprises (status);
CREATE INDEX enterprises_name ON enterprises (name);

CREATE TABLE checklist_templates (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL,
    version I64 NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    risk_tags TEXT NOT NULL,
    created_at TSTZ NOT NULL,
    published_at TSTZ,
    UNIQUE (code, version)
);

CREATE TABLE checklist_items (
    template_id UUID NOT NULL REFERENCES checklist_templates(id),
    position I64 NOT NULL,
    code TEXT NOT NULL,
    category TEXT NOT NULL,
    text TEXT NOT NULL,
    guidance TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    severity_hint TEXT NOT NULL,
    photo_required_on_fail BOOL NOT NULL,
    PRIMARY KEY (template_id, code)
);

CREATE TABLE campaigns (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    template_ids JSONB NOT NULL,
    target JSONB NOT NULL,
    created_by UUID,
    version I64 NOT NULL,
    created_at TSTZ NOT NULL,
    updated_at TSTZ NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    enterprise_id UUID REFERENCES enterprises(id),
    password_hash TEXT NOT NULL,
    disabled BOOL NOT NULL,
    version I64 NOT NULL,
    created_at TSTZ NOT NULL,
    updated_at TSTZ NOT NULL
);
CREATE INDEX users_enterprise ON users (enterprise_id);

CREATE TABLE user_villages (
    user_id UUID NOT NULL REFERENCES users(id),
    village_id UUID NOT NULL REFERENCES villages(id),
    PRIMARY KEY (user_id, village_id)
);
CREATE INDEX user_villages_village ON user_villages (village_id);

CREATE TABLE devices (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    last_processed_seq I64 NOT NULL,
    scope_fingerprint TEXT,
    first_seen_at TSTZ NOT NULL,
    last_seen_at TSTZ NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE logins (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    device_id UUID,
    created_at TSTZ NOT NULL,
    last_used_at TSTZ NOT NULL,
    expires_at TSTZ NOT NULL,
    revoked_at TSTZ,
    revoked_reason TEXT
);
CREATE INDEX logins_user ON logins (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    login_id UUID NOT NULL REFERENCES logins(id),
    created_at TSTZ NOT NULL,
    rotated_at TSTZ
);
CREATE INDEX refresh_tokens_login ON refresh_tokens (login_id);

CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    window_started_at TSTZ NOT NULL,
    failures I64 NOT NULL
);

CREATE TABLE inspections (
    id UUID PRIMARY KEY,
    enterprise_id UUID NOT NULL REFERENCES enterprises(id),
    campaign_id UUID REFERENCES campaigns(id),
    template_id UUID NOT NULL REFERENCES checklist_templates(id),
    template_version I64 NOT NULL,
    inspector_id UUID NOT NULL REFERENCES users(id),
    started_at TSTZ NOT NULL,
    finished_at TSTZ,
    lat F64,
    lon F64,
    summary TEXT NOT NULL,
    version I64 NOT NULL,
    created_at TSTZ NOT NULL,
    updated_at TSTZ NOT NULL
);
CREATE INDEX inspections_enterprise ON inspections (enterprise_id, started_at);
CREATE INDEX inspections_finished ON inspections (finished_at);
CREATE INDEX inspections_campaign ON inspections (campaign_id);

CREATE TABLE inspection_results (
    inspection_id UUID NOT NULL REFERENCES inspections(id),
    position I64 NOT NULL,
    item_code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT NOT NULL,
    photo_ids JSONB NOT NULL,
    PRIMARY KEY (inspection_id, item_code)
);

CREATE TABLE hazards (
    id UUID PRIMARY KEY,
    enterprise_id UUID NOT NULL REFERENCES enterprises(id),
    inspection_id UUID REFERENCES inspections(id),
    item_code TEXT,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    found_at TSTZ NOT NULL,
    deadline DATE NOT NULL,
    responsible_person TEXT NOT NULL,
    measures TEXT NOT NULL,
    closed_at TSTZ,
    plan JSONB,
    photo_ids JSONB NOT NULL,
    field_versions JSONB NOT NULL,
    created_by UUID NOT NULL REFERENCES users(id),
    version I64 NOT NULL,
    created_at TSTZ NOT NULL,
    updated_at TSTZ NOT NULL
);
CREATE INDEX hazards_enterprise ON hazards (enterprise_id, status);
CREATE INDEX hazards_status_deadline ON hazards (status, deadline);
CREATE INDEX hazards_found ON hazards (found_at);
CREATE INDEX hazards_closed ON hazards (closed_at);
CREATE INDEX hazards_inspection ON hazards (inspection_id);

CREATE TABLE hazard_events (
    id UUID PRIMARY KEY,
    hazard_id UUID NOT NULL REFERENCES hazards(id),
    at TSTZ NOT NULL,
    actor_id UUID REFERENCES users(id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    comment TEXT NOT NULL,
    photo_ids JSONB NOT NULL
);
CREATE INDEX hazard_events_hazard ON hazard_events (hazard_id, at);
CREATE INDEX hazard_events_at ON hazard_events (at);

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

CREATE TABLE photos (
    id UUID PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size I64 NOT NULL,
    content_type TEXT NOT NULL,
    status TEXT NOT NULL,
    declared_by UUID NOT NULL REFERENCES users(id),
    declared_at TSTZ NOT NULL,
    taken_at TSTZ,
    uploaded_at TSTZ,
    processed_at TSTZ,
    width I64,
    height I64,
    gps_lat F64,
    gps_lon F64,
    owner_type TEXT,
    owner_id UUID,
    owner_item TEXT,
    owner_position I64,
    enterprise_id UUID REFERENCES enterprises(id),
    version I64 NOT NULL
);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_owner ON photos (owner_type, owner_id);
CREATE INDEX photos_status ON photos (status, declared_at);

CREATE TABLE stored_objects (
    sha256 TEXT PRIMARY KEY,
    size I64 NOT NULL,
    content_type TEXT NOT NULL,
    width I64 NOT NULL,
    height I64 NOT NULL,
    stored_at TSTZ NOT NULL
);

CREATE TABLE notifications (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    entity_type TEXT,
    entity_id UUID,
    dedupe_key TEXT UNIQUE,
    created_at TSTZ NOT NULL,
    read_at TSTZ
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

CREATE TABLE feed_clock (
    id I64 PRIMARY KEY,
    position I64 NOT NULL
);
INSERT INTO feed_clock (id, position) VALUES (1, 0);

CREATE TABLE change_feed (
    position I64 NOT NULL,
    ordinal I64 NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id UUID NOT NULL,
    version I64 NOT NULL,
    op TEXT NOT NULL,
    enterprise_id UUID,
    village_id UUID,
    committed_at TSTZ NOT NULL,
    PRIMARY KEY (position, ordinal)
);
CREATE INDEX change_feed_entity ON change_feed (entity_type, entity_id);
CREATE INDEX change_feed_enterprise ON change_feed (enterprise_id, position);
CREATE INDEX change_feed_village ON change_feed (village_id, position);

CREATE TABLE sync_mutations (
    device_id UUID NOT NULL REFERENCES devices(id),
    seq I64 NOT NULL,
    payload_hash TEXT NOT NULL,
    outcome JSONB NOT NULL,
    processed_at TSTZ NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    at TSTZ NOT NULL,
    actor_id UUID,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id UUID NOT NULL,
    before JSONB,
    after JSONB,
    request_id TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE reports (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    generated_at TSTZ NOT NULL,
    figures JSONB NOT NULL,
    xlsx_key TEXT,
    csv_key TEXT,
    UNIQUE (kind, period)
);

CREATE TABLE job_runs (
    id UUID PRIMARY KEY,
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    runner TEXT NOT NULL,
    started_at TSTZ NOT NULL,
    finished_at TSTZ,
    status TEXT NOT NULL,
    detail TEXT,
    UNIQUE (job, period)
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TSTZ NOT NULL
);
"#;

const DOWN: &str = r#"
DROP TABLE leases; DROP TABLE job_runs; DROP TABLE reports; DROP TABLE audit_log;
DROP TABLE sync_mutations; DROP TABLE change_feed; DROP TABLE feed_clock;
DROP TABLE notifications; DROP TABLE stored_objects; DROP TABLE photos;
DROP TABLE extension_requests; DROP TABLE rectifications; DROP TABLE hazard_events;
DROP TABLE hazards; DROP TABLE inspection_results; DROP TABLE inspections;
DROP TABLE login_attempts; DROP TABLE refresh_tokens; DROP TABLE logins; DROP TABLE devices;
DROP TABLE user_villages; DROP TABLE users; DROP TABLE campaigns;
DROP TABLE checklist_items; DROP TABLE checklist_templates; DROP TABLE enterprises;
DROP TABLE villages;
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
