//! Who a user is to the system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The four roles of api.md "Roles and scope".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Office,
    Inspector,
    Enterprise,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Office, Role::Inspector, Role::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office => "office",
            Role::Inspector => "inspector",
            Role::Enterprise => "enterprise",
        }
    }

    /// Admin and office see and manage the whole roster.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Office)
    }

    /// Whether the role has `cap` (api.md "Roles and scope").
    pub fn can(self, cap: Capability) -> bool {
        match cap {
            Capability::ManageUsers => self == Role::Admin,
            Capability::ManageRoster
            | Capability::ManageCampaigns
            | Capability::ReadAudit
            | Capability::ReadReports => self.is_staff(),
        }
    }

    /// Who records inspections and hazards and edits them: everyone but
    /// enterprise users, who answer for hazards and do not record them.
    pub fn records_findings(self) -> bool {
        self != Role::Enterprise
    }
}

/// What a role may do beyond seeing its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Create, change and disable accounts (admin).
    ManageUsers,
    /// Add, change and import enterprises (office, admin).
    ManageRoster,
    /// Start special rectification campaigns (office, admin).
    ManageCampaigns,
    /// Read the audit trail (office, admin).
    ReadAudit,
    /// Read the campaign's figures: the dashboard and reports (office, admin).
    ReadReports,
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Role::ALL.map(Role::as_str)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Role {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Role")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl crate::closed::Closed for Role {
    const NAME: &'static str = "Role";
    fn as_str(self) -> &'static str {
        Role::as_str(self)
    }
    fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}
