//! Ids that must not be swapped: where a function takes two of them, each has
//! its own type, so passing one for the other does not compile.

use uuid::Uuid;

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// An enterprise on the roster.
    EnterpriseId
);
id!(
    /// A village (村/社区) of the town.
    VillageId
);
id!(
    /// A user account.
    UserId
);
id!(
    /// A phone or other device that syncs.
    DeviceId
);
