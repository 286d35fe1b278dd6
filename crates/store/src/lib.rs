//! Persistence of anjian: entities, the one write path, and the repositories
//! (use cases that need a transaction) the API and the scheduler call.
//!
//! Every write of a replicated record goes through [`write::WriteTx`], which in
//! the same transaction bumps the record's `version`, writes the audit entry and
//! appends to the change feed at a position that follows commit order.
#![forbid(unsafe_code)]

pub mod db;
pub mod entity;
pub mod password;
pub mod repo;
pub mod scope;
pub mod seed;
pub mod sync;
pub mod write;

pub use anjian_domain::{Error, Result};
pub use db::Db;
pub use write::{Actor, Child, Replicated, WriteTx};
