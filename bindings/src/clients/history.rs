use std::sync::Arc;

use super::{ffi_client, ExportHandle, SyncHandle};
use crate::error::StarPosError;
use crate::history::{
    DayTotals, ExportAdapter, ExportListener, HistoryFilter, HistoryPage, JournalCheck, ReconciliationReport,
    Statistics, SyncAdapter, SyncListener, Transaction,
};

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// Transaction pages, statistics, exports, sync, reconciliation and the chain check.
    HistoryClient(starpos_core::clients::History)
);

#[uniffi::export]
impl HistoryClient {
    /// A page of the merchant's transactions, newest first, offline; pass `next_cursor` back
    /// for the next page (at most 200 a page).
    pub fn transactions(&self, filter: HistoryFilter, cursor: Option<String>, limit: u32) -> Result<HistoryPage> {
        Ok(self.core.transactions(filter.into(), cursor, limit)?.into())
    }

    /// One transaction by id.
    pub fn transaction(&self, id: String) -> Result<Option<Transaction>> {
        Ok(self.core.transaction(id)?.map(Into::into))
    }

    /// Totals for business days `from_day`..=`to_day` (`YYYY-MM-DD`), by channel and card kind.
    pub fn statistics(&self, from_day: String, to_day: String) -> Result<Statistics> {
        Ok(self.core.statistics(from_day, to_day)?.into())
    }

    /// Totals per business day with activity, oldest first.
    pub fn daily_statistics(&self, from_day: String, to_day: String) -> Result<Vec<DayTotals>> {
        Ok(self.core.daily_statistics(from_day, to_day)?.into_iter().map(Into::into).collect())
    }

    /// The month of `day` (`YYYY-MM-DD`).
    pub fn month_statistics(&self, day: String) -> Result<Statistics> {
        Ok(self.core.month_statistics(day)?.into())
    }

    /// Today's totals for the home screen.
    pub fn today_summary(&self) -> Result<Statistics> {
        Ok(self.core.today_summary()?.into())
    }

    /// Starts writing the matching transactions to `path` as CSV for Excel (UTF-8 with BOM);
    /// progress every 10,000 rows; the handle cancels it (no file is left).
    pub fn export_transactions(
        &self,
        filter: HistoryFilter,
        path: String,
        listener: Arc<dyn ExportListener>,
    ) -> Arc<ExportHandle> {
        ExportHandle::new(self.core.export_transactions(filter.into(), path, Arc::new(ExportAdapter(listener))))
    }

    /// Starts writing the settlement statement (结算单) of one business day's batch as CSV: the
    /// batch's figures from the platform, the phone's own net, then the day's transactions.
    pub fn export_settlement_statement(
        &self,
        business_day: String,
        path: String,
        listener: Arc<dyn ExportListener>,
    ) -> Arc<ExportHandle> {
        ExportHandle::new(self.core.export_settlement_statement(business_day, path, Arc::new(ExportAdapter(listener))))
    }

    /// Starts bringing the platform's transactions after this phone's cursor into the history
    /// (other devices' sales, voids and refunds made elsewhere); resumable; progress after each
    /// page.
    pub fn sync(&self, listener: Arc<dyn SyncListener>) -> Arc<SyncHandle> {
        SyncHandle::new(self.core.sync(Arc::new(SyncAdapter(listener))))
    }

    /// The background form of `sync`: on mobile data with the data saver on it starts nothing
    /// and answers null (the merchant can still ask with `sync`).
    pub fn background_sync(&self, listener: Arc<dyn SyncListener>) -> Option<Arc<SyncHandle>> {
        self.core.background_sync(Arc::new(SyncAdapter(listener))).map(SyncHandle::new)
    }

    /// Reconciles business days with the platform's settlement batches; every mismatch with
    /// its reason.
    pub async fn reconcile(&self, from_day: String, to_day: String) -> Result<ReconciliationReport> {
        Ok(self.core.reconcile(from_day, to_day).await?.into())
    }

    /// Checks the transaction ledger's hash chain.
    pub fn verify_journal(&self) -> Result<JournalCheck> {
        Ok(self.core.verify_journal()?.into())
    }
}
