//! Card payments: online authorisation with idempotency keys, status by key, and reversals.
//! The sandbox holds the test BDK, opens the reader's blobs, and plays the issuers of the test
//! cards (docs/test-cards.md). Fault knobs (`/dev/faults`) make it fail the ways networks do.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State as St};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::calendar::business_day;
use starpos_protocol::checks::check_bank_card;
use starpos_protocol::fees::{self, SettlementCycle};
use starpos_protocol::reader::card::pin_required;
use starpos_protocol::reader::tlv::{self, Tag};
use starpos_protocol::signature::Signature;
use starpos_protocol::util::random_hex;
use starpos_protocol::wire::{
    AdjustmentSettled, AuthorizeRequest, PaymentWire, ReverseRequest, ReverseResponse, SignatureUpload,
};

use super::auth::Signed;
use super::error::{body, ApiError, ApiResult};
use super::faults::injected_5xx;
use super::records::adjustments;
use super::records::card_checks::{self, CardData};
use super::records::cross_province::check_payment;
use super::records::feed::{adjustment_in, reversal_in, sale_in};
use super::records::key_ok;
use super::records::profile::{fee_schedule, profile_of};
use super::records::receipts;
use super::state::State;
use crate::test_cards::{test_card_by_pan, Outcome};

pub async fn authorize(St(state): St<Arc<State>>, Signed { caller, body: bytes }: Signed) -> ApiResult<Response> {
    injected_5xx(&state)?;
    let delay = state.payment_faults().delay_ms;
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let req: AuthorizeRequest = body(&bytes)?;
    if !key_ok(&req.idempotency_key) {
        return Err(ApiError::invalid("invalid_request", "idempotency_key", "16 to 64 letters, digits or hyphens"));
    }
    if req.amount_fen <= 0 || req.amount_fen > 999_999_999_999 {
        return Err(ApiError::invalid("invalid_request", "amount_fen", "a positive amount in fen"));
    }
    let request_hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
    // The card data's own checks (MAC, chip-first, cryptogram) need no records: done before the
    // database lock, so the key derivations never hold up other requests.
    let card = card_checks::authenticate(&req)?;
    card_checks::check_chip_first(&card, req.fallback)?;
    card_checks::check_chip_data(&card, req.amount_fen)?;
    let limits = profile_of(&state, &caller.merchant_id)?.limits;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    if let Some(stored) = existing(&tx, &caller.merchant_id, &req.idempotency_key, &request_hash)? {
        drop(tx);
        drop(db);
        return answer(&state, stored);
    }
    let tombstoned: bool = tx
        .query_row("SELECT 1 FROM payment_tombstones WHERE key = ?1", [&req.idempotency_key], |_| Ok(()))
        .optional()?
        .is_some();
    if tombstoned {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "payment_reversed",
            "this payment was reversed before it arrived; start a new sale",
        ));
    }
    card_checks::check_reader_paired(&tx, &caller.merchant_id, &card.ksn)?;
    card_checks::check_fresh_read(&tx, &req.idempotency_key, &card.ksn)?;
    card_checks::check_limits(&tx, &caller.merchant_id, &limits, req.amount_fen, card.card_hash.as_deref(), now)?;
    let (province, flag) =
        check_payment(&tx, &caller.merchant_id, req.location.as_ref(), now, state.config.cross_province_review_secs)?;
    let mut payment = decide(&tx, &caller.merchant_id, &req, &card, now)?;
    if payment.status == "approved" {
        payment.receipt_token = Some(receipts::issue(&tx, &caller.merchant_id, &req.idempotency_key, now)?);
    }
    tx.execute(
        "INSERT INTO payments (key, merchant_id, request_hash, status, amount_fen, json, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (
            &req.idempotency_key,
            &caller.merchant_id,
            &request_hash,
            &payment.status,
            payment.amount_fen,
            serde_json::to_string(&payment).map_err(|e| ApiError::internal(e.to_string()))?,
            now,
        ),
    )?;
    card_checks::remember_read(&tx, &req.idempotency_key, &caller.merchant_id, &card, now)?;
    sale_in(&tx, &caller.merchant_id, &payment, province.as_deref())?;
    tx.execute(
        "INSERT INTO payment_regions (key, province, flag) VALUES (?1, ?2, ?3)",
        (&req.idempotency_key, &province, flag),
    )?;
    if let Some(l) = req.location {
        tx.execute(
            "INSERT INTO payment_locations (key, latitude_e6, longitude_e6, accuracy_m) VALUES (?1, ?2, ?3, ?4)",
            (&req.idempotency_key, l.latitude_e6, l.longitude_e6, l.accuracy_m),
        )?;
    }
    tx.commit()?;
    drop(db);
    answer(&state, payment)
}

