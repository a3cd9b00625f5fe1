//! The payment journal in SQLite. Each function is one transaction, so one durable commit; a
//! happy-path chip sale makes three (`begin`, `answered`, `completed`), a swipe or tap two.

use rusqlite::{OptionalExtension, Row, Transaction};

use crate::error::{Error, InternalError};
use crate::history::ledger;
use crate::limits::{self, Reservation};
use crate::platform::wire::{LocationWire, PaymentWire, QrOrderWire, QrPaymentWire};
use crate::storage::Db;

/// Where a journalled payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Committed before the first send: the platform may or may not have it.
    Sending,
    /// The platform approved; the card has not yet confirmed (chip).
    Approved,
    Declined,
    /// Approved and confirmed by the card: done, the receipt can be printed.
    Completed,
    /// Must be reversed (no answer, the card declined after approval, the app stopped midway).
    ReversalPending,
    Reversed,
    /// Refused before any money moved (the platform rejected the request).
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Sending => "sending",
            State::Approved => "approved",
            State::Declined => "declined",
            State::Completed => "completed",
            State::ReversalPending => "reversal_pending",
            State::Reversed => "reversed",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "sending" => State::Sending,
            "approved" => State::Approved,
            "declined" => State::Declined,
            "completed" => State::Completed,
            "reversal_pending" => State::ReversalPending,
            "reversed" => State::Reversed,
            "failed" => State::Failed,
            _ => return None,
        })
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub merchant_id: String,
    pub state: State,
    pub amount_fen: i64,
    pub note: Option<String>,
    pub entry_mode: String,
    pub masked_pan: String,
    pub app_label: String,
    pub aid: String,
    pub reservation: Option<Reservation>,
    pub business_day: String,
    pub response_code: Option<String>,
    pub message: Option<String>,
    pub auth_code: Option<String>,
    pub reference_number: Option<String>,
    pub batch_number: Option<String>,
    pub voucher_number: Option<String>,
    pub fee_fen: Option<i64>,
    pub net_fen: Option<i64>,
    pub card_kind: Option<String>,
    pub issuer_bank: Option<String>,
    pub reversal_reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    /// The card's final Terminal Verification Results and Transaction Status Information (hex).
    pub tvr: Option<String>,
    pub tsi: Option<String>,
    /// The sealed card details ([`CardDetails`]); the payments component opens them into
    /// `masked_pan` and `location`.
    pub sealed: Option<Vec<u8>>,
    pub last4: Option<String>,
    pub location: Option<LocationWire>,
    /// GB/T 2260 code of the province the sale was made in, when known.
    pub province: Option<String>,
    /// A fallback swipe after the chip could not be read.
    pub fallback: bool,
    /// `card`, `customer_code` or `merchant_qr` ([`Method`]).
    pub method: String,
    /// The wallet of a QR payment (`wechat`, `alipay`, `unionpay`) and its transaction number.
    pub wallet: Option<String>,
    pub wallet_txn: Option<String>,
    /// The platform's token for the sale's e-receipt page, once it answered with one.
    pub receipt_token: Option<String>,
}

/// How a journalled payment is paid; the journal stores the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Card,
    /// The phone scanned the customer's payment code (B scans C).
    CustomerCode,
    /// The customer's wallet scanned the dynamic code the phone showed (C scans B).
    MerchantQr,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Card => "card",
            Method::CustomerCode => "customer_code",
            Method::MerchantQr => "merchant_qr",
        }
    }

    /// From the journal; a name this version does not know reads as a card payment (the only
    /// kind before schema 18).
    pub fn parse(s: &str) -> Method {
        match s {
            "customer_code" => Method::CustomerCode,
            "merchant_qr" => Method::MerchantQr,
            _ => Method::Card,
        }
    }
}

pub use starpos_protocol::sealed_details::CardDetails;

const COLUMNS: &str = "key, merchant_id, state, amount_fen, note, entry_mode, masked_pan, app_label, aid,
    reservation_id, business_day, response_code, message, auth_code, reference_number, batch_number,
    voucher_number, fee_fen, net_fen, card_kind, issuer_bank, reversal_reason, attempts, next_attempt_at, created_at, tvr, tsi,
    sealed, last4, province, fallback, method, wallet, wallet_txn, receipt_token";

