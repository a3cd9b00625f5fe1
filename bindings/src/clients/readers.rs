use std::sync::Arc;

use super::ffi_client;
use crate::error::StarPosError;
use crate::reader::{CardReader, PairedReader, ReaderInfo};

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// Pairing card readers and the readers paired on this phone.
    ReadersClient(starpos_core::clients::Readers)
);

#[uniffi::export]
impl ReadersClient {
    /// Pairs the reader with this serial number (printed on it): the platform certifies its
    /// identity key, which is pinned on this phone for every later connection.
    pub async fn pair(&self, serial: String) -> Result<PairedReader> {
        Ok(self.core.pair(serial).await?.into())
    }

    /// Readers paired on this phone (no network I/O).
    pub fn paired(&self) -> Result<Vec<PairedReader>> {
        Ok(self.core.paired()?.into_iter().map(Into::into).collect())
    }

    /// Releases a reader on the platform (another merchant may then pair it) and forgets it.
    pub async fn release(&self, serial: String) -> Result<()> {
        Ok(self.core.release(serial).await?)
    }

    /// Forgets a reader on this phone only.
    pub fn forget(&self, serial: String) -> Result<()> {
        Ok(self.core.forget(serial)?)
    }

    /// Connects `reader` to the paired reader with this serial, checking it holds the identity
    /// key pinned at pairing (looked up here: the app never handles it).
    pub async fn connect(&self, reader: Arc<CardReader>, serial: String, scan_ms: u32) -> Result<ReaderInfo> {
        Ok(self.core.connect((*reader.core).clone(), serial, scan_ms).await?.into())
    }
}
