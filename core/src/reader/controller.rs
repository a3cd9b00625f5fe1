//! [`CardReader`]: what the app holds to work with a reader: scan, connect securely to a known
//! reader, read cards, update firmware; with state, battery and prompts reported to a listener
//! and automatic reconnection after a lost link. State comes from the live connection, so what
//! the app is told is never stale.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{watch, Mutex};

use super::card::{self, CardRead, CompleteRequest, CompleteResult, EntryModes, PinResult, ReadCardRequest};
use super::commands::{self, DeviceInfo, Prompt};
use super::connection::{link_down, ReaderConnection, ReaderError, Signal, SignalSink, Timing};
use super::firmware::{self, FirmwareError, FirmwareImage, Progress};
use super::link::{BleDevice, BleLink};
use super::secure::PhoneCredential;

/// Where the reader stands, as the app shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderState {
    Disconnected,
    Connecting,
    /// Connected, secure, idle.
    Ready,
    /// Connected and running a command (card read, firmware update).
    Busy,
    /// The link was lost; trying again (attempt counts from 1).
    Reconnecting {
        attempt: u32,
    },
}

/// What the app's listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderEvent {
    State(ReaderState),
    Battery { percent: u8, charging: bool },
    Prompt(Prompt),
}

pub trait ReaderListener: Send + Sync {
    /// Called from a core thread; keep it quick.
    fn on_event(&self, event: ReaderEvent);
}

/// How hard to try after a lost link: delays double from `first_delay` up to `max_delay`.
#[derive(Debug, Clone, Copy)]
pub struct ReconnectPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Then the state becomes `Disconnected` and the app decides.
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy { first_delay: Duration::from_millis(250), max_delay: Duration::from_secs(8), max_attempts: 8 }
    }
}

impl ReconnectPolicy {
    pub fn delay(&self, attempt: u32) -> Duration {
        let doubled = self.first_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        doubled.min(self.max_delay)
    }
}

/// The reader to keep connected to.
#[derive(Clone)]
struct Target {
    device_id: String,
    identity: Vec<u8>,
    serial: Option<String>,
    /// What this phone proves itself with (the platform's certificate for it on this reader).
    credential: Arc<PhoneCredential>,
}

struct Inner {
    link: Arc<dyn BleLink>,
    conn: Mutex<Option<Arc<ReaderConnection>>>,
    listener: StdMutex<Option<Arc<dyn ReaderListener>>>,
    state: watch::Sender<ReaderState>,
    target: StdMutex<Option<Target>>,
    /// The serial the live connection's handshake proved (None when disconnected).
    serial: StdMutex<Option<String>>,
    /// Moves on with every connect and disconnect the app asks for, so an old supervisor
    /// knows it has been replaced.
    generation: AtomicU64,
    policy: ReconnectPolicy,
    timing: Timing,
}

#[derive(Clone)]
pub struct CardReader {
    inner: Arc<Inner>,
}

impl CardReader {
    pub fn new(link: Arc<dyn BleLink>) -> Self {
        Self::with_policy(link, ReconnectPolicy::default(), Timing::default())
    }

    pub fn with_policy(link: Arc<dyn BleLink>, policy: ReconnectPolicy, timing: Timing) -> Self {
        let (state, _) = watch::channel(ReaderState::Disconnected);
        CardReader {
            inner: Arc::new(Inner {
                link,
                conn: Mutex::new(None),
                listener: StdMutex::new(None),
                state,
                target: StdMutex::new(None),
                serial: StdMutex::new(None),
                generation: AtomicU64::new(0),
                policy,
                timing,
            }),
        }
    }