fn entry(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let state: String = r.get(2)?;
    Ok(Entry {
        key: r.get(0)?,
        merchant_id: r.get(1)?,
        state: State::parse(&state).ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("state {state}")))?,
        amount_fen: r.get(3)?,
        note: r.get(4)?,
        entry_mode: r.get(5)?,
        masked_pan: r.get(6)?,
        app_label: r.get(7)?,
        aid: r.get(8)?,
        reservation: r.get::<_, Option<i64>>(9)?.map(|id| Reservation { id }),
        business_day: r.get(10)?,
        response_code: r.get(11)?,
        message: r.get(12)?,
        auth_code: r.get(13)?,
        reference_number: r.get(14)?,
        batch_number: r.get(15)?,
        voucher_number: r.get(16)?,
        fee_fen: r.get(17)?,
        net_fen: r.get(18)?,
        card_kind: r.get(19)?,
        issuer_bank: r.get(20)?,
        reversal_reason: r.get(21)?,
        attempts: r.get(22)?,
        next_attempt_at: r.get(23)?,
        created_at: r.get(24)?,
        tvr: r.get(25)?,
        tsi: r.get(26)?,
        sealed: r.get(27)?,
        last4: r.get(28)?,
        province: r.get(29)?,
        fallback: r.get(30)?,
        method: r.get(31)?,
        wallet: r.get(32)?,
        wallet_txn: r.get(33)?,
        receipt_token: r.get(34)?,
        location: None,
    })
}

/// What a new sale's first commit records.
pub struct NewSale<'a> {
    pub key: &'a str,
    pub merchant_id: &'a str,
    pub amount_fen: i64,
    pub note: Option<&'a str>,
    pub entry_mode: &'a str,
    /// A fallback swipe after the chip could not be read.
    pub fallback: bool,
    /// [`CardDetails`] sealed under the journal key with this row's key.
    pub sealed: &'a [u8],
    pub last4: &'a str,
    pub app_label: &'a str,
    pub aid: &'a str,
    pub business_day: &'a str,
    pub card_key: &'a str,
    /// The province the sale is made in, when known.
    pub province: Option<&'a str>,
    pub method: Method,
    /// The wallet of a QR payment.
    pub wallet: Option<&'a str>,
    pub now: i64,
}

