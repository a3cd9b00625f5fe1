//! `StarPos::history()`: transaction pages, statistics, CSV exports and the settlement
//! statement (each with its handle), sync with the platform (with its handle),
//! reconciliation, and the ledger's chain check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::client;
use crate::error::Error;
use crate::history::{
    self, ExportProgress, ExportSummary, Filter, Page, Stats, SyncProgress, SyncSummary, Transaction,
};
use crate::task::TaskHandle;
use crate::Result;

client!(History);

/// An export under way: `cancel()` stops it and leaves no file (it ends `ExportCancelled`).
/// Each export has its own handle; two exports never share a cancel.
pub type ExportHandle = TaskHandle<ExportSummary>;

/// A sync under way: `cancel()` stops it between pages (it ends `SyncCancelled`); what it
/// brought in is kept and the next sync resumes from there.
pub type SyncHandle = TaskHandle<SyncSummary>;

/// A cancel flag for an export and the handle's side of it.
fn export_flag() -> (Arc<AtomicBool>, impl Fn() -> bool + Send + Sync + 'static) {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    (flag, move || {
        set.store(true, Ordering::SeqCst);
        true
    })
}

impl History {
    /// A page of the merchant's transactions (sales, voids, refunds, reversals; made on this
    /// phone or, after sync, on another), newest first. Pass `next_cursor` back for the next
    /// page. Offline.
    pub fn transactions(&self, filter: Filter, cursor: Option<String>, limit: u32) -> Result<Page> {
        self.inner.history.page(&self.inner.merchant_id()?, &filter, cursor.as_deref(), limit)
    }

    /// One transaction by id (a sale's id also opens its receipt).
    pub fn transaction(&self, id: String) -> Result<Option<Transaction>> {
        self.inner.history.get(&self.inner.merchant_id()?, &id)
    }

    /// Totals for business days `from_day`..=`to_day` (`YYYY-MM-DD`), with the breakdown by
    /// channel and card kind. From per-day roll-ups: quick for any range.
    pub fn statistics(&self, from_day: String, to_day: String) -> Result<Stats> {
        self.inner.history.stats(&self.inner.merchant_id()?, &from_day, &to_day)
    }

    /// Totals per business day with activity, oldest first.
    pub fn daily_statistics(&self, from_day: String, to_day: String) -> Result<Vec<history::DayTotals>> {
        self.inner.history.daily(&self.inner.merchant_id()?, &from_day, &to_day)
    }

    /// The month of `day` (`YYYY-MM-DD`).
    pub fn month_statistics(&self, day: String) -> Result<Stats> {
        let (from, to) = history::stats::month_of(&day)?;
        self.statistics(from, to)
    }

    /// Today's summary for the home screen (today's business day, China time).
    pub fn today_summary(&self) -> Result<Stats> {
        let today = crate::limits::business_day(self.inner.accounts.platform_now());
        self.statistics(today.clone(), today)
    }

    /// Writes the transactions matching `filter` to `path` as CSV (UTF-8 with BOM, for
    /// Excel), reporting progress every 10,000 rows.
    pub fn export_transactions(&self, filter: Filter, path: String, progress: Arc<dyn ExportProgress>) -> ExportHandle {
        let inner = self.inner.clone();
        let (flag, cancel) = export_flag();
        TaskHandle::spawn(
            async move {
                let merchant_id = inner.merchant_id()?;
                // File and database work: on a blocking thread.
                crate::runtime::blocking(move || {
                    let path = std::path::Path::new(&path);
                    inner.history.export(&merchant_id, &filter, path, progress.as_ref(), &flag)
                })
                .await
            },
            cancel,
        )
    }

    /// The settlement statement (结算单) of one business day's batch as CSV: the batch's
    /// figures from the platform (expected, paid, when), the phone's own net, then the day's
    /// transactions. Needs the network once.
    pub fn export_settlement_statement(
        &self,
        business_day: String,
        path: String,
        progress: Arc<dyn ExportProgress>,
    ) -> ExportHandle {
        let inner = self.inner.clone();
        let (flag, cancel) = export_flag();
        TaskHandle::spawn(
            async move {
                let merchant_id = inner.merchant_id()?;
                let path = std::path::PathBuf::from(path);
                inner
                    .history
                    .statement(&inner.accounts, &merchant_id, &business_day, &path, progress.as_ref(), &flag)
                    .await
            },
            cancel,
        )
    }

    /// Brings the platform's transactions after this phone's cursor into the history: sales on
    /// the merchant's other devices, voids and refunds made elsewhere. Resumable: a sync cut off
    /// (or cancelled) continues where it stopped. Progress after each page.
    pub fn sync(&self, progress: Arc<dyn SyncProgress>) -> SyncHandle {
        let inner = self.inner.clone();
        let (cancel_tx, mut cancelled) = tokio::sync::watch::channel(false);
        TaskHandle::spawn(
            async move {
                let merchant_id = inner.merchant_id()?;
                // Each page and its cursor are one commit, so stopping at any await loses
                // nothing and repeats nothing.
                let summary = tokio::select! {
                    done = inner.history.sync(&inner.accounts, &merchant_id, progress.as_ref()) => done,
                    _ = cancelled.wait_for(|c| *c) => Err(Error::SyncCancelled),
                }?;
                if let Some(problem) = &summary.journal_problem {
                    crate::alerts::journal(&inner, &merchant_id, problem);
                }
                // The sync is the phone's regular talk with the platform: it looks for devices
                // new to the account too.
                if let Err(e) = crate::alerts::look_at_devices(&inner, &merchant_id).await {
                    tracing::info!(error = %e, "devices not looked at");
                }
                Ok(summary)
            },
            move || {
                cancel_tx.send_replace(true);
                true
            },
        )
    }

    /// The background form of [`Self::sync`]: on Wi-Fi (or with the data saver off) it starts
    /// a sync; on mobile data it does nothing and answers `None`, leaving it for Wi-Fi or for
    /// the merchant to ask (`sync` always goes).
    pub fn background_sync(&self, progress: Arc<dyn SyncProgress>) -> Option<SyncHandle> {
        self.inner.platform.meter().bulk_allowed().then(|| self.sync(progress))
    }

    /// Reconciles business days `from_day`..=`to_day` with the platform's settlement batches:
    /// each batch beside the phone's net, and every mismatch with its reason (paid short, net
    /// differs, a transaction on one side only, amounts that differ). Sync first.
    pub async fn reconcile(&self, from_day: String, to_day: String) -> Result<history::Report> {
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            let report = i.history.reconcile(&i.accounts, &merchant_id, &from_day, &to_day).await?;
            crate::alerts::settlements(&i, &merchant_id, &report.batches);
            Ok(report)
        })
        .await
    }

    /// Checks the ledger's hash chain: the number of entries that check out, and the first
    /// edited, inserted or deleted entry if there is one.
    pub fn verify_journal(&self) -> Result<history::Check> {
        let check = self.inner.history.verify()?;
        if let (Some(problem), Ok(merchant_id)) = (&check.problem, self.inner.merchant_id()) {
            crate::alerts::journal(&self.inner, &merchant_id, problem);
        }
        Ok(check)
    }
}
