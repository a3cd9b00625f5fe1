//! QR payments' codecs (docs/qr.md): the EMVCo merchant-presented payload the phone shows
//! (`mpm`), its CRC (`crc`), and the customers' payment codes the phone scans (`payment_code`).
//! Both come from cameras and platforms, so every parser here takes untrusted text and answers a
//! typed error, never a panic.

pub mod crc;
pub mod mpm;
pub mod payment_code;
