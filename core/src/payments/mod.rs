//! Card sales on a crash-safe journal (issue #5; docs/payments.md).
//!
//! The rules that keep money right:
//! - The idempotency key is made and committed (with the limit reservation) before the first
//!   send, and every retry reuses it; the platform answers a repeat with the same payment.
//! - An authorisation whose answer is lost is never retried under a new key: its outcome is
//!   unknown, so it is reversed, and the reversal is journalled and retried until the
//!   platform acknowledges it. A reversal for a key the platform never saw leaves a tombstone
//!   there, so the lost request cannot be approved later.
//! - A chip card that declines after the platform approved is reversed.
//! - On restart, unfinished entries are resolved by asking the platform by key. The stated rule
//!   for an approval the card never confirmed (the app stopped between the answer and the
//!   card's confirmation): reverse it. A swipe or tap approval needs no card confirmation and
//!   stands.

pub mod journal;
pub mod receipt;
pub mod signature;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;

use crate::account::Accounts;
use crate::error::Error;
use crate::limits::{business_day, LimitBook, LimitKind};
use crate::location::Location;
use crate::onboarding::CardKind;
use crate::platform::wire::{
    AdjustmentRequest, AdjustmentSettled, AuthorizeRequest, PaymentWire, ReverseRequest, ReverseResponse,
    SignatureUpload,
};
use crate::reader::card::{CardRead, EntryMode, EntryModes};
use crate::reader::controller::CardReader;
use crate::reader::tlv;
use crate::regions::CrossProvince;
use crate::secure_store::SecureStore;
use crate::storage::sealed::{key_in_store, Sealer, JOURNAL_KEY};
use crate::storage::Db;
pub use journal::SignatureState;
use journal::{CardDetails, Entry, State};
use signature::Signature;

/// How long the customer has to present a card, and to enter the PIN.
const CARD_TIMEOUT_SECS: u8 = 60;
/// Reversal attempts made at once before leaving the rest to `resolve_pending`.
const QUICK_REVERSAL_DELAYS_MS: [u64; 3] = [0, 500, 1_500];
/// How long those attempts may take in all: on a dead link each would otherwise wait out the
/// client's full time-outs while the customer stands at the counter. The background loop
/// carries on after it.
const QUICK_REVERSAL_BUDGET: Duration = Duration::from_secs(10);
/// Back-off between later reversal attempts: doubles from 5 s up to 5 minutes.
const RETRY_FIRST_SECS: i64 = 5;
const RETRY_MAX_SECS: i64 = 300;
const CARD_HASH_KEY: &str = "starpos.card_hash_key.v1";

/// Why a sale was (or is being) reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversalReason {
    /// The authorisation's answer never came (or could not be read): it may have been approved.
    NoAnswer,
    /// The platform approved, then the card declined the answer (chip completion).
    ChipDeclined,
    /// Approved, but the card never confirmed (the reader was lost before completion).
    CardNotConfirmed,
    /// Found unfinished after a restart and reversed then.
    Recovery,
}

impl ReversalReason {
    /// The name the journal stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ReversalReason::NoAnswer => "no_answer",
            ReversalReason::ChipDeclined => "chip_declined",
            ReversalReason::CardNotConfirmed => "card_not_confirmed",
            ReversalReason::Recovery => "recovery",
        }
    }

    /// From the journal. A name this version does not know (a newer app wrote it) reads as
    /// `Recovery`: the sale is reversed either way, and nothing is charged.
    pub fn from_journal(name: Option<&str>) -> ReversalReason {
        [ReversalReason::NoAnswer, ReversalReason::ChipDeclined, ReversalReason::CardNotConfirmed]
            .into_iter()
            .find(|r| Some(r.as_str()) == name)
            .unwrap_or(ReversalReason::Recovery)
    }
}

impl std::fmt::Display for ReversalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a sale is, for the app to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleStep {
    WaitingForCard,
    WaitingForPin,
    /// The authorisation is on its way: from here the sale can no longer be cancelled.
    Authorizing,
    CompletingOnCard,
    Reversing,
}

pub trait SaleListener: Send + Sync {
    /// Called from a core thread; keep it quick.
    fn on_step(&self, step: SaleStep);
}

/// Why a card was declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    InsufficientFunds,
    WrongPin,
    CardExpired,
    CardRefused,
    InvalidCard,
    Other,
}

