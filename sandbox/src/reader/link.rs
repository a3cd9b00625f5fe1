//! An in-process Bluetooth link to a [`SimReader`], with fault knobs.

use std::sync::{Arc, Mutex};

use starpos_core::reader::link::{BleDevice, BleLink, LinkError, LinkEvents};
use starpos_protocol::reader::frame::{chunks, flags, Decoder, Frame, ATT_OVERHEAD};

use super::SimReader;

/// Faults to inject. Counts are of chunks crossing the link, both directions together.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The MTU the link negotiates (23 is Bluetooth's minimum); 0 means 185.
    pub mtu: u16,
    /// After this many phone writes the link drops (the OS reports it).
    pub drop_after_writes: Option<usize>,
    /// After this many phone writes the reader goes silent without the OS noticing.
    pub silent_after_writes: Option<usize>,
    /// Flip a byte in every n-th chunk.
    pub corrupt_every: Option<usize>,
    /// Deliver every reader chunk twice.
    pub duplicate: bool,
    /// Hold each phone write this long before the reader sees it (a slow radio).
    pub delay_ms: u64,
    /// Pace phone writes to this many bytes per second on the air (ATT overhead included);
    /// 0 means as fast as the process goes. For transfer benchmarks at a set link rate.
    pub link_rate_bytes_per_sec: u32,
    /// Refuse this many connection attempts (reader out of range, switched off).
    pub refuse_connects: usize,
    /// An attacker on the air answers the next sealed response with the previous one, re-framed
    /// for the new sequence number (valid CRC, stale sealed payload).
    pub replay_previous_response: bool,
}

struct State {
    reader: SimReader,
    decoder: Decoder,
    events: Option<Arc<LinkEvents>>,
    writes: usize,
    chunks: usize,
    up: bool,
    /// When the paced radio is free again.
    air_free_at: Option<tokio::time::Instant>,
    /// The last sealed response sent, for the replay fault.
    last_sealed_response: Option<Frame>,
}

/// The phone's view of the simulated reader; clone it to share the reader between links.
#[derive(Clone)]
pub struct SimLink {
    state: Arc<Mutex<State>>,
    faults: Arc<Mutex<Faults>>,
}

impl SimLink {
    pub fn new(reader: SimReader, faults: Faults) -> SimLink {
        let state = State {
            reader,
            decoder: Decoder::new(),
            events: None,
            writes: 0,
            chunks: 0,
            up: false,
            air_free_at: None,
            last_sealed_response: None,
        };
        SimLink { state: Arc::new(Mutex::new(state)), faults: Arc::new(Mutex::new(faults)) }
    }

    /// Changes the faults for what follows.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// Looks at the reader (counters, display).
    pub fn with_reader<T>(&self, f: impl FnOnce(&SimReader) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(|p| p.into_inner()).reader)
    }

    /// Changes the reader (present a card, set its faults, drain its battery).
    pub fn with_reader_mut<T>(&self, f: impl FnOnce(&mut SimReader) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()).reader)
    }

    /// The radio link drops now; the OS tells the phone.
    pub fn drop_link(&self, reason: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.up = false;
        if let Some(events) = state.events.take() {
            events.disconnected(reason.into());
        }
    }

    fn mtu(&self) -> usize {
        match self.faults.lock().unwrap_or_else(|p| p.into_inner()).mtu {
            0 => 185,
            m => m as usize,
        }
    }
}

impl SimLink {
    /// With the replay fault set, swaps a sealed response for the previous one re-framed
    /// (once); otherwise remembers it.
    fn maybe_replay(&self, state: &mut State, encoded: Vec<u8>) -> Vec<u8> {
        let mut decoder = Decoder::new();
        let Some(frame) = decoder.push(&encoded).pop() else { return encoded };
        if frame.flags & flags::RESPONSE == 0 || frame.flags & flags::ENCRYPTED == 0 {
            return encoded;
        }
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        let previous = state.last_sealed_response.replace(frame.clone());
        match previous {
            Some(old) if faults.replay_previous_response => {
                faults.replay_previous_response = false;
                Frame::new(old.flags, frame.seq, frame.command, old.payload).encode().unwrap_or(encoded)
            }
            _ => encoded,
        }
    }
}

