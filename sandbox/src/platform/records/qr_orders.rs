//! Dynamic QR orders as stored (the order handlers and the dev knob where the "customer" pays
//! both read and write them).

use axum::http::StatusCode;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::wire::QrOrderWire;

use crate::platform::error::{ApiError, ApiResult};

/// The globally unique identifier of the sandbox platform's merchant account template (26) in
/// the payloads it makes: what a wallet routes the payment by.
pub const GUID: &str = "com.starpos.sandbox";

/// Moves an open order past its expiry to `expired`.
fn advance(order: &mut QrOrderWire, now: i64) {
    if order.status == "open" && now >= order.expires_at {
        order.status = "expired".into();
    }
}

/// The order under `key` as it stands now (moved on and stored), with the hash of the request
/// that made it.
pub fn load(
    tx: &Transaction<'_>,
    now: i64,
    merchant_id: Option<&str>,
    key: &str,
) -> ApiResult<Option<(QrOrderWire, String)>> {
    let row: Option<(String, String, String)> = tx
        .query_row("SELECT merchant_id, request_hash, json FROM qr_orders WHERE key = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((owner, hash, json)) = row else { return Ok(None) };
    if merchant_id.is_some_and(|m| m != owner) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this key belongs to another merchant",
        ));
    }
    let mut order: QrOrderWire = serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
    let before = order.clone();
    advance(&mut order, now);
    if order != before {
        store(tx, &order)?;
    }
    Ok(Some((order, hash)))
}

pub fn store(tx: &Transaction<'_>, order: &QrOrderWire) -> ApiResult<()> {
    let json = serde_json::to_string(order).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute("UPDATE qr_orders SET json = ?2 WHERE key = ?1", (&order.idempotency_key, json))?;
    Ok(())
}
