//! The sandbox's card world: test cards (what the simulated reader can be shown and what the
//! sandbox platform's "issuers" say about them), the test base derivation key (BDK) that the
//! platform holds and from which each simulated reader's initial key is injected, the reader
//! "factory" that gives each serial number its identity key, and the platform-side decryption
//! of what readers send. Documented in docs/test-cards.md.

use crate::hsm::{
    decipher_pin_block_format4, decrypt_track2, derive_initial_key, derive_transaction_key, derive_working_key, Key,
    KeyUsage,
};
use ring::hmac;
use ring::signature::Ed25519KeyPair;
use starpos_protocol::reader::card::EntryMode;
use starpos_protocol::reader::tlv::{self, Tag, Tlv};
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

/// The card's chip, as the simulated reader finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chip {
    /// A magstripe-only card (service code 1xx).
    None,
    Works,
    /// The chip cannot be read: the reader says so and the phone may ask for a fallback swipe.
    Broken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    pub name: &'static str,
    pub pan: &'static str,
    /// YYMM.
    pub expiry: &'static str,
    pub service_code: &'static str,
    /// How the customer presents the card first; asked for the chip, a chip card is inserted.
    pub mode: EntryMode,
    pub chip: Chip,
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
        chip: Chip::Works,
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
    // A magstripe-only card (service code 101): a swipe is its only way.
    TestCard {
        service_code: "101",
        chip: Chip::None,
        ..card("swipe-approve", "6228480012345670017", EntryMode::Swipe, "", Outcome::Approve)
    },
    // A chip card the customer swipes first: the phone refuses the swipe and asks for the chip.
    card("chip-swiped", "6228480012345670025", EntryMode::Swipe, "ABC DEBIT", Outcome::Approve),
    // A chip that cannot be read: the phone then asks for a swipe, sent as a fallback.
    TestCard {
        service_code: "201",
        chip: Chip::Broken,
        ..card("chip-fallback", "6228480012345670033", EntryMode::Insert, "ABC DEBIT", Outcome::Approve)
    },
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

/// The sandbox platform's reader authority: it certifies a phone's key on a reader at
/// pairing, and every simulated reader trusts its public half (burnt in at the "factory").
/// From a published seed: a test value, like every key here.
pub fn reader_authority() -> Ed25519KeyPair {
    let seed = ring::digest::digest(&ring::digest::SHA256, b"starpos-sandbox-reader-authority-v1");
    Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).expect("32 bytes is an Ed25519 seed")
}

/// The public half of [`reader_authority`], as simulated readers hold it.
pub fn reader_authority_public() -> Vec<u8> {
    use ring::signature::KeyPair;
    reader_authority().public_key().as_ref().to_vec()
}

/// The sandbox issuer's master key, from which each test card's own key is derived. A test
/// value, published: no real card has it.
const ISSUER_MASTER_KEY: &[u8] = b"starpos-sandbox-issuer-master-key-v1";

/// A test card's chip key: what a real card keeps in its chip, derived by its issuer from a
/// master key and the card number. The simulated chip makes its cryptogram with it and the
/// sandbox issuer checks the cryptogram with it; the reader and the phone never hold it.
fn card_key(pan: &str) -> hmac::Key {
    let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, ISSUER_MASTER_KEY), pan.as_bytes());
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// The chip data the cryptogram covers, in this order: amount, currency, terminal country,
/// TVR, date, transaction type, unpredictable number, AIP, ATC (the data EMV's ARQC covers).
const CRYPTOGRAM_TAGS: [u32; 9] = [0x9F02, 0x5F2A, 0x9F1A, 0x95, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36];

/// The chip's application cryptogram (tag 9F26) over `objects`, or `None` if one of the covered
/// objects is missing. A stand-in for EMV's ARQC: the same role (the card's key binds the
/// amount, the date, the terminal's random number and the card's counter), not the same
/// algorithm (HMAC-SHA256 cut to 8 bytes, not a CMAC under a session key).
pub fn cryptogram(pan: &str, objects: &[Tlv]) -> Option<[u8; 8]> {
    let mut data = Vec::new();
    for tag in CRYPTOGRAM_TAGS {
        let value = tlv::find_value(objects, Tag::new(tag)?)?;
        data.push(u8::try_from(value.len()).ok()?);
        data.extend_from_slice(value);
    }
    let tag = hmac::sign(&card_key(pan), &data);
    tag.as_ref()[..8].try_into().ok()
}

/// The DUKPT MAC-generation key of the transaction `ksn` names, as an HMAC key: the reader
/// MACs its card result with it, the platform derives it from the BDK to check that MAC.
pub fn reader_mac_key(initial: &Key, ksn: &[u8; 12]) -> Option<hmac::Key> {
    let transaction = derive_transaction_key(initial, ksn).ok()?;
    let mac_key = derive_working_key(&transaction, KeyUsage::MacGeneration, ksn);
    Some(hmac::Key::new(hmac::HMAC_SHA256, mac_key.as_bytes()))
}

/// Whether `mac` is the reader's MAC over `input` under the key of `ksn` (the platform side).
pub fn reader_mac_valid(ksn: &[u8; 12], input: &[u8], mac: &[u8]) -> bool {
    let Ok(initial) = derive_initial_key(&TEST_BDK, ksn[..8].try_into().expect("8 bytes")) else { return false };
    reader_mac_key(&initial, ksn).is_some_and(|key| hmac::verify(&key, input, mac).is_ok())
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