/// The answer to an authorisation, unless the lost-answer fault is due: then the connection
/// breaks mid-body after the platform has committed, as after a mobile network drop, and the
/// client cannot know the outcome.
fn answer(state: &State, payment: PaymentWire) -> ApiResult<Response> {
    if let Some(injected) = state.payment_faults().take_injected_answer() {
        let status = StatusCode::from_u16(injected.status).map_err(|e| ApiError::internal(e.to_string()))?;
        let content_type = injected.content_type.unwrap_or_else(|| "text/html".into());
        return Ok((status, [(header::CONTENT_TYPE, content_type)], injected.body).into_response());
    }
    let (lose, garble) = {
        let mut faults = state.payment_faults();
        let lose = faults.drop_response_after_commit > 0;
        faults.drop_response_after_commit = faults.drop_response_after_commit.saturating_sub(1);
        let garble = !lose && faults.garble_response_after_commit > 0;
        if garble {
            faults.garble_response_after_commit -= 1;
        }
        (lose, garble)
    };
    if garble {
        return Ok(
            ([(header::CONTENT_TYPE, "application/json")], "{\"idempotency_key\": \u{1f}garbled").into_response()
        );
    }
    if !lose {
        return Ok(Json(payment).into_response());
    }
    let parts: [Result<&'static str, std::io::Error>; 2] =
        [Ok("{\"idempotency_key\":"), Err(std::io::Error::other("injected: answer lost"))];
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_util::stream::iter(parts)))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The stored answer for a repeated key: the same request gets the payment as it now stands;
/// another request under the same key is refused.
fn existing(tx: &Transaction<'_>, merchant_id: &str, key: &str, request_hash: &str) -> ApiResult<Option<PaymentWire>> {
    let row: Option<(String, String, String)> = tx
        .query_row("SELECT merchant_id, request_hash, json FROM payments WHERE key = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((owner, hash, json)) if owner == merchant_id && hash == request_hash => {
            Ok(Some(serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?))
        }
        Some(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this idempotency key was used for a different request",
        )),
    }
}

