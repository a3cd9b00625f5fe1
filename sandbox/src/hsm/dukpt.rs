//! AES DUKPT key derivation (ANSI X9.24-3-2017) for AES-128 and AES-256 keys.
//!
//! Every key in the scheme comes from the one derivation function: the derivation key
//! enciphers (AES-ECB) a 16-byte derivation-data block once per 128 bits of output key,
//! and the enciphered blocks are joined. The derivation-data block is:
//!
//! - byte 0: version, always `0x01`;
//! - byte 1: key block counter, `0x01` for the first 16 output bytes, `0x02` for the next;
//! - bytes 2..4: key usage indicator, big-endian: `0x8001` initial key, `0x8000` intermediate
//!   derivation key, working-key usages as in [`KeyUsage`];
//! - bytes 4..6: algorithm indicator of the key being made (`0x0002` AES-128, `0x0004` AES-256);
//! - bytes 6..8: length in bits of the key being made (`0x0080` or `0x0100`);
//! - bytes 8..16: for the initial key, the 8-byte initial key ID; otherwise the 4-byte
//!   derivation ID (KSN bytes 4..8) followed by a 4-byte big-endian transaction counter.
//!
//! The 12-byte KSN is the 8-byte initial key ID (4-byte BDK ID, 4-byte derivation ID)
//! followed by the 32-bit big-endian transaction counter.
//!
//! TDES DUKPT (X9.24-1) is deliberately not provided: it is legacy.

use std::fmt;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128, Aes256};
use zeroize::Zeroize;

/// Largest key this module handles (AES-256).
const MAX_KEY_LEN: usize = 32;
const BLOCK_LEN: usize = 16;

/// Key usage indicator for the initial key, derived from the BDK.
const USAGE_INITIAL_KEY: u16 = 0x8001;
/// Key usage indicator for the intermediate derivation keys on the way to a transaction key.
const USAGE_DERIVATION: u16 = 0x8000;

/// Highest number of one-bits a valid transaction counter may carry.
pub const MAX_COUNTER_ONE_BITS: u32 = 16;

/// The AES key types supported (those the X9.24-3 vectors exercise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Aes128,
    Aes256,
}

impl KeyType {
    /// Length of the key in bytes.
    pub const fn byte_len(self) -> usize {
        match self {
            KeyType::Aes128 => 16,
            KeyType::Aes256 => 32,
        }
    }

    /// Length of the key in bits, as written into the derivation data.
    pub const fn bits(self) -> u16 {
        match self {
            KeyType::Aes128 => 128,
            KeyType::Aes256 => 256,
        }
    }

    /// X9.24-3 algorithm indicator, as written into the derivation data.
    pub const fn algorithm_indicator(self) -> u16 {
        match self {
            KeyType::Aes128 => 0x0002,
            KeyType::Aes256 => 0x0004,
        }
    }

    fn from_len(len: usize) -> Result<Self, DukptError> {
        match len {
            16 => Ok(KeyType::Aes128),
            32 => Ok(KeyType::Aes256),
            other => Err(DukptError::UnsupportedKeyLength(other)),
        }
    }
}

/// Working-key usages (the key usage indicator of the derivation data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUsage {
    /// PIN encryption, `0x1000`.
    PinEncryption,
    /// MAC generation, `0x2000`.
    MacGeneration,
    /// MAC verification, `0x2001`.
    MacVerification,
    /// MAC generation and verification, `0x2002`.
    MacBothWays,
    /// Data encryption, `0x3000`.
    DataEncryption,
    /// Data decryption, `0x3001`.
    DataDecryption,
    /// Data encryption and decryption, `0x3002`.
    DataBothWays,
}

impl KeyUsage {
    /// X9.24-3 key usage indicator.
    pub const fn code(self) -> u16 {
        match self {
            KeyUsage::PinEncryption => 0x1000,
            KeyUsage::MacGeneration => 0x2000,
            KeyUsage::MacVerification => 0x2001,
            KeyUsage::MacBothWays => 0x2002,
            KeyUsage::DataEncryption => 0x3000,
            KeyUsage::DataDecryption => 0x3001,
            KeyUsage::DataBothWays => 0x3002,
        }
    }
}

