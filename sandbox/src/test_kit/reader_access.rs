//! Connecting a simulated reader the way the app does: pair it through the platform (which
//! certifies this phone's key on it), then `readers().connect`. And, for reader-level tests
//! with no account, a phone credential certified by the sandbox's reader authority directly.

use std::sync::Arc;

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use starpos_core::reader::commands::DeviceInfo;
use starpos_core::reader::controller::CardReader;
use starpos_core::reader::phone_cert::PhoneCertificate;
use starpos_core::reader::secure::PhoneCredential;
use starpos_core::StarPos;

use crate::test_cards::reader_authority;

/// Pairs `serial` for the logged-in merchant and connects `reader` to it.
pub async fn pair_and_connect(c: &StarPos, reader: &CardReader, serial: &str) -> starpos_core::Result<DeviceInfo> {
    c.readers().pair(serial.into()).await?;
    c.readers().connect(reader.clone(), serial.into(), 500).await
}

/// A fresh phone key with a certificate for `serial` at `generation`, as if the platform had
/// issued it at pairing (for tests of the reader protocol itself; sales need a real pairing,
/// since the platform refuses card reads from readers not paired to the merchant).
pub fn phone_credential(serial: &str, generation: u32) -> Arc<PhoneCredential> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("the system RNG works");
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a fresh key parses");
    let cert = PhoneCertificate {
        serial: serial.into(),
        merchant_id: "m_test".into(),
        phone_key: key.public_key().as_ref().try_into().expect("an Ed25519 public key is 32 bytes"),
        generation,
    };
    Arc::new(PhoneCredential { certificate: cert.issue(&reader_authority()), key })
}