/// Plays switch and issuer: the card data is authenticated and opened (`card_checks`); checks
/// the PIN (when this entry mode and amount need one) and expiry, and answers as the test
/// card's issuer would.
fn decide(
    tx: &Transaction<'_>,
    merchant_id: &str,
    req: &AuthorizeRequest,
    data: &CardData,
    now: i64,
) -> ApiResult<PaymentWire> {
    let chip = data.chip();
    let (voucher, batch) = next_voucher(tx, merchant_id)?;
    let reference_number = format!("{:012}", u64::from_str_radix(&random_hex(5), 16).unwrap_or(0) % 1_000_000_000_000);
    let opened = data.opened.as_ref();
    let card = opened.and_then(|o| test_card_by_pan(&o.pan));
    let pan_check = opened.map(|o| check_bank_card(&o.pan));
    let today = current_yymm(now);
    // Decided here from the authenticated entry mode and the amount, not from the phone.
    let pin_needed = pin_required(data.entry_mode, req.amount_fen as u64);
    let (code, message) = match (opened, card) {
        (None, _) | (_, None) => ("14", "invalid card"),
        (Some(o), Some(c)) => {
            if c.expiry < today.as_str() {
                ("54", "card expired")
            } else if pin_needed && o.pin.as_ref().map(|p| p.as_str()) != Some(c.pin) {
                ("55", "wrong PIN")
            } else {
                match c.outcome {
                    Outcome::InsufficientFunds => ("51", "insufficient funds"),
                    Outcome::Refuse => ("05", "card refused by the issuer"),
                    Outcome::Approve | Outcome::ChipDeclinesAfterApproval => ("00", "approved"),
                }
            }
        }
    };
    let approved = code == "00";
    let card_kind = pan_check.as_ref().map_or("unknown", |c| c.card_kind.as_str()).to_string();
    let cycle: String = tx.query_row("SELECT settlement FROM merchants WHERE id = ?1", [merchant_id], |r| r.get(0))?;
    let quote = fees::quote(
        &fee_schedule(),
        "card",
        &card_kind,
        SettlementCycle::parse(&cycle).unwrap_or(SettlementCycle::T1),
        req.amount_fen,
    );
    let (fee_fen, net_fen) = match (approved, quote) {
        (true, Some(q)) => (q.fee_fen, q.net_fen),
        _ => (0, 0),
    };
    let issuer_data = if approved && chip {
        // Issuer authentication data (91): an 8-byte stand-in ARPC and the response code.
        let mut v = hex::decode(random_hex(8)).unwrap_or_default();
        v.extend_from_slice(code.as_bytes());
        hex::encode_upper(tlv::encode(&[tlv::Tlv::new(Tag::known(0x91), v)]))
    } else {
        String::new()
    };
    Ok(PaymentWire {
        idempotency_key: req.idempotency_key.clone(),
        status: if approved { "approved" } else { "declined" }.into(),
        response_code: code.into(),
        message: message.into(),
        amount_fen: req.amount_fen,
        fee_fen,
        net_fen,
        masked_pan: req.masked_pan.clone(),
        card_kind,
        issuer_bank: pan_check.and_then(|c| c.issuer_bank),
        auth_code: approved.then(|| format!("{:06}", u32::from_str_radix(&random_hex(3), 16).unwrap_or(0) % 1_000_000)),
        reference_number,
        batch_number: format!("{batch:06}"),
        voucher_number: format!("{voucher:06}"),
        issuer_data,
        processed_at: now,
        refunded_fen: 0,
        fallback: req.fallback,
        receipt_token: None,
    })
}

/// The merchant's next voucher number and current batch (batches close at settlement, #6).
fn next_voucher(tx: &Transaction<'_>, merchant_id: &str) -> ApiResult<(i64, i64)> {
    tx.execute(
        "INSERT INTO payment_counters (merchant_id, voucher, batch) VALUES (?1, 1, 1)
         ON CONFLICT (merchant_id) DO UPDATE SET voucher = voucher + 1",
        [merchant_id],
    )?;
    Ok(tx.query_row("SELECT voucher, batch FROM payment_counters WHERE merchant_id = ?1", [merchant_id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?)
}

/// Voids a payment (`kind` "void": the same business day, whole amount) or refunds part of it
/// (`kind` "refund": after its day is settled, never above what remains). Idempotent by the
/// adjustment key; needs the account password.
async fn adjust(state: &State, caller_merchant: &str, key: &str, bytes: &[u8], kind: &str) -> ApiResult<PaymentWire> {
    let req = adjustments::read_request(state, caller_merchant, bytes)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    adjustments::check_not_abandoned(&tx, &req.adjustment_key)?;
    let done: Option<(String, String)> = tx
        .query_row("SELECT payment_key, json FROM adjustments WHERE key = ?1", [&req.adjustment_key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((payment_key, _)) = &done {
        if payment_key != key {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this key was used for another payment",
            ));
        }
        let json: String = tx.query_row("SELECT json FROM payments WHERE key = ?1", [key], |r| r.get(0))?;
        return serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()));
    }
    let json: Option<String> = tx
        .query_row("SELECT json FROM payments WHERE key = ?1 AND merchant_id = ?2", (key, caller_merchant), |r| {
            r.get(0)
        })
        .optional()?;
    let mut payment: PaymentWire = match json {
        Some(j) => serde_json::from_str(&j).map_err(|e| ApiError::internal(e.to_string()))?,
        None => return Err(ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no payment with this key")),
    };
    if payment.status != "approved" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_adjustable",
            format!("the payment is {}; only an approved payment can be voided or refunded", payment.status),
        ));
    }
    let same_day = business_day(payment.processed_at) == business_day(now);
    let amount = match kind {
        "void" => {
            if !same_day || payment.refunded_fen > 0 {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "void_not_allowed",
                    "the payment is settled: refund it instead",
                ));
            }
            payment.status = "voided".into();
            payment.amount_fen
        }
        _ => {
            if same_day {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "refund_not_allowed",
                    "the payment is not settled yet: void it today instead",
                ));
            }
            let remaining = payment.amount_fen - payment.refunded_fen;
            let amount = req.amount_fen.unwrap_or(remaining);
            if amount <= 0 || amount > remaining {
                let mut e = ApiError::invalid(
                    "refund_exceeds_remaining",
                    "amount_fen",
                    format!("at most {remaining} fen remain"),
                );
                e.body.cap = Some(remaining);
                return Err(e);
            }
            payment.refunded_fen += amount;
            amount
        }
    };
    let json = serde_json::to_string(&payment).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute("UPDATE payments SET status = ?1, json = ?2 WHERE key = ?3", (&payment.status, &json, key))?;
    tx.execute(
        "INSERT INTO adjustments (key, payment_key, kind, amount_fen, json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (&req.adjustment_key, key, kind, amount, &json, now),
    )?;
    adjustment_in(&tx, caller_merchant, &req.adjustment_key, kind, amount, &payment, now)?;
    tx.commit()?;
    Ok(payment)
}

