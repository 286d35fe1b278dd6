//! Which entities are replicated records, and whose scope their changes belong to.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{campaign, checklist_template, enterprise, village};
use crate::write::{FeedScope, Replicated};

/// Records with `version` and `updated_at`, and the scope of their changes.
macro_rules! replicated {
    ($model:path, $ty:literal, fed: $fed:literal, |$m:ident| $scope:expr) => {
        impl Replicated for $model {
            const ENTITY_TYPE: &'static str = $ty;
            const FED: bool = $fed;
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
                let $m = self;
                $scope
            }
        }
    };
}

replicated!(village::Model, "village", fed: true, |v| FeedScope { enterprise_id: None, village_id: Some(v.id) });
replicated!(enterprise::Model, "enterprise", fed: true, |e| FeedScope { enterprise_id: Some(e.id), village_id: Some(e.village_id) });
replicated!(campaign::Model, "campaign", fed: true, |_c| FeedScope::default());
// Users are versioned and audited through the write path but never replicated.
replicated!(super::user::Model, "user", fed: false, |u| FeedScope { enterprise_id: u.enterprise_id, village_id: None });
// The village of these is resolved from the enterprise at commit.
replicated!(super::inspection::Model, "inspection", fed: true, |i| FeedScope { enterprise_id: Some(i.enterprise_id), village_id: None });
replicated!(super::hazard::Model, "hazard", fed: true, |h| FeedScope { enterprise_id: Some(h.enterprise_id), village_id: None });
replicated!(super::extension_request::Model, "extension_request", fed: true, |x| FeedScope { enterprise_id: Some(x.enterprise_id), village_id: None });

/// A rectification is written once: version 1 for ever.
impl Replicated for super::rectification::Model {
    const ENTITY_TYPE: &'static str = "rectification";
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
            enterprise_id: Some(self.enterprise_id),
            village_id: None,
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

/// Rows that belong to a record, audited under the record they belong to.
macro_rules! child {
    ($model:path, $ty:literal, |$m:ident| $id:expr, $parent:expr, $key:expr) => {
        impl crate::write::Child for $model {
            const ENTITY_TYPE: &'static str = $ty;
            fn audit_id(&self) -> Uuid {
                let $m = self;
                $id
            }
            fn parent(&self) -> Option<(&'static str, Uuid)> {
                let $m = self;
                let _ = $m;
                $parent
            }
            fn key(&self) -> String {
                let $m = self;
                $key
            }
        }
    };
}

child!(
    super::hazard_event::Model,
    "hazard_event",
    |e| e.id,
    Some(("hazard", e.hazard_id)),
    e.id.to_string()
);
child!(
    super::inspection_result::Model,
    "inspection_result",
    |r| r.inspection_id,
    Some(("inspection", r.inspection_id)),
    r.item_code.clone()
);
child!(
    super::checklist_item::Model,
    "checklist_item",
    |i| i.template_id,
    Some(("template", i.template_id)),
    i.code.clone()
);
child!(
    super::user_village::Model,
    "user_village",
    |v| v.user_id,
    Some(("user", v.user_id)),
    v.village_id.to_string()
);
// Objects are named by their SHA-256: audited under its first 128 bits (the
// whole hash is in the entry).
child!(
    super::stored_object::Model,
    "stored_object",
    |o| {
        let mut b = [0u8; 16];
        hex::decode_to_slice(o.sha256.get(..32).unwrap_or_default(), &mut b).unwrap_or_default();
        Uuid::from_bytes(b)
    },
    None,
    o.sha256.clone()
);
