//! The payment platform's HTTPS API as the core uses it: wire types shared with the sandbox,
//! request signing, TLS with optional key pinning, and a client with time-outs and retries.

mod client;
pub mod delivery;
pub mod link;
pub mod meter;
pub mod tls;

pub use client::{Auth, PlatformClient, Timeouts};
/// Shared with the platform (`starpos_protocol`).
pub use starpos_protocol::{compress, signing, wire};
