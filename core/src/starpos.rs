//! [`StarPos`], the one object an app holds. Each operation runs on the core's runtime (see
//! [`crate::runtime`]), so it can be awaited from any thread.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

use crate::account::{Accounts, Session, SmsCodeSent, SmsPurpose};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::history::{self, ExportProgress, ExportSummary, Filter, History, Page, Stats, Transaction};
use crate::limits::{Limits, Remaining};
use crate::location::{Location, LocationProvider};
use crate::onboarding::fees::SettlementCycle;
use crate::onboarding::{
    CardElements, CardKind, Cards, FeeQuote, Merchant, MerchantProfile, PendingCardBinding, RealName, SettlementCard,
};
use crate::payments::receipt::Receipt;
use crate::payments::signature::Signature;
use crate::payments::{Adjust, Payments, Sale, SaleListener, SaleStatus};
use crate::platform::meter::{DataUsageReport, NetworkType};
use crate::platform::wire::MeResponse;
use crate::platform::PlatformClient;
use crate::reader::controller::CardReader;
use crate::readers::{PairedReader, Readers};
use crate::regions::{CrossProvinceApplication, CrossProvinceStatus};
use crate::runtime::run;
use crate::secure_store::SecureStore;
use crate::storage::Db;

/// The background loop's pause after a pass that failed outright.
const RETRY_PAUSE_SECS: u64 = 5;

/// What the core has done since it started, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnostics {
    pub durable_commits: u64,
    pub platform_round_trips: u64,
}

/// The merchant's profile as the platform knows it.
pub type Profile = MeResponse;

#[derive(Clone)]
pub struct StarPos {
    inner: Arc<Inner>,
}

struct Inner {
    accounts: Accounts,
    merchant: Merchant,
    cards: Cards,
    readers: Readers,
    payments: Payments,
    platform_url: String,
    db: Arc<Db>,
    platform: Arc<PlatformClient>,
    /// A background loop is retrying pending reversals and uploading signatures.
    reversing: std::sync::atomic::AtomicBool,
    /// Where the phone is, as the app reports it.
    location: std::sync::RwLock<Option<Arc<dyn LocationProvider>>>,
    history: History,
    /// Set to stop the running export.
    cancel_export: Arc<std::sync::atomic::AtomicBool>,
    /// Wakes the background loop (the network is back).
    wake: tokio::sync::Notify,
}

impl Inner {
    fn merchant_id(&self) -> Result<String> {
        self.accounts.current_session().map(|s| s.merchant_id).ok_or(Error::NotLoggedIn)
    }
}