fn corrupt_if_due(state: &mut State, faults: &Faults, chunk: &mut [u8]) {
    state.chunks += 1;
    if let Some(n) = faults.corrupt_every {
        if n > 0 && state.chunks.is_multiple_of(n) && !chunk.is_empty() {
            let at = state.chunks % chunk.len();
            chunk[at] ^= 0x5A;
        }
    }
}

#[async_trait::async_trait]
impl BleLink for SimLink {
    async fn scan(&self, _timeout_ms: u32) -> Result<Vec<BleDevice>, LinkError> {
        let serial = self.with_reader(|r| r.info.serial.clone());
        Ok(vec![BleDevice { id: serial.clone(), name: format!("StarPOS-{serial}"), rssi: -52 }])
    }

    async fn connect(&self, device_id: &str, events: Arc<LinkEvents>) -> Result<u16, LinkError> {
        {
            let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            if faults.refuse_connects > 0 {
                faults.refuse_connects -= 1;
                return Err(LinkError::NotFound);
            }
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.reader.info.serial != device_id {
            return Err(LinkError::NotFound);
        }
        // A reader holds one Bluetooth connection and does not advertise while it has one: a
        // second phone (a clone of this link) finds nothing until the first lets go.
        if state.up {
            return Err(LinkError::NotFound);
        }
        state.reader.reconnected();
        state.decoder = Decoder::new();
        state.events = Some(events);
        state.writes = 0;
        state.up = true;
        drop(state);
        Ok(self.mtu() as u16)
    }

    async fn write(&self, bytes: Vec<u8>) -> Result<(), LinkError> {
        let faults = self.faults.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if faults.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(faults.delay_ms)).await;
        }
        if faults.link_rate_bytes_per_sec > 0 {
            let on_air = (bytes.len() + ATT_OVERHEAD) as f64 / f64::from(faults.link_rate_bytes_per_sec);
            let free_at = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                // Continue the schedule rather than restart it from "now": timers wake up to a
                // millisecond late, and restarting would add that to every write. Only a link
                // idle for a while starts afresh.
                let now = tokio::time::Instant::now();
                let start = match state.air_free_at {
                    Some(t) if now <= t + std::time::Duration::from_millis(5) => t,
                    _ => now,
                };
                let done = start + std::time::Duration::from_secs_f64(on_air);
                state.air_free_at = Some(done);
                done
            };
            tokio::time::sleep_until(free_at).await;
        }
        let mtu = self.mtu();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.up {
            return Err(LinkError::Disconnected);
        }
        if bytes.len() + 3 > mtu {
            return Err(LinkError::Other(format!("write of {} bytes exceeds MTU {mtu}", bytes.len())));
        }
        state.writes += 1;
        if faults.drop_after_writes.is_some_and(|n| state.writes > n) {
            state.up = false;
            if let Some(events) = state.events.take() {
                events.disconnected("simulated link drop".into());
            }
            return Err(LinkError::Disconnected);
        }
        if faults.silent_after_writes.is_some_and(|n| state.writes > n) {
            return Ok(()); // swallowed: the radio is gone but nobody says so
        }
        let mut bytes = bytes;
        corrupt_if_due(&mut state, &faults, &mut bytes);
        let frames = state.decoder.push(&bytes);
        let mut out = Vec::new();
        for frame in frames {
            out.extend(state.reader.handle(frame));
        }
        let Some(events) = state.events.clone() else { return Ok(()) };
        let out: Vec<Vec<u8>> = out.into_iter().map(|encoded| self.maybe_replay(&mut state, encoded)).collect();
        for encoded in out {
            let pieces: Vec<Vec<u8>> = match chunks(&encoded, mtu) {
                Ok(it) => it.map(<[u8]>::to_vec).collect(),
                Err(_) => continue,
            };
            for mut piece in pieces {
                corrupt_if_due(&mut state, &faults, &mut piece);
                if faults.duplicate {
                    events.received(piece.clone());
                }
                events.received(piece);
            }
        }
        Ok(())
    }

    async fn disconnect(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.up = false;
        state.events = None;
    }
}
