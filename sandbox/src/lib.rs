//! The StarPOS sandbox: a development payment platform that runs on loopback with no bank and
//! no hardware, and the `starpos` command (sandbox server and demo).
//!
//! Integration tests, the binding tests and the demo all talk to this server over real
//! sockets; nothing in them fakes the platform.

pub mod card_scan;
pub mod demo;
pub mod dev_client;
pub mod file_store;
pub mod fixtures;
pub mod hsm;
pub mod netem;
pub mod platform;
pub mod reader;
pub mod test_cards;

pub use platform::{Sandbox, SandboxConfig};
