//! Account endpoints: SMS codes, registration, login with device binding and lock-out,
//! refresh, logout, profile.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::OptionalExtension;
use starpos_protocol::util::{fill_random, mask_phone};
use starpos_protocol::validate;
use starpos_protocol::wire::{
    Empty, LoginRequest, MeResponse, RefreshRequest, RegisterRequest, SmsPurposeWire, SmsRequest, SmsResponse,
    TokenResponse,
};

use super::auth::Signed;
use super::auth::{check_password, check_sms, open_session, rotate, MAX_WRONG_PASSWORDS};
use super::error::{ApiError, ApiJson, ApiResult};
use super::records::onboarding::{check_device, check_phone, create_merchant};
use super::state::State;

fn purpose_name(p: SmsPurposeWire) -> &'static str {
    match p {
        SmsPurposeWire::Register => "register",
        SmsPurposeWire::Login => "login",
        SmsPurposeWire::ResetPassword => "reset_password",
    }
}

pub async fn request_sms(St(state): St<Arc<State>>, ApiJson(req): ApiJson<SmsRequest>) -> ApiResult<Json<SmsResponse>> {
    check_phone(&req.phone)?;
    let purpose = purpose_name(req.purpose);
    let now = state.now();
    let db = state.db();
    if req.purpose == SmsPurposeWire::Register {
        let exists: bool =
            db.query_row("SELECT EXISTS(SELECT 1 FROM merchants WHERE phone = ?1)", [&req.phone], |r| r.get(0))?;
        if exists {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "account_exists",
                "an account exists for this phone; log in",
            ));
        }
    }
    if req.purpose == SmsPurposeWire::ResetPassword {
        let exists: bool =
            db.query_row("SELECT EXISTS(SELECT 1 FROM merchants WHERE phone = ?1)", [&req.phone], |r| r.get(0))?;
        if !exists {
            let mut e =
                ApiError::new(StatusCode::NOT_FOUND, "account_not_found", "no account for this phone; register");
            e.body.field = Some("phone".into());
            return Err(e);
        }
    }
    let last: Option<i64> = db
        .query_row("SELECT sent_at FROM sms_codes WHERE phone = ?1 AND purpose = ?2", (&req.phone, purpose), |r| {
            r.get(0)
        })
        .optional()?;
    let resend = state.config.sms_resend_secs as i64;
    if let Some(sent_at) = last {
        if now - sent_at < resend {
            let mut e =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "an SMS code was sent moments ago");
            e.body.retry_after = Some((sent_at + resend - now) as u64);
            return Err(e);
        }
    }
    let mut r = [0u8; 4];
    fill_random(&mut r);
    let code = format!("{:06}", u32::from_le_bytes(r) % 1_000_000);
    db.execute(
        "INSERT OR REPLACE INTO sms_codes (phone, purpose, code, sent_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (&req.phone, purpose, &code, now, now + state.config.sms_ttl_secs as i64),
    )?;
    // The sandbox sends no SMS: the code is in its log and behind GET /dev/sms.
    tracing::info!(phone = %mask_phone(&req.phone), purpose, code = %code, "sandbox SMS code issued");
    Ok(Json(SmsResponse { expires_in: state.config.sms_ttl_secs, resend_after: state.config.sms_resend_secs }))
}

pub async fn register(
    St(state): St<Arc<State>>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    check_phone(&req.phone)?;
    if let Some(why) = validate::password_problem(&req.password, &req.phone) {
        return Err(ApiError::invalid("password_rule", "password", why));
    }
    check_device(&req.device_id)?;
    let mut db = state.db();
    let tx = db.transaction()?;
    let exists: bool =
        tx.query_row("SELECT EXISTS(SELECT 1 FROM merchants WHERE phone = ?1)", [&req.phone], |r| r.get(0))?;
    if exists {
        return Err(ApiError::new(StatusCode::CONFLICT, "account_exists", "an account exists for this phone; log in"));
    }
    if let Err(e) = check_sms(&state, &tx, &req.phone, "register", &req.sms_code) {
        // Keep the counted wrong try although the registration fails.
        tx.commit()?;
        return Err(e);
    }
    let merchant_id = create_merchant(&tx, &state, &req.phone, &req.password, &req.device_id)?;
    let tokens = open_session(&state, &tx, &merchant_id, &req.device_id)?;
    tx.commit()?;
    tracing::info!(merchant = %merchant_id, "merchant registered");
    Ok((StatusCode::CREATED, Json(tokens)))
}

