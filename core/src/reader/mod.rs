//! The card reader: the written protocol (docs/reader-protocol.md), its frame codec, the
//! secure session, and the connection over the shell's Bluetooth link. The phone never sees
//! clear card data: it carries the reader's encrypted blobs to the platform.

pub mod connection;
pub mod controller;
mod failure;
pub mod firmware;
pub mod link;

/// The protocol's codecs, shared with the simulated reader (`starpos_protocol::reader`).
pub use starpos_protocol::reader::{card, commands, frame, phone_cert, secure, tlv};
