//! The 18-character unified social credit code (统一社会信用代码) of GB 32100-2015.
//!
//! Layout: registration authority (1), organisation type (1), administrative
//! division (6 digits), organisation code (9, itself GB 11714 with its own check
//! character), and a check character over the first 17.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The 31 characters a code may use (no I, O, S, V, Z).
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights 3^i mod 31 for positions 1..=17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a string is not a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("must be 18 characters")]
    Length,
    #[error("character {0} is not allowed")]
    Character(usize),
    #[error("administrative division must be 6 digits")]
    Division,
    #[error("check character does not match")]
    Checksum,
}

impl CreditCodeError {
    /// A stable machine-readable reason for `details.fields`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Character(_) => "character",
            Self::Division => "division",
            Self::Checksum => "checksum",
        }
    }
}

/// A checksum-validated unified social credit code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (which must be in [`ALPHABET`]).
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// The GB 11714 check character of an 8-character organisation code body.
pub fn org_code_check(body: &[u8]) -> Option<char> {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    if body.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(W) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

impl CreditCode {
    /// Parses and validates; lower case letters are accepted and upper-cased.
    pub fn parse(s: &str) -> Result<Self, CreditCodeError> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || s.chars().count() != 18 {
            return Err(CreditCodeError::Length);
        }
        if let Some(i) = b.iter().position(|c| value_of(*c).is_none()) {
            return Err(CreditCodeError::Character(i + 1));
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Division);
        }
        match check_char(&b[..17]) {
            Some(c) if c as u8 == b[17] => Ok(Self(s)),
            _ => Err(CreditCodeError::Checksum),
        }
    }

    /// Completes 17 characters with their check character.
    pub fn complete(first17: &str) -> Result<Self, CreditCodeError> {
        let c = check_char(first17.as_bytes()).ok_or(CreditCodeError::Length)?;
        Self::parse(&format!("{first17}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_codes_validate() {
        // The worked example that accompanies GB 32100-2015.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert_eq!(CreditCode::parse("9135"), Err(CreditCodeError::Length));
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(CreditCodeError::Checksum)
        );
        assert_eq!(
            CreditCode::parse("9I350100M000100Y43"),
            Err(CreditCodeError::Character(2))
        );
        assert_eq!(
            CreditCode::parse("913A0100M000100Y43"),
            Err(CreditCodeError::Division)
        );
        assert_eq!(
            CreditCode::parse("九1350100M000100Y4"),
            Err(CreditCodeError::Length)
        );
        assert!(CreditCode::parse("91350100m000100y43").is_ok());
    }

    #[test]
    fn org_code_check_follows_gb11714() {
        // 3*1+7*2+9*3+10*4+5*5+8*6+4*7+2*8 = 201; 201 mod 11 = 3; 11 - 3 = 8.
        assert_eq!(org_code_check(b"12345678"), Some('8'));
        // D=13: 3*13 = 39 ; 39 mod 11 = 6 ; 11 - 6 = 5.
        assert_eq!(org_code_check(b"D0000000"), Some('5'));
        assert_eq!(org_code_check(b"0000000"), None);
    }

    fn body17() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17).prop_map(|v| {
            let mut s: Vec<u8> = v.iter().map(|&i| ALPHABET[i]).collect();
            for (k, c) in s.iter_mut().enumerate().take(8).skip(2) {
                *c = b'0' + (v[k] % 10) as u8;
            }
            String::from_utf8(s).unwrap_or_default()
        })
    }

    proptest! {
        #[test]
        fn completed_codes_always_parse(b in body17()) {
            let code = CreditCode::complete(&b).unwrap();
            prop_assert_eq!(CreditCode::parse(code.as_str()).unwrap(), code);
        }

        #[test]
        fn any_single_substitution_is_detected(b in body17(), pos in 0usize..18, d in 1usize..31) {
            let code = CreditCode::complete(&b).unwrap();
            let mut bytes = code.as_str().as_bytes().to_vec();
            let old = value_of(bytes[pos]).unwrap() as usize;
            bytes[pos] = ALPHABET[(old + d) % 31];
            let s = String::from_utf8(bytes).unwrap();
            prop_assert!(CreditCode::parse(&s).is_err());
        }
    }
}
