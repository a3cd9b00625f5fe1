//! Any bytes as each reader payload the phone decodes for a card (read-card request and
//! result, PIN result, completion request and result): never a panic; whatever decodes
//! re-encodes to the same bytes; a decoded card result, checked against a request, is either
//! refused with a typed reason or keeps only allow-listed chip data and no clear card number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starpos_protocol::reader::card::{
    check_result, CardResult, CompleteRequest, CompleteResult, EntryModes, PinResult, ReadCardRequest, CURRENCY_CNY,
};
use starpos_protocol::reader::tlv;

fuzz_target!(|data: &[u8]| {
    if let Some(r) = ReadCardRequest::decode(data) {
        assert_eq!(r.encode(), data);
    }
    if let Some(p) = PinResult::decode(data) {
        assert_eq!(p.encode(), data);
    }
    if let Some(c) = CompleteRequest::decode(data) {
        assert_eq!(c.encode(), data);
    }
    if let Some(c) = CompleteResult::decode(data) {
        assert_eq!(CompleteResult::decode(&c.encode()), Some(c));
    }
    if let Some(result) = CardResult::decode(data) {
        assert_eq!(CardResult::decode(&result.encode()).as_ref(), Some(&result));
        // The request the result claims to answer, so the later checks are reached too.
        let request = ReadCardRequest {
            amount_fen: result.amount_fen,
            currency: CURRENCY_CNY,
            modes: EntryModes::ALL,
            timeout_secs: 30,
            nonce: result.nonce,
            fallback: result.fallback,
        };
        if let Ok(read) = check_result(&request, result) {
            assert!(read.masked_pan.chars().filter(char::is_ascii_digit).count() <= 10);
            let kept = tlv::decode_nested(&read.field55).expect("field 55 re-decodes");
            assert!(kept.iter().all(|o| tlv::FIELD55_ALLOW.contains(&o.tag)));
            assert_eq!(tlv::contains_card_secret(&kept), None);
        }
    }
});
