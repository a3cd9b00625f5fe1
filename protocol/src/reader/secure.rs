//! The secure session between phone and reader (docs/reader-protocol.md, section 4).
//!
//! Handshake (one round trip, after Bluetooth pairing):
//! 1. Phone → reader: a fresh X25519 public key `Pe`, 16 random bytes `Np`, the phone's
//!    Ed25519 signature over `"starpos-phone-hello-v1" ‖ Pe ‖ Np ‖ certificate`, and the
//!    certificate the platform issued for this phone on this reader at pairing
//!    ([`super::phone_cert`]). The reader opens a session only for a phone whose certificate
//!    its authority key verifies, names its own serial, is of the newest pairing generation it
//!    has seen, and whose key made the signature.
//! 2. Reader → phone: its fresh X25519 public key `Re`, its serial number, and an Ed25519
//!    signature with its long-term identity key over `"starpos-reader-hello-v1" ‖ Pe ‖ Re ‖ Np ‖ serial`.
//!    The phone checks the signature against the identity key it pinned at first pairing (which
//!    the platform certified), so a device in the middle cannot answer for the reader.
//! 3. Both derive, with HKDF-SHA256 over the X25519 shared secret (salt `Pe ‖ Re`), one
//!    ChaCha20-Poly1305 key per direction.
//!
//! Every frame payload after that is sealed with the frame's flags, sequence number and command
//! as associated data and a nonce made of the direction and a counter that must strictly grow:
//! an altered, replayed or reordered frame does not open.

use ring::aead::{self, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::hkdf;
use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair};

use super::phone_cert::PhoneCertificate;

const HELLO_CONTEXT: &[u8] = b"starpos-reader-hello-v1";
const PHONE_CONTEXT: &[u8] = b"starpos-phone-hello-v1";
/// `Pe`, `Np` and the phone's signature come before the certificate.
const PHONE_HELLO_FIXED: usize = 32 + 16 + 64;
const KEYS_INFO: &[u8] = b"starpos-reader-session-v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecureError {
    #[error("the reader's identity signature does not verify against the pinned key")]
    IdentityMismatch,
    #[error("malformed handshake message")]
    Malformed,
    #[error("a sealed payload did not open: altered, replayed or out of order")]
    Rejected,
    #[error("key agreement failed")]
    Agreement,
    /// The reader side: no valid certificate for this reader, or the phone did not sign with
    /// the key it names.
    #[error("the phone is not certified for this reader")]
    PhoneNotCertified,
    /// The reader side: the certificate is from an earlier pairing of the reader (it has since
    /// passed to another merchant).
    #[error("the phone's certificate is from an earlier pairing of this reader")]
    CertificateSuperseded,
}

/// What the phone proves itself with: the platform's certificate and the key it names.
pub struct PhoneCredential {
    pub certificate: Vec<u8>,
    pub key: Ed25519KeyPair,
}

/// What the reader trusts: its own identity, and the authority whose certificates it accepts
/// from the generation it has reached.
pub struct ReaderTrust<'a> {
    pub identity: &'a Ed25519KeyPair,
    pub serial: &'a str,
    pub authority_public: &'a [u8],
    pub min_generation: u32,
}

/// Which way a payload travels; part of the nonce, so one key never seals both ways with the
/// same nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    PhoneToReader = 1,
    ReaderToPhone = 2,
}

/// The phone's opening message (what both sides' transcripts use of it).
pub struct PhoneHello {
    pub ephemeral_public: [u8; 32],
    pub nonce: [u8; 16],
}

/// The reader's answer.
pub struct ReaderHello {
    pub ephemeral_public: [u8; 32],
    pub serial: String,
    pub signature: Vec<u8>,
}

/// The phone's half of a handshake in progress.
pub struct PhoneHandshake {
    private: EphemeralPrivateKey,
    hello: PhoneHello,
}

impl PhoneHandshake {
    pub fn start(credential: &PhoneCredential) -> Result<(PhoneHandshake, Vec<u8>), SecureError> {
        let (private, public) = ephemeral()?;
        let mut nonce = [0u8; 16];
        crate::util::fill_random(&mut nonce);
        let signature = credential.key.sign(&phone_message(&public, &nonce, &credential.certificate));
        let mut wire = Vec::with_capacity(PHONE_HELLO_FIXED + credential.certificate.len());
        wire.extend_from_slice(&public);
        wire.extend_from_slice(&nonce);
        wire.extend_from_slice(signature.as_ref());
        wire.extend_from_slice(&credential.certificate);
        Ok((PhoneHandshake { private, hello: PhoneHello { ephemeral_public: public, nonce } }, wire))
    }

