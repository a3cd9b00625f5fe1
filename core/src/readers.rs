//! Readers paired with this phone. At first pairing the platform says which identity key
//! belongs to the reader's serial number (it registered the key at manufacture and binds the
//! reader to the merchant); the phone pins that key, and from then on the secure handshake
//! (docs/reader-protocol.md, section 4) must prove it. See ADR 0006.
//!
//! The other way round, the reader must know this phone: at pairing the platform certifies
//! this install's reader key (an Ed25519 key made on first pairing, kept in secure storage)
//! for the reader, and the phone proves that key in every handshake. See ADR 0012.

use std::sync::Arc;

use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use starpos_protocol::reader::phone_cert::PhoneCertificate;
use starpos_protocol::reader::secure::PhoneCredential;
use zeroize::Zeroizing;

use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::platform::wire::{PairReaderRequest, PairedReaderWire};
use crate::secure_store::SecureStore;
use crate::storage::Db;

/// Secure-storage key of this install's reader key (PKCS#8).
pub const PHONE_KEY: &str = "starpos.reader-key.v1";

/// A reader this phone trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedReader {
    pub serial: String,
    pub model: String,
    /// The Ed25519 identity key to pass to `CardReader::connect_by_serial`.
    pub identity_public: Vec<u8>,
    pub paired_at: i64,
}

pub(crate) struct Readers {
    db: Arc<Db>,
    store: Arc<dyn SecureStore>,
    /// Two first pairings at once must not each make a key (one certificate would be lost).
    key_lock: std::sync::Mutex<()>,
}

/// Serial numbers as printed on readers: letters, digits and hyphens, 4 to 32 of them.
fn serial_problem(serial: &str) -> Option<&'static str> {
    let ok_chars = serial.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (!(4..=32).contains(&serial.len()) || !ok_chars).then_some("a reader serial is 4 to 32 letters, digits or hyphens")
}

impl Readers {
    pub fn new(db: Arc<Db>, store: Arc<dyn SecureStore>) -> Self {
        Readers { db, store, key_lock: std::sync::Mutex::new(()) }
    }

