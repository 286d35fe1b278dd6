//! The use cases of anjian: each one function that loads what it needs, asks
//! the domain, writes through the store's one write path, and opens a
//! `tracing` span with its key fields. Handlers, the CLI and scheduled jobs
//! call these and nothing below them.
#![forbid(unsafe_code)]

pub mod access;
pub mod dashboard;
pub mod lifecycle;
pub mod notices;
pub mod outbox;
pub mod photos;
pub mod records;
pub mod reference;
pub mod report_files;
pub mod reports;
pub mod roster;
pub mod setup;
pub mod sync;
