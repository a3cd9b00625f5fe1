//! The `StarPos` object the app holds.

use std::sync::Arc;

use crate::checks::CardKind;
use crate::error::StarPosError;
use crate::history::{
    DayTotals, ExportAdapter, ExportListener, ExportSummary, HistoryFilter, HistoryPage, JournalCheck,
    ReconciliationReport, Statistics, SyncAdapter, SyncListener, SyncSummary, Transaction,
};
use crate::merchant::{
    CardElements, FeeQuote, Limits, MerchantProfile, PendingCardBinding, RealName, RemainingToday, SettlementCard,
    SettlementCycle,
};
use crate::network::{ConnectionStatus, DataUsageReport, NetworkType};
use crate::payments::{ListenerAdapter, LocationAdapter, LocationProvider, Receipt, Sale, SaleListener, Signature};
use crate::reader::{CardReader, PairedReader};
use crate::regions::{CrossProvinceApplication, CrossProvinceStatus, Province};
use crate::secure_store::{Adapter, SecureStore};
use crate::types::{Profile, Session, SmsCodeSent, SmsPurpose, StarPosConfig};

type Result<T> = std::result::Result<T, StarPosError>;

#[derive(uniffi::Object)]
pub struct StarPos {
    core: starpos_core::StarPos,
}

#[uniffi::export]
impl StarPos {
    /// Opens StarPOS: its database in `config.data_dir` and any session kept in `secure_store`.
    /// Does no network I/O.
    #[uniffi::constructor]
    pub fn new(config: StarPosConfig, secure_store: Arc<dyn SecureStore>) -> Result<Arc<Self>> {
        let core = starpos_core::StarPos::new(config.into(), Arc::new(Adapter(secure_store)))?;
        Ok(Arc::new(StarPos { core }))
    }

    /// The session on this device, if logged in (no network I/O).
    pub fn current_session(&self) -> Option<Session> {
        self.core.current_session().map(Into::into)
    }

    pub async fn request_sms_code(&self, phone: String, purpose: SmsPurpose) -> Result<SmsCodeSent> {
        Ok(self.core.request_sms_code(phone, purpose.into()).await?.into())
    }

    pub async fn register(&self, phone: String, password: String, sms_code: String) -> Result<Session> {
        Ok(self.core.register(phone, password, sms_code).await?.into())
    }

    /// Logs in; on a device new to the account, `sms_code` (purpose `Login`) is needed.
    pub async fn login(&self, phone: String, password: String, sms_code: Option<String>) -> Result<Session> {
        Ok(self.core.login(phone, password, sms_code).await?.into())
    }

    /// Refreshes the access token now (StarPOS also does it by itself when needed).
    pub async fn refresh_session(&self) -> Result<Session> {
        Ok(self.core.refresh_session().await?.into())
    }

    /// Ends the session on the platform and wipes it from this device.
    pub async fn logout(&self) -> Result<()> {
        Ok(self.core.logout().await?)
    }

    pub async fn profile(&self) -> Result<Profile> {
        Ok(self.core.profile().await?.into())
    }

    /// Fetches the merchant profile (numbers, registered province, fees, caps, limits) and
    /// keeps it for offline use.
    pub async fn merchant_profile(&self) -> Result<MerchantProfile> {
        Ok(self.core.merchant_profile().await?.into())
    }

    /// Chooses T+1 (next business day) or D0 (same day, for a surcharge) settlement.
    pub async fn set_settlement_cycle(&self, cycle: SettlementCycle) -> Result<MerchantProfile> {
        Ok(self.core.set_settlement_cycle(cycle.into()).await?.into())
    }

    /// The profile last fetched, without network.
    pub fn cached_merchant_profile(&self) -> Result<Option<MerchantProfile>> {
        Ok(self.core.cached_merchant_profile()?.map(Into::into))
    }

    /// Fee and net for a card payment from the cached schedule; `cycle` defaults to the
    /// merchant's settlement cycle.
    pub fn quote_fee(&self, amount_fen: i64, card_kind: CardKind, cycle: Option<SettlementCycle>) -> Result<FeeQuote> {
        Ok(self.core.quote_fee(amount_fen, card_kind.into(), cycle.map(Into::into))?.into())
    }

    /// Sets the daily limits; raising any of them needs `password` (step-up).
    pub async fn set_limits(&self, limits: Limits, password: Option<String>) -> Result<Limits> {
        Ok(self.core.set_limits(limits.into(), password).await?.into())
    }

    /// What is left of today's limits.
    pub fn remaining_today(&self) -> Result<RemainingToday> {
        Ok(self.core.remaining_today()?.into())
    }

    /// Submits the real-name details; answers the updated profile.
    pub async fn submit_real_name(&self, details: RealName) -> Result<MerchantProfile> {
        Ok(self.core.submit_real_name(details.into()).await?.into())
    }

    /// Starts binding a settlement card; an SMS code goes to the phone reserved at the bank.
    pub async fn start_card_binding(&self, card: CardElements) -> Result<PendingCardBinding> {
        Ok(self.core.start_card_binding(card.into()).await?.into())
    }

