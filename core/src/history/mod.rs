//! Transaction history (issue #6): the merchant's records on the phone, offline. A tamper-
//! evident ledger of money events (`ledger`), pages and filters (`query`), statistics from
//! per-day roll-ups (`stats`), CSV bill export (`export`) and the chain check (`verify`).
//! docs/history.md describes the whole.

pub mod anchor;
pub mod export;
/// Benchmark data, not part of the API: only with the `bench-data` feature.
#[cfg(feature = "bench-data")]
pub mod generate;
pub mod ledger;
pub mod query;
pub mod reconcile;
pub mod stats;
pub mod sync;
pub mod verify;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rusqlite::OptionalExtension;

use crate::error::{Error, InternalError};
use crate::secure_store::SecureStore;
use crate::storage::Db;
pub use export::{ExportProgress, ExportSummary};
pub use ledger::{CardKind, Channel, Kind, Status};
pub use query::{Filter, Page, Transaction};
pub use reconcile::{Batch, Mismatch, MismatchKind, Report};
pub use stats::{Breakdown, DayTotals, Stats, Totals};
pub use sync::{SyncProgress, SyncSummary};
pub use verify::{Check, Problem};

pub(crate) struct History {
    db: Arc<Db>,
    /// Where the last anchor of the ledger's head is kept (anchor.rs).
    secure_store: Arc<dyn SecureStore>,
    /// One anchoring at a time: two syncs crossing would send heads against the same anchor,
    /// and the platform would refuse the second as not extending the first.
    anchoring: tokio::sync::Mutex<()>,
}

impl History {
    pub fn new(db: Arc<Db>, secure_store: Arc<dyn SecureStore>) -> Self {
        History { db, secure_store, anchoring: tokio::sync::Mutex::new(()) }
    }

    /// The merchant's owner id in the ledger; `None` before their first transaction.
    fn owner(&self, merchant_id: &str) -> Result<Option<i64>, InternalError> {
        self.db.with(|c| {
            Ok(c.query_row("SELECT id FROM history_owners WHERE merchant_id = ?1", [merchant_id], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn page(&self, merchant_id: &str, filter: &Filter, cursor: Option<&str>, limit: u32) -> Result<Page, Error> {
        match self.owner(merchant_id)? {
            Some(owner) => query::page(&self.db, owner, filter, cursor, limit),
            None => {
                query::conditions(filter)?;
                Ok(Page { items: Vec::new(), next_cursor: None })
            }
        }
    }

    pub fn get(&self, merchant_id: &str, id: &str) -> Result<Option<Transaction>, Error> {
        match self.owner(merchant_id)? {
            Some(owner) => Ok(query::get(&self.db, owner, id)?),
            None => Ok(None),
        }
    }

    pub fn stats(&self, merchant_id: &str, from: &str, to: &str) -> Result<Stats, Error> {
        // An unknown owner (-1) has no roll-ups: the same empty answer, with the days checked.
        stats::stats(&self.db, self.owner(merchant_id)?.unwrap_or(-1), from, to)
    }

    pub fn daily(&self, merchant_id: &str, from: &str, to: &str) -> Result<Vec<DayTotals>, Error> {
        stats::daily(&self.db, self.owner(merchant_id)?.unwrap_or(-1), from, to)
    }

    pub fn export(
        &self,
        merchant_id: &str,
        filter: &Filter,
        path: &Path,
        progress: &dyn ExportProgress,
        cancel: &AtomicBool,
    ) -> Result<ExportSummary, Error> {
        export::export(&self.db, self.owner(merchant_id)?.unwrap_or(-1), filter, path, progress, cancel)
    }

    pub async fn sync(
        &self,
        accounts: &crate::account::Accounts,
        merchant_id: &str,
        progress: &dyn SyncProgress,
    ) -> Result<SyncSummary, Error> {
        let mut summary = sync::sync(&self.db, accounts, merchant_id, progress).await?;
        // The pages are in: anchor the head they made (the transactions stay synced whatever
        // the anchor's answer).
        let _one = self.anchoring.lock().await;
        // An anchoring that could not reach the platform leaves the summary without an anchor:
        // the pages are in, and the next sync anchors.
        match anchor::anchor(&self.db, self.secure_store.as_ref(), accounts).await {
            Ok(anchor::Anchored::At { entries }) => summary.anchored_entries = Some(entries),
            Ok(anchor::Anchored::Empty) => {}
            Ok(anchor::Anchored::Problem { problem }) => summary.journal_problem = Some(problem),
            Err(e) => tracing::info!(error = %e, "the ledger's head was not anchored this time"),
        }
        Ok(summary)
    }

    pub async fn reconcile(
        &self,
        accounts: &crate::account::Accounts,
        merchant_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Report, Error> {
        let owner = self.owner(merchant_id)?;
        reconcile::reconcile(&self.db, accounts, owner, from, to).await
    }

    /// The settlement statement of one business day's batch (fetched from the platform).
    pub async fn statement(
        &self,
        accounts: &crate::account::Accounts,
        merchant_id: &str,
        day: &str,
        path: &Path,
        progress: &dyn ExportProgress,
        cancel: &AtomicBool,
    ) -> Result<ExportSummary, Error> {
        let report = self.reconcile(accounts, merchant_id, day, day).await?;
        let batch = report
            .batches
            .into_iter()
            .next()
            .ok_or_else(|| Error::invalid("business_day", "the platform has no settlement batch for this day"))?;
        export::statement(&self.db, self.owner(merchant_id)?.unwrap_or(-1), &batch, path, progress, cancel)
    }

    /// The chain walked row by row; then, if it checks out, against the last anchor the
    /// platform accepted (kept in secure storage, out of reach of whoever edits the file).
    pub fn verify(&self) -> Result<Check, Error> {
        let check = verify::verify(&self.db)?;
        if check.problem.is_some() {
            return Ok(check);
        }
        if let Some(anchored) = anchor::local(self.secure_store.as_ref())? {
            if let Some(problem) = anchor::against(&self.db, &anchored)? {
                return Ok(Check { problem: Some(problem), ..check });
            }
        }
        Ok(check)
    }
}