    /// Checks the reader's answer against the pinned identity key and derives the session.
    pub fn finish(self, answer: &ReaderHello, pinned_identity: &[u8]) -> Result<Session, SecureError> {
        let signed = transcript(&self.hello, &answer.ephemeral_public, &answer.serial);
        signature::UnparsedPublicKey::new(&signature::ED25519, pinned_identity)
            .verify(&signed, &answer.signature)
            .map_err(|_| SecureError::IdentityMismatch)?;
        let peer = UnparsedPublicKey::new(&X25519, answer.ephemeral_public);
        let (send, receive) = agreement::agree_ephemeral(self.private, &peer, |secret| {
            derive(secret, &self.hello.ephemeral_public, &answer.ephemeral_public)
        })
        .map_err(|_| SecureError::Agreement)??;
        Ok(Session::new(send, receive, Direction::PhoneToReader))
    }
}

/// The reader's side (used by the simulated reader): checks the phone's certificate and
/// signature, then answers. Returns the certificate, whose generation the reader keeps.
pub fn reader_answer(
    trust: &ReaderTrust<'_>,
    phone_hello_wire: &[u8],
) -> Result<(ReaderHello, Session, PhoneCertificate), SecureError> {
    let (hello, cert) = check_phone_hello(trust, phone_hello_wire)?;
    let (private, public) = ephemeral()?;
    let serial = trust.serial;
    let signature = trust.identity.sign(&transcript(&hello, &public, serial)).as_ref().to_vec();
    let peer = UnparsedPublicKey::new(&X25519, hello.ephemeral_public);
    let (phone_to_reader, reader_to_phone) =
        agreement::agree_ephemeral(private, &peer, |secret| derive(secret, &hello.ephemeral_public, &public))
            .map_err(|_| SecureError::Agreement)??;
    // The reader sends with the reader-to-phone key and receives with the other.
    let session = Session::new(reader_to_phone, phone_to_reader, Direction::ReaderToPhone);
    Ok((ReaderHello { ephemeral_public: public, serial: serial.to_string(), signature }, session, cert))
}

/// The reader's checks of a phone's hello, in the order that costs least first.
fn check_phone_hello(trust: &ReaderTrust<'_>, wire: &[u8]) -> Result<(PhoneHello, PhoneCertificate), SecureError> {
    // A hello without a certificate (the version before phones were certified) is refused.
    if wire.len() <= PHONE_HELLO_FIXED {
        return Err(SecureError::PhoneNotCertified);
    }
    let ephemeral_public: [u8; 32] = wire[..32].try_into().map_err(|_| SecureError::Malformed)?;
    let nonce: [u8; 16] = wire[32..48].try_into().map_err(|_| SecureError::Malformed)?;
    let (signature, certificate) = wire[48..].split_at(64);
    let cert =
        PhoneCertificate::verify(certificate, trust.authority_public).map_err(|_| SecureError::PhoneNotCertified)?;
    if cert.serial != trust.serial {
        return Err(SecureError::PhoneNotCertified);
    }
    if cert.generation < trust.min_generation {
        return Err(SecureError::CertificateSuperseded);
    }
    signature::UnparsedPublicKey::new(&signature::ED25519, cert.phone_key)
        .verify(&phone_message(&ephemeral_public, &nonce, certificate), signature)
        .map_err(|_| SecureError::PhoneNotCertified)?;
    Ok((PhoneHello { ephemeral_public, nonce }, cert))
}

fn phone_message(ephemeral_public: &[u8; 32], nonce: &[u8; 16], certificate: &[u8]) -> Vec<u8> {
    [PHONE_CONTEXT, ephemeral_public, nonce, certificate].concat()
}

/// The identity public key of a reader key pair (what the phone pins).
pub fn identity_public(identity: &Ed25519KeyPair) -> Vec<u8> {
    identity.public_key().as_ref().to_vec()
}

/// A fresh X25519 key pair for one handshake.
fn ephemeral() -> Result<(EphemeralPrivateKey, [u8; 32]), SecureError> {
    let private = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new()).map_err(|_| SecureError::Agreement)?;
    let public = private.compute_public_key().map_err(|_| SecureError::Agreement)?;
    let public = public.as_ref().try_into().map_err(|_| SecureError::Agreement)?;
    Ok((private, public))
}

