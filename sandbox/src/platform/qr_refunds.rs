//! Voids and refunds of QR payments, made by payment code or by a shown QR (issue #15 item 4),
//! with each wallet's rules:
//! - a void takes the whole payment, on its business day and before any refund;
//! - a refund takes part or all of what remains, on any day within the wallet's window: WeChat
//!   Pay 1 year, Alipay 3 months (UnionPay gets a year here, the sandbox's choice);
//! - WeChat Pay takes at most 50 refunds of one payment, at least a minute apart.
//!
//! Each is idempotent by its adjustment key (the phone reuses it on retry) and needs the account
//! password, as for cards. A refusal by the rules is made before anything moves.

use std::sync::Arc;

use axum::extract::{Path, State as St};
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::calendar::business_day;
use starpos_protocol::qr::payment_code::Wallet;
use starpos_protocol::wire::QrAdjustmentWire;

use super::auth::Signed;
use super::error::{ApiError, ApiResult};
use super::faults::injected_5xx;
use super::records::adjustments;
use super::records::feed;
use super::records::qr_paid::paid_record;
use super::state::State;

const DAY_SECS: i64 = 86_400;
/// WeChat Pay's limits on the refunds of one payment.
const WECHAT_MAX_REFUNDS: i64 = 50;
const WECHAT_REFUND_GAP_SECS: i64 = 60;

fn window_days(wallet: Wallet) -> i64 {
    match wallet {
        Wallet::Alipay => 90,
        Wallet::WeChat | Wallet::UnionPay => 365,
    }
}

fn refused(code: &str, message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

async fn adjust(state: &State, merchant_id: &str, key: &str, bytes: &[u8], kind: &str) -> ApiResult<QrAdjustmentWire> {
    let req = adjustments::read_request(state, merchant_id, bytes)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    adjustments::check_not_abandoned(&tx, &req.adjustment_key)?;
    let totals = |tx: &Transaction<'_>| -> ApiResult<(i64, i64, Option<i64>, i64)> {
        Ok(tx.query_row(
            "SELECT COALESCE(SUM(amount_fen), 0), COUNT(*), MAX(created_at), COALESCE(SUM(kind = 'void'), 0)
             FROM qr_refunds WHERE payment_key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?)
    };
    let done: Option<(String, String, i64)> = tx
        .query_row("SELECT payment_key, kind, amount_fen FROM qr_refunds WHERE key = ?1", [&req.adjustment_key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if let Some((payment_key, kind, amount_fen)) = done {
        if payment_key != key {
            return Err(refused("idempotency_conflict", "this key was used for another payment".into()));
        }
        let refunded_fen = totals(&tx)?.0;
        return Ok(QrAdjustmentWire {
            adjustment_key: req.adjustment_key.clone(),
            payment_key,
            kind,
            amount_fen,
            refunded_fen,
        });
    }
    let paid = paid_record(&tx, merchant_id, key)?;
    let (refunded, count, last_at, voided) = totals(&tx)?;
    if voided > 0 {
        return Err(refused("not_adjustable", "the payment was voided".into()));
    }
    let amount = if kind == "void" {
        if business_day(paid.paid_at) != business_day(now) || refunded > 0 {
            return Err(refused(
                "void_not_allowed",
                "the payment is settled or partly refunded: refund it instead".into(),
            ));
        }
        paid.amount_fen
    } else {
        let days = window_days(paid.wallet);
        if now > paid.paid_at + days * DAY_SECS {
            return Err(refused(
                "refund_window_passed",
                format!("{} refunds a payment within {days} days of it; this one is older", paid.wallet.as_str()),
            ));
        }
        if paid.wallet == Wallet::WeChat && count >= WECHAT_MAX_REFUNDS {
            return Err(refused(
                "too_many_refunds",
                format!("WeChat Pay takes at most {WECHAT_MAX_REFUNDS} refunds of one payment"),
            ));
        }
        if let Some(wait) =
            last_at.map(|t| t + WECHAT_REFUND_GAP_SECS - now).filter(|w| paid.wallet == Wallet::WeChat && *w > 0)
        {
            let mut e =
                refused("refund_too_soon", "WeChat Pay takes refunds of one payment at least a minute apart".into());
            e.body.retry_after = Some(wait as u64);
            return Err(e);
        }
        let remaining = paid.amount_fen - refunded;
        let amount = req.amount_fen.unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            let mut e =
                ApiError::invalid("refund_exceeds_remaining", "amount_fen", format!("at most {remaining} fen remain"));
            e.body.cap = Some(remaining);
            return Err(e);
        }
        amount
    };
    tx.execute(
        "INSERT INTO qr_refunds (key, payment_key, merchant_id, kind, amount_fen, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (&req.adjustment_key, key, merchant_id, kind, amount, now),
    )?;
    feed::qr_adjustment_in(&tx, merchant_id, &req.adjustment_key, kind, amount, &paid, now)?;
    tx.commit()?;
    Ok(QrAdjustmentWire {
        adjustment_key: req.adjustment_key.clone(),
        payment_key: key.into(),
        kind: kind.into(),
        amount_fen: amount,
        refunded_fen: refunded + amount,
    })
}

pub async fn void(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<QrAdjustmentWire>> {
    injected_5xx(&state)?;
    Ok(Json(adjust(&state, &caller.merchant_id, &key, &bytes, "void").await?))
}

pub async fn refund(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<QrAdjustmentWire>> {
    injected_5xx(&state)?;
    Ok(Json(adjust(&state, &caller.merchant_id, &key, &bytes, "refund").await?))
}
