//! A new hazard as a phone records it (`hazard.create`, api.md "Offline
//! sync"): the payload, and the checks that make it a hazard.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{DeadlinePolicy, Severity};
use crate::text::{self, max};
use crate::{Bounded, Error, FieldErrors};

/// The payload of `hazard.create`: the record as in the read shape, with its
/// client-chosen `id`.
#[derive(Debug, Clone, Deserialize)]
pub struct HazardIn {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    #[serde(default)]
    pub inspection_id: Option<Uuid>,
    #[serde(default)]
    pub item_code: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    pub severity: String,
    pub found_at: DateTime<Utc>,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
    #[serde(default)]
    pub responsible_person: String,
    #[serde(default)]
    pub measures: String,
    #[serde(default)]
    pub photo_ids: Bounded<Uuid, 500>,
}

/// A checked new hazard: texts trimmed, the severity known, the deadline set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHazard {
    pub item_code: Option<String>,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: Severity,
    pub deadline: NaiveDate,
    pub responsible_person: String,
    pub measures: String,
}

impl HazardIn {
    /// Checks every field, naming each problem; the deadline is the one given
    /// (not before the date found) or the policy's default for the severity.
    pub fn check(&self, policy: &DeadlinePolicy) -> Result<NewHazard, Error> {
        let mut f = FieldErrors::new();
        let title = text::field(&mut f, "title", &self.title, true, max::TITLE);
        let description = text::field(&mut f, "description", &self.description, false, max::LONG);
        let category = text::field(&mut f, "category", &self.category, false, max::SHORT);
        let responsible_person = text::field(
            &mut f,
            "responsible_person",
            &self.responsible_person,
            false,
            max::SHORT,
        );
        let measures = text::field(&mut f, "measures", &self.measures, false, max::LONG);
        let item_code = self
            .item_code
            .as_deref()
            .map(|c| text::field(&mut f, "item_code", c, false, max::CODE))
            .filter(|c| !c.is_empty());
        let severity = Severity::parse(&self.severity);
        if severity.is_none() {
            f.add("severity", "invalid");
        }
        // The default deadline depends on the severity: none without one.
        let deadline = match severity.map(|sev| policy.deadline(self.found_at, sev, self.deadline))
        {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(Error::Validation(v))) => {
                f.merge(v);
                None
            }
            Some(Err(e)) => return Err(e),
        };
        f.into_result()?;
        match (severity, deadline) {
            (Some(severity), Some(deadline)) => Ok(NewHazard {
                item_code,
                title,
                description,
                category,
                severity,
                deadline,
                responsible_person,
                measures,
            }),
            _ => Err(Error::internal(anyhow::anyhow!(
                "a checked hazard without severity or deadline"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(extra: serde_json::Value) -> HazardIn {
        let mut v = json!({"id": Uuid::nil(), "enterprise_id": Uuid::nil(), "title": " 灭火器过期 ",
            "severity": "general", "found_at": "2026-11-27T20:00:00Z"});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_new_hazard_gets_the_default_deadline_of_its_severity() {
        let h = payload(json!({}))
            .check(&DeadlinePolicy::default())
            .unwrap();
        assert_eq!(h.title, "灭火器过期");
        assert_eq!(h.deadline, NaiveDate::from_ymd_opt(2026, 12, 13).unwrap());
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let p = payload(json!({"title": "", "severity": "huge", "category": "a\u{0}b"}));
        match p.check(&DeadlinePolicy::default()) {
            Err(Error::Validation(f)) => {
                assert_eq!(f.0["title"], vec!["required"]);
                assert_eq!(f.0["severity"], vec!["invalid"]);
                assert_eq!(f.0["category"], vec!["control_character"]);
            }
            other => panic!("{other:?}"),
        }
        let early = payload(json!({"deadline": "2026-11-27"}));
        assert!(matches!(
            early.check(&DeadlinePolicy::default()),
            Err(Error::Validation(_))
        ));
    }
}
