//! Development knobs on history: a sale "on another device" (reaches a phone only by sync) and
//! a settlement that pays short (for reconciliation).

use std::sync::Arc;

use axum::extract::State as St;
use axum::Json;
use serde::Deserialize;
use starpos_protocol::wire::PaymentWire;

use super::merchant_by_phone;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::records::feed::sale_in;
use crate::platform::state::State;

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
    let merchant = merchant_by_phone(&db, &req.phone)?;
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
    let merchant = merchant_by_phone(&tx, &req.phone)?;
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
        fallback: false,
        receipt_token: None,
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
