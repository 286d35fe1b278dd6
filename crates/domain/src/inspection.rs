//! An inspection as a phone records it (`inspection.create`, api.md "Offline
//! sync"): the payload, the outcome of a checklist item, and the checks
//! against the template it was made with.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enterprise::closed_enum;
use crate::text::{self, max};
use crate::{Bounded, Error, FieldErrors};

closed_enum!(
    /// How a checklist item was found.
    ItemOutcome { Pass => "pass", Fail => "fail", Na => "na" }
);

/// One checklist item's result.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultIn {
    pub item_code: String,
    pub outcome: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub photo_ids: Bounded<Uuid, 500>,
}

/// Where the inspection took place.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

impl Location {
    pub fn is_valid(self) -> bool {
        (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lon)
    }
}

/// The payload of `inspection.create`.
#[derive(Debug, Clone, Deserialize)]
pub struct InspectionIn {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    #[serde(default)]
    pub campaign_id: Option<Uuid>,
    pub template_id: Uuid,
    #[serde(default)]
    pub template_version: Option<i64>,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub results: Bounded<ResultIn, 500>,
    #[serde(default)]
    pub summary: String,
}

/// What the server knows of the template an inspection names.
#[derive(Debug, Clone)]
pub struct TemplateFacts<'a> {
    pub version: i64,
    pub item_codes: &'a [&'a str],
}

/// A checked result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedResult {
    pub item_code: String,
    pub outcome: ItemOutcome,
    pub note: String,
    pub photo_ids: Vec<Uuid>,
}

/// A checked inspection: what the store writes.
#[derive(Debug, Clone)]
pub struct CheckedInspection {
    pub template_version: i64,
    pub summary: String,
    pub results: Vec<CheckedResult>,
}

impl InspectionIn {
    /// Checks the payload against its template (`None`: unknown) and whether
    /// its campaign exists; every problem is named.
    pub fn check(
        &self,
        template: Option<TemplateFacts<'_>>,
        campaign_known: bool,
    ) -> Result<CheckedInspection, Error> {
        let mut f = FieldErrors::new();
        match &template {
            None => f.add("template_id", "unknown"),
            Some(t) => {
                if self.template_version.is_some_and(|v| v != t.version) {
                    f.add("template_version", "mismatch");
                }
            }
        }
        if self.campaign_id.is_some() && !campaign_known {
            f.add("campaign_id", "unknown");
        }
        if self.finished_at.is_some_and(|fin| fin < self.started_at) {
            f.add("finished_at", "before_started_at");
        }
        if self.location.is_some_and(|l| !l.is_valid()) {
            f.add("location", "invalid");
        }
        let mut codes = HashSet::new();
        let mut results = Vec::with_capacity(self.results.len());
        for (i, r) in self.results.iter().enumerate() {
            let code_field = format!("results[{i}].item_code");
            if let Some(t) = &template
                && !t.item_codes.contains(&r.item_code.as_str())
            {
                f.add(code_field.clone(), "unknown");
            }
            if !codes.insert(&r.item_code) {
                f.add(code_field.clone(), "duplicate");
            }
            let outcome = ItemOutcome::parse(&r.outcome);
            if outcome.is_none() {
                f.add(format!("results[{i}].outcome"), "invalid");
            }
            text::field(&mut f, &code_field, &r.item_code, true, max::CODE);
            let note = text::field(
                &mut f,
                &format!("results[{i}].note"),
                &r.note,
                false,
                max::NOTE,
            );
            if let Some(outcome) = outcome {
                results.push(CheckedResult {
                    item_code: r.item_code.clone(),
                    outcome,
                    note,
                    photo_ids: r.photo_ids.to_vec(),
                });
            }
        }
        let summary = text::field(&mut f, "summary", &self.summary, false, max::LONG);
        f.into_result()?;
        Ok(CheckedInspection {
            template_version: template.map_or(1, |t| t.version),
            summary,
            results,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_checked_against_the_template() {
        let p: InspectionIn = serde_json::from_value(json!({
            "id": Uuid::nil(), "enterprise_id": Uuid::nil(), "template_id": Uuid::nil(),
            "template_version": 2, "started_at": "2026-11-27T08:00:00Z",
            "finished_at": "2026-11-27T07:00:00Z", "location": {"lat": 91.0, "lon": 0.0},
            "results": [{"item_code": "F1", "outcome": "pass"}, {"item_code": "F1", "outcome": "maybe"},
                        {"item_code": "Z9", "outcome": "fail"}]}))
        .unwrap();
        let t = TemplateFacts {
            version: 3,
            item_codes: &["F1", "F2"],
        };
        match p.check(Some(t), true) {
            Err(Error::Validation(f)) => {
                assert_eq!(f.0["template_version"], vec!["mismatch"]);
                assert_eq!(f.0["finished_at"], vec!["before_started_at"]);
                assert_eq!(f.0["location"], vec!["invalid"]);
                assert_eq!(f.0["results[1].item_code"], vec!["duplicate"]);
                assert_eq!(f.0["results[1].outcome"], vec!["invalid"]);
                assert_eq!(f.0["results[2].item_code"], vec!["unknown"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
