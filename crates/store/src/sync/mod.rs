//! Offline sync's rows: the outbox of each device ([`outbox`]) and the
//! change feed of a user's scope ([`pull`]).

pub mod outbox;
pub mod pull;

pub use pull::{Change, CursorState, PullAnswer, Record};
