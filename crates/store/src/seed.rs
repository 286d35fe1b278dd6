//! Loading `seeds/`: villages, checklist templates, the roster, campaigns, and
//! the demo accounts. Every step is idempotent: a second run adds nothing.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

use crate::entity::{campaign, checklist_template, enterprise, village};
use crate::repo::campaigns::{self, NewCampaign, Target};
use crate::repo::roster;
use crate::repo::templates::{self, TemplateSpec};
use crate::{Actor, Db, Error, Result};

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

/// Loads whatever of the seeds is not in the database yet.
pub async fn load(db: &Db, files: &SeedFiles<'_>) -> Result<SeedReport> {
    let mut report = SeedReport::default();
    let villages: Vec<VillageSpec> = yaml("villages", files.villages_yaml)?;
    let specs: Vec<TemplateSpec> = files
        .templates_yaml
        .iter()
        .map(|t| yaml("template", t))
        .collect::<Result<_>>()?;
    let campaign_specs: Vec<CampaignSpec> = yaml("campaigns", files.campaigns_yaml)?;

    let mut tx = db.write(Actor::system()).await?;
    let existing = village::Entity::find()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    let now = tx.now();
    let new: Vec<village::Model> = villages
        .iter()
        .filter(|v| !existing.iter().any(|e| e.code == v.code))
        .map(|v| village::Model {
            id: Uuid::now_v7(),
            code: v.code.clone(),
            name: v.name.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    report.villages = new.len() as u64;
    tx.insert_many("seed.village", new).await?;
    for spec in &specs {
        if templates::publish(&mut tx, spec).await? {
            report.templates += 1;
        }
    }
    tx.commit().await?;

    let have = enterprise::Entity::find()
        .count(db.conn())
        .await
        .map_err(Error::internal)?;
    if have == 0 {
        let out = roster::import(db, Actor::system(), files.enterprises_csv.as_bytes()).await?;
        if let Some(r) = out.rejected.first() {
            return Err(Error::internal(anyhow::anyhow!(
                "seeds/enterprises.csv row {} rejected: {:?}",
                r.row,
                r.errors
            )));
        }
        report.enterprises = out.created;
    }

    let mut tx = db.write(Actor::system()).await?;
    let all_villages = village::Entity::find()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    for c in &campaign_specs {
        let exists = campaign::Entity::find()
            .filter(campaign::Column::Name.eq(&c.name))
            .one(tx.txn())
            .await
            .map_err(Error::internal)?;
        if exists.is_some() {
            continue;
        }
        let mut template_ids = Vec::new();
        for code in &c.templates {
            let t = checklist_template::Entity::find()
                .filter(checklist_template::Column::Code.eq(code))
                .order_by_desc(checklist_template::Column::Version)
                .one(tx.txn())
                .await
                .map_err(Error::internal)?
                .ok_or_else(|| {
                    Error::internal(anyhow::anyhow!(
                        "campaign seed names unknown template {code}"
                    ))
                })?;
            template_ids.push(t.id);
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
                        Error::internal(anyhow::anyhow!(
                            "campaign seed names unknown village {code}"
                        ))
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
        campaigns::insert(&mut tx, &nc).await?;
        report.campaigns += 1;
    }
    tx.commit().await?;
    Ok(report)
}

/// The password of every demo account (documented in the README).
pub const DEMO_PASSWORD: &str = "anjian-demo-2026";

/// What the demo accounts are made for: the villages by code, and the first
/// `n` enterprises by credit code.
pub async fn demo_targets(
    db: &Db,
    n: u64,
) -> Result<(Vec<village::Model>, Vec<enterprise::Model>)> {
    let villages = village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let enterprises = enterprise::Entity::find()
        .order_by_asc(enterprise::Column::CreditCode)
        .paginate(db.conn(), n)
        .fetch_page(0)
        .await
        .map_err(Error::internal)?;
    Ok((villages, enterprises))
}
