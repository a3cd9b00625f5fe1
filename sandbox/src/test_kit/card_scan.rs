//! Looks for card data in a file's bytes: what a data scan after a test day must never find.
//! Used by the kill suite (database, WAL, secure store) and the demo test (databases, logs).

use crate::test_cards::TEST_CARDS;

/// The Luhn check digit rule (ISO/IEC 7812-1).
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if !i.is_multiple_of(2) {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Card data anywhere in `bytes`: a Luhn-valid 13-19 digit number that looks like a card (first
/// digit 3-6, standing alone), a track 2 (`digits=digits`), a test card's number, or any blob
/// the reader sent (raw or hex).
pub fn card_data_in(bytes: &[u8], issued: &[Vec<u8>]) -> Option<String> {
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &bytes[start..i];
        let alone = (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
            && (i == bytes.len() || !bytes[i].is_ascii_alphanumeric() || bytes[i] == b'=');
        if (13..=19).contains(&run.len()) && alone && (b'3'..=b'6').contains(&run[0]) && luhn(run) {
            return Some(format!("a card-like number at byte {start}"));
        }
        let left_alone = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let expiry_follows =
            bytes.get(i) == Some(&b'=') && bytes.get(i + 1..i + 5).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if (12..=19).contains(&run.len()) && left_alone && luhn(run) && expiry_follows {
            let context =
                String::from_utf8_lossy(&bytes[start.saturating_sub(16)..(i + 16).min(bytes.len())]).into_owned();
            return Some(format!("track data at byte {start}: {context:?}"));
        }
    }
    for card in TEST_CARDS {
        if bytes.windows(card.pan.len()).any(|w| w == card.pan.as_bytes()) {
            return Some(format!("the number of test card {}", card.name));
        }
    }
    for blob in issued {
        let forms = [blob.clone(), hex::encode(blob).into_bytes(), hex::encode_upper(blob).into_bytes()];
        if forms.iter().any(|f| bytes.windows(f.len()).any(|w| w == &f[..])) {
            return Some("an encrypted track or PIN block from the reader".into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_data_scan_finds_what_it_looks_for() {
        assert!(card_data_in(b"x 6217001234567890015 y", &[]).is_some());
        assert!(card_data_in(b"6217001234567890015=30122011234", &[]).is_some());
        assert!(card_data_in(b";4111111111111111=2512?", &[]).is_some());
        assert!(card_data_in(b"blob\x01\x02\x03", &[b"\x01\x02\x03".to_vec()]).is_some());
        assert!(card_data_in(b"id 0102ab", &[vec![1, 2, 0xAB]]).is_some(), "hex forms too");
        assert!(card_data_in(b"merchant 898440358120001 ts 1795000000 ref 000000123456 pan 621700*********0015", &[])
            .is_none());
    }
}
