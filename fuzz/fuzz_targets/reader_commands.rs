//! Any bytes as the other reader answers and packages the phone parses: device info, the
//! handshake answer, a firmware begin request and a firmware package. Never a panic, and what
//! decodes re-encodes the same way.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ring::signature::{Ed25519KeyPair, KeyPair};
use starpos_protocol::reader::commands::{decode_handshake_answer, encode_handshake_answer, DeviceInfo};
use starpos_protocol::reader::firmware::{BeginRequest, FirmwareImage};

/// A genuine firmware key (a small-order point such as all zeros is no key: signatures that
/// "verify" under it exist, which is why the phone and the reader only take the platform's).
fn firmware_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[42; 32]).expect("a seed is a key");
        pair.public_key().as_ref().to_vec()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Some(info) = DeviceInfo::decode(data) {
        assert_eq!(DeviceInfo::decode(&info.encode()), Some(info));
    }
    if let Some((ephemeral, serial, signature)) = decode_handshake_answer(data) {
        let again = encode_handshake_answer(&ephemeral, &serial, &signature);
        assert_eq!(decode_handshake_answer(&again), Some((ephemeral, serial, signature)));
    }
    let _ = BeginRequest::decode(data);
    if let Some(image) = FirmwareImage::from_package(data) {
        // A package that parses must still be refused unless its signature verifies.
        assert!(!image.verify(firmware_key()));
        assert_eq!(FirmwareImage::from_package(&image.to_package()).map(|i| i.sha256()), Some(image.sha256()));
    }
});
