//! Dynamic merchant QR orders (C scans B, docs/qr.md): the platform makes the EMVCo payload the
//! phone shows (dynamic, with the amount, the merchant and the order in account template 26),
//! the phone polls the order, and closes it when the merchant cancels. A payment that arrives
//! after the close, or after the order expired, is given back (`refunded_late`): never lost and
//! never silently kept. In the sandbox the "customer" pays through `/dev/qr/scan`.

use std::sync::Arc;

use axum::extract::{Path, State as St};
use axum::http::StatusCode;
use axum::Json;
use starpos_protocol::fees::{self, SettlementCycle};
use starpos_protocol::qr::mpm::{self, DataObject, Initiation, MerchantAccount, MerchantQrInput, CNY};
use starpos_protocol::util::random_hex;
use starpos_protocol::wire::{QrOrderRequest, QrOrderWire};

use super::auth::Signed;
use super::error::{body, ApiError, ApiResult};
use super::faults::injected_5xx;
use super::records::card_checks;
use super::records::cross_province::check_payment;
use super::records::key_ok;
use super::records::profile::{fee_schedule, profile_of};
use super::records::qr_orders::{load, store, GUID};
use super::records::receipts;
use super::state::State;

const DEFAULT_EXPIRY_SECS: i64 = 300;

pub async fn create(St(state): St<Arc<State>>, Signed { caller, body: bytes }: Signed) -> ApiResult<Json<QrOrderWire>> {
    injected_5xx(&state)?;
    let req: QrOrderRequest = body(&bytes)?;
    if !key_ok(&req.idempotency_key) {
        return Err(ApiError::invalid("invalid_request", "idempotency_key", "16 to 64 letters, digits or hyphens"));
    }
    if req.amount_fen <= 0 || req.amount_fen > 999_999_999_999 {
        return Err(ApiError::invalid("invalid_request", "amount_fen", "a positive amount in fen"));
    }
    let expires_in = req.expires_in_secs.unwrap_or(DEFAULT_EXPIRY_SECS);
    if !(60..=7_200).contains(&expires_in) {
        return Err(ApiError::invalid("invalid_request", "expires_in_secs", "60 to 7,200 seconds"));
    }
    let profile = profile_of(&state, &caller.merchant_id)?;
    let request_hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    if let Some((order, hash)) = load(&tx, now, Some(&caller.merchant_id), &req.idempotency_key)? {
        if hash != request_hash {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this key was used for another order",
            ));
        }
        tx.commit()?;
        return Ok(Json(order));
    }
    // The merchant's rules, as for a card: room under the limits over every channel and
    // device, and where the sale is made. A refused order leaves no record.
    card_checks::check_limits(&tx, &caller.merchant_id, &profile.limits, req.amount_fen, None, now)?;
    check_payment(&tx, &caller.merchant_id, req.location.as_ref(), now, state.config.cross_province_review_secs)?;
    let cycle = SettlementCycle::parse(&profile.settlement_cycle).unwrap_or(SettlementCycle::T1);
    let (fee_fen, net_fen) = fees::quote(&fee_schedule(), "qr", "any", cycle, req.amount_fen)
        .map_or((0, req.amount_fen), |q| (q.fee_fen, q.net_fen));
    let order_id = format!("ord{}", random_hex(10));
    let city = starpos_protocol::provinces::province(&profile.registered_province).map_or("中国".into(), |p| p.name);
    let payload = mpm::encode(&MerchantQrInput {
        initiation: Initiation::Dynamic,
        accounts: vec![MerchantAccount {
            id: "26".into(),
            guid: Some(GUID.into()),
            value: String::new(),
            fields: vec![DataObject::new("01", &caller.merchant_id), DataObject::new("02", &order_id)],
        }],
        category_code: "5411".into(),
        currency: CNY,
        amount_fen: Some(req.amount_fen as u64),
        country: "CN".into(),
        name: profile.merchant_name.chars().take(25).collect(),
        city: city.chars().take(15).collect(),
        additional: vec![DataObject::new("05", &order_id), DataObject::new("07", &profile.terminal_id)],
        alternate_language: vec![],
    })
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let order = QrOrderWire {
        idempotency_key: req.idempotency_key.clone(),
        order_id: order_id.clone(),
        amount_fen: req.amount_fen,
        payload,
        status: "open".into(),
        created_at: now,
        expires_at: now + expires_in,
        paid_at: None,
        wallet: None,
        wallet_txn: None,
        fee_fen,
        net_fen,
        receipt_token: Some(receipts::issue(&tx, &caller.merchant_id, &req.idempotency_key, now)?),
    };
    let json = serde_json::to_string(&order).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute(
        "INSERT INTO qr_orders (key, merchant_id, order_id, request_hash, json) VALUES (?1, ?2, ?3, ?4, ?5)",
        (&req.idempotency_key, &caller.merchant_id, &order_id, &request_hash, json),
    )?;
    tx.commit()?;
    Ok(Json(order))
}

pub async fn get(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, .. }: Signed,
) -> ApiResult<Json<QrOrderWire>> {
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let found = load(&tx, now, Some(&caller.merchant_id), &key)?;
    tx.commit()?;
    found
        .map(|(order, _)| Json(order))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no QR order with this key"))
}

/// Closes an open order (the merchant cancelled). An order already paid stays paid: the close
/// answers it as it is, so the phone keeps the payment rather than losing it.
pub async fn close(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, .. }: Signed,
) -> ApiResult<Json<QrOrderWire>> {
    injected_5xx(&state)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let (mut order, _) = load(&tx, now, Some(&caller.merchant_id), &key)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no QR order with this key"))?;
    if order.status == "open" {
        order.status = "closed".into();
        store(&tx, &order)?;
    }
    tx.commit()?;
    Ok(Json(order))
}