/// Commit 1: the limit reservation and the journal entry with its idempotency key, together,
/// before anything is sent.
pub fn begin(db: &Db, s: &NewSale<'_>) -> Result<Reservation, InternalError> {
    db.write(|tx| {
        let reservation = limits::reserve_in(tx, s.merchant_id, s.business_day, s.amount_fen, s.card_key, s.now)?;
        tx.prepare_cached(
            "INSERT INTO payments (key, merchant_id, kind, state, amount_fen, note, entry_mode, masked_pan, sealed,
                 last4, app_label, aid, reservation_id, business_day, created_at, updated_at, province, fallback,
                 method, wallet)
             VALUES (?1, ?2, 'sale', 'sending', ?3, ?4, ?5, '', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(rusqlite::params![
            s.key,
            s.merchant_id,
            s.amount_fen,
            s.note,
            s.entry_mode,
            s.sealed,
            s.last4,
            s.app_label,
            s.aid,
            reservation.id,
            s.business_day,
            s.now,
            s.province,
            s.fallback,
            s.method.as_str(),
            s.wallet
        ])?;
        Ok(reservation)
    })
}

fn set_state(tx: &Transaction<'_>, key: &str, state: State, now: i64) -> Result<(), InternalError> {
    tx.prepare_cached("UPDATE payments SET state = ?1, updated_at = ?2 WHERE key = ?3")?.execute((
        state.as_str(),
        now,
        key,
    ))?;
    Ok(())
}

fn reservation_of(tx: &Transaction<'_>, key: &str) -> Result<Option<Reservation>, InternalError> {
    Ok(tx
        .query_row("SELECT reservation_id FROM payments WHERE key = ?1", [key], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .map(|id| Reservation { id }))
}

/// Withdraws an entry whose key never left the phone (the PIN failed, the merchant cancelled):
/// the row goes and its limit reservation is released, in one commit.
pub fn withdraw(db: &Db, key: &str) -> Result<(), InternalError> {
    db.write(|tx| {
        if let Some(r) = reservation_of(tx, key)? {
            limits::transition_in(tx, r, "released")?;
        }
        tx.prepare_cached("DELETE FROM payments WHERE key = ?1 AND state = 'sending'")?.execute([key])?;
        Ok(())
    })
}

/// Commit 2: the platform's answer. A decline releases the reservation; an approval that
/// needs no card confirmation (`final_now`) completes and commits it.
pub fn answered(db: &Db, key: &str, p: &PaymentWire, final_now: bool, now: i64) -> Result<State, InternalError> {
    db.write(|tx| {
        let state = match (p.status.as_str(), final_now) {
            ("approved", true) => State::Completed,
            ("approved", false) => State::Approved,
            ("reversed", _) => State::Reversed,
            _ => State::Declined,
        };
        tx.prepare_cached(
            "UPDATE payments SET response_code = ?1, message = ?2, auth_code = ?3, reference_number = ?4,
                 batch_number = ?5, voucher_number = ?6, fee_fen = ?7, net_fen = ?8, card_kind = ?9,
                 issuer_bank = ?10, receipt_token = COALESCE(?11, receipt_token) WHERE key = ?12",
        )?
        .execute(rusqlite::params![
            p.response_code,
            p.message,
            p.auth_code,
            p.reference_number,
            p.batch_number,
            p.voucher_number,
            p.fee_fen,
            p.net_fen,
            p.card_kind,
            p.issuer_bank,
            receipt_token(p.receipt_token.as_deref()),
            key
        ])?;
        set_state(tx, key, state, now)?;
        if let Some(r) = reservation_of(tx, key)? {
            match state {
                State::Completed => {
                    limits::transition_in(tx, r, "committed")?;
                }
                State::Declined | State::Reversed => {
                    limits::transition_in(tx, r, "released")?;
                }
                _ => {}
            }
        }
        if matches!(state, State::Completed | State::Declined | State::Reversed) {
            ledger::sale_final_in(tx, key)?;
        }
        Ok(state)
    })
}

/// Commit 3: the card confirmed the approval (with its final TVR and TSI); the amount counts
/// against the day for good.
pub fn completed(db: &Db, key: &str, tvr: Option<&str>, tsi: Option<&str>, now: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.prepare_cached("UPDATE payments SET tvr = ?1, tsi = ?2 WHERE key = ?3")?.execute((tvr, tsi, key))?;
        set_state(tx, key, State::Completed, now)?;
        if let Some(r) = reservation_of(tx, key)? {
            limits::transition_in(tx, r, "committed")?;
        }
        ledger::sale_final_in(tx, key)
    })
}

/// The payment must be reversed; `reason` says why (kept for the receipt and the report).
pub fn reversal_pending(db: &Db, key: &str, reason: &str, now: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        // A payment already final stays as it is: reversing a completed one would give back
        // money the merchant was told was theirs.
        if settled_already(tx, key)?.is_some() {
            tracing::warn!("a reversal asked for a payment already final; left as it is");
            return Ok(());
        }
        tx.prepare_cached("UPDATE payments SET reversal_reason = ?1, next_attempt_at = ?2 WHERE key = ?3")?
            .execute((reason, now, key))?;
        set_state(tx, key, State::ReversalPending, now)
    })
}

/// The platform acknowledged the reversal (or never had the payment): the amount is free again.
/// `payment` is the platform's record of what was reversed (its fee, reference...), kept so the
/// ledger can show the sale and its reversal as the platform does.
pub fn reversed(
    db: &Db,
    key: &str,
    payment: Option<&PaymentWire>,
    never_reached_platform: bool,
    now: i64,
) -> Result<(), InternalError> {
    db.write(|tx| {
        let state = if never_reached_platform { State::Failed } else { State::Reversed };
        if let Some(p) = payment {
            tx.prepare_cached(
                "UPDATE payments SET fee_fen = ?1, net_fen = ?2, card_kind = ?3, reference_number = ?4,
                     batch_number = ?5, voucher_number = ?6, issuer_bank = ?7
                 WHERE key = ?8",
            )?
            .execute(rusqlite::params![
                p.fee_fen,
                p.net_fen,
                p.card_kind,
                p.reference_number,
                p.batch_number,
                p.voucher_number,
                p.issuer_bank,
                key
            ])?;
        }
        set_state(tx, key, state, now)?;
        if let Some(r) = reservation_of(tx, key)? {
            limits::transition_in(tx, r, "released")?;
        }
        if state == State::Reversed {
            ledger::sale_final_in(tx, key)?;
        }
        Ok(())
    })
}

