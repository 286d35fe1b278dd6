//! The kinds of change a phone queues (api.md "Offline sync"): a closed set,
//! parsed once, so that dispatch never compares strings.

/// A mutation type of `POST /sync/push`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MutationKind {
    InspectionCreate,
    HazardCreate,
    HazardUpdate,
    HazardReview,
    RectificationCreate,
    PhotoDeclare,
}

impl MutationKind {
    pub const ALL: [MutationKind; 6] = [
        MutationKind::InspectionCreate,
        MutationKind::HazardCreate,
        MutationKind::HazardUpdate,
        MutationKind::HazardReview,
        MutationKind::RectificationCreate,
        MutationKind::PhotoDeclare,
    ];

    /// The `type` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MutationKind::InspectionCreate => "inspection.create",
            MutationKind::HazardCreate => "hazard.create",
            MutationKind::HazardUpdate => "hazard.update",
            MutationKind::HazardReview => "hazard.review",
            MutationKind::RectificationCreate => "rectification.create",
            MutationKind::PhotoDeclare => "photo.declare",
        }
    }

    /// The kind a `type` names; `None` for a type this server does not know
    /// (that mutation's `rejected` outcome, never the push's failure).
    pub fn parse(s: &str) -> Option<MutationKind> {
        MutationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::MutationKind;

    #[test]
    fn every_kind_reads_back() {
        for k in MutationKind::ALL {
            assert_eq!(MutationKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MutationKind::parse("hazard.delete"), None);
        assert_eq!(MutationKind::parse("HAZARD.CREATE"), None);
    }
}
