//! `POST /dev/cross-province`: a merchant's location policy, the next review's verdict, the
//! review time and the registered province.

use std::sync::Arc;

use axum::extract::State as St;
use axum::Json;
use serde::Deserialize;
use starpos_protocol::cross_province::LocationPolicy;
use starpos_protocol::provinces::is_province_code;

use super::merchant_by_phone;
use crate::platform::error::{ApiError, ApiJson, ApiResult};
use crate::platform::state::State;

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
    let id = merchant_by_phone(&db, &b.phone)?;
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