/// A reversal attempt failed; try again at `next`.
pub fn reversal_retry(db: &Db, key: &str, next: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.prepare_cached("UPDATE payments SET attempts = attempts + 1, next_attempt_at = ?1 WHERE key = ?2")?
            .execute((next, key))?;
        Ok(())
    })
}

/// A QR payment's answer or lookup that settles it: `paid` completes it (the limit counts for
/// good), `failed` declines it with the wallet's reason, `reversed` (paid, then given back)
/// reverses it, `closed` (ended unpaid) fails it with nothing charged. Any other status (the
/// customer still confirming) changes nothing: `None`.
pub fn qr_settled(db: &Db, key: &str, p: &QrPaymentWire, now: i64) -> Result<Option<State>, InternalError> {
    let state = match p.status.as_str() {
        "paid" => State::Completed,
        "failed" => State::Declined,
        "reversed" => State::Reversed,
        "closed" => State::Failed,
        _ => return Ok(None),
    };
    db.write(|tx| {
        if let Some(done) = settled_already(tx, key)? {
            return Ok(Some(done));
        }
        let paid = matches!(state, State::Completed | State::Reversed);
        let (fee, net) = if paid { (Some(p.fee_fen), Some(p.net_fen)) } else { (None, None) };
        tx.prepare_cached(
            "UPDATE payments SET wallet_txn = COALESCE(?1, wallet_txn), response_code = ?2, message = ?3,
                 fee_fen = COALESCE(?4, fee_fen), net_fen = COALESCE(?5, net_fen),
                 receipt_token = COALESCE(?6, receipt_token) WHERE key = ?7",
        )?
        .execute(rusqlite::params![
            p.wallet_txn,
            p.reason.as_deref().unwrap_or(if paid { "00" } else { "" }),
            qr_message(&p.status, p.reason.as_deref()),
            fee,
            net,
            receipt_token(p.receipt_token.as_deref()),
            key
        ])?;
        set_state(tx, key, state, now)?;
        if let Some(r) = reservation_of(tx, key)? {
            limits::transition_in(tx, r, if state == State::Completed { "committed" } else { "released" })?;
        }
        if state != State::Failed {
            ledger::sale_final_in(tx, key)?;
        }
        Ok(Some(state))
    })
}

/// A QR order's answer or lookup that settles it: `paid` completes it (with the wallet that
/// paid, its number and the fee); `closed`, `expired` and `refunded_late` (paid after the close
/// or the expiry, and given back by the platform) end it unpaid, nothing charged, shown as
/// reversed with why. `open` changes nothing: `None`.
pub fn qr_order_settled(db: &Db, key: &str, o: &QrOrderWire, now: i64) -> Result<Option<State>, InternalError> {
    let (state, message, reason) = match o.status.as_str() {
        "paid" => (State::Completed, "paid", None),
        "closed" => (State::Failed, "the order was closed; nothing was charged", Some("merchant_cancelled")),
        "expired" => (State::Failed, "the customer did not pay before the code expired", Some("customer_timeout")),
        "refunded_late" => (
            State::Failed,
            "the customer paid after the code was closed; the platform gave the money back",
            Some("merchant_cancelled"),
        ),
        _ => return Ok(None),
    };
    db.write(|tx| {
        if let Some(done) = settled_already(tx, key)? {
            return Ok(Some(done));
        }
        let paid = state == State::Completed;
        tx.prepare_cached(
            "UPDATE payments SET wallet = COALESCE(?1, wallet), wallet_txn = COALESCE(?2, wallet_txn), response_code = ?3,
                 message = ?4, fee_fen = ?5, net_fen = ?6, reversal_reason = COALESCE(reversal_reason, ?7),
                 receipt_token = COALESCE(?8, receipt_token)
             WHERE key = ?9",
        )?
        .execute(rusqlite::params![
            o.wallet,
            o.wallet_txn,
            o.status,
            message,
            paid.then_some(o.fee_fen),
            paid.then_some(o.net_fen),
            reason,
            receipt_token(o.receipt_token.as_deref()),
            key
        ])?;
        set_state(tx, key, state, now)?;
        if let Some(r) = reservation_of(tx, key)? {
            limits::transition_in(tx, r, if paid { "committed" } else { "released" })?;
        }
        if paid {
            ledger::sale_final_in(tx, key)?;
        }
        Ok(Some(state))
    })
}

