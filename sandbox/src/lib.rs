//! The StarPOS sandbox: a development payment platform that runs on loopback with no bank and
//! no hardware, and the `starpos` command (sandbox server and demo).
//!
//! Integration tests, the binding tests and the demo all talk to this server over real
//! sockets; nothing in them fakes the platform.
//!
//! The products are the platform (`platform`, with its HSM side in `hsm`), the reader
//! simulator (`reader`, with `test_cards`), the network proxy (`netem`) and the command line.
//! The test kit (`test_kit`: dev client, ready merchants, card scan, file store, quiet
//! listener, sample signature) and the demo built on it sit behind the `test-kit` feature.

#[cfg(feature = "test-kit")]
pub mod demo;
pub mod hsm;
pub mod netem;
pub mod platform;
pub mod reader;
pub mod test_cards;
#[cfg(feature = "test-kit")]
pub mod test_kit;

pub use platform::{Sandbox, SandboxConfig};
