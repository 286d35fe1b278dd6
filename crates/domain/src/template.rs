//! Checklist templates as the office writes them: an edition is published
//! whole and never changed; editing makes a new edition.

use serde::Deserialize;

use crate::{FieldErrors, Result, RiskTag, Severity};

/// A template as written in `seeds/templates/*.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub code: String,
    pub title: String,
    pub version: i64,
    #[serde(default)]
    pub risk_tags: Vec<String>,
    pub items: Vec<ItemSpec>,
}

/// One item of a [`TemplateSpec`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    pub code: String,
    pub category: String,
    pub text: String,
    pub guidance: String,
    pub legal_basis: String,
    pub severity_hint: String,
    pub photo_required_on_fail: bool,
}

impl TemplateSpec {
    /// Checks the spec: known tags and severities, unique item codes, nothing empty.
    pub fn check(&self) -> Result<()> {
        let mut e = FieldErrors::new();
        if self.code.trim().is_empty() || self.title.trim().is_empty() || self.version < 1 {
            e.add("template", "incomplete");
        }
        for t in &self.risk_tags {
            if RiskTag::parse(t).is_none() {
                e.add("risk_tags", format!("unknown:{t}"));
            }
        }
        let mut codes = std::collections::HashSet::new();
        for it in &self.items {
            if !codes.insert(&it.code) {
                e.add("items", format!("duplicate:{}", it.code));
            }
            if Severity::parse(&it.severity_hint).is_none() {
                e.add("items", format!("severity:{}", it.code));
            }
            if [&it.category, &it.text, &it.guidance, &it.legal_basis]
                .iter()
                .any(|s| s.trim().is_empty())
            {
                e.add("items", format!("incomplete:{}", it.code));
            }
        }
        if self.items.is_empty() {
            e.add("items", "empty");
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, severity: &str) -> ItemSpec {
        ItemSpec {
            code: code.into(),
            category: "消防".into(),
            text: "灭火器在有效期内".into(),
            guidance: "查看压力表".into(),
            legal_basis: "《消防法》第十六条".into(),
            severity_hint: severity.into(),
            photo_required_on_fail: true,
        }
    }

    fn spec(items: Vec<ItemSpec>) -> TemplateSpec {
        TemplateSpec {
            code: "fire".into(),
            title: "消防".into(),
            version: 1,
            risk_tags: vec![],
            items,
        }
    }

    #[test]
    fn a_template_names_each_item_once_with_a_known_severity() {
        assert!(
            spec(vec![item("F1", "general"), item("F2", "major")])
                .check()
                .is_ok()
        );
        assert!(
            spec(vec![item("F1", "general"), item("F1", "major")])
                .check()
                .is_err()
        );
        assert!(spec(vec![item("F1", "grave")]).check().is_err());
        assert!(spec(vec![]).check().is_err());
    }
}