/// Errors from DUKPT derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DukptError {
    /// Key material is neither 16 (AES-128) nor 32 (AES-256) bytes long.
    UnsupportedKeyLength(usize),
    /// The KSN's transaction counter is zero; counting starts at 1.
    ZeroTransactionCounter,
    /// The KSN's transaction counter has more one-bits than the standard allows.
    TooManyCounterBits { counter: u32, one_bits: u32 },
    /// A working key of a stronger type than the key it is derived from was requested.
    DerivedKeyTooStrong { source: KeyType, requested: KeyType },
}

impl fmt::Display for DukptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DukptError::UnsupportedKeyLength(len) => {
                write!(f, "unsupported AES DUKPT key length {len} bytes (expected 16 or 32)")
            }
            DukptError::ZeroTransactionCounter => f.write_str("KSN transaction counter is zero"),
            DukptError::TooManyCounterBits { counter, one_bits } => write!(
                f,
                "KSN transaction counter {counter:#010X} has {one_bits} one-bits (at most {} allowed)",
                MAX_COUNTER_ONE_BITS
            ),
            DukptError::DerivedKeyTooStrong { source, requested } => {
                write!(f, "cannot derive a {requested:?} key from a weaker {source:?} key")
            }
        }
    }
}

impl std::error::Error for DukptError {}

/// AES key material. The bytes are wiped when the value is dropped and never appear in `Debug`.
pub struct Key {
    bytes: [u8; MAX_KEY_LEN],
    key_type: KeyType,
}

impl Key {
    /// Wraps raw AES key bytes (16 or 32 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, DukptError> {
        let key_type = KeyType::from_len(bytes.len())?;
        let mut key = Key { bytes: [0; MAX_KEY_LEN], key_type };
        key.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(key)
    }

    /// The raw key bytes (16 or 32 of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.key_type.byte_len()]
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// A block cipher keyed with this key.
    pub(crate) fn cipher(&self) -> BlockCipher {
        match self.key_type {
            KeyType::Aes128 => BlockCipher::Aes128(Aes128::new(GenericArray::from_slice(self.as_bytes()))),
            KeyType::Aes256 => BlockCipher::Aes256(Aes256::new(GenericArray::from_slice(self.as_bytes()))),
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("key_type", &self.key_type).field("bytes", &"<redacted>").finish()
    }
}

/// AES-ECB on single 16-byte blocks; the key schedule is wiped on drop (aes `zeroize` feature).
/// It lives briefly on the stack and is never stored, so the variants' size difference is harmless
/// (boxing would put key schedules on the heap for nothing).
#[allow(clippy::large_enum_variant, reason = "short-lived stack value; avoids heap copies of key schedules")]
pub(crate) enum BlockCipher {
    Aes128(Aes128),
    Aes256(Aes256),
}

impl BlockCipher {
    pub(crate) fn encrypt(&self, block: &mut [u8; BLOCK_LEN]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            BlockCipher::Aes128(c) => c.encrypt_block(block),
            BlockCipher::Aes256(c) => c.encrypt_block(block),
        }
    }

    pub(crate) fn decrypt(&self, block: &mut [u8; BLOCK_LEN]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            BlockCipher::Aes128(c) => c.decrypt_block(block),
            BlockCipher::Aes256(c) => c.decrypt_block(block),
        }
    }
}

/// The X9.24-3 derivation function: `derivation_key` enciphers one derivation-data block per
/// 16 bytes of the new key, the blocks differing only in the key block counter.
fn derive_key(derivation_key: &Key, usage: u16, new_type: KeyType, id_and_counter: &[u8; 8]) -> Key {
    let cipher = derivation_key.cipher();
    let mut new_key = Key { bytes: [0; MAX_KEY_LEN], key_type: new_type };
    let mut block = [0u8; BLOCK_LEN];
    for (index, chunk) in new_key.bytes[..new_type.byte_len()].chunks_exact_mut(BLOCK_LEN).enumerate() {
        block[0] = 0x01;
        // At most two blocks, so the counter (1 or 2) always fits in a byte.
        block[1] = index as u8 + 1;
        block[2..4].copy_from_slice(&usage.to_be_bytes());
        block[4..6].copy_from_slice(&new_type.algorithm_indicator().to_be_bytes());
        block[6..8].copy_from_slice(&new_type.bits().to_be_bytes());
        block[8..16].copy_from_slice(id_and_counter);
        cipher.encrypt(&mut block);
        chunk.copy_from_slice(&block);
    }
    block.zeroize();
    new_key
}

