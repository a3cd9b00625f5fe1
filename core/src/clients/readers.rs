//! `StarPos::readers()`: pairing card readers and the readers paired on this phone.

use std::sync::Arc;

use super::client;
use crate::error::Error;
use crate::reader::commands::{DeviceInfo, Status};
use crate::reader::connection::ReaderError;
use crate::reader::controller::CardReader;
use crate::reader::secure::PhoneCredential;
use crate::readers::PairedReader;
use crate::starpos::Inner;
use crate::Result;

client!(Readers);

/// Pairs `serial` again for a certificate of this phone's key, and returns it.
async fn fresh_credential(i: &Inner, merchant_id: &str, serial: &str) -> Result<PhoneCredential> {
    i.readers.pair(&i.accounts, merchant_id, serial).await?;
    i.readers
        .credential(merchant_id, serial)?
        .and_then(|(_, credential)| credential)
        .ok_or_else(|| Error::Internal { reason: "a new pairing left no certificate".into() })
}

impl Readers {
    /// Pairs the reader with this serial number: the platform certifies its identity key,
    /// which is pinned here for every later connection.
    pub async fn pair(&self, serial: String) -> Result<PairedReader> {
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            i.readers.pair(&i.accounts, &merchant_id, serial.trim()).await
        })
        .await
    }

    /// Readers paired on this phone for the logged-in merchant (offline).
    pub fn paired(&self) -> Result<Vec<PairedReader>> {
        self.inner.readers.paired(&self.inner.merchant_id()?)
    }

    /// Releases a reader to the platform (another merchant may pair it) and forgets it here.
    pub async fn release(&self, serial: String) -> Result<()> {
        self.run(move |i| async move { i.readers.release(&i.accounts, serial.trim()).await }).await
    }

    /// Forgets a paired reader on this phone only.
    pub fn forget(&self, serial: String) -> Result<()> {
        self.inner.readers.forget(&serial)
    }

    /// Connects `reader` to the paired reader with this serial: scans for it (`scan_ms`), proves
    /// this phone with the platform's certificate from pairing, and checks in the handshake that
    /// the reader holds the identity key pinned at pairing. Both come from this phone's own
    /// store; the app never handles them. A serial not paired here is `ReaderNotPaired`.
    ///
    /// A reader paired before phones were certified, or one that refuses this phone's
    /// certificate (it has been paired again since, on this merchant's other phone after a
    /// release), is paired again once (online) and tried again; `ReaderRefusedPhone` if it
    /// still refuses, `ReaderPairedElsewhere` if another merchant has it now.
    pub async fn connect(&self, reader: CardReader, serial: String, scan_ms: u32) -> Result<DeviceInfo> {
        let serial = serial.trim().to_string();
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            let (pinned, credential) = i
                .readers
                .credential(&merchant_id, &serial)?
                .ok_or_else(|| Error::ReaderNotPaired { serial: serial.clone() })?;
            let credential = match credential {
                Some(credential) => credential,
                None => fresh_credential(&i, &merchant_id, &serial).await?,
            };
            let attempt =
                reader.connect_by_serial(&serial, &pinned.identity_public, Arc::new(credential), scan_ms).await;
            match attempt {
                Err(ReaderError::Refused(Status::PhoneNotCertified)) => {
                    tracing::info!(%serial, "the reader refused this phone's certificate; pairing again");
                    let credential = fresh_credential(&i, &merchant_id, &serial).await?;
                    let identity = i.readers.credential(&merchant_id, &serial)?.map(|(r, _)| r.identity_public);
                    let identity = identity.unwrap_or(pinned.identity_public);
                    Ok(reader.connect_by_serial(&serial, &identity, Arc::new(credential), scan_ms).await?)
                }
                other => Ok(other?),
            }
        })
        .await
    }
}
