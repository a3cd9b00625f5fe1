//! The platform trusts no claim of the phone's, and no card is downgraded to its stripe: chip
//! first with the fallback rule on phone and platform (issue #14 item 4), and the platform's
//! own checks of what the reader read (item 5): the reader's MAC, a replayed KSN, a counterfeit
//! chip's cryptogram, the merchant's limits across devices. The tampering tests play a modified
//! app: they read the card through the real reader protocol and send signed authorisations of
//! their own making to the real sandbox.

use starpos_core::payments::receipt::ReceiptCopy;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use starpos_core::limits::LimitKind;
use starpos_core::payments::{Sale, SaleListener, SaleStatus, SaleStep};
use starpos_core::reader::card::{self, CardResult, EntryMode, EntryModes, ReadCardRequest};
use starpos_core::reader::commands;
use starpos_core::reader::connection::{ReaderConnection, Timing};
use starpos_core::reader::controller::CardReader;
use starpos_core::{Error, InMemorySecureStore, SmsPurpose, StarPos};
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_cards::test_card;
use starpos_sandbox::test_kit::{pair_and_connect, phone_credential, ready_merchant};
use starpos_tests::{new_phone, SignedRequests, World, PASSWORD};

const SERIAL: &str = "SP100-000777";

#[derive(Default)]
struct Steps(Mutex<Vec<SaleStep>>);

impl SaleListener for Steps {
    fn on_step(&self, step: SaleStep) {
        self.0.lock().unwrap().push(step);
    }
}

async fn sell(c: &StarPos, reader: &CardReader, amount: i64) -> (Result<Sale, Error>, Vec<SaleStep>) {
    let steps = Arc::new(Steps::default());
    let sale = c.payments().start_sale(reader.clone(), amount, None, steps.clone()).outcome().await;
    let seen = steps.0.lock().unwrap().clone();
    (sale, seen)
}

/// A ready merchant on a client with its secure store (for the raw requests), and a reader.
async fn merchant(w: &World, serial: &str) -> (StarPos, Arc<InMemorySecureStore>, SimLink, CardReader, String) {
    let (c, store) = w.client("integrity");
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let link = SimLink::new(SimReader::new(serial), Faults::default());
    let reader = CardReader::new(Arc::new(link.clone()));
    pair_and_connect(&c, &reader, serial).await.unwrap();
    (c, store, link, reader, phone)
}

#[tokio::test]
async fn a_swiped_chip_card_is_sent_back_to_its_chip_and_a_failed_chip_falls_back_flagged() {
    let w = World::start().await;
    let (c, _, link, reader, phone) = merchant(&w, SERIAL).await;

    // A chip card swiped: the phone refuses the swipe and asks for the chip, which is read.
    link.with_reader_mut(|r| r.present(test_card("chip-swiped").unwrap()));
    let (sale, steps) = sell(&c, &reader, 2_000).await;
    let sale = sale.unwrap();
    assert_eq!(sale.status, SaleStatus::Approved);
    assert_eq!((sale.entry_mode, sale.fallback), (Some(EntryMode::Insert), false));
    assert_eq!(&steps[..2], &[SaleStep::WaitingForCard, SaleStep::UseChip]);

    // A chip that cannot be read: a swipe follows, sent and approved as a flagged fallback.
    link.with_reader_mut(|r| r.present(test_card("chip-fallback").unwrap()));
    let (sale, steps) = sell(&c, &reader, 2_100).await;
    let sale = sale.unwrap();
    assert_eq!(sale.status, SaleStatus::Approved);
    assert_eq!((sale.entry_mode, sale.fallback), (Some(EntryMode::Swipe), true));
    assert_eq!(&steps[..2], &[SaleStep::WaitingForCard, SaleStep::SwipeFallback]);
    let on_platform = w.dev.payment(&sale.id).await.unwrap();
    assert_eq!(on_platform["fallback"], true, "the platform flags it too: {on_platform}");
    let receipt = c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false).unwrap();
    assert_eq!(receipt.entry_mode, "F", "the receipt prints a fallback as such");

    // A magstripe-only card swipes as it always did.
    link.with_reader_mut(|r| r.present(test_card("swipe-approve").unwrap()));
    let (sale, steps) = sell(&c, &reader, 2_200).await;
    let sale = sale.unwrap();
    assert_eq!((sale.status, sale.entry_mode, sale.fallback), (SaleStatus::Approved, Some(EntryMode::Swipe), false));
    assert!(!steps.contains(&SaleStep::UseChip) && !steps.contains(&SaleStep::SwipeFallback));

    // A bad chip and a worn stripe: the fallback is tried once, then the card is unreadable.
    let (sale, steps) = sell(&c, &reader, 6_602).await;
    assert_eq!(sale.unwrap_err(), Error::CardUnreadable);
    assert_eq!(steps.iter().filter(|s| **s == SaleStep::SwipeFallback).count(), 1);
    let payments = w.dev.payments_of(&phone).await.unwrap();
    assert_eq!(payments.as_object().map(|p| p.len()), Some(3), "three sales reached the platform: {payments}");
}

