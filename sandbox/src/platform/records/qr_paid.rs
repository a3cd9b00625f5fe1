//! A paid QR payment (by payment code) or order (a shown QR) as the refund rules read it: both
//! tables, one shape.

use axum::http::StatusCode;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::qr::payment_code::Wallet;

use crate::platform::error::{ApiError, ApiResult};

/// The paid QR payment or order under `key` of this merchant, as the refund rules need it.
pub struct Paid {
    pub key: String,
    pub wallet: Wallet,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub paid_at: i64,
    pub wallet_txn: Option<String>,
}

pub fn paid_record(tx: &Transaction<'_>, merchant_id: &str, key: &str) -> ApiResult<Paid> {
    let json: Option<String> = tx
        .query_row(
            "SELECT json FROM qr_payments WHERE key = ?1 AND merchant_id = ?2
             UNION ALL SELECT json FROM qr_orders WHERE key = ?1 AND merchant_id = ?2",
            (key, merchant_id),
            |r| r.get(0),
        )
        .optional()?;
    let json =
        json.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no QR payment with this key"))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
    if v["status"] != "paid" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_adjustable",
            format!(
                "the payment is {}; only a paid one can be voided or refunded",
                v["status"].as_str().unwrap_or("?")
            ),
        ));
    }
    let wallet = v["wallet"]
        .as_str()
        .and_then(Wallet::parse)
        .ok_or_else(|| ApiError::internal("a paid QR payment without its wallet"))?;
    Ok(Paid {
        key: key.into(),
        wallet,
        amount_fen: v["amount_fen"].as_i64().unwrap_or(0),
        fee_fen: v["fee_fen"].as_i64().unwrap_or(0),
        paid_at: v["paid_at"].as_i64().unwrap_or(0),
        wallet_txn: v["wallet_txn"].as_str().map(Into::into),
    })
}
