//! Concurrent edits of a hazard (`hazard.update`, api.md "Offline sync"): a
//! phone sends the fields it set and the version it saw (`base_version`); the
//! server keeps, for each field, the version that last changed it. An edit
//! applies when none of the fields it sets changed on the server since its
//! base, or changed to the same value; otherwise it is a conflict. Nothing is
//! overwritten silently.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value as Json, json};

use super::Severity;
use crate::text::{self, max};
use crate::{Error, FieldErrors, Role};

/// A field a `hazard.update` may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Description,
    Severity,
    Deadline,
    ResponsiblePerson,
    Measures,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Description,
        Field::Severity,
        Field::Deadline,
        Field::ResponsiblePerson,
        Field::Measures,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Description => "description",
            Field::Severity => "severity",
            Field::Deadline => "deadline",
            Field::ResponsiblePerson => "responsible_person",
            Field::Measures => "measures",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The editable part of a hazard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editable {
    pub description: String,
    pub severity: Severity,
    pub deadline: NaiveDate,
    pub responsible_person: String,
    pub measures: String,
}

impl Editable {
    /// A field's value, as JSON (for history and comparisons).
    pub fn get(&self, f: Field) -> Json {
        match f {
            Field::Description => json!(self.description),
            Field::Severity => json!(self.severity),
            Field::Deadline => json!(self.deadline),
            Field::ResponsiblePerson => json!(self.responsible_person),
            Field::Measures => json!(self.measures),
        }
    }

    fn set(&mut self, v: &Set) {
        match v {
            Set::Description(s) => self.description = s.clone(),
            Set::Severity(s) => self.severity = *s,
            Set::Deadline(d) => self.deadline = *d,
            Set::ResponsiblePerson(s) => self.responsible_person = s.clone(),
            Set::Measures(s) => self.measures = s.clone(),
        }
    }
}

/// A checked value of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Set {
    Description(String),
    Severity(Severity),
    Deadline(NaiveDate),
    ResponsiblePerson(String),
    Measures(String),
}

/// For each field, the version of the hazard that last changed it; a field
/// never changed since creation counts as version 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldVersions(BTreeMap<Field, i64>);

impl FieldVersions {
    /// Reads the stored map (`{"deadline": 3}`); unknown names are ignored.
    pub fn from_stored(v: &Json) -> FieldVersions {
        let map: BTreeMap<String, i64> = serde_json::from_value(v.clone()).unwrap_or_default();
        FieldVersions(
            map.into_iter()
                .filter_map(|(k, v)| Some((Field::parse(&k)?, v)))
                .collect(),
        )
    }

    pub fn to_stored(&self) -> Json {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
            .collect::<Map<_, _>>()
            .into()
    }

    pub fn of(&self, f: Field) -> i64 {
        self.0.get(&f).copied().unwrap_or(1)
    }
}

/// A checked `hazard.update`: the fields it sets, each with its new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch(BTreeMap<Field, Set>);

impl Patch {
    /// Checks the `fields` of a `hazard.update` for a hazard found on
    /// `found_on` (office date): names among [`Field`], texts, a known severity,
    /// a deadline not before the date found. Problems are under `fields.<name>`.
    pub fn parse(fields: &Map<String, Json>, found_on: NaiveDate) -> Result<Patch, Error> {
        let mut f = FieldErrors::new();
        if fields.is_empty() {
            f.add("fields", "required");
        }
        let mut out = BTreeMap::new();
        for (k, v) in fields {
            let Some(field) = Field::parse(k) else {
                // The name is the client's: made safe before it is stored and echoed.
                f.add(format!("fields.{}", text::echo(k)), "not_updatable");
                continue;
            };
            let name = format!("fields.{k}");
            let Some(s) = v.as_str() else {
                f.add(name, "invalid_type");
                continue;
            };
            let value = match field {
                Field::Description => {
                    Set::Description(text::field(&mut f, &name, s, false, max::LONG))
                }
                Field::Measures => Set::Measures(text::field(&mut f, &name, s, false, max::LONG)),
                Field::ResponsiblePerson => {
                    Set::ResponsiblePerson(text::field(&mut f, &name, s, false, max::SHORT))
                }
                Field::Severity => match Severity::parse(s) {
                    Some(sev) => Set::Severity(sev),
                    None => {
                        f.add(name, "invalid");
                        continue;
                    }
                },
                Field::Deadline => match s.parse::<NaiveDate>() {
                    Ok(d) if d >= found_on => Set::Deadline(d),
                    Ok(_) => {
                        f.add(name, "before_found_at");
                        continue;
                    }
                    Err(_) => {
                        f.add(name, "invalid");
                        continue;
                    }
                },
            };
            out.insert(field, value);
        }
        f.into_result()?;
        Ok(Patch(out))
    }

