//! Signed tokens: access tokens name a login and an expiry; the same key signs
//! anything else the server hands out and must recognise (e.g. sync cursors).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The server's signing key.
#[derive(Clone)]
pub struct TokenKeys {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(***)")
    }
}

impl TokenKeys {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, purpose: &str, payload: &[u8]) -> Vec<u8> {
        // A key of any length is accepted by HMAC; this cannot fail.
        let mut m = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(payload);
        m.finalize().into_bytes().to_vec()
    }

    /// `payload` and its signature for `purpose`, base64url.
    pub fn seal(&self, purpose: &str, payload: &[u8]) -> String {
        let mut out = payload.to_vec();
        out.extend(self.mac(purpose, payload));
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The payload of a sealed string, if the signature for `purpose` holds.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if raw.len() < 32 {
            return None;
        }
        let (payload, sig) = raw.split_at(raw.len() - 32);
        let expected = self.mac(purpose, payload);
        use subtle::ConstantTimeEq;
        bool::from(expected.ct_eq(sig)).then(|| payload.to_vec())
    }

    /// An access token for `login_id` valid until `expires_at` (unix seconds).
    pub fn access_token(&self, login_id: Uuid, expires_at: i64) -> String {
        let mut p = login_id.as_bytes().to_vec();
        p.extend(expires_at.to_be_bytes());
        self.seal("access", &p)
    }

    /// The login an access token names, if it is authentic and not expired at `now`.
    pub fn verify_access(&self, token: &str, now: i64) -> Option<Uuid> {
        let p = self.open("access", token)?;
        if p.len() != 24 {
            return None;
        }
        let login = Uuid::from_slice(&p[..16]).ok()?;
        let exp = i64::from_be_bytes(p[16..24].try_into().ok()?);
        (exp > now).then_some(login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_verify_until_expiry() {
        let k = TokenKeys::new(b"k1");
        let id = Uuid::now_v7();
        let t = k.access_token(id, 1000);
        assert_eq!(k.verify_access(&t, 999), Some(id));
        assert_eq!(k.verify_access(&t, 1000), None);
        assert_eq!(TokenKeys::new(b"k2").verify_access(&t, 0), None);
        let mut tampered = t.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.verify_access(&String::from_utf8(tampered).unwrap(), 0),
            None
        );
        assert_eq!(k.verify_access("garbage", 0), None);
    }

    #[test]
    fn purposes_do_not_mix() {
        let k = TokenKeys::new(b"k");
        let s = k.seal("cursor", b"x");
        assert!(k.open("access", &s).is_none());
        assert_eq!(k.open("cursor", &s).as_deref(), Some(&b"x"[..]));
    }
}
