//! Pairing a reader: the sandbox platform certifies the identity key of a serial number and
//! binds the reader to the merchant; the phone pins the key, connects with it, and refuses a
//! reader that cannot prove it. The other way round (issue #14 item 6): the platform certifies
//! the phone's key on the reader, and the reader opens a session for no other phone, takes no
//! second handshake while one is live, shows only its own templates, and forgets its earlier
//! merchants' phones once its new merchant has connected.

use std::sync::Arc;

use starpos_core::payments::{SaleStatus, SaleStep};
use starpos_core::reader::commands::{self, Display, Status};
use starpos_core::reader::connection::{ReaderConnection, ReaderError, Timing};
use starpos_core::reader::controller::CardReader;
use starpos_core::reader::frame::{chunks, Frame};
use starpos_core::reader::link::BleLink;
use starpos_core::reader::phone_cert::PhoneCertificate;
use starpos_core::reader::secure::{PhoneCredential, PhoneHandshake, SecureError};
use starpos_core::{Error, SecureStore};
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_kit::{pair_and_connect, phone_credential, ready_merchant, Quiet};
use starpos_tests::{new_phone, World, PASSWORD};

const SERIAL: &str = "SP100-000321";

#[tokio::test]
async fn a_paired_reader_connects_with_the_certified_key_and_an_impostor_does_not() {
    let w = World::start().await;
    let (c, _) = w.client("pairing");
    w.register(&c, &new_phone()).await;

    let paired = c.readers().pair(format!(" {SERIAL} ")).await.unwrap();
    assert_eq!(paired.serial, SERIAL);
    assert_eq!(paired.identity_public, SimReader::new(SERIAL).identity_public(), "the factory's key");
    assert_eq!(c.readers().paired().unwrap(), vec![paired.clone()]);
    // Pairing again is harmless.
    assert_eq!(c.readers().pair(SERIAL.into()).await.unwrap(), paired);

    let reader = CardReader::new(Arc::new(SimLink::new(SimReader::new(SERIAL), Faults::default())));
    // The core looks the pinned key and this phone's certificate up: the app handles neither.
    let info = c.readers().connect(reader.clone(), format!(" {SERIAL} "), 200).await.unwrap();
    assert_eq!(info.serial, SERIAL);
    reader.disconnect().await;
    assert_eq!(
        c.readers().connect(reader.clone(), "SP100-000999".into(), 200).await,
        Err(Error::ReaderNotPaired { serial: "SP100-000999".into() })
    );

    // Another device advertising itself as this reader cannot sign for the pinned key.
    let impostor = CardReader::new(Arc::new(SimLink::new(SimReader::new("SP100-000999"), Faults::default())));
    assert_eq!(
        impostor.connect("SP100-000999", &paired.identity_public, phone_credential("SP100-000999", 1)).await,
        Err(ReaderError::Secure(SecureError::IdentityMismatch))
    );
    assert!(!impostor.is_connected().await);

    c.readers().forget(SERIAL.into()).unwrap();
    assert!(c.readers().paired().unwrap().is_empty());
    assert_eq!(
        c.readers().connect(reader, SERIAL.into(), 200).await,
        Err(Error::ReaderNotPaired { serial: SERIAL.into() }),
        "forgotten: no key to check it with"
    );
}

#[tokio::test]
async fn unknown_serials_and_readers_of_other_merchants_are_refused() {
    let w = World::start().await;
    let (first, _) = w.client("first-merchant");
    w.register(&first, &new_phone()).await;
    first.readers().pair(SERIAL.into()).await.unwrap();

    let (second, _) = w.client("second-merchant");
    w.register(&second, &new_phone()).await;
    assert_eq!(second.readers().pair(SERIAL.into()).await, Err(Error::ReaderPairedElsewhere { serial: SERIAL.into() }));
    assert_eq!(
        second.readers().pair("XX999-000001".into()).await,
        Err(Error::ReaderNotRecognised { serial: "XX999-000001".into() })
    );
    assert!(matches!(second.readers().pair("no spaces allowed".into()).await, Err(Error::InvalidInput { .. })));
    assert!(second.readers().paired().unwrap().is_empty());
    assert!(matches!(second.readers().release(SERIAL.into()).await, Err(Error::ReaderNotRecognised { .. })));

    // Released by its merchant, the reader can change hands.
    first.readers().release(SERIAL.into()).await.unwrap();
    assert!(first.readers().paired().unwrap().is_empty());
    second.readers().pair(SERIAL.into()).await.unwrap();
}