impl DeclineReason {
    fn from_code(code: &str) -> DeclineReason {
        match code {
            "51" => DeclineReason::InsufficientFunds,
            "55" => DeclineReason::WrongPin,
            "54" => DeclineReason::CardExpired,
            "05" => DeclineReason::CardRefused,
            "14" => DeclineReason::InvalidCard,
            _ => DeclineReason::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleStatus {
    /// Approved and final: print the receipt.
    Approved,
    Declined {
        reason: DeclineReason,
        message: String,
    },
    /// Reversed: nothing is charged.
    Reversed {
        reason: ReversalReason,
    },
    /// Being reversed; the core keeps trying until the platform acknowledges.
    ReversalPending {
        reason: ReversalReason,
    },
    /// Refused before any money moved.
    Failed {
        message: String,
    },
    /// Still being resolved (only seen in history before recovery ran).
    InProgress,
    /// Approved, then voided the same day: nothing is charged.
    Voided,
}

/// Void (the whole sale, its business day) or refund (part or all, after settlement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjust {
    Void,
    Refund { amount_fen: i64 },
}

/// A sale as the app sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    pub id: String,
    pub status: SaleStatus,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub masked_pan: String,
    pub card_kind: CardKind,
    pub issuer_bank: Option<String>,
    pub entry_mode: EntryMode,
    pub app_label: String,
    pub aid: String,
    pub auth_code: Option<String>,
    pub reference_number: Option<String>,
    pub batch_number: Option<String>,
    pub voucher_number: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    /// The card's final TVR and TSI (hex), for chip sales.
    pub tvr: Option<String>,
    pub tsi: Option<String>,
    /// Refunded so far.
    pub refunded_fen: i64,
    /// Where the sale happened, when the app knew.
    pub location: Option<Location>,
    /// The province (GB/T 2260 code) the sale was made in; `None` when the position was
    /// unknown and the platform's policy allowed the sale (it is flagged there).
    pub province: Option<String>,
    pub signature: SignatureState,
}

impl From<Entry> for Sale {
    fn from(e: Entry) -> Sale {
        let reason = ReversalReason::from_journal(e.reversal_reason.as_deref());
        let status = match e.state {
            State::Completed => SaleStatus::Approved,
            State::Declined => SaleStatus::Declined {
                reason: DeclineReason::from_code(e.response_code.as_deref().unwrap_or("")),
                message: e.message.clone().unwrap_or_default(),
            },
            State::Reversed => SaleStatus::Reversed { reason },
            State::ReversalPending => SaleStatus::ReversalPending { reason },
            State::Failed if e.reversal_reason.is_some() => SaleStatus::Reversed { reason },
            State::Failed => SaleStatus::Failed { message: e.message.clone().unwrap_or_default() },
            State::Sending | State::Approved => SaleStatus::InProgress,
        };
        Sale {
            id: e.key,
            status,
            amount_fen: e.amount_fen,
            fee_fen: e.fee_fen.unwrap_or(0),
            net_fen: e.net_fen.unwrap_or(0),
            masked_pan: e.masked_pan,
            card_kind: e.card_kind.as_deref().and_then(CardKind::parse).unwrap_or(CardKind::Unknown),
            issuer_bank: e.issuer_bank,
            // The journal writes only the three names; a row it cannot read shows as a chip read.
            entry_mode: EntryMode::parse(&e.entry_mode).unwrap_or(EntryMode::Insert),
            app_label: e.app_label,
            aid: e.aid,
            auth_code: e.auth_code,
            reference_number: e.reference_number,
            batch_number: e.batch_number,
            voucher_number: e.voucher_number,
            note: e.note,
            created_at: e.created_at,
            tvr: e.tvr,
            tsi: e.tsi,
            refunded_fen: 0,
            location: e.location.as_ref().map(Location::from_wire),
            province: e.province,
            signature: SignatureState::NotSigned,
        }
    }
}

pub(crate) struct Payments {
    db: Arc<Db>,
    store: Arc<dyn SecureStore>,
    /// Read from secure storage once (a Keystore call is slow), under a lock so that two
    /// first sales cannot make two different keys.
    keys: Mutex<Option<Arc<Keys>>>,
    /// Journal keys this process is working on right now: recovery leaves them alone (it is
    /// for what a stopped app left behind, not for a sale still in progress).
    in_flight: Mutex<HashSet<String>>,
    regions: CrossProvince,
}

struct Keys {
    card_hash: ring::hmac::Key,
    sealer: Sealer,
}

/// What the merchant asked for: the amount, an optional note, and where the phone was.
pub(crate) struct Order {
    pub amount_fen: i64,
    pub note: Option<String>,
    pub location: Option<Location>,
}

/// Lets the merchant cancel a sale until its authorisation is sent (held by the sale's handle).
pub(crate) struct SaleControl {
    cancelled: tokio::sync::watch::Sender<bool>,
    sent: Mutex<bool>,
}

impl SaleControl {
    pub(crate) fn new() -> Arc<SaleControl> {
        Arc::new(SaleControl { cancelled: tokio::sync::watch::channel(false).0, sent: Mutex::new(false) })
    }

