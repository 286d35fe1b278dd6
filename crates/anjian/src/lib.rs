//! The anjian binary as a library, so that end-to-end tests start exactly
//! what `anjian serve` starts.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod config;
pub mod demo;
pub mod field_cli;
pub mod photos;
mod rng;
pub mod roster_gen;
pub mod seeds;

pub use app::{Running, StartOptions, start};
pub use config::Config;