/// Bytes 8..16 of the derivation data for a KSN: derivation ID (KSN bytes 4..8) and `counter`.
fn id_and_counter(ksn: &[u8; 12], counter: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&ksn[4..8]);
    out[4..].copy_from_slice(&counter.to_be_bytes());
    out
}

/// The 32-bit transaction counter at the end of a KSN.
pub fn transaction_counter(ksn: &[u8; 12]) -> u32 {
    u32::from_be_bytes([ksn[8], ksn[9], ksn[10], ksn[11]])
}

/// Checks a transaction counter: non-zero, with at most 16 one-bits.
pub fn validate_transaction_counter(counter: u32) -> Result<(), DukptError> {
    if counter == 0 {
        return Err(DukptError::ZeroTransactionCounter);
    }
    let one_bits = counter.count_ones();
    if one_bits > MAX_COUNTER_ONE_BITS {
        return Err(DukptError::TooManyCounterBits { counter, one_bits });
    }
    Ok(())
}

/// Derives a device's initial key from the base derivation key (16 or 32 bytes) and the
/// device's 8-byte initial key ID (the first 8 bytes of its KSN). The initial key has the
/// BDK's type.
pub fn derive_initial_key(bdk: &[u8], initial_key_id: &[u8; 8]) -> Result<Key, DukptError> {
    let bdk = Key::from_bytes(bdk)?;
    let key_type = bdk.key_type();
    Ok(derive_key(&bdk, USAGE_INITIAL_KEY, key_type, initial_key_id))
}

/// Derives the transaction (intermediate derivation) key for the KSN's counter from the
/// initial key, setting the counter's one-bits from the most significant down and deriving
/// one intermediate key per bit. The result has the initial key's type.
pub fn derive_transaction_key(initial_key: &Key, ksn: &[u8; 12]) -> Result<Key, DukptError> {
    let counter = transaction_counter(ksn);
    validate_transaction_counter(counter)?;
    let key_type = initial_key.key_type();
    let mut current = Key::from_bytes(initial_key.as_bytes())?;
    let mut working_counter = 0u32;
    let mut mask = 1u32 << 31;
    while mask != 0 {
        if counter & mask != 0 {
            working_counter |= mask;
            current = derive_key(&current, USAGE_DERIVATION, key_type, &id_and_counter(ksn, working_counter));
        }
        mask >>= 1;
    }
    Ok(current)
}

/// Derives a working key of the transaction key's own type for `usage`.
pub fn derive_working_key(transaction_key: &Key, usage: KeyUsage, ksn: &[u8; 12]) -> Key {
    let key_type = transaction_key.key_type();
    derive_key(transaction_key, usage.code(), key_type, &id_and_counter(ksn, transaction_counter(ksn)))
}

