//! sea-orm entities: the database shape. Never sent over the wire as they are;
//! the API has its own wire types. `Serialize` exists for audit snapshots only.

pub use typed::Enum;

mod typed;

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod village {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "villages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub code: String,
        pub name: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod enterprise {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "enterprises")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub credit_code: String,
        pub name: String,
        pub address: String,
        pub village_id: Uuid,
        pub industry_code: String,
        pub scale: super::Enum<anjian_domain::Scale>,
        /// Tags joined and wrapped in commas (`,dust,gas,`) so that one tag is a
        /// portable `LIKE '%,dust,%'` on both databases.
        pub risk_tags: String,
        pub status: super::Enum<anjian_domain::EnterpriseStatus>,
        pub contact_name: String,
        pub contact_phone: String,
        pub lat: Option<f64>,
        pub lon: Option<f64>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod checklist_template {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "checklist_templates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub code: String,
        pub version: i64,
        pub title: String,
        pub status: String,
        pub risk_tags: String,
        pub created_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod checklist_item {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "checklist_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub template_id: Uuid,
        pub position: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub category: String,
        pub text: String,
        pub guidance: String,
        pub legal_basis: String,
        pub severity_hint: String,
        pub photo_required_on_fail: bool,
    }
    no_relations!();
}

pub mod campaign {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "campaigns")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub starts_on: Date,
        pub ends_on: Date,
        pub template_ids: Json,
        pub target: Json,
        pub created_by: Option<Uuid>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod user {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub username: String,
        pub display_name: String,
        pub role: super::Enum<anjian_domain::Role>,
        pub enterprise_id: Option<Uuid>,
        #[serde(skip)]
        pub password_hash: String,
        pub disabled: bool,
        /// Where notifications go.
        pub email: Option<String>,
        pub phone: Option<String>,
        /// The password was set by someone else (provisioned, reset): the
        /// user must choose its own before doing anything else.
        pub must_change_password: bool,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod user_village {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "user_villages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub village_id: Uuid,
    }
    no_relations!();
}

pub mod login {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "logins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub device_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub last_used_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        pub revoked_reason: Option<String>,
    }
    no_relations!();
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub login_id: Uuid,
        pub created_at: DateTimeUtc,
        pub rotated_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod login_attempt {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub window_started_at: DateTimeUtc,
        pub failures: i64,
    }
    no_relations!();
}

pub mod change_feed {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "change_feed")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub ordinal: i64,
        pub entity_type: String,
        pub entity_id: Uuid,
        pub version: i64,
        pub op: super::Enum<crate::write::FeedOp>,
        pub enterprise_id: Option<Uuid>,
        pub village_id: Option<Uuid>,
        pub committed_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub at: DateTimeUtc,
        pub actor_id: Option<Uuid>,
        pub action: String,
        pub entity_type: String,
        pub entity_id: Uuid,
        pub before: Option<Json>,
        pub after: Option<Json>,
        pub request_id: Option<String>,
    }
    no_relations!();
}

pub mod job_run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "job_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub job: String,
        pub period: String,
        pub runner: String,
        pub started_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
        pub status: String,
        pub detail: Option<String>,
        /// Until when the runner holds the run (renewed while it works); a
        /// `running` or `failed` run past it may be retaken.
        pub lease_expires_at: Option<DateTimeUtc>,
        pub attempts: i64,
    }
    no_relations!();
}

pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// A message to deliver, kept until it went.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub channel: String,
        pub dedupe_key: String,
        pub payload: Json,
        pub status: String,
        pub attempts: i64,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
        pub holder: Option<String>,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod notification {
    use sea_orm::entity::prelude::*;

    /// Something a user is told (a reminder, an overdue notice, an escalation).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub kind: String,
        pub title: String,
        pub body: String,
        pub entity_type: Option<String>,
        pub entity_id: Option<Uuid>,
        /// What makes it once per user and event.
        pub dedupe_key: Option<String>,
        pub created_at: DateTimeUtc,
        pub read_at: Option<DateTimeUtc>,
        /// When it was handed to the outbox (e-mail, webhook).
        pub dispatched_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod report {
    use sea_orm::entity::prelude::*;

    /// A generated report: its figures, and the keys of its files in S3.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "reports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: String,
        pub period: String,
        pub generated_at: DateTimeUtc,
        pub figures: Json,
        pub xlsx_key: Option<String>,
        pub csv_key: Option<String>,
        /// The figures the archive shows (none on rows made before it was kept).
        pub headline: Option<Json>,
    }
    no_relations!();
}

pub mod replicated;

pub mod lease {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "leases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub holder: String,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod inspection {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "inspections")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub enterprise_id: Uuid,
        pub campaign_id: Option<Uuid>,
        pub template_id: Uuid,
        pub template_version: i64,
        pub inspector_id: Uuid,
        pub started_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
        pub lat: Option<f64>,
        pub lon: Option<f64>,
        pub summary: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod inspection_result {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "inspection_results")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub inspection_id: Uuid,
        pub position: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub item_code: String,
        pub outcome: super::Enum<anjian_domain::inspection::ItemOutcome>,
        pub note: String,
        pub photo_ids: Json,
    }
    no_relations!();
}

