//! Any text as a scanned payment code and as a merchant-presented QR payload: never a panic; a
//! payload that decodes has the CRC it claims, and its typed fields, written again, read back
//! the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starpos_protocol::qr::crc::crc16_ccitt_false;
use starpos_protocol::qr::mpm::{self, Initiation, MerchantQrInput};
use starpos_protocol::qr::payment_code;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = payment_code::classify(text);
    let Ok(qr) = mpm::decode(text) else { return };
    let covered: String = text.chars().take(text.chars().count() - 4).collect();
    let claimed =
        u16::from_str_radix(&text.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<String>(), 16);
    assert_eq!(claimed.ok(), Some(crc16_ccitt_false(covered.as_bytes())), "a decoded payload has its CRC");
    let input = MerchantQrInput {
        initiation: qr.initiation.unwrap_or(Initiation::Static),
        accounts: qr.accounts.clone(),
        category_code: qr.category_code.clone(),
        currency: qr.currency,
        amount_fen: qr.amount_fen,
        country: qr.country.clone(),
        name: qr.name.clone(),
        city: qr.city.clone(),
        additional: qr.additional.clone(),
        alternate_language: qr.alternate_language.clone(),
    };
    if let Ok(again) = mpm::encode(&input) {
        let back = mpm::decode(&again).expect("what encode writes, decode reads");
        assert_eq!(
            (&back.name, &back.city, back.amount_fen, back.currency),
            (&qr.name, &qr.city, qr.amount_fen, qr.currency)
        );
    }
});
