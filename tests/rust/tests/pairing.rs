//! Pairing a reader: the sandbox platform certifies the identity key of a serial number and
//! binds the reader to the merchant; the phone pins the key, connects with it, and refuses a
//! reader that cannot prove it.

use std::sync::Arc;

use starpos_core::reader::connection::ReaderError;
use starpos_core::reader::controller::CardReader;
use starpos_core::reader::secure::SecureError;
use starpos_core::Error;
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_tests::{new_phone, World};

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
    let info = reader.connect_by_serial(SERIAL, &paired.identity_public, 200).await.unwrap();
    assert_eq!(info.serial, SERIAL);
    reader.disconnect().await;
    // Or let the core look the pinned key up: the app never handles it.
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
        impostor.connect("SP100-000999", &paired.identity_public).await,
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