    /// The fields it sets.
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.0.keys().copied()
    }

    /// Whether it changes the severity of `current`.
    pub fn changes_severity(&self, current: &Editable) -> bool {
        matches!(self.0.get(&Field::Severity), Some(Set::Severity(s)) if *s != current.severity)
    }
}

/// A patch merged into a hazard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub after: Editable,
    /// The fields whose value changed, in [`Field`] order (empty: nothing to write).
    pub changed: Vec<Field>,
    /// The field versions once written as `version`.
    pub versions: FieldVersions,
}

/// Why a patch was not merged.
#[derive(Debug)]
pub enum Refusal {
    /// Forbidden, invalid or not allowed in this state.
    Error(Error),
    /// These fields changed on the server since the base version, to other
    /// values than the patch sets.
    Clash(Vec<Field>),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Error(e)
    }
}

/// Merges `patch`, made on `base`, into `current` (whose fields last changed
/// at `versions`); the result is written as version `next`.
pub fn merge(
    current: &Editable,
    versions: &FieldVersions,
    base: i64,
    patch: &Patch,
    next: i64,
) -> Result<Merged, Refusal> {
    let mut after = current.clone();
    for v in patch.0.values() {
        after.set(v);
    }
    let clash: Vec<Field> = patch
        .fields()
        .filter(|f| versions.of(*f) > base && after.get(*f) != current.get(*f))
        .collect();
    if !clash.is_empty() {
        return Err(Refusal::Clash(clash));
    }
    let changed: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|f| after.get(*f) != current.get(*f))
        .collect();
    let mut versions = versions.clone();
    for f in &changed {
        versions.0.insert(*f, next);
    }
    Ok(Merged {
        after,
        changed,
        versions,
    })
}

