//! Text from outside (REST bodies, query strings, sync payloads): one type for
//! every incoming string, refusing NUL and other control characters (tab,
//! newline and carriage return aside) and capping its length in characters.
//!
//! PostgreSQL refuses NUL in `text` and `jsonb`; a string it refuses must be
//! refused here, with a precise reason, before it reaches a transaction.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// NUL or another control character.
    ControlCharacter,
    /// Longer than its maximum (in characters).
    TooLong,
}

impl TextError {
    /// The reason in `details.fields`.
    pub fn reason(self) -> &'static str {
        match self {
            TextError::ControlCharacter => "control_character",
            TextError::TooLong => "too_long",
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // serde messages carry this prefix so that transport can name the reason.
        write!(f, "{PREFIX}{}", self.reason())
    }
}

const PREFIX: &str = "text:";

/// Whether a character may appear in a text.
pub fn allowed(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// Checks `s` against the rules of a text of at most `max` characters.
pub fn check(s: &str, max: usize) -> Result<(), TextError> {
    if !s.chars().all(allowed) {
        return Err(TextError::ControlCharacter);
    }
    // Bytes bound characters from above: count only when it could matter.
    if s.len() > max && s.chars().count() > max {
        return Err(TextError::TooLong);
    }
    Ok(())
}

/// A text field of a record, trimmed; its problems (`required`,
/// `control_character`, `too_long`) are added to `errors` under `field`.
pub fn field(
    errors: &mut crate::FieldErrors,
    field: &str,
    value: &str,
    required: bool,
    max: usize,
) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.add(field, "required");
    } else if let Err(e) = check(v, max) {
        errors.add(field, e.reason());
    }
    v.to_owned()
}

/// Maximum lengths, in characters, of the text fields of what phones and
/// browsers send (api.md "Conventions": every text field has one).
pub mod max {
    /// A hazard's title.
    pub const TITLE: usize = 200;
    /// Descriptions, measures, summaries.
    pub const LONG: usize = 4000;
    /// A category, a responsible person.
    pub const SHORT: usize = 100;
    /// Notes on a checklist item, review comments.
    pub const NOTE: usize = 2000;
    /// Checklist item codes.
    pub const CODE: usize = 32;

    /// Every limit of a push's payloads, by field, for the API's documentation.
    pub const PUSH_FIELDS: &[(&str, usize)] = &[
        ("hazard.title", TITLE),
        ("hazard.description", LONG),
        ("hazard.category", SHORT),
        ("hazard.responsible_person", SHORT),
        ("hazard.measures", LONG),
        ("hazard.item_code", CODE),
        ("inspection.summary", LONG),
        ("inspection.results[].item_code", CODE),
        ("inspection.results[].note", NOTE),
        ("review.comment", NOTE),
    ];
}

/// The JSON Schema `pattern` of a text (ECMA-262, as OpenAPI 3.1 uses).
pub const PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// The reason for `details.fields` behind a serde error message: ours
/// (`text:…`), or serde's own wording.
pub fn serde_reason(msg: &str) -> String {
    if let Some(i) = msg.find(PREFIX) {
        let r = &msg[i + PREFIX.len()..];
        let end = r
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(r.len());
        return r[..end].to_owned();
    }
    let r = if msg.starts_with("missing field") {
        "required"
    } else if msg.starts_with("unknown field") {
        "unknown_field"
    } else if msg.starts_with("invalid type") {
        "invalid_type"
    } else if msg.starts_with("unknown variant") {
        "invalid_value"
    } else if msg.starts_with("invalid length") {
        "too_many"
    } else {
        "invalid"
    };
    r.to_owned()
}

/// A piece of text of at most `MAX` characters without control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// The largest number of characters.
    pub const MAX: usize = MAX;

    /// Checks `s`.
    ///
    /// # Errors
    /// [`TextError`] when `s` has a control character or is too long.
    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s = s.into();
        check(&s, MAX)?;
        Ok(Text(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(t: Text<MAX>) -> String {
        t.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Text::new(s).map_err(serde::de::Error::custom)
    }
}

/// A list from outside of at most `MAX` entries (lists of ids in a body hold
/// at most 500, api.md "Conventions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Bounded<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> Default for Bounded<T, MAX> {
    fn default() -> Self {
        Bounded(Vec::new())
    }
}

