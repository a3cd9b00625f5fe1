//! The phone's own parsers of bytes it did not make: the DER of a server certificate (for the
//! SPKI pin) and the sealed card details of a journal row. Never a panic; the public key found
//! lies inside the certificate; card details that decode encode back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starpos_protocol::der::spki_of;
use starpos_protocol::sealed_details::CardDetails;

fuzz_target!(|data: &[u8]| {
    if let Some(spki) = spki_of(data) {
        assert!(spki.len() <= data.len() && spki.first() == Some(&0x30), "an SPKI is a SEQUENCE inside the input");
        let start = spki.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start + spki.len() <= data.len());
    }
    if let Some(details) = CardDetails::from_bytes(data) {
        assert_eq!(details.to_bytes(), data, "decoded details encode back to their bytes");
    }
});