pub mod hazard {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "hazards")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub enterprise_id: Uuid,
        pub inspection_id: Option<Uuid>,
        pub item_code: Option<String>,
        pub title: String,
        pub description: String,
        pub category: String,
        pub severity: super::Enum<anjian_domain::Severity>,
        pub status: super::Enum<anjian_domain::HazardStatus>,
        pub found_at: DateTimeUtc,
        pub deadline: Date,
        pub responsible_person: String,
        pub measures: String,
        pub closed_at: Option<DateTimeUtc>,
        pub plan: Option<Json>,
        pub photo_ids: Json,
        /// For each field that can be edited, the version at which it last changed
        /// (per-field change tracking for the merge of concurrent offline edits).
        pub field_versions: Json,
        pub created_by: Uuid,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod hazard_event {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "hazard_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub hazard_id: Uuid,
        pub at: DateTimeUtc,
        pub actor_id: Option<Uuid>,
        pub action: String,
        pub from_status: Option<super::Enum<anjian_domain::HazardStatus>>,
        pub to_status: Option<super::Enum<anjian_domain::HazardStatus>>,
        pub comment: String,
        pub photo_ids: Json,
        /// Fields the event changed besides the status, with their old and
        /// new values: `{"deadline": {"from": …, "to": …}}`.
        pub changes: Option<Json>,
    }
    no_relations!();
}

/// A rectification (整改) reported for a hazard: by its enterprise, or
/// recorded on site by an inspector. Never changes once written.
pub mod rectification {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "rectifications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub hazard_id: Uuid,
        /// The hazard's enterprise, for the scope of the sync feed.
        pub enterprise_id: Uuid,
        pub description: String,
        pub photo_ids: Json,
        pub submitted_by: Uuid,
        pub submitted_at: DateTimeUtc,
        pub version: i64,
    }
    no_relations!();
}

/// A request for a later deadline (延期申请) and its decision.
pub mod extension_request {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "extension_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub hazard_id: Uuid,
        /// The hazard's enterprise, for the scope of the sync feed.
        pub enterprise_id: Uuid,
        pub requested_deadline: Date,
        pub reason: String,
        pub status: super::Enum<anjian_domain::hazard::ExtensionStatus>,
        pub requested_by: Uuid,
        pub requested_at: DateTimeUtc,
        pub decided_by: Option<Uuid>,
        pub decided_at: Option<DateTimeUtc>,
        pub comment: Option<String>,
        pub version: i64,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod photo {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
    #[sea_orm(table_name = "photos")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub sha256: String,
        pub size: i64,
        pub content_type: String,
        pub status: super::Enum<anjian_domain::photo::PhotoStatus>,
        pub declared_by: Uuid,
        pub declared_at: DateTimeUtc,
        pub taken_at: Option<DateTimeUtc>,
        pub uploaded_at: Option<DateTimeUtc>,
        pub processed_at: Option<DateTimeUtc>,
        pub width: Option<i64>,
        pub height: Option<i64>,
        pub gps_lat: Option<f64>,
        pub gps_lon: Option<f64>,
        pub owner_type: Option<super::Enum<anjian_domain::photo::OwnerKind>>,
        pub owner_id: Option<Uuid>,
        pub owner_item: Option<String>,
        pub owner_position: Option<i64>,
        pub enterprise_id: Option<Uuid>,
        pub version: i64,
    }
    no_relations!();
}

/// Bytes stored once under their SHA-256, and what they say about the photo.
pub mod stored_object {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "stored_objects")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub sha256: String,
        pub size: i64,
        pub content_type: String,
        pub width: i64,
        pub height: i64,
        pub stored_at: DateTimeUtc,
        pub taken_at: Option<DateTimeUtc>,
        pub gps_lat: Option<f64>,
        pub gps_lon: Option<f64>,
        /// When `preview` and `thumb` were made; `None` while they are queued.
        pub variants_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

/// Stored objects waiting for their variants: the durable processing queue.
pub mod photo_job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "photo_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub sha256: String,
        pub enqueued_at: DateTimeUtc,
        /// Attempts started, the one under way included.
        pub attempts: i64,
        /// Not to be taken before this time (a retry backs off).
        pub next_at: DateTimeUtc,
        pub lease_holder: Option<String>,
        /// The holder's claim ends here; after it another worker may take the row.
        pub lease_until: Option<DateTimeUtc>,
        pub last_error: Option<String>,
    }
    no_relations!();
}

pub mod device {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "devices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub last_processed_seq: i64,
        pub scope_fingerprint: Option<String>,
        pub first_seen_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod sync_mutation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sync_mutations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub device_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub payload_hash: String,
        pub outcome: Json,
        pub processed_at: DateTimeUtc,
    }
    no_relations!();
}
