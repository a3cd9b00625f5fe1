//! Cross-province business: the merchant's applications and their review, and the rule the
//! platform applies to every authorisation (the same `starpos_protocol::cross_province::decide`
//! the phone runs first). A review is decided when the application is filed (approval, or the
//! verdict set through `/dev/cross-province`) and shows once its review time has passed on the
//! platform's clock, so tests move the clock instead of waiting.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use starpos_core::location::Location;
use starpos_protocol::cross_province::{decide, Decision, LocationPolicy};
use starpos_protocol::provinces::is_province_code;
use starpos_protocol::wire::{
    ApplyCrossProvinceRequest, AuthorizeRequest, CrossProvinceApplicationWire, CrossProvinceWire,
};

use super::auth::Signed;
use super::error::{body, ApiError, ApiJson, ApiResult};
use super::state::State;

const DAY: i64 = 86_400;

/// Registered province, location policy and review time of a merchant.
struct Settings {
    registered: String,
    policy: LocationPolicy,
    review_secs: i64,
}

fn settings(db: &Connection, merchant_id: &str, default_review_secs: i64) -> ApiResult<Settings> {
    let (registered, policy, review_secs): (String, Option<String>, Option<i64>) = db.query_row(
        "SELECT m.province, s.location_policy, s.review_secs
         FROM merchants m LEFT JOIN cross_province_settings s ON s.merchant_id = m.id WHERE m.id = ?1",
        [merchant_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(Settings {
        registered,
        policy: policy.as_deref().and_then(LocationPolicy::parse).unwrap_or(LocationPolicy::AllowAndFlag),
        review_secs: review_secs.unwrap_or(default_review_secs),
    })
}

fn applications(db: &Connection, merchant_id: &str, now: i64) -> ApiResult<Vec<CrossProvinceApplicationWire>> {
    let mut stmt = db.prepare(
        "SELECT id, province, reason, days, approve, verdict_reason, submitted_at, decide_at
         FROM cross_province_applications WHERE merchant_id = ?1 ORDER BY submitted_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([merchant_id], |r| {
        let (approve, verdict_reason, decide_at): (bool, Option<String>, i64) = (r.get(4)?, r.get(5)?, r.get(7)?);
        let days: u32 = r.get(3)?;
        let decided = decide_at <= now;
        Ok(CrossProvinceApplicationWire {
            id: r.get(0)?,
            province: r.get(1)?,
            reason: r.get(2)?,
            days,
            status: match (decided, approve) {
                (false, _) => "pending",
                (true, true) => "approved",
                (true, false) => "rejected",
            }
            .into(),
            decision_reason: if decided { verdict_reason } else { None },
            submitted_at: r.get(6)?,
            decided_at: decided.then_some(decide_at),
            valid_until: (decided && approve).then_some(decide_at + i64::from(days) * DAY),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn approved_in(db: &Connection, merchant_id: &str, province: &str, now: i64) -> rusqlite::Result<bool> {
    db.query_row(
        "SELECT EXISTS (SELECT 1 FROM cross_province_applications
             WHERE merchant_id = ?1 AND province = ?2 AND approve = 1
               AND decide_at <= ?3 AND decide_at + days * 86400 > ?3)",
        (merchant_id, province, now),
        |r| r.get(0),
    )
}

pub async fn status(St(state): St<Arc<State>>, signed: Signed) -> ApiResult<Json<CrossProvinceWire>> {
    Ok(Json(rules_of(&state, &signed.caller.merchant_id)?))
}

/// The merchant's rules as `GET /v1/merchant/cross-province` (and the profile) answer them.
pub fn rules_of(state: &State, merchant_id: &str) -> ApiResult<CrossProvinceWire> {
    let now = state.now();
    let db = state.db();
    let s = settings(&db, merchant_id, state.config.cross_province_review_secs)?;
    Ok(CrossProvinceWire {
        registered_province: s.registered,
        location_policy: s.policy.as_str().into(),
        applications: applications(&db, merchant_id, now)?,
    })
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

/// The rule for one authorisation, inside its transaction: `Ok((province, flag))` to record
/// with the payment, or the refusal.
pub fn check_payment(
    tx: &Connection,
    merchant_id: &str,
    req: &AuthorizeRequest,
    now: i64,
    default_review_secs: i64,
) -> ApiResult<(Option<String>, Option<&'static str>)> {
    let s = settings(tx, merchant_id, default_review_secs)?;
    let location = req.location.as_ref().map(Location::from_wire);
    let mut failed = None;
    let decision = decide(location.map(|l| (l.latitude, l.longitude)), &s.registered, s.policy, |code| {
        approved_in(tx, merchant_id, code, now).unwrap_or_else(|e| {
            failed = Some(e);
            false
        })
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    match decision {
        Decision::Allow { province } => Ok((Some(province.code), None)),
        Decision::AllowFlagged { flag } => Ok((None, Some(flag))),
        Decision::NotApproved { here } => {
            let mut e = ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_province_not_approved",
                format!(
                    "the sale is in {} ({}), outside the registered province {}, without approved cross-province business there",
                    here.name_en, here.code, s.registered
                ),
            );
            e.body.province = Some(here.code);
            e.body.registered_province = Some(s.registered);
            Err(e)
        }
        Decision::LocationRequired { reason } => Err(ApiError::new(StatusCode::FORBIDDEN, "location_required", reason)),
    }
}

#[derive(Deserialize)]
pub struct DevSettings {
    phone: String,
    /// `refuse` or `allow_and_flag`.
    #[serde(default)]
    location_policy: Option<String>,
    /// The verdict of the merchant's next review, with its reason.
    #[serde(default)]
    next_approve: Option<bool>,
    #[serde(default)]
    next_reason: Option<String>,
    /// This merchant's review time, instead of the configured one.
    #[serde(default)]
    review_secs: Option<i64>,
    /// Moves the merchant's registered province (e.g. for a test merchant from elsewhere).
    #[serde(default)]
    registered_province: Option<String>,
}

/// `POST /dev/cross-province`: the location policy, the next review's verdict, the review time
/// and the registered province of a merchant.
pub async fn dev_settings(
    St(state): St<Arc<State>>,
    ApiJson(b): ApiJson<DevSettings>,
) -> ApiResult<Json<serde_json::Value>> {
    let db = state.db();
    let id: String = db
        .query_row("SELECT id FROM merchants WHERE phone = ?1", [&b.phone], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such merchant"))?;
    db.execute("INSERT OR IGNORE INTO cross_province_settings (merchant_id) VALUES (?1)", [&id])?;
    if let Some(p) = &b.location_policy {
        if LocationPolicy::parse(p).is_none() {
            return Err(ApiError::invalid("invalid_request", "location_policy", "refuse or allow_and_flag"));
        }
        db.execute("UPDATE cross_province_settings SET location_policy = ?1 WHERE merchant_id = ?2", (p, &id))?;
    }
    if let Some(approve) = b.next_approve {
        db.execute(
            "UPDATE cross_province_settings SET next_approve = ?1, next_reason = ?2 WHERE merchant_id = ?3",
            (approve, &b.next_reason, &id),
        )?;
    }
    if let Some(secs) = b.review_secs {
        db.execute("UPDATE cross_province_settings SET review_secs = ?1 WHERE merchant_id = ?2", (secs.max(0), &id))?;
    }
    if let Some(code) = &b.registered_province {
        if !is_province_code(code) {
            return Err(ApiError::invalid("invalid_request", "registered_province", "a two-digit GB/T 2260 code"));
        }
        db.execute("UPDATE merchants SET province = ?1 WHERE id = ?2", (code, &id))?;
    }
    Ok(Json(serde_json::json!({ "merchant_id": id })))
}
