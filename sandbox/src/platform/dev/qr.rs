//! The "customer" of a dynamic merchant QR: their wallet scans the payload the phone showed and
//! pays it. Late, after the merchant closed the order or it expired, the wallet still debits and
//! the platform gives the money back (`refunded_late`).

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::OptionalExtension;
use serde::Deserialize;
use starpos_protocol::qr::mpm;
use starpos_protocol::qr::payment_code::Wallet;
use starpos_protocol::util::random_hex;
use starpos_protocol::wire::QrOrderWire;

use crate::platform::error::{ApiError, ApiJson, ApiResult};
use crate::platform::records::feed;
use crate::platform::records::qr_orders::{load, store, GUID};
use crate::platform::state::State;

#[derive(Deserialize)]
pub struct Scan {
    payload: String,
    wallet: String,
}

pub async fn customer_scans(St(state): St<Arc<State>>, ApiJson(scan): ApiJson<Scan>) -> ApiResult<Json<QrOrderWire>> {
    let wallet = Wallet::parse(&scan.wallet)
        .ok_or_else(|| ApiError::invalid("invalid_request", "wallet", "wechat, alipay or unionpay"))?;
    // The wallet reads the code as any wallet would: a bad CRC or field is not paid.
    let qr = mpm::decode(&scan.payload).map_err(|e| ApiError::invalid("invalid_request", "payload", e.to_string()))?;
    let order_id = qr
        .accounts
        .iter()
        .find(|a| a.guid.as_deref() == Some(GUID))
        .and_then(|a| a.fields.iter().find(|f| f.id == "02"))
        .map(|f| f.value.clone())
        .ok_or_else(|| ApiError::invalid("invalid_request", "payload", "not a StarPOS sandbox order"))?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let key: Option<String> =
        tx.query_row("SELECT key FROM qr_orders WHERE order_id = ?1", [&order_id], |r| r.get(0)).optional()?;
    let key = key.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no order with this id"))?;
    let (mut order, _) = load(&tx, now, None, &key)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no order with this id"))?;
    if qr.amount_fen != Some(order.amount_fen as u64) {
        return Err(ApiError::new(StatusCode::CONFLICT, "amount_mismatch", "the code's amount is not the order's"));
    }
    let debit = |order: &mut QrOrderWire, status: &str| {
        order.status = status.into();
        order.paid_at = Some(now);
        order.wallet = Some(wallet.as_str().into());
        order.wallet_txn = Some(format!("{now}{}", random_hex(6)));
    };
    match order.status.as_str() {
        "open" => debit(&mut order, "paid"),
        "closed" | "expired" => debit(&mut order, "refunded_late"),
        // Paid already (or refunded): a wallet does not pay one order twice.
        _ => return Err(ApiError::new(StatusCode::CONFLICT, "order_paid", "this order was paid already")),
    }
    store(&tx, &order)?;
    if order.status == "paid" {
        let merchant: String =
            tx.query_row("SELECT merchant_id FROM qr_orders WHERE key = ?1", [&key], |r| r.get(0))?;
        feed::qr_order_paid_in(&tx, &merchant, &order)?;
    }
    tx.commit()?;
    Ok(Json(order))
}
