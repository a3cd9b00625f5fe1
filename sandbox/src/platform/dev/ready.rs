//! `POST /dev/merchants/ready`: a merchant ready to sell in one call — registered with the
//! caller's device bound, real-name details accepted and the bank registry's first card bound
//! for settlement. It replaces the hand-written onboarding every test suite repeated (Rust,
//! Python, Kotlin); the onboarding flow itself keeps its own tests. The phone then logs in
//! with the password as any merchant would.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use starpos_protocol::checks::check_bank_card;
use starpos_protocol::validate;

use crate::platform::error::{ApiError, ApiJson, ApiResult};
use crate::platform::records::onboarding::{
    add_card, check_device, check_phone, create_merchant, hash, set_real_name, BoundCard, RealName, BANK_REGISTRY,
};
use crate::platform::state::State;

/// The merchant name every ready merchant trades under.
pub const READY_MERCHANT_NAME: &str = "星标测试店";

#[derive(Deserialize)]
pub struct ReadyRequest {
    phone: String,
    password: String,
    device_id: String,
}

#[derive(Serialize)]
pub struct ReadyMerchant {
    merchant_id: String,
    settlement_card: String,
}

pub async fn ready_merchant(
    St(state): St<Arc<State>>,
    ApiJson(req): ApiJson<ReadyRequest>,
) -> ApiResult<(StatusCode, Json<ReadyMerchant>)> {
    if let Some(why) = validate::password_problem(&req.password, &req.phone) {
        return Err(ApiError::invalid("password_rule", "password", why));
    }
    check_phone(&req.phone)?;
    check_device(&req.device_id)?;
    let registry = &BANK_REGISTRY[0];
    let card = check_bank_card(registry.card_number);
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let merchant_id = create_merchant(&tx, &state, &req.phone, &req.password, &req.device_id)?;
    let name = RealName {
        holder_name: registry.holder_name,
        id_number: registry.id_number,
        merchant_name: READY_MERCHANT_NAME,
        credit_code: None,
    };
    set_real_name(&tx, &merchant_id, &name)?;
    let bound = BoundCard {
        card_hash: &hash(registry.card_number),
        masked: &card.masked,
        issuer_bank: card.issuer_bank.as_deref(),
        card_kind: card.card_kind.as_str(),
    };
    add_card(&tx, &merchant_id, &bound, true, now)?;
    tx.commit()?;
    tracing::info!(merchant = %merchant_id, "sandbox merchant made ready to sell");
    Ok((StatusCode::CREATED, Json(ReadyMerchant { merchant_id, settlement_card: card.masked })))
}
