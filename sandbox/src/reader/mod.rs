//! The simulated card reader: it speaks the reader protocol (docs/reader-protocol.md) exactly as
//! a device would, behind an in-process Bluetooth link with fault knobs (drop the link, go
//! silent, corrupt or duplicate chunks, tiny MTU), so the core's reader code is tested without
//! hardware.

mod card_session;
mod device;
mod link;
pub mod tcp;
pub mod tcp_link;

pub use card_session::{customer, CardFaults, CardSession};
pub use device::SimReader;
pub use link::{Faults, SimLink};
