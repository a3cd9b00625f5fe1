//! Reader firmware packages: the platform signs an image (Ed25519 over its digest, size and
//! version), the phone carries it, the reader checks it. The package format, the FW_BEGIN
//! payload and the limits both ends apply; the phone's update procedure is in the core.

use ring::digest;
use ring::signature::{self, Ed25519KeyPair};

use super::commands::{put_str, Reader};

/// Below this charge an update is refused unless the reader is charging: a reader that dies
/// half-way through flashing is the classic failed update.
pub const MIN_BATTERY_PERCENT: u8 = 30;
/// Image bytes per chunk: fits a sealed frame with room to spare at any MTU.
pub const CHUNK_BYTES: usize = 2048;
const CONTEXT: &[u8] = b"starpos-firmware-v1";
const PACKAGE_MAGIC: &[u8] = b"SPFW";

/// A firmware image as the platform publishes it.
#[derive(Clone)]
pub struct FirmwareImage {
    pub version: String,
    pub bytes: Vec<u8>,
    /// Ed25519 signature by the platform's firmware key over [`signed_message`].
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for FirmwareImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirmwareImage").field("version", &self.version).field("size", &self.bytes.len()).finish()
    }
}

/// What the firmware signature covers: context, SHA-256 of the image, its size and version.
pub fn signed_message(sha256: &[u8], size: u32, version: &str) -> Vec<u8> {
    let mut m = CONTEXT.to_vec();
    m.extend_from_slice(sha256);
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(version.as_bytes());
    m
}

impl FirmwareImage {
    /// Signs an image (the platform's job; the sandbox uses it).
    pub fn sign(version: &str, bytes: Vec<u8>, key: &Ed25519KeyPair) -> FirmwareImage {
        let hash = digest::digest(&digest::SHA256, &bytes);
        let signature = key.sign(&signed_message(hash.as_ref(), bytes.len() as u32, version)).as_ref().to_vec();
        FirmwareImage { version: version.into(), bytes, signature }
    }

    pub fn sha256(&self) -> Vec<u8> {
        digest::digest(&digest::SHA256, &self.bytes).as_ref().to_vec()
    }

    /// Whether the platform's firmware key signed this image.
    pub fn verify(&self, firmware_key: &[u8]) -> bool {
        let Ok(size) = u32::try_from(self.bytes.len()) else { return false };
        signature::UnparsedPublicKey::new(&signature::ED25519, firmware_key)
            .verify(&signed_message(&self.sha256(), size, &self.version), &self.signature)
            .is_ok()
    }

    /// The image as the platform publishes it (a file or a download):
    /// `"SPFW" ‖ version (1-byte length + UTF-8) ‖ signature (64) ‖ image bytes`.
    pub fn to_package(&self) -> Vec<u8> {
        let mut p = PACKAGE_MAGIC.to_vec();
        put_str(&mut p, &self.version);
        p.extend_from_slice(&self.signature);
        p.extend_from_slice(&self.bytes);
        p
    }

    /// Reads a package; `None` if it is not one. (The signature is checked by [`Self::verify`].)
    pub fn from_package(package: &[u8]) -> Option<FirmwareImage> {
        let mut r = Reader(package.strip_prefix(PACKAGE_MAGIC)?);
        let version = r.str()?;
        let signature = r.bytes(64)?.to_vec();
        Some(FirmwareImage { version, signature, bytes: r.0.to_vec() })
    }

    /// The FW_BEGIN payload: size, SHA-256, version, signature.
    pub fn begin_payload(&self) -> Vec<u8> {
        let mut p = (self.bytes.len() as u32).to_be_bytes().to_vec();
        p.extend_from_slice(&self.sha256());
        put_str(&mut p, &self.version);
        p.extend_from_slice(&self.signature);
        p
    }
}

/// Decoded FW_BEGIN payload (reader side).
pub struct BeginRequest {
    pub size: u32,
    pub sha256: [u8; 32],
    pub version: String,
    pub signature: Vec<u8>,
}

impl BeginRequest {
    pub fn decode(p: &[u8]) -> Option<BeginRequest> {
        let mut r = Reader(p);
        let size = u32::from_be_bytes(r.bytes(4)?.try_into().ok()?);
        let sha256 = r.bytes(32)?.try_into().ok()?;
        let version = r.str()?;
        Some(BeginRequest { size, sha256, version, signature: r.0.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn key() -> Ed25519KeyPair {
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap().as_ref()).unwrap()
    }

    #[test]
    fn only_the_platform_key_signs() {
        let platform = key();
        let image = FirmwareImage::sign("2.0.0", vec![7; 1000], &platform);
        let public = signature::KeyPair::public_key(&platform).as_ref().to_vec();
        assert!(image.verify(&public));
        let mut tampered = image.clone();
        tampered.bytes[10] ^= 1;
        assert!(!tampered.verify(&public));
        let mut renamed = image.clone();
        renamed.version = "9.9.9".into();
        assert!(!renamed.verify(&public));
        assert!(!image.verify(signature::KeyPair::public_key(&key()).as_ref()));
        assert_eq!(FirmwareImage::from_package(&image.to_package()).unwrap().bytes, image.bytes);
        assert!(FirmwareImage::from_package(b"SPFW").is_none());
        assert!(FirmwareImage::from_package(b"nope").is_none());
        let begin = BeginRequest::decode(&image.begin_payload()).unwrap();
        assert_eq!((begin.size, begin.version.as_str(), begin.signature), (1000, "2.0.0", image.signature.clone()));
    }
}
