//! Reader frames: the unit of the phone–reader conversation (docs/reader-protocol.md).
//!
//! ```text
//! 0      1        2      3..5     5..7      7..9      9        10..10+n  +4
//! magic  version  flags  seq(BE)  cmd(BE)   len(BE)   hcrc     payload   CRC-32(BE) over bytes 0..10+n
//! 'S'    0x01                                         CRC-8 of bytes 0..9
//! ```
//!
//! The header has its own CRC-8 so that a damaged length is caught at once, instead of making
//! the receiver wait for bytes that will never come.
//!
//! Over Bluetooth a frame is cut into writes of at most `MTU - 3` bytes ([`chunks`]); the
//! receiver feeds whatever arrives into a [`Decoder`], which finds frame boundaries itself, so
//! chunk boundaries carry no meaning. A frame whose CRC fails is dropped and the decoder
//! resynchronises on the next magic byte: corruption costs a retransmission, never a wrong frame.

use std::collections::VecDeque;

pub const MAGIC: u8 = b'S';
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 10;
pub const CRC_LEN: usize = 4;
/// The largest payload a frame may carry (a firmware chunk of 4 KiB plus its envelope fits).
pub const MAX_PAYLOAD: usize = 8 * 1024;
/// ATT header bytes taken from each write by the Bluetooth stack.
pub const ATT_OVERHEAD: usize = 3;

/// Frame flags.
pub mod flags {
    /// A response to the request with the same sequence number.
    pub const RESPONSE: u8 = 0x01;
    /// Acknowledges receipt of the frame with the same sequence number (no payload).
    pub const ACK: u8 = 0x02;
    /// The payload is sealed by the secure session.
    pub const ENCRYPTED: u8 = 0x04;
    /// An unsolicited event from the reader (card inserted, battery low, ...).
    pub const EVENT: u8 = 0x08;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub flags: u8,
    pub seq: u16,
    pub command: u16,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("payload of {0} bytes is over the {MAX_PAYLOAD}-byte limit")]
    PayloadTooLarge(usize),
    #[error("MTU {0} is too small: the Bluetooth stack takes 3 bytes of each write")]
    MtuTooSmall(usize),
}

impl Frame {
    pub fn new(flags: u8, seq: u16, command: u16, payload: Vec<u8>) -> Self {
        Frame { flags, seq, command, payload }
    }

    /// The frame's bytes, CRC included.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(FrameError::PayloadTooLarge(self.payload.len()));
        }
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len() + CRC_LEN);
        out.extend_from_slice(&[MAGIC, VERSION, self.flags]);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.command.to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        out.push(crc8(&out));
        out.extend_from_slice(&self.payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        Ok(out)
    }
}

/// Cuts encoded bytes into Bluetooth writes for the negotiated `mtu`.
pub fn chunks(bytes: &[u8], mtu: usize) -> Result<impl Iterator<Item = &[u8]>, FrameError> {
    if mtu <= ATT_OVERHEAD {
        return Err(FrameError::MtuTooSmall(mtu));
    }
    Ok(bytes.chunks(mtu - ATT_OVERHEAD))
}

/// What the decoder noticed besides whole frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames dropped because their CRC did not match.
    pub crc_failures: u64,
    /// Bytes skipped while looking for a frame start.
    pub skipped_bytes: u64,
}

/// Reassembles frames from a byte stream cut anywhere.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: VecDeque<u8>,
    pub stats: DecoderStats,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes and returns every frame now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        self.buf.extend(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = self.next_frame() {
            frames.push(frame);
        }
        frames
    }

    fn next_frame(&mut self) -> Option<Frame> {
        loop {
            // Find a plausible start: magic then version.
            while let Some(&b) = self.buf.front() {
                if b == MAGIC && self.buf.get(1).is_none_or(|&v| v == VERSION) {
                    break;
                }
                self.buf.pop_front();
                self.stats.skipped_bytes += 1;
            }
            if self.buf.len() < HEADER_LEN {
                return None;
            }
            let header: Vec<u8> = self.buf.range(..HEADER_LEN).copied().collect();
            let len = u16::from_be_bytes([header[7], header[8]]) as usize;
            if crc8(&header[..HEADER_LEN - 1]) != header[HEADER_LEN - 1] || len > MAX_PAYLOAD {
                self.stats.crc_failures += 1;
                self.skip_one();
                continue;
            }
            let total = HEADER_LEN + len + CRC_LEN;
            if self.buf.len() < total {
                return None;
            }
            let bytes: Vec<u8> = self.buf.range(..total).copied().collect();
            let (body, crc) = bytes.split_at(total - CRC_LEN);
            if crc32(body).to_be_bytes() != crc {
                self.stats.crc_failures += 1;
                self.skip_one();
                continue;
            }
            self.buf.drain(..total);
            return Some(Frame {
                flags: body[2],
                seq: u16::from_be_bytes([body[3], body[4]]),
                command: u16::from_be_bytes([body[5], body[6]]),
                payload: body[HEADER_LEN..].to_vec(),
            });
        }
    }

    fn skip_one(&mut self) {
        self.buf.pop_front();
        self.stats.skipped_bytes += 1;
    }

    /// Bytes held waiting for the rest of a frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// CRC-8 (polynomial 0x07, initial 0, the "SMBus" CRC-8), bitwise; detects any single damaged