/// The platform's e-receipt token if it is one a URL can carry as it is (16 to 64 letters,
/// digits, `-` or `_`); anything else is dropped, and the receipt prints without its QR code
/// rather than with a link the platform did not mean.
fn receipt_token(token: Option<&str>) -> Option<&str> {
    token.filter(|t| {
        (16..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The final state of `key` if it has one already: a second answer for a settled QR payment
/// (two looks crossing, a restarted app beside a running one) changes nothing, so the ledger
/// and the limits count it once.
fn settled_already(tx: &Transaction<'_>, key: &str) -> Result<Option<State>, InternalError> {
    let state: Option<String> =
        tx.query_row("SELECT state FROM payments WHERE key = ?1", [key], |r| r.get(0)).optional()?;
    Ok(state
        .as_deref()
        .and_then(State::parse)
        .filter(|s| matches!(s, State::Completed | State::Declined | State::Reversed | State::Failed)))
}

/// What the merchant reads for a settled QR payment.
fn qr_message(status: &str, reason: Option<&str>) -> &'static str {
    match (status, reason) {
        ("paid", _) => "paid",
        ("reversed", _) => "paid, then given back to the customer",
        ("closed", _) => "ended unpaid; nothing was charged",
        (_, Some("customer_cancelled")) => "the customer cancelled on their phone",
        (_, Some("insufficient_balance")) => "the customer's balance is not enough",
        (_, Some("code_used")) => "the payment code was already used or has expired; ask for a new one",
        _ => "the wallet refused the payment",
    }
}

/// The platform refused the request outright (nothing was charged).
pub fn failed(db: &Db, key: &str, message: &str, now: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.prepare_cached("UPDATE payments SET message = ?1 WHERE key = ?2")?.execute((message, key))?;
        set_state(tx, key, State::Failed, now)?;
        if let Some(r) = reservation_of(tx, key)? {
            limits::transition_in(tx, r, "released")?;
        }
        Ok(())
    })
}

pub fn get(db: &Db, key: &str) -> Result<Option<Entry>, InternalError> {
    db.with(|c| Ok(c.query_row(&format!("SELECT {COLUMNS} FROM payments WHERE key = ?1"), [key], entry).optional()?))
}

/// Entries not yet final (sending, approved, reversal pending), oldest first.
pub fn unfinished(db: &Db, merchant_id: &str) -> Result<Vec<Entry>, InternalError> {
    db.with(|c| {
        let mut q = c.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE merchant_id = ?1
             AND state IN ('sending', 'approved', 'reversal_pending') ORDER BY created_at, rowid"
        ))?;
        let rows = q.query_map([merchant_id], entry)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

/// The merchant's payments, newest first (history proper is issue #6).
pub fn recent(db: &Db, merchant_id: &str, limit: u32) -> Result<Vec<Entry>, InternalError> {
    db.with(|c| {
        let mut q = c.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE merchant_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2"
        ))?;
        let rows = q.query_map((merchant_id, limit), entry)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

/// A void or refund of a journalled sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub key: String,
    pub kind: String,
    pub amount_fen: i64,
    pub state: String,
}

/// The adjustment of this kind and amount still waiting for an answer, to be retried under its
/// key; or a new one, committed before it is sent.
pub fn begin_adjustment(
    db: &Db,
    payment_key: &str,
    kind: &str,
    amount_fen: i64,
    now: i64,
) -> Result<String, InternalError> {
    db.write(|tx| {
        // At most one unanswered adjustment per sale: the same one again reuses its key (the
        // platform applies a key once); another would get a key of its own, and both could apply.
        let pending: Option<(String, String, i64)> = tx
            .query_row(
                "SELECT key, kind, amount_fen FROM adjustments WHERE payment_key = ?1 AND state = 'sending'",
                [payment_key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match pending {
            Some((key, k, a)) if k == kind && a == amount_fen => return Ok(key),
            Some((_, kind, amount_fen)) => return Err(Error::AdjustmentUnanswered { kind, amount_fen }.into()),
            None => {}
        }
        let key = crate::util::random_hex(16);
        tx.prepare_cached(
            "INSERT INTO adjustments (key, payment_key, kind, amount_fen, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'sending', ?5, ?5)",
        )?
        .execute((&key, payment_key, kind, amount_fen, now))?;
        Ok(key)
    })
}

/// The platform took the adjustment. A void gives the day's limit back.
pub fn adjustment_done(db: &Db, key: &str, now: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.prepare_cached("UPDATE adjustments SET state = 'done', updated_at = ?1 WHERE key = ?2")?
            .execute((now, key))?;
        let (payment_key, kind): (String, String) = tx
            .prepare_cached("SELECT payment_key, kind FROM adjustments WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if kind == "void" {
            if let Some(r) = reservation_of(tx, &payment_key)? {
                limits::uncommit_in(tx, r)?;
            }
        }
        ledger::adjustment_in(tx, key, &limits::business_day(now), now)
    })
}

pub fn adjustment_failed(db: &Db, key: &str, now: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.prepare_cached("UPDATE adjustments SET state = 'failed', updated_at = ?1 WHERE key = ?2")?
            .execute((now, key))?;
        Ok(())
    })
}

