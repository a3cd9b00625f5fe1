//! Cross-province settings and applications as stored, and the rule applied to every
//! authorisation (the same `starpos_protocol::cross_province::decide` the phone runs first).

use axum::http::StatusCode;
use rusqlite::Connection;
use starpos_protocol::cross_province::{decide, Decision, LocationPolicy};
use starpos_protocol::wire::{CrossProvinceApplicationWire, CrossProvinceWire, LocationWire};

use crate::platform::error::{ApiError, ApiResult};
use crate::platform::state::State;

const DAY: i64 = 86_400;

/// Registered province, location policy and review time of a merchant.
pub struct Settings {
    pub registered: String,
    pub policy: LocationPolicy,
    pub review_secs: i64,
}

pub fn settings(db: &Connection, merchant_id: &str, default_review_secs: i64) -> ApiResult<Settings> {
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

pub fn applications(db: &Connection, merchant_id: &str, now: i64) -> ApiResult<Vec<CrossProvinceApplicationWire>> {
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

pub fn approved_in(db: &Connection, merchant_id: &str, province: &str, now: i64) -> rusqlite::Result<bool> {
    db.query_row(
        "SELECT EXISTS (SELECT 1 FROM cross_province_applications
             WHERE merchant_id = ?1 AND province = ?2 AND approve = 1
               AND decide_at <= ?3 AND decide_at + days * 86400 > ?3)",
        (merchant_id, province, now),
        |r| r.get(0),
    )
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

/// The rule for one payment (by card or QR) made at `location`, inside its transaction:
/// `Ok((province, flag))` to record with the payment, or the refusal.
pub fn check_payment(
    tx: &Connection,
    merchant_id: &str,
    location: Option<&LocationWire>,
    now: i64,
    default_review_secs: i64,
) -> ApiResult<(Option<String>, Option<&'static str>)> {
    let s = settings(tx, merchant_id, default_review_secs)?;
    let location = location.map(|l| l.degrees());
    let mut failed = None;
    let decision = decide(location, &s.registered, s.policy, |code| {
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