/// A raw connection to the simulated reader: the protocol as any phone nearby could speak it.
async fn raw(link: &SimLink) -> ReaderConnection {
    ReaderConnection::open(
        Arc::new(link.clone()),
        link.with_reader(|r| r.info.serial.clone()).as_str(),
        Timing::default(),
    )
    .await
    .unwrap()
}

/// A phone key certified for `serial` by an authority that is not the platform's.
fn self_certified(serial: &str) -> PhoneCredential {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let rng = ring::rand::SystemRandom::new();
    let own_authority = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let cert = PhoneCertificate {
        serial: serial.into(),
        merchant_id: "m_forged".into(),
        phone_key: key.public_key().as_ref().try_into().unwrap(),
        generation: 99,
    };
    PhoneCredential { certificate: cert.issue(&own_authority), key }
}

#[tokio::test]
async fn the_reader_opens_a_session_only_for_a_phone_the_platform_certified_for_it() {
    let w = World::start().await;
    let (c, _) = w.client("certified");
    w.register(&c, &new_phone()).await;
    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let identity = link.with_reader(|r| r.identity_public());
    let paired = c.readers().pair(SERIAL.into()).await.unwrap();
    assert_eq!(paired.identity_public, identity);

    // Phones the platform did not certify for this reader: each is refused by the reader itself.
    let refused = Err(ReaderError::Refused(Status::PhoneNotCertified));
    let conn = raw(&link).await;
    assert_eq!(conn.secure(&identity, &self_certified(SERIAL)).await, refused, "a self-made certificate");
    assert_eq!(conn.secure(&identity, &phone_credential("SP100-000322", 1)).await, refused, "another reader's");
    // The hello of the protocol before phones were certified (key and nonce only).
    assert_eq!(
        conn.request(commands::HANDSHAKE, &[7u8; 48], Timing::default().ack_timeout * 8).await,
        Err(ReaderError::Refused(Status::PhoneNotCertified))
    );
    // A genuine certificate with a signature by another key (a phone that copied it).
    let genuine = phone_credential(SERIAL, 1);
    let thief = PhoneCredential { certificate: genuine.certificate.clone(), key: self_certified(SERIAL).key };
    assert_eq!(conn.secure(&identity, &thief).await, refused, "a copied certificate");
    assert_eq!(
        conn.request(commands::BEEP, &[], std::time::Duration::from_secs(2)).await,
        Err(ReaderError::Refused(Status::NotSecure))
    );
    assert_eq!(link.with_reader(|r| r.beeps), 0, "nothing ran for an uncertified phone");
    conn.close().await;

    // The merchant's own phone connects, through the core's own lookup.
    let reader = CardReader::new(Arc::new(link.clone()));
    let info = c.readers().connect(reader.clone(), SERIAL.into(), 200).await.unwrap();
    assert_eq!(info.serial, SERIAL);
    assert_eq!(link.with_reader(|r| r.generation()), 1, "the reader learnt its pairing generation");

    // While it is connected, a second phone finds no reader to connect to (one connection).
    let second = CardReader::new(Arc::new(link.clone()));
    assert_eq!(
        second.connect(SERIAL, &identity, phone_credential(SERIAL, 1)).await,
        Err(ReaderError::Link(starpos_core::reader::link::LinkError::NotFound))
    );
    assert!(reader.is_connected().await, "and the merchant's phone keeps its session");

    // The reader shows only its templates: a typed amount, never text of the phone's making.
    reader.display(Display::Amount { fen: 12_345 }).await.unwrap();
    assert_eq!(link.with_reader(|r| r.display.clone()), ["消费金额", "¥123.45"]);
    reader.disconnect().await;

    // The merchant's phone closes its session when it disconnects.
    assert!(link.with_reader(|r| r.executed.contains(&commands::CLOSE_SESSION)));

    // A session opened by a certified phone still cannot put free text on the screen.
    let conn = raw(&link).await;
    conn.secure(&identity, &genuine).await.unwrap();
    let free_text = b"APPROVED. Enter your PIN on the merchant's phone";
    assert_eq!(
        conn.request(commands::DISPLAY, free_text, std::time::Duration::from_secs(2)).await,
        Err(ReaderError::Refused(Status::BadRequest))
    );
    assert_eq!(link.with_reader(|r| r.display.clone()), ["消费金额", "¥123.45"], "the free text was not shown");
    conn.close().await;
}

