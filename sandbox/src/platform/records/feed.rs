//! The platform's feed of money events (docs/history.md), appended in the same transaction as
//! each payment decision, reversal, void and refund.

use rusqlite::Transaction;
use starpos_protocol::calendar::business_day;
use starpos_protocol::fees::fee_back;
use starpos_protocol::wire::{PaymentWire, QrOrderWire, QrPaymentWire, TransactionWire};

use crate::platform::error::{ApiError, ApiResult};

fn last4(masked: &str) -> Option<String> {
    (masked.len() >= 4).then(|| masked[masked.len() - 4..].to_string())
}

fn append(tx: &Transaction<'_>, merchant_id: &str, mut t: TransactionWire) -> ApiResult<()> {
    t.seq = 0;
    let json = serde_json::to_string(&t).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute(
        "INSERT INTO feed (merchant_id, business_day, json) VALUES (?1, ?2, ?3)",
        (merchant_id, &t.business_day, &json),
    )?;
    Ok(())
}

/// A sale's outcome (approved or declined), in the authorisation's transaction.
pub fn sale_in(tx: &Transaction<'_>, merchant_id: &str, p: &PaymentWire, province: Option<&str>) -> ApiResult<()> {
    let approved = p.status == "approved";
    append(
        tx,
        merchant_id,
        TransactionWire {
            seq: 0,
            id: p.idempotency_key.clone(),
            kind: "sale".into(),
            status: if approved { "approved" } else { "declined" }.into(),
            channel: "card".into(),
            card_kind: p.card_kind.clone(),
            business_day: business_day(p.processed_at),
            at: p.processed_at,
            amount_fen: p.amount_fen,
            fee_fen: if approved { p.fee_fen } else { 0 },
            net_fen: if approved { p.net_fen } else { 0 },
            last4: last4(&p.masked_pan),
            reference_number: Some(p.reference_number.clone()),
            batch_number: Some(p.batch_number.clone()),
            voucher_number: Some(p.voucher_number.clone()),
            parent: None,
            province: province.map(Into::into),
        },
    )
}

/// A QR payment by payment code that has just moved from `before` to where `p` stands: paid
/// is an approved sale, failed a declined one, paid then reversed a reversal (the channel is
/// the wallet). Ending unpaid (`closed`) moved no money and records nothing.
pub fn qr_in(tx: &Transaction<'_>, merchant_id: &str, before: &str, p: &QrPaymentWire, now: i64) -> ApiResult<()> {
    let (kind, approved) = match (before, p.status.as_str()) {
        (b, "paid") if b != "paid" => ("sale", true),
        (b, "failed") if b != "failed" => ("sale", false),
        ("paid", "reversed") => ("reversal", true),
        _ => return Ok(()),
    };
    let at = if kind == "sale" { p.paid_at.unwrap_or(now) } else { now };
    let reversal = kind == "reversal";
    append(
        tx,
        merchant_id,
        TransactionWire {
            seq: 0,
            id: if reversal { format!("{}:r", p.idempotency_key) } else { p.idempotency_key.clone() },
            kind: kind.into(),
            status: if approved { "approved" } else { "declined" }.into(),
            channel: p.wallet.clone(),
            card_kind: "unknown".into(),
            business_day: business_day(p.created_at),
            at,
            amount_fen: p.amount_fen,
            fee_fen: if approved { p.fee_fen } else { 0 },
            net_fen: if approved { p.net_fen } else { 0 },
            last4: None,
            reference_number: p.wallet_txn.clone(),
            batch_number: None,
            voucher_number: None,
            parent: reversal.then(|| p.idempotency_key.clone()),
            province: None,
        },
    )
}

/// A dynamic QR order the customer paid: an approved sale in the wallet's channel. A late
/// payment given back (`refunded_late`) moved no money for the merchant and records nothing.
pub fn qr_order_paid_in(tx: &Transaction<'_>, merchant_id: &str, o: &QrOrderWire) -> ApiResult<()> {
    let at = o.paid_at.unwrap_or(o.created_at);
    append(
        tx,
        merchant_id,
        TransactionWire {
            seq: 0,
            id: o.idempotency_key.clone(),
            kind: "sale".into(),
            status: "approved".into(),
            channel: o.wallet.clone().unwrap_or_else(|| "qr".into()),
            card_kind: "unknown".into(),
            business_day: business_day(o.created_at),
            at,
            amount_fen: o.amount_fen,
            fee_fen: o.fee_fen,
            net_fen: o.net_fen,
            last4: None,
            reference_number: o.wallet_txn.clone(),
            batch_number: None,
            voucher_number: None,
            parent: None,
            province: None,
        },
    )
}

/// A void or refund of a paid QR payment, in the wallet's channel, with the fee given back in
/// proportion (all of it for a void).
pub fn qr_adjustment_in(
    tx: &Transaction<'_>,
    merchant_id: &str,
    adjustment_key: &str,
    kind: &str,
    amount: i64,
    paid: &super::qr_paid::Paid,
    now: i64,
) -> ApiResult<()> {
    let fee = fee_back(paid.amount_fen, paid.fee_fen, amount);
    append(
        tx,
        merchant_id,
        TransactionWire {
            seq: 0,
            id: adjustment_key.into(),
            kind: kind.into(),
            status: "approved".into(),
            channel: paid.wallet.as_str().into(),
            card_kind: "unknown".into(),
            business_day: business_day(now),
            at: now,
            amount_fen: amount,
            fee_fen: fee,
            net_fen: amount - fee,
            last4: None,
            reference_number: paid.wallet_txn.clone(),
            batch_number: None,
            voucher_number: None,
            parent: Some(paid.key.clone()),
            province: None,
        },
    )
}

/// A reversal of an approved sale: the sale's amount, fee and net taken back in full.
pub fn reversal_in(tx: &Transaction<'_>, merchant_id: &str, p: &PaymentWire, now: i64) -> ApiResult<()> {
    append(
        tx,
        merchant_id,
        TransactionWire {
            seq: 0,
            id: format!("{}:r", p.idempotency_key),
            kind: "reversal".into(),
            status: "approved".into(),
            channel: "card".into(),
            card_kind: p.card_kind.clone(),
            business_day: business_day(p.processed_at),
            at: now,
            amount_fen: p.amount_fen,
            fee_fen: p.fee_fen,
            net_fen: p.net_fen,
            last4: last4(&p.masked_pan),
            reference_number: Some(p.reference_number.clone()),
            batch_number: None,
            voucher_number: None,
            parent: Some(p.idempotency_key.clone()),
            province: None,
        },
    )
}

/// A void or refund of `amount` of sale `p`, with the fee given back in proportion.
pub fn adjustment_in(
    tx: &Transaction<'_>,
    merchant_id: &str,
    adjustment_key: &str,
    kind: &str,
    amount: i64,
    p: &PaymentWire,
    now: i64,
) -> ApiResult<()> {
    let fee = fee_back(p.amount_fen, p.fee_fen, amount);
    append(
        tx,
        merchant_id,
        TransactionWire {
            seq: 0,
            id: adjustment_key.into(),
            kind: kind.into(),
            status: "approved".into(),
            channel: "card".into(),
            card_kind: p.card_kind.clone(),
            business_day: business_day(now),
            at: now,
            amount_fen: amount,
            fee_fen: fee,
            net_fen: amount - fee,
            last4: last4(&p.masked_pan),
            reference_number: Some(p.reference_number.clone()),
            batch_number: None,
            voucher_number: None,
            parent: Some(p.idempotency_key.clone()),
            province: None,
        },
    )
}