/// A modified app: it reads cards through the protocol itself and signs its own requests.
struct RawApp {
    conn: ReaderConnection,
    requests: SignedRequests,
}

impl RawApp {
    async fn new(w: &World, store: &InMemorySecureStore, link: &SimLink, serial: &str) -> RawApp {
        let identity = link.with_reader(|r| r.identity_public());
        let conn = ReaderConnection::open(Arc::new(link.clone()), serial, Timing::default()).await.unwrap();
        // It holds a certificate for the reader as the merchant's own app does (a modified app
        // of the merchant's passes the reader's check; the platform's checks are what stop it).
        conn.secure(&identity, &phone_credential(serial, 1)).await.unwrap();
        RawApp { conn, requests: SignedRequests::from_store(w, store) }
    }

    /// The reader's result as it came, before any check of the phone's.
    async fn read(&self, amount_fen: u64, modes: EntryModes, fallback: bool) -> Result<CardResult, u8> {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&amount_fen.to_be_bytes());
        nonce[8..].copy_from_slice(&starpos_core::util::random_hex(4).as_bytes()[..8]);
        let request =
            ReadCardRequest { amount_fen, currency: card::CURRENCY_CNY, modes, timeout_secs: 30, nonce, fallback };
        match self.conn.request(commands::READ_CARD, &request.encode(), Duration::from_secs(5)).await {
            Ok(body) => Ok(CardResult::decode(&body).expect("a card result")),
            Err(starpos_core::reader::connection::ReaderError::Refused(status)) => Err(status as u8),
            Err(e) => panic!("reader: {e:?}"),
        }
    }

    async fn pin_block(&self, result: &CardResult) -> Option<String> {
        if !result.pin_required {
            return None;
        }
        let mut payload = result.nonce.to_vec();
        payload.push(30);
        let body = self.conn.request(commands::PIN_ENTRY, &payload, Duration::from_secs(5)).await.unwrap();
        Some(hex::encode(card::PinResult::decode(&body).unwrap().pin_block))
    }

    /// The authorisation an honest app would send for this read.
    async fn request_for(&self, result: &CardResult) -> Value {
        let field55 = match result.entry_mode {
            EntryMode::Swipe => Vec::new(),
            _ => card::field55_of(&starpos_core::reader::tlv::decode_nested(&result.icc_data).unwrap()),
        };
        let mut request = json!({
            "idempotency_key": starpos_core::util::random_hex(16),
            "amount_fen": result.amount_fen,
            "entry_mode": result.entry_mode.as_str(),
            "masked_pan": result.masked_pan,
            "ksn": hex::encode(result.ksn),
            "encrypted_track2": hex::encode(&result.encrypted_track2),
            "field55": hex::encode(field55),
            "nonce": hex::encode(result.nonce),
            "fallback": result.fallback,
            "reader_mac": hex::encode(result.mac),
        });
        if let Some(pin) = self.pin_block(result).await {
            request["pin_block"] = pin.into();
        }
        request
    }

    async fn authorize(&self, request: &Value) -> (u16, Value) {
        self.requests.send("POST", "/v1/payments/authorize", Some(request)).await
    }
}