    /// Events from now on go to `listener` (replacing any earlier one); it hears the current
    /// state at once.
    pub fn set_listener(&self, listener: Arc<dyn ReaderListener>) {
        listener.on_event(ReaderEvent::State(self.state()));
        *self.inner.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    pub fn state(&self) -> ReaderState {
        *self.inner.state.borrow()
    }

    /// Waits until the state satisfies `f` (for tests and for apps that prefer awaiting).
    pub async fn wait_for_state(&self, f: impl Fn(&ReaderState) -> bool) -> ReaderState {
        let mut rx = self.inner.state.subscribe();
        let state = *rx.wait_for(|s| f(s)).await.expect("the sender lives in self");
        state
    }

    /// Readers nearby (names carry the serial number).
    pub async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleDevice>, ReaderError> {
        self.inner.link.scan(timeout_ms).await.map_err(ReaderError::Link)
    }

    /// Connects to `device_id`, runs the secure handshake (this phone proven by `credential`,
    /// the reader by the identity pinned at pairing), and answers the reader's info. The link
    /// is then kept up: if it drops, the core reconnects with back-off and reports each step.
    /// The app connects through `readers().connect`, which finds both keys itself.
    pub async fn connect(
        &self,
        device_id: &str,
        pinned_identity: &[u8],
        credential: Arc<PhoneCredential>,
    ) -> Result<DeviceInfo, ReaderError> {
        let target =
            Target { device_id: device_id.into(), identity: pinned_identity.to_vec(), serial: None, credential };
        self.connect_target(target).await
    }

    /// Finds the reader with serial number `serial` by scanning, connects to it and checks that
    /// the reader answering the handshake really is that serial.
    pub async fn connect_by_serial(
        &self,
        serial: &str,
        pinned_identity: &[u8],
        credential: Arc<PhoneCredential>,
        scan_ms: u32,
    ) -> Result<DeviceInfo, ReaderError> {
        let found = self.scan(scan_ms).await?;
        let device = found
            .into_iter()
            .filter(|d| d.name.ends_with(serial))
            .max_by_key(|d| d.rssi)
            .ok_or(ReaderError::Link(super::link::LinkError::NotFound))?;
        let target = Target {
            device_id: device.id,
            identity: pinned_identity.to_vec(),
            serial: Some(serial.into()),
            credential,
        };
        self.connect_target(target).await
    }

    async fn connect_target(&self, target: Target) -> Result<DeviceInfo, ReaderError> {
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *self.inner.target.lock().unwrap_or_else(|p| p.into_inner()) = Some(target.clone());
        self.inner.set_state(ReaderState::Connecting);
        match self.inner.establish(&target, generation).await {
            Ok((info, watch)) => {
                tokio::spawn(supervise(self.inner.clone(), generation, watch));
                Ok(info)
            }
            Err(e) => {
                self.inner.target.lock().unwrap_or_else(|p| p.into_inner()).take();
                self.inner.set_state(ReaderState::Disconnected);
                Err(e)
            }
        }
    }

    pub async fn is_connected(&self) -> bool {
        self.inner.conn.lock().await.as_ref().is_some_and(|c| c.is_connected())
    }

    /// The serial number the reader proved in the handshake of the live connection.
    pub async fn connected_serial(&self) -> Option<String> {
        let live = self.inner.conn.lock().await.as_ref().is_some_and(|c| c.is_connected());
        live.then(|| self.inner.serial.lock().unwrap_or_else(|p| p.into_inner()).clone()).flatten()
    }

    /// Shows one of the reader's templates on its screen (the reader shows no free text).
    pub async fn display(&self, display: commands::Display) -> Result<(), ReaderError> {
        let conn = self.inner.live().await?;
        conn.request(commands::DISPLAY, &display.encode(), Duration::from_secs(5)).await.map(|_| ())
    }

    pub async fn device_info(&self) -> Result<DeviceInfo, ReaderError> {
        let conn = self.inner.live().await?;
        let info = device_info(&conn).await?;
        self.inner.emit(ReaderEvent::Battery { percent: info.battery_percent, charging: info.charging });
        Ok(info)
    }

    pub async fn beep(&self) -> Result<(), ReaderError> {
        self.inner.live().await?.request(commands::BEEP, &[], Duration::from_secs(5)).await.map(|_| ())
    }

    /// Asks for a card for `amount_fen`, checks the result (bound to this request and amount,
    /// no clear card data, no swiped chip card unless `fallback`) and returns it with field 55
    /// cut to the allow-list. `fallback` asks for the swipe that may follow a chip the reader
    /// could not read ([`Status::ChipUnreadable`](card::Status)); the reader refuses it otherwise.
    pub async fn read_card(
        &self,
        amount_fen: u64,
        modes: EntryModes,
        fallback: bool,
        timeout_secs: u8,
    ) -> Result<CardRead, ReaderError> {
        let conn = self.inner.live().await?;
        let mut nonce = [0u8; 16];
        SystemRandom::new().fill(&mut nonce).map_err(|_| ReaderError::BadResponse)?;
        let request =
            ReadCardRequest { amount_fen, currency: card::CURRENCY_CNY, modes, timeout_secs, nonce, fallback };
        let _busy = self.inner.busy();
        let wait = Duration::from_secs(u64::from(timeout_secs) + 5);
        let body = conn.request(commands::READ_CARD, &request.encode(), wait).await?;
        let result = card::CardResult::decode(&body).ok_or(ReaderError::BadResponse)?;
        card::check_result(&request, result).map_err(ReaderError::CardData)
    }

    /// PIN entry on the reader for a card just read; the phone gets the enciphered block only.
    pub async fn enter_pin(&self, read: &CardRead, timeout_secs: u8) -> Result<PinResult, ReaderError> {
        let conn = self.inner.live().await?;
        let _busy = self.inner.busy();
        let mut payload = read.nonce.to_vec();
        payload.push(timeout_secs);
        let body =
            conn.request(commands::PIN_ENTRY, &payload, Duration::from_secs(u64::from(timeout_secs) + 5)).await?;
        let pin = PinResult::decode(&body).ok_or(ReaderError::BadResponse)?;
        if pin.nonce != read.nonce || pin.ksn != read.ksn {
            return Err(ReaderError::CardData(card::CardDataError::NotThisRequest));
        }
        Ok(pin)
    }

    /// Gives the card the platform's answer; a chip transaction ends here.
    pub async fn complete(
        &self,
        read: &CardRead,
        response_code: [u8; 2],
        issuer_data: Vec<u8>,
    ) -> Result<CompleteResult, ReaderError> {
        let conn = self.inner.live().await?;
        let _busy = self.inner.busy();
        let request = CompleteRequest { nonce: read.nonce, response_code, issuer_data };
        let body = conn.request(commands::COMPLETE, &request.encode(), Duration::from_secs(15)).await?;
        CompleteResult::decode(&body).ok_or(ReaderError::BadResponse)
    }

    /// Cancels what the reader is doing (a card read or PIN entry waiting for the customer).
    pub async fn cancel(&self) -> Result<(), ReaderError> {
        self.inner.live().await?.request(commands::CANCEL, &[], Duration::from_secs(5)).await.map(|_| ())
    }

    /// Updates the firmware; after a dropped link (reconnected automatically or by the app),
    /// call again to resume.
    pub async fn update_firmware(
        &self,
        image: &FirmwareImage,
        firmware_key: &[u8],
        progress: impl FnMut(Progress),
    ) -> Result<(), FirmwareError> {
        let conn = self.inner.live().await?;
        let _busy = self.inner.busy();
        firmware::update(&conn, image, firmware_key, progress).await
    }

    /// Disconnects and stops reconnecting.
    pub async fn disconnect(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.target.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(conn) = self.inner.conn.lock().await.take() {
            conn.close_session().await;
            conn.close().await;
        }
        self.inner.serial.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.inner.set_state(ReaderState::Disconnected);
    }
}

impl Inner {
    fn emit(&self, event: ReaderEvent) {
        let listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(listener) = listener {
            listener.on_event(event);
        }
    }

