//! Any bytes, cut into any chunks, fed to the reader frame decoder: it must never panic, and
//! every frame it hands up must be one that encodes back to bytes it decodes the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../protocol/src/reader/frame.rs"]
mod frame;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else { return };
    // The first byte chooses the chunk size, as the negotiated MTU would (1 to 256 bytes).
    let chunk = cut as usize + 1;
    let mut decoder = frame::Decoder::new();
    let mut frames = Vec::new();
    for piece in bytes.chunks(chunk) {
        frames.extend(decoder.push(piece));
    }
    for f in frames {
        assert!(f.payload.len() <= frame::MAX_PAYLOAD);
        let encoded = f.encode().expect("a decoded frame re-encodes");
        let again = frame::Decoder::new().push(&encoded);
        assert_eq!(again, vec![f]);
    }
});