fn transcript(hello: &PhoneHello, reader_public: &[u8; 32], serial: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(HELLO_CONTEXT.len() + 80 + serial.len());
    t.extend_from_slice(HELLO_CONTEXT);
    t.extend_from_slice(&hello.ephemeral_public);
    t.extend_from_slice(reader_public);
    t.extend_from_slice(&hello.nonce);
    t.extend_from_slice(serial.as_bytes());
    t
}

/// (phone→reader key, reader→phone key).
fn derive(
    secret: &[u8],
    phone_public: &[u8; 32],
    reader_public: &[u8; 32],
) -> Result<(LessSafeKey, LessSafeKey), SecureError> {
    let mut salt = Vec::with_capacity(64);
    salt.extend_from_slice(phone_public);
    salt.extend_from_slice(reader_public);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(secret);
    let mut keys = [0u8; 64];
    prk.expand(&[KEYS_INFO], Len64)
        .map_err(|_| SecureError::Agreement)?
        .fill(&mut keys)
        .map_err(|_| SecureError::Agreement)?;
    let key = |bytes: &[u8]| {
        UnboundKey::new(&CHACHA20_POLY1305, bytes).map(LessSafeKey::new).map_err(|_| SecureError::Agreement)
    };
    let out = (key(&keys[..32])?, key(&keys[32..])?);
    keys.fill(0);
    Ok(out)
}

struct Len64;
impl hkdf::KeyType for Len64 {
    fn len(&self) -> usize {
        64
    }
}

/// An established session: seals what this side sends, opens what it receives.
pub struct Session {
    send: LessSafeKey,
    receive: LessSafeKey,
    me: Direction,
    sent: u64,
    /// The next counter accepted from the peer; anything lower is a replay.
    expect: u64,
}

impl Session {
    fn new(send: LessSafeKey, receive: LessSafeKey, me: Direction) -> Self {
        Session { send, receive, me, sent: 0, expect: 0 }
    }

    /// Seals `payload`; the output is the 8-byte counter, then ciphertext and tag.
    pub fn seal(&mut self, header: &[u8], payload: &[u8]) -> Vec<u8> {
        let counter = self.sent;
        self.sent += 1;
        let mut out = counter.to_be_bytes().to_vec();
        let mut body = payload.to_vec();
        // Sealing only fails for inputs larger than ChaCha20's 256 GiB limit; frames are 8 KiB.
        self.send
            .seal_in_place_append_tag(nonce(self.me, counter), aead::Aad::from(header), &mut body)
            .expect("a frame is far below the AEAD's size limit");
        out.extend(body);
        out
    }