    fn set_state(&self, state: ReaderState) {
        if self.state.send_replace(state) != state {
            self.emit(ReaderEvent::State(state));
        }
    }

    async fn live(&self) -> Result<Arc<ReaderConnection>, ReaderError> {
        self.conn.lock().await.as_ref().filter(|c| c.is_connected()).cloned().ok_or(ReaderError::LinkLost)
    }

    /// Marks the reader busy until the guard drops; then ready again if the link survived.
    fn busy(self: &Arc<Self>) -> BusyGuard {
        self.set_state(ReaderState::Busy);
        BusyGuard(self.clone())
    }

    /// One connection attempt: link, handshake, info; on success the connection is installed
    /// and watched.
    async fn establish(
        self: &Arc<Self>,
        target: &Target,
        generation: u64,
    ) -> Result<(DeviceInfo, watch::Receiver<bool>), ReaderError> {
        let mut slot = self.conn.lock().await;
        if let Some(old) = slot.take() {
            old.close().await;
        }
        let weak = Arc::downgrade(self);
        let sink: SignalSink = Arc::new(move |signal| {
            if let Some(inner) = weak.upgrade() {
                inner.emit(match signal {
                    Signal::Prompt(p) => ReaderEvent::Prompt(p),
                    Signal::Battery { percent, charging } => ReaderEvent::Battery { percent, charging },
                });
            }
        });
        let conn =
            ReaderConnection::open_with_signals(self.link.clone(), &target.device_id, self.timing, Some(sink)).await?;
        let ready = async {
            let serial = conn.secure(&target.identity, &target.credential).await?;
            if let Some(expected) = target.serial.as_ref().filter(|s| **s != serial) {
                return Err(ReaderError::WrongReader { expected: expected.clone(), found: serial });
            }
            Ok((device_info(&conn).await?, serial))
        };
        match ready.await {
            Ok((info, serial)) => {
                if self.generation.load(Ordering::SeqCst) != generation {
                    // The app disconnected or connected elsewhere meanwhile.
                    conn.close().await;
                    return Err(ReaderError::LinkLost);
                }
                let conn = Arc::new(conn);
                let watch = conn.watch_link();
                *self.serial.lock().unwrap_or_else(|p| p.into_inner()) = Some(serial);
                *slot = Some(conn);
                drop(slot);
                self.set_state(ReaderState::Ready);
                self.emit(ReaderEvent::Battery { percent: info.battery_percent, charging: info.charging });
                Ok((info, watch))
            }
            Err(e) => {
                // Never leave a half-open link behind (an impostor, a broken handshake).
                conn.close().await;
                Err(e)
            }
        }
    }
}

struct BusyGuard(Arc<Inner>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if *self.0.state.borrow() == ReaderState::Busy {
            // try_lock: if someone holds the slot they are (re)connecting and will set the state.
            let connected = self.0.conn.try_lock().map(|c| c.as_ref().is_some_and(|c| c.is_connected()));
            if matches!(connected, Ok(true)) {
                self.0.set_state(ReaderState::Ready);
            }
        }
    }
}