    /// This install's reader key, made and stored on first use. The PKCS#8 bytes are wiped
    /// once parsed.
    fn phone_key(&self) -> Result<Ed25519KeyPair, Error> {
        let _one_at_a_time = self.key_lock.lock().unwrap_or_else(|p| p.into_inner());
        let pkcs8 = match self.store.get(PHONE_KEY).map_err(InternalError::from)?.map(Zeroizing::new) {
            Some(stored) => stored,
            None => {
                let made = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| Error::Internal { reason: "could not make the reader key".into() })?;
                let made = Zeroizing::new(made.as_ref().to_vec());
                self.store.put(PHONE_KEY, &made).map_err(InternalError::from)?;
                made
            }
        };
        Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| Error::SecureStorage { reason: "the stored reader key is unreadable".into() })
    }

    /// Pairs `serial`: asks the platform for its certified identity, which is pinned, and for a
    /// certificate of this phone's key on it, which is kept for the handshake. Pairing again
    /// is harmless (the certificate is renewed); a different identity from the platform (the
    /// reader was replaced and re-registered) replaces the pin only through this explicit call.
    pub async fn pair(&self, accounts: &Accounts, merchant_id: &str, serial: &str) -> Result<PairedReader, Error> {
        if let Some(problem) = serial_problem(serial) {
            return Err(Error::invalid("serial", problem));
        }
        let key = self.phone_key()?;
        let phone_key: [u8; 32] =
            key.public_key().as_ref().try_into().map_err(|_| Error::Internal { reason: "reader key size".into() })?;
        let body = PairReaderRequest { serial: serial.into(), phone_key: Some(hex::encode(phone_key)) };
        let wire: PairedReaderWire = accounts.signed(Method::POST, "v1/readers/pair", Some(&body), false).await?;
        let identity = hex::decode(&wire.identity_public)
            .ok()
            .filter(|k| k.len() == 32 && wire.serial == serial)
            .ok_or_else(|| InternalError::BadResponse("reader identity is not a 32-byte key for this serial".into()))?;
        // The reader checks the certificate's signature; here only that it is ours, for this
        // reader and merchant, so a wrong one fails now and not at the counter.
        let certificate = hex::decode(&wire.phone_certificate)
            .ok()
            .filter(|c| {
                PhoneCertificate::read_unverified(c).is_some_and(|cert| {
                    cert.serial == serial && cert.phone_key == phone_key && cert.merchant_id == merchant_id
                })
            })
            .ok_or_else(|| {
                InternalError::BadResponse("the phone certificate is not for this phone and reader".into())
            })?;
        let reader = PairedReader {
            serial: wire.serial,
            model: wire.model,
            identity_public: identity,
            paired_at: wire.paired_at,
        };
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO paired_readers (serial, merchant_id, model, identity_public, paired_at, phone_certificate)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (serial) DO UPDATE SET merchant_id = ?2, model = ?3, identity_public = ?4,
                     paired_at = ?5, phone_certificate = ?6",
                (&reader.serial, merchant_id, &reader.model, &reader.identity_public, reader.paired_at, &certificate),
            )?;
            Ok(())
        })?;
        Ok(reader)
    }

    /// The paired reader with this serial and what this phone proves itself with to it: `None`
    /// if it is not paired here for the merchant; no credential if it was paired before phones
    /// were certified (schema 16 and older), or if the certificate is not for this install's
    /// key (restored from another phone's backup).
    pub fn credential(
        &self,
        merchant_id: &str,
        serial: &str,
    ) -> Result<Option<(PairedReader, Option<PhoneCredential>)>, Error> {
        let Some(reader) = self.paired(merchant_id)?.into_iter().find(|r| r.serial == serial) else {
            return Ok(None);
        };
        let certificate: Option<Vec<u8>> = self.db.with(|conn| {
            Ok(conn
                .query_row("SELECT phone_certificate FROM paired_readers WHERE serial = ?1", [serial], |r| r.get(0))?)
        })?;
        let key = self.phone_key()?;
        let credential = certificate
            .filter(|c| {
                PhoneCertificate::read_unverified(c).is_some_and(|cert| cert.phone_key == key.public_key().as_ref())
            })
            .map(|certificate| PhoneCredential { certificate, key });
        Ok(Some((reader, credential)))
    }

    /// Readers paired for this merchant, newest first; works offline.
    pub fn paired(&self, merchant_id: &str) -> Result<Vec<PairedReader>, Error> {
        Ok(self.db.with(|conn| {
            let mut q = conn.prepare(
                "SELECT serial, model, identity_public, paired_at FROM paired_readers
                 WHERE merchant_id = ?1 ORDER BY paired_at DESC, serial",
            )?;
            let rows = q.query_map([merchant_id], |r| {
                Ok(PairedReader {
                    serial: r.get(0)?,
                    model: r.get(1)?,
                    identity_public: r.get(2)?,
                    paired_at: r.get(3)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>().map_err(InternalError::from)
        })?)
    }

    /// Releases the reader on the platform (another merchant may then pair it) and forgets it
    /// here.
    pub async fn release(&self, accounts: &Accounts, serial: &str) -> Result<(), Error> {
        let body = PairReaderRequest { serial: serial.into(), phone_key: None };
        let _: serde::de::IgnoredAny = accounts.signed(Method::POST, "v1/readers/release", Some(&body), true).await?;
        self.forget(serial)
    }

    /// Forgets a reader on this phone (the platform keeps it bound to the merchant).
    pub fn forget(&self, serial: &str) -> Result<(), Error> {
        Ok(self.db.write(|tx| {
            tx.execute("DELETE FROM paired_readers WHERE serial = ?1", [serial])?;
            Ok(())
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure_store::InMemorySecureStore;

    /// A reader paired before phones were certified (schema 16 and older rows have no
    /// certificate) is still listed, with no credential: connecting pairs it again first.
    #[test]
    fn a_reader_paired_before_certificates_is_listed_without_a_credential() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        db.write(|tx| {
            tx.execute(
                "INSERT INTO paired_readers (serial, merchant_id, model, identity_public, paired_at)
                 VALUES ('SP100-000123', 'm_1', 'StarPOS SIM-1', ?1, 1)",
                [vec![7u8; 32]],
            )?;
            Ok(())
        })
        .unwrap();
        let readers = Readers::new(db, Arc::new(InMemorySecureStore::new()));
        let (reader, credential) = readers.credential("m_1", "SP100-000123").unwrap().unwrap();
        assert_eq!(reader.identity_public, vec![7u8; 32]);
        assert!(credential.is_none());
        assert!(readers.credential("m_2", "SP100-000123").unwrap().is_none(), "another merchant's list");
    }
}