impl StarPos {
    /// Opens the database, restores any session kept in secure storage, and prepares the
    /// platform client. Does no network I/O.
    pub fn new(config: Config, secure_store: Arc<dyn SecureStore>) -> Result<StarPos> {
        if config.device_id.trim().is_empty() || config.device_id.len() > 128 {
            return Err(Error::invalid("device_id", "give a stable id of 1 to 128 characters"));
        }
        let platform = Arc::new(PlatformClient::new(
            &config.platform_url,
            &config.pinned_key_hashes,
            &config.extra_roots_der,
            config.timeouts,
        )?);
        let db = Arc::new(Db::open(&config.data_dir)?);
        platform.meter().attach(db.clone());
        let merchant = Merchant::new(db.clone(), platform.clone());
        let cards = Cards::new(db.clone());
        let readers = Readers::new(db.clone());
        let payments = Payments::new(db.clone(), secure_store.clone());
        // Rows journalled before card details were sealed (schema 10) are sealed now.
        match payments.seal_legacy_rows() {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "sealed card details of older journal rows"),
            Err(e) => tracing::warn!(error = %e, "older journal rows not sealed yet"),
        }
        let accounts = Accounts::new(platform.clone(), db.clone(), secure_store, config.device_id)?;
        let platform_url = config.platform_url.clone();
        let history = History::new(db.clone());
        // An install upgraded to the ledger gets its earlier transactions in it (once).
        match history::ledger::backfill(&db) {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "earlier transactions added to the ledger"),
            Err(e) => tracing::warn!(error = %e, "earlier transactions not added to the ledger yet"),
        }
        Ok(StarPos {
            inner: Arc::new(Inner {
                accounts,
                merchant,
                cards,
                readers,
                payments,
                platform_url,
                db,
                platform,
                reversing: std::sync::atomic::AtomicBool::new(false),
                location: std::sync::RwLock::new(None),
                history,
                cancel_export: Arc::new(std::sync::atomic::AtomicBool::new(false)),
                wake: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn current_session(&self) -> Option<Session> {
        self.inner.accounts.current_session()
    }

    pub async fn request_sms_code(&self, phone: String, purpose: SmsPurpose) -> Result<SmsCodeSent> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.request_sms_code(&phone, purpose).await }).await
    }

    pub async fn register(&self, phone: String, password: String, sms_code: String) -> Result<Session> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.register(&phone, &password, &sms_code).await }).await
    }

    pub async fn login(&self, phone: String, password: String, sms_code: Option<String>) -> Result<Session> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.login(&phone, &password, sms_code.as_deref()).await }).await
    }

    pub async fn refresh_session(&self) -> Result<Session> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.refresh().await }).await
    }

    pub async fn logout(&self) -> Result<()> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.logout().await }).await
    }

    /// The logged-in merchant's profile (a signed request).
    pub async fn profile(&self) -> Result<Profile> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.signed::<(), Profile>(Method::GET, "v1/me", None, true).await }).await
    }

    /// Fetches the merchant profile (numbers, registered province, fees, caps, limits) and
    /// keeps it for offline use.
    pub async fn merchant_profile(&self) -> Result<MerchantProfile> {
        let inner = self.inner.clone();
        run(async move { inner.merchant.fetch_profile(&inner.accounts).await }).await
    }

    /// Chooses T+1 (next business day) or D0 (same day, for a surcharge) settlement.
    pub async fn set_settlement_cycle(&self, cycle: SettlementCycle) -> Result<MerchantProfile> {
        let inner = self.inner.clone();
        run(async move { inner.merchant.set_settlement_cycle(&inner.accounts, cycle).await }).await
    }

    /// The profile last fetched, without network.
    pub fn cached_merchant_profile(&self) -> Result<Option<MerchantProfile>> {
        self.inner.merchant.cached_profile(&self.inner.merchant_id()?)
    }

    /// Fee and net for a card payment, from the cached fee schedule (no network); `cycle`
    /// defaults to the merchant's settlement cycle.
    pub fn quote_fee(&self, amount_fen: i64, card_kind: CardKind, cycle: Option<SettlementCycle>) -> Result<FeeQuote> {
        self.inner.merchant.quote_fee(&self.inner.merchant_id()?, amount_fen, card_kind, cycle)
    }

    /// The platform's quote for the same payment (a signed request).
    pub async fn quote_fee_online(
        &self,
        amount_fen: i64,
        card_kind: CardKind,
        cycle: SettlementCycle,
    ) -> Result<FeeQuote> {
        let inner = self.inner.clone();
        run(async move { inner.merchant.quote_fee_online(&inner.accounts, amount_fen, card_kind, cycle).await }).await
    }

    /// Sets the daily limits; raising any of them needs `password` (step-up).
    pub async fn set_limits(&self, limits: Limits, password: Option<String>) -> Result<Limits> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.merchant.set_limits(&inner.accounts, &merchant_id, limits, password).await
        })
        .await
    }

    /// What is left of today's limits (platform business day, China Standard Time).
    pub fn remaining_today(&self) -> Result<Remaining> {
        self.inner.merchant.remaining_today(&self.inner.merchant_id()?)
    }

    /// Submits the real-name details (checked here first); answers the updated profile.
    pub async fn submit_real_name(&self, details: RealName) -> Result<MerchantProfile> {
        let inner = self.inner.clone();
        run(async move {
            let profile = inner.cards.submit_real_name(&inner.accounts, details).await?;
            inner.merchant.keep(profile)
        })
        .await
    }

    /// Starts binding a settlement card: the four elements are checked here, then verified by
    /// the bank through the platform, which texts a code to the reserved phone.
    pub async fn start_card_binding(&self, card: CardElements) -> Result<PendingCardBinding> {
        let inner = self.inner.clone();
        run(async move { inner.cards.start_binding(&inner.accounts, card).await }).await
    }

    /// Finishes a binding with the SMS code sent to the reserved phone.
    pub async fn confirm_card_binding(&self, bind_id: String, sms_code: String) -> Result<SettlementCard> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.cards.confirm_binding(&inner.accounts, &merchant_id, bind_id, sms_code).await
        })
        .await
    }

    /// The bound settlement cards, from the platform (kept for offline use).
    pub async fn settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.cards.refresh(&inner.accounts, &merchant_id).await
        })
        .await
    }

    /// The settlement cards last listed, without network.
    pub fn cached_settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        self.inner.cards.cached(&self.inner.merchant_id()?)
    }

    pub async fn set_default_card(&self, card_id: String) -> Result<Vec<SettlementCard>> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.cards.set_default(&inner.accounts, &merchant_id, card_id).await
        })
        .await
    }

    /// Unbinds a settlement card; needs the account password (step-up).
    pub async fn unbind_card(&self, card_id: String, password: String) -> Result<Vec<SettlementCard>> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.cards.unbind(&inner.accounts, &merchant_id, card_id, password).await
        })
        .await
    }

    /// Pairs the reader with this serial number: the platform certifies its identity key,
    /// which is pinned here for every later connection.
    pub async fn pair_reader(&self, serial: String) -> Result<PairedReader> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.readers.pair(&inner.accounts, &merchant_id, serial.trim()).await
        })
        .await
    }

    /// Readers paired on this phone for the logged-in merchant (offline).
    pub fn paired_readers(&self) -> Result<Vec<PairedReader>> {
        self.inner.readers.paired(&self.inner.merchant_id()?)
    }

    /// Releases a reader to the platform (another merchant may pair it) and forgets it here.
    pub async fn release_reader(&self, serial: String) -> Result<()> {
        let inner = self.inner.clone();
        run(async move { inner.readers.release(&inner.accounts, serial.trim()).await }).await
    }

    /// Forgets a paired reader on this phone only.
    pub fn forget_reader(&self, serial: String) -> Result<()> {
        self.inner.readers.forget(&serial)
    }

    /// A card sale of `amount_fen` on `reader`: card and PIN, authorisation, chip completion,
    /// on the crash-safe journal. Declines and reversals are outcomes (in the `Sale`), not
    /// errors; errors mean nothing was charged. Dropping the returned future does not stop a
    /// sale whose authorisation was sent: it runs to its end on the core's runtime.
    pub async fn start_sale(
        &self,
        reader: CardReader,
        amount_fen: i64,
        note: Option<String>,
        listener: Arc<dyn SaleListener>,
    ) -> Result<Sale> {
        let inner = self.inner.clone();
        let location = self.current_location();
        let sale = run(async move {
            inner.payments.sale(&inner.accounts, &reader, amount_fen, note, location, listener.as_ref()).await
        })
        .await?;
        if matches!(sale.status, SaleStatus::ReversalPending { .. }) {
            self.keep_working();
        }
        Ok(sale)
    }

    /// Cancels a sale still waiting for the card or the PIN (the reader lets the card go and
    /// `start_sale` ends with `SaleCancelled`). Returns false when there is nothing left to
    /// cancel: no sale running, or its authorisation already sent (void it once approved).
    pub fn cancel_sale(&self) -> bool {
        self.inner.payments.cancel_sales()
    }

    /// Tells the core where to ask for the phone's position; each sale records it (and the
    /// cross-province rules use it).
    pub fn set_location_provider(&self, provider: Arc<dyn LocationProvider>) {
        *self.inner.location.write().unwrap_or_else(|p| p.into_inner()) = Some(provider);
    }

    /// The province the phone is in now (from the app's location provider), if known.
    pub fn current_province(&self) -> Option<crate::regions::Province> {
        let here = self.current_location()?;
        crate::regions::province_at(here.latitude, here.longitude)
    }

    /// Fetches the platform's cross-province rules for the merchant (registered province,
    /// location policy, applications and their review state) and caches them.
    pub async fn refresh_cross_province(&self) -> Result<CrossProvinceStatus> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.payments.regions().refresh(&inner.accounts, &merchant_id).await
        })
        .await
    }

    /// The cross-province rules as last fetched (no network); `None` before the first fetch.
    pub fn cross_province_status(&self) -> Result<Option<CrossProvinceStatus>> {
        self.inner.payments.regions().cached(&self.inner.merchant_id()?)
    }

    /// Applies for cross-province business in `province_code` (e.g. "43") for `days` days;
    /// the application is reviewed by the platform (pending, then approved or rejected with a
    /// reason): follow it with [`Self::refresh_cross_province`].
    pub async fn apply_cross_province(
        &self,
        province_code: String,
        reason: String,
        days: u32,
    ) -> Result<CrossProvinceApplication> {
        let inner = self.inner.clone();
        let filed = run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.payments.regions().apply(&inner.accounts, &merchant_id, province_code.trim(), &reason, days).await
        })
        .await?;
        if filed.status == crate::regions::ApplicationStatus::Queued {
            self.keep_working();
        }
        Ok(filed)
    }

    /// Tells the core which network the phone is on now (call it on every connectivity
    /// change): the data meter splits its counts by it.
    pub fn set_network_type(&self, network: NetworkType) {
        self.inner.platform.meter().set_network(network);
        if network == NetworkType::Offline || !self.work_waiting() {
            return;
        }
        // A network (again): what waited for one goes now, not after its back-off.
        if let Ok(merchant_id) = self.inner.merchant_id() {
            if let Err(e) = crate::outbox::due_now(&self.inner.db, &merchant_id) {
                tracing::warn!(error = %e, "queued requests not rescheduled");
            }
        }
        self.keep_working();
        self.inner.wake.notify_one();
    }

    /// Whether reversals, signatures or queued requests are waiting to be sent.
    fn work_waiting(&self) -> bool {
        let Ok(merchant_id) = self.inner.merchant_id() else { return false };
        let payments = self.inner.payments.next_due(&merchant_id).is_ok_and(|d| d.is_some());
        payments || crate::outbox::next_due(&self.inner.db, &merchant_id).is_ok_and(|d| d.is_some())
    }

    /// Bytes to and from the platform on business days `first_day..=last_day` (YYYY-MM-DD),
    /// per day, per request kind, and per network type: the app's "data used" screen.
    pub fn data_usage(&self, first_day: String, last_day: String) -> Result<DataUsageReport> {
        for (field, day) in [("first_day", &first_day), ("last_day", &last_day)] {
            if crate::history::ledger::day_number(day).is_none() {
                return Err(Error::invalid(field, "a date as YYYY-MM-DD"));
            }
        }
        Ok(self.inner.platform.meter().report(&first_day, &last_day, self.inner.platform.platform_now())?)
    }

    /// [`Self::data_usage`] for the month holding `day` (YYYY-MM-DD), or this month (by the
    /// platform's clock) when `None`.
    pub fn data_usage_month(&self, day: Option<String>) -> Result<DataUsageReport> {
        let day = day.unwrap_or_else(|| crate::limits::business_day(self.inner.platform.platform_now()));
        let (first, last) = crate::history::stats::month_of(&day)?;
        self.data_usage(first, last)
    }

    fn current_location(&self) -> Option<Location> {
        let provider = self.inner.location.read().unwrap_or_else(|p| p.into_inner()).clone();
        provider.and_then(|p| p.current_location())
    }

    /// Keeps the customer's signature on an approved sale and uploads it in the background
    /// (retried with back-off while the platform is out of reach). The receipt shows it.
    pub fn sign_sale(&self, sale_id: String, signature: Signature) -> Result<Sale> {
        self.inner.merchant_id()?;
        let sale = self.inner.payments.sign(&sale_id, &signature, self.inner.accounts.platform_now())?;
        self.keep_working();
        Ok(sale)
    }

    /// The sale's signature as a PNG (1-bit, at most 384 x 160), if it was signed.
    pub fn signature_png(&self, sale_id: String) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.payments.signature_of(&sale_id)?.map(|s| s.render().png()))
    }

    /// Resolves payments a stopped app left unfinished and retries due reversals; returns
    /// the sales it settled. Call after login at start-up (and when the network returns).
    pub async fn resolve_pending_payments(&self) -> Result<Vec<Sale>> {
        let inner = self.inner.clone();
        let settled = run(async move {
            let settled = inner.payments.resolve_pending(&inner.accounts, false).await?;
            if let Err(e) = inner.payments.upload_signatures(&inner.accounts, false).await {
                tracing::info!(error = %e, "signatures not uploaded yet");
            }
            if let Err(e) = crate::outbox::replay(&inner.db, &inner.accounts, &inner.merchant_id()?).await {
                tracing::info!(error = %e, "queued requests not sent yet");
            }
            Ok(settled)
        })
        .await?;
        if self.work_waiting() {
            self.keep_working();
        }
        Ok(settled)
    }

    /// Voids an approved sale on its business day (before settlement); needs the account
    /// password. The day's limit is given back.
    pub async fn void_sale(&self, sale_id: String, password: String) -> Result<Sale> {
        let inner = self.inner.clone();
        run(async move { inner.payments.adjust(&inner.accounts, &sale_id, Adjust::Void, &password).await }).await
    }

    /// Refunds part or all of a settled sale, never more than remains; needs the password.
    pub async fn refund_sale(&self, sale_id: String, amount_fen: i64, password: String) -> Result<Sale> {
        let inner = self.inner.clone();
        run(async move {
            inner.payments.adjust(&inner.accounts, &sale_id, Adjust::Refund { amount_fen }, &password).await
        })
        .await
    }

    /// Counters for diagnostics: durable SQLite commits and platform round trips since this
    /// object was made (the payment tests hold a sale to its budget with them).
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics {
            durable_commits: self.inner.db.commits(),
            platform_round_trips: self.inner.platform.round_trips(),
        }
    }

    /// Whether the platform is reachable as far as the phone can tell: the network type the app
    /// reported, and whether the last exchange got an answer (for the app's status line).
    pub fn connection_status(&self) -> crate::platform::link::ConnectionStatus {
        self.inner.platform.connection_status()
    }

    /// A sale from the journal by its id.
    pub fn sale(&self, id: String) -> Result<Sale> {
        self.inner.payments.sale_of(&id)
    }

    /// The receipt (签购单) of an approved sale, from the journal and the cached merchant
    /// profile; works offline. `reprint` marks it as a reprint.
    pub fn receipt(&self, sale_id: String, reprint: bool) -> Result<Receipt> {
        let sale = self.inner.payments.sale_of(&sale_id)?;
        if sale.status != SaleStatus::Approved {
            return Err(Error::invalid("sale_id", "only an approved sale has a receipt"));
        }
        let merchant_id = self.inner.merchant_id()?;
        let profile = self.inner.merchant.cached_profile(&merchant_id)?.ok_or(Error::ProfileNotLoaded)?;
        let signature = self.inner.payments.signature_of(&sale_id)?.map(|s| s.render());
        Ok(Receipt::of(
            &sale,
            &profile.merchant_name,
            &profile.merchant_id,
            &profile.terminal_id,
            &self.inner.platform_url,
            signature,
            reprint,
        ))
    }

    /// A page of the merchant's transactions (sales, voids, refunds, reversals; made on this
    /// phone or, after sync, on another), newest first. Pass `next_cursor` back for the next
    /// page. Offline.
    pub fn transactions(&self, filter: Filter, cursor: Option<String>, limit: u32) -> Result<Page> {
        self.inner.history.page(&self.inner.merchant_id()?, &filter, cursor.as_deref(), limit)
    }

    /// One transaction by id (a sale's id also opens its receipt with `receipt`).
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
    /// Excel), reporting progress; `cancel_export` stops it and leaves no file. One export at
    /// a time.
    pub async fn export_transactions(
        &self,
        filter: Filter,
        path: String,
        progress: Arc<dyn ExportProgress>,
    ) -> Result<ExportSummary> {
        let merchant_id = self.inner.merchant_id()?;
        let inner = self.inner.clone();
        inner.cancel_export.store(false, std::sync::atomic::Ordering::SeqCst);
        // On the core's runtime (the caller may be a foreign executor), then on a blocking
        // thread: the export is file and database work.
        run(async move {
            crate::runtime::blocking(move || {
                let path = std::path::Path::new(&path);
                inner.history.export(&merchant_id, &filter, path, progress.as_ref(), &inner.cancel_export)
            })
            .await
        })
        .await
    }

    /// The settlement statement (结算单) of one business day's batch as CSV: the batch's
    /// figures from the platform (expected, paid, when), the phone's own net, then the day's
    /// transactions. Needs the network once; cancel with `cancel_export`.
    pub async fn export_settlement_statement(
        &self,
        business_day: String,
        path: String,
        progress: Arc<dyn ExportProgress>,
    ) -> Result<ExportSummary> {
        let inner = self.inner.clone();
        inner.cancel_export.store(false, std::sync::atomic::Ordering::SeqCst);
        run(async move {
            let merchant_id = inner.merchant_id()?;
            let path = std::path::PathBuf::from(path);
            inner
                .history
                .statement(&inner.accounts, &merchant_id, &business_day, &path, progress.as_ref(), &inner.cancel_export)
                .await
        })
        .await
    }

    /// Stops the running export (it ends with `ExportCancelled`).
    pub fn cancel_export(&self) {
        self.inner.cancel_export.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Brings the platform's transactions after this phone's cursor into the history: sales on
    /// the merchant's other devices, voids and refunds made elsewhere. Resumable: a sync cut off
    /// continues where it stopped. Progress after each page.
    pub async fn sync_history(&self, progress: Arc<dyn history::SyncProgress>) -> Result<history::SyncSummary> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.history.sync(&inner.accounts, &merchant_id, progress.as_ref()).await
        })
        .await
    }

    /// The background form of [`Self::sync_history`]: syncs on Wi-Fi (or with the data saver
    /// off); on mobile data it does nothing and answers `None`, leaving it for Wi-Fi or for the
    /// merchant to ask (`sync_history` always goes).
    pub async fn background_sync_history(
        &self,
        progress: Arc<dyn history::SyncProgress>,
    ) -> Result<Option<history::SyncSummary>> {
        if !self.may_transfer_in_background() {
            return Ok(None);
        }
        self.sync_history(progress).await.map(Some)
    }

    /// Turns the data saver on (the default) or off: with it on, bulk transfers nobody asked
    /// for wait for Wi-Fi.
    pub fn set_data_saver(&self, on: bool) {
        self.inner.platform.meter().set_data_saver(on);
    }

    /// Whether a bulk transfer the merchant did not ask for may go now (Wi-Fi, or data saver
    /// off): the app asks before downloading a reader firmware package in the background.
    pub fn may_transfer_in_background(&self) -> bool {
        self.inner.platform.meter().bulk_allowed()
    }

    /// Reconciles business days `from_day`..=`to_day` with the platform's settlement batches:
    /// each batch beside the phone's net, and every mismatch with its reason (paid short, net
    /// differs, a transaction on one side only, amounts that differ). Sync first.
    pub async fn reconcile(&self, from_day: String, to_day: String) -> Result<history::Report> {
        let inner = self.inner.clone();
        run(async move {
            let merchant_id = inner.merchant_id()?;
            inner.history.reconcile(&inner.accounts, &merchant_id, &from_day, &to_day).await
        })
        .await
    }

    /// Checks the ledger's hash chain: the number of entries that check out, and the first
    /// edited, inserted or deleted entry if there is one.
    pub fn verify_journal(&self) -> Result<history::Check> {
        self.inner.history.verify()
    }

    /// The latest sales from the journal, newest first.
    pub fn recent_sales(&self, limit: u32) -> Result<Vec<Sale>> {
        self.inner.payments.recent(&self.inner.merchant_id()?, limit.min(500))
    }

    /// Retries pending reversals and recoveries and uploads queued signatures in the
    /// background, with back-off, until none is left (or the session ends).
    fn keep_working(&self) {
        use std::sync::atomic::Ordering;
        // One retry loop per StarPos: a second sale left pending joins the running loop.
        if self.inner.reversing.swap(true, Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        crate::runtime::spawn(async move {
            let next_due = |inner: &Inner| {
                let Ok(merchant_id) = inner.merchant_id() else { return None };
                let payments = inner.payments.next_due(&merchant_id).unwrap_or(None);
                let queued = crate::outbox::next_due(&inner.db, &merchant_id).unwrap_or(None);
                payments.into_iter().chain(queued).min()
            };
            loop {
                let Some(due) = next_due(&inner) else {
                    inner.reversing.store(false, Ordering::SeqCst);
                    // A sale may have gone pending between the check and the store: if so and
                    // no other loop took over, carry on.
                    if next_due(&inner).is_none() || inner.reversing.swap(true, Ordering::SeqCst) {
                        return;
                    }
                    continue;
                };
                // Sleep until the earliest entry is due (its back-off grows with each failed
                // attempt, up to 5 minutes); what is due now goes at once.
                let wait = (due - inner.accounts.platform_now()).clamp(0, 300);
                // Woken early when the app reports a network again.
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
                    _ = inner.wake.notified() => {}
                }
                let reversals = inner.payments.resolve_pending(&inner.accounts, true).await.map(|_| ());
                let signatures = inner.payments.upload_signatures(&inner.accounts, true).await.map(|_| ());
                let queued = match inner.merchant_id() {
                    Ok(m) => crate::outbox::replay(&inner.db, &inner.accounts, &m).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = reversals.and(signatures).and(queued) {
                    // Not logged in, or refused outright: nothing was rescheduled, so pause
                    // rather than spin.
                    tracing::info!(error = %e, "pending work not done yet");
                    tokio::time::sleep(Duration::from_secs(RETRY_PAUSE_SECS)).await;
                }
            }
        });
    }
}