/// Waits for the link to drop, then reconnects with back-off, for as long as the app has not
/// moved on (disconnected or connected elsewhere).
async fn supervise(inner: Arc<Inner>, generation: u64, mut watch: watch::Receiver<bool>) {
    let current = || inner.generation.load(Ordering::SeqCst) == generation;
    'link: loop {
        link_down(&mut watch).await;
        if !current() {
            return;
        }
        tracing::info!("reader link lost; reconnecting");
        for attempt in 1..=inner.policy.max_attempts {
            inner.set_state(ReaderState::Reconnecting { attempt });
            tokio::time::sleep(inner.policy.delay(attempt)).await;
            let Some(target) = inner.target.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return };
            if !current() {
                return;
            }
            match inner.establish(&target, generation).await {
                Ok((_, next)) => {
                    watch = next;
                    continue 'link;
                }
                Err(e) => tracing::info!(attempt, error = %e, "reconnect attempt failed"),
            }
        }
        if current() {
            inner.set_state(ReaderState::Disconnected);
        }
        return;
    }
}

async fn device_info(conn: &ReaderConnection) -> Result<DeviceInfo, ReaderError> {
    let body = conn.request(commands::DEVICE_INFO, &[], Duration::from_secs(5)).await?;
    DeviceInfo::decode(&body).ok_or(ReaderError::BadResponse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let p = ReconnectPolicy::default();
        let delays: Vec<u64> = (1..=7).map(|a| p.delay(a).as_millis() as u64).collect();
        assert_eq!(delays, vec![250, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(8));
    }
}
