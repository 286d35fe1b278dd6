//! Enterprise attributes with a closed set of values.

use serde::{Deserialize, Serialize};

macro_rules! closed_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $crate::closed::Closed for $name {
            const NAME: &'static str = stringify!($name);
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn parse(s: &str) -> Option<Self> {
                $name::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_enum;

closed_enum!(
    /// Above or below designated size (规模以上 / 规模以下).
    Scale { Above => "above", Below => "below" }
);

closed_enum!(
    /// Operating state of an enterprise on the roster.
    EnterpriseStatus {
        Operating => "operating",
        Suspended => "suspended",
        Closed => "closed",
        Relocated => "relocated",
    }
);

closed_enum!(
    /// Risk tags that decide which checklists apply and which campaigns target an enterprise.
    RiskTag {
        HazardousChemicals => "hazardous_chemicals",
        HazardousWaste => "hazardous_waste",
        Vocs => "vocs",
        Phosphorus => "phosphorus",
        Dust => "dust",
        Foundry => "foundry",
        Gas => "gas",
        ConfinedSpace => "confined_space",
        FireKeyUnit => "fire_key_unit",
    }
);

impl RiskTag {
    /// Chinese label for reports and pages.
    pub fn label_zh(self) -> &'static str {
        match self {
            RiskTag::HazardousChemicals => "危险化学品",
            RiskTag::HazardousWaste => "危险废物",
            RiskTag::Vocs => "VOCs",
            RiskTag::Phosphorus => "涉磷",
            RiskTag::Dust => "粉尘涉爆",
            RiskTag::Foundry => "铸造",
            RiskTag::Gas => "燃气",
            RiskTag::ConfinedSpace => "有限空间",
            RiskTag::FireKeyUnit => "消防重点单位",
        }
    }
}

/// GB/T 4754 industry code: a section letter followed by 2 to 4 digits (e.g. `C3311`).
pub fn valid_industry_code(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=5).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[0] <= b'T'
        && b[1..].iter().all(u8::is_ascii_digit)
}

/// Mainland mobile (11 digits starting with 1) or landline with area code.
pub fn valid_phone(s: &str) -> bool {
    let digits: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    (digits.len() == 11 && digits.starts_with('1'))
        || (digits.starts_with('0') && (10..=12).contains(&digits.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn industry_codes() {
        assert!(valid_industry_code("C3311"));
        assert!(valid_industry_code("C26"));
        assert!(!valid_industry_code("c3311"));
        assert!(!valid_industry_code("C33111"));
        assert!(!valid_industry_code("Z33"));
    }

    #[test]
    fn phones() {
        assert!(valid_phone("13912345678"));
        assert!(valid_phone("025-52101234"));
        assert!(!valid_phone("1391234567"));
        assert!(!valid_phone("abc"));
    }

    #[test]
    fn tags_round_trip() {
        for t in RiskTag::ALL {
            assert_eq!(RiskTag::parse(t.as_str()), Some(*t));
        }
    }
}

/// An enterprise as submitted (API body, CSV row), before validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnterpriseDraft {
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub village_id: Option<uuid::Uuid>,
    pub industry_code: String,
    pub scale: String,
    pub risk_tags: Vec<String>,
    pub status: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A validated enterprise.
#[derive(Debug, Clone, PartialEq)]
pub struct EnterpriseFields {
    pub credit_code: crate::CreditCode,
    pub name: String,
    pub address: String,
    pub village_id: uuid::Uuid,
    pub industry_code: String,
    pub scale: Scale,
    pub risk_tags: std::collections::BTreeSet<RiskTag>,
    pub status: EnterpriseStatus,
    pub contact_name: String,
    pub contact_phone: String,
    pub location: Option<(f64, f64)>,
}

fn required(errors: &mut crate::FieldErrors, field: &str, value: &str, max: usize) -> String {
    crate::text::field(errors, field, value, true, max)
}

impl EnterpriseDraft {
    /// Validates every field, collecting every reason.
    pub fn validate(&self) -> Result<EnterpriseFields, crate::FieldErrors> {
        let mut e = crate::FieldErrors::new();
        let credit_code = crate::CreditCode::parse(&self.credit_code)
            .map_err(|err| e.add("credit_code", err.reason()))
            .ok();
        let name = required(&mut e, "name", &self.name, 200);
        let address = required(&mut e, "address", &self.address, 300);
        if self.village_id.is_none() {
            e.add("village_id", "required");
        }
        let industry_code = self.industry_code.trim().to_owned();
        if !valid_industry_code(&industry_code) {
            e.add("industry_code", "invalid");
        }
        let scale = Scale::parse(self.scale.trim());
        if scale.is_none() {
            e.add("scale", "invalid");
        }
        let mut risk_tags = std::collections::BTreeSet::new();
        for t in &self.risk_tags {
            match RiskTag::parse(t.trim()) {
                Some(tag) => {
                    risk_tags.insert(tag);
                }
                None => e.add("risk_tags", "unknown_tag"),
            }
        }
        let status = if self.status.trim().is_empty() {
            Some(EnterpriseStatus::Operating)
        } else {
            EnterpriseStatus::parse(self.status.trim())
        };
        if status.is_none() {
            e.add("status", "invalid");
        }
        let contact_name = required(&mut e, "contact_name", &self.contact_name, 50);
        let contact_phone = self.contact_phone.trim().to_owned();
        if !valid_phone(&contact_phone) {
            e.add("contact_phone", "invalid");
        }
        let location = match (self.lat, self.lon) {
            (None, None) => None,
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                Some((lat, lon))
            }
            _ => {
                e.add("location", "invalid");
                None
            }
        };
        match (credit_code, self.village_id, scale, status) {
            (Some(credit_code), Some(village_id), Some(scale), Some(status)) if e.is_empty() => {
                Ok(EnterpriseFields {
                    credit_code,
                    name,
                    address,
                    village_id,
                    industry_code,
                    scale,
                    risk_tags,
                    status,
                    contact_name,
                    contact_phone,
                    location,
                })
            }
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod draft_tests {
    use super::*;

    fn good() -> EnterpriseDraft {
        EnterpriseDraft {
            credit_code: "91350100M000100Y43".into(),
            name: "常州罗溪精密机械有限公司".into(),
            address: "新北区罗溪镇空港一村18号".into(),
            village_id: Some(uuid::Uuid::now_v7()),
            industry_code: "C3311".into(),
            scale: "below".into(),
            risk_tags: vec!["dust".into()],
            status: String::new(),
            contact_name: "王伟".into(),
            contact_phone: "13912345678".into(),
            lat: None,
            lon: None,
        }
    }

    #[test]
    fn a_good_draft_validates_with_default_status() {
        let f = good().validate().unwrap();
        assert_eq!(f.status, EnterpriseStatus::Operating);
        assert!(f.risk_tags.contains(&RiskTag::Dust));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut d = good();
        d.credit_code = "123".into();
        d.name = " ".into();
        d.scale = "huge".into();
        d.risk_tags.push("ghosts".into());
        d.lat = Some(10.0);
        let e = d.validate().unwrap_err();
        let fields: Vec<_> = e.0.keys().cloned().collect();
        assert_eq!(
            fields,
            ["credit_code", "location", "name", "risk_tags", "scale"]
        );
    }
}
