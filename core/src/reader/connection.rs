//! One connection to a reader: frames out through the shell's link, frames in from its events,
//! acknowledgements with retransmission, responses matched by sequence number, the secure
//! session, and prompt detection of a lost link (docs/reader-protocol.md, section 3).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::card::CardDataError;
use super::commands::{self, Prompt, Status};
use super::frame::{chunks, flags, Decoder, Frame};
use super::link::{BleLink, LinkError, LinkEvent, LinkEvents};
use super::secure::{self, PhoneCredential, PhoneHandshake, SecureError, Session};
use starpos_protocol::reader::secure::aad;

/// Retransmission timing.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long to wait for the reader's ACK before sending again.
    pub ack_timeout: Duration,
    /// Retransmissions after the first send; with no ACK after them the link is declared lost.
    pub retransmits: u32,
    /// Once acknowledged, the request is sent again this often until its response arrives: the
    /// reader answers a repeat from its cache (or acknowledges it while still working), so a
    /// response lost on the air is recovered without running the command twice.
    pub response_poll: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing { ack_timeout: Duration::from_millis(300), retransmits: 3, response_poll: Duration::from_millis(800) }
    }
}

impl Timing {
    /// The longest a silent link can go unnoticed while a request is outstanding.
    pub fn silent_link_detection(&self) -> Duration {
        self.ack_timeout * (self.retransmits + 1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReaderError {
    #[error("the Bluetooth link to the reader was lost")]
    LinkLost,
    #[error("the reader did not acknowledge; the link is considered lost")]
    NoAck,
    #[error("the reader did not answer in time")]
    Timeout,
    #[error("the reader refused: {0:?}")]
    Refused(Status),
    #[error("the reader sent something unreadable")]
    BadResponse,
    #[error("Bluetooth: {0}")]
    Link(LinkError),
    #[error("secure session: {0}")]
    Secure(SecureError),
    #[error("card data refused: {0}")]
    CardData(CardDataError),
    #[error("the reader answering is {found}, not {expected}")]
    WrongReader { expected: String, found: String },
}

/// Called with each signal, in the listener's task, before any later frame is handled: a prompt
/// the reader sent before a response reaches the app before that response does. Keep it quick.
pub type SignalSink = Arc<dyn Fn(Signal) + Send + Sync>;

/// Something the reader told the phone without being asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Prompt(Prompt),
    Battery { percent: u8, charging: bool },
}

#[derive(Default)]
struct Pending {
    ack: Option<oneshot::Sender<()>>,
    /// The response body, opened if it was sealed.
    response: Option<oneshot::Sender<Vec<u8>>>,
}

struct Shared {
    pending: Mutex<HashMap<u16, Pending>>,
    session: Mutex<Option<Session>>,
    connected: watch::Sender<bool>,
    signals: Option<SignalSink>,
    /// Frames that arrived intact (CRC) but did not open or came clear after the handshake:
    /// forged, altered or replayed on the air.
    rejected: AtomicU64,
}

impl Shared {
    /// Marks the link down; answers whether it was up until now.
    fn lose_link(&self) -> bool {
        let was_up = self.connected.send_replace(false);
        // Dropping the senders wakes every waiting request with an error.
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
        was_up
    }

    /// Opens a frame from the reader: sealed frames through the session (in arrival order,
    /// which is the order the reader sealed them); clear frames only before the handshake.
    fn open(&self, frame: &Frame) -> Option<Vec<u8>> {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let opened = match (frame.flags & flags::ENCRYPTED != 0, session.as_mut()) {
            (true, Some(s)) => s.open(&aad(frame.flags, frame.seq, frame.command), &frame.payload).ok(),
            (false, None) => Some(frame.payload.clone()),
            // Sealed before a session, or clear after one: could have been forged on the air.
            _ => None,
        };
        if opened.is_none() {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                seq = frame.seq,
                command = frame.command,
                "dropped a reader frame that did not authenticate"
            );
        }
        opened
    }
}

pub struct ReaderConnection {
    link: Arc<dyn BleLink>,
    shared: Arc<Shared>,
    seq: AtomicU16,
    mtu: usize,
    timing: Timing,
    task: tokio::task::JoinHandle<()>,
}

impl ReaderConnection {
    /// Connects to `device_id` and starts listening.
    pub async fn open(link: Arc<dyn BleLink>, device_id: &str, timing: Timing) -> Result<Self, ReaderError> {
        Self::open_with_signals(link, device_id, timing, None).await
    }

