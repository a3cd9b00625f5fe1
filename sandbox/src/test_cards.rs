//! The sandbox's card world: test cards (what the simulated reader can be shown and what the
//! sandbox platform's "issuers" say about them), the test base derivation key (BDK) that the
//! platform holds and from which each simulated reader's initial key is injected, the reader
//! "factory" that gives each serial number its identity key, and the platform-side decryption
//! of what readers send. Documented in docs/test-cards.md.

use crate::hsm::{
    decipher_pin_block_format4, decrypt_track2, derive_initial_key, derive_transaction_key, derive_working_key, Key,
    KeyUsage,
};
use ring::signature::Ed25519KeyPair;
use starpos_protocol::reader::card::EntryMode;
use zeroize::Zeroizing;

/// The AES-128 BDK of the ANSI X9.24-3-2017 samples. A test key, published: never use it for
/// real cards.
pub const TEST_BDK: [u8; 16] =
    [0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1];

/// What the issuer does with an authorisation for this card (PIN and expiry are checked first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approve,
    /// Response code 51.
    InsufficientFunds,
    /// Response code 05 (do not honour): the card is refused.
    Refuse,
    /// The host approves, then the chip declines when it sees the answer (AAC at completion).
    ChipDeclinesAfterApproval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    pub name: &'static str,
    pub pan: &'static str,
    /// YYMM.
    pub expiry: &'static str,
    pub service_code: &'static str,
    pub mode: EntryMode,
    /// The card's PIN, known to the issuer.
    pub pin: &'static str,
    /// What the simulated customer types on the reader.
    pub typed_pin: &'static str,
    pub app_label: &'static str,
    pub outcome: Outcome,
}

const fn card(
    name: &'static str,
    pan: &'static str,
    mode: EntryMode,
    app_label: &'static str,
    outcome: Outcome,
) -> TestCard {
    TestCard {
        name,
        pan,
        expiry: "3012",
        service_code: "220",
        mode,
        pin: "123456",
        typed_pin: "123456",
        app_label,
        outcome,
    }
}

/// Every test card. PANs are Luhn-valid and fall in real Chinese BIN ranges, so the phone's BIN
/// table names an issuer; no such cards exist.
pub const TEST_CARDS: &[TestCard] = &[
    card("chip-approve", "6217001234567890015", EntryMode::Insert, "CCB DEBIT", Outcome::Approve),
    card("tap-approve", "6217001234567890023", EntryMode::Tap, "CCB QUICKPASS", Outcome::Approve),
    card("swipe-approve", "6228480012345670017", EntryMode::Swipe, "", Outcome::Approve),
    card("credit-approve", "6259071234567895", EntryMode::Insert, "BOC CREDIT", Outcome::Approve),
    card("insufficient-funds", "6217001234567890031", EntryMode::Insert, "CCB DEBIT", Outcome::InsufficientFunds),
    TestCard {
        typed_pin: "000000",
        ..card("wrong-pin", "6217001234567890049", EntryMode::Insert, "CCB DEBIT", Outcome::Approve)
    },
    TestCard {
        expiry: "2001",
        ..card("expired", "6217001234567890056", EntryMode::Insert, "CCB DEBIT", Outcome::Approve)
    },
    card(
        "chip-decline-after-approval",
        "6217001234567890064",
        EntryMode::Insert,
        "CCB DEBIT",
        Outcome::ChipDeclinesAfterApproval,
    ),
    card("refused", "6217001234567890072", EntryMode::Insert, "CCB DEBIT", Outcome::Refuse),
];

pub fn test_card(name: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|c| c.name == name)
}

pub fn test_card_by_pan(pan: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|c| c.pan == pan)
}

/// The model name simulated readers report.
pub const SIM_MODEL: &str = "StarPOS SIM-1";

/// A simulated reader's DUKPT initial key ID: the first eight bytes of SHA-256 of its serial.
pub fn initial_key_id(serial: &str) -> [u8; 8] {
    let digest = ring::digest::digest(&ring::digest::SHA256, serial.as_bytes());
    digest.as_ref()[..8].try_into().expect("SHA-256 is 32 bytes")
}

/// The key injected into a simulated reader at the "factory": derived from the BDK, which the
/// reader itself never holds.
pub fn injected_initial_key(serial: &str) -> Key {
    derive_initial_key(&TEST_BDK, &initial_key_id(serial)).expect("the test BDK is a valid AES-128 key")
}

/// The "factory" identity key of a simulated reader: Ed25519 from a seed derived from its
/// serial, so the sandbox platform can certify any simulated reader without a registry file.
pub fn reader_identity(serial: &str) -> Ed25519KeyPair {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"starpos-sandbox-reader-identity-v1");
    ctx.update(serial.as_bytes());
    let seed = ctx.finish();
    Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).expect("32 bytes is an Ed25519 seed")
}

/// What the platform learns from a reader's blobs.
pub struct Decrypted {
    pub pan: String,
    pub expiry: String,
    pub service_code: String,
    pub pin: Option<Zeroizing<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the KSN's counter is not valid")]
    BadKsn,
    #[error("track 2 did not decrypt")]
    BadTrack,
    #[error("the PIN block did not decrypt")]
    BadPinBlock,
}

/// The platform side of card data: derives the transaction's keys from the BDK and the KSN and
/// deciphers track 2 and (if sent) the PIN block.
pub fn decrypt_card(
    ksn: &[u8; 12],
    encrypted_track2: &[u8],
    pin_block: Option<&[u8; 16]>,
) -> Result<Decrypted, DecryptError> {
    let initial =
        derive_initial_key(&TEST_BDK, ksn[..8].try_into().expect("8 bytes")).map_err(|_| DecryptError::BadKsn)?;
    let transaction = derive_transaction_key(&initial, ksn).map_err(|_| DecryptError::BadKsn)?;
    let data_key = derive_working_key(&transaction, KeyUsage::DataEncryption, ksn);
    let track = decrypt_track2(&data_key, encrypted_track2).map_err(|_| DecryptError::BadTrack)?;
    let (pan, rest) = track.split_once('=').ok_or(DecryptError::BadTrack)?;
    if rest.len() < 7 {
        return Err(DecryptError::BadTrack);
    }
    let pin = match pin_block {
        None => None,
        Some(block) => {
            let pin_key = derive_working_key(&transaction, KeyUsage::PinEncryption, ksn);
            Some(Zeroizing::new(
                decipher_pin_block_format4(&pin_key, block, pan).map_err(|_| DecryptError::BadPinBlock)?,
            ))
        }
    };
    Ok(Decrypted { pan: pan.into(), expiry: rest[..4].into(), service_code: rest[4..7].into(), pin })
}

#[cfg(test)]
mod tests {
    use super::*;
    use starpos_protocol::checks::check_bank_card;

    #[test]
    fn test_cards_are_valid_distinct_and_known_to_the_bin_table() {
        for c in TEST_CARDS {
            let check = check_bank_card(c.pan);
            assert!(check.valid, "{}: {:?}", c.name, check.reason);
            assert!(check.issuer_bank.is_some(), "{} has no issuer in the BIN table", c.name);
            assert_eq!(TEST_CARDS.iter().filter(|o| o.pan == c.pan || o.name == c.name).count(), 1);
        }
    }
}
