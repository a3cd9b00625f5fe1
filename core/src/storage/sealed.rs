//! Sealed columns: values encrypted at rest (ChaCha20-Poly1305) under a key that lives only in
//! the phone's secure storage. A copied database file shows ciphertext; the row's own key is
//! the associated data, so a sealed value moved to another row does not open.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};

use crate::error::InternalError;
use crate::secure_store::SecureStore;

/// The secure-store name of the key that seals journal columns.
pub const JOURNAL_KEY: &str = "starpos.journal_key.v1";

/// A 32-byte key from secure storage under `name`, made (randomly) and stored on first use.
pub fn key_in_store(store: &dyn SecureStore, name: &str) -> Result<[u8; 32], InternalError> {
    if let Some(k) = store.get(name)? {
        if let Ok(k) = <[u8; 32]>::try_from(k.as_slice()) {
            return Ok(k);
        }
        tracing::warn!(key = name, "a stored key had the wrong length; making a new one");
    }
    let mut k = [0u8; 32];
    crate::util::fill_random(&mut k);
    store.put(name, &k)?;
    Ok(k)
}

pub struct Sealer(LessSafeKey);

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        // A 32-byte key is always a valid ChaCha20-Poly1305 key.
        Sealer(LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("32-byte key")))
    }

    /// `nonce || ciphertext || tag`, with a random 96-bit nonce (safe far beyond the number of
    /// values one phone seals).
    pub fn seal(&self, row: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::util::fill_random(&mut nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(row.as_bytes()),
                &mut out[NONCE_LEN..],
            )
            .expect("sealing a short value cannot fail");
        out.extend_from_slice(tag.as_ref());
        out
    }

    /// The plain value, or `None` if the blob was changed, moved from another row or sealed
    /// under another key.
    pub fn open(&self, row: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 16 {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
        let mut buf = sealed[NONCE_LEN..].to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(row.as_bytes()), &mut buf).ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure_store::InMemorySecureStore;

    #[test]
    fn sealed_values_open_only_in_their_row_under_their_key() {
        let store = InMemorySecureStore::new();
        let key = key_in_store(&store, "k").unwrap();
        assert_eq!(key_in_store(&store, "k").unwrap(), key, "made once, then read back");
        let s = Sealer::new(&key);
        let blob = s.seal("row-1", b"621700******0015");
        assert!(!blob.windows(4).any(|w| w == b"0015"), "no clear text in the blob");
        assert_eq!(s.open("row-1", &blob).unwrap(), b"621700******0015");
        assert_eq!(s.open("row-2", &blob), None, "moved to another row");
        let mut flipped = blob.clone();
        flipped[20] ^= 1;
        assert_eq!(s.open("row-1", &flipped), None, "changed");
        assert_eq!(Sealer::new(&[7; 32]).open("row-1", &blob), None, "another key");
        assert_eq!(s.open("row-1", &blob[..10]), None, "truncated");
        assert_ne!(s.seal("row-1", b"x"), s.seal("row-1", b"x"), "fresh nonce each time");
    }
}