pub async fn login(St(state): St<Arc<State>>, ApiJson(req): ApiJson<LoginRequest>) -> ApiResult<Json<TokenResponse>> {
    check_phone(&req.phone)?;
    check_device(&req.device_id)?;
    let now = state.now();
    let wrong =
        |left: u32| ApiError::unauthorized("invalid_credentials", "phone number or password is wrong").tries_left(left);
    let merchant_id: Option<String> =
        state.db().query_row("SELECT id FROM merchants WHERE phone = ?1", [&req.phone], |r| r.get(0)).optional()?;
    let Some(merchant_id) = merchant_id else {
        // Note: registration's SMS request already tells whether a phone has an account, so
        // this answer does not try to hide it.
        return Err(wrong(MAX_WRONG_PASSWORDS));
    };
    check_password(&state, &merchant_id, &req.password, wrong)?;
    let mut db = state.db();
    let tx = db.transaction()?;
    let bound: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM devices WHERE merchant_id = ?1 AND device_id = ?2)",
        (&merchant_id, &req.device_id),
        |r| r.get(0),
    )?;
    if !bound {
        let Some(code) = &req.sms_code else {
            tx.commit()?;
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "device_verification_required",
                "new device: request an SMS code (purpose login) and log in with it",
            ));
        };
        if let Err(e) = check_sms(&state, &tx, &req.phone, "login", code) {
            // Keep the counted wrong try.
            tx.commit()?;
            return Err(e);
        }
        tx.execute(
            "INSERT INTO devices (merchant_id, device_id, bound_at) VALUES (?1, ?2, ?3)",
            (&merchant_id, &req.device_id, now),
        )?;
        tracing::info!(merchant = %merchant_id, "new device bound");
    }
    tx.execute("UPDATE merchants SET logins = logins + 1 WHERE id = ?1", [&merchant_id])?;
    // One session per device: a new login ends the device's earlier ones (a copy of the old
    // tokens left behind, in a backup or another app, stops working).
    tx.execute(
        "UPDATE sessions SET revoked = 1 WHERE merchant_id = ?1 AND device_id = ?2 AND revoked = 0",
        (&merchant_id, &req.device_id),
    )?;
    let tokens = open_session(&state, &tx, &merchant_id, &req.device_id)?;
    tx.commit()?;
    Ok(Json(tokens))
}

pub async fn refresh(
    St(state): St<Arc<State>>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let mut db = state.db();
    let tx = db.transaction()?;
    let result = rotate(&state, &tx, &req.refresh_token, &req.device_id);
    // Commit even on failure: revoking a family on reuse must stick.
    tx.commit()?;
    result.map(Json)
}

pub async fn logout(St(state): St<Arc<State>>, Signed { caller, .. }: Signed) -> ApiResult<Json<Empty>> {
    state.db().execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", [&caller.session_id])?;
    tracing::info!(merchant = %caller.merchant_id, "logged out");
    Ok(Json(Empty {}))
}

pub async fn me(St(state): St<Arc<State>>, Signed { caller, .. }: Signed) -> ApiResult<Json<MeResponse>> {
    let db = state.db();
    let (phone, created_at): (String, i64) =
        db.query_row("SELECT phone, created_at FROM merchants WHERE id = ?1", [&caller.merchant_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let device_count: u32 =
        db.query_row("SELECT COUNT(*) FROM devices WHERE merchant_id = ?1", [&caller.merchant_id], |r| r.get(0))?;
    Ok(Json(MeResponse {
        merchant_id: caller.merchant_id,
        phone_masked: mask_phone(&phone),
        device_count,
        registered_at: created_at,
    }))
}
