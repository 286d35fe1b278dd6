//! What the server does to its own database: the town's seed data at start,
//! the first administrator, the demo accounts, and purging expired logins.

use anjian_domain::campaign::{NewCampaign, Target};
use anjian_domain::template::TemplateSpec;
use anjian_domain::{Error, Result, Role};
use anjian_store::repo::users::NewUser;
use anjian_store::{Actor, Db, password, repo, seed};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// The password of every demo account (documented in the README).
pub const DEMO_PASSWORD: &str = "anjian-demo-2026";

/// The seed files, as text (the binary embeds them).
#[derive(Debug, Clone, Copy)]
pub struct SeedFiles<'a> {
    pub villages_yaml: &'a str,
    pub enterprises_csv: &'a str,
    pub templates_yaml: &'a [&'a str],
    pub campaigns_yaml: &'a str,
}

/// What a seed run added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub villages: u64,
    pub templates: u64,
    pub enterprises: u64,
    pub campaigns: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VillageSpec {
    code: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignSpec {
    name: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    /// Template codes (latest edition of each).
    templates: Vec<String>,
    #[serde(default)]
    villages: Vec<String>,
    #[serde(default)]
    risk_tags: Vec<String>,
}

fn yaml<T: for<'de> Deserialize<'de>>(what: &str, text: &str) -> Result<T> {
    serde_yaml::from_str(text).map_err(|e| Error::internal(anyhow::anyhow!("seed {what}: {e}")))
}

fn seed_error(what: String) -> Error {
    Error::internal(anyhow::anyhow!(what))
}

/// Loads what is missing of the seed files (villages, templates, roster,
/// campaigns); what is there stays, so a second run adds nothing.
#[tracing::instrument(name = "seed", skip_all)]
pub async fn seed(db: &Db, files: &SeedFiles<'_>) -> Result<SeedReport> {
    let mut report = SeedReport::default();
    let villages: Vec<VillageSpec> = yaml("villages", files.villages_yaml)?;
    let specs: Vec<TemplateSpec> = files
        .templates_yaml
        .iter()
        .map(|t| yaml("template", t))
        .collect::<Result<_>>()?;
    for spec in &specs {
        spec.check()?;
    }
    let campaign_specs: Vec<CampaignSpec> = yaml("campaigns", files.campaigns_yaml)?;

    let mut tx = db.write(Actor::system()).await?;
    let villages: Vec<(String, String)> = villages.into_iter().map(|v| (v.code, v.name)).collect();
    report.villages = repo::villages::insert_missing(&mut tx, &villages).await?;
    for spec in &specs {
        if repo::templates::publish(&mut tx, spec).await? {
            report.templates += 1;
        }
    }
    tx.commit().await?;

    if repo::enterprises::count(db).await? == 0 {
        let out =
            crate::roster::import(db, Actor::system(), files.enterprises_csv.as_bytes()).await?;
        if let Some(r) = out.rejected.first() {
            return Err(seed_error(format!(
                "seeds/enterprises.csv row {} rejected: {:?}",
                r.row, r.errors
            )));
        }
        report.enterprises = out.created;
    }

    let mut tx = db.write(Actor::system()).await?;
    let all_villages = repo::villages::all(&tx).await?;
    for c in &campaign_specs {
        if repo::campaigns::named(&tx, &c.name).await? {
            continue;
        }
        let mut template_ids = Vec::new();
        for code in &c.templates {
            let id = repo::templates::latest(&tx, code).await?.ok_or_else(|| {
                seed_error(format!("campaign seed names unknown template {code}"))
            })?;
            template_ids.push(id);
        }
        let village_ids = c
            .villages
            .iter()
            .map(|code| {
                all_villages
                    .iter()
                    .find(|v| &v.code == code)
                    .map(|v| v.id)
                    .ok_or_else(|| {
                        seed_error(format!("campaign seed names unknown village {code}"))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let nc = NewCampaign {
            name: c.name.clone(),
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            template_ids,
            target: Target {
                village_ids,
                risk_tags: c.risk_tags.clone(),
            },
        };
        crate::reference::insert_campaign(&mut tx, &nc).await?;
        report.campaigns += 1;
    }
    tx.commit().await?;
    Ok(report)
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