/// Derives a working key of type `key_type` for `usage`; the type may be weaker than the
/// transaction key's (AES-128 from AES-256) but not stronger.
pub fn derive_working_key_of_type(
    transaction_key: &Key,
    usage: KeyUsage,
    key_type: KeyType,
    ksn: &[u8; 12],
) -> Result<Key, DukptError> {
    let source = transaction_key.key_type();
    if key_type.byte_len() > source.byte_len() {
        return Err(DukptError::DerivedKeyTooStrong { source, requested: key_type });
    }
    Ok(derive_key(transaction_key, usage.code(), key_type, &id_and_counter(ksn, transaction_counter(ksn))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../tests/data/dukpt.json");

    fn unhex(value: &Value) -> Vec<u8> {
        hex::decode(value.as_str().expect("hex string")).expect("valid hex")
    }

    fn ksn_of(value: &Value) -> [u8; 12] {
        unhex(value).try_into().expect("12-byte KSN")
    }

    fn assert_key(key: &Key, expected: &Value, what: &str, name: &str) {
        assert_eq!(hex::encode_upper(key.as_bytes()), expected.as_str().unwrap(), "{what} for {name}");
    }

    /// Every AES entry of dukpt.json: initial key, transaction key, every working key given,
    /// and the format-4 PIN block. TDES (X9.24-1) entries are counted and skipped.
    #[test]
    fn aes_dukpt_vectors() {
        let entries: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
        let (mut aes_entries, mut skipped_tdes, mut checks) = (0usize, 0usize, 0usize);
        for (i, entry) in entries.iter().enumerate() {
            let scheme = entry["scheme"].as_str().unwrap();
            if scheme.starts_with("TDES") {
                skipped_tdes += 1;
                continue;
            }
            assert!(scheme.starts_with("AES DUKPT"), "unknown scheme {scheme}");
            aes_entries += 1;
            let (input, expected) = (&entry["input"], &entry["expected"]);
            let name = format!("entry {i} ({}, KSN {})", entry["source"], input["ksn"]);
            let ksn = ksn_of(&input["ksn"]);
            let ikid: [u8; 8] = unhex(&input["initial_key_id"]).try_into().unwrap();
            assert_eq!(&ksn[..8], &ikid, "{name}: KSN starts with the initial key ID");
            assert_eq!(u64::from(transaction_counter(&ksn)), input["transaction_counter"].as_u64().unwrap());

            let ksn_valid = expected["ksn_valid"].as_bool().unwrap();
            assert_eq!(validate_transaction_counter(transaction_counter(&ksn)).is_ok(), ksn_valid, "{name}");
            checks += 1;
            if !ksn_valid {
                assert!(derive_transaction_key(&Key::from_bytes(&[0; 16]).unwrap(), &ksn).is_err());
                continue;
            }

            let initial = derive_initial_key(&unhex(&input["bdk"]), &ikid).unwrap();
            assert_key(&initial, &expected["initial_key"], "initial key", &name);
            let tk = derive_transaction_key(&initial, &ksn).unwrap();
            assert_key(&tk, &expected["transaction_key"], "transaction key", &name);
            checks += 2;

            for (field, usage, key_type) in [
                ("pin_key_aes128", KeyUsage::PinEncryption, KeyType::Aes128),
                ("mac_gen_key_aes128", KeyUsage::MacGeneration, KeyType::Aes128),
                ("data_encrypt_key_aes128_usage3000", KeyUsage::DataEncryption, KeyType::Aes128),
                ("data_both_key_aes128_usage3002", KeyUsage::DataBothWays, KeyType::Aes128),
                ("pin_key_aes256", KeyUsage::PinEncryption, KeyType::Aes256),
                ("mac_gen_key_aes256", KeyUsage::MacGeneration, KeyType::Aes256),
                ("data_encrypt_key_aes256_usage3000", KeyUsage::DataEncryption, KeyType::Aes256),
            ] {
                if expected[field].is_null() {
                    continue;
                }
                let key = derive_working_key_of_type(&tk, usage, key_type, &ksn).unwrap();
                assert_key(&key, &expected[field], field, &name);
                if key_type == tk.key_type() {
                    assert_key(&derive_working_key(&tk, usage, &ksn), &expected[field], field, &name);
                }
                checks += 1;
            }

            if let Some(enciphered) = expected["encrypted_pinblock_fmt4_aes128"].as_str() {
                let pin_key = derive_working_key_of_type(&tk, KeyUsage::PinEncryption, KeyType::Aes128, &ksn).unwrap();
                let pin_field = unhex(&input["pinfield_with_fixed_random_pad"]);
                let fill: [u8; 8] = pin_field[8..].try_into().unwrap();
                let (pin, pan) = (input["pin"].as_str().unwrap(), input["pan"].as_str().unwrap());
                let block = super::super::pin_block::encipher_pin_block_format4(&pin_key, pin, pan, fill).unwrap();
                assert_eq!(hex::encode_upper(block), enciphered, "PIN block for {name}");
                let back = super::super::pin_block::decipher_pin_block_format4(&pin_key, &block, pan).unwrap();
                assert_eq!(back, pin, "deciphered PIN for {name}");
                checks += 1;
            }
        }
        println!(
            "dukpt.json: {aes_entries} AES entries checked ({checks} values), {skipped_tdes} TDES entries skipped"
        );
        assert_eq!(aes_entries + skipped_tdes, entries.len());
        assert_eq!(aes_entries, 30, "dukpt.json should hold 30 AES entries");
        assert_eq!(skipped_tdes, 34, "dukpt.json should hold 34 TDES entries");
    }

    #[test]
    fn counter_zero_is_rejected() {
        let ik = derive_initial_key(&[0x11; 16], &[0x22; 8]).unwrap();
        let mut ksn = [0u8; 12];
        ksn[..8].copy_from_slice(&[0x22; 8]);
        assert_eq!(derive_transaction_key(&ik, &ksn).unwrap_err(), DukptError::ZeroTransactionCounter);
    }

    #[test]
    fn counter_with_more_than_16_bits_is_rejected() {
        let ik = derive_initial_key(&[0x11; 16], &[0x22; 8]).unwrap();
        let mut ksn = [0u8; 12];
        // 17 one-bits: rejected.
        ksn[8..].copy_from_slice(&0x0001_FFFFu32.to_be_bytes());
        assert_eq!(
            derive_transaction_key(&ik, &ksn).unwrap_err(),
            DukptError::TooManyCounterBits { counter: 0x0001_FFFF, one_bits: 17 }
        );
        ksn[8..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(derive_transaction_key(&ik, &ksn), Err(DukptError::TooManyCounterBits { one_bits: 32, .. })));
        // Exactly 16 one-bits: accepted.
        ksn[8..].copy_from_slice(&0xFFFF_0000u32.to_be_bytes());
        assert!(derive_transaction_key(&ik, &ksn).is_ok());
    }

    #[test]
    fn unsupported_key_lengths_are_rejected() {
        for len in [0usize, 8, 15, 17, 24, 33] {
            assert_eq!(
                derive_initial_key(&vec![0u8; len], &[0; 8]).unwrap_err(),
                DukptError::UnsupportedKeyLength(len)
            );
            assert_eq!(Key::from_bytes(&vec![0u8; len]).unwrap_err(), DukptError::UnsupportedKeyLength(len));
        }
    }

    #[test]
    fn working_key_cannot_be_stronger_than_transaction_key() {
        let tk = Key::from_bytes(&[0x33; 16]).unwrap();
        let ksn = [0u8; 12];
        assert_eq!(
            derive_working_key_of_type(&tk, KeyUsage::PinEncryption, KeyType::Aes256, &ksn).unwrap_err(),
            DukptError::DerivedKeyTooStrong { source: KeyType::Aes128, requested: KeyType::Aes256 }
        );
    }

    #[test]
    fn usage_codes_match_the_standard() {
        let codes: Vec<u16> = [
            KeyUsage::PinEncryption,
            KeyUsage::MacGeneration,
            KeyUsage::MacVerification,
            KeyUsage::MacBothWays,
            KeyUsage::DataEncryption,
            KeyUsage::DataDecryption,
            KeyUsage::DataBothWays,
        ]
        .iter()
        .map(|u| u.code())
        .collect();
        assert_eq!(codes, [0x1000, 0x2000, 0x2001, 0x2002, 0x3000, 0x3001, 0x3002]);
    }

    #[test]
    fn debug_does_not_print_key_bytes() {
        let key = Key::from_bytes(&[0xAB; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.to_ascii_uppercase().contains("AB"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("redacted") && shown.contains("Aes256"), "{shown}");
    }

    #[test]
    fn error_messages_are_readable() {
        let err = DukptError::TooManyCounterBits { counter: 0x0001_FFFF, one_bits: 17 };
        assert_eq!(err.to_string(), "KSN transaction counter 0x0001FFFF has 17 one-bits (at most 16 allowed)");
    }
}