    /// False when it is too late: the authorisation is on its way.
    pub(crate) fn cancel(&self) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if *sent {
            return false;
        }
        self.cancelled.send_replace(true);
        true
    }

    /// The point of no return: false if the sale was cancelled before it.
    fn mark_sent(&self) -> bool {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if *self.cancelled.borrow() {
            return false;
        }
        *sent = true;
        true
    }

    async fn cancelled(&self) {
        let mut rx = self.cancelled.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Removes a key from the in-flight set however the sale ends.
struct InFlight<'a> {
    payments: &'a Payments,
    key: Option<String>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.payments.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        }
    }
}

/// Whether a failed authorisation may have been processed by the platform (so must be
/// reversed), rather than refused before processing.
fn outcome_unknown(e: &Error) -> bool {
    match e {
        Error::Network { .. } | Error::Internal { .. } => true,
        // An answer that could not be read (bad JSON, a body a carrier's proxy mangled) may
        // have been an approval: unknown, so reversed.
        Error::Platform { code, .. } => matches!(code.as_str(), "unavailable" | "internal" | "bad_response"),
        _ => false,
    }
}

impl Payments {
    pub fn new(db: Arc<Db>, store: Arc<dyn SecureStore>) -> Self {
        Payments {
            db: db.clone(),
            store,
            keys: Mutex::new(None),
            in_flight: Mutex::new(HashSet::new()),
            regions: CrossProvince::new(db.clone()),
        }
    }

    /// The cross-province rules every payment is checked against.
    pub fn regions(&self) -> &CrossProvince {
        &self.regions
    }

