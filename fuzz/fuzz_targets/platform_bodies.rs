//! Any bytes as what comes back from the platform: gzip bodies (inflated with the client's size
//! cap), then JSON parsed as each answer type the phone reads, and signature strokes (which the
//! platform also takes from phones). Never a panic; the cap holds; what decodes re-encodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starpos_protocol::compress::gunzip;
use starpos_protocol::signature::Signature;
use starpos_protocol::wire;

const CAP: usize = 1 << 20;

fn answers(body: &[u8]) {
    let _ = serde_json::from_slice::<wire::ErrorBody>(body);
    let _ = serde_json::from_slice::<wire::TokenResponse>(body);
    let _ = serde_json::from_slice::<wire::MerchantProfileWire>(body);
    let _ = serde_json::from_slice::<wire::CardsResponse>(body);
    let _ = serde_json::from_slice::<wire::PairedReaderWire>(body);
    let _ = serde_json::from_slice::<wire::ReverseResponse>(body);
    let _ = serde_json::from_slice::<wire::AdjustmentSettled>(body);
    let _ = serde_json::from_slice::<wire::TransactionsPage>(body);
    let _ = serde_json::from_slice::<wire::CrossProvinceWire>(body);
    if let Ok(p) = serde_json::from_slice::<wire::PaymentWire>(body) {
        let again: wire::PaymentWire = serde_json::from_slice(&serde_json::to_vec(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }
}

fuzz_target!(|data: &[u8]| {
    answers(data);
    if let Ok(inflated) = gunzip(data, CAP) {
        assert!(inflated.len() <= CAP);
        answers(&inflated);
    }
    if let Ok(signature) = Signature::decode(data) {
        assert_eq!(Signature::decode(&signature.encode()).ok(), Some(signature));
    }
});
