//! Merchant profile, fee schedule and limits. The platform's caps and fees here are the
//! sandbox's published terms (docs/platform-api.md); merchant limits never exceed the caps, and
//! raising one needs the password again.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::{StatusCode, Uri};
use axum::Json;
use starpos_protocol::calendar::business_day;
use starpos_protocol::fees::{self, SettlementCycle};
use starpos_protocol::wire::{
    FeeQuoteWire, LimitsWire, MerchantProfileWire, SetLimitsRequest, SettlementRequest, UsageWire,
};

use super::auth::{check_password, step_up_failed, Signed};
use super::error::{ApiError, ApiResult};
use super::records::card_checks;
use super::records::profile::{caps, fee_schedule, profile_of};
use super::state::State;

/// The profile, with what the merchant's devices used of today's total: a phone counts the
/// others' part in its own pre-check.
pub async fn profile(St(state): St<Arc<State>>, Signed { caller, .. }: Signed) -> ApiResult<Json<MerchantProfileWire>> {
    let mut profile = profile_of(&state, &caller.merchant_id)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let used_fen = card_checks::used_today(&tx, &caller.merchant_id, now)?;
    profile.used_today = Some(UsageWire { business_day: business_day(now), used_fen });
    Ok(Json(profile))
}

pub async fn set_limits(St(state): St<Arc<State>>, Signed { caller, body }: Signed) -> ApiResult<Json<LimitsWire>> {
    let req: SetLimitsRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("invalid_request", "body", format!("unreadable limits: {e}")))?;
    let new = req.limits;
    let cap = caps(&state);
    for (field, value, cap) in [
        ("daily_total_fen", new.daily_total_fen, cap.daily_total_fen),
        ("per_txn_fen", new.per_txn_fen, cap.per_txn_fen),
        ("per_card_daily_count", new.per_card_daily_count as i64, cap.per_card_daily_count as i64),
    ] {
        if value <= 0 {
            return Err(ApiError::invalid("invalid_request", field, "a limit is a positive number"));
        }
        if value > cap {
            let mut e = ApiError::invalid("limit_above_cap", field, format!("the platform's cap is {cap}"));
            e.body.cap = Some(cap);
            return Err(e);
        }
    }
    let current = profile_of(&state, &caller.merchant_id)?.limits;
    let raises = new.daily_total_fen > current.daily_total_fen
        || new.per_txn_fen > current.per_txn_fen
        || new.per_card_daily_count > current.per_card_daily_count;
    if raises {
        let Some(password) = &req.password else {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "step_up_required", "raising a limit needs the password"));
        };
        check_password(&state, &caller.merchant_id, password, step_up_failed("the limits are unchanged"))?;
    }
    state.db().execute(
        "UPDATE merchants SET daily_total_fen = ?1, per_txn_fen = ?2, per_card_daily_count = ?3 WHERE id = ?4",
        (new.daily_total_fen, new.per_txn_fen, new.per_card_daily_count, &caller.merchant_id),
    )?;
    Ok(Json(new))
}

#[derive(serde::Deserialize)]
pub struct QuoteQuery {
    amount_fen: i64,
    channel: String,
    card_kind: String,
    cycle: String,
}

pub async fn quote(uri: Uri, _signed: Signed) -> ApiResult<Json<FeeQuoteWire>> {
    let q: QuoteQuery = serde_urlencoded_query(&uri)?;
    let cycle = SettlementCycle::parse(&q.cycle)
        .ok_or_else(|| ApiError::invalid("invalid_request", "cycle", "cycle is t1 or d0"))?;
    fees::quote(&fee_schedule(), &q.channel, &q.card_kind, cycle, q.amount_fen)
        .map(Json)
        .ok_or_else(|| ApiError::invalid("invalid_request", "amount_fen", "no fee for this amount, channel and kind"))
}

fn serde_urlencoded_query<T: serde::de::DeserializeOwned>(uri: &Uri) -> ApiResult<T> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::invalid("invalid_request", "query", e.body_text()))
}

/// The merchant chooses T+1 (next business day) or D0 (same day, with the D0 surcharge).
pub async fn set_settlement(
    St(state): St<Arc<State>>,
    Signed { caller, body }: Signed,
) -> ApiResult<Json<MerchantProfileWire>> {
    let req: SettlementRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("invalid_request", "body", format!("unreadable body: {e}")))?;
    let cycle = SettlementCycle::parse(&req.cycle)
        .ok_or_else(|| ApiError::invalid("invalid_request", "cycle", "cycle is t1 or d0"))?;
    state.db().execute("UPDATE merchants SET settlement = ?1 WHERE id = ?2", (cycle.as_str(), &caller.merchant_id))?;
    Ok(Json(profile_of(&state, &caller.merchant_id)?))
}