    fn keys(&self) -> Result<Arc<Keys>, Error> {
        let mut held = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = held.as_ref() {
            return Ok(k.clone());
        }
        let card = key_in_store(self.store.as_ref(), CARD_HASH_KEY)?;
        let journal = key_in_store(self.store.as_ref(), JOURNAL_KEY)?;
        let keys = Arc::new(Keys {
            card_hash: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &card),
            sealer: Sealer::new(&journal),
        });
        *held = Some(keys.clone());
        Ok(keys)
    }

    /// A keyed hash of the card for per-card counts. The phone never has the full number, so
    /// it hashes the masked one (first six, last four) under a key kept in secure storage: two
    /// cards of one merchant rarely share both ends, and the platform counts exactly.
    fn card_key(&self, masked_pan: &str) -> Result<String, Error> {
        let tag = ring::hmac::sign(&self.keys()?.card_hash, masked_pan.as_bytes());
        Ok(hex::encode(&tag.as_ref()[..16]))
    }

    /// Opens a row's sealed card details into the entry. A row that will not open (the key
    /// was lost with a reinstall) shows only its last four digits.
    fn opened(&self, mut e: Entry) -> Result<Entry, Error> {
        if let Some(blob) = e.sealed.take() {
            match self.keys()?.sealer.open(&e.key, &blob).and_then(|b| CardDetails::from_bytes(&b)) {
                Some(d) => {
                    e.masked_pan = d.masked_pan;
                    e.location = d.location;
                }
                None => {
                    tracing::warn!(sale = %e.key, "sealed card details do not open");
                    e.masked_pan = format!("************{}", e.last4.as_deref().unwrap_or("????"));
                }
            }
        }
        Ok(e)
    }

    fn mark_in_flight(&self, key: &str) {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string());
    }

    fn is_in_flight(&self, key: &str) -> bool {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).contains(key)
    }

    /// A sale of `order.amount_fen`: card and PIN on the reader, authorisation, chip
    /// completion; `control` is its handle's way to cancel it.
    pub async fn sale(
        &self,
        accounts: &Accounts,
        reader: &CardReader,
        order: Order,
        listener: &dyn SaleListener,
        control: Arc<SaleControl>,
    ) -> Result<Sale, Error> {
        let Order { amount_fen, note, location } = order;
        if let Some(l) = &location {
            l.check()?;
        }
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        if accounts.offline() {
            // Said before the card is read: an authorisation cannot go anywhere.
            return Err(Error::Offline);
        }
        if !(1..=999_999_999_999).contains(&amount_fen) {
            return Err(Error::invalid("amount_fen", "from 1 to 999,999,999,999 fen"));
        }
        if note.as_ref().is_some_and(|n| n.chars().count() > 100) {
            return Err(Error::invalid("note", "at most 100 characters"));
        }
        let has_card: bool = self.db.with(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM settlement_cards WHERE merchant_id = ?1)",
                [&merchant_id],
                |r| r.get(0),
            )?)
        })?;
        if !has_card {
            return Err(Error::SettlementCardRequired);
        }
        let day = business_day(accounts.platform_now());
        let remaining = LimitBook::new(&self.db).remaining(&merchant_id, &day)?;
        if amount_fen > remaining.max_next_payment_fen {
            let limit = if amount_fen > remaining.limits.per_txn_fen {
                LimitKind::PerTransaction
            } else {
                LimitKind::DailyTotal
            };
            return Err(Error::LimitExceeded {
                limit,
                attempted: amount_fen,
                remaining: remaining.max_next_payment_fen,
            });
        }

        // Before the card is touched: a sale refused for where it is made never reads a card.
        let place = self.regions.check(accounts, &merchant_id, location.as_ref()).await?;

        let mut guard = InFlight { payments: self, key: None };

        listener.on_step(SaleStep::WaitingForCard);
        let read = tokio::select! {
            read = reader.read_card(amount_fen as u64, EntryModes::ALL, CARD_TIMEOUT_SECS) => read.map_err(Error::from)?,
            _ = control.cancelled() => return Err(self.cancelled_on(reader).await),
        };
        let key = crate::util::random_hex(16);
        let keys = self.keys()?;
        let card_key = self.card_key(&read.masked_pan)?;
        let wire_location = location.map(Location::to_wire);
        let details = CardDetails { masked_pan: read.masked_pan.clone(), location: wire_location };
        let sealed = keys.sealer.seal(&key, &details.to_bytes());
        let last4 = &read.masked_pan[read.masked_pan.len().saturating_sub(4)..];

        // The PIN is typed on the reader while commit 1 (key and limit reservation) goes to
        // disk: the customer's typing hides the disk sync. The entry is still committed before
        // anything is sent; if the PIN fails or the merchant cancels, it is withdrawn (its key
        // never left the phone).
        let pin_entry = read.pin_required.then(|| {
            listener.on_step(SaleStep::WaitingForPin);
            let (reader, read, control) = (reader.clone(), read.clone(), control.clone());
            tokio::spawn(async move {
                tokio::select! {
                    pin = reader.enter_pin(&read, CARD_TIMEOUT_SECS) => Some(pin),
                    _ = control.cancelled() => None,
                }
            })
        });
        self.mark_in_flight(&key);
        guard.key = Some(key.clone());
        let now = accounts.platform_now();
        let begun = journal::begin(
            &self.db,
            &journal::NewSale {
                key: &key,
                merchant_id: &merchant_id,
                amount_fen,
                note: note.as_deref(),
                entry_mode: read.entry_mode.as_str(),
                sealed: &sealed,
                last4,
                app_label: &read.app_label,
                aid: &read.aid,
                business_day: &day,
                card_key: &card_key,
                province: place.as_ref().map(|p| p.code.as_str()),
                now,
            },
        );
        if let Err(e) = begun {
            // Refused by a limit (the per-card count is known only now): let the card go.
            let _ = reader.cancel().await;
            if let Some(task) = pin_entry {
                let _ = task.await;
            }
            return Err(e.into());
        }
        let pin = match pin_entry {
            None => None,
            Some(task) => match task.await {
                Ok(Some(Ok(pin))) => Some(pin),
                Ok(Some(Err(e))) => {
                    journal::withdraw(&self.db, &key)?;
                    return Err(Error::from(e));
                }
                Ok(None) => {
                    journal::withdraw(&self.db, &key)?;
                    return Err(self.cancelled_on(reader).await);
                }
                Err(_) => {
                    journal::withdraw(&self.db, &key)?;
                    let _ = reader.cancel().await;
                    return Err(Error::Internal { reason: "the PIN entry task failed".into() });
                }
            },
        };
        if !control.mark_sent() {
            journal::withdraw(&self.db, &key)?;
            return Err(self.cancelled_on(reader).await);
        }

        listener.on_step(SaleStep::Authorizing);
        let request = AuthorizeRequest {
            idempotency_key: key.clone(),
            amount_fen,
            entry_mode: read.entry_mode.as_str().into(),
            masked_pan: read.masked_pan.clone(),
            ksn: hex::encode(read.ksn),
            encrypted_track2: hex::encode(&read.encrypted_track2),
            pin_block: pin.as_ref().map(|p| hex::encode(p.pin_block)),
            field55: hex::encode(&read.field55),
            note,
            location: wire_location,
        };
        let answer: Result<PaymentWire, Error> =
            accounts.signed(Method::POST, "v1/payments/authorize", Some(&request), true).await;
        drop(request);
        match answer {
            Ok(payment) => self.answered(accounts, reader, &read, &key, &payment, listener).await?,
            Err(e) if outcome_unknown(&e) => {
                tracing::warn!(error = %e, "no answer to an authorisation; reversing it");
                self.reverse_now(accounts, &key, "no_answer", listener).await?;
            }
            Err(e) => {
                journal::failed(&self.db, &key, &e.to_string(), accounts.platform_now())?;
                if read.entry_mode == EntryMode::Insert {
                    let _ = reader.cancel().await;
                }
                return Err(e);
            }
        }
        self.sale_of(&key)
    }

    /// Lets the card go after the merchant cancelled.
    async fn cancelled_on(&self, reader: &CardReader) -> Error {
        if let Err(e) = reader.cancel().await {
            tracing::info!(error = %e, "the reader did not take the cancel");
        }
        Error::SaleCancelled
    }

    async fn answered(
        &self,
        accounts: &Accounts,
        reader: &CardReader,
        read: &CardRead,
        key: &str,
        payment: &PaymentWire,
        listener: &dyn SaleListener,
    ) -> Result<(), Error> {
        let chip = read.entry_mode == EntryMode::Insert;
        let approved = payment.status == "approved";
        journal::answered(&self.db, key, payment, !(chip && approved), accounts.platform_now())?;
        if !chip {
            return Ok(());
        }
        let code: [u8; 2] = payment.response_code.as_bytes().try_into().unwrap_or(*b"05");
        if !approved {
            // Let the card end its transaction too; the decline stands whatever it says.
            let _ = reader.complete(read, code, Vec::new()).await;
            return Ok(());
        }
        listener.on_step(SaleStep::CompletingOnCard);
        let issuer_data = hex::decode(&payment.issuer_data).unwrap_or_default();
        match reader.complete(read, code, issuer_data).await {
            Ok(done) if done.approved => {
                let objects = tlv::decode_nested(&done.icc_data).unwrap_or_default();
                let hex_of = |tag: u32| tlv::find_value(&objects, tlv::Tag::known(tag)).map(hex::encode_upper);
                let (tvr, tsi) = (hex_of(0x95), hex_of(0x9B));
                Ok(journal::completed(&self.db, key, tvr.as_deref(), tsi.as_deref(), accounts.platform_now())?)
            }
            Ok(_) => self.reverse_now(accounts, key, "chip_declined", listener).await,
            Err(e) => {
                tracing::warn!(error = %e, "the card did not confirm an approval; reversing it");
                self.reverse_now(accounts, key, "card_not_confirmed", listener).await
            }
        }
    }

    /// Journals the reversal, then tries it a few times at once; what still fails is left for
    /// [`Self::resolve_pending`] with back-off.
    async fn reverse_now(
        &self,
        accounts: &Accounts,
        key: &str,
        reason: &str,
        listener: &dyn SaleListener,
    ) -> Result<(), Error> {
        journal::reversal_pending(&self.db, key, reason, accounts.platform_now())?;
        listener.on_step(SaleStep::Reversing);
        let deadline = tokio::time::Instant::now() + QUICK_REVERSAL_BUDGET;
        for delay in QUICK_REVERSAL_DELAYS_MS {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            // An attempt cut short is like one that got no answer: the reversal is idempotent.
            match tokio::time::timeout_at(deadline, self.try_reverse(accounts, key, reason)).await {
                Ok(Ok(true)) => return Ok(()),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
        }
        let next = accounts.platform_now() + RETRY_FIRST_SECS;
        Ok(journal::reversal_retry(&self.db, key, next)?)
    }

    /// One reversal attempt; true when the platform acknowledged it.
    async fn try_reverse(&self, accounts: &Accounts, key: &str, reason: &str) -> Result<bool, Error> {
        let body = ReverseRequest { reason: reason.into() };
        let path = format!("v1/payments/{key}/reverse");
        match accounts.signed::<_, ReverseResponse>(Method::POST, &path, Some(&body), true).await {
            Ok(answer) => {
                let declined = answer.payment.as_ref().is_some_and(|p| p.status == "declined");
                if declined {
                    // Nothing to reverse: the platform had declined it. Record the decline.
                    if let Some(p) = &answer.payment {
                        journal::answered(&self.db, key, p, true, accounts.platform_now())?;
                    }
                } else {
                    journal::reversed(&self.db, key, answer.payment.as_ref(), !answer.found, accounts.platform_now())?;
                }
                Ok(true)
            }
            // Offline: not sent this time; the background loop tries again.
            Err(e) if outcome_unknown(&e) || e == Error::Offline => {
                tracing::info!(error = %e, "reversal not acknowledged yet");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Resolves what a stopped app left unfinished, and retries reversals (all of them, or
    /// with `only_due` those whose back-off has passed). Returns the sales whose outcome this
    /// call settled, for the app to report.
    pub async fn resolve_pending(&self, accounts: &Accounts, only_due: bool) -> Result<Vec<Sale>, Error> {
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        let mut settled = Vec::new();
        for entry in journal::unfinished(&self.db, &merchant_id)? {
            if self.is_in_flight(&entry.key) {
                continue;
            }
            let now = accounts.platform_now();
            let done = match entry.state {
                State::Sending if !only_due || entry.next_attempt_at.is_none_or(|t| t <= now) => {
                    self.resolve_sent(accounts, &entry).await?
                }
                State::Approved => {
                    journal::reversal_pending(&self.db, &entry.key, "card_not_confirmed", now)?;
                    self.attempt_due(accounts, &entry.key, "card_not_confirmed", entry.attempts).await?
                }
                State::ReversalPending if !only_due || entry.next_attempt_at.is_none_or(|t| t <= now) => {
                    let reason = entry.reversal_reason.clone().unwrap_or_else(|| "recovery".into());
                    self.attempt_due(accounts, &entry.key, &reason, entry.attempts).await?
                }
                _ => false,
            };
            if done {
                settled.push(self.sale_of(&entry.key)?);
            }
        }
        for (key, sale_key) in journal::unfinished_adjustments(&self.db, &merchant_id)? {
            if !self.is_in_flight(&key) && self.settle_adjustment(accounts, &key).await? {
                settled.push(self.sale_of(&sale_key)?);
            }
        }
        Ok(settled)
    }

    /// An adjustment a stopped app left without an answer: the platform says whether it has
    /// it (it stands) or not (it will now never apply that key; the merchant may start again).
    async fn settle_adjustment(&self, accounts: &Accounts, key: &str) -> Result<bool, Error> {
        let path = format!("v1/adjustments/{key}/settle");
        match accounts.signed::<(), AdjustmentSettled>(Method::POST, &path, None, true).await {
            Ok(AdjustmentSettled { found: true }) => journal::adjustment_done(&self.db, key, accounts.platform_now())?,
            Ok(AdjustmentSettled { found: false }) => {
                journal::adjustment_failed(&self.db, key, accounts.platform_now())?
            }
            Err(e) if outcome_unknown(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        Ok(true)
    }

    async fn attempt_due(&self, accounts: &Accounts, key: &str, reason: &str, attempts: i64) -> Result<bool, Error> {
        if self.try_reverse(accounts, key, reason).await? {
            return Ok(true);
        }
        let backoff = (RETRY_FIRST_SECS << attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
        journal::reversal_retry(&self.db, key, accounts.platform_now() + backoff)?;
        Ok(false)
    }

    /// A payment committed as "sending" when the app stopped: ask the platform what it knows.
    async fn resolve_sent(&self, accounts: &Accounts, entry: &Entry) -> Result<bool, Error> {
        let path = format!("v1/payments/{}", entry.key);
        let now = accounts.platform_now();
        match accounts.signed::<(), PaymentWire>(Method::GET, &path, None, true).await {
            Ok(p) if p.status == "approved" && entry.entry_mode == EntryMode::Insert.as_str() => {
                // The card never confirmed the approval: the stated rule is to reverse.
                journal::answered(&self.db, &entry.key, &p, false, now)?;
                journal::reversal_pending(&self.db, &entry.key, "card_not_confirmed", now)?;
                self.attempt_due(accounts, &entry.key, "card_not_confirmed", 0).await
            }
            Ok(p) => {
                journal::answered(&self.db, &entry.key, &p, true, now)?;
                Ok(true)
            }
            Err(Error::Platform { code, .. }) if code == "payment_not_found" => {
                // Never arrived, or still on its way: a reversal leaves a tombstone so that it
                // can never be approved, and frees the amount.
                journal::reversal_pending(&self.db, &entry.key, "recovery", now)?;
                self.attempt_due(accounts, &entry.key, "recovery", 0).await
            }
            Err(e) if outcome_unknown(&e) => {
                // Ask again later, with the same back-off as reversals.
                let backoff = (RETRY_FIRST_SECS << entry.attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
                journal::reversal_retry(&self.db, &entry.key, now + backoff)?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    pub fn sale_of(&self, key: &str) -> Result<Sale, Error> {
        let entry =
            journal::get(&self.db, key)?.ok_or_else(|| Error::invalid("sale_id", "no such sale on this phone"))?;
        self.with_adjustments(entry)
    }

    fn with_adjustments(&self, entry: Entry) -> Result<Sale, Error> {
        let (voided, refunded_fen) = journal::adjusted(&self.db, &entry.key)?;
        let signature = journal::signature(&self.db, &entry.key)?.1;
        let mut sale = Sale::from(self.opened(entry)?);
        sale.refunded_fen = refunded_fen;
        sale.signature = signature;
        if voided && sale.status == SaleStatus::Approved {
            sale.status = SaleStatus::Voided;
        }
        Ok(sale)
    }

    pub fn recent(&self, merchant_id: &str, limit: u32) -> Result<Vec<Sale>, Error> {
        journal::recent(&self.db, merchant_id, limit)?.into_iter().map(|e| self.with_adjustments(e)).collect()
    }

    /// Voids or refunds an approved sale, with the account password as step-up. Journalled
    /// before it is sent; when the outcome is unknown the error says so and the next call for
    /// the same sale, kind and amount reuses the key, so nothing is refunded twice.
    pub async fn adjust(&self, accounts: &Accounts, sale_id: &str, how: Adjust, password: &str) -> Result<Sale, Error> {
        let sale = self.sale_of(sale_id)?;
        match sale.status {
            SaleStatus::Approved => {}
            SaleStatus::Voided => return Err(Error::invalid("sale_id", "the sale is already voided")),
            _ => return Err(Error::invalid("sale_id", "only an approved sale can be voided or refunded")),
        }
        if password.is_empty() {
            return Err(Error::invalid("password", "the account password confirms a void or refund"));
        }
        let remaining = sale.amount_fen - sale.refunded_fen;
        let (kind, amount) = match how {
            Adjust::Void => ("void", sale.amount_fen),
            Adjust::Refund { amount_fen } if amount_fen <= 0 => {
                return Err(Error::invalid("amount_fen", "a refund is a positive number of fen"))
            }
            Adjust::Refund { amount_fen } if amount_fen > remaining => {
                return Err(Error::RefundExceedsRemaining { remaining_fen: remaining })
            }
            Adjust::Refund { amount_fen } => ("refund", amount_fen),
        };
        let key = journal::begin_adjustment(&self.db, sale_id, kind, amount, accounts.platform_now())?;
        self.mark_in_flight(&key);
        let _guard = InFlight { payments: self, key: Some(key.clone()) };
        let body = AdjustmentRequest {
            adjustment_key: key.clone(),
            amount_fen: (kind == "refund").then_some(amount),
            password: password.into(),
        };
        let path = format!("v1/payments/{sale_id}/{kind}");
        match accounts.signed::<_, PaymentWire>(Method::POST, &path, Some(&body), true).await {
            Ok(_) => journal::adjustment_done(&self.db, &key, accounts.platform_now())?,
            Err(e) if outcome_unknown(&e) => return Err(e),
            Err(e) => {
                journal::adjustment_failed(&self.db, &key, accounts.platform_now())?;
                return Err(e);
            }
        }
        self.sale_of(sale_id)
    }

    /// When the earliest unfinished entry or queued signature is next due (platform time), if
    /// any is waiting. Entries this process is working on are not waiting.
    pub fn next_due(&self, merchant_id: &str) -> Result<Option<i64>, Error> {
        let entries = journal::unfinished(&self.db, merchant_id)?
            .into_iter()
            .filter(|e| !self.is_in_flight(&e.key))
            .map(|e| e.next_attempt_at.unwrap_or(0))
            .min();
        let signatures = journal::next_signature_due(&self.db, merchant_id)?;
        Ok(entries.into_iter().chain(signatures).min())
    }

    /// Keeps the customer's signature on an approved sale (one commit) and queues its upload.
    pub fn sign(&self, sale_id: &str, signature: &Signature, now: i64) -> Result<Sale, Error> {
        signature.check()?;
        let sale = self.sale_of(sale_id)?;
        if !matches!(sale.status, SaleStatus::Approved | SaleStatus::Voided) {
            return Err(Error::invalid("sale_id", "only an approved sale is signed"));
        }
        let sealed = self.keys()?.sealer.seal(sale_id, &signature.encode());
        if !journal::add_signature(&self.db, sale_id, &sealed, now)? {
            return Err(Error::invalid("sale_id", "the sale is already signed"));
        }
        self.sale_of(sale_id)
    }

    /// The sale's signature as drawn, if it was signed.
    pub fn signature_of(&self, sale_id: &str) -> Result<Option<Signature>, Error> {
        let Some(sealed) = journal::signature(&self.db, sale_id)?.0 else { return Ok(None) };
        let bytes = self.keys()?.sealer.open(sale_id, &sealed).ok_or_else(|| {
            Error::invalid("sale_id", "the stored signature does not open on this phone (its key is gone)")
        })?;
        Signature::decode(&bytes).map(Some)
    }

    /// Uploads queued signatures (all, or with `only_due` those whose back-off has passed);
    /// returns how many reached the platform.
    pub async fn upload_signatures(&self, accounts: &Accounts, only_due: bool) -> Result<usize, Error> {
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        let due_by = only_due.then(|| accounts.platform_now());
        let mut uploaded = 0;
        for (key, sealed, attempts) in journal::signatures_to_upload(&self.db, &merchant_id, due_by)? {
            let Some(strokes) = self.keys()?.sealer.open(&key, &sealed) else {
                journal::signature_attempt(&self.db, &key, Err(Some("does not open on this phone")), 0, 0)?;
                continue;
            };
            use base64::Engine as _;
            let body = SignatureUpload { strokes: base64::engine::general_purpose::STANDARD.encode(strokes) };
            let path = format!("v1/payments/{key}/signature");
            let now = accounts.platform_now();
            let outcome = match accounts.signed::<_, serde_json::Value>(Method::POST, &path, Some(&body), true).await {
                Ok(_) => {
                    uploaded += 1;
                    Ok(())
                }
                Err(e) if outcome_unknown(&e) => Err(None),
                Err(e) => {
                    tracing::warn!(sale = %key, error = %e, "the platform refused a signature");
                    Err(Some(e.to_string()))
                }
            };
            let backoff = (RETRY_FIRST_SECS << attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
            journal::signature_attempt(
                &self.db,
                &key,
                outcome.as_ref().map(|_| ()).map_err(Option::as_deref),
                now,
                now + backoff,
            )?;
        }
        Ok(uploaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure_store::InMemorySecureStore;

    #[test]
    fn rows_from_before_sealing_are_sealed_by_the_upgrade_and_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        // A row as schema 9 wrote it: the masked number in clear.
        db.with(|c| {
            c.execute(
                "INSERT INTO payments (key, merchant_id, kind, state, amount_fen, entry_mode, masked_pan, app_label,
                     aid, business_day, created_at, updated_at)
                 VALUES ('k1', 'M1', 'sale', 'completed', 100, 'insert', '621700******0015', 'APP', 'A0', '2026-11-28', 0, 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        let store = Arc::new(InMemorySecureStore::new());
        let payments = Payments::new(db.clone(), store.clone());
        assert_eq!(db.write(|tx| journal::seal_older_rows_in(tx, Some(store.as_ref()))).unwrap(), 1);
        assert_eq!(db.write(|tx| journal::seal_older_rows_in(tx, Some(store.as_ref()))).unwrap(), 0, "once");
        let flag: bool = db
            .with(|c| {
                Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'journal_sealed')", [], |r| r.get(0))?)
            })
            .unwrap();
        assert!(flag, "later upgrades skip the scan");
        let (clear, sealed): (String, Option<Vec<u8>>) = db
            .with(|c| {
                Ok(c.query_row("SELECT masked_pan, sealed FROM payments WHERE key = 'k1'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?)
            })
            .unwrap();
        assert_eq!(clear, "");
        assert!(!sealed.unwrap().windows(4).any(|w| w == b"0015"));
        assert_eq!(payments.sale_of("k1").unwrap().masked_pan, "621700******0015");
    }

    #[test]
    fn card_details_round_trip_and_refuse_garbage() {
        let with = CardDetails {
            masked_pan: "621700******0015".into(),
            location: Some(crate::platform::wire::LocationWire {
                latitude_e6: -33_868_820,
                longitude_e6: 151_209_290,
                accuracy_m: 7,
            }),
        };
        let without = CardDetails { location: None, ..with.clone() };
        for d in [with, without] {
            assert_eq!(CardDetails::from_bytes(&d.to_bytes()), Some(d));
        }
        for bad in [&[][..], &[2, 0], &[1, 5, b'1'], &[1, 0, 1, 2, 3]] {
            assert_eq!(CardDetails::from_bytes(bad), None);
        }
    }
}
