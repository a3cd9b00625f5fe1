//! The reader protocol (docs/reader-protocol.md): frames with fragmentation and CRCs, commands
//! and statuses, the secure session, card-data records and their checks, EMV TLV, and firmware
//! packages. The phone's connection and the simulated reader both speak it.

pub mod card;
pub mod commands;
pub mod firmware;
pub mod frame;
pub mod phone_cert;
pub mod secure;
pub mod tlv;
