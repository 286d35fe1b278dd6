//! Which entities are replicated records, and whose scope their changes belong to.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{campaign, checklist_template, enterprise, village};
use crate::write::{FeedScope, Replicated};

impl Replicated for village::Model {
    const ENTITY_TYPE: &'static str = "village";
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
    fn touch(&mut self, at: DateTime<Utc>) {
        self.updated_at = at;
    }
    fn feed_scope(&self) -> FeedScope {
        FeedScope {
            enterprise_id: None,
            village_id: Some(self.id),
        }
    }
}

impl Replicated for enterprise::Model {
    const ENTITY_TYPE: &'static str = "enterprise";
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
    fn touch(&mut self, at: DateTime<Utc>) {
        self.updated_at = at;
    }
    fn feed_scope(&self) -> FeedScope {
        FeedScope {
            enterprise_id: Some(self.id),
            village_id: Some(self.village_id),
        }
    }
}

/// A template row is one edition and never changes: its `version` is the
/// edition number, and editing a published template inserts a new row.
impl Replicated for checklist_template::Model {
    const ENTITY_TYPE: &'static str = "template";
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, _version: i64) {}
    fn touch(&mut self, _at: DateTime<Utc>) {}
    fn feed_scope(&self) -> FeedScope {
        FeedScope::default()
    }
}

impl Replicated for campaign::Model {
    const ENTITY_TYPE: &'static str = "campaign";
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
    fn touch(&mut self, at: DateTime<Utc>) {
        self.updated_at = at;
    }
    fn feed_scope(&self) -> FeedScope {
        FeedScope::default()
    }
}

/// Users are not replicated to phones, but they are versioned and audited
/// through the same path; their feed entries are never served.
impl Replicated for super::user::Model {
    const ENTITY_TYPE: &'static str = "user";
    const FED: bool = false;
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
    fn touch(&mut self, at: DateTime<Utc>) {
        self.updated_at = at;
    }
    fn feed_scope(&self) -> FeedScope {
        FeedScope {
            enterprise_id: self.enterprise_id,
            village_id: None,
        }
    }
}

macro_rules! replicated_by_enterprise {
    ($model:path, $ty:literal, $touch:ident) => {
        impl Replicated for $model {
            const ENTITY_TYPE: &'static str = $ty;
            fn id(&self) -> Uuid {
                self.id
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn set_version(&mut self, version: i64) {
                self.version = version;
            }
            fn touch(&mut self, at: DateTime<Utc>) {
                replicated_by_enterprise!(@touch self, at, $touch);
            }
            fn feed_scope(&self) -> FeedScope {
                // The village is resolved from the enterprise at commit.
                FeedScope {
                    enterprise_id: Some(self.enterprise_id),
                    village_id: None,
                }
            }
        }
    };
    (@touch $s:ident, $at:ident, updated_at) => { $s.updated_at = $at; };
    (@touch $s:ident, $at:ident, none) => { let _ = $at; };
}

replicated_by_enterprise!(super::inspection::Model, "inspection", updated_at);
replicated_by_enterprise!(super::hazard::Model, "hazard", updated_at);

impl Replicated for super::photo::Model {
    const ENTITY_TYPE: &'static str = "photo";
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
    fn touch(&mut self, _at: DateTime<Utc>) {}
    fn feed_scope(&self) -> FeedScope {
        FeedScope {
            enterprise_id: self.enterprise_id,
            village_id: None,
        }
    }
}
