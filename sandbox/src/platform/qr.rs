//! The sandbox wallets: payments by the customer's payment code (B scans C, docs/qr.md). The
//! last two digits of the code choose how the simulated wallet and customer behave
//! (docs/test-cards.md), as the test cards' amounts do for cards:
//! `00` paid at once; `01` the customer confirms on their phone, then it is paid; `02` the
//! customer confirms, then cancels; `03` insufficient balance; `04` the code was already used;
//! `05` the wallet answers a system error but debits (a query finds it paid); `06` paid, and the
//! answer is lost on the way back. Every code is single-use, as Alipay's are.

use std::sync::Arc;

use axum::extract::{Path, State as St};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::fees::{self, SettlementCycle};
use starpos_protocol::qr::payment_code::{classify, Wallet};
use starpos_protocol::util::random_hex;
use starpos_protocol::wire::{QrPayRequest, QrPaymentWire, ReverseRequest};

use super::auth::Signed;
use super::error::{body, ApiError, ApiResult};
use super::faults::injected_5xx;
use super::records::card_checks;
use super::records::cross_province::check_payment;
use super::records::feed;
use super::records::key_ok;
use super::records::profile::{fee_schedule, profile_of};
use super::records::receipts;
use super::state::State;

/// WeChat Pay refuses to reverse a payment within 15 s of its debit.
const WECHAT_NO_REVERSE_SECS: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    PaidAtOnce,
    ConfirmsThenPaid,
    ConfirmsThenCancels,
    InsufficientBalance,
    CodeUsed,
    SystemErrorButPaid,
    PaidAnswerLost,
    /// A key reversed before any payment under it arrived.
    Tombstone,
}

impl Behaviour {
    fn of(code: &str) -> Behaviour {
        match code.get(code.len().saturating_sub(2)..) {
            Some("01") => Behaviour::ConfirmsThenPaid,
            Some("02") => Behaviour::ConfirmsThenCancels,
            Some("03") => Behaviour::InsufficientBalance,
            Some("04") => Behaviour::CodeUsed,
            Some("05") => Behaviour::SystemErrorButPaid,
            Some("06") => Behaviour::PaidAnswerLost,
            _ => Behaviour::PaidAtOnce,
        }
    }

    fn number(self) -> i64 {
        self as i64
    }

    fn from_number(n: i64) -> Behaviour {
        [
            Behaviour::PaidAtOnce,
            Behaviour::ConfirmsThenPaid,
            Behaviour::ConfirmsThenCancels,
            Behaviour::InsufficientBalance,
            Behaviour::CodeUsed,
            Behaviour::SystemErrorButPaid,
            Behaviour::PaidAnswerLost,
            Behaviour::Tombstone,
        ]
        .into_iter()
        .find(|b| b.number() == n)
        .unwrap_or(Behaviour::PaidAtOnce)
    }
}

fn paid(p: &mut QrPaymentWire, at: i64) {
    p.status = "paid".into();
    p.paid_at = Some(at);
    p.wallet_txn = Some(format!("{}{}", at, random_hex(6)));
}

fn failed(p: &mut QrPaymentWire, reason: &str) {
    p.status = "failed".into();
    p.reason = Some(reason.into());
}

/// Moves a payment on to where the simulated customer has taken it by `now`.
fn advance(p: &mut QrPaymentWire, behaviour: Behaviour, now: i64, confirm_secs: i64) {
    if p.status != "user_paying" || now < p.created_at + confirm_secs {
        return;
    }
    match behaviour {
        Behaviour::ConfirmsThenCancels => failed(p, "customer_cancelled"),
        _ => paid(p, p.created_at + confirm_secs),
    }
}

/// The payment under `key` as it stands now (moved on and stored), with its behaviour.
fn load(
    tx: &Transaction<'_>,
    state: &State,
    merchant_id: &str,
    key: &str,
) -> ApiResult<Option<(QrPaymentWire, Behaviour, String)>> {
    let row: Option<(String, String, i64, String)> = tx
        .query_row("SELECT merchant_id, request_hash, behaviour, json FROM qr_payments WHERE key = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((owner, hash, behaviour, json)) = row else { return Ok(None) };
    if owner != merchant_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this key belongs to another merchant",
        ));
    }
    let mut p: QrPaymentWire = serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
    let behaviour = Behaviour::from_number(behaviour);
    let before = p.clone();
    advance(&mut p, behaviour, state.now(), state.config.qr_user_paying_secs);
    if p != before {
        store(tx, &p)?;
        feed::qr_in(tx, merchant_id, &before.status, &p, state.now())?;
    }
    Ok(Some((p, behaviour, hash)))
}

