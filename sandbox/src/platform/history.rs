//! The platform's record of money events for history sync and settlement (docs/history.md):
//! a feed in the platform's order, appended in the same transaction as each payment decision,
//! reversal, void and refund; per-day settlement batches computed from it; and development
//! knobs to make a sale "on another device" and a settlement that pays short.

use std::sync::Arc;

use axum::extract::{Query, State as St};
use axum::Json;
use rusqlite::OptionalExtension;
use serde::Deserialize;
use starpos_protocol::wire::{SettlementWire, SettlementsResponse, TransactionWire, TransactionsPage};

use super::auth::Signed;
use super::error::{ApiError, ApiResult};
use super::state::State;

const MAX_PAGE: i64 = 500;

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
