//! Electronic signatures (电子签名). The app passes the strokes the customer drew on its canvas;
//! the phone keeps them compressed (that is also what goes to the platform: a few hundred bytes
//! where an image would be kilobytes, which matters on a roaming SIM) and renders them as a
//! 1-bit image: PNG for the e-receipt, a raster bit image for the receipt printer.
//!
//! Compressed form, version 1: one byte `1`, then raw DEFLATE of: width, height, stroke count,
//! and per stroke its point count and points, each point as deltas from the previous point
//! (x, y, milliseconds; zigzag LEB128 varints). The first point is relative to (0, 0, 0).

use std::io::{Read, Write};

/// What is wrong with a signature, in words for the person who can fix it (the phone's core
/// turns it into its invalid-input error for the field `signature`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignatureError(pub String);

fn invalid(why: impl Into<String>) -> SignatureError {
    SignatureError(why.into())
}

/// Largest canvas side and point count the core accepts (a phone canvas is ~1,000 px; a long
/// signature ~2,000 points).
pub const MAX_SIDE: u32 = 8_192;
pub const MAX_POINTS: usize = 20_000;
/// The printed and e-receipt image fits in 384 x 160 dots: the print width of a 58 mm printer.
pub const IMAGE_WIDTH: u32 = 384;
pub const IMAGE_HEIGHT: u32 = 160;
const VERSION: u8 = 1;
/// Refuse to inflate more than this (a hostile blob cannot make the core allocate much).
const MAX_INFLATED: u64 = 16 * MAX_POINTS as u64 + 64;

/// One sample of the pen: canvas pixels from the top left, and milliseconds since the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub x: u32,
    pub y: u32,
    pub t_ms: u32,
}

/// What the customer drew: strokes of points on a canvas of `width` x `height` pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub width: u32,
    pub height: u32,
    pub strokes: Vec<Vec<Point>>,
}

impl Signature {
    /// Checks what the app passed; the error names the field to fix.
    pub fn check(&self) -> Result<(), SignatureError> {
        if !(1..=MAX_SIDE).contains(&self.width) || !(1..=MAX_SIDE).contains(&self.height) {
            return Err(invalid(format!("the canvas is 1 to {MAX_SIDE} pixels each way")));
        }
        let points: usize = self.strokes.iter().map(Vec::len).sum();
        if points < 2 || self.strokes.iter().any(Vec::is_empty) {
            return Err(invalid("nothing was drawn (every stroke needs a point, at least two in all)"));
        }
        if points > MAX_POINTS {
            return Err(invalid(format!("at most {MAX_POINTS} points")));
        }
        if self.strokes.iter().flatten().any(|p| p.x >= self.width || p.y >= self.height) {
            return Err(invalid("a point lies outside the canvas"));
        }
        Ok(())
    }

    /// The compressed form (see the module comment).
    pub fn encode(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(16 + 3 * MAX_POINTS.min(self.strokes.iter().map(Vec::len).sum()));
        put_varint(&mut raw, self.width.into());
        put_varint(&mut raw, self.height.into());
        put_varint(&mut raw, self.strokes.len() as u64);
        let mut last = Point { x: 0, y: 0, t_ms: 0 };
        for stroke in &self.strokes {
            put_varint(&mut raw, stroke.len() as u64);
            for p in stroke {
                for (now, before) in [(p.x, last.x), (p.y, last.y), (p.t_ms, last.t_ms)] {
                    put_varint(&mut raw, zigzag(i64::from(now) - i64::from(before)));
                }
                last = *p;
            }
        }
        let mut out = vec![VERSION];
        let mut z = flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = z.write_all(&raw);
        let _ = z.finish();
        out
    }