fn store(tx: &Transaction<'_>, p: &QrPaymentWire) -> ApiResult<()> {
    let json = serde_json::to_string(p).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute("UPDATE qr_payments SET json = ?2 WHERE key = ?1", (&p.idempotency_key, json))?;
    Ok(())
}

/// The wallet's answer, or what the behaviour makes of it on the way back.
fn answer(p: QrPaymentWire, behaviour: Behaviour, first: bool) -> Response {
    match behaviour {
        Behaviour::SystemErrorButPaid if first => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "wallet_system_error",
            "the wallet answered a system error; query the payment",
        )
        .into_response(),
        Behaviour::PaidAnswerLost if first => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        _ => Json(p).into_response(),
    }
}

pub async fn pay(St(state): St<Arc<State>>, Signed { caller, body: bytes }: Signed) -> ApiResult<Response> {
    injected_5xx(&state)?;
    let req: QrPayRequest = body(&bytes)?;
    if !key_ok(&req.idempotency_key) {
        return Err(ApiError::invalid("invalid_request", "idempotency_key", "16 to 64 letters, digits or hyphens"));
    }
    if req.amount_fen <= 0 || req.amount_fen > 999_999_999_999 {
        return Err(ApiError::invalid("invalid_request", "amount_fen", "a positive amount in fen"));
    }
    let wallet = Wallet::parse(&req.wallet)
        .ok_or_else(|| ApiError::invalid("invalid_request", "wallet", "wechat, alipay or unionpay"))?;
    if classify(&req.payment_code) != Ok(wallet) {
        return Err(ApiError::invalid("invalid_request", "payment_code", "not a payment code of this wallet"));
    }
    let request_hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
    // Read before the database lock, which it takes itself.
    let limits = profile_of(&state, &caller.merchant_id)?.limits;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    if let Some((p, behaviour, hash)) = load(&tx, &state, &caller.merchant_id, &req.idempotency_key)? {
        if behaviour == Behaviour::Tombstone {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "payment_reversed",
                "this payment was reversed before it arrived; ask for a new payment code",
            ));
        }
        if hash != request_hash {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this key was used for another payment",
            ));
        }
        tx.commit()?;
        return Ok(answer(p, behaviour, false));
    }
    // The merchant's rules, as for a card: limits over every channel and device, and where the
    // sale is made. A refused payment leaves no record (a retry is refused the same way).
    card_checks::check_limits(&tx, &caller.merchant_id, &limits, req.amount_fen, None, now)?;
    check_payment(&tx, &caller.merchant_id, req.location.as_ref(), now, state.config.cross_province_review_secs)?;
    let code_hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, req.payment_code.trim().as_bytes()));
    let reused = tx.execute("INSERT OR IGNORE INTO qr_codes_used (code_hash) VALUES (?1)", [&code_hash])? == 0;
    let behaviour = if reused { Behaviour::CodeUsed } else { Behaviour::of(req.payment_code.trim()) };
    let mut p = QrPaymentWire {
        idempotency_key: req.idempotency_key.clone(),
        wallet: wallet.as_str().into(),
        status: "user_paying".into(),
        amount_fen: req.amount_fen,
        wallet_txn: None,
        reason: None,
        created_at: now,
        paid_at: None,
        fee_fen: 0,
        net_fen: req.amount_fen,
        receipt_token: Some(receipts::issue(&tx, &caller.merchant_id, &req.idempotency_key, now)?),
    };
    let cycle: String =
        tx.query_row("SELECT settlement FROM merchants WHERE id = ?1", [&caller.merchant_id], |r| r.get(0))?;
    let cycle = SettlementCycle::parse(&cycle).unwrap_or(SettlementCycle::T1);
    if let Some(q) = fees::quote(&fee_schedule(), "qr", "any", cycle, req.amount_fen) {
        (p.fee_fen, p.net_fen) = (q.fee_fen, q.net_fen);
    }
    match behaviour {
        Behaviour::PaidAtOnce | Behaviour::SystemErrorButPaid | Behaviour::PaidAnswerLost => paid(&mut p, now),
        Behaviour::ConfirmsThenPaid | Behaviour::ConfirmsThenCancels => {}
        Behaviour::InsufficientBalance => failed(&mut p, "insufficient_balance"),
        Behaviour::CodeUsed => failed(&mut p, "code_used"),
        Behaviour::Tombstone => unreachable!("a new payment is never a tombstone"),
    }
    let json = serde_json::to_string(&p).map_err(|e| ApiError::internal(e.to_string()))?;
    tx.execute(
        "INSERT INTO qr_payments (key, merchant_id, request_hash, behaviour, json) VALUES (?1, ?2, ?3, ?4, ?5)",
        (&req.idempotency_key, &caller.merchant_id, &request_hash, behaviour.number(), json),
    )?;
    feed::qr_in(&tx, &caller.merchant_id, "user_paying", &p, now)?;
    tx.commit()?;
    drop(db);
    Ok(answer(p, behaviour, true))
}

