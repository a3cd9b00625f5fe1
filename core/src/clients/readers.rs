//! `StarPos::readers()`: pairing card readers and the readers paired on this phone.

use super::client;
use crate::error::Error;
use crate::reader::commands::DeviceInfo;
use crate::reader::controller::CardReader;
use crate::readers::PairedReader;
use crate::Result;

client!(Readers);

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

    /// Connects `reader` to the paired reader with this serial: scans for it (`scan_ms`) and
    /// checks in the handshake that it holds the identity key pinned at pairing. The key comes
    /// from this phone's own list; the app never handles it. A serial not paired here is
    /// `ReaderNotPaired`.
    pub async fn connect(&self, reader: CardReader, serial: String, scan_ms: u32) -> Result<DeviceInfo> {
        let serial = serial.trim().to_string();
        let pinned = self
            .inner
            .readers
            .paired(&self.inner.merchant_id()?)?
            .into_iter()
            .find(|r| r.serial == serial)
            .ok_or_else(|| Error::ReaderNotPaired { serial: serial.clone() })?;
        crate::runtime::run(
            async move { Ok(reader.connect_by_serial(&serial, &pinned.identity_public, scan_ms).await?) },
        )
        .await
    }
}