/// Whether the sale was voided, and how much of it was refunded (done adjustments only).
pub fn adjusted(db: &Db, payment_key: &str) -> Result<(bool, i64), InternalError> {
    db.with(|c| {
        Ok(c.prepare_cached(
            "SELECT COALESCE(MAX(kind = 'void'), 0), COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount_fen END), 0)
             FROM adjustments WHERE payment_key = ?1 AND state = 'done'",
        )?
        .query_row([payment_key], |r| Ok((r.get::<_, i64>(0)? == 1, r.get(1)?)))?)
    })
}

/// Upgrade step 13 -> 14 (schema.rs): journal rows written before card details were sealed
/// (schema 10) get their masked numbers sealed under the journal key, and the clear column
/// emptied, in the upgrade's own transaction.
pub fn seal_older_rows(
    tx: &Transaction<'_>,
    upgrade: &crate::storage::schema::Upgrade<'_>,
) -> Result<(), InternalError> {
    seal_older_rows_in(tx, upgrade.secure_store).map(|_| ())
}

/// The work of [`seal_older_rows`]: how many rows it sealed. Once per install: an install that
/// sealed them at start-up before this was a versioned step has the `journal_sealed` flag.
pub fn seal_older_rows_in(
    tx: &Transaction<'_>,
    store: Option<&dyn crate::secure_store::SecureStore>,
) -> Result<usize, InternalError> {
    let done: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'journal_sealed')", [], |r| r.get(0))?;
    if done {
        return Ok(0);
    }
    let rows: Vec<(String, String)> = tx
        .prepare("SELECT key, masked_pan FROM payments WHERE sealed IS NULL AND masked_pan <> ''")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if !rows.is_empty() {
        let store = store.ok_or_else(|| {
            InternalError::Public(crate::Error::SecureStorage {
                reason: "the database upgrade needs the secure store to seal older journal rows".into(),
            })
        })?;
        let key = crate::storage::sealed::key_in_store(store, crate::storage::sealed::JOURNAL_KEY)?;
        let sealer = crate::storage::sealed::Sealer::new(&key);
        for (key, pan) in &rows {
            let blob = sealer.seal(key, &CardDetails { masked_pan: pan.clone(), location: None }.to_bytes());
            tx.prepare_cached("UPDATE payments SET sealed = ?1, masked_pan = '' WHERE key = ?2")?
                .execute((blob, key))?;
        }
        tracing::info!(rows = rows.len(), "sealed card details of older journal rows");
    }
    tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('journal_sealed', '1')", [])?;
    Ok(rows.len())
}

