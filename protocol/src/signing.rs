//! Request signing. After login the platform issues a per-session key; every request then
//! carries a timestamp, a fresh nonce and an HMAC-SHA256 over
//!
//! ```text
//! METHOD \n PATH_AND_QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))
//! ```
//!
//! so a captured request cannot be replayed (nonce), delayed (timestamp) or altered (MAC).
//! The sandbox verifies with this same function.

use ring::{digest, hmac};

/// How far a request's timestamp may be from the platform's clock.
pub const MAX_SKEW_SECS: i64 = 300;

pub fn canonical(method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    let body_hash = hex::encode(digest::digest(&digest::SHA256, body));
    format!("{}\n{}\n{}\n{}\n{}", method.to_ascii_uppercase(), path_and_query, timestamp, nonce, body_hash)
}

/// Hex HMAC-SHA256 of the canonical request.
pub fn sign(key: &[u8], method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, canonical(method, path_and_query, timestamp, nonce, body).as_bytes());
    hex::encode(tag.as_ref())
}

/// Constant-time check of a hex signature.
pub fn verify(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
    signature_hex: &str,
) -> bool {
    let Ok(tag) = hex::decode(signature_hex) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, canonical(method, path_and_query, timestamp, nonce, body).as_bytes(), &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vector computed independently with Python's `hmac` and `hashlib`:
    /// hmac.new(b"k"*32, b"POST\n/v1/auth/logout\n1700000000\nabc\n" +
    ///          hashlib.sha256(b"{}").hexdigest().encode(), "sha256").hexdigest()
    #[test]
    fn matches_independent_vector() {
        let sig = sign(&[b'k'; 32], "post", "/v1/auth/logout", 1_700_000_000, "abc", b"{}");
        assert_eq!(sig, EXPECTED);
        assert!(verify(&[b'k'; 32], "POST", "/v1/auth/logout", 1_700_000_000, "abc", b"{}", EXPECTED));
    }

    const EXPECTED: &str = "dd471ed9ee3bbe6db298e8529b67c31a4b2f46dd0ecd1158adc71612064f9799";

    #[test]
    fn any_change_breaks_the_signature() {
        let key = [7u8; 32];
        let good = sign(&key, "GET", "/v1/me", 10, "n1", b"");
        assert!(verify(&key, "GET", "/v1/me", 10, "n1", b"", &good));
        assert!(!verify(&key, "GET", "/v1/me?x=1", 10, "n1", b"", &good));
        assert!(!verify(&key, "GET", "/v1/me", 11, "n1", b"", &good));
        assert!(!verify(&key, "GET", "/v1/me", 10, "n2", b"", &good));
        assert!(!verify(&key, "GET", "/v1/me", 10, "n1", b"x", &good));
        assert!(!verify(&[8u8; 32], "GET", "/v1/me", 10, "n1", b"", &good));
        assert!(!verify(&key, "GET", "/v1/me", 10, "n1", b"", "zz"));
    }
}