/// A whole `hazard.update` by `role`, in the order of api.md: a severity
/// change by anyone but the office is `forbidden`, then the fields are
/// checked, then a final hazard refuses, then the merge.
pub fn update(
    role: Role,
    state: &super::HazardState,
    current: &Editable,
    versions: &FieldVersions,
    (base, version): (Option<i64>, i64),
    fields: &Map<String, Json>,
    found_on: NaiveDate,
) -> Result<Merged, Refusal> {
    let sets_severity = fields
        .get(Field::Severity.as_str())
        .is_some_and(|v| v.as_str() != Some(current.severity.as_str()));
    if sets_severity && !super::may_change_severity(role) {
        return Err(Error::Forbidden.into());
    }
    let Some(base) = base else {
        return Err(Error::validation("base_version", "required").into());
    };
    let patch = Patch::parse(fields, found_on)?;
    if state.status.is_final() {
        return Err(Error::InvalidTransition {
            from: state.status.as_str().to_owned(),
            missing: None,
        }
        .into());
    }
    merge(current, versions, base, &patch, version + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|x| x.checked_add_days(chrono::Days::new(n)))
            .unwrap_or_default()
    }

    fn start() -> Editable {
        Editable {
            description: "配电箱未接地".into(),
            severity: Severity::General,
            deadline: d(15),
            responsible_person: "王伟".into(),
            measures: String::new(),
        }
    }

    fn value_of(f: Field) -> impl Strategy<Value = Json> {
        match f {
            Field::Severity => {
                proptest::sample::select(vec![json!("general"), json!("major")]).boxed()
            }
            Field::Deadline => (0u64..40).prop_map(|n| json!(d(n))).boxed(),
            _ => proptest::sample::select(vec![json!(""), json!("甲"), json!("乙")]).boxed(),
        }
    }

    fn patch() -> impl Strategy<Value = Map<String, Json>> {
        proptest::sample::subsequence(Field::ALL.to_vec(), 1..=5).prop_flat_map(|fs| {
            fs.into_iter()
                .map(|f| value_of(f).prop_map(move |v| (f.as_str().to_owned(), v)))
                .collect::<Vec<_>>()
                .prop_map(|kv| kv.into_iter().collect::<Map<_, _>>())
        })
    }

    /// Two patches that set different fields.
    fn disjoint() -> impl Strategy<Value = (Map<String, Json>, Map<String, Json>)> {
        let each = Field::ALL.map(|f| (0u8..3, value_of(f)).prop_map(move |(who, v)| (f, who, v)));
        each.prop_filter_map("both empty", |fs| {
            let side = |n| {
                fs.iter()
                    .filter(|(_, who, _)| *who == n)
                    .map(|(f, _, v)| (f.as_str().to_owned(), v.clone()))
                    .collect::<Map<_, _>>()
            };
            let (a, b) = (side(1), side(2));
            (!a.is_empty() && !b.is_empty()).then_some((a, b))
        })
    }

    /// Applies a raw patch made on `base` to a hazard at `version`.
    fn apply(
        h: &(Editable, FieldVersions, i64),
        base: i64,
        fields: &Map<String, Json>,
    ) -> Result<(Editable, FieldVersions, i64), Refusal> {
        let p = Patch::parse(fields, d(0))?;
        let m = merge(&h.0, &h.1, base, &p, h.2 + 1)?;
        let v = if m.changed.is_empty() { h.2 } else { h.2 + 1 };
        Ok((m.after, m.versions, v))
    }

    proptest! {
        /// Two phones edit the same version; where their fields differ, the
        /// order in which they arrive does not matter.
        #[test]
        fn edits_of_different_fields_merge_in_any_order((a, b) in disjoint()) {
            let h = (start(), FieldVersions::default(), 1);
            let ab = apply(&h, 1, &a).and_then(|x| apply(&x, 1, &b));
            let ba = apply(&h, 1, &b).and_then(|x| apply(&x, 1, &a));
            match (ab, ba) {
                (Ok(x), Ok(y)) => prop_assert_eq!(x.0, y.0),
                (x, y) => prop_assert!(false, "{:?} / {:?}", x.err(), y.err()),
            }
        }

        /// Whatever arrives second on the same base never replaces a value the
        /// first one set, unless it sets the same value.
        #[test]
        fn nothing_is_overwritten_silently(a in patch(), b in patch()) {
            let h = (start(), FieldVersions::default(), 1);
            let Ok(after_a) = apply(&h, 1, &a) else { return Ok(()) };
            match apply(&after_a, 1, &b) {
                Ok(after_b) => {
                    for f in Field::ALL {
                        if after_a.0.get(f) != h.0.get(f) {
                            prop_assert_eq!(after_b.0.get(f), after_a.0.get(f), "{:?} overwritten", f);
                        }
                    }
                }
                Err(Refusal::Clash(fs)) => {
                    for f in fs {
                        prop_assert!(a.contains_key(f.as_str()) && b.contains_key(f.as_str()));
                    }
                }
                Err(Refusal::Error(e)) => prop_assert!(false, "{e:?}"),
            }
        }

        /// An edit made on the current version always applies.
        #[test]
        fn an_edit_on_the_current_version_applies(a in patch(), b in patch()) {
            let h = (start(), FieldVersions::default(), 1);
            let Ok(x) = apply(&h, 1, &a) else { return Ok(()) };
            prop_assert!(apply(&x, x.2, &b).is_ok());
        }
    }

    #[test]
    fn an_inspector_may_not_change_severity_but_may_resend_it() {
        let state = super::super::HazardState {
            status: super::super::HazardStatus::Open,
            severity: Severity::General,
            deadline: d(15),
            plan: None,
            pending_extension: None,
        };
        let h = start();
        let v = FieldVersions::default();
        let set = |s: &str| {
            let mut m = Map::new();
            m.insert("severity".into(), json!(s));
            m
        };
        let by = |role, sev| update(role, &state, &h, &v, (Some(1), 1), &set(sev), d(0));
        assert!(matches!(
            by(Role::Inspector, "major"),
            Err(Refusal::Error(Error::Forbidden))
        ));
        assert!(by(Role::Inspector, "general").is_ok_and(|m| m.changed.is_empty()));
        let r = by(Role::Office, "major");
        assert!(r.is_ok_and(|m| m.changed == vec![Field::Severity]));
    }

    #[test]
    fn unknown_names_and_early_deadlines_are_named() {
        let mut m = Map::new();
        m.insert("status".into(), json!("closed"));
        m.insert("deadline".into(), json!("2026-11-01"));
        m.insert("measures".into(), json!(3));
        match Patch::parse(&m, d(0)) {
            Err(Error::Validation(f)) => {
                assert_eq!(f.0["fields.status"], vec!["not_updatable"]);
                assert_eq!(f.0["fields.deadline"], vec!["before_found_at"]);
                assert_eq!(f.0["fields.measures"], vec!["invalid_type"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
