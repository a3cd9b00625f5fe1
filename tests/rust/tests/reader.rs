//! The core's reader connection against the simulated reader, over the in-process link with
//! injected faults: small and large MTUs, the secure session and a pinned identity, corrupted
//! and duplicated chunks, a dropped link and a silent one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use starpos_core::reader::commands::{self, DeviceInfo};
use starpos_core::reader::connection::{ReaderConnection, ReaderError, Timing};
use starpos_core::reader::link::BleLink;
use starpos_core::reader::secure::SecureError;
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_kit::phone_credential;

const SERIAL: &str = "SP100-000123";
const LONG: Duration = Duration::from_secs(5);

fn reader(faults: Faults) -> (SimLink, Vec<u8>) {
    let sim = SimReader::new(SERIAL);
    let identity = sim.identity_public();
    (SimLink::new(sim, faults), identity)
}

async fn connect(link: &SimLink, identity: &[u8]) -> ReaderConnection {
    connect_with(link, identity, Timing::default()).await
}

async fn connect_with(link: &SimLink, identity: &[u8], timing: Timing) -> ReaderConnection {
    let conn = ReaderConnection::open(Arc::new(link.clone()), SERIAL, timing).await.unwrap();
    assert_eq!(conn.secure(identity, &phone_credential(SERIAL, 1)).await.unwrap(), SERIAL);
    conn
}

#[tokio::test]
async fn secure_conversation_at_the_smallest_and_a_large_mtu() {
    for mtu in [23u16, 185, 517] {
        let (link, identity) = reader(Faults { mtu, ..Faults::default() });
        assert_eq!(link.scan(1000).await.unwrap()[0].id, SERIAL);
        let conn = connect(&link, &identity).await;
        assert_eq!(conn.mtu(), mtu as usize);
        let info = DeviceInfo::decode(&conn.request(commands::DEVICE_INFO, &[], LONG).await.unwrap()).unwrap();
        assert_eq!(info.serial, SERIAL);
        assert_eq!(info.battery_percent, 80);
        let amount = commands::Display::Amount { fen: 12_345 };
        conn.request(commands::DISPLAY, &amount.encode(), LONG).await.unwrap();
        assert_eq!(link.with_reader(|r| r.display.clone()), vec!["消费金额", "¥123.45"]);
    }
}

#[tokio::test]
async fn an_impostor_reader_is_refused() {
    let (link, _) = reader(Faults::default());
    let someone_else = SimReader::new("SP100-999999").identity_public();
    let conn = ReaderConnection::open(Arc::new(link), SERIAL, Timing::default()).await.unwrap();
    assert_eq!(
        conn.secure(&someone_else, &phone_credential(SERIAL, 1)).await,
        Err(ReaderError::Secure(SecureError::IdentityMismatch))
    );
}

#[tokio::test]
async fn commands_before_the_handshake_are_refused_by_the_reader() {
    let (link, _) = reader(Faults::default());
    let conn = ReaderConnection::open(Arc::new(link), SERIAL, Timing::default()).await.unwrap();
    assert_eq!(conn.request(commands::HELLO, &[], LONG).await.unwrap(), vec![commands::PROTOCOL_VERSION]);
    assert_eq!(conn.request(commands::BEEP, &[], LONG).await, Err(ReaderError::Refused(commands::Status::NotSecure)));
}

#[tokio::test]
async fn corrupted_and_duplicated_chunks_cost_retransmissions_not_double_execution() {
    let (link, identity) = reader(Faults { mtu: 23, ..Faults::default() });
    // Quick timers keep the test short; the logic is the same as with the defaults.
    let fast =
        Timing { ack_timeout: Duration::from_millis(50), retransmits: 5, response_poll: Duration::from_millis(60) };
    let conn = connect_with(&link, &identity, fast).await;
    link.set_faults(Faults { mtu: 23, corrupt_every: Some(4), duplicate: true, ..Faults::default() });
    for _ in 0..10 {
        conn.request(commands::BEEP, &[], LONG).await.unwrap();
    }
    assert_eq!(link.with_reader(|r| r.beeps), 10, "each beep executed exactly once");
}

