//! The card details the phone seals in each journal row (docs/payments.md). Only the phone
//! reads them, but the bytes come back from a file anyone with the phone may have edited (the
//! seal stops edits; a leaked key would not), so the decoder is written and fuzzed as a parser
//! of untrusted input. Kept in this crate, which does no I/O, so the fuzz targets reach it.

use crate::wire::LocationWire;

/// What is sealed in a journal row: the masked card number and where the sale happened.
/// Layout: version 1, PAN length, PAN, then optionally latitude, longitude (i32 micro-degrees)
/// and accuracy (u32 metres), big-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub masked_pan: String,
    pub location: Option<LocationWire>,
}

impl CardDetails {
    pub fn to_bytes(&self) -> Vec<u8> {
        let pan = &self.masked_pan.as_bytes()[..self.masked_pan.len().min(255)];
        let mut out = vec![1, pan.len() as u8];
        out.extend_from_slice(pan);
        if let Some(l) = self.location {
            out.extend_from_slice(&l.latitude_e6.to_be_bytes());
            out.extend_from_slice(&l.longitude_e6.to_be_bytes());
            out.extend_from_slice(&l.accuracy_m.to_be_bytes());
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<CardDetails> {
        let (&[1, n], rest) = b.split_first_chunk::<2>()? else { return None };
        let pan = String::from_utf8(rest.get(..n as usize)?.to_vec()).ok()?;
        let location = match &rest[n as usize..] {
            [] => None,
            l if l.len() == 12 => Some(LocationWire {
                latitude_e6: i32::from_be_bytes(l[0..4].try_into().ok()?),
                longitude_e6: i32::from_be_bytes(l[4..8].try_into().ok()?),
                accuracy_m: u32::from_be_bytes(l[8..12].try_into().ok()?),
            }),
            _ => return None,
        };
        Some(CardDetails { masked_pan: pan, location })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_round_trip_and_anything_else_is_refused() {
        let with = CardDetails {
            masked_pan: "621700*********0015".into(),
            location: Some(LocationWire { latitude_e6: 22_543_096, longitude_e6: 114_057_865, accuracy_m: 12 }),
        };
        let without = CardDetails { location: None, ..with.clone() };
        for d in [&with, &without] {
            assert_eq!(CardDetails::from_bytes(&d.to_bytes()).as_ref(), Some(d));
        }
        let bytes = with.to_bytes();
        for cut in 0..bytes.len() {
            if cut != without.to_bytes().len() {
                assert_eq!(CardDetails::from_bytes(&bytes[..cut]), None, "cut at {cut}");
            }
        }
        assert_eq!(CardDetails::from_bytes(&[2, 0]), None, "another version");
        assert_eq!(CardDetails::from_bytes(&[1, 2, 0xFF, 0xFE]), None, "not UTF-8");
    }
}
