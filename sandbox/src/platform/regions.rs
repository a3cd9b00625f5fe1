//! Cross-province business: the merchant's applications and their review, and the rule the
//! platform applies to every authorisation (the same `starpos_protocol::cross_province::decide`
//! the phone runs first). A review is decided when the application is filed (approval, or the
//! verdict set through `/dev/cross-province`) and shows once its review time has passed on the
//! platform's clock, so tests move the clock instead of waiting.

use std::sync::Arc;

use axum::extract::State as St;
use axum::Json;
use rusqlite::OptionalExtension;
use starpos_protocol::provinces::is_province_code;
use starpos_protocol::wire::{ApplyCrossProvinceRequest, CrossProvinceApplicationWire, CrossProvinceWire};

use super::auth::Signed;
use super::error::{body, ApiError, ApiResult};
use super::records::cross_province::{applications, rules_of, settings};
use super::state::State;

pub async fn status(St(state): St<Arc<State>>, signed: Signed) -> ApiResult<Json<CrossProvinceWire>> {
    Ok(Json(rules_of(&state, &signed.caller.merchant_id)?))
}

pub async fn apply(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<CrossProvinceApplicationWire>> {
    let req: ApplyCrossProvinceRequest = body(&bytes)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let s = settings(&tx, &caller.merchant_id, state.config.cross_province_review_secs)?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM cross_province_applications WHERE merchant_id = ?1 AND idempotency_key = ?2",
            (&caller.merchant_id, &req.idempotency_key),
            |r| r.get(0),
        )
        .optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            if !(16..=64).contains(&req.idempotency_key.len()) {
                return Err(ApiError::invalid("invalid_request", "idempotency_key", "16 to 64 characters"));
            }
            if !is_province_code(&req.province) {
                return Err(ApiError::invalid("invalid_request", "province", "a two-digit GB/T 2260 code"));
            }
            if req.province == s.registered {
                return Err(ApiError::invalid("invalid_request", "province", "this is the registered province"));
            }
            if !(2..=100).contains(&req.reason.trim().chars().count()) {
                return Err(ApiError::invalid("invalid_request", "reason", "2 to 100 characters"));
            }
            if !(1..=90).contains(&req.days) {
                return Err(ApiError::invalid("invalid_request", "days", "from 1 to 90"));
            }
            // The review's verdict: the dev knob's, once, else approval.
            let knob: Option<(Option<bool>, Option<String>)> = tx
                .query_row(
                    "SELECT next_approve, next_reason FROM cross_province_settings WHERE merchant_id = ?1",
                    [&caller.merchant_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (approve, verdict_reason) = match knob {
                Some((Some(approve), reason)) => (approve, reason),
                _ => (true, None),
            };
            tx.execute(
                "UPDATE cross_province_settings SET next_approve = NULL, next_reason = NULL WHERE merchant_id = ?1",
                [&caller.merchant_id],
            )?;
            let id = starpos_protocol::util::random_hex(8);
            tx.execute(
                "INSERT INTO cross_province_applications (id, merchant_id, idempotency_key, province, reason, days,
                     approve, verdict_reason, submitted_at, decide_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                (
                    &id,
                    &caller.merchant_id,
                    &req.idempotency_key,
                    &req.province,
                    req.reason.trim(),
                    req.days,
                    approve,
                    &verdict_reason,
                    now,
                    now + s.review_secs.max(0),
                ),
            )?;
            id
        }
    };
    tx.commit()?;
    applications(&db, &caller.merchant_id, now)?
        .into_iter()
        .find(|a| a.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::internal("application vanished"))
}
