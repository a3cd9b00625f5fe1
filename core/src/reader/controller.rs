//! [`CardReader`]: what the app holds to work with a reader: scan, connect securely to a known
//! reader, read its info, beep, update firmware. One connection at a time; its state is read
//! from the live connection, so it is never stale.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::commands::{self, DeviceInfo};
use super::connection::{ReaderConnection, ReaderError, Timing};
use super::firmware::{self, FirmwareError, FirmwareImage, Progress};
use super::link::{BleDevice, BleLink};

pub struct CardReader {
    link: Arc<dyn BleLink>,
    conn: Mutex<Option<ReaderConnection>>,
}

impl CardReader {
    pub fn new(link: Arc<dyn BleLink>) -> Self {
        CardReader { link, conn: Mutex::new(None) }
    }

    /// Readers nearby (names carry the serial number).
    pub async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleDevice>, ReaderError> {
        self.link.scan(timeout_ms).await.map_err(ReaderError::Link)
    }

    /// Connects to `device_id`, runs the secure handshake against the identity pinned at
    /// pairing, and answers the reader's info.
    pub async fn connect(&self, device_id: &str, pinned_identity: &[u8]) -> Result<DeviceInfo, ReaderError> {
        let mut slot = self.conn.lock().await;
        if let Some(old) = slot.take() {
            old.close().await;
        }
        let conn = ReaderConnection::open(self.link.clone(), device_id, Timing::default()).await?;
        let ready = async {
            conn.secure(pinned_identity).await?;
            device_info(&conn).await
        };
        match ready.await {
            Ok(info) => {
                *slot = Some(conn);
                Ok(info)
            }
            Err(e) => {
                // Never leave a half-open link behind (an impostor, a broken handshake).
                conn.close().await;
                Err(e)
            }
        }
    }

    pub async fn is_connected(&self) -> bool {
        self.conn.lock().await.as_ref().is_some_and(ReaderConnection::is_connected)
    }

    pub async fn device_info(&self) -> Result<DeviceInfo, ReaderError> {
        let slot = self.conn.lock().await;
        device_info(live(&slot)?).await
    }

    pub async fn beep(&self) -> Result<(), ReaderError> {
        let slot = self.conn.lock().await;
        live(&slot)?.request(commands::BEEP, &[], Duration::from_secs(5)).await.map(|_| ())
    }

    /// Updates the firmware; after a dropped link, connect again and call again to resume.
    pub async fn update_firmware(
        &self,
        image: &FirmwareImage,
        firmware_key: &[u8],
        progress: impl FnMut(Progress),
    ) -> Result<(), FirmwareError> {
        let slot = self.conn.lock().await;
        firmware::update(live(&slot)?, image, firmware_key, progress).await
    }

    pub async fn disconnect(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            conn.close().await;
        }
    }
}

fn live(slot: &Option<ReaderConnection>) -> Result<&ReaderConnection, ReaderError> {
    slot.as_ref().filter(|c| c.is_connected()).ok_or(ReaderError::LinkLost)
}

async fn device_info(conn: &ReaderConnection) -> Result<DeviceInfo, ReaderError> {
    let body = conn.request(commands::DEVICE_INFO, &[], Duration::from_secs(5)).await?;
    DeviceInfo::decode(&body).ok_or(ReaderError::BadResponse)
}
