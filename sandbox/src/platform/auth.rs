//! Sessions (token issue, rotation, revocation), SMS code checks and the verification of
//! signed requests.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use rusqlite::{Connection, OptionalExtension};
use starpos_protocol::signing;
use starpos_protocol::util::{fill_random, mask_phone, random_hex};
use starpos_protocol::wire::{self, TokenResponse};

use super::error::{ApiError, ApiResult};
use super::state::{new_token, token_hash, State};

/// Wrong tries after which an SMS code is invalidated.
pub const SMS_MAX_WRONG: u32 = 3;

/// Wrong passwords in a row before the account locks.
pub const MAX_WRONG_PASSWORDS: u32 = 5;
/// The longest lock-out, however many came before.
const MAX_LOCKOUT_SECS: i64 = 24 * 3600;

/// Password salt and hash, locked until, lock-outs so far.
type PasswordRow = (Vec<u8>, Vec<u8>, i64, u32);

/// Creates a session family for a merchant on a device and returns its first tokens.
pub fn open_session(state: &State, db: &Connection, merchant_id: &str, device_id: &str) -> ApiResult<TokenResponse> {
    let now = state.now();
    let mut key = vec![0u8; 32];
    fill_random(&mut key);
    let (access, refresh) = (new_token(), new_token());
    db.execute(
        "INSERT INTO sessions (id, merchant_id, device_id, signing_key, access_hash, access_expires_at,
                               refresh_hash, refresh_expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        (
            random_hex(16),
            merchant_id,
            device_id,
            &key,
            token_hash(&access),
            now + state.config.access_ttl_secs as i64,
            token_hash(&refresh),
            now + state.config.refresh_ttl_secs as i64,
            now,
        ),
    )?;
    used(db, merchant_id, device_id, now)?;
    tokens(state, db, merchant_id, access, refresh, &key)
}

/// Notes a login or refresh from the device (the device list shows its last use).
fn used(db: &Connection, merchant_id: &str, device_id: &str, now: i64) -> ApiResult<()> {
    db.execute(
        "UPDATE devices SET last_used_at = ?3 WHERE merchant_id = ?1 AND device_id = ?2",
        (merchant_id, device_id, now),
    )?;
    Ok(())
}

fn tokens(
    state: &State,
    db: &Connection,
    merchant_id: &str,
    access: String,
    refresh: String,
    key: &[u8],
) -> ApiResult<TokenResponse> {
    let phone: String = db.query_row("SELECT phone FROM merchants WHERE id = ?1", [merchant_id], |r| r.get(0))?;
    Ok(TokenResponse {
        merchant_id: merchant_id.into(),
        phone_masked: mask_phone(&phone),
        access_token: access,
        access_expires_in: state.config.access_ttl_secs,
        refresh_token: refresh,
        signing_key: base64::engine::general_purpose::STANDARD.encode(key),
    })
}

/// Rotates a refresh token. A token already rotated out means it was copied: the whole family
/// is revoked, and both holders must log in again.
pub fn rotate(state: &State, db: &Connection, refresh_token: &str, device_id: &str) -> ApiResult<TokenResponse> {
    let now = state.now();
    let hash = token_hash(refresh_token);
    let reused: Option<String> =
        db.query_row("SELECT session_id FROM rotated_refresh WHERE hash = ?1", [&hash], |r| r.get(0)).optional()?;
    if let Some(session_id) = reused {
        db.execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", [&session_id])?;
        tracing::warn!(session = %session_id, "rotated refresh token presented again; family revoked");
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used; log in again",
        ));
    }
    let row: Option<(String, String, String, Vec<u8>, i64, bool)> = db
        .query_row(
            "SELECT id, merchant_id, device_id, signing_key, refresh_expires_at, revoked FROM sessions WHERE refresh_hash = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((id, merchant_id, bound_device, key, refresh_expires_at, revoked)) = row else {
        return Err(ApiError::unauthorized("unauthorized", "unknown refresh token; log in again"));
    };
    if revoked {
        return Err(ApiError::unauthorized("session_revoked", "the session was ended; log in again"));
    }
    if bound_device != device_id {
        return Err(ApiError::unauthorized("unauthorized", "refresh token belongs to another device"));
    }
    if refresh_expires_at <= now {
        return Err(ApiError::unauthorized("session_expired", "the session expired; log in again"));
    }
    let (access, refresh) = (new_token(), new_token());
    db.execute("INSERT INTO rotated_refresh (hash, session_id) VALUES (?1, ?2)", (&hash, &id))?;
    db.execute(
        "UPDATE sessions SET access_hash = ?1, access_expires_at = ?2, refresh_hash = ?3, refresh_expires_at = ?4,
                             refreshes = refreshes + 1 WHERE id = ?5",
        (
            token_hash(&access),
            now + state.config.access_ttl_secs as i64,
            token_hash(&refresh),
            now + state.config.refresh_ttl_secs as i64,
            &id,
        ),
    )?;
    used(db, &merchant_id, &bound_device, now)?;
    tokens(state, db, &merchant_id, access, refresh, &key)
}

