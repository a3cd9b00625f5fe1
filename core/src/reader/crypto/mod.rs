//! Reader-side key management and PIN protection: AES DUKPT (ANSI X9.24-3-2017) and
//! ISO 9564-1 PIN blocks (format 4 enciphered with AES, format 0 plain).

pub mod dukpt;
pub mod pin_block;
pub mod track2;

pub use dukpt::{
    derive_initial_key, derive_transaction_key, derive_working_key, derive_working_key_of_type, transaction_counter,
    validate_transaction_counter, DukptError, Key, KeyType, KeyUsage,
};
pub use pin_block::{decipher_pin_block_format4, encipher_pin_block_format4, pin_block_format0, PinBlockError};
pub use track2::{decrypt_track2, encrypt_track2, looks_like_clear_track, Track2Error};
