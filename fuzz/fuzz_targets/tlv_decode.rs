//! Any bytes through the EMV BER-TLV decoders and the field-55 checks: never a panic; whatever
//! decodes re-encodes to bytes that decode to the same objects; the allow-list filter never
//! lets a card-secret tag through.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../protocol/src/reader/tlv.rs"]
mod tlv;

fuzz_target!(|data: &[u8]| {
    if let Ok(objects) = tlv::decode(data) {
        let encoded = tlv::encode(&objects);
        assert_eq!(tlv::decode(&encoded).expect("re-encoded TLV decodes"), objects);
    }
    if let Ok(objects) = tlv::decode_nested(data) {
        let _ = tlv::contains_card_secret(&objects);
        let kept = tlv::field55_filter(&objects, tlv::FIELD55_ALLOW);
        assert_eq!(tlv::contains_card_secret(&kept), None);
        if let Ok(encoded) = tlv::try_encode(&objects) {
            assert_eq!(tlv::decode_nested(&encoded).expect("re-encoded TLV decodes"), objects);
        }
    }
});