    /// Like [`open`](Self::open), passing the reader's prompts and battery reports to `signals`.
    pub async fn open_with_signals(
        link: Arc<dyn BleLink>,
        device_id: &str,
        timing: Timing,
        signals: Option<SignalSink>,
    ) -> Result<Self, ReaderError> {
        let (events, rx) = LinkEvents::channel();
        let mtu = link.connect(device_id, events).await.map_err(ReaderError::Link)? as usize;
        let (connected, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            session: Mutex::new(None),
            connected,
            signals,
            rejected: AtomicU64::new(0),
        });
        let task = tokio::spawn(listen(rx, shared.clone()));
        Ok(ReaderConnection { link, shared, seq: AtomicU16::new(1), mtu, timing, task })
    }

    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// Frames refused because they did not authenticate (see [`Shared::open`]).
    pub fn rejected_frames(&self) -> u64 {
        self.shared.rejected.load(Ordering::Relaxed)
    }

    pub fn is_connected(&self) -> bool {
        *self.shared.connected.borrow()
    }

    /// Resolves when the link is lost (at once if it already is).
    pub async fn lost(&self) {
        link_down(&mut self.shared.connected.subscribe()).await;
    }

    /// Runs the handshake: proves this phone with `credential` (the platform's certificate for
    /// it on this reader) and checks the reader's identity against `pinned_identity`; from then
    /// on every payload is sealed. Returns the reader's serial number.
    pub async fn secure(&self, pinned_identity: &[u8], credential: &PhoneCredential) -> Result<String, ReaderError> {
        let (handshake, hello) = PhoneHandshake::start(credential).map_err(ReaderError::Secure)?;
        let answer = self.request(commands::HANDSHAKE, &hello, Duration::from_secs(5)).await?;
        let (ephemeral_public, serial, signature) =
            commands::decode_handshake_answer(&answer).ok_or(ReaderError::BadResponse)?;
        let reader = secure::ReaderHello { ephemeral_public, serial: serial.clone(), signature };
        let session = handshake.finish(&reader, pinned_identity).map_err(ReaderError::Secure)?;
        *self.shared.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
        Ok(serial)
    }