    /// Reads the compressed form back; anything malformed is an invalid-signature error.
    pub fn decode(bytes: &[u8]) -> Result<Signature, SignatureError> {
        let bad = |why: &str| invalid(format!("the signature data is damaged: {why}"));
        let (&version, body) = bytes.split_first().ok_or_else(|| bad("empty"))?;
        if version != VERSION {
            return Err(bad("unknown version"));
        }
        let mut raw = Vec::new();
        flate2::read::DeflateDecoder::new(body)
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut raw)
            .map_err(|_| bad("not deflate"))?;
        if raw.len() as u64 > MAX_INFLATED {
            return Err(bad("too large"));
        }
        let mut r = Cursor { bytes: &raw, at: 0 };
        let side = |v: u64| u32::try_from(v).ok().filter(|s| (1..=MAX_SIDE).contains(s)).ok_or_else(|| bad("canvas"));
        let width = side(r.varint().ok_or_else(|| bad("truncated"))?)?;
        let height = side(r.varint().ok_or_else(|| bad("truncated"))?)?;
        let count = r.varint().ok_or_else(|| bad("truncated"))?;
        if count > MAX_POINTS as u64 {
            return Err(bad("too many strokes"));
        }
        let mut strokes = Vec::with_capacity(count as usize);
        let mut last = [0i64; 3];
        let mut total = 0usize;
        for _ in 0..count {
            let n = r.varint().ok_or_else(|| bad("truncated"))? as usize;
            total = total.saturating_add(n);
            if total > MAX_POINTS {
                return Err(bad("too many points"));
            }
            let mut stroke = Vec::with_capacity(n);
            for _ in 0..n {
                for v in &mut last {
                    let delta = unzigzag(r.varint().ok_or_else(|| bad("truncated"))?);
                    *v = v.checked_add(delta).ok_or_else(|| bad("point out of range"))?;
                }
                let coord = |v: i64| u32::try_from(v).map_err(|_| bad("point out of range"));
                stroke.push(Point { x: coord(last[0])?, y: coord(last[1])?, t_ms: coord(last[2])? });
            }
            strokes.push(stroke);
        }
        if r.at != raw.len() {
            return Err(bad("trailing bytes"));
        }
        let s = Signature { width, height, strokes };
        s.check().map_err(|_| bad("not a drawing"))?;
        Ok(s)
    }

    /// The signature drawn with a 3-dot pen, scaled to fit [`IMAGE_WIDTH`] x [`IMAGE_HEIGHT`]
    /// with its proportions kept.
    pub fn render(&self) -> Bitmap {
        // Scale by the rational out/in of the tighter side, in integers.
        let (num, den) =
            if u64::from(IMAGE_WIDTH) * u64::from(self.height) <= u64::from(IMAGE_HEIGHT) * u64::from(self.width) {
                (u64::from(IMAGE_WIDTH), u64::from(self.width))
            } else {
                (u64::from(IMAGE_HEIGHT), u64::from(self.height))
            };
        let scale = |v: u32| (u64::from(v) * num / den) as i64;
        let width = (scale(self.width) as u32).clamp(1, IMAGE_WIDTH);
        let height = (scale(self.height) as u32).clamp(1, IMAGE_HEIGHT);
        let mut bitmap = Bitmap::blank(width, height);
        for stroke in &self.strokes {
            let mut previous: Option<(i64, i64)> = None;
            for p in stroke {
                let here = (scale(p.x), scale(p.y));
                bitmap.line(previous.unwrap_or(here), here);
                previous = Some(here);
            }
        }
        bitmap
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

/// A 1-bit image, rows packed most significant bit first, 1 = ink: the layout ESC/POS raster
/// images use, so printing needs no conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    bits: Vec<u8>,
}

impl Bitmap {
    pub fn blank(width: u32, height: u32) -> Bitmap {
        Bitmap { width, height, bits: vec![0; Self::row_bytes(width) * height as usize] }
    }

    fn row_bytes(width: u32) -> usize {
        width.div_ceil(8) as usize
    }

    pub fn ink(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && {
            let i = y as usize * Self::row_bytes(self.width) + x as usize / 8;
            self.bits[i] & (0x80 >> (x % 8)) != 0
        }
    }

    pub fn set(&mut self, x: i64, y: i64) {
        if (0..i64::from(self.width)).contains(&x) && (0..i64::from(self.height)).contains(&y) {
            let i = y as usize * Self::row_bytes(self.width) + x as usize / 8;
            self.bits[i] |= 0x80 >> (x % 8);
        }
    }

    /// How many dots are inked.
    pub fn ink_count(&self) -> u32 {
        self.bits.iter().map(|b| b.count_ones()).sum()
    }

