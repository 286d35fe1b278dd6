//! sea-orm entities: the database shape. Never sent over the wire as they are;
//! the API has its own wire types. `Serialize` exists for audit snapshots only.
#![allow(missing_docs)]

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
        pub scale: String,
        /// Tags joined and wrapped in commas (`,dust,gas,`) so that one tag is a
        /// portable `LIKE '%,dust,%'` on both databases.
        pub risk_tags: String,
        pub status: String,
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
        pub role: String,
        pub enterprise_id: Option<Uuid>,
        #[serde(skip)]
        pub password_hash: String,
        pub disabled: bool,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod user_village {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
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
        pub op: String,
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