fn refused(answer: &(u16, Value)) -> &str {
    answer.1["code"].as_str().unwrap_or_else(|| panic!("not refused: {answer:?}"))
}

#[tokio::test]
async fn the_platform_refuses_what_the_phone_changed_replayed_or_downgraded() {
    let w = World::start().await;
    let (_c, store, link, reader, phone) = merchant(&w, "SP100-000778").await;
    // The modified app takes the reader over (the real one lets go: one connection at a time).
    reader.disconnect().await;
    let app = RawApp::new(&w, &store, &link, "SP100-000778").await;
    link.with_reader_mut(|r| r.present(test_card("chip-approve").unwrap()));

    // The honest request is approved: the refusals below are the platform's checks, not a
    // request this test cannot make.
    let read = app.read(3_000, EntryModes::ALL, false).await.unwrap();
    let honest = app.request_for(&read).await;
    let answer = app.authorize(&honest).await;
    assert_eq!((answer.0, answer.1["status"].as_str()), (200, Some("approved")), "{answer:?}");

    // The same card read again under a new key: a replay, refused by its KSN.
    let mut replay = honest.clone();
    replay["idempotency_key"] = starpos_core::util::random_hex(16).into();
    assert_eq!(refused(&app.authorize(&replay).await), "card_read_replayed");

    // Claims changed on the way: each breaks the reader's MAC.
    let read = app.read(3_100, EntryModes::ALL, false).await.unwrap();
    let genuine = app.request_for(&read).await;
    for (field, value) in [
        ("entry_mode", json!("tap")),
        ("amount_fen", json!(310)),
        ("masked_pan", json!("621700*********9999")),
        ("fallback", json!(true)),
        ("reader_mac", json!(hex::encode([0u8; 32]))),
    ] {
        let mut changed = genuine.clone();
        changed[field] = value;
        let answer = app.authorize(&changed).await;
        assert_eq!(refused(&answer), "reader_mac_invalid", "{field}: {answer:?}");
    }
    // Nothing was recorded, so the genuine request still goes through afterwards.
    assert_eq!(app.authorize(&genuine).await.1["status"], "approved");

    // A chip card swiped, with the phone's rule skipped: the platform reads the service code.
    link.with_reader_mut(|r| r.present(test_card("chip-swiped").unwrap()));
    let swiped = app.read(3_200, EntryModes::ALL, false).await.unwrap();
    assert!(swiped.entry_mode == EntryMode::Swipe && swiped.chip_card && !swiped.fallback);
    assert_eq!(refused(&app.authorize(&app.request_for(&swiped).await).await), "chip_required");
    // Nor can the app ask the reader for a fallback its chip never needed.
    assert_eq!(app.read(3_200, EntryModes::SWIPE, true).await.unwrap_err(), commands::Status::BadRequest as u8);

    // A counterfeit chip: the reader MACs what it read honestly; the issuer's key check fails.
    link.with_reader_mut(|r| {
        r.present(test_card("chip-approve").unwrap());
        r.cards.faults.counterfeit_chip = true;
    });
    let counterfeit = app.read(3_300, EntryModes::ALL, false).await.unwrap();
    assert_eq!(refused(&app.authorize(&app.request_for(&counterfeit).await).await), "cryptogram_invalid");
    link.with_reader_mut(|r| r.cards.faults.counterfeit_chip = false);

    let payments = w.dev.payments_of(&phone).await.unwrap();
    assert_eq!(payments.as_object().map(|p| p.len()), Some(2), "only the two genuine sales were recorded: {payments}");
}

