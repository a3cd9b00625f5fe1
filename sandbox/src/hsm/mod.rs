//! The key side of card data, which no phone holds: AES DUKPT (ANSI X9.24-3-2017) key
//! derivation and ISO 9564-1 PIN blocks (format 4 enciphered with AES, format 0 plain), and
//! track-2 encryption. The simulated reader encrypts with it; the sandbox platform's "HSM"
//! derives the same keys from the BDK and decrypts. The phone library carries only the
//! encrypted blobs (and does not link the `aes` crate).

pub mod dukpt;
pub mod pin_block;
pub mod track2;

pub use dukpt::{
    derive_initial_key, derive_transaction_key, derive_working_key, derive_working_key_of_type, transaction_counter,
    validate_transaction_counter, DukptError, Key, KeyType, KeyUsage,
};
pub use pin_block::{decipher_pin_block_format4, encipher_pin_block_format4, pin_block_format0, PinBlockError};
pub use track2::{decrypt_track2, encrypt_track2, Track2Error};
