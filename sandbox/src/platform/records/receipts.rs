//! E-receipt tokens: each payment that can have a receipt gets one unguessable token (128
//! random bits) when the platform first records it, and the public page `/r/{token}` finds the
//! payment by it. The payment's key never appears in the URL a customer holds.

use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::util::random_hex;

use crate::platform::error::ApiResult;

/// The receipt token of the payment under `key`, made on first use.
pub fn issue(tx: &Transaction<'_>, merchant_id: &str, key: &str, now: i64) -> ApiResult<String> {
    tx.execute(
        "INSERT OR IGNORE INTO receipts (token, merchant_id, payment_key, created_at) VALUES (?1, ?2, ?3, ?4)",
        (random_hex(16), merchant_id, key, now),
    )?;
    Ok(tx.query_row("SELECT token FROM receipts WHERE payment_key = ?1", [key], |r| r.get(0))?)
}

/// The merchant and payment key behind a token; `None` for a token never issued (or not of
/// the shape issued ones have, which is not looked up at all).
pub fn find(tx: &Transaction<'_>, token: &str) -> ApiResult<Option<(String, String)>> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Ok(None);
    }
    Ok(tx
        .query_row("SELECT merchant_id, payment_key FROM receipts WHERE token = ?1", [token], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}
