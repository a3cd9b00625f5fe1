//! The test kit (feature `test-kit`, on by default): what the demo, the Rust tests and the
//! benchmarks need to drive the sandbox as a merchant and a tester would. None of it is part
//! of the platform or the reader simulator, which build without it
//! (`cargo clippy -p starpos-sandbox --no-default-features`, run by `cargo xtask test`).

pub mod card_scan;
pub mod dev_client;
pub mod file_store;
pub mod fixtures;
mod quiet;
pub mod reader_access;
mod signature;

pub use dev_client::DevClient;
pub use fixtures::{ready_merchant, SETTLEMENT_CARD};
pub use quiet::Quiet;
pub use reader_access::{pair_and_connect, phone_credential};
pub use signature::sample_signature;
