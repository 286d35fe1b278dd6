//! What the server does to its own database: the town's seed data at start,
//! the first administrator, the demo accounts, and purging expired logins.

use anjian_domain::{Result, Role};
use anjian_store::repo::users::NewUser;
use anjian_store::{Actor, Db, password, repo, seed};
use chrono::{DateTime, Utc};

pub use anjian_store::seed::{DEMO_PASSWORD, SeedFiles, SeedReport};

/// Loads what is missing of the seed files (villages, templates, roster,
/// campaigns); what is there stays.
#[tracing::instrument(name = "seed", skip_all)]
pub async fn seed(db: &Db, files: &SeedFiles<'_>) -> Result<SeedReport> {
    seed::load(db, files).await
}

pub use crate::access::ensure_admin;

/// Demo accounts: `office`, an inspector per village (`inspector01`…), and the
/// users of the first ten enterprises by credit code (`ent01`…). One hash is
/// computed and shared, so thousands of accounts would not slow start-up.
/// Returns the usernames created.
#[tracing::instrument(name = "demo_accounts", skip_all)]
pub async fn demo_accounts(db: &Db) -> Result<Vec<String>> {
    let hash = password::hash(DEMO_PASSWORD)?;
    let (villages, enterprises) = seed::demo_targets(db, 10).await?;
    let mut wanted = vec![NewUser {
        username: "office".into(),
        display_name: "安监办 值班员".into(),
        role: Role::Office.as_str().into(),
        ..NewUser::default()
    }];
    for (i, v) in villages.iter().enumerate() {
        wanted.push(NewUser {
            username: format!("inspector{:02}", i + 1),
            display_name: format!("{}网格员", v.name),
            role: Role::Inspector.as_str().into(),
            village_ids: vec![v.id],
            ..NewUser::default()
        });
    }
    for (i, e) in enterprises.iter().enumerate() {
        wanted.push(NewUser {
            username: format!("ent{:02}", i + 1),
            display_name: format!("{} 安全员", e.name),
            role: Role::Enterprise.as_str().into(),
            enterprise_id: Some(e.id),
            ..NewUser::default()
        });
    }
    let mut created = Vec::new();
    let mut tx = db.write(Actor::system()).await?;
    for n in wanted {
        if !repo::users::username_taken(&tx, &n.username).await? {
            crate::access::insert_user(&mut tx, &n, hash.clone()).await?;
            created.push(n.username);
        }
    }
    tx.commit().await?;
    Ok(created)
}

/// Removes logins, refresh tokens and login attempts past their time; how many logins.
#[tracing::instrument(name = "auth.purge", skip_all, fields(purged = tracing::field::Empty))]
pub async fn purge_logins(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let n = repo::jobs::purge_auth(db, now).await?;
    tracing::Span::current().record("purged", n);
    Ok(n)
}
