//! Any bytes as a phone's handshake to the reader, and as a phone certificate: never a panic,
//! never a session (opening one needs a certificate the authority signed and the phone key's
//! signature, neither of which random bytes can make).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ring::signature::{Ed25519KeyPair, KeyPair};
use starpos_protocol::reader::phone_cert::PhoneCertificate;
use starpos_protocol::reader::secure::{reader_answer, ReaderTrust};

fuzz_target!(|data: &[u8]| {
    let identity = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("a seed is a key");
    let authority = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).expect("a seed is a key");
    let trust = ReaderTrust {
        identity: &identity,
        serial: "SP100-000001",
        authority_public: authority.public_key().as_ref(),
        min_generation: 0,
    };
    assert!(reader_answer(&trust, data).is_err(), "a hello nobody certified opened a session");
    assert!(PhoneCertificate::verify(data, authority.public_key().as_ref()).is_err(), "a forged certificate verified");
    let _ = PhoneCertificate::read_unverified(data);
});