pub async fn void(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Response> {
    injected_5xx(&state)?;
    let payment = adjust(&state, &caller.merchant_id, &key, &bytes, "void").await?;
    answer(&state, payment)
}

pub async fn refund(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Response> {
    injected_5xx(&state)?;
    let payment = adjust(&state, &caller.merchant_id, &key, &bytes, "refund").await?;
    answer(&state, payment)
}

/// `YYMM` in China Standard Time, as card expiry dates are written.
fn current_yymm(now: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+8));
    format!("{:02}{:02}", t.year() % 100, u8::from(t.month()))
}

fn payment_of(state: &State, merchant_id: &str, key: &str) -> ApiResult<Option<PaymentWire>> {
    let json: Option<String> = state
        .db()
        .query_row("SELECT json FROM payments WHERE key = ?1 AND merchant_id = ?2", (key, merchant_id), |r| r.get(0))
        .optional()?;
    json.map(|j| serde_json::from_str(&j).map_err(|e| ApiError::internal(e.to_string()))).transpose()
}

pub async fn get(St(state): St<Arc<State>>, Path(key): Path<String>, signed: Signed) -> ApiResult<Json<PaymentWire>> {
    payment_of(&state, &signed.caller.merchant_id, &key)?
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no payment with this key"))
}

/// Reverses an approved payment (idempotent). For a key never seen, leaves a tombstone so that
/// an authorisation still on its way cannot be approved later.
pub async fn reverse(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<ReverseResponse>> {
    injected_5xx(&state)?;
    let _req: ReverseRequest = body(&bytes)?;
    if !key_ok(&key) {
        return Err(ApiError::invalid("invalid_request", "key", "16 to 64 letters, digits or hyphens"));
    }
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let row: Option<(String, String)> = tx
        .query_row("SELECT merchant_id, json FROM payments WHERE key = ?1", [&key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let answer = match row {
        Some((owner, _)) if owner != caller.merchant_id => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no payment with this key"))
        }
        Some((_, json)) => {
            let mut payment: PaymentWire =
                serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
            if payment.status == "approved" {
                payment.status = "reversed".into();
                tx.execute(
                    "UPDATE payments SET status = 'reversed', json = ?1, reversed_at = ?2 WHERE key = ?3",
                    (serde_json::to_string(&payment).map_err(|e| ApiError::internal(e.to_string()))?, now, &key),
                )?;
                reversal_in(&tx, &caller.merchant_id, &payment, now)?;
            }
            ReverseResponse { found: true, payment: Some(payment) }
        }
        None => {
            tx.execute(
                "INSERT OR IGNORE INTO payment_tombstones (key, merchant_id, at) VALUES (?1, ?2, ?3)",
                (&key, &caller.merchant_id, now),
            )?;
            ReverseResponse { found: false, payment: None }
        }
    };
    tx.commit()?;
    Ok(Json(answer))
}

/// Settles an adjustment whose answer the phone lost: `found` if it was applied (it stands);
/// otherwise its key is refused from now on, so a late copy cannot apply after the phone gave up.
pub async fn settle_adjustment(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, .. }: Signed,
) -> ApiResult<Json<AdjustmentSettled>> {
    injected_5xx(&state)?;
    if !key_ok(&key) {
        return Err(ApiError::invalid("invalid_request", "key", "16 to 64 letters, digits or hyphens"));
    }
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let owner: Option<String> = tx
        .query_row(
            "SELECT p.merchant_id FROM adjustments a JOIN payments p ON p.key = a.payment_key WHERE a.key = ?1
             UNION ALL SELECT merchant_id FROM qr_refunds WHERE key = ?1",
            [&key],
            |r| r.get(0),
        )
        .optional()?;
    let found = match owner {
        Some(m) if m == caller.merchant_id => true,
        Some(_) => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "adjustment_not_found", "no adjustment with this key"))
        }
        None => {
            tx.execute(
                "INSERT OR IGNORE INTO adjustment_tombstones (key, merchant_id, at) VALUES (?1, ?2, ?3)",
                (&key, &caller.merchant_id, now),
            )?;
            false
        }
    };
    tx.commit()?;
    Ok(Json(AdjustmentSettled { found }))
}

