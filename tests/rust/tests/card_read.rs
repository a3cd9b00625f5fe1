//! Card reading through `CardReader` against the simulated reader: every entry mode, DUKPT
//! blobs the sandbox platform decrypts back to the test card, field 55 cut to the allow-list,
//! refusal of clear card data, a changed amount and a replayed result, prompts and battery
//! events, and automatic reconnection with back-off after a lost link.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use starpos_core::reader::card::{self, CardDataError, EntryMode, EntryModes, ReadCardRequest};
use starpos_core::reader::commands::{self, Prompt};
use starpos_core::reader::connection::{ReaderConnection, ReaderError, Timing};
use starpos_core::reader::controller::{CardReader, ReaderEvent, ReaderListener, ReaderState, ReconnectPolicy};
use starpos_core::reader::link::LinkError;
use starpos_core::reader::tlv;
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_cards::{decrypt_card, test_card, Chip, TEST_CARDS};
use starpos_sandbox::test_kit::phone_credential;

const SERIAL: &str = "SP100-000123";

#[derive(Default)]
struct Recorder(Mutex<Vec<ReaderEvent>>);

impl ReaderListener for Recorder {
    fn on_event(&self, event: ReaderEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn take(&self) -> Vec<ReaderEvent> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn fast_policy() -> ReconnectPolicy {
    ReconnectPolicy { first_delay: Duration::from_millis(20), max_delay: Duration::from_millis(80), max_attempts: 4 }
}

async fn connected(faults: Faults) -> (SimLink, CardReader, Arc<Recorder>, Vec<u8>) {
    let sim = SimReader::new(SERIAL);
    let identity = sim.identity_public();
    let link = SimLink::new(sim, faults);
    let reader = CardReader::with_policy(Arc::new(link.clone()), fast_policy(), Timing::default());
    let events = Arc::new(Recorder::default());
    reader.set_listener(events.clone());
    reader.connect_by_serial(SERIAL, &identity, phone_credential(SERIAL, 1), 500).await.unwrap();
    (link, reader, events, identity)
}

fn prompts(events: &[ReaderEvent]) -> Vec<Prompt> {
    events.iter().filter_map(|e| if let ReaderEvent::Prompt(p) = e { Some(*p) } else { None }).collect()
}

#[tokio::test]
async fn every_test_card_reads_and_only_the_platform_can_open_it() {
    let (link, reader, events, _) = connected(Faults { mtu: 23, ..Faults::default() }).await;
    for card in TEST_CARDS {
        link.with_reader_mut(|r| r.present(card));
        events.take();
        // Chip first, as a sale reads: a swiped chip card is asked for its chip, a chip that
        // cannot be read for a fallback swipe.
        let read = match reader.read_card(12_345, EntryModes::ALL, false, 30).await {
            Ok(read) => read,
            Err(ReaderError::CardData(CardDataError::ChipCardSwiped)) => {
                assert_eq!((card.mode, card.chip), (EntryMode::Swipe, Chip::Works), "{}", card.name);
                let read = reader.read_card(12_345, EntryModes::CHIP, false, 30).await.unwrap();
                assert_eq!(read.entry_mode, EntryMode::Insert, "{}: asked for the chip", card.name);
                read
            }
            Err(ReaderError::Refused(commands::Status::ChipUnreadable)) => {
                assert_eq!(card.chip, Chip::Broken, "{}", card.name);
                let read = reader.read_card(12_345, EntryModes::SWIPE, true, 30).await.unwrap();
                assert!(read.fallback && read.entry_mode == EntryMode::Swipe, "{}", card.name);
                read
            }
            Err(e) => panic!("{}: {e:?}", card.name),
        };
        let mode = read.entry_mode;
        assert_eq!(read.fallback, card.chip == Chip::Broken, "{}", card.name);
        if card.chip != Chip::Broken && !(card.mode == EntryMode::Swipe && card.chip == Chip::Works) {
            assert_eq!(mode, card.mode, "{}", card.name);
        }
        assert_eq!(read.amount_fen, 12_345);
        assert_eq!(&read.masked_pan[..6], &card.pan[..6]);
        assert_eq!(&read.masked_pan[read.masked_pan.len() - 4..], &card.pan[card.pan.len() - 4..]);
        assert!(read.masked_pan.contains("*****"));
        let pin = if read.pin_required { Some(reader.enter_pin(&read, 30).await.unwrap()) } else { None };
        assert_eq!(read.pin_required, mode != EntryMode::Tap, "{}: no PIN only for a small tap", card.name);

        // Nothing the phone holds shows the card number.
        let held = format!("{read:?} {pin:?}");
        assert!(!held.contains(&card.pan[6..card.pan.len() - 4]), "{}: {held}", card.name);
        let mut blobs = read.encrypted_track2.clone();
        blobs.extend(&read.field55);
        assert!(!blobs.windows(8).any(|w| card.pan.as_bytes().windows(8).any(|p| p == w)));

        // The platform, holding the BDK, gets the card back.
        let opened = decrypt_card(&read.ksn, &read.encrypted_track2, pin.as_ref().map(|p| &p.pin_block)).unwrap();
        assert_eq!(opened.pan, card.pan);
        assert_eq!(opened.expiry, card.expiry);
        assert_eq!(opened.pin.as_ref().map(|p| p.as_str()), pin.as_ref().map(|_| card.typed_pin));

        if mode == EntryMode::Swipe {
            assert!(read.field55.is_empty());
        } else {
            let objects = tlv::decode_nested(&read.field55).unwrap();
            assert!(objects.iter().all(|o| tlv::FIELD55_ALLOW.contains(&o.tag)), "{}", card.name);
            assert_eq!(objects.len(), 20, "every allow-listed tag the reader sent is kept");
            assert_eq!(read.aid, "A000000333010101");
        }
        let seen = prompts(&events.take());
        assert_eq!(&seen[..2], &[Prompt::PresentCard, Prompt::ReadingCard], "{}", card.name);
        if read.pin_required {
            assert_eq!(seen.last(), Some(&Prompt::EnterPin), "{}", card.name);
        }
    }
    // KSNs move on with every read: one DUKPT key per transaction.
    let counters = link.with_reader(|r| r.cards.reads);
    // (The swiped chip card was read twice: its swipe, refused by the phone, and its chip.)
    assert_eq!(counters as usize, TEST_CARDS.len() + 1);
}

#[tokio::test]
async fn a_large_contactless_amount_asks_for_the_pin() {
    let (link, reader, _, _) = connected(Faults::default()).await;
    link.with_reader_mut(|r| r.present(test_card("tap-approve").unwrap()));
    assert!(!reader.read_card(100_000, EntryModes::ALL, false, 30).await.unwrap().pin_required);
    assert!(reader.read_card(100_001, EntryModes::ALL, false, 30).await.unwrap().pin_required);
}

#[tokio::test]
async fn completion_carries_the_chips_final_word() {
    let (link, reader, events, _) = connected(Faults::default()).await;
    let read = reader.read_card(5_000, EntryModes::ALL, false, 30).await.unwrap();
    let done = reader.complete(&read, *b"00", vec![0x91, 0x02, 0x12, 0x34]).await.unwrap();
    assert!(done.approved);
    assert!(prompts(&events.take()).ends_with(&[Prompt::Processing, Prompt::RemoveCard]));

    link.with_reader_mut(|r| r.present(test_card("chip-decline-after-approval").unwrap()));
    let read = reader.read_card(5_000, EntryModes::ALL, false, 30).await.unwrap();
    let done = reader.complete(&read, *b"00", Vec::new()).await.unwrap();
    assert!(!done.approved, "the chip refuses after the host approved");
    let tags = tlv::decode_nested(&done.icc_data).unwrap();
    assert_eq!(tlv::find_value(&tags, tlv::Tag::known(0x9F27)), Some(&[0x00][..]), "an AAC");

    let read = reader.read_card(5_000, EntryModes::ALL, false, 30).await.unwrap();
    assert!(!reader.complete(&read, *b"51", Vec::new()).await.unwrap().approved);
}

#[tokio::test]
async fn a_reader_that_leaks_clear_card_data_is_refused() {
    let (link, reader, _, _) = connected(Faults::default()).await;
    link.with_reader_mut(|r| r.cards.faults.leak_clear_pan = true);
    assert_eq!(
        reader.read_card(100, EntryModes::ALL, false, 30).await,
        Err(ReaderError::CardData(CardDataError::ClearCardData { tag: "5A".into() }))
    );
}

#[tokio::test]
async fn a_changed_amount_is_refused() {
    let (link, reader, _, _) = connected(Faults::default()).await;
    link.with_reader_mut(|r| r.cards.faults.report_amount = Some(1));
    assert_eq!(
        reader.read_card(880_000, EntryModes::ALL, false, 30).await,
        Err(ReaderError::CardData(CardDataError::AmountMismatch { requested: 880_000, card: 1 }))
    );
}

#[tokio::test]
async fn an_entry_mode_not_allowed_and_no_card_are_typed() {
    let (link, reader, _, _) = connected(Faults::default()).await;
    let tap_only = EntryModes(EntryMode::Tap as u8);
    assert_eq!(
        reader.read_card(100, tap_only, false, 30).await,
        Err(ReaderError::Refused(commands::Status::CardUnreadable))
    );
    link.with_reader_mut(|r| r.cards.faults.no_card = true);
    assert_eq!(
        reader.read_card(100, EntryModes::ALL, false, 30).await,
        Err(ReaderError::Refused(commands::Status::NoCard))
    );
    assert_eq!(reader.state(), ReaderState::Ready, "a failed read leaves the reader ready, not busy");
}

#[tokio::test]
async fn a_result_replayed_on_the_air_is_refused_and_the_genuine_one_recovered() {
    let sim = SimReader::new(SERIAL);
    let identity = sim.identity_public();
    let link = SimLink::new(sim, Faults::default());
    let conn = ReaderConnection::open(Arc::new(link.clone()), SERIAL, Timing::default()).await.unwrap();
    conn.secure(&identity, &phone_credential(SERIAL, 1)).await.unwrap();
    let request = |amount, nonce| ReadCardRequest {
        amount_fen: amount,
        currency: card::CURRENCY_CNY,
        modes: EntryModes::ALL,
        timeout_secs: 30,
        nonce: [nonce; 16],
        fallback: false,
    };
    let first = request(100, 1);
    let body = conn.request(commands::READ_CARD, &first.encode(), Duration::from_secs(5)).await.unwrap();
    card::check_result(&first, card::CardResult::decode(&body).unwrap()).unwrap();

    link.set_faults(Faults { replay_previous_response: true, ..Faults::default() });
    let second = request(99_900, 2);
    let body = conn.request(commands::READ_CARD, &second.encode(), Duration::from_secs(5)).await.unwrap();
    let read = card::check_result(&second, card::CardResult::decode(&body).unwrap()).unwrap();
    assert_eq!(read.amount_fen, 99_900);
    assert_eq!(conn.rejected_frames(), 1, "the replayed result did not open");
}

#[tokio::test]
async fn a_lost_link_is_reconnected_with_back_off_and_reported() {
    let (link, reader, events, _) = connected(Faults::default()).await;
    let first = events.take();
    assert_eq!(first[0], ReaderEvent::State(ReaderState::Disconnected));
    assert!(first.contains(&ReaderEvent::State(ReaderState::Ready)));
    assert!(first.contains(&ReaderEvent::Battery { percent: 80, charging: false }));

    link.set_faults(Faults { refuse_connects: 2, ..Faults::default() });
    let started = Instant::now();
    link.drop_link("walked out of range");
    reader.wait_for_state(|s| matches!(s, ReaderState::Reconnecting { .. })).await;
    reader.wait_for_state(|s| *s == ReaderState::Ready).await;
    let took = started.elapsed();
    let states: Vec<ReaderState> =
        events.take().into_iter().filter_map(|e| if let ReaderEvent::State(s) = e { Some(s) } else { None }).collect();
    assert_eq!(
        states,
        vec![
            ReaderState::Reconnecting { attempt: 1 },
            ReaderState::Reconnecting { attempt: 2 },
            ReaderState::Reconnecting { attempt: 3 },
            ReaderState::Ready
        ]
    );
    // 20 + 40 + 80 ms of back-off, then the handshake.
    assert!(took >= Duration::from_millis(140) && took < Duration::from_secs(2), "took {took:?}");
    assert!(reader.is_connected().await);
    reader.read_card(100, EntryModes::ALL, false, 30).await.unwrap();
}

#[tokio::test]
async fn reconnection_gives_up_after_the_policy_and_says_so() {
    let (link, reader, events, _) = connected(Faults::default()).await;
    events.take();
    link.set_faults(Faults { refuse_connects: 100, ..Faults::default() });
    link.drop_link("reader switched off");
    reader.wait_for_state(|s| *s == ReaderState::Disconnected).await;
    let states: Vec<ReaderEvent> = events.take();
    assert_eq!(states.len(), 5, "{states:?}");
    assert_eq!(states[3], ReaderEvent::State(ReaderState::Reconnecting { attempt: 4 }));
    assert!(!reader.is_connected().await);
    assert_eq!(reader.read_card(100, EntryModes::ALL, false, 30).await, Err(ReaderError::LinkLost));
}

#[tokio::test]
async fn a_drop_mid_pin_is_reported_at_once_and_an_explicit_disconnect_stays_down() {
    let (link, reader, events, _) = connected(Faults::default()).await;
    let read = reader.read_card(100, EntryModes::ALL, false, 30).await.unwrap();
    link.set_faults(Faults { drop_after_writes: Some(0), ..Faults::default() });
    let started = Instant::now();
    assert_eq!(reader.enter_pin(&read, 30).await, Err(ReaderError::LinkLost));
    assert!(started.elapsed() < Duration::from_millis(100));
    link.set_faults(Faults::default());
    reader.wait_for_state(|s| matches!(s, ReaderState::Reconnecting { .. })).await;
    reader.wait_for_state(|s| *s == ReaderState::Ready).await;

    events.take();
    reader.disconnect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events.take(), vec![ReaderEvent::State(ReaderState::Disconnected)], "no reconnection after disconnect");
    assert!(!reader.is_connected().await);
}

#[tokio::test]
async fn connect_by_serial_finds_only_that_reader() {
    let sim = SimReader::new(SERIAL);
    let identity = sim.identity_public();
    let reader = CardReader::new(Arc::new(SimLink::new(sim, Faults::default())));
    assert_eq!(
        reader.connect_by_serial("SP100-999999", &identity, phone_credential("SP100-999999", 1), 200).await,
        Err(ReaderError::Link(LinkError::NotFound))
    );
    assert_eq!(reader.state(), ReaderState::Disconnected);
    assert_eq!(
        reader.connect_by_serial(SERIAL, &identity, phone_credential(SERIAL, 1), 200).await.unwrap().serial,
        SERIAL
    );
}