    /// A line from `a` to `b` (Bresenham) with a 3 x 3 pen.
    fn line(&mut self, (mut x, mut y): (i64, i64), (x1, y1): (i64, i64)) {
        let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
        let (sx, sy) = (if x < x1 { 1 } else { -1 }, if y < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            for (ox, oy) in [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)] {
                self.set(x + ox, y + oy);
            }
            if x == x1 && y == y1 {
                return;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// A 1-bit greyscale PNG (black ink on white).
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        // PNG greyscale: 0 is black, so the ink bits are inverted (padding bits too, harmlessly).
        let inverted: Vec<u8> = self.bits.iter().map(|b| !b).collect();
        // Encoding a well-formed image into a Vec cannot fail; an empty result would show as a
        // broken image rather than a crash.
        if let Ok(mut writer) = encoder.write_header() {
            let _ = writer.write_image_data(&inverted);
        }
        out
    }

    /// ESC/POS `GS v 0` raster bit image, normal density.
    pub fn escpos_raster(&self) -> Vec<u8> {
        let x = Self::row_bytes(self.width) as u16;
        let y = self.height as u16;
        let mut out = vec![0x1D, 0x76, 0x30, 0x00];
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
        out.extend_from_slice(&self.bits);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plausible signature: a few wavy strokes sampled every 10 ms.
    pub(crate) fn sample() -> Signature {
        let mut t = 0;
        let strokes = (0..3u32)
            .map(|s| {
                (0..120u32)
                    .map(|i| {
                        t += 10;
                        let x = 40 + s * 220 + i * 2;
                        let y = (150 + ((i as f64 / 8.0).sin() * 60.0) as i64) as u32 + s * 5;
                        Point { x, y, t_ms: t }
                    })
                    .collect()
            })
            .collect();
        Signature { width: 900, height: 300, strokes }
    }

    #[test]
    fn the_compressed_form_round_trips_and_is_small() {
        let s = sample();
        s.check().unwrap();
        let bytes = s.encode();
        assert_eq!(Signature::decode(&bytes).unwrap(), s);
        // 360 points: well under 3 bytes a point, where a PNG of it is kilobytes.
        assert!(bytes.len() < 700, "{} bytes", bytes.len());
        assert!(s.render().png().len() > bytes.len());
    }

    #[test]
    fn damaged_data_is_a_typed_error() {
        let good = sample().encode();
        for bad in [vec![], vec![2], vec![1, 0xFF, 0xFF], good[..good.len() / 2].to_vec()] {
            assert!(matches!(Signature::decode(&bad), Err(SignatureError(_))), "{bad:?}");
        }
        // A deflate bomb: a megabyte of zeros is refused after the cap, not inflated whole.
        let mut bomb = vec![VERSION];
        let mut z = flate2::write::DeflateEncoder::new(&mut bomb, flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 20]).unwrap();
        z.finish().unwrap();
        assert!(matches!(Signature::decode(&bomb), Err(SignatureError(_))));
    }

    #[test]
    fn what_the_app_passes_is_checked() {
        let mut s = sample();
        s.strokes[0][0].x = 900;
        assert!(s.check().is_err(), "outside the canvas");
        let dot = Signature { width: 10, height: 10, strokes: vec![vec![Point { x: 1, y: 1, t_ms: 0 }]] };
        assert!(dot.check().is_err(), "a single dot is not a signature");
        assert!(Signature { width: 0, ..sample() }.check().is_err());
        assert!(Signature { strokes: vec![vec![], vec![]], ..sample() }.check().is_err());
    }

    #[test]
    fn rendering_scales_into_the_receipt_image_and_inks_the_strokes() {
        let s = Signature {
            width: 1000,
            height: 250,
            strokes: vec![vec![Point { x: 0, y: 100, t_ms: 0 }, Point { x: 999, y: 100, t_ms: 400 }]],
        };
        let b = s.render();
        assert_eq!((b.width, b.height), (384, 96), "proportions kept, width bound");
        let row = 100 * 384 / 1000;
        assert!((1..383).all(|x| b.ink(x, row) && b.ink(x, row - 1) && b.ink(x, row + 1)), "a 3-dot line");
        assert!(!b.ink(10, row + 3));
        let tall = Signature { width: 100, height: 1000, ..s.clone() };
        let tall =
            Signature { strokes: vec![vec![Point { x: 50, y: 0, t_ms: 0 }, Point { x: 50, y: 999, t_ms: 9 }]], ..tall };
        let b = tall.render();
        assert_eq!((b.width, b.height), (16, 160), "height bound");
    }

    #[test]
    fn the_png_decodes_to_the_same_dots() {
        let bitmap = sample().render();
        let png = bitmap.png();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (bitmap.width, bitmap.height));
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        let row = frame.line_size;
        let mut inked = 0;
        for y in 0..bitmap.height {
            for x in 0..bitmap.width {
                let black = buf[y as usize * row + x as usize / 8] & (0x80 >> (x % 8)) == 0;
                assert_eq!(black, bitmap.ink(x, y), "dot ({x}, {y})");
                inked += black as u32;
            }
        }
        assert_eq!(inked, bitmap.ink_count());
        assert!(inked > 500);
    }

    /// Raster bytes equal python-escpos 3.1's for the same images (core/tests/data/PROVENANCE.md).
    #[test]
    fn raster_bytes_match_python_escpos() {
        let cases: serde_json::Value = serde_json::from_str(include_str!("../tests/data/escpos_raster.json")).unwrap();
        for case in cases.as_array().unwrap() {
            let input = &case["input"];
            let mut b =
                Bitmap::blank(input["width"].as_u64().unwrap() as u32, input["height"].as_u64().unwrap() as u32);
            for dot in input["ink"].as_array().unwrap() {
                b.set(dot[0].as_i64().unwrap(), dot[1].as_i64().unwrap());
            }
            assert_eq!(
                hex::encode_upper(b.escpos_raster()),
                case["expected"]["bytes_hex"].as_str().unwrap(),
                "{}",
                case["name"]
            );
        }
    }

    proptest! {
        #[test]
        fn any_drawing_round_trips(
            width in 1u32..3000,
            height in 1u32..3000,
            raw in proptest::collection::vec(proptest::collection::vec((0u32..3000, 0u32..3000, 0u32..100_000), 1..40), 1..6),
        ) {
            let strokes: Vec<Vec<Point>> = raw
                .into_iter()
                .map(|s| s.into_iter().map(|(x, y, t_ms)| Point { x: x % width, y: y % height, t_ms }).collect())
                .collect();
            let s = Signature { width, height, strokes };
            prop_assume!(s.check().is_ok());
            prop_assert_eq!(Signature::decode(&s.encode()).unwrap(), s.clone());
            let b = s.render();
            prop_assert!(b.width <= IMAGE_WIDTH && b.height <= IMAGE_HEIGHT && b.ink_count() > 0);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Signature::decode(&bytes);
        }
    }
}
