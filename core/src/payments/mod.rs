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

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::limits::{business_day, LimitBook, LimitKind};
use crate::platform::wire::{AdjustmentRequest, AuthorizeRequest, PaymentWire, ReverseRequest, ReverseResponse};
use crate::reader::card::{CardRead, EntryMode, EntryModes};
use crate::reader::connection::ReaderError;
use crate::reader::controller::CardReader;
use crate::reader::tlv;
use crate::secure_store::SecureStore;
use crate::storage::Db;
use journal::{Entry, State};

/// How long the customer has to present a card, and to enter the PIN.
const CARD_TIMEOUT_SECS: u8 = 60;
/// Reversal attempts made at once before leaving the rest to `resolve_pending`.
const QUICK_REVERSAL_DELAYS_MS: [u64; 3] = [0, 500, 1_500];
/// Back-off between later reversal attempts: doubles from 5 s up to 5 minutes.
const RETRY_FIRST_SECS: i64 = 5;
const RETRY_MAX_SECS: i64 = 300;
const CARD_HASH_KEY: &str = "starpos.card_hash_key.v1";

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
    /// Reversed: nothing is charged. `reason`: `no_answer`, `chip_declined`,
    /// `card_not_confirmed`, `recovery`.
    Reversed {
        reason: String,
    },
    /// Being reversed; the core keeps trying until the platform acknowledges.
    ReversalPending {
        reason: String,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub id: String,
    pub status: SaleStatus,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub masked_pan: String,
    pub card_kind: String,
    pub issuer_bank: Option<String>,
    pub entry_mode: String,
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
}

impl From<Entry> for Sale {
    fn from(e: Entry) -> Sale {
        let reason = e.reversal_reason.clone().unwrap_or_default();
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
            card_kind: e.card_kind.unwrap_or_else(|| "unknown".into()),
            issuer_bank: e.issuer_bank,
            entry_mode: e.entry_mode,
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
        }
    }
}

pub(crate) struct Payments {
    db: Arc<Db>,
    store: Arc<dyn SecureStore>,
}

fn reader_error(e: ReaderError) -> Error {
    Error::Reader { reason: e.to_string() }
}

/// Whether a failed authorisation may have been processed by the platform (so must be
/// reversed), rather than refused before processing.
fn outcome_unknown(e: &Error) -> bool {
    match e {
        Error::Network { .. } | Error::Internal { .. } => true,
        Error::Platform { code, .. } => matches!(code.as_str(), "unavailable" | "internal"),
        _ => false,
    }
}

impl Payments {
    pub fn new(db: Arc<Db>, store: Arc<dyn SecureStore>) -> Self {
        Payments { db, store }
    }

    /// A keyed hash of the card for per-card counts. The phone never has the full number, so
    /// it hashes the masked one (first six, last four) under a key kept in secure storage: two
    /// cards of one merchant rarely share both ends, and the platform counts exactly.
    fn card_key(&self, masked_pan: &str) -> Result<String, Error> {
        let key = match self.store.get(CARD_HASH_KEY).map_err(InternalError::from)? {
            Some(k) if k.len() == 32 => k,
            _ => {
                let mut k = vec![0u8; 32];
                crate::util::fill_random(&mut k);
                self.store.put(CARD_HASH_KEY, &k).map_err(InternalError::from)?;
                k
            }
        };
        let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key), masked_pan.as_bytes());
        Ok(hex::encode(&tag.as_ref()[..16]))
    }

    /// A sale of `amount_fen`: card and PIN on the reader, authorisation, chip completion.
    pub async fn sale(
        &self,
        accounts: &Accounts,
        reader: &CardReader,
        amount_fen: i64,
        note: Option<String>,
        listener: &dyn SaleListener,
    ) -> Result<Sale, Error> {
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
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

        listener.on_step(SaleStep::WaitingForCard);
        let read =
            reader.read_card(amount_fen as u64, EntryModes::ALL, CARD_TIMEOUT_SECS).await.map_err(reader_error)?;
        let pin = if read.pin_required {
            listener.on_step(SaleStep::WaitingForPin);
            Some(reader.enter_pin(&read, CARD_TIMEOUT_SECS).await.map_err(reader_error)?)
        } else {
            None
        };
        let key = crate::util::random_hex(16);
        let card_key = self.card_key(&read.masked_pan)?;
        let now = accounts.platform_now();
        let begun = journal::begin(
            &self.db,
            &journal::NewSale {
                key: &key,
                merchant_id: &merchant_id,
                amount_fen,
                note: note.as_deref(),
                entry_mode: read.entry_mode.as_str(),
                masked_pan: &read.masked_pan,
                app_label: &read.app_label,
                aid: &read.aid,
                business_day: &day,
                card_key: &card_key,
                now,
            },
        );
        if let Err(e) = begun {
            // Refused by a limit (the per-card count is known only now): let the card go.
            let _ = reader.cancel().await;
            return Err(e.into());
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
        for delay in QUICK_REVERSAL_DELAYS_MS {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            if self.try_reverse(accounts, key, reason).await? {
                return Ok(());
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
                    journal::reversed(&self.db, key, !answer.found, accounts.platform_now())?;
                }
                Ok(true)
            }
            Err(e) if outcome_unknown(&e) => {
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
            let now = accounts.platform_now();
            let done = match entry.state {
                State::Sending => self.resolve_sent(accounts, &entry).await?,
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
        Ok(settled)
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
            Err(e) if outcome_unknown(&e) => Ok(false),
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
        let mut sale = Sale::from(entry);
        sale.refunded_fen = refunded_fen;
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

    /// When the earliest unfinished entry is next due (platform time), if any is unfinished.
    pub fn next_due(&self, merchant_id: &str) -> Result<Option<i64>, Error> {
        Ok(journal::unfinished(&self.db, merchant_id)?.iter().map(|e| e.next_attempt_at.unwrap_or(0)).min())
    }
}