/// Keeps the customer's signature for an approved payment (idempotent: the same strokes
/// again are accepted; different strokes are refused).
pub async fn put_signature(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<serde_json::Value>> {
    injected_5xx(&state)?;
    let req: SignatureUpload = body(&bytes)?;
    use base64::Engine as _;
    let strokes = base64::engine::general_purpose::STANDARD
        .decode(&req.strokes)
        .map_err(|_| ApiError::invalid("invalid_request", "strokes", "base64 of the compressed strokes"))?;
    Signature::decode(&strokes).map_err(|e| ApiError::invalid("invalid_signature", "strokes", e.to_string()))?;
    let payment = payment_of(&state, &caller.merchant_id, &key)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no payment with this key"))?;
    if !matches!(payment.status.as_str(), "approved" | "voided") {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_signable", format!("the payment is {}", payment.status)));
    }
    let db = state.db();
    let stored: Option<Vec<u8>> =
        db.query_row("SELECT strokes FROM signatures WHERE payment_key = ?1", [&key], |r| r.get(0)).optional()?;
    match stored {
        Some(s) if s == strokes => {}
        Some(_) => {
            return Err(ApiError::new(StatusCode::CONFLICT, "signature_conflict", "this payment is already signed"))
        }
        None => {
            db.execute(
                "INSERT INTO signatures (payment_key, strokes, received_at) VALUES (?1, ?2, ?3)",
                (&key, &strokes, state.now()),
            )?;
        }
    }
    Ok(Json(serde_json::json!({ "accepted": true, "bytes": strokes.len() })))
}

/// The signature as a PNG for the e-receipt, rendered by the same code as the phone's.
pub async fn signature_png(St(state): St<Arc<State>>, Path(key): Path<String>, signed: Signed) -> ApiResult<Response> {
    payment_of(&state, &signed.caller.merchant_id, &key)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no payment with this key"))?;
    let strokes: Vec<u8> = state
        .db()
        .query_row("SELECT strokes FROM signatures WHERE payment_key = ?1", [&key], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "signature_not_found", "the payment is not signed"))?;
    let png = Signature::decode(&strokes).map_err(|e| ApiError::internal(e.to_string()))?.render().png();
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