#[tokio::test]
async fn a_live_session_is_not_replaced_by_a_second_handshake_until_it_is_closed() {
    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let identity = link.with_reader(|r| r.identity_public());
    let credential = phone_credential(SERIAL, 1);
    let reader = CardReader::new(Arc::new(link.clone()));
    reader.connect(SERIAL, &identity, credential.clone()).await.unwrap();

    // Another app sharing the phone's Bluetooth connection (or a device injecting frames into
    // it) sends a handshake, even one with a genuine certificate: the reader refuses it and the
    // merchant's session goes on.
    let (_, hello) = PhoneHandshake::start(&phone_credential(SERIAL, 1)).unwrap();
    let frame = Frame::new(0, 900, commands::HANDSHAKE, hello).encode().unwrap();
    for chunk in chunks(&frame, 182).unwrap() {
        link.write(chunk.to_vec()).await.unwrap();
    }
    reader.beep().await.unwrap();
    assert_eq!(link.with_reader(|r| r.beeps), 1, "the merchant's session still runs commands");
    reader.disconnect().await;

    // Closed, the same connection takes a new handshake.
    let conn = raw(&link).await;
    conn.secure(&identity, &credential).await.unwrap();
    conn.close_session().await;
    conn.secure(&identity, &credential).await.unwrap();
    conn.request(commands::BEEP, &[], std::time::Duration::from_secs(2)).await.unwrap();
    conn.close().await;
}