#[tokio::test]
async fn the_daily_total_holds_across_the_merchants_devices() {
    let w = World::start().await;
    let (a, _, link_a, reader_a, phone) = merchant(&w, "SP100-000779").await;
    let mut limits = a.merchant().profile().await.unwrap().limits;
    limits.daily_total_fen = 10_000;
    a.merchant().set_limits(limits, None).await.unwrap();

    // A second phone of the same merchant, with its own reader.
    let (b, _) = w.client("second-phone");
    b.account().request_sms_code(phone.clone(), SmsPurpose::Login).await.unwrap();
    let code = w.dev.sms_code(&phone, "login").await.unwrap();
    b.account().login(phone.clone(), PASSWORD.into(), Some(code)).await.unwrap();
    b.merchant().profile().await.unwrap();
    b.merchant().settlement_cards().await.unwrap();
    let (_link_b, reader_b) = starpos_tests::connected_reader(&b, "SP100-000780").await;

    assert_eq!(sell(&a, &reader_a, 6_000).await.0.unwrap().status, SaleStatus::Approved);
    // Phone B's own book knows nothing of A's sale: it lets 6,000 fen through to the platform,
    // which counts both phones and refuses it, saying what remains.
    assert_eq!(b.merchant().remaining_today().unwrap().daily_total_remaining_fen, 10_000);
    let (refusal, _) = sell(&b, &reader_b, 6_000).await;
    assert_eq!(
        refusal.unwrap_err(),
        Error::LimitExceeded { limit: LimitKind::DailyTotal, attempted: 6_000, remaining: 4_000 }
    );
    assert_eq!(
        b.merchant().remaining_today().unwrap().daily_total_remaining_fen,
        10_000,
        "the reservation is released"
    );
    assert_eq!(sell(&b, &reader_b, 4_000).await.0.unwrap().status, SaleStatus::Approved, "what remains can be sold");

    // The phones learn each other's use with the profile (the platform's count of the day on
    // all devices, less their own): each pre-check now refuses on the phone, before any card.
    b.merchant().profile().await.unwrap();
    assert_eq!(b.merchant().remaining_today().unwrap().daily_total_remaining_fen, 0, "A's 6,000 counted");
    a.merchant().profile().await.unwrap();
    assert_eq!(a.merchant().remaining_today().unwrap().daily_total_remaining_fen, 0, "B's 4,000 counted");
    let reads = link_a.with_reader(|r| r.cards.reads);
    assert_eq!(
        sell(&a, &reader_a, 100).await.0.unwrap_err(),
        Error::LimitExceeded { limit: LimitKind::DailyTotal, attempted: 100, remaining: 0 }
    );
    assert_eq!(link_a.with_reader(|r| r.cards.reads), reads, "refused on the phone: no card was read");
    // A void on A gives its part back to both, once each has looked again.
    let day_sale = a.payments().recent_sales(10).unwrap().into_iter().find(|s| s.amount_fen == 6_000).unwrap();
    a.payments().void_sale(day_sale.id, PASSWORD.into()).await.unwrap();
    assert_eq!(a.merchant().remaining_today().unwrap().daily_total_remaining_fen, 6_000);
    b.merchant().profile().await.unwrap();
    assert_eq!(b.merchant().remaining_today().unwrap().daily_total_remaining_fen, 6_000);
}

#[tokio::test]
async fn wrong_step_up_passwords_count_toward_the_lock_out() {
    let w = World::start().await;
    let (c, _, _link, reader, phone) = merchant(&w, "SP100-000781").await;
    let sale = sell(&c, &reader, 1_000).await.0.unwrap();
    for left in (1..=4).rev() {
        let wrong = c.payments().void_sale(sale.id.clone(), "Wrong2026pay".into()).await;
        assert!(
            matches!(&wrong, Err(Error::InvalidInput { field, reason }) if field == "password" && reason.contains(&format!("{left} tries left"))),
            "{wrong:?}"
        );
    }
    // The fifth wrong password, whatever asked for it, locks the account: no void, no login.
    let fifth = c.payments().void_sale(sale.id.clone(), "Wrong2026pay".into()).await;
    assert!(matches!(fifth, Err(Error::AccountLocked { .. })), "{fifth:?}");
    let right = c.payments().void_sale(sale.id.clone(), PASSWORD.into()).await;
    assert!(matches!(right, Err(Error::AccountLocked { .. })), "even the right password waits: {right:?}");
    let (other, _) = w.client("other-phone");
    let login = other.account().login(phone, PASSWORD.into(), None).await;
    assert!(matches!(login, Err(Error::AccountLocked { .. })), "{login:?}");
    assert_eq!(c.payments().sale(sale.id.clone()).unwrap().status, SaleStatus::Approved, "nothing was voided");
}
