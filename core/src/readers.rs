//! Readers paired with this phone. At first pairing the platform says which identity key
//! belongs to the reader's serial number (it registered the key at manufacture and binds the
//! reader to the merchant); the phone pins that key, and from then on the secure handshake
//! (docs/reader-protocol.md, section 4) must prove it. See ADR 0006.

use std::sync::Arc;

use reqwest::Method;

use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::platform::wire::{PairReaderRequest, PairedReaderWire};
use crate::storage::Db;

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
}

/// Serial numbers as printed on readers: letters, digits and hyphens, 4 to 32 of them.
fn serial_problem(serial: &str) -> Option<&'static str> {
    let ok_chars = serial.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (!(4..=32).contains(&serial.len()) || !ok_chars).then_some("a reader serial is 4 to 32 letters, digits or hyphens")
}

impl Readers {
    pub fn new(db: Arc<Db>) -> Self {
        Readers { db }
    }

    /// Pairs `serial`: asks the platform for its certified identity and pins it. Pairing again
    /// with the same key is harmless; a different key from the platform (the reader was
    /// replaced and re-registered) replaces the pin only through this explicit call.
    pub async fn pair(&self, accounts: &Accounts, merchant_id: &str, serial: &str) -> Result<PairedReader, Error> {
        if let Some(problem) = serial_problem(serial) {
            return Err(Error::invalid("serial", problem));
        }
        let body = PairReaderRequest { serial: serial.into() };
        let wire: PairedReaderWire = accounts.signed(Method::POST, "v1/readers/pair", Some(&body), false).await?;
        let identity = hex::decode(&wire.identity_public)
            .ok()
            .filter(|k| k.len() == 32 && wire.serial == serial)
            .ok_or_else(|| InternalError::BadResponse("reader identity is not a 32-byte key for this serial".into()))?;
        let reader = PairedReader {
            serial: wire.serial,
            model: wire.model,
            identity_public: identity,
            paired_at: wire.paired_at,
        };
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO paired_readers (serial, merchant_id, model, identity_public, paired_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (serial) DO UPDATE SET merchant_id = ?2, model = ?3, identity_public = ?4, paired_at = ?5",
                (&reader.serial, merchant_id, &reader.model, &reader.identity_public, reader.paired_at),
            )?;
            Ok(())
        })?;
        Ok(reader)
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
        let body = PairReaderRequest { serial: serial.into() };
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
