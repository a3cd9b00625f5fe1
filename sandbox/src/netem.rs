//! A poor-network proxy for the sandbox: a TCP relay on loopback that delays, throttles and
//! "loses" what passes through it, like a 2G/3G link with a roaming SIM, and can cut the link
//! altogether. The phone's core talks to the proxy's URL instead of the sandbox's; the tests
//! and the data-budget measurement read the bytes that crossed it.
//!
//! Shaping works on chunks of at most one TCP segment (1,400 bytes), each direction on its
//! own: a chunk is delivered no earlier than one-way latency after it was read, and no earlier
//! than the previous chunk's delivery plus its transmission time at the link's rate. A "lost"
//! chunk is delivered late by a retransmission time-out instead (TCP hides loss as delay; the
//! application sees stalls, which is what matters to its time-outs). Offline: new connections
//! are closed at once and open ones are cut. Black hole: connections open but nothing gets
//! through until it ends, when what was held is delivered late (a request the phone gave up
//! on may still reach the platform: the payment rules must cope).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const SEGMENT: usize = 1_400;

/// How the link behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkProfile {
    /// One-way delay.
    pub latency: Duration,
    /// Bytes per second in each direction; 0 = unlimited.
    pub bytes_per_sec: u64,
    /// Share of segments lost (0.0 to 1.0), each costing a retransmission time-out.
    pub loss: f64,
    /// What a lost segment costs.
    pub retransmit_after: Duration,
}

impl LinkProfile {
    /// No shaping.
    pub const CLEAR: LinkProfile =
        LinkProfile { latency: Duration::ZERO, bytes_per_sec: 0, loss: 0.0, retransmit_after: Duration::ZERO };

    /// GPRS/EDGE-like: 300 ms one way (600 ms round trip), 40 kbit/s, 3 % loss, 1 s RTO.
    pub fn edge() -> LinkProfile {
        LinkProfile {
            latency: Duration::from_millis(300),
            bytes_per_sec: 5_000,
            loss: 0.03,
            retransmit_after: Duration::from_secs(1),
        }
    }

    /// 3G-like: 100 ms one way, 384 kbit/s, 1 % loss, 600 ms RTO.
    pub fn umts() -> LinkProfile {
        LinkProfile {
            latency: Duration::from_millis(100),
            bytes_per_sec: 48_000,
            loss: 0.01,
            retransmit_after: Duration::from_millis(600),
        }
    }
}

struct Shared {
    profile: Mutex<LinkProfile>,
    offline: AtomicBool,
    blackhole: AtomicBool,
    /// Bumped when the link is cut: relays of an older generation stop.
    generation: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    connections: AtomicU64,
    lost: AtomicU64,
}

/// A running proxy. Dropping it stops accepting (open relays end with their connections).
pub struct Netem {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Netem {
    /// Relays a free loopback port to `upstream`, shaped by `profile`.
    pub async fn start(upstream: SocketAddr, profile: LinkProfile) -> std::io::Result<Netem> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            profile: Mutex::new(profile),
            offline: AtomicBool::new(false),
            blackhole: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if s.offline.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                s.connections.fetch_add(1, Ordering::Relaxed);
                let s = s.clone();
                // Taken before connecting upstream, so a cut during the connect still applies.
                let generation = s.generation.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, s, generation).await;
                    }
                });
            }
        });
        Ok(Netem { addr, shared, task })
    }

    /// Base URL for the core's `platform_url`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn set_profile(&self, p: LinkProfile) {
        *self.shared.profile.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// Cuts the link (open connections drop, new ones are refused) or restores it.
    pub fn set_offline(&self, offline: bool) {
        self.shared.offline.store(offline, Ordering::SeqCst);
        if offline {
            self.shared.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Holds everything in both directions (connections stay open) until turned off.
    pub fn set_blackhole(&self, on: bool) {
        self.shared.blackhole.store(on, Ordering::SeqCst);
    }

    /// Bytes that crossed the proxy (client to server, server to client) since the start.
    pub fn bytes(&self) -> (u64, u64) {
        (self.shared.bytes_up.load(Ordering::Relaxed), self.shared.bytes_down.load(Ordering::Relaxed))
    }

    /// TCP connections relayed so far (each costs a handshake on a real link).
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Segments delivered late as "lost".
    pub fn lost_segments(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }
}

impl Drop for Netem {
    fn drop(&mut self) {
        self.task.abort();
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }
}

async fn relay(client: TcpStream, server: TcpStream, s: Arc<Shared>, generation: u64) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, s.clone(), generation, true);
    let down = pump(sr, cw, s.clone(), generation, false);
    // Either side closing (or the link being cut) ends both directions.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Moves bytes one way, shaped: a reader queues chunks with their delivery times, a writer
/// sleeps until each is due.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    s: Arc<Shared>,
    generation: u64,
    upstream: bool,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let shaper = s.clone();
    let reader = async move {
        let mut buf = vec![0u8; SEGMENT];
        let mut line_free = Instant::now();
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let p = *shaper.profile.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let send_time = if p.bytes_per_sec == 0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(n as f64 / p.bytes_per_sec as f64)
            };
            line_free = line_free.max(now) + send_time;
            let mut due = line_free + p.latency;
            if p.loss > 0.0 && chance() < p.loss {
                shaper.lost.fetch_add(1, Ordering::Relaxed);
                due += p.retransmit_after;
            }
            if tx.send((due, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    let counter = if upstream { &s.bytes_up } else { &s.bytes_down };
    let writer = async {
        let mut last_due = Instant::now();
        while let Some((due, chunk)) = rx.recv().await {
            // In order: a late (lost) chunk holds back the ones behind it, as TCP does.
            last_due = last_due.max(due);
            tokio::time::sleep_until(last_due).await;
            while s.blackhole.load(Ordering::SeqCst) && s.generation.load(Ordering::SeqCst) == generation {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if s.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            // Counted before the write: the far end may act on the bytes (and a test read the
            // counter) before `write_all` returns here.
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    let cut = async {
        while s.generation.load(Ordering::SeqCst) == generation {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        _ = async { tokio::join!(reader, writer) } => {}
        _ = cut => {}
    }
}

/// A uniform number in [0, 1).
fn chance() -> f64 {
    let mut b = [0u8; 8];
    starpos_protocol::util::fill_random(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}
