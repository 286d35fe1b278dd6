//! Password hashing (argon2id with the crate's default parameters).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};

use crate::{Error, Result};

/// Minimum length of a password (api.md "Users").
pub const MIN_LEN: usize = 10;

/// argon2id with 7 MiB and 5 passes: one of the OWASP-recommended settings of
/// equal strength to 19 MiB and 2 passes, chosen because a server answering many
/// logins keeps less memory resident.
fn hasher() -> Argon2<'static> {
    match argon2::Params::new(7 * 1024, 5, 1, None) {
        Ok(p) => Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p),
        Err(_) => Argon2::default(),
    }
}

/// Hashes a password with a fresh salt.
pub fn hash(password: &str) -> Result<String> {
    PasswordHasher::<PasswordHash>::hash_password(&hasher(), password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(anyhow::anyhow!("hashing password: {e}")))
}

/// Whether `password` matches the stored PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    // The parameters come from the stored hash itself.
    hasher().verify_password(password.as_bytes(), phc).is_ok()
}

/// Verifies against a fixed hash so that an unknown username costs as much as a
/// wrong password and timing doesn't reveal which usernames exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let _ = verify(password, phc);
}

/// A random password of `len` characters from an unambiguous alphabet.
pub fn random(len: usize) -> String {
    use rand::Rng;
    const A: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let h = super::hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse battery", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("x", "garbage"));
    }
}