    /// Opens a sealed payload from the peer, refusing altered, replayed or reordered ones.
    pub fn open(&mut self, header: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SecureError> {
        if sealed.len() < 8 + CHACHA20_POLY1305.tag_len() {
            return Err(SecureError::Rejected);
        }
        let counter = u64::from_be_bytes(sealed[..8].try_into().map_err(|_| SecureError::Rejected)?);
        if counter < self.expect {
            return Err(SecureError::Rejected);
        }
        let peer = match self.me {
            Direction::PhoneToReader => Direction::ReaderToPhone,
            Direction::ReaderToPhone => Direction::PhoneToReader,
        };
        let mut body = sealed[8..].to_vec();
        let plain = self
            .receive
            .open_in_place(nonce(peer, counter), aead::Aad::from(header), &mut body)
            .map_err(|_| SecureError::Rejected)?;
        let plain = plain.to_vec();
        self.expect = counter + 1;
        Ok(plain)
    }
}

fn nonce(direction: Direction, counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[3] = direction as u8;
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// The associated data that binds a sealed payload to its frame.
pub fn aad(frame_flags: u8, seq: u16, command: u16) -> [u8; 5] {
    let [s0, s1] = seq.to_be_bytes();
    let [c0, c1] = command.to_be_bytes();
    [frame_flags, s0, s1, c0, c1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Ed25519KeyPair {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    const SERIAL: &str = "SP100-000123";

    /// A phone key and the certificate an authority issued it for `serial` at `generation`.
    fn credential(authority: &Ed25519KeyPair, serial: &str, generation: u32) -> PhoneCredential {
        let key = identity();
        let cert = PhoneCertificate {
            serial: serial.into(),
            merchant_id: "m_1".into(),
            phone_key: key.public_key().as_ref().try_into().unwrap(),
            generation,
        };
        PhoneCredential { certificate: cert.issue(authority), key }
    }

    fn trust<'a>(id: &'a Ed25519KeyPair, authority: &'a [u8], min_generation: u32) -> ReaderTrust<'a> {
        ReaderTrust { identity: id, serial: SERIAL, authority_public: authority, min_generation }
    }

    fn pair() -> (Session, Session) {
        let id = identity();
        let authority = identity();
        let (phone, hello) = PhoneHandshake::start(&credential(&authority, SERIAL, 1)).unwrap();
        let (answer, reader, cert) = reader_answer(&trust(&id, authority.public_key().as_ref(), 1), &hello).unwrap();
        assert_eq!(cert.generation, 1);
        (phone.finish(&answer, &identity_public(&id)).unwrap(), reader)
    }

    #[test]
    fn both_ways_open_what_the_other_sealed() {
        let (mut phone, mut reader) = pair();
        let sealed = phone.seal(b"hdr1", b"read card: 12345 fen");
        assert_eq!(reader.open(b"hdr1", &sealed).unwrap(), b"read card: 12345 fen");
        let back = reader.seal(b"hdr2", b"approved");
        assert_eq!(phone.open(b"hdr2", &back).unwrap(), b"approved");
    }

    #[test]
    fn altered_replayed_or_misdirected_payloads_are_refused() {
        let (mut phone, mut reader) = pair();
        let sealed = reader.seal(b"hdr", b"amount=12345");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(phone.open(b"hdr", &altered), Err(SecureError::Rejected));
        assert_eq!(phone.open(b"other header", &sealed), Err(SecureError::Rejected));
        assert!(phone.open(b"hdr", &sealed).is_ok());
        assert_eq!(phone.open(b"hdr", &sealed), Err(SecureError::Rejected), "a replay is refused");
        // A frame the phone sealed cannot be reflected back to it as if from the reader.
        let own = phone.seal(b"hdr", b"x");
        assert_eq!(phone.open(b"hdr", &own), Err(SecureError::Rejected));
    }

    #[test]
    fn an_impostor_reader_is_refused() {
        let real = identity();
        let impostor = identity();
        let authority = identity();
        let (phone, hello) = PhoneHandshake::start(&credential(&authority, SERIAL, 1)).unwrap();
        let (answer, _, _) = reader_answer(&trust(&impostor, authority.public_key().as_ref(), 0), &hello).unwrap();
        assert!(matches!(phone.finish(&answer, &identity_public(&real)), Err(SecureError::IdentityMismatch)));
    }

    #[test]
    fn the_reader_refuses_a_phone_without_a_valid_certificate_for_it() {
        let id = identity();
        let authority = identity();
        let public = authority.public_key().as_ref().to_vec();
        let refused = |hello: &[u8], min_generation: u32| {
            reader_answer(&trust(&id, &public, min_generation), hello).map(|_| ()).unwrap_err()
        };
        // The old hello (key and nonce only), and nothing at all.
        assert_eq!(refused(&[0u8; 48], 0), SecureError::PhoneNotCertified);
        assert_eq!(refused(&[], 0), SecureError::PhoneNotCertified);
        // A certificate from another authority (a phone certifying itself).
        let (_, hello) = PhoneHandshake::start(&credential(&identity(), SERIAL, 1)).unwrap();
        assert_eq!(refused(&hello, 0), SecureError::PhoneNotCertified);
        // A genuine certificate, but for another reader.
        let (_, hello) = PhoneHandshake::start(&credential(&authority, "SP100-000124", 1)).unwrap();
        assert_eq!(refused(&hello, 0), SecureError::PhoneNotCertified);
        // A genuine certificate presented by a phone without its key (copied from another
        // phone's hello, with a fresh ephemeral key of its own).
        let (_, genuine) = PhoneHandshake::start(&credential(&authority, SERIAL, 1)).unwrap();
        let mut stolen = genuine.clone();
        stolen[..32].copy_from_slice(&[9u8; 32]);
        assert_eq!(refused(&stolen, 0), SecureError::PhoneNotCertified);
        // A certificate of an earlier pairing generation: the reader has since moved on.
        assert_eq!(refused(&genuine, 2), SecureError::CertificateSuperseded);
        assert!(reader_answer(&trust(&id, &public, 1), &genuine).is_ok());
    }
}
