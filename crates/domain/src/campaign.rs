//! Special rectification campaigns (专项整治): what one is, and the checks a
//! new one passes before the store looks up the templates and villages it
//! names.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldErrors, RiskTag};

/// Which enterprises a campaign covers: those in these villages (all when empty)
/// carrying any of these risk tags (any when empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub village_ids: Vec<Uuid>,
    #[serde(default)]
    pub risk_tags: Vec<String>,
}

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub template_ids: Vec<Uuid>,
    pub target: Target,
}

impl NewCampaign {
    /// A name of 1 to 100 characters, an end not before the start, at least
    /// one template, known risk tags; problems added to `f`. The name, trimmed.
    pub fn check(&self, f: &mut FieldErrors) -> String {
        let name = self.name.trim();
        if name.is_empty() {
            f.add("name", "required");
        } else if name.chars().count() > 100 {
            f.add("name", "too_long");
        }
        if self.ends_on < self.starts_on {
            f.add("ends_on", "before_starts_on");
        }
        if self.template_ids.is_empty() {
            f.add("template_ids", "required");
        }
        if self
            .target
            .risk_tags
            .iter()
            .any(|t| RiskTag::parse(t).is_none())
        {
            f.add("target.risk_tags", "unknown_tag");
        }
        name.to_owned()
    }
}
