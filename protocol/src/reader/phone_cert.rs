//! The platform's certificate for a phone on one reader (docs/reader-protocol.md, section 4).
//!
//! At pairing the platform signs, with its reader-authority key (whose public half is burnt
//! into every reader at manufacture), that this phone key may open sessions with this serial
//! number, for this merchant, at this pairing generation. The reader checks the signature
//! offline; it needs no network and keeps no list of phones.
//!
//! The generation counts the merchants a reader has been paired to: it grows each time the
//! reader passes to a new merchant (after a release). A reader remembers the highest generation
//! it has accepted and refuses lower ones, so once the new merchant's phone has connected, the
//! previous merchant's certificates open nothing.
//!
//! Layout: version (1 byte, 1), generation (4, big-endian), phone key (32, Ed25519), serial
//! and merchant id (each one length byte and UTF-8), then the authority's Ed25519 signature
//! (64) over `"starpos-phone-certificate-v1" ‖` everything before it.

use ring::signature::{self, Ed25519KeyPair};

use super::commands::{put_str, Reader};

const CONTEXT: &[u8] = b"starpos-phone-certificate-v1";
const VERSION: u8 = 1;
const SIGNATURE_LEN: usize = 64;

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCertificate {
    pub serial: String,
    pub merchant_id: String,
    /// The phone's Ed25519 public key.
    pub phone_key: [u8; 32],
    pub generation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is malformed")]
    Malformed,
    #[error("the certificate is not signed by the platform's reader authority")]
    NotSigned,
}

impl PhoneCertificate {
    /// The signed certificate (the platform side).
    pub fn issue(&self, authority: &Ed25519KeyPair) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.phone_key);
        put_str(&mut out, &self.serial);
        put_str(&mut out, &self.merchant_id);
        let signature = authority.sign(&signed_message(&out));
        out.extend_from_slice(signature.as_ref());
        out
    }

    /// Reads a certificate and checks the authority's signature on it (the reader side).
    pub fn verify(bytes: &[u8], authority_public: &[u8]) -> Result<PhoneCertificate, CertificateError> {
        let body_len = bytes.len().checked_sub(SIGNATURE_LEN).ok_or(CertificateError::Malformed)?;
        let (body, signature) = bytes.split_at(body_len);
        let cert = Self::decode(body).ok_or(CertificateError::Malformed)?;
        signature::UnparsedPublicKey::new(&signature::ED25519, authority_public)
            .verify(&signed_message(body), signature)
            .map_err(|_| CertificateError::NotSigned)?;
        Ok(cert)
    }

    /// Reads what a certificate says without checking it (the phone reads its own, which the
    /// reader checks).
    pub fn read_unverified(bytes: &[u8]) -> Option<PhoneCertificate> {
        Self::decode(&bytes[..bytes.len().checked_sub(SIGNATURE_LEN)?])
    }

    fn decode(body: &[u8]) -> Option<PhoneCertificate> {
        let mut r = Reader(body);
        if r.u8()? != VERSION {
            return None;
        }
        let generation = u32::from_be_bytes(r.bytes(4)?.try_into().ok()?);
        let phone_key = r.bytes(32)?.try_into().ok()?;
        let serial = r.str()?;
        let merchant_id = r.str()?;
        r.0.is_empty().then_some(PhoneCertificate { serial, merchant_id, phone_key, generation })
    }
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [CONTEXT, body].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::KeyPair;

    pub(crate) fn key() -> Ed25519KeyPair {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    fn sample() -> PhoneCertificate {
        PhoneCertificate { serial: "SP100-000123".into(), merchant_id: "m_1".into(), phone_key: [7; 32], generation: 3 }
    }

    #[test]
    fn a_certificate_verifies_under_its_authority_only() {
        let authority = key();
        let bytes = sample().issue(&authority);
        assert_eq!(PhoneCertificate::verify(&bytes, authority.public_key().as_ref()), Ok(sample()));
        assert_eq!(PhoneCertificate::read_unverified(&bytes), Some(sample()));
        let other = key();
        assert_eq!(PhoneCertificate::verify(&bytes, other.public_key().as_ref()), Err(CertificateError::NotSigned));
    }

    #[test]
    fn any_changed_byte_or_cut_is_refused() {
        let authority = key();
        let public = authority.public_key().as_ref().to_vec();
        let bytes = sample().issue(&authority);
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            assert!(PhoneCertificate::verify(&changed, &public).is_err(), "byte {i}");
        }
        for cut in 0..bytes.len() {
            assert!(PhoneCertificate::verify(&bytes[..cut], &public).is_err(), "cut {cut}");
        }
        let mut longer = bytes.clone();
        longer.insert(40, 0);
        assert!(PhoneCertificate::verify(&longer, &public).is_err());
    }
}