    pub async fn confirm_card_binding(&self, bind_id: String, sms_code: String) -> Result<SettlementCard> {
        Ok(self.core.confirm_card_binding(bind_id, sms_code).await?.into())
    }

    pub async fn settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        Ok(self.core.settlement_cards().await?.into_iter().map(Into::into).collect())
    }

    pub fn cached_settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        Ok(self.core.cached_settlement_cards()?.into_iter().map(Into::into).collect())
    }

    /// A card sale of `amount_fen` on `reader`: card and PIN on the reader, authorisation,
    /// chip completion, on a crash-safe journal. Declines and reversals are outcomes in the
    /// returned `Sale`; an error means nothing was charged. Once the authorisation is sent the
    /// sale runs to its end even if the caller stops waiting.
    pub async fn start_sale(
        &self,
        reader: Arc<CardReader>,
        amount_fen: i64,
        note: Option<String>,
        listener: Arc<dyn SaleListener>,
    ) -> Result<Sale> {
        let reader = (*reader.core).clone();
        Ok(self.core.start_sale(reader, amount_fen, note, Arc::new(ListenerAdapter(listener))).await?.into())
    }

    /// Cancels a sale still waiting for the card or PIN: `start_sale` then fails with
    /// `SaleCancelled` and nothing is charged. False when there is nothing to cancel (no sale,
    /// or its authorisation already sent: void it once approved).
    pub fn cancel_sale(&self) -> bool {
        self.core.cancel_sale()
    }

    /// Where the core asks for the phone's position at each payment.
    pub fn set_location_provider(&self, provider: Arc<dyn LocationProvider>) {
        self.core.set_location_provider(Arc::new(LocationAdapter(provider)));
    }

    /// The network the phone is on now; call it on every connectivity change (the data meter
    /// splits its counts by it).
    pub fn set_network_type(&self, network: NetworkType) {
        self.core.set_network_type(network.into());
    }

    /// Bytes to and from the platform on business days `first_day..=last_day` (YYYY-MM-DD),
    /// per day, per request kind and per network type.
    pub fn data_usage(&self, first_day: String, last_day: String) -> Result<DataUsageReport> {
        Ok(self.core.data_usage(first_day, last_day)?.into())
    }

    /// `data_usage` for the month holding `day` (YYYY-MM-DD), or this month when `None`.
    pub fn data_usage_month(&self, day: Option<String>) -> Result<DataUsageReport> {
        Ok(self.core.data_usage_month(day)?.into())
    }

    /// Whether the platform is reachable as far as the phone can tell (for a status line).
    pub fn connection_status(&self) -> ConnectionStatus {
        self.core.connection_status().into()
    }

    /// Data saver on (the default) or off: with it on, bulk transfers nobody asked for wait for
    /// Wi-Fi.
    pub fn set_data_saver(&self, on: bool) {
        self.core.set_data_saver(on);
    }

    /// Whether a bulk transfer the merchant did not ask for (a background history sync, a
    /// reader firmware download) may go now: on Wi-Fi, or with the data saver off.
    pub fn may_transfer_in_background(&self) -> bool {
        self.core.may_transfer_in_background()
    }

    /// The province the phone is in now (from the location provider), if known.
    pub fn current_province(&self) -> Option<Province> {
        self.core.current_province().map(Into::into)
    }

    /// Fetches the platform's cross-province rules (registered province, location policy,
    /// applications and their review) and caches them for the payment guard.
    pub async fn refresh_cross_province(&self) -> Result<CrossProvinceStatus> {
        Ok(self.core.refresh_cross_province().await?.into())
    }

    /// The cross-province rules as last fetched (no network).
    pub fn cross_province_status(&self) -> Result<Option<CrossProvinceStatus>> {
        Ok(self.core.cross_province_status()?.map(Into::into))
    }

    /// Applies for cross-province business in `province_code` (e.g. "43") for `days` (1-90)
    /// days, with a `reason` for the reviewer; follow the review with `refresh_cross_province`.
    pub async fn apply_cross_province(
        &self,
        province_code: String,
        reason: String,
        days: u32,
    ) -> Result<CrossProvinceApplication> {
        Ok(self.core.apply_cross_province(province_code, reason, days).await?.into())
    }

    /// Keeps the customer's signature on an approved sale; it is uploaded in the background
    /// (compressed strokes, a few hundred bytes) and shown on the receipt.
    pub fn sign_sale(&self, sale_id: String, signature: Signature) -> Result<Sale> {
        Ok(self.core.sign_sale(sale_id, signature.into())?.into())
    }

    /// The sale's signature as a 1-bit PNG (at most 384 x 160), if signed.
    pub fn signature_png(&self, sale_id: String) -> Result<Option<Vec<u8>>> {
        Ok(self.core.signature_png(sale_id)?)
    }

    /// Resolves payments a stopped app left unfinished and retries pending reversals; returns
    /// the sales it settled, to tell the merchant. Call after login at start-up.
    pub async fn resolve_pending_payments(&self) -> Result<Vec<Sale>> {
        Ok(self.core.resolve_pending_payments().await?.into_iter().map(Into::into).collect())
    }

    /// Voids an approved sale on its business day (before settlement); the account password
    /// confirms it. The day's limit is given back.
    pub async fn void_sale(&self, sale_id: String, password: String) -> Result<Sale> {
        Ok(self.core.void_sale(sale_id, password).await?.into())
    }

    /// Refunds part or all of a settled sale (never more than remains); the password confirms.
    pub async fn refund_sale(&self, sale_id: String, amount_fen: i64, password: String) -> Result<Sale> {
        Ok(self.core.refund_sale(sale_id, amount_fen, password).await?.into())
    }

    /// A sale from the journal (no network I/O).
    pub fn sale(&self, id: String) -> Result<Sale> {
        Ok(self.core.sale(id)?.into())
    }

    /// The receipt of an approved sale (no network I/O); `reprint` marks a reprint.
    pub fn receipt(&self, sale_id: String, reprint: bool) -> Result<Receipt> {
        Ok(self.core.receipt(sale_id, reprint)?.into())
    }

    /// The receipt as plain text (32 columns), for the screen or sharing.
    pub fn receipt_text(&self, sale_id: String, reprint: bool) -> Result<String> {
        Ok(self.core.receipt(sale_id, reprint)?.to_text())
    }

    /// The receipt as ESC/POS bytes (GB18030, QR code for the e-receipt, cut) for a Bluetooth
    /// receipt printer.
    pub fn receipt_escpos(&self, sale_id: String, reprint: bool) -> Result<Vec<u8>> {
        Ok(self.core.receipt(sale_id, reprint)?.to_escpos())
    }

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

    /// Writes the matching transactions to `path` as CSV for Excel (UTF-8 with BOM); progress
    /// every 10,000 rows; `cancel_export` stops it and leaves no file.
    pub async fn export_transactions(
        &self,
        filter: HistoryFilter,
        path: String,
        listener: Arc<dyn ExportListener>,
    ) -> Result<ExportSummary> {
        let s = self.core.export_transactions(filter.into(), path, Arc::new(ExportAdapter(listener))).await?;
        Ok(ExportSummary { rows: s.rows, bytes: s.bytes })
    }

    /// The settlement statement (结算单) of one business day's batch as CSV: the batch's figures
    /// from the platform, the phone's own net, then the day's transactions.
    pub async fn export_settlement_statement(
        &self,
        business_day: String,
        path: String,
        listener: Arc<dyn ExportListener>,
    ) -> Result<ExportSummary> {
        let s = self.core.export_settlement_statement(business_day, path, Arc::new(ExportAdapter(listener))).await?;
        Ok(ExportSummary { rows: s.rows, bytes: s.bytes })
    }

    pub fn cancel_export(&self) {
        self.core.cancel_export();
    }

    /// Brings the platform's transactions after this phone's cursor into the history (other
    /// devices' sales, voids and refunds made elsewhere); resumable; progress after each page.
    pub async fn sync_history(&self, listener: Arc<dyn SyncListener>) -> Result<SyncSummary> {
        Ok(self.core.sync_history(Arc::new(SyncAdapter(listener))).await?.into())
    }

    /// The background form of `sync_history`: on mobile data with the data saver on it does
    /// nothing and answers null (the merchant can still ask with `sync_history`).
    pub async fn background_sync_history(&self, listener: Arc<dyn SyncListener>) -> Result<Option<SyncSummary>> {
        Ok(self.core.background_sync_history(Arc::new(SyncAdapter(listener))).await?.map(Into::into))
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

    /// The latest sales, newest first (no network I/O).
    pub fn recent_sales(&self, limit: u32) -> Result<Vec<Sale>> {
        Ok(self.core.recent_sales(limit)?.into_iter().map(Into::into).collect())
    }

    /// Pairs the reader with this serial number (printed on it): the platform certifies its
    /// identity key, which is pinned on this phone for every later connection.
    pub async fn pair_reader(&self, serial: String) -> Result<PairedReader> {
        Ok(self.core.pair_reader(serial).await?.into())
    }

    /// Readers paired on this phone (no network I/O).
    pub fn paired_readers(&self) -> Result<Vec<PairedReader>> {
        Ok(self.core.paired_readers()?.into_iter().map(Into::into).collect())
    }

    /// Releases a reader on the platform (another merchant may then pair it) and forgets it.
    pub async fn release_reader(&self, serial: String) -> Result<()> {
        Ok(self.core.release_reader(serial).await?)
    }

    /// Forgets a reader on this phone only.
    pub fn forget_reader(&self, serial: String) -> Result<()> {
        Ok(self.core.forget_reader(serial)?)
    }

    pub async fn set_default_card(&self, card_id: String) -> Result<Vec<SettlementCard>> {
        Ok(self.core.set_default_card(card_id).await?.into_iter().map(Into::into).collect())
    }

    /// Unbinds a card; needs the account password (step-up).
    pub async fn unbind_card(&self, card_id: String, password: String) -> Result<Vec<SettlementCard>> {
        Ok(self.core.unbind_card(card_id, password).await?.into_iter().map(Into::into).collect())
    }
}
