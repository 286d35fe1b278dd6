//! What makes a password acceptable (api.md "Auth"): at least 10 characters,
//! not one repeated character, not a plain sequence, not a common password.

/// Fewest characters.
pub const MIN_LEN: usize = 10;
/// Most characters (hashing cost stays bounded).
pub const MAX_LEN: usize = 128;

/// Runs a keyboard or counting order spans, forwards; a password inside one of
/// them (or its reverse) is a plain sequence.
const RUNS: [&str; 5] = [
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "!@#$%^&*()",
];

/// Passwords of ten or more characters that top the published lists of
/// leaked passwords (Chinese and international), lower case.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "a123456789",
    "aa12345678",
    "abc1234567",
    "abcd123456",
    "qwe1234567",
    "qwerty1234",
    "qwertyuiop",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "1qaz@wsx3edc",
    "zxcvbnm123",
    "password12",
    "password123",
    "password1234",
    "passw0rd12",
    "passw0rd123",
    "p@ssw0rd12",
    "p@ssw0rd123",
    "p@55w0rd123",
    "iloveyou12",
    "iloveyou123",
    "woaini1314",
    "woaini521",
    "5201314520",
    "1314520520",
    "admin12345",
    "admin123456",
    "administrator",
    "welcome123",
    "changeme12",
    "changeme123",
    "letmein123",
    "football12",
    "baseball12",
    "sunshine12",
    "princess12",
    "qq123456789",
    "asdfghjkl1",
    "asdf123456",
    "zaq12wsxcde",
    "anjian12345",
    "anquan12345",
];

/// Checks a new password.
///
/// # Errors
/// The reason for `details.fields.password`: `too_short`, `too_long`,
/// `repeated`, `sequence` or `common`.
pub fn check(pw: &str) -> Result<(), &'static str> {
    let n = pw.chars().count();
    if n < MIN_LEN {
        return Err("too_short");
    }
    if n > MAX_LEN {
        return Err("too_long");
    }
    let lower = pw.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("repeated");
    }
    let rev: String = lower.chars().rev().collect();
    if RUNS
        .iter()
        .any(|run| run.contains(lower.as_str()) || run.contains(rev.as_str()))
    {
        return Err("sequence");
    }
    if COMMON.contains(&lower.as_str()) {
        return Err("common");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn weak_passwords_are_refused_with_their_reason() {
        assert_eq!(check("short1"), Err("too_short"));
        assert_eq!(check(&"x".repeat(129)), Err("too_long"));
        assert_eq!(check("aaaaaaaaaaaa"), Err("repeated"));
        assert_eq!(check("1111111111"), Err("repeated"));
        assert_eq!(check("0123456789"), Err("sequence"));
        assert_eq!(check("9876543210"), Err("sequence"));
        assert_eq!(check("abcdefghijk"), Err("sequence"));
        assert_eq!(check("QWERTYUIOP"), Err("sequence"));
        assert_eq!(check("Password123"), Err("common"));
        assert_eq!(check("woaini1314"), Err("common"));
        assert_eq!(check("anjian-demo-2026"), Ok(()));
        assert_eq!(check("安全生产人人有责2026"), Ok(()));
    }
}
