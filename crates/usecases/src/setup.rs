//! What the server does to its own database: the town's seed data at start,
//! the first administrator, the demo accounts, and purging expired logins.

use anjian_domain::Result;
use anjian_store::{Db, repo, seed};
use chrono::{DateTime, Utc};

pub use anjian_store::seed::{DEMO_PASSWORD, SeedFiles, SeedReport};

/// Loads what is missing of the seed files (villages, templates, roster,
/// campaigns); what is there stays.
#[tracing::instrument(name = "seed", skip_all)]
pub async fn seed(db: &Db, files: &SeedFiles<'_>) -> Result<SeedReport> {
    seed::load(db, files).await
}

/// Creates the first administrator unless it exists; the password when it
/// was generated here, to be printed once.
pub async fn ensure_admin(db: &Db, configured: Option<&str>) -> Result<Option<String>> {
    repo::users::ensure_admin(db, configured).await
}

/// Creates the demo accounts that are missing; their usernames.
#[tracing::instrument(name = "demo_accounts", skip_all)]
pub async fn demo_accounts(db: &Db) -> Result<Vec<String>> {
    seed::demo_accounts(db).await
}

/// Removes logins, refresh tokens and login attempts past their time; how many logins.
#[tracing::instrument(name = "auth.purge", skip_all, fields(purged = tracing::field::Empty))]
pub async fn purge_logins(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let n = repo::jobs::purge_auth(db, now).await?;
    tracing::Span::current().record("purged", n);
    Ok(n)
}
