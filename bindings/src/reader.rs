//! The card reader across the boundary: the shell's Bluetooth link as a foreign async trait,
//! the events object the shell calls back, and the `CardReader` object.

use std::sync::Arc;

use starpos_core::reader::card::{self as core_card, EntryModes};
use starpos_core::reader::commands::{DeviceInfo as CoreInfo, Prompt as CorePrompt};
use starpos_core::reader::controller::{self as core_ctl, CardReader as Core};
use starpos_core::reader::link as core_link;

use crate::error::StarPosError;

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

/// A reader this phone trusts: the platform certified its identity key at pairing.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairedReader {
    pub serial: String,
    pub model: String,
    /// The reader's identity key, pinned at pairing (`readers().connect` uses it itself).
    pub identity_public: Vec<u8>,
    pub paired_at: i64,
}

impl From<starpos_core::readers::PairedReader> for PairedReader {
    fn from(r: starpos_core::readers::PairedReader) -> Self {
        PairedReader { serial: r.serial, model: r.model, identity_public: r.identity_public, paired_at: r.paired_at }
    }
}

/// Told as a firmware update advances (from a core thread; keep it quick).
#[uniffi::export(foreign)]
pub trait FirmwareProgressListener: Send + Sync {
    /// `resumed_from` is non-zero when this attempt continued an interrupted transfer.
    fn on_progress(&self, sent: u64, total: u64, resumed_from: u64);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EntryMode {
    Swipe,
    Insert,
    Tap,
}

impl From<core_card::EntryMode> for EntryMode {
    fn from(m: core_card::EntryMode) -> Self {
        match m {
            core_card::EntryMode::Swipe => EntryMode::Swipe,
            core_card::EntryMode::Insert => EntryMode::Insert,
            core_card::EntryMode::Tap => EntryMode::Tap,
        }
    }
}

fn modes(list: &[EntryMode]) -> EntryModes {
    EntryModes(list.iter().fold(0u8, |acc, m| {
        acc | match m {
            EntryMode::Swipe => core_card::EntryMode::Swipe as u8,
            EntryMode::Insert => core_card::EntryMode::Insert as u8,
            EntryMode::Tap => core_card::EntryMode::Tap as u8,
        }
    }))
}

/// What a card read shows the app: never the card number, track or PIN.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CardSummary {
    pub entry_mode: EntryMode,
    pub amount_fen: i64,
    pub masked_pan: String,
    pub app_label: String,
    /// Chip application identifier (hex), empty for a swipe.
    pub aid: String,
    pub pin_required: bool,
    /// Bytes of allow-listed chip data that would go in field 55.
    pub field55_len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReaderState {
    Disconnected,
    Connecting,
    Ready,
    Busy,
    Reconnecting { attempt: u32 },
}

impl From<core_ctl::ReaderState> for ReaderState {
    fn from(s: core_ctl::ReaderState) -> Self {
        match s {
            core_ctl::ReaderState::Disconnected => ReaderState::Disconnected,
            core_ctl::ReaderState::Connecting => ReaderState::Connecting,
            core_ctl::ReaderState::Ready => ReaderState::Ready,
            core_ctl::ReaderState::Busy => ReaderState::Busy,
            core_ctl::ReaderState::Reconnecting { attempt } => ReaderState::Reconnecting { attempt },
        }
    }
}

/// What the reader asks of the customer; show it on the phone too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReaderPrompt {
    PresentCard,
    ReadingCard,
    EnterPin,
    RemoveCard,
    Processing,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ReaderEvent {
    StateChanged { state: ReaderState },
    Battery { percent: u8, charging: bool },
    Prompt { prompt: ReaderPrompt },
}

impl From<core_ctl::ReaderEvent> for ReaderEvent {
    fn from(e: core_ctl::ReaderEvent) -> Self {
        match e {
            core_ctl::ReaderEvent::State(s) => ReaderEvent::StateChanged { state: s.into() },
            core_ctl::ReaderEvent::Battery { percent, charging } => ReaderEvent::Battery { percent, charging },
            core_ctl::ReaderEvent::Prompt(p) => ReaderEvent::Prompt {
                prompt: match p {
                    CorePrompt::PresentCard => ReaderPrompt::PresentCard,
                    CorePrompt::ReadingCard => ReaderPrompt::ReadingCard,
                    CorePrompt::EnterPin => ReaderPrompt::EnterPin,
                    CorePrompt::RemoveCard => ReaderPrompt::RemoveCard,
                    CorePrompt::Processing => ReaderPrompt::Processing,
                },
            },
        }
    }
}

/// Hears state changes (including automatic reconnection), battery reports and prompts.
/// Called from a core thread; keep it quick.
#[uniffi::export(foreign)]
pub trait ReaderListener: Send + Sync {
    fn on_event(&self, event: ReaderEvent);
}

struct ListenerAdapter(Arc<dyn ReaderListener>);

impl core_ctl::ReaderListener for ListenerAdapter {
    fn on_event(&self, event: core_ctl::ReaderEvent) {
        self.0.on_event(event.into());
    }
}

/// A card reader reached through the shell's Bluetooth link.
#[derive(uniffi::Object)]
pub struct CardReader {
    pub(crate) core: Arc<Core>,
}

#[uniffi::export]
impl CardReader {
    #[uniffi::constructor]
    pub fn new(link: Arc<dyn BleLink>) -> Arc<Self> {
        Arc::new(CardReader { core: Arc::new(Core::new(Arc::new(LinkAdapter(link)))) })
    }

