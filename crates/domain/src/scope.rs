//! The one decision of what a user may see (api.md "Roles and scope").
//!
//! Every read path, and later the sync feed, asks this type; the store turns it
//! into a query condition with the same meaning. Records outside a scope are
//! answered with 404, never 403, so their existence is not revealed.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::{EnterpriseId, Role, VillageId};

/// What part of the roster a user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Admin and office: everything.
    All,
    /// An inspector: enterprises of these villages (possibly none).
    Villages(BTreeSet<Uuid>),
    /// An enterprise user: its own enterprise only.
    Enterprise(Uuid),
    /// A user whose account can see nothing (an enterprise user without an enterprise).
    Nothing,
}

impl Scope {
    /// The scope of a user from its role and assignments.
    pub fn of(role: Role, village_ids: &[Uuid], enterprise_id: Option<Uuid>) -> Scope {
        match role {
            Role::Admin | Role::Office => Scope::All,
            Role::Inspector => Scope::Villages(village_ids.iter().copied().collect()),
            Role::Enterprise => enterprise_id.map_or(Scope::Nothing, Scope::Enterprise),
        }
    }

    /// Whether an enterprise (in `village_id`) and everything recorded about it is visible.
    pub fn sees_enterprise(&self, enterprise_id: EnterpriseId, village_id: VillageId) -> bool {
        match self {
            Scope::All => true,
            Scope::Villages(v) => v.contains(&village_id.0),
            Scope::Enterprise(e) => *e == enterprise_id.0,
            Scope::Nothing => false,
        }
    }

    /// Villages are reference data every signed-in user may read.
    pub fn sees_village(&self, _village_id: Uuid) -> bool {
        true
    }

    /// A stable fingerprint of the scope; when it changes, sync clients must reset.
    pub fn fingerprint(&self) -> String {
        match self {
            Scope::All => "all".to_owned(),
            Scope::Villages(v) => {
                let ids: Vec<String> = v.iter().map(Uuid::to_string).collect();
                format!("villages:{}", ids.join(","))
            }
            Scope::Enterprise(e) => format!("enterprise:{e}"),
            Scope::Nothing => "nothing".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roles_map_to_scopes() {
        let v = Uuid::now_v7();
        let e = Uuid::now_v7();
        assert_eq!(Scope::of(Role::Admin, &[], None), Scope::All);
        assert_eq!(Scope::of(Role::Office, &[v], Some(e)), Scope::All);
        assert_eq!(
            Scope::of(Role::Enterprise, &[v], Some(e)),
            Scope::Enterprise(e)
        );
        assert_eq!(Scope::of(Role::Enterprise, &[], None), Scope::Nothing);
        assert_eq!(
            Scope::of(Role::Inspector, &[v], None),
            Scope::Villages([v].into())
        );
    }

    #[test]
    fn the_other_enterprise_and_the_other_village_are_hidden() {
        let (v1, v2, e1, e2) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let inspector = Scope::of(Role::Inspector, &[v1], None);
        assert!(inspector.sees_enterprise(EnterpriseId(e1), VillageId(v1)));
        assert!(!inspector.sees_enterprise(EnterpriseId(e2), VillageId(v2)));
        let ent = Scope::of(Role::Enterprise, &[], Some(e1));
        assert!(ent.sees_enterprise(EnterpriseId(e1), VillageId(v1)));
        assert!(!ent.sees_enterprise(EnterpriseId(e2), VillageId(v1)));
        assert!(!Scope::Nothing.sees_enterprise(EnterpriseId(e1), VillageId(v1)));
    }

    proptest! {
        #[test]
        fn inspector_sees_exactly_assigned_villages(
            assigned in proptest::collection::btree_set(0u8..20, 0..6),
            probe in 0u8..20,
        ) {
            let ids: Vec<Uuid> = assigned.iter().map(|n| Uuid::from_u128(u128::from(*n))).collect();
            let s = Scope::of(Role::Inspector, &ids, None);
            let village = Uuid::from_u128(u128::from(probe));
            prop_assert_eq!(s.sees_enterprise(EnterpriseId(Uuid::now_v7()), VillageId(village)), assigned.contains(&probe));
        }

        #[test]
        fn fingerprint_is_order_independent(mut ids in proptest::collection::vec(any::<u128>(), 0..8)) {
            let a = Scope::of(Role::Inspector, &ids.iter().map(|n| Uuid::from_u128(*n)).collect::<Vec<_>>(), None);
            ids.reverse();
            let b = Scope::of(Role::Inspector, &ids.iter().map(|n| Uuid::from_u128(*n)).collect::<Vec<_>>(), None);
            prop_assert_eq!(a.fingerprint(), b.fingerprint());
        }
    }
}
