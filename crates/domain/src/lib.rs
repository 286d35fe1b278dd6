//! The rules of anjian with no HTTP and no database in them.
//!
//! Everything here is pure: parse-don't-validate value types ([`CreditCode`],
//! [`Role`], [`Severity`], …), the hazard state machine, the deadline policy and
//! the [`Scope`] that decides what a user may see. The store and the API call
//! into this crate; it calls nothing of theirs.
#![forbid(unsafe_code)]

pub mod account;
pub mod campaign;
pub mod clock;
pub mod closed;
pub mod credit_code;
pub mod enterprise;
pub mod error;
pub mod figures;
pub mod hazard;
pub mod ids;
pub mod inspection;
pub mod login;
pub mod mutation;
pub mod notice;
pub mod number;
pub mod password;
pub mod photo;
pub mod report;
pub mod role;
pub mod scope;
pub mod template;
pub mod text;

pub use clock::{Clock, FixedClock, SystemClock};
pub use closed::Closed;
pub use credit_code::CreditCode;
pub use enterprise::{EnterpriseStatus, RiskTag, Scale};
pub use error::{Error, ErrorCode, FieldErrors, Result};
pub use hazard::{DeadlinePolicy, HazardStatus, Severity};
pub use ids::{DeviceId, EnterpriseId, UserId, VillageId};
pub use role::{Capability, Role};
pub use scope::Scope;
pub use text::{Bounded, Text};