pub async fn get(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, .. }: Signed,
) -> ApiResult<Json<QrPaymentWire>> {
    let mut db = state.db();
    let tx = db.transaction()?;
    let found = load(&tx, &state, &caller.merchant_id, &key)?;
    tx.commit()?;
    match found {
        Some((p, behaviour, _)) if behaviour != Behaviour::Tombstone => Ok(Json(p)),
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", "no QR payment with this key")),
    }
}

/// Reverses (WeChat, UnionPay) or cancels (Alipay) a payment: a paid one is given back, one
/// the customer is still confirming is closed. For a key never seen, a tombstone refuses a
/// payment still on its way. WeChat refuses within 15 s of the debit (`reverse_too_soon`).
pub async fn reverse(
    St(state): St<Arc<State>>,
    Path(key): Path<String>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<QrPaymentWire>> {
    injected_5xx(&state)?;
    let _req: ReverseRequest = body(&bytes)?;
    if !key_ok(&key) {
        return Err(ApiError::invalid("invalid_request", "key", "16 to 64 letters, digits or hyphens"));
    }
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let Some((mut p, _, _)) = load(&tx, &state, &caller.merchant_id, &key)? else {
        let p = QrPaymentWire {
            idempotency_key: key.clone(),
            wallet: String::new(),
            status: "closed".into(),
            amount_fen: 0,
            wallet_txn: None,
            reason: Some("reversed_before_arrival".into()),
            created_at: now,
            paid_at: None,
            fee_fen: 0,
            net_fen: 0,
            receipt_token: None,
        };
        let json = serde_json::to_string(&p).map_err(|e| ApiError::internal(e.to_string()))?;
        tx.execute(
            "INSERT INTO qr_payments (key, merchant_id, request_hash, behaviour, json) VALUES (?1, ?2, '', ?3, ?4)",
            (&key, &caller.merchant_id, Behaviour::Tombstone.number(), json),
        )?;
        tx.commit()?;
        return Ok(Json(p));
    };
    let before = p.status.clone();
    match p.status.as_str() {
        "paid" => {
            let too_soon =
                p.wallet == Wallet::WeChat.as_str() && p.paid_at.is_some_and(|at| now < at + WECHAT_NO_REVERSE_SECS);
            if too_soon {
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "reverse_too_soon",
                    "WeChat Pay reverses a payment only 15 s after its debit; try again then",
                );
                e.body.retry_after = p.paid_at.map(|at| (at + WECHAT_NO_REVERSE_SECS - now).max(1) as u64);
                return Err(e);
            }
            p.status = "reversed".into();
        }
        "user_paying" => {
            p.status = "closed".into();
            p.reason = Some("closed_by_merchant".into());
        }
        _ => {}
    }
    store(&tx, &p)?;
    feed::qr_in(&tx, &caller.merchant_id, &before, &p, now)?;
    tx.commit()?;
    Ok(Json(p))
}
