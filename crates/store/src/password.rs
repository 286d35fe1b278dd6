//! Password hashing (argon2id with the crate's default parameters).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};

use crate::{Error, Result};

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

/// A fixed hash to verify against when the username is unknown, so that it
/// costs as much as a wrong password and timing doesn't reveal which usernames exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default())
}

/// Hash checks running at once: argon2 is CPU- and memory-bound, so it runs
/// on the blocking pool, at most one per core, and never on the async workers
/// that answer everything else.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(n)
    })
}

/// Runs `f` on the blocking pool, at most one per core at a time.
async fn off_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("hashing slots closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::internal)
}

/// [`verify`] off the async workers (against the dummy hash when `phc` is
/// `None`, which always fails).
pub async fn verify_blocking(password: &str, phc: Option<&str>) -> Result<bool> {
    let known = phc.is_some();
    let password = password.to_owned();
    let phc = phc.unwrap_or_else(|| dummy_hash()).to_owned();
    let ok = off_workers(move || verify(&password, &phc)).await?;
    Ok(ok && known)
}

/// [`hash`] off the async workers.
pub async fn hash_blocking(password: &str) -> Result<String> {
    let password = password.to_owned();
    off_workers(move || hash(&password)).await?
}

/// Characters of a one-time initial password: 12 from an alphabet of 54
/// give about 69 bits, beyond any guessing.
pub const INITIAL_LEN: usize = 12;

/// argon2id at 1 MiB and 1 pass, for one-time initial passwords only: their
/// strength is their randomness (69 bits), not the cost of the hash, and they
/// are replaced, with [`hash`], at the first login. At this cost the town's
/// 3,152 enterprise accounts are provisioned in seconds instead of minutes.
fn initial_hasher() -> Argon2<'static> {
    match argon2::Params::new(1024, 1, 1, None) {
        Ok(p) => Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p),
        Err(_) => Argon2::default(),
    }
}

/// New one-time initial passwords and their hashes, made on every core.
pub async fn initial_passwords(n: usize) -> Result<Vec<(String, String)>> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let per = n.div_ceil(cores.max(1)).max(1);
    let mut tasks = Vec::new();
    let mut left = n;
    while left > 0 {
        let k = per.min(left);
        left -= k;
        tasks.push(tokio::task::spawn_blocking(move || {
            (0..k)
                .map(|_| {
                    let pw = random(INITIAL_LEN);
                    PasswordHasher::<PasswordHash>::hash_password(&initial_hasher(), pw.as_bytes())
                        .map(|h| (pw, h.to_string()))
                        .map_err(|e| Error::internal(anyhow::anyhow!("hashing password: {e}")))
                })
                .collect::<Result<Vec<_>>>()
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.extend(t.await.map_err(Error::internal)??);
    }
    Ok(out)
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

    #[tokio::test]
    async fn initial_passwords_verify_with_the_ordinary_check() {
        let made = super::initial_passwords(5).await.unwrap();
        assert_eq!(made.len(), 5);
        for (pw, h) in &made {
            assert_eq!(pw.len(), super::INITIAL_LEN);
            assert!(super::verify(pw, h));
        }
        assert_ne!(made[0].0, made[1].0);
    }
}