    pub async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleDevice>, StarPosError> {
        let core = self.core.clone();
        let found = run(async move { core.scan(timeout_ms).await }).await?;
        Ok(found.into_iter().map(|d| BleDevice { id: d.id, name: d.name, rssi: d.rssi }).collect())
    }

    /// Events go to `listener` from now on; it hears the current state at once.
    pub fn set_listener(&self, listener: Arc<dyn ReaderListener>) {
        self.core.set_listener(Arc::new(ListenerAdapter(listener)));
    }

    /// The state now (the listener hears every change).
    pub fn state(&self) -> ReaderState {
        self.core.state().into()
    }

    /// Reads a card for `amount_fen` (checks the result is bound to this amount and request and
    /// carries no clear card data). Card payments do this themselves; this is for checking a
    /// reader and a card.
    pub async fn read_card(
        &self,
        amount_fen: i64,
        allowed: Vec<EntryMode>,
        timeout_secs: u8,
    ) -> Result<CardSummary, StarPosError> {
        let amount_fen =
            u64::try_from(amount_fen).ok().filter(|a| (1..=999_999_999_999).contains(a)).ok_or_else(|| {
                StarPosError::InvalidInput {
                    field: "amount_fen".into(),
                    reason: "from 1 to 999,999,999,999 fen".into(),
                }
            })?;
        let core = self.core.clone();
        let read = run(async move { core.read_card(amount_fen, modes(&allowed), false, timeout_secs).await }).await?;
        Ok(CardSummary {
            entry_mode: read.entry_mode.into(),
            amount_fen: read.amount_fen as i64,
            masked_pan: read.masked_pan,
            app_label: read.app_label,
            aid: read.aid,
            pin_required: read.pin_required,
            field55_len: read.field55.len() as u32,
        })
    }

    /// Cancels a card read or PIN entry waiting on the reader.
    pub async fn cancel(&self) -> Result<(), StarPosError> {
        let core = self.core.clone();
        run(async move { core.cancel().await }).await
    }

    pub async fn is_connected(&self) -> bool {
        let core = self.core.clone();
        run(async move { Ok::<_, starpos_core::Error>(core.is_connected().await) }).await.unwrap_or(false)
    }

    pub async fn device_info(&self) -> Result<ReaderInfo, StarPosError> {
        let core = self.core.clone();
        Ok(run(async move { core.device_info().await }).await?.into())
    }

    pub async fn beep(&self) -> Result<(), StarPosError> {
        let core = self.core.clone();
        run(async move { core.beep().await }).await
    }

    /// Updates the reader's firmware from a platform package, checked against the platform's
    /// firmware key. After a dropped link: connect again and call again; it resumes.
    pub async fn update_firmware(
        &self,
        package: Vec<u8>,
        firmware_key: Vec<u8>,
        listener: Arc<dyn FirmwareProgressListener>,
    ) -> Result<(), StarPosError> {
        let image = starpos_core::reader::firmware::FirmwareImage::from_package(&package)
            .ok_or(StarPosError::FirmwareUnsigned)?;
        let core = self.core.clone();
        run(async move {
            core.update_firmware(&image, &firmware_key, |p| listener.on_progress(p.sent, p.total, p.resumed_from))
                .await
                .map_err(starpos_core::Error::from)
        })
        .await
    }

    pub async fn disconnect(&self) {
        let core = self.core.clone();
        let _ = run(async move {
            core.disconnect().await;
            Ok::<_, starpos_core::Error>(())
        })
        .await;
    }
}

/// Runs reader work on the core's runtime (see starpos_core::runtime); reader failures become
/// the one public error there (`starpos_core::reader::failure`).
async fn run<T: Send + 'static, E: Into<starpos_core::Error> + Send + 'static>(
    work: impl std::future::Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, StarPosError> {
    Ok(starpos_core::runtime::run(async move { work.await.map_err(Into::into) }).await?)
}