impl<T, const MAX: usize> Bounded<T, MAX> {
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> Deref for Bounded<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T, const MAX: usize> IntoIterator for &'a Bounded<T, MAX> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T, const MAX: usize> From<Bounded<T, MAX>> for Vec<T> {
    fn from(b: Bounded<T, MAX>) -> Vec<T> {
        b.0
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Bounded<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T, const MAX: usize>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> serde::de::Visitor<'de> for Visit<T, MAX> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {MAX} entries")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    if out.len() == MAX {
                        // Stop reading at once: a huge list costs nothing more.
                        return Err(serde::de::Error::custom(format!("{PREFIX}too_many")));
                    }
                    out.push(x);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Visit::<T, MAX>(std::marker::PhantomData))
            .map(Bounded)
    }
}

/// Something a client sent, made safe to echo back or store (a field name in
/// an error, say): control characters replaced, at most 64 characters.
pub fn echo(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| {
            if allowed(c) && c != '\t' && c != '\n' && c != '\r' {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

#[cfg(feature = "openapi")]
mod openapi {
    use std::borrow::Cow;

    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};

    use super::{Bounded, PATTERN, Text};

    impl<const MAX: usize> utoipa::PartialSchema for Text<MAX> {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX))
                .pattern(Some(PATTERN))
                .description(Some(format!(
                    "Text of at most {MAX} characters, without control characters other than tab and newline"
                )))
                .into()
        }
    }

    impl<const MAX: usize> utoipa::ToSchema for Text<MAX> {
        fn name() -> Cow<'static, str> {
            Cow::Owned(format!("Text{MAX}"))
        }
    }

    impl<T: utoipa::ToSchema, const MAX: usize> utoipa::PartialSchema for Bounded<T, MAX> {
        fn schema() -> RefOr<Schema> {
            ArrayBuilder::new()
                .items(T::schema())
                .max_items(Some(MAX))
                .into()
        }
    }

    impl<T: utoipa::ToSchema, const MAX: usize> utoipa::ToSchema for Bounded<T, MAX> {
        fn name() -> Cow<'static, str> {
            Cow::Owned(format!("ListOf{MAX}{}", T::name()))
        }
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            T::schemas(schemas);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nul_and_control_characters_are_refused_tab_and_newline_kept() {
        assert_eq!(check("a\0b", 10), Err(TextError::ControlCharacter));
        assert_eq!(check("a\u{1b}b", 10), Err(TextError::ControlCharacter));
        assert_eq!(check("a\u{85}b", 10), Err(TextError::ControlCharacter));
        assert_eq!(check("第一行\r\n第二行\t完", 10), Ok(()));
        assert_eq!(check("安全生产", 4), Ok(()));
        assert_eq!(check("安全生产检查", 4), Err(TextError::TooLong));
    }

    #[test]
    fn serde_names_the_reason() {
        let e = serde_json::from_str::<Text<3>>("\"abcd\"").unwrap_err();
        assert_eq!(serde_reason(&e.to_string()), "too_long");
        let e = serde_json::from_str::<Text<3>>("\"\\u0000\"").unwrap_err();
        assert_eq!(serde_reason(&e.to_string()), "control_character");
        let e = serde_json::from_str::<Bounded<u8, 2>>("[1,2,3]").unwrap_err();
        assert_eq!(serde_reason(&e.to_string()), "too_many");
        assert_eq!(
            serde_json::from_str::<Bounded<u8, 2>>("[1,2]")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(serde_reason("missing field `x`"), "required");
    }

    #[test]
    fn echoes_are_safe_to_store() {
        assert_eq!(echo("ok_name"), "ok_name");
        assert_eq!(echo("a\0b"), "a\u{FFFD}b");
        assert_eq!(echo(&"x".repeat(1000)).chars().count(), 64);
    }

    proptest! {
        #[test]
        fn what_passes_has_no_control_characters_and_fits(s in any::<String>(), max in 0usize..50) {
            if check(&s, max).is_ok() {
                prop_assert!(s.chars().count() <= max);
                prop_assert!(!s.contains('\0'));
                prop_assert!(s.chars().all(|c| !c.is_control() || "\t\n\r".contains(c)));
            }
            prop_assert!(echo(&s).chars().all(|c| !c.is_control()));
        }
    }
}
