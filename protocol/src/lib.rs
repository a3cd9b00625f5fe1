//! What the phone and the platform must agree on, in one place: the wire types and request
//! signing of the platform API, compressed bodies, the business-day calendar, the fee rule, the
//! province table and boundaries with the cross-province rule, the shared input rules, the signature strokes'
//! format, and the
//! reader protocol's codecs (frames, commands, the secure session, card data, TLV, firmware
//! packages), and QR payments' codecs (the EMVCo merchant-presented payload and its CRC, the
//! wallets' payment codes). `starpos-core` (the phone) and `starpos-sandbox` (the development platform and
//! the simulated reader) both build on it; neither reaches into the other for these.

pub mod boundaries;
pub mod calendar;
pub mod checks;
pub mod compress;
pub mod cross_province;
pub mod der;
pub mod fees;
pub mod provinces;
pub mod qr;
pub mod reader;
pub mod sealed_details;
pub mod signature;
pub mod signing;
pub mod util;
pub mod validate;
pub mod wire;
