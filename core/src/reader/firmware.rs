//! Reader firmware update over Bluetooth: only images signed by the platform's firmware key,
//! refused on a low battery unless charging, sent in chunks with offsets, and resumable: after a
//! dropped link, the next attempt starts where the reader's stored part ends.

use std::time::Duration;

pub use starpos_protocol::reader::firmware::*;

use super::commands::{self, DeviceInfo};
use super::connection::{ReaderConnection, ReaderError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FirmwareError {
    #[error("the image is not signed by the platform's firmware key")]
    Unsigned,
    #[error("battery at {percent}%: charge the reader to at least {MIN_BATTERY_PERCENT}% or plug it in")]
    BatteryLow { percent: u8 },
    #[error("the reader rejected the image after transfer")]
    Rejected,
    #[error(transparent)]
    Reader(#[from] ReaderError),
}

/// Progress of an update, for the app's progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub sent: u64,
    pub total: u64,
    /// Where this attempt started (non-zero when it resumed an interrupted transfer).
    pub resumed_from: u64,
}

/// Updates the reader's firmware. Call again after a dropped link: the transfer resumes.
pub async fn update(
    conn: &ReaderConnection,
    image: &FirmwareImage,
    firmware_key: &[u8],
    mut progress: impl FnMut(Progress),
) -> Result<(), FirmwareError> {
    if !image.verify(firmware_key) {
        return Err(FirmwareError::Unsigned);
    }
    let info = DeviceInfo::decode(&conn.request(commands::DEVICE_INFO, &[], Duration::from_secs(5)).await?)
        .ok_or(ReaderError::BadResponse)?;
    if info.battery_percent < MIN_BATTERY_PERCENT && !info.charging {
        return Err(FirmwareError::BatteryLow { percent: info.battery_percent });
    }
    let begun = conn.request(commands::FW_BEGIN, &image.begin_payload(), Duration::from_secs(10)).await?;
    let mut offset = read_offset(&begun)? as usize;
    let total = image.bytes.len();
    let resumed_from = offset as u64;
    if offset > 0 {
        tracing::info!(offset, total, "resuming firmware transfer");
    }
    progress(Progress { sent: offset as u64, total: total as u64, resumed_from });
    while offset < total {
        let end = (offset + CHUNK_BYTES).min(total);
        let mut payload = (offset as u32).to_be_bytes().to_vec();
        payload.extend_from_slice(&image.bytes[offset..end]);
        let answer = conn.request(commands::FW_CHUNK, &payload, Duration::from_secs(10)).await?;
        offset = read_offset(&answer)? as usize;
        progress(Progress { sent: offset as u64, total: total as u64, resumed_from });
    }
    match conn.request(commands::FW_COMMIT, &[], Duration::from_secs(30)).await {
        Ok(_) => Ok(()),
        Err(ReaderError::Refused(commands::Status::FirmwareInvalid)) => Err(FirmwareError::Rejected),
        Err(e) => Err(e.into()),
    }
}

fn read_offset(body: &[u8]) -> Result<u32, ReaderError> {
    Ok(u32::from_be_bytes(
        body.get(..4).ok_or(ReaderError::BadResponse)?.try_into().map_err(|_| ReaderError::BadResponse)?,
    ))
}
