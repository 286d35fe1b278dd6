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
use crate::repo::users::{self, NewUser};
use crate::{Actor, Db, Error, Result, password};

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

/// Demo accounts: `office`, an inspector per village (`inspector01`…), and the
/// users of the first ten enterprises by credit code (`ent01`…). One hash is
/// computed and shared, so thousands of accounts would not slow start-up.
/// Returns the usernames created.
pub async fn demo_accounts(db: &Db) -> Result<Vec<String>> {
    let hash = password::hash(DEMO_PASSWORD)?;
    let villages = village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(db.conn())
        .await
        .map_err(Error::internal)?;
    let enterprises = enterprise::Entity::find()
        .order_by_asc(enterprise::Column::CreditCode)
        .paginate(db.conn(), 10)
        .fetch_page(0)
        .await
        .map_err(Error::internal)?;
    let mut wanted = vec![NewUser {
        username: "office".into(),
        display_name: "安监办 值班员".into(),
        role: "office".into(),
        ..NewUser::default()
    }];
    for (i, v) in villages.iter().enumerate() {
        wanted.push(NewUser {
            username: format!("inspector{:02}", i + 1),
            display_name: format!("{}网格员", v.name),
            role: "inspector".into(),
            village_ids: vec![v.id],
            ..NewUser::default()
        });
    }
    for (i, e) in enterprises.iter().enumerate() {
        wanted.push(NewUser {
            username: format!("ent{:02}", i + 1),
            display_name: format!("{} 安全员", e.name),
            role: "enterprise".into(),
            enterprise_id: Some(e.id),
            ..NewUser::default()
        });
    }
    let mut created = Vec::new();
    let mut tx = db.write(Actor::system()).await?;
    for n in wanted {
        if users::find_by_username(tx.txn(), &n.username)
            .await?
            .is_none()
        {
            users::insert_hashed(&mut tx, &n, hash.clone()).await?;
            created.push(n.username);
        }
    }
    tx.commit().await?;
    Ok(created)
}
