//! What a void or refund request goes through before its payment is looked at, for a card or a
//! QR payment alike: a readable body with a well-formed key, the account password, and a key not
//! given up earlier.

use axum::http::StatusCode;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::wire::AdjustmentRequest;

use super::key_ok;
use crate::platform::auth::{check_password, step_up_failed};
use crate::platform::error::{body, ApiError, ApiResult};
use crate::platform::state::State;

/// The request, once its key is well formed and the password (the step-up) is right.
pub fn read_request(state: &State, merchant_id: &str, bytes: &[u8]) -> ApiResult<AdjustmentRequest> {
    let req: AdjustmentRequest = body(bytes)?;
    if !key_ok(&req.adjustment_key) {
        return Err(ApiError::invalid("invalid_request", "adjustment_key", "16 to 64 letters, digits or hyphens"));
    }
    check_password(state, merchant_id, &req.password, step_up_failed("nothing was changed"))?;
    Ok(req)
}

/// Refuses a key given up through `settle` after its answer was lost: it never applies later.
pub fn check_not_abandoned(tx: &Transaction<'_>, adjustment_key: &str) -> ApiResult<()> {
    let abandoned = tx
        .query_row("SELECT 1 FROM adjustment_tombstones WHERE key = ?1", [adjustment_key], |_| Ok(()))
        .optional()?
        .is_some();
    if abandoned {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "adjustment_abandoned",
            "this request was given up after its answer was lost; start the void or refund again",
        ));
    }
    Ok(())
}
