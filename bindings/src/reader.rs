//! The card reader across the boundary: the shell's Bluetooth link as a foreign async trait,
//! the events object the shell calls back, and the `CardReader` object.

use std::sync::Arc;

use starpos_core::reader::commands::DeviceInfo as CoreInfo;
use starpos_core::reader::connection::ReaderError as CoreError;
use starpos_core::reader::controller::CardReader as Core;
use starpos_core::reader::firmware::FirmwareError;
use starpos_core::reader::link as core_link;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum BleError {
    #[error("Bluetooth is off or not permitted")]
    Unavailable,
    #[error("no such device nearby")]
    NotFound,
    #[error("the link is down")]
    Disconnected,
    #[error("Bluetooth error: {reason}")]
    Other { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for BleError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        BleError::Other { reason: e.reason }
    }
}

impl From<BleError> for core_link::LinkError {
    fn from(e: BleError) -> Self {
        match e {
            BleError::Unavailable => core_link::LinkError::Unavailable,
            BleError::NotFound => core_link::LinkError::NotFound,
            BleError::Disconnected => core_link::LinkError::Disconnected,
            BleError::Other { reason } => core_link::LinkError::Other(reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BleDevice {
    pub id: String,
    pub name: String,
    pub rssi: i16,
}

/// The phone's Bluetooth radio, implemented by the shell over the Nordic UART service.
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait BleLink: Send + Sync {
    async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleDevice>, BleError>;
    /// Connects, subscribes to notifications (delivered to `events`), returns the MTU.
    async fn connect(&self, device_id: String, events: Arc<LinkEvents>) -> Result<u16, BleError>;
    /// Writes one chunk of at most MTU - 3 bytes.
    async fn write(&self, bytes: Vec<u8>) -> Result<(), BleError>;
    async fn disconnect(&self);
}

/// The shell calls these when notifications arrive and when the link drops.
#[derive(uniffi::Object)]
pub struct LinkEvents(Arc<core_link::LinkEvents>);

#[uniffi::export]
impl LinkEvents {
    pub fn received(&self, bytes: Vec<u8>) {
        self.0.received(bytes);
    }

    pub fn disconnected(&self, reason: String) {
        self.0.disconnected(reason);
    }
}

struct LinkAdapter(Arc<dyn BleLink>);

#[async_trait::async_trait]
impl core_link::BleLink for LinkAdapter {
    async fn scan(&self, timeout_ms: u32) -> Result<Vec<core_link::BleDevice>, core_link::LinkError> {
        let found = self.0.scan(timeout_ms).await?;
        Ok(found.into_iter().map(|d| core_link::BleDevice { id: d.id, name: d.name, rssi: d.rssi }).collect())
    }
    async fn connect(&self, device_id: &str, events: Arc<core_link::LinkEvents>) -> Result<u16, core_link::LinkError> {
        Ok(self.0.connect(device_id.to_string(), Arc::new(LinkEvents(events))).await?)
    }
    async fn write(&self, bytes: Vec<u8>) -> Result<(), core_link::LinkError> {
        Ok(self.0.write(bytes).await?)
    }
    async fn disconnect(&self) {
        self.0.disconnect().await
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ReaderError {
    #[error("the Bluetooth link to the reader was lost")]
    LinkLost,
    #[error("the reader did not acknowledge; the link is considered lost")]
    NoAck,
    #[error("the reader did not answer in time")]
    Timeout,
    #[error("the reader refused: {status}")]
    Refused { status: String },
    #[error("the reader sent something unreadable")]
    BadResponse,
    #[error("Bluetooth: {reason}")]
    Link { reason: String },
    /// The reader is not the one paired (identity mismatch) or the session broke.
    #[error("secure session: {reason}")]
    Secure { reason: String },
    #[error("the firmware image is not signed by the platform")]
    FirmwareUnsigned,
    #[error("battery at {percent}%: charge the reader or plug it in")]
    BatteryLow { percent: u8 },
    #[error("the reader rejected the firmware image")]
    FirmwareRejected,
}

impl From<CoreError> for ReaderError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::LinkLost => ReaderError::LinkLost,
            CoreError::NoAck => ReaderError::NoAck,
            CoreError::Timeout => ReaderError::Timeout,
            CoreError::Refused(status) => ReaderError::Refused { status: format!("{status:?}") },
            CoreError::BadResponse => ReaderError::BadResponse,
            CoreError::Link(e) => ReaderError::Link { reason: e.to_string() },
            CoreError::Secure(e) => ReaderError::Secure { reason: e.to_string() },
        }
    }
}

impl From<FirmwareError> for ReaderError {
    fn from(e: FirmwareError) -> Self {
        match e {
            FirmwareError::Unsigned => ReaderError::FirmwareUnsigned,
            FirmwareError::BatteryLow { percent } => ReaderError::BatteryLow { percent },
            FirmwareError::Rejected => ReaderError::FirmwareRejected,
            FirmwareError::Reader(e) => e.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReaderInfo {
    pub serial: String,
    pub model: String,
    pub firmware: String,
    pub battery_percent: u8,
    pub charging: bool,
}

impl From<CoreInfo> for ReaderInfo {
    fn from(i: CoreInfo) -> Self {
        ReaderInfo {
            serial: i.serial,
            model: i.model,
            firmware: i.firmware,
            battery_percent: i.battery_percent,
            charging: i.charging,
        }
    }
}

/// Told as a firmware update advances (from a core thread; keep it quick).
#[uniffi::export(foreign)]
pub trait FirmwareProgressListener: Send + Sync {
    /// `resumed_from` is non-zero when this attempt continued an interrupted transfer.
    fn on_progress(&self, sent: u64, total: u64, resumed_from: u64);
}

/// A card reader reached through the shell's Bluetooth link.
#[derive(uniffi::Object)]
pub struct CardReader {
    core: Arc<Core>,
}

#[uniffi::export]
impl CardReader {
    #[uniffi::constructor]
    pub fn new(link: Arc<dyn BleLink>) -> Arc<Self> {
        Arc::new(CardReader { core: Arc::new(Core::new(Arc::new(LinkAdapter(link)))) })
    }

    pub async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleDevice>, ReaderError> {
        let core = self.core.clone();
        let found = run(async move { Ok(core.scan(timeout_ms).await?) }).await?;
        Ok(found.into_iter().map(|d| BleDevice { id: d.id, name: d.name, rssi: d.rssi }).collect())
    }

    /// Connects securely to a paired reader whose identity key is `pinned_identity`.
    pub async fn connect(&self, device_id: String, pinned_identity: Vec<u8>) -> Result<ReaderInfo, ReaderError> {
        let core = self.core.clone();
        Ok(run(async move { Ok(core.connect(&device_id, &pinned_identity).await?) }).await?.into())
    }

    pub async fn is_connected(&self) -> bool {
        let core = self.core.clone();
        run(async move { Ok(core.is_connected().await) }).await.unwrap_or(false)
    }

    pub async fn device_info(&self) -> Result<ReaderInfo, ReaderError> {
        let core = self.core.clone();
        Ok(run(async move { Ok(core.device_info().await?) }).await?.into())
    }

    pub async fn beep(&self) -> Result<(), ReaderError> {
        let core = self.core.clone();
        run(async move { Ok(core.beep().await?) }).await
    }

    /// Updates the reader's firmware from a platform package, checked against the platform's
    /// firmware key. After a dropped link: connect again and call again; it resumes.
    pub async fn update_firmware(
        &self,
        package: Vec<u8>,
        firmware_key: Vec<u8>,
        listener: Arc<dyn FirmwareProgressListener>,
    ) -> Result<(), ReaderError> {
        let image = starpos_core::reader::firmware::FirmwareImage::from_package(&package)
            .ok_or(ReaderError::FirmwareUnsigned)?;
        let core = self.core.clone();
        run(async move {
            core.update_firmware(&image, &firmware_key, |p| listener.on_progress(p.sent, p.total, p.resumed_from))
                .await
                .map_err(ReaderError::from)
        })
        .await
    }

    pub async fn disconnect(&self) {
        let core = self.core.clone();
        let _ = run(async move {
            core.disconnect().await;
            Ok(())
        })
        .await;
    }
}

/// Runs reader work on the core's runtime (see starpos_core::runtime), keeping reader errors.
async fn run<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ReaderError>> + Send + 'static,
) -> Result<T, ReaderError> {
    match starpos_core::runtime::run(async move { Ok(work.await) }).await {
        Ok(result) => result,
        Err(e) => Err(ReaderError::Secure { reason: e.to_string() }),
    }
}