/// Who sent a verified signed request.
pub struct Caller {
    pub merchant_id: String,
    pub session_id: String,
}

/// The largest request body the sandbox reads.
const MAX_BODY: usize = 64 * 1024;

/// A request whose signature verified: who sent it, and its body (covered by the signature).
/// As an extractor it refuses anything unsigned before the handler runs.
pub struct Signed {
    pub caller: Caller,
    pub body: axum::body::Bytes,
}

impl axum::extract::FromRequest<std::sync::Arc<State>> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &std::sync::Arc<State>) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| ApiError::invalid("invalid_request", "body", "request body unreadable or too large"))?;
        let caller = verify_signed(state, &parts.method, &parts.uri, &parts.headers, &body)?;
        Ok(Signed { caller, body })
    }
}

/// Verifies a signed request: a live access token, a fresh timestamp, a nonce not seen before
/// and a valid HMAC over the request (see `starpos_protocol::signing`).
pub fn verify_signed(state: &State, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> ApiResult<Caller> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let token = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
        .ok_or_else(|| ApiError::unauthorized("unauthorized", "missing bearer token"))?;
    let now = state.now();
    let db = state.db();
    let row: Option<(String, String, Vec<u8>, i64, bool)> = db
        .query_row(
            "SELECT id, merchant_id, signing_key, access_expires_at, revoked FROM sessions WHERE access_hash = ?1",
            [token_hash(&token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((session_id, merchant_id, key, expires_at, revoked)) = row else {
        return Err(ApiError::unauthorized("unauthorized", "unknown access token"));
    };
    if revoked {
        return Err(ApiError::unauthorized("session_revoked", "the session was ended; log in again"));
    }
    if expires_at <= now {
        return Err(ApiError::unauthorized("access_token_expired", "access token expired; refresh it"));
    }
    let timestamp: i64 = header(wire::HEADER_TIMESTAMP)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| ApiError::unauthorized("signature_invalid", "missing timestamp"))?;
    if (now - timestamp).abs() > signing::MAX_SKEW_SECS {
        return Err(ApiError::unauthorized("timestamp_stale", "request timestamp too far from platform time"));
    }
    let nonce = header(wire::HEADER_NONCE)
        .filter(|n| (16..=64).contains(&n.len()))
        .ok_or_else(|| ApiError::unauthorized("signature_invalid", "missing or malformed nonce"))?;
    let signature = header(wire::HEADER_SIGNATURE).unwrap_or_default();
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if !signing::verify(&key, method.as_str(), path_and_query, timestamp, &nonce, body, &signature) {
        return Err(ApiError::unauthorized("signature_invalid", "request signature does not match"));
    }
    db.execute("DELETE FROM nonces WHERE seen_at < ?1", [now - 2 * signing::MAX_SKEW_SECS])?;
    let fresh = db.execute(
        "INSERT OR IGNORE INTO nonces (session_id, nonce, seen_at) VALUES (?1, ?2, ?3)",
        (&session_id, &nonce, now),
    )?;
    if fresh == 0 {
        return Err(ApiError::unauthorized("nonce_replayed", "this request was already received"));
    }
    Ok(Caller { merchant_id, session_id })
}

/// Checks and consumes an SMS code. Three wrong tries invalidate it.
pub fn check_sms(state: &State, db: &Connection, phone: &str, purpose: &str, code: &str) -> ApiResult<()> {
    let now = state.now();
    let row: Option<(String, i64, u32, bool)> = db
        .query_row(
            "SELECT code, expires_at, wrong_tries, used FROM sms_codes WHERE phone = ?1 AND purpose = ?2",
            (phone, purpose),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let expired = || ApiError::invalid("sms_code_expired", "sms_code", "no valid SMS code; request a new one");
    let Some((expected, expires_at, wrong, used)) = row else {
        return Err(expired());
    };
    if used || expires_at <= now || wrong >= SMS_MAX_WRONG {
        return Err(expired());
    }
    let matches =
        expected.len() == code.len() && expected.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !matches {
        let wrong = wrong + 1;
        db.execute("UPDATE sms_codes SET wrong_tries = ?1 WHERE phone = ?2 AND purpose = ?3", (wrong, phone, purpose))?;
        if wrong >= SMS_MAX_WRONG {
            return Err(ApiError::invalid("sms_code_expired", "sms_code", "too many wrong tries; request a new code"));
        }
        return Err(
            ApiError::invalid("sms_code_invalid", "sms_code", "wrong SMS code").tries_left(SMS_MAX_WRONG - wrong)
        );
    }
    db.execute("UPDATE sms_codes SET used = 1 WHERE phone = ?1 AND purpose = ?2", (phone, purpose))?;
    Ok(())
}

pub fn locked(until: i64, now: i64) -> ApiError {
    let mut e = ApiError::new(StatusCode::LOCKED, "account_locked", "too many wrong passwords; try again later");
    e.body.locked_until = Some(until);
    e.body.retry_after = Some((until - now).max(0) as u64);
    e
}

/// Checks the account's password, for a login or a step-up (void, refund, unbinding a card,
/// raising a limit): while the account is locked every password is refused, and each wrong one
/// counts toward the lock-out whatever asked, so a stolen session cannot guess the password
/// through step-ups five at a time. `wrong` builds the refusal from the tries left.
pub fn check_password(
    state: &State,
    merchant_id: &str,
    password: &str,
    wrong: impl Fn(u32) -> ApiError,
) -> ApiResult<()> {
    let now = state.now();
    // One transaction under the database lock from the lock-out check to the counters' update:
    // concurrent wrong guesses cannot slip past a lock-out or read a stale back-off.
    let mut db = state.db();
    let tx = db.transaction()?;
    let (salt, hash, locked_until, lockouts): PasswordRow = tx.query_row(
        "SELECT pw_salt, pw_hash, locked_until, lockouts FROM merchants WHERE id = ?1",
        [merchant_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if locked_until > now {
        return Err(locked(locked_until, now));
    }
    if state.password_matches(&salt, &hash, password) {
        tx.execute("UPDATE merchants SET failed_logins = 0, lockouts = 0 WHERE id = ?1", [merchant_id])?;
        tx.commit()?;
        return Ok(());
    }
    let failed: u32 = tx.query_row(
        "UPDATE merchants SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
        [merchant_id],
        |r| r.get(0),
    )?;
    if failed >= MAX_WRONG_PASSWORDS {
        let secs = (state.config.lockout_base_secs as i64).saturating_mul(1 << lockouts.min(16)).min(MAX_LOCKOUT_SECS);
        let until = now + secs;
        tx.execute(
            "UPDATE merchants SET failed_logins = 0, lockouts = lockouts + 1, locked_until = ?1 WHERE id = ?2",
            (until, merchant_id),
        )?;
        tx.commit()?;
        tracing::warn!(merchant = %merchant_id, secs, "account locked after wrong passwords");
        return Err(locked(until, now));
    }
    tx.commit()?;
    Err(wrong(MAX_WRONG_PASSWORDS - failed))
}

/// The refusal of a wrong step-up password, saying what stayed as it was and how many tries
/// are left before the account locks.
pub fn step_up_failed(unchanged: &'static str) -> impl Fn(u32) -> ApiError {
    move |left| {
        ApiError::unauthorized(
            "step_up_failed",
            format!("the password is wrong; {unchanged} ({left} tries left before the account locks)"),
        )
        .tries_left(left)
    }
}
