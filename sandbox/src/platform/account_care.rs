//! Account care (issue #16 item 7): changing the password (the old one as the step-up),
//! resetting a forgotten one with an SMS code to the account's phone, the list of bound devices
//! with their last use, and unbinding one (step-up). A changed or reset password ends the
//! account's other sessions; an unbound device's sessions end and its next login needs an SMS
//! code again.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::OptionalExtension;
use starpos_protocol::validate;
use starpos_protocol::wire::{
    ChangePasswordRequest, DeviceWire, DevicesWire, Empty, ResetPasswordRequest, UnbindDeviceRequest,
};

use super::auth::{check_password, check_sms, step_up_failed, Signed};
use super::error::{body, ApiError, ApiJson, ApiResult};
use super::records::onboarding::{check_device, check_phone};
use super::state::State;

fn phone_of(db: &rusqlite::Connection, merchant_id: &str) -> ApiResult<String> {
    Ok(db.query_row("SELECT phone FROM merchants WHERE id = ?1", [merchant_id], |r| r.get(0))?)
}

fn device_of(db: &rusqlite::Connection, session_id: &str) -> ApiResult<String> {
    Ok(db.query_row("SELECT device_id FROM sessions WHERE id = ?1", [session_id], |r| r.get(0))?)
}

fn new_password_ok(password: &str, phone: &str) -> ApiResult<()> {
    match validate::password_problem(password, phone) {
        Some(why) => Err(ApiError::invalid("password_rule", "new_password", why)),
        None => Ok(()),
    }
}

pub async fn change_password(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<Empty>> {
    let req: ChangePasswordRequest = body(&bytes)?;
    let phone = phone_of(&state.db(), &caller.merchant_id)?;
    new_password_ok(&req.new_password, &phone)?;
    if req.new_password == req.old_password {
        return Err(ApiError::invalid("password_rule", "new_password", "the new password is the old one"));
    }
    check_password(&state, &caller.merchant_id, &req.old_password, step_up_failed("the password was not changed"))?;
    let (salt, hash) = state.hash_password(&req.new_password);
    let mut db = state.db();
    let tx = db.transaction()?;
    tx.execute("UPDATE merchants SET pw_salt = ?1, pw_hash = ?2 WHERE id = ?3", (salt, hash, &caller.merchant_id))?;
    // Whoever knew the old password may hold a session elsewhere: only this one stays.
    let ended = tx.execute(
        "UPDATE sessions SET revoked = 1 WHERE merchant_id = ?1 AND id != ?2 AND revoked = 0",
        (&caller.merchant_id, &caller.session_id),
    )?;
    tx.commit()?;
    tracing::info!(merchant = %caller.merchant_id, ended, "password changed; other sessions ended");
    Ok(Json(Empty {}))
}

pub async fn reset_password(
    St(state): St<Arc<State>>,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> ApiResult<Json<Empty>> {
    check_phone(&req.phone)?;
    check_device(&req.device_id)?;
    new_password_ok(&req.new_password, &req.phone)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let merchant_id: Option<String> =
        tx.query_row("SELECT id FROM merchants WHERE phone = ?1", [&req.phone], |r| r.get(0)).optional()?;
    // No account: the code cannot have been sent, so the answer is a wrong code's.
    let Some(merchant_id) = merchant_id else {
        return Err(ApiError::invalid("sms_code_expired", "sms_code", "no valid SMS code; request a new one"));
    };
    if let Err(e) = check_sms(&state, &tx, &req.phone, "reset_password", &req.sms_code) {
        tx.commit()?; // the wrong try counts
        return Err(e);
    }
    let (salt, hash) = state.hash_password(&req.new_password);
    // The SMS code proves the phone: the lock-out ends with the old password.
    tx.execute(
        "UPDATE merchants SET pw_salt = ?1, pw_hash = ?2, failed_logins = 0, lockouts = 0, locked_until = 0 WHERE id = ?3",
        (salt, hash, &merchant_id),
    )?;
    let ended = tx.execute("UPDATE sessions SET revoked = 1 WHERE merchant_id = ?1 AND revoked = 0", [&merchant_id])?;
    tx.execute(
        "INSERT OR IGNORE INTO devices (merchant_id, device_id, bound_at) VALUES (?1, ?2, ?3)",
        (&merchant_id, &req.device_id, now),
    )?;
    tx.commit()?;
    tracing::info!(merchant = %merchant_id, ended, "password reset by SMS; every session ended");
    Ok(Json(Empty {}))
}

pub async fn devices(St(state): St<Arc<State>>, Signed { caller, .. }: Signed) -> ApiResult<Json<DevicesWire>> {
    let db = state.db();
    let this = device_of(&db, &caller.session_id)?;
    let mut q = db.prepare(
        "SELECT device_id, bound_at, last_used_at FROM devices WHERE merchant_id = ?1
         ORDER BY COALESCE(last_used_at, bound_at) DESC, device_id",
    )?;
    let devices = q
        .query_map([&caller.merchant_id], |r| {
            let device_id: String = r.get(0)?;
            Ok(DeviceWire { this_device: device_id == this, device_id, bound_at: r.get(1)?, last_used_at: r.get(2)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(DevicesWire { devices }))
}

pub async fn unbind_device(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<Empty>> {
    let req: UnbindDeviceRequest = body(&bytes)?;
    let this = device_of(&state.db(), &caller.session_id)?;
    if req.device_id == this {
        return Err(ApiError::invalid("this_device", "device_id", "this is the device asking: log out instead"));
    }
    let bound: bool = state.db().query_row(
        "SELECT EXISTS(SELECT 1 FROM devices WHERE merchant_id = ?1 AND device_id = ?2)",
        (&caller.merchant_id, &req.device_id),
        |r| r.get(0),
    )?;
    if !bound {
        let mut e = ApiError::new(StatusCode::NOT_FOUND, "device_not_found", "no device with this id is bound");
        e.body.field = Some("device_id".into());
        return Err(e);
    }
    check_password(&state, &caller.merchant_id, &req.password, step_up_failed("the device stays bound"))?;
    let mut db = state.db();
    let tx = db.transaction()?;
    let ended = tx.execute(
        "UPDATE sessions SET revoked = 1 WHERE merchant_id = ?1 AND device_id = ?2 AND revoked = 0",
        (&caller.merchant_id, &req.device_id),
    )?;
    tx.execute("DELETE FROM devices WHERE merchant_id = ?1 AND device_id = ?2", (&caller.merchant_id, &req.device_id))?;
    tx.commit()?;
    tracing::info!(merchant = %caller.merchant_id, ended, "device unbound");
    Ok(Json(Empty {}))
}
