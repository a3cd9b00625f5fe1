//! The secure session between phone and reader (docs/reader-protocol.md, section 4).
//!
//! Handshake (one round trip, after Bluetooth pairing):
//! 1. Phone → reader: a fresh X25519 public key `Pe` and 16 random bytes `Np`.
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

const HELLO_CONTEXT: &[u8] = b"starpos-reader-hello-v1";
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
}

/// Which way a payload travels; part of the nonce, so one key never seals both ways with the
/// same nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    PhoneToReader = 1,
    ReaderToPhone = 2,
}

/// The phone's opening message.
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
    pub fn start() -> Result<(PhoneHandshake, [u8; 48]), SecureError> {
        let (private, public) = ephemeral()?;
        let mut nonce = [0u8; 16];
        crate::util::fill_random(&mut nonce);
        let mut wire = [0u8; 48];
        wire[..32].copy_from_slice(&public);
        wire[32..].copy_from_slice(&nonce);
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

/// The reader's side (used by the simulated reader).
pub fn reader_answer(
    identity: &Ed25519KeyPair,
    serial: &str,
    phone_hello_wire: &[u8],
) -> Result<(ReaderHello, Session), SecureError> {
    let hello = parse_phone_hello(phone_hello_wire)?;
    let (private, public) = ephemeral()?;
    let signature = identity.sign(&transcript(&hello, &public, serial)).as_ref().to_vec();
    let peer = UnparsedPublicKey::new(&X25519, hello.ephemeral_public);
    let (phone_to_reader, reader_to_phone) =
        agreement::agree_ephemeral(private, &peer, |secret| derive(secret, &hello.ephemeral_public, &public))
            .map_err(|_| SecureError::Agreement)??;
    // The reader sends with the reader-to-phone key and receives with the other.
    let session = Session::new(reader_to_phone, phone_to_reader, Direction::ReaderToPhone);
    Ok((ReaderHello { ephemeral_public: public, serial: serial.to_string(), signature }, session))
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

fn parse_phone_hello(wire: &[u8]) -> Result<PhoneHello, SecureError> {
    if wire.len() != 48 {
        return Err(SecureError::Malformed);
    }
    let mut ephemeral_public = [0u8; 32];
    ephemeral_public.copy_from_slice(&wire[..32]);
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&wire[32..]);
    Ok(PhoneHello { ephemeral_public, nonce })
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

    fn pair() -> (Session, Session) {
        let id = identity();
        let (phone, hello) = PhoneHandshake::start().unwrap();
        let (answer, reader) = reader_answer(&id, "SP100-000123", &hello).unwrap();
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
        let (phone, hello) = PhoneHandshake::start().unwrap();
        let (answer, _) = reader_answer(&impostor, "SP100-000123", &hello).unwrap();
        assert!(matches!(phone.finish(&answer, &identity_public(&real)), Err(SecureError::IdentityMismatch)));
        assert!(matches!(reader_answer(&real, "x", &[0u8; 47]), Err(SecureError::Malformed)));
    }
}
