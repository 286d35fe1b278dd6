//! [`Enum`]: a column holding a value of a domain's closed set (a status, a
//! severity, a role) as its text. Written as the text; read back as the
//! value; a text the set doesn't know is a read error, never a default.

use std::ops::Deref;

use anjian_domain::Closed;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, Value, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, QueryResult, TryGetError, TryGetable};

/// A closed-set value in a text column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Enum<T>(pub T);

impl<T> Deref for Enum<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Closed> From<T> for Enum<T> {
    fn from(v: T) -> Self {
        Enum(v)
    }
}

impl<T: Closed> From<Enum<T>> for Value {
    fn from(v: Enum<T>) -> Value {
        Value::String(Some(v.0.as_str().to_owned()))
    }
}

impl<T: Closed> Nullable for Enum<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: Closed> ValueType for Enum<T> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::String(Some(s)) => T::parse(&s).map(Enum).ok_or(ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        T::NAME.to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        ColumnType::Text
    }
}

impl<T: Closed> TryGetable for Enum<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        let s = String::try_get_by(res, index)?;
        T::parse(&s).map(Enum).ok_or_else(|| {
            TryGetError::DbErr(DbErr::Type(format!(
                "unreadable {}: {:?}",
                T::NAME,
                s.chars().take(40).collect::<String>()
            )))
        })
    }
}

impl<T: Closed> serde::Serialize for Enum<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anjian_domain::Severity;

    #[test]
    fn a_text_outside_the_set_is_refused_not_defaulted() {
        let ok = <Enum<Severity> as ValueType>::try_from(Value::String(Some("major".into())));
        assert_eq!(ok.ok(), Some(Enum(Severity::Major)));
        let bad = <Enum<Severity> as ValueType>::try_from(Value::String(Some("Major".into())));
        assert!(bad.is_err());
        assert_eq!(
            Value::from(Enum(Severity::General)),
            Value::String(Some("general".into()))
        );
    }
}
