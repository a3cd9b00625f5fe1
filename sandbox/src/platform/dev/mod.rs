//! Development-only endpoints: read the SMS code a real platform would have texted, expire
//! tokens, read counters, move the clock. A production platform has none of these.

pub mod cross_province;
pub mod history;
pub mod qr;
pub mod ready;

/// The merchant number of the merchant with `phone` (every knob names merchants by phone).
fn merchant_by_phone(db: &rusqlite::Connection, phone: &str) -> ApiResult<String> {
    db.query_row("SELECT id FROM merchants WHERE phone = ?1", [phone], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such merchant"))
}

use std::sync::Arc;

use axum::extract::{Query, State as St};
use axum::http::StatusCode;
use axum::Json;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::platform::error::{ApiError, ApiJson, ApiResult};
use crate::platform::state::State;

#[derive(Deserialize)]
pub struct SmsQuery {
    phone: String,
    purpose: String,
}

#[derive(Serialize)]
pub struct SmsCode {
    code: String,
    expires_at: i64,
}

pub async fn latest_sms(St(state): St<Arc<State>>, Query(q): Query<SmsQuery>) -> ApiResult<Json<SmsCode>> {
    let row: Option<(String, i64)> = state
        .db()
        .query_row(
            "SELECT code, expires_at FROM sms_codes WHERE phone = ?1 AND purpose = ?2",
            (&q.phone, &q.purpose),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (code, expires_at) =
        row.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no code was sent"))?;
    Ok(Json(SmsCode { code, expires_at }))
}

#[derive(Deserialize)]
pub struct PhoneBody {
    phone: String,
}

/// Expires every access token of the merchant, as if their lifetime had passed.
pub async fn expire_access(
    St(state): St<Arc<State>>,
    ApiJson(b): ApiJson<PhoneBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let now = state.now();
    let n = state.db().execute(
        "UPDATE sessions SET access_expires_at = ?1 WHERE merchant_id = (SELECT id FROM merchants WHERE phone = ?2)",
        (now - 1, &b.phone),
    )?;
    Ok(Json(serde_json::json!({ "expired": n })))
}

#[derive(Serialize)]
pub struct Stats {
    logins: u64,
    refreshes: u64,
    sessions: u64,
    revoked_sessions: u64,
    devices: u64,
}

pub async fn stats(St(state): St<Arc<State>>, Query(q): Query<PhoneBody>) -> ApiResult<Json<Stats>> {
    let db = state.db();
    let id = merchant_by_phone(&db, &q.phone)?;
    let stats = db.query_row(
        "SELECT (SELECT logins FROM merchants WHERE id = ?1),
                (SELECT COALESCE(SUM(refreshes), 0) FROM sessions WHERE merchant_id = ?1),
                (SELECT COUNT(*) FROM sessions WHERE merchant_id = ?1),
                (SELECT COUNT(*) FROM sessions WHERE merchant_id = ?1 AND revoked = 1),
                (SELECT COUNT(*) FROM devices WHERE merchant_id = ?1)",
        [&id],
        |r| {
            Ok(Stats {
                logins: r.get(0)?,
                refreshes: r.get(1)?,
                sessions: r.get(2)?,
                revoked_sessions: r.get(3)?,
                devices: r.get(4)?,
            })
        },
    )?;
    Ok(Json(stats))
}

#[derive(Deserialize)]
pub struct Advance {
    secs: i64,
}

/// Moves the platform's clock forward (lock-outs, code and token lifetimes) without sleeping.
pub async fn advance_clock(
    St(state): St<Arc<State>>,
    ApiJson(a): ApiJson<Advance>,
) -> ApiResult<Json<serde_json::Value>> {
    if a.secs < 0 {
        return Err(ApiError::invalid("invalid_request", "secs", "the clock only moves forward"));
    }
    let offset = state.advance_clock(a.secs);
    Ok(Json(serde_json::json!({ "offset": offset, "now": state.now() })))
}

#[derive(Deserialize)]
pub struct ReaderSerial {
    serial: String,
}

/// The shop takes a reader back from whichever merchant has it (the binding tests share one
/// simulated reader across their merchants): the next merchant to pair it owns it, at a new
/// generation, as after a release.
pub async fn take_reader_back(
    St(state): St<Arc<State>>,
    ApiJson(r): ApiJson<ReaderSerial>,
) -> ApiResult<Json<serde_json::Value>> {
    let taken = state.db().execute("DELETE FROM readers WHERE serial = ?1", [&r.serial])?;
    Ok(Json(serde_json::json!({ "serial": r.serial, "taken_back": taken == 1 })))
}

/// Sets the payment fault knobs (replacing the previous ones); answers what is now set.
pub async fn set_faults(
    St(state): St<Arc<State>>,
    ApiJson(faults): ApiJson<crate::platform::faults::PaymentFaults>,
) -> Json<crate::platform::faults::PaymentFaults> {
    *state.payment_faults() = faults.clone();
    Json(faults)
}

/// The platform's view of a payment key, for tests: its status, amount and flags, or a tombstone.
pub async fn payment(
    St(state): St<Arc<State>>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let db = state.db();
    let row: Option<(String, i64, String)> = db
        .query_row("SELECT status, amount_fen, json FROM payments WHERE key = ?1", [&key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let tombstone =
        db.query_row("SELECT 1 FROM payment_tombstones WHERE key = ?1", [&key], |_| Ok(())).optional()?.is_some();
    let signature_bytes: Option<i64> = db
        .query_row("SELECT length(strokes) FROM signatures WHERE payment_key = ?1", [&key], |r| r.get(0))
        .optional()?;
    let location: Option<(i64, i64, i64)> = db
        .query_row("SELECT latitude_e6, longitude_e6, accuracy_m FROM payment_locations WHERE key = ?1", [&key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let location = location
        .map(|(lat, lon, acc)| serde_json::json!({ "latitude_e6": lat, "longitude_e6": lon, "accuracy_m": acc }));
    let region: Option<(Option<String>, Option<String>)> = db
        .query_row("SELECT province, flag FROM payment_regions WHERE key = ?1", [&key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (province, flag) = region.unwrap_or_default();
    match row {
        Some((status, amount, json)) => Ok(Json(serde_json::json!({
            "status": status,
            "amount_fen": amount,
            "fallback": serde_json::from_str::<serde_json::Value>(&json).ok().and_then(|p| p["fallback"].as_bool()),
            "tombstone": tombstone,
            "signature_bytes": signature_bytes,
            "location": location,
            "province": province,
            "flag": flag,
        }))),
        None if tombstone => Ok(Json(serde_json::json!({ "status": "none", "tombstone": true }))),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such payment")),
    }
}

#[derive(Deserialize)]
pub struct PhoneQuery {
    phone: String,
}

/// Every payment key of the merchant with this phone (cards and payment codes), and its status
/// (`approved`, `declined`, `reversed`, `tombstone` for a key reversed before anything arrived
/// or a QR payment closed unpaid, `user_paying` for one the customer is still confirming).
pub async fn payments_of(St(state): St<Arc<State>>, Query(q): Query<PhoneQuery>) -> ApiResult<Json<serde_json::Value>> {
    let db = state.db();
    let merchant = merchant_by_phone(&db, &q.phone)?;
    let mut out = serde_json::Map::new();
    let mut rows = db.prepare("SELECT key, status FROM payments WHERE merchant_id = ?1")?;
    for row in rows.query_map([&merchant], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (key, status) = row?;
        out.insert(key, serde_json::Value::String(status));
    }
    let mut rows = db.prepare("SELECT key FROM payment_tombstones WHERE merchant_id = ?1")?;
    for key in rows.query_map([&merchant], |r| r.get::<_, String>(0))? {
        out.entry(key?).or_insert_with(|| serde_json::Value::String("tombstone".into()));
    }
    // QR payments by payment code, in the cards' words: paid is approved, failed declined, and
    // closed (ended unpaid, or a key reversed before it arrived) holds nothing, as a tombstone.
    // A void of a QR payment is kept beside it (qr_refunds): voided, as for a card.
    let voided = |table: &str| {
        format!("EXISTS (SELECT 1 FROM qr_refunds r WHERE r.payment_key = {table}.key AND r.kind = 'void')")
    };
    let mut rows = db.prepare(&format!(
        "SELECT key, CASE WHEN {} THEN 'voided' ELSE json_extract(json, '$.status') END
         FROM qr_payments WHERE merchant_id = ?1",
        voided("qr_payments")
    ))?;
    for row in rows.query_map([&merchant], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (key, status) = row?;
        let status = match status.as_str() {
            "paid" => "approved",
            "failed" => "declined",
            "closed" => "tombstone",
            other => other,
        };
        out.insert(key, serde_json::Value::String(status.into()));
    }
    // Dynamic QR orders: paid is approved; closed, expired or paid late and given back hold
    // nothing.
    let mut rows = db.prepare(&format!(
        "SELECT key, CASE WHEN {} THEN 'voided' ELSE json_extract(json, '$.status') END
         FROM qr_orders WHERE merchant_id = ?1",
        voided("qr_orders")
    ))?;
    for row in rows.query_map([&merchant], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (key, status) = row?;
        let status = match status.as_str() {
            "paid" => "approved",
            "closed" | "expired" | "refunded_late" => "tombstone",
            other => other,
        };
        out.insert(key, serde_json::Value::String(status.into()));
    }
    Ok(Json(serde_json::Value::Object(out)))
}

/// Every void and refund of the merchant with this phone: adjustment key to
/// `{payment_key, kind, amount_fen}`, or `"tombstone"` for a key settled as never received.
pub async fn adjustments_of(
    St(state): St<Arc<State>>,
    Query(q): Query<PhoneQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let db = state.db();
    let merchant = merchant_by_phone(&db, &q.phone)?;
    let mut out = serde_json::Map::new();
    let mut rows = db.prepare(
        "SELECT a.key, a.payment_key, a.kind, a.amount_fen FROM adjustments a
         JOIN payments p ON p.key = a.payment_key WHERE p.merchant_id = ?1",
    )?;
    for row in rows.query_map([&merchant], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
    })? {
        let (key, payment_key, kind, amount) = row?;
        out.insert(key, serde_json::json!({ "payment_key": payment_key, "kind": kind, "amount_fen": amount }));
    }
    let mut rows = db.prepare("SELECT key, payment_key, kind, amount_fen FROM qr_refunds WHERE merchant_id = ?1")?;
    for row in rows.query_map([&merchant], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
    })? {
        let (key, payment_key, kind, amount) = row?;
        out.insert(key, serde_json::json!({ "payment_key": payment_key, "kind": kind, "amount_fen": amount }));
    }
    let mut rows = db.prepare("SELECT key FROM adjustment_tombstones WHERE merchant_id = ?1")?;
    for key in rows.query_map([&merchant], |r| r.get::<_, String>(0))? {
        out.entry(key?).or_insert_with(|| serde_json::Value::String("tombstone".into()));
    }
    Ok(Json(serde_json::Value::Object(out)))
}

/// The ledger heads the platform refused for the merchant with `phone` (rewritten or cut
/// ledgers), oldest first: what the platform's risk team would review.
pub async fn ledger_flags(
    St(state): St<Arc<State>>,
    Query(q): Query<PhoneQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let db = state.db();
    let merchant = merchant_by_phone(&db, &q.phone)?;
    let mut rows = db.prepare(
        "SELECT device_id, anchored_entries, claimed_entries, previous_entries, kind FROM ledger_flags
         WHERE merchant_id = ?1 ORDER BY id",
    )?;
    let flags = rows
        .query_map([&merchant], |r| {
            Ok(serde_json::json!({
                "device_id": r.get::<_, String>(0)?,
                "anchored_entries": r.get::<_, Option<i64>>(1)?,
                "claimed_entries": r.get::<_, i64>(2)?,
                "previous_entries": r.get::<_, Option<i64>>(3)?,
                "kind": r.get::<_, String>(4)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut anchors = serde_json::Map::new();
    let mut rows = db.prepare("SELECT device_id, entries FROM ledger_anchors WHERE merchant_id = ?1")?;
    for row in rows.query_map([&merchant], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (device, entries) = row?;
        anchors.insert(device, entries.into());
    }
    Ok(Json(serde_json::json!({ "flags": flags, "anchors": anchors })))
}