/// byte of the 9-byte header.
pub fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
    }
    crc
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), from `crc32fast` (already linked
/// for gzip and PNG): table-driven or SIMD, where the bitwise loop this replaced cost 8 steps a
/// byte on every frame of a sale and of a firmware image.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc_matches_the_published_check_value() {
        // The standard check value of CRC-32/ISO-HDLC over the ASCII digits 1 to 9.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // The same as the bitwise definition over other lengths and contents.
        let bitwise = |bytes: &[u8]| {
            let mut crc = 0xFFFF_FFFFu32;
            for &b in bytes {
                crc ^= b as u32;
                for _ in 0..8 {
                    crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
                }
            }
            !crc
        };
        let data: Vec<u8> = (0..5_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for n in [0, 1, 7, 64, 65, 1_000, 5_000] {
            assert_eq!(crc32(&data[..n]), bitwise(&data[..n]), "{n} bytes");
        }
        assert_eq!(crc32(b""), 0);
        // CRC-8/SMBUS check value.
        assert_eq!(crc8(b"123456789"), 0xF4);
    }

    #[test]
    fn layout_is_as_documented() {
        let bytes = Frame::new(flags::RESPONSE, 0x0102, 0x0304, vec![0xAA]).encode().unwrap();
        assert_eq!(&bytes[..9], &[b'S', 1, 1, 1, 2, 3, 4, 0, 1]);
        assert_eq!(bytes[9], crc8(&bytes[..9]));
        assert_eq!(bytes[10], 0xAA);
        assert_eq!(bytes.len(), 15);
        assert_eq!(&bytes[11..], &crc32(&bytes[..11]).to_be_bytes());
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(
            Frame::new(0, 0, 0, vec![0; MAX_PAYLOAD + 1]).encode(),
            Err(FrameError::PayloadTooLarge(MAX_PAYLOAD + 1))
        );
        assert!(chunks(b"abc", 3).is_err());
        assert_eq!(chunks(b"abcd", 4).unwrap().count(), 4);
    }

    #[test]
    fn garbage_before_a_frame_is_skipped() {
        let frame = Frame::new(0, 7, 1, b"hello".to_vec());
        let mut stream = vec![0x00, b'S', 0x09, 0xFF];
        stream.extend(frame.encode().unwrap());
        let mut d = Decoder::new();
        assert_eq!(d.push(&stream), vec![frame]);
        assert_eq!(d.pending(), 0);
        assert!(d.stats.skipped_bytes >= 3);
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        (any::<u8>(), any::<u16>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..600))
            .prop_map(|(f, s, c, p)| Frame::new(f, s, c, p))
    }

    proptest! {
        /// Any sequence of frames, cut for any MTU (23 is the BLE minimum, 517 the maximum),
        /// reassembles exactly.
        #[test]
        fn any_frames_at_any_mtu_reassemble(frames in proptest::collection::vec(arb_frame(), 1..6), mtu in 4usize..=517) {
            let stream: Vec<u8> = frames.iter().flat_map(|f| f.encode().unwrap()).collect();
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for chunk in chunks(&stream, mtu).unwrap() {
                got.extend(d.push(chunk));
            }
            prop_assert_eq!(got, frames);
            prop_assert_eq!(d.pending(), 0);
        }

        /// Any corruption of one byte is detected: the damaged frame never comes out altered,
        /// and the frame after it still arrives.
        #[test]
        fn any_single_byte_corruption_is_detected(a in arb_frame(), b in arb_frame(), at in any::<usize>(), xor in 1u8..=255) {
            let mut stream = a.encode().unwrap();
            let first_len = stream.len();
            stream.extend(b.encode().unwrap());
            let at = at % first_len;
            stream[at] ^= xor;
            let mut d = Decoder::new();
            let got = d.push(&stream);
            prop_assert_eq!(got, vec![b], "only the intact frame comes out");
            prop_assert!(d.stats.crc_failures + d.stats.skipped_bytes > 0);
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut d = Decoder::new();
            let _ = d.push(&bytes);
        }
    }
}
