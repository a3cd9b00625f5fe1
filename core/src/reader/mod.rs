//! The card reader: the written protocol (docs/reader-protocol.md), its frame codec, and the
//! card-data cryptography the platform relies on. The phone never sees clear card data: it
//! carries the reader's encrypted blobs to the platform.

pub mod frame;
pub mod secure;
