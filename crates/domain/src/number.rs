//! Integers from outside, as JSON Schema counts them: `12` and `12.0` are the
//! same integer. Clients (and generators working from our OpenAPI document)
//! may send either.

use serde::{Deserialize, Deserializer};

fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// `#[serde(deserialize_with = "…")]` for an `i64`.
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    integral(&n).ok_or_else(|| serde::de::Error::custom("invalid type: not an integer"))
}

/// `#[serde(default, deserialize_with = "…")]` for an `Option<i64>`.
pub fn optional_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => integral(&n)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("invalid type: not an integer")),
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::integer")]
        a: i64,
        #[serde(default, deserialize_with = "super::optional_integer")]
        b: Option<i64>,
    }

    #[test]
    fn whole_floats_are_integers() {
        let t: T = serde_json::from_str(r#"{"a": 3.0, "b": 4}"#).unwrap();
        assert_eq!((t.a, t.b), (3, Some(4)));
        let t: T = serde_json::from_str(r#"{"a": 3, "b": null}"#).unwrap();
        assert_eq!(t.b, None);
        let t: T = serde_json::from_str(r#"{"a": 3}"#).unwrap();
        assert_eq!(t.b, None);
        assert!(serde_json::from_str::<T>(r#"{"a": 3.5}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a": "3"}"#).is_err());
    }
}