#[tokio::test]
async fn a_reader_passed_to_another_merchant_refuses_the_first_merchants_phones() {
    let w = World::start().await;
    let (first, _) = w.client("first-owner");
    let first_phone = new_phone();
    ready_merchant(&first, &w.dev, &first_phone, PASSWORD).await.unwrap();
    // The first merchant's second phone pairs too (the same generation, its own certificate).
    let (first_b, _) = w.client("first-owner-tablet");
    first_b.account().request_sms_code(first_phone.clone(), starpos_core::SmsPurpose::Login).await.unwrap();
    let code = w.dev.sms_code(&first_phone, "login").await.unwrap();
    first_b.account().login(first_phone.clone(), PASSWORD.into(), Some(code)).await.unwrap();
    first_b.readers().pair(SERIAL.into()).await.unwrap();

    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let reader = CardReader::new(Arc::new(link.clone()));
    pair_and_connect(&first, &reader, SERIAL).await.unwrap();
    reader.disconnect().await;

    // Released and paired by another merchant, whose phone connects: generation 2.
    first.readers().release(SERIAL.into()).await.unwrap();
    let (second, _) = w.client("second-owner");
    ready_merchant(&second, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    pair_and_connect(&second, &reader, SERIAL).await.unwrap();
    assert_eq!(link.with_reader(|r| r.generation()), 2);
    reader.disconnect().await;

    // The first merchant's tablet still lists the reader with its generation-1 certificate:
    // the reader refuses it, and the core's one new pairing is refused by the platform.
    assert_eq!(first_b.readers().paired().unwrap().len(), 1);
    assert_eq!(
        first_b.readers().connect(reader.clone(), SERIAL.into(), 200).await,
        Err(Error::ReaderPairedElsewhere { serial: SERIAL.into() })
    );
    assert!(!reader.is_connected().await);
    // The new owner sells through it.
    pair_and_connect(&second, &reader, SERIAL).await.unwrap();
    link.with_reader_mut(|r| r.present(starpos_sandbox::test_cards::test_card("chip-approve").unwrap()));
    let sale = second.payments().start_sale(reader.clone(), 1_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!(sale.status, SaleStatus::Approved);
}

#[tokio::test]
async fn card_reads_from_a_reader_not_paired_to_the_merchant_are_refused_by_phone_and_platform() {
    let w = World::start().await;
    let (c, _) = w.client("unpaired");
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();

    // A reader reached with a certificate the platform never issued to this merchant (here
    // made by the test with the sandbox's authority): the phone's check before a sale finds
    // it is not among this merchant's readers.
    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let identity = link.with_reader(|r| r.identity_public());
    let reader = CardReader::new(Arc::new(link.clone()));
    reader.connect(SERIAL, &identity, phone_credential(SERIAL, 1)).await.unwrap();
    let refused = c.payments().start_sale(reader.clone(), 1_000, None, Arc::new(Quiet)).outcome().await;
    assert_eq!(refused, Err(Error::ReaderNotPaired { serial: SERIAL.into() }));
    assert!(!link.with_reader(|r| r.executed.contains(&commands::READ_CARD)), "no card was read");

    // Paired on this phone only (the platform's record of it gone: released elsewhere by the
    // merchant), the card is read but the platform refuses a read from a reader not the
    // merchant's, and nothing is charged.
    reader.disconnect().await;
    pair_and_connect(&c, &reader, SERIAL).await.unwrap();
    let (other, _) = w.client("unpaired-other-phone");
    let code_phone = phone.clone();
    other.account().request_sms_code(code_phone.clone(), starpos_core::SmsPurpose::Login).await.unwrap();
    let code = w.dev.sms_code(&code_phone, "login").await.unwrap();
    other.account().login(code_phone, PASSWORD.into(), Some(code)).await.unwrap();
    other.readers().release(SERIAL.into()).await.unwrap();
    link.with_reader_mut(|r| r.present(starpos_sandbox::test_cards::test_card("chip-approve").unwrap()));
    let refused = c.payments().start_sale(reader.clone(), 1_000, None, Arc::new(Quiet)).outcome().await;
    assert!(
        matches!(refused, Err(Error::CardDataRefused { ref reason }) if reason.contains("not paired")),
        "{refused:?}"
    );
    let payments = w.dev.payments_of(&phone).await.unwrap();
    assert_eq!(payments.as_object().map(|p| p.len()), Some(0), "nothing reached the ledger: {payments}");
}

#[tokio::test]
async fn a_reader_left_connected_from_another_merchants_login_takes_no_sale() {
    let w = World::start().await;
    let (c, _) = w.client("shared-phone");
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let reader = CardReader::new(Arc::new(link.clone()));
    pair_and_connect(&c, &reader, SERIAL).await.unwrap();

    // Another merchant logs in on the same phone; the first one's reader is still connected.
    c.account().logout().await.unwrap();
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    assert!(reader.is_connected().await);
    let steps = Arc::new(std::sync::Mutex::new(Vec::<SaleStep>::new()));
    struct Record(Arc<std::sync::Mutex<Vec<SaleStep>>>);
    impl starpos_core::payments::SaleListener for Record {
        fn on_step(&self, step: SaleStep) {
            self.0.lock().unwrap().push(step);
        }
    }
    let refused = c.payments().start_sale(reader.clone(), 1_000, None, Arc::new(Record(steps.clone()))).outcome().await;
    assert_eq!(refused, Err(Error::ReaderNotPaired { serial: SERIAL.into() }));
    assert!(steps.lock().unwrap().is_empty(), "refused before the card: {:?}", steps.lock().unwrap());
}

#[tokio::test]
async fn a_lost_reader_key_is_replaced_by_pairing_again_on_connect() {
    let w = World::start().await;
    let (c, store) = w.client("restored");
    w.register(&c, &new_phone()).await;
    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let reader = CardReader::new(Arc::new(link.clone()));
    pair_and_connect(&c, &reader, SERIAL).await.unwrap();
    reader.disconnect().await;
    let key_before = store.get(starpos_core::readers::PHONE_KEY).unwrap().expect("the reader key is in secure storage");

    // The secure store lost the key (a restore onto a new phone keeps the database, not the
    // Keystore): the stored certificate is for a key this phone no longer has, so connecting
    // pairs again with a new key, once, and connects.
    store.delete(starpos_core::readers::PHONE_KEY).unwrap();
    c.readers().connect(reader.clone(), SERIAL.into(), 200).await.unwrap();
    let key_after = store.get(starpos_core::readers::PHONE_KEY).unwrap().unwrap();
    assert_ne!(key_before, key_after);
    reader.disconnect().await;
}
