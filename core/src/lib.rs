//! StarPOS core: everything the merchant app does that is not radio, screen, camera or
//! operating-system storage. Both phone shells reach it through `starpos-ffi`; the sandbox and
//! the tests use it directly.
//!
//! One module per concern; each keeps its own internal errors, and `error` maps them to the one
//! public [`Error`] in one place.

pub mod account;
pub mod alerts;
pub mod clients;
pub mod config;
pub mod error;
pub mod history;
pub mod limits;
pub mod location;
pub mod money;
pub mod onboarding;
pub(crate) mod outbox;
pub mod payments;
pub mod platform;
pub mod qr;
pub mod reader;
pub mod readers;
pub mod regions;
pub mod runtime;
pub mod secure_store;
mod starpos;
pub mod storage;
pub mod task;
pub use starpos_protocol::util;
mod worker;

pub use account::{Session, SmsCodeSent, SmsPurpose};
pub use config::Config;
pub use error::{Error, Result};
pub use secure_store::{InMemorySecureStore, SecureStore, SecureStoreError};
pub use starpos::{Diagnostics, Profile, StarPos};
pub use task::TaskHandle;
