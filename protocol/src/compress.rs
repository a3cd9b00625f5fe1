//! Compressed bodies (the data saver): off Wi-Fi, JSON bodies of at least [`COMPRESS_FROM`]
//! bytes travel gzip'd (`Content-Encoding: gzip`) in both directions, when that makes them
//! smaller (gzip's fastest level: these bodies are small, and the level hardly matters to them). The
//! request signature covers the JSON as written, before compression, so the platform
//! decompresses first (up to a cap: no decompression bombs) and verifies the same bytes.

use std::io::{Read, Write};

/// Smaller bodies are sent as they are: gzip's 18-byte frame would eat the gain.
pub const COMPRESS_FROM: usize = 256;

/// `body` gzip'd, or `None` when that would not make it smaller.
pub fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < COMPRESS_FROM {
        return None;
    }
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 2), flate2::Compression::fast());
    e.write_all(body).ok()?;
    let out = e.finish().ok()?;
    (out.len() < body.len()).then_some(out)
}

/// Why a body could not be decompressed.
#[derive(Debug, PartialEq, Eq)]
pub enum GunzipError {
    Corrupt,
    TooLarge,
}

/// `body` un-gzip'd, refusing more than `max` bytes of output.
pub fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(3).min(max));
    let read = flate2::read::GzDecoder::new(body)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| GunzipError::Corrupt)?;
    if read > max {
        return Err(GunzipError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let json = br#"{"field55":"9f2608a1b2c3d4e5f60718"}"#.repeat(20);
        let packed = gzip(&json).expect("repetitive JSON shrinks");
        assert!(packed.len() < json.len() / 3);
        assert_eq!(gunzip(&packed, 1 << 20).unwrap(), json);
        assert_eq!(gunzip(&packed, 100), Err(GunzipError::TooLarge));
        assert_eq!(gunzip(b"not gzip at all", 1000), Err(GunzipError::Corrupt));
        assert!(gzip(b"{}").is_none(), "small bodies go as they are");
        // A bomb: 10 MB of zeros is refused at the cap, not inflated whole.
        let bomb = gzip(&vec![0u8; 10 << 20]).unwrap();
        assert_eq!(gunzip(&bomb, 64 * 1024), Err(GunzipError::TooLarge));
    }
}