#[tokio::test]
async fn a_dropped_link_is_reported_at_once() {
    let (link, identity) = reader(Faults::default());
    let conn = connect(&link, &identity).await;
    link.set_faults(Faults { drop_after_writes: Some(0), ..Faults::default() });
    let started = Instant::now();
    assert_eq!(conn.request(commands::DEVICE_INFO, &[], LONG).await, Err(ReaderError::LinkLost));
    assert!(started.elapsed() < Duration::from_millis(100), "took {:?}", started.elapsed());
    assert!(!conn.is_connected(), "the state is not left stale");
    tokio::time::timeout(Duration::from_millis(100), conn.lost()).await.expect("lost() resolves");

    // Reconnecting gives a fresh, working session.
    link.set_faults(Faults::default());
    let again = connect(&link, &identity).await;
    again.request(commands::BEEP, &[], LONG).await.unwrap();
}

#[tokio::test]
async fn a_silent_link_is_declared_lost_within_the_stated_time() {
    let (link, identity) = reader(Faults::default());
    let conn = connect(&link, &identity).await;
    link.set_faults(Faults { silent_after_writes: Some(0), ..Faults::default() });
    let timing = Timing::default();
    let started = Instant::now();
    assert_eq!(conn.request(commands::DEVICE_INFO, &[], LONG).await, Err(ReaderError::NoAck));
    let took = started.elapsed();
    assert!(
        took >= timing.silent_link_detection() && took < timing.silent_link_detection() + Duration::from_millis(300),
        "took {took:?}"
    );
    assert!(!conn.is_connected());
}

// ---- firmware update ----

use starpos_core::reader::firmware::{self, FirmwareError, FirmwareImage, Progress};

fn firmware_key() -> ring::signature::Ed25519KeyPair {
    use ring::rand::SystemRandom;
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
}

#[tokio::test]
async fn a_firmware_update_survives_a_dropped_link_by_resuming() {
    use ring::signature::KeyPair;
    let platform = firmware_key();
    let public = platform.public_key().as_ref().to_vec();
    let sim = SimReader::with_firmware_key(SERIAL, public.clone());
    let identity = sim.identity_public();
    let link = SimLink::new(sim, Faults::default());
    let image = FirmwareImage::sign("2.0.0", (0..100_000u32).map(|i| (i * 7) as u8).collect(), &platform);

    // An unsigned (tampered) image never leaves the phone.
    let conn = connect(&link, &identity).await;
    let mut forged = image.clone();
    forged.bytes[5] ^= 1;
    assert_eq!(firmware::update(&conn, &forged, &public, |_| {}).await, Err(FirmwareError::Unsigned));

    // The link drops part-way through.
    link.set_faults(Faults { drop_after_writes: Some(120), ..Faults::default() });
    let mut seen = Vec::new();
    let first = firmware::update(&conn, &image, &public, |p| seen.push(p)).await;
    assert!(matches!(first, Err(FirmwareError::Reader(ReaderError::LinkLost))), "{first:?}");
    let kept = link.with_reader(|r| r.firmware_received());
    assert!(kept > 0 && kept < image.bytes.len(), "the reader kept {kept} bytes");

    // Reconnect and call again: it resumes from what the reader kept, not from zero.
    link.set_faults(Faults::default());
    let conn = connect(&link, &identity).await;
    let mut progress: Vec<Progress> = Vec::new();
    firmware::update(&conn, &image, &public, |p| progress.push(p)).await.unwrap();
    assert_eq!(progress[0].resumed_from, kept as u64);
    assert_eq!(progress.last().unwrap().sent, image.bytes.len() as u64);
    assert!(progress.windows(2).all(|w| w[0].sent < w[1].sent), "progress only grows");
    assert_eq!(link.with_reader(|r| r.info.firmware.clone()), "2.0.0");
}

#[tokio::test]
async fn a_low_battery_refuses_the_update_unless_charging() {
    use ring::signature::KeyPair;
    let platform = firmware_key();
    let public = platform.public_key().as_ref().to_vec();
    let mut sim = SimReader::with_firmware_key(SERIAL, public.clone());
    sim.info.battery_percent = 12;
    let identity = sim.identity_public();
    let link = SimLink::new(sim, Faults::default());
    let conn = connect(&link, &identity).await;
    let image = FirmwareImage::sign("2.0.1", vec![1; 5000], &platform);
    assert_eq!(firmware::update(&conn, &image, &public, |_| {}).await, Err(FirmwareError::BatteryLow { percent: 12 }));
}
