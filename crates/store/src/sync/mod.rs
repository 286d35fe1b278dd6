//! Offline sync: applying a device's mutations exactly once ([`push`]) and
//! serving the change feed of a user's scope ([`pull`]).

pub mod apply;
pub mod pull;
pub mod push;

pub use pull::{Change, CursorState, PullAnswer, Record};
pub use push::{Mutation, Outcome, OutcomeError, PushAnswer, PushResult};
