//! Track 2 under the AES DUKPT data-encryption key: the reader encrypts, the platform decrypts;
//! the phone only carries the ciphertext (docs/reader-protocol.md, section 5).
//!
//! Plain text: one length byte, the track 2 characters in ASCII (`PAN=YYMMSSS…`, no sentinels),
//! zero bytes up to a multiple of 16. Cipher: AES-CBC with a zero IV, which is safe here because
//! every transaction has its own key (the DUKPT counter moves on for each card read).

use zeroize::Zeroizing;

use super::dukpt::{BlockCipher, Key};

const BLOCK: usize = 16;

/// The longest track 2 (ISO/IEC 7813: 37 characters without sentinels and LRC).
pub const MAX_TRACK2_LEN: usize = 37;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Track2Error {
    #[error("track 2 is longer than 37 characters or holds characters other than digits and '='")]
    BadTrack,
    #[error("ciphertext is empty or not a whole number of AES blocks")]
    BadLength,
    #[error("deciphered data is not a track 2 (wrong key or KSN?)")]
    BadPlaintext,
}

/// AES-CBC over whole blocks, in place.
pub(crate) fn cbc_encrypt(cipher: &BlockCipher, iv: [u8; BLOCK], data: &mut [u8]) {
    let mut chain = iv;
    for block in data.chunks_exact_mut(BLOCK) {
        let block: &mut [u8; BLOCK] = block.try_into().expect("chunks_exact gives whole blocks");
        for (b, c) in block.iter_mut().zip(chain) {
            *b ^= c;
        }
        cipher.encrypt(block);
        chain = *block;
    }
}

/// AES-CBC decryption over whole blocks, in place.
pub(crate) fn cbc_decrypt(cipher: &BlockCipher, iv: [u8; BLOCK], data: &mut [u8]) {
    let mut chain = iv;
    for block in data.chunks_exact_mut(BLOCK) {
        let block: &mut [u8; BLOCK] = block.try_into().expect("chunks_exact gives whole blocks");
        let this = *block;
        cipher.decrypt(block);
        for (b, c) in block.iter_mut().zip(chain) {
            *b ^= c;
        }
        chain = this;
    }
}

fn is_track2(track: &[u8]) -> bool {
    !track.is_empty() && track.len() <= MAX_TRACK2_LEN && track.iter().all(|b| b.is_ascii_digit() || *b == b'=')
}

/// Encrypts a track 2 (`6217001234567890=30122011234`) under a DUKPT data key.
pub fn encrypt_track2(data_key: &Key, track: &str) -> Result<Vec<u8>, Track2Error> {
    if !is_track2(track.as_bytes()) {
        return Err(Track2Error::BadTrack);
    }
    let mut plain = Zeroizing::new(vec![track.len() as u8]);
    plain.extend_from_slice(track.as_bytes());
    let padded = plain.len().div_ceil(BLOCK) * BLOCK;
    plain.resize(padded, 0);
    cbc_encrypt(&data_key.cipher(), [0; BLOCK], &mut plain);
    Ok(plain.to_vec())
}

/// Decrypts what [`encrypt_track2`] made; the result is wiped when dropped.
pub fn decrypt_track2(data_key: &Key, ciphertext: &[u8]) -> Result<Zeroizing<String>, Track2Error> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
        return Err(Track2Error::BadLength);
    }
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    cbc_decrypt(&data_key.cipher(), [0; BLOCK], &mut plain);
    let len = plain[0] as usize;
    let track = plain.get(1..1 + len).ok_or(Track2Error::BadPlaintext)?;
    if !is_track2(track) || plain[1 + len..].iter().any(|b| *b != 0) {
        return Err(Track2Error::BadPlaintext);
    }
    Ok(Zeroizing::new(String::from_utf8(track.to_vec()).map_err(|_| Track2Error::BadPlaintext)?))
}

#[cfg(test)]
mod tests {
    use starpos_protocol::reader::card::looks_like_clear_track;

    use super::*;
    use crate::hsm::dukpt::{derive_initial_key, derive_transaction_key, derive_working_key, KeyUsage};

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// NIST SP 800-38A, appendix F.2.1/F.2.2 (CBC-AES128), all four blocks.
    #[test]
    fn cbc_matches_nist_sp800_38a() {
        let key = Key::from_bytes(&h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let iv: [u8; 16] = h("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let plain = h(concat!(
            "6bc1bee22e409f96e93d7e117393172a",
            "ae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52ef",
            "f69f2445df4f9b17ad2b417be66c3710"
        ));
        let cipher = h(concat!(
            "7649abac8119b246cee98e9b12e9197d",
            "5086cb9b507219ee95db113a917678b2",
            "73bed6b8e3c1743b7116e69e22229516",
            "3ff1caa1681fac09120eca307586e1a7"
        ));
        let mut data = plain.clone();
        cbc_encrypt(&key.cipher(), iv, &mut data);
        assert_eq!(data, cipher);
        cbc_decrypt(&key.cipher(), iv, &mut data);
        assert_eq!(data, plain);
    }

    fn data_key(counter: u8) -> Key {
        // The X9.24-3 sample BDK and initial key ID.
        let bdk = h("FEDCBA9876543210F1F1F1F1F1F1F1F1");
        let ik = derive_initial_key(&bdk, &[0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56]).unwrap();
        let mut ksn = [0u8; 12];
        ksn[..8].copy_from_slice(&[0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56]);
        ksn[11] = counter;
        derive_working_key(&derive_transaction_key(&ik, &ksn).unwrap(), KeyUsage::DataEncryption, &ksn)
    }

    #[test]
    fn track2_round_trips_and_a_wrong_key_is_noticed() {
        let track = "6217001234567890123=30122011234567890";
        let sealed = encrypt_track2(&data_key(1), track).unwrap();
        assert_eq!(sealed.len(), 48);
        assert!(!looks_like_clear_track(&sealed));
        assert_eq!(decrypt_track2(&data_key(1), &sealed).unwrap().as_str(), track);
        assert_eq!(decrypt_track2(&data_key(2), &sealed), Err(Track2Error::BadPlaintext));
        assert_eq!(decrypt_track2(&data_key(1), &sealed[..47]), Err(Track2Error::BadLength));
    }

    #[test]
    fn bad_tracks_are_refused() {
        assert_eq!(encrypt_track2(&data_key(1), "6217^NAME"), Err(Track2Error::BadTrack));
        assert_eq!(encrypt_track2(&data_key(1), &"1".repeat(38)), Err(Track2Error::BadTrack));
    }
}
