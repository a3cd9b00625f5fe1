//! Any bytes as a sealed frame from the reader, opened by a live secure session: never a
//! panic, never accepted (forging needs the session key), and the session still opens the
//! genuine next frame afterwards, so garbage on the air cannot knock it over.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use ring::signature::Ed25519KeyPair;
use ring::signature::KeyPair;
use starpos_protocol::reader::phone_cert::PhoneCertificate;
use starpos_protocol::reader::secure::{
    aad, identity_public, reader_answer, PhoneCredential, PhoneHandshake, ReaderTrust, Session,
};

/// A phone and a reader session from one real handshake.
fn sessions() -> (Session, Session) {
    let identity = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("a seed is a key");
    let authority = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).expect("a seed is a key");
    let key = Ed25519KeyPair::from_seed_unchecked(&[9; 32]).expect("a seed is a key");
    let cert = PhoneCertificate {
        serial: "SP100-000001".into(),
        merchant_id: "m".into(),
        phone_key: key.public_key().as_ref().try_into().expect("32 bytes"),
        generation: 1,
    };
    let credential = PhoneCredential { certificate: cert.issue(&authority), key };
    let (phone, hello) = PhoneHandshake::start(&credential).expect("handshake starts");
    let trust = ReaderTrust {
        identity: &identity,
        serial: "SP100-000001",
        authority_public: authority.public_key().as_ref(),
        min_generation: 1,
    };
    let (answer, reader, _) = reader_answer(&trust, &hello).expect("the reader answers");
    let phone = phone.finish(&answer, &identity_public(&identity)).expect("the pinned reader is accepted");
    (phone, reader)
}

static SESSIONS: Mutex<Option<(Session, Session)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = SESSIONS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (phone, reader) = guard.get_or_insert_with(sessions);
    let header = aad(0x01, 7, 0x0020);
    assert!(phone.open(&header, data).is_err(), "a frame nobody sealed was opened");
    let genuine = reader.seal(&header, b"still talking");
    assert_eq!(phone.open(&header, &genuine).as_deref().ok(), Some(&b"still talking"[..]));
});
