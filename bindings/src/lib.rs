//! The UniFFI surface of StarPOS. Everything here is mechanical: records mirror core types,
//! the public error mirrors `starpos_core::Error`, and each method forwards to the core. No
//! business rule lives in this crate (docs/adr/0001-ffi-crate.md).
//!
//! Async methods run on the core's own runtime, so they can be awaited from Kotlin coroutines,
//! Swift tasks or Python's asyncio on any thread.

// `StarPosError::CrossProvinceNotApproved` carries two `Province` records (UniFFI has no boxed
// records); the error is lowered across the FFI at once, so its size costs nothing there.
#![allow(clippy::result_large_err)]

mod alerts;
mod checks;
mod clients;
mod error;
mod history;
mod merchant;
mod network;
mod payments;
mod qr;
mod reader;
mod regions;
mod secure_store;
mod starpos;
mod types;

pub use checks::{BankCardCheck, CardKind, CreditCodeCheck, FieldCheck, Gender, ResidentIdCheck};
pub use clients::{
    AccountClient, ExportHandle, HistoryClient, MerchantClient, NetworkClient, PaymentsClient, ReadersClient,
    RegionsClient, SaleHandle, SyncHandle,
};
pub use error::StarPosError;
pub use history::{
    Breakdown, Channel, DayTotals, ExportListener, ExportSummary, HistoryFilter, HistoryPage, JournalCheck,
    JournalProblem, Mismatch, MismatchKind, ReconciliationReport, SettlementBatch, Statistics, SyncListener,
    SyncSummary, Totals, Transaction, TransactionKind, TransactionStatus,
};
pub use merchant::{
    CardElements, FeeQuote, FeeRate, LimitKind, Limits, MerchantProfile, PendingCardBinding, RealName, RemainingToday,
    SettlementCard, SettlementCycle,
};
pub use network::{ConnectionStatus, DataUsageReport, DayUsage, KindUsage, NetworkType, Reachability, Usage};
pub use payments::{DeclineReason, Receipt, ReversalReason, Sale, SaleListener, SaleStatus, SaleStep};
pub use reader::{
    BleDevice, BleError, BleLink, CardReader, CardSummary, EntryMode, FirmwareProgressListener, LinkEvents,
    PairedReader, ReaderEvent, ReaderInfo, ReaderListener, ReaderPrompt, ReaderState,
};
pub use regions::{
    province_at, ApplicationStatus, CrossProvinceApplication, CrossProvinceStatus, LocationPolicy, Province,
};
pub use secure_store::{SecureStore, SecureStoreError};
pub use starpos::StarPos;
pub use types::{Profile, Session, SmsCodeSent, SmsPurpose, StarPosConfig};

uniffi::setup_scaffolding!("starpos");