/// Adjustments still waiting for an answer: (key, sale key).
pub fn unfinished_adjustments(db: &Db, merchant_id: &str) -> Result<Vec<(String, String)>, InternalError> {
    db.with(|c| {
        let mut q = c.prepare(
            "SELECT a.key, a.payment_key FROM adjustments a JOIN payments p ON p.key = a.payment_key
             WHERE p.merchant_id = ?1 AND a.state = 'sending' ORDER BY a.created_at",
        )?;
        let rows = q.query_map([merchant_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

/// Where a sale's signature stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureState {
    NotSigned,
    /// Kept on the phone, waiting to reach the platform.
    Queued,
    Uploaded,
    /// The platform will not take it (the reason is logged); the receipt still shows it.
    Refused,
}

/// Commit: the signature's sealed strokes, queued for upload. Refused if the sale is signed.
pub fn add_signature(db: &Db, key: &str, sealed: &[u8], now: i64) -> Result<bool, InternalError> {
    db.write(|tx| {
        let added = tx
            .prepare_cached(
                "INSERT INTO signatures (payment_key, strokes, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (payment_key) DO NOTHING",
            )?
            .execute((key, sealed, now))?;
        Ok(added == 1)
    })
}

/// The sale's sealed strokes and where their upload stands.
pub fn signature(db: &Db, key: &str) -> Result<(Option<Vec<u8>>, SignatureState), InternalError> {
    db.with(|c| {
        let row: Option<(Vec<u8>, Option<i64>, Option<String>)> = c
            .query_row("SELECT strokes, uploaded_at, refused FROM signatures WHERE payment_key = ?1", [key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        Ok(match row {
            None => (None, SignatureState::NotSigned),
            Some((s, Some(_), _)) => (Some(s), SignatureState::Uploaded),
            Some((s, None, Some(_))) => (Some(s), SignatureState::Refused),
            Some((s, None, None)) => (Some(s), SignatureState::Queued),
        })
    })
}

/// Signatures waiting for upload (all, or with `due_by` those due by then): (sale key,
/// sealed strokes, attempts so far).
pub fn signatures_to_upload(
    db: &Db,
    merchant_id: &str,
    due_by: Option<i64>,
) -> Result<Vec<(String, Vec<u8>, i64)>, InternalError> {
    db.with(|c| {
        let mut q = c.prepare(
            "SELECT s.payment_key, s.strokes, s.attempts FROM signatures s JOIN payments p ON p.key = s.payment_key
             WHERE p.merchant_id = ?1 AND s.uploaded_at IS NULL AND s.refused IS NULL
               AND (?2 IS NULL OR COALESCE(s.next_attempt_at, 0) <= ?2)
             ORDER BY s.created_at",
        )?;
        let rows = q.query_map((merchant_id, due_by), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

/// When the next queued signature is due, if any is queued.
pub fn next_signature_due(db: &Db, merchant_id: &str) -> Result<Option<i64>, InternalError> {
    db.with(|c| {
        Ok(c.prepare_cached(
            "SELECT MIN(COALESCE(s.next_attempt_at, 0)) FROM signatures s JOIN payments p ON p.key = s.payment_key
             WHERE p.merchant_id = ?1 AND s.uploaded_at IS NULL AND s.refused IS NULL",
        )?
        .query_row([merchant_id], |r| r.get(0))?)
    })
}

/// Records an upload attempt: done, refused for good (with the reason), or to retry at `next`.
pub fn signature_attempt(
    db: &Db,
    key: &str,
    outcome: Result<(), Option<&str>>,
    now: i64,
    next: i64,
) -> Result<(), InternalError> {
    db.write(|tx| {
        match outcome {
            Ok(()) => tx
                .prepare_cached("UPDATE signatures SET uploaded_at = ?1 WHERE payment_key = ?2")?
                .execute((now, key))?,
            Err(Some(reason)) => tx
                .prepare_cached("UPDATE signatures SET refused = ?1 WHERE payment_key = ?2")?
                .execute((reason, key))?,
            Err(None) => tx
                .prepare_cached(
                    "UPDATE signatures SET attempts = attempts + 1, next_attempt_at = ?1 WHERE payment_key = ?2",
                )?
                .execute((next, key))?,
        };
        Ok(())
    })
}