    /// Sends a request and waits for its response body (status already checked).
    pub async fn request(&self, command: u16, payload: &[u8], timeout: Duration) -> Result<Vec<u8>, ReaderError> {
        if !self.is_connected() {
            return Err(ReaderError::LinkLost);
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let (ack_tx, mut ack_rx) = oneshot::channel();
        let (resp_tx, resp_rx) = oneshot::channel();
        let bytes = {
            let mut session = self.shared.session.lock().unwrap_or_else(|p| p.into_inner());
            let frame_flags = if session.is_some() { flags::ENCRYPTED } else { 0 };
            let body = match session.as_mut() {
                Some(s) => s.seal(&aad(frame_flags, seq, command), payload),
                None => payload.to_vec(),
            };
            Frame::new(frame_flags, seq, command, body).encode().map_err(|_| ReaderError::BadResponse)?
        };
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(seq, Pending { ack: Some(ack_tx), response: Some(resp_tx) });
        let mut lost = self.shared.connected.subscribe();

        let mut acked = false;
        for _ in 0..=self.timing.retransmits {
            self.send(&bytes).await?;
            tokio::select! {
                r = &mut ack_rx => {
                    if r.is_err() {
                        return Err(ReaderError::LinkLost);
                    }
                    acked = true;
                    break;
                }
                _ = tokio::time::sleep(self.timing.ack_timeout) => {}
                _ = link_down(&mut lost) => return Err(ReaderError::LinkLost),
            }
        }
        if !acked {
            tracing::warn!(command, "no acknowledgement from the reader; declaring the link lost");
            if self.shared.lose_link() {
                self.link.disconnect().await;
            }
            return Err(ReaderError::NoAck);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut resp_rx = resp_rx;
        let body = loop {
            tokio::select! {
                r = &mut resp_rx => match r {
                    Ok(body) => break body,
                    Err(_) => return Err(ReaderError::LinkLost),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    self.shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&seq);
                    return Err(ReaderError::Timeout);
                }
                _ = tokio::time::sleep(self.timing.response_poll) => self.send(&bytes).await?,
                _ = link_down(&mut lost) => return Err(ReaderError::LinkLost),
            }
        };
        let (&status, rest) = body.split_first().ok_or(ReaderError::BadResponse)?;
        match Status::from_byte(status) {
            Some(Status::Ok) => Ok(rest.to_vec()),
            Some(other) => Err(ReaderError::Refused(other)),
            None => Err(ReaderError::BadResponse),
        }
    }

    async fn send(&self, bytes: &[u8]) -> Result<(), ReaderError> {
        for chunk in chunks(bytes, self.mtu).map_err(|_| ReaderError::BadResponse)? {
            if let Err(e) = self.link.write(chunk.to_vec()).await {
                tracing::info!(error = %e, "write to the reader failed");
                self.shared.lose_link();
                return Err(ReaderError::LinkLost);
            }
        }
        Ok(())
    }

    /// A receiver that turns false when the link goes down.
    pub fn watch_link(&self) -> watch::Receiver<bool> {
        self.shared.connected.subscribe()
    }

    /// Ends the secure session on the reader, so it takes a new handshake at once (the link
    /// going down ends it too), and forgets it here. Quick and best-effort: a reader that does
    /// not answer soon is left to notice the disconnect.
    pub async fn close_session(&self) {
        if self.is_connected() && self.shared.session.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            let _ = tokio::time::timeout(
                self.timing.ack_timeout,
                self.request(commands::CLOSE_SESSION, &[], self.timing.ack_timeout),
            )
            .await;
        }
        self.shared.session.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    pub async fn close(&self) {
        // The shell's link is one radio connection, not ours alone: once this connection is
        // down, a newer one may be using it, so only a connection still up disconnects it.
        if self.shared.lose_link() {
            self.link.disconnect().await;
        }
        self.task.abort();
    }
}

/// Resolves when the link goes down. The guard `wait_for` returns is dropped here, inside, so
/// the futures that await this stay `Send`.
pub async fn link_down(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|up| !*up).await;
}

async fn listen(mut rx: mpsc::UnboundedReceiver<LinkEvent>, shared: Arc<Shared>) {
    let mut decoder = Decoder::new();
    while let Some(event) = rx.recv().await {
        match event {
            LinkEvent::Received(bytes) => {
                for frame in decoder.push(&bytes) {
                    dispatch(&shared, frame);
                }
            }
            LinkEvent::Disconnected(reason) => {
                tracing::info!(%reason, "reader link lost");
                break;
            }
        }
    }
    shared.lose_link();
}

fn dispatch(shared: &Shared, frame: Frame) {
    if frame.flags & flags::EVENT != 0 {
        if let Some(signal) = shared.open(&frame).as_deref().and_then(decode_signal) {
            if let Some(sink) = &shared.signals {
                sink(signal);
            }
        }
        return;
    }
    let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
    let Some(entry) = pending.get_mut(&frame.seq) else {
        // A duplicate or late frame for a request no longer waiting: nothing to do.
        return;
    };
    if let Some(ack) = entry.ack.take() {
        let _ = ack.send(());
    }
    if frame.flags & flags::RESPONSE != 0 && entry.response.is_some() {
        // A response that does not open is dropped; the request's polling fetches the genuine
        // one from the reader's cache.
        let Some(body) = shared.open(&frame) else { return };
        if let Some(response) = entry.response.take() {
            let _ = response.send(body);
        }
        pending.remove(&frame.seq);
    }
}

fn decode_signal(body: &[u8]) -> Option<Signal> {
    match body {
        [commands::event::PROMPT, p] => Prompt::from_byte(*p).map(Signal::Prompt),
        [commands::event::BATTERY, percent, charging] => {
            Some(Signal::Battery { percent: (*percent).min(100), charging: *charging != 0 })
        }
        _ => None,
    }
}
