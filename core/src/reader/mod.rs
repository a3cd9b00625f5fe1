//! The card reader: the written protocol (docs/reader-protocol.md), its frame codec, the
//! secure session, and the connection over the shell's Bluetooth link. The phone never sees
//! clear card data: it carries the reader's encrypted blobs to the platform.

pub mod card;
pub mod commands;
pub mod connection;
pub mod controller;
mod failure;
pub mod firmware;
pub mod frame;
pub mod link;
pub mod secure;
pub mod tlv;
