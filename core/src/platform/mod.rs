//! The payment platform's HTTPS API as the core uses it: wire types shared with the sandbox,
//! request signing, TLS with optional key pinning, and a client with time-outs and retries.

mod client;
pub mod compress;
pub mod link;
pub mod meter;
pub mod signing;
pub mod tls;
pub mod wire;

pub use client::{Auth, PlatformClient, Timeouts};
