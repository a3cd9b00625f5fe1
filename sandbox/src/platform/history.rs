//! The platform's record of money events for history sync and settlement (docs/history.md):
//! a feed in the platform's order, appended in the same transaction as each payment decision,
//! reversal, void and refund; per-day settlement batches computed from it; and development
//! knobs to make a sale "on another device" and a settlement that pays short.

use std::sync::Arc;

use axum::extract::{Query, State as St};
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{OptionalExtension, Transaction};
use serde::Deserialize;
use starpos_protocol::calendar::business_day;
use starpos_protocol::fees::fee_back;
use starpos_protocol::wire::{PaymentWire, SettlementWire, SettlementsResponse, TransactionWire, TransactionsPage};

use super::auth::Signed;
use super::error::{ApiError, ApiResult};
use super::state::State;

const MAX_PAGE: i64 = 500;

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

#[derive(Deserialize)]
pub struct FeedQuery {
    after: Option<i64>,
    limit: Option<i64>,
    day: Option<String>,
}

/// `GET /v1/transactions?after=SEQ&limit=N`: the merchant's events after `after`, oldest first;
/// or `?day=YYYY-MM-DD`: all of one business day (for reconciliation).
pub async fn transactions(
    St(state): St<Arc<State>>,
    Query(q): Query<FeedQuery>,
    Signed { caller, .. }: Signed,
) -> ApiResult<Json<TransactionsPage>> {
    let db = state.db();
    let rows: Vec<(i64, String)> = match &q.day {
        Some(day) => {
            if starpos_protocol::calendar::day_number(day).is_none() {
                return Err(ApiError::invalid("invalid_request", "day", "a day as YYYY-MM-DD"));
            }
            let mut s = db.prepare_cached(
                "SELECT seq, json FROM feed WHERE merchant_id = ?1 AND business_day = ?2 ORDER BY seq",
            )?;
            let rows = s.query_map((&caller.merchant_id, day), |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        }
        None => {
            let limit = q.limit.unwrap_or(200).clamp(1, MAX_PAGE);
            let mut s = db.prepare_cached(
                "SELECT seq, json FROM feed WHERE merchant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows =
                s.query_map((&caller.merchant_id, q.after.unwrap_or(0), limit + 1), |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        }
    };
    let limit = if q.day.is_some() { i64::MAX } else { q.limit.unwrap_or(200).clamp(1, MAX_PAGE) };
    let more = rows.len() as i64 > limit;
    let mut items = Vec::new();
    for (seq, json) in rows.into_iter().take(limit.min(i64::from(u32::MAX)) as usize) {
        let mut t: TransactionWire = serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
        t.seq = seq;
        items.push(t);
    }
    let next_after = items.last().map_or(q.after.unwrap_or(0), |t| t.seq);
    Ok(Json(TransactionsPage { items, next_after, more }))
}

#[derive(Deserialize)]
pub struct RangeQuery {
    from: String,
    to: String,
}

/// `GET /v1/settlements?from=DAY&to=DAY`: one batch per business day with activity. The
/// expected amount is the day's net (approved sales' net less the net of voids and refunds);
/// a T+1 batch is paid once its next day has begun, a D0 batch once its own day is over.
pub async fn settlements(
    St(state): St<Arc<State>>,
    Query(q): Query<RangeQuery>,
    Signed { caller, .. }: Signed,
) -> ApiResult<Json<SettlementsResponse>> {
    let day_number = starpos_protocol::calendar::day_number;
    if day_number(&q.from).is_none() || day_number(&q.to).is_none() {
        return Err(ApiError::invalid("invalid_request", "from", "days as YYYY-MM-DD"));
    }
    let now = state.now();
    let db = state.db();
    let cycle: String =
        db.query_row("SELECT settlement FROM merchants WHERE id = ?1", [&caller.merchant_id], |r| r.get(0))?;
    let mut s = db.prepare_cached(
        "SELECT business_day, json FROM feed WHERE merchant_id = ?1 AND business_day BETWEEN ?2 AND ?3 ORDER BY seq",
    )?;
    let mut days: std::collections::BTreeMap<String, (u32, i64)> = std::collections::BTreeMap::new();
    let rows =
        s.query_map((&caller.merchant_id, &q.from, &q.to), |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (day, json) = row?;
        let t: TransactionWire = serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
        let entry = days.entry(day).or_default();
        if t.status == "approved" {
            match t.kind.as_str() {
                "sale" => {
                    entry.0 += 1;
                    entry.1 += t.net_fen;
                }
                "void" | "refund" => {
                    entry.0 += 1;
                    entry.1 -= t.net_fen;
                }
                "reversal" => {
                    entry.0 = entry.0.saturating_sub(1);
                    entry.1 -= t.net_fen;
                }
                _ => {}
            }
        }
    }
    let mut settlements = Vec::new();
    for (day, (transactions, expected)) in days {
        let number = starpos_protocol::calendar::day_number(&day).unwrap_or(0);
        // The business day ends at 24:00 China time (UTC+8). T+1 pays at 10:00 the next day;
        // D0 pays at 23:00 the same day.
        let day_ends = (number + 1) * 86_400 - 8 * 3_600;
        let due = if cycle == "d0" { day_ends - 3_600 } else { day_ends + 10 * 3_600 };
        let shortfall: i64 = db
            .query_row(
                "SELECT fen FROM settlement_shortfalls WHERE merchant_id = ?1 AND business_day = ?2",
                (&caller.merchant_id, &day),
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let paid = now >= due;
        settlements.push(SettlementWire {
            business_day: day,
            cycle: cycle.clone(),
            transactions,
            expected_net_fen: expected,
            paid_fen: if paid { expected - shortfall } else { 0 },
            paid_at: paid.then_some(due),
        });
    }
    Ok(Json(SettlementsResponse { settlements }))
}

#[derive(Deserialize)]
pub struct ShortfallRequest {
    phone: String,
    business_day: String,
    fen: i64,
}

/// `POST /dev/settlements/shortfall`: the batch of that day pays `fen` less than it should (for
/// the reconciliation test).
pub async fn shortfall(
    St(state): St<Arc<State>>,
    Json(req): Json<ShortfallRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let db = state.db();
    let merchant: String = db
        .query_row("SELECT id FROM merchants WHERE phone = ?1", [&req.phone], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such merchant"))?;
    db.execute(
        "INSERT INTO settlement_shortfalls (merchant_id, business_day, fen) VALUES (?1, ?2, ?3)
         ON CONFLICT (merchant_id, business_day) DO UPDATE SET fen = ?3",
        (&merchant, &req.business_day, req.fen),
    )?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

#[derive(Deserialize)]
pub struct OtherDeviceSale {
    phone: String,
    amount_fen: i64,
}

/// `POST /dev/transactions`: an approved card sale the merchant made on another device (it
/// reaches this phone only through sync). Answers the payment.
pub async fn other_device_sale(
    St(state): St<Arc<State>>,
    Json(req): Json<OtherDeviceSale>,
) -> ApiResult<Json<PaymentWire>> {
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let merchant: String = tx
        .query_row("SELECT id FROM merchants WHERE phone = ?1", [&req.phone], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such merchant"))?;
    let key = starpos_protocol::util::random_hex(16);
    let fee = (req.amount_fen * 6 + 500) / 1_000;
    let payment = PaymentWire {
        idempotency_key: key.clone(),
        status: "approved".into(),
        response_code: "00".into(),
        message: "approved".into(),
        amount_fen: req.amount_fen,
        fee_fen: fee,
        net_fen: req.amount_fen - fee,
        masked_pan: "622202******0128".into(),
        card_kind: "debit".into(),
        issuer_bank: None,
        auth_code: Some("000001".into()),
        reference_number: format!("{:012}", now % 1_000_000_000_000),
        batch_number: "000001".into(),
        voucher_number: "000999".into(),
        issuer_data: String::new(),
        processed_at: now,
        refunded_fen: 0,
    };
    let json = serde_json::to_string(&payment).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute(
        "INSERT INTO payments (key, merchant_id, request_hash, status, amount_fen, json, created_at)
         VALUES (?1, ?2, 'other-device', 'approved', ?3, ?4, ?5)",
        (&key, &merchant, req.amount_fen, &json, now),
    )?;
    sale_in(&tx, &merchant, &payment, None)?;
    tx.commit()?;
    Ok(Json(payment))
}
