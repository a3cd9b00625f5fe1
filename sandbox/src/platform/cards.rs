//! Real-name details and settlement cards. A settlement card must be in the merchant's own
//! name, and its four elements (number, holder, ID number, phone reserved at the bank) must
//! match the bank's records (the sandbox's bank registry); an SMS code sent to the reserved
//! phone confirms the binding. The sandbox keeps only a hash and the masked form of a card.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{Connection, OptionalExtension};
use starpos_protocol::checks::{check_bank_card, check_credit_code, check_holder_name, check_resident_id};
use starpos_protocol::util::{mask_phone, random_hex};
use starpos_protocol::wire::{
    BindCardConfirm, BindCardRequest, BindCardStarted, CardIdRequest, CardsResponse, MerchantProfileWire,
    RealNameRequest, SettlementCardWire, UnbindCardRequest,
};

use super::auth::check_sms;
use super::auth::{check_password, step_up_failed, Signed};
use super::error::{body, ApiError, ApiResult};
use super::records::onboarding::{add_card, hash, set_real_name, BoundCard, RealName, BANK_REGISTRY};
use super::records::profile::profile_of;
use super::state::State;

/// How long a started binding waits for its SMS code.
const BINDING_TTL_SECS: i64 = 300;

fn field_error(field: &str, reason: Option<String>) -> ApiError {
    ApiError::invalid("invalid_request", field, reason.unwrap_or_else(|| "invalid".into()))
}

pub async fn real_name(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<MerchantProfileWire>> {
    let req: RealNameRequest = body(&bytes)?;
    let name = check_holder_name(&req.holder_name);
    if !name.valid {
        return Err(field_error("holder_name", name.reason));
    }
    let id = check_resident_id(&req.id_number);
    if !id.valid {
        return Err(field_error("id_number", id.reason));
    }
    if req.merchant_name.trim().is_empty() || req.merchant_name.chars().count() > 40 {
        return Err(field_error("merchant_name", Some("a merchant name has 1 to 40 characters".into())));
    }
    if let Some(code) = &req.credit_code {
        let c = check_credit_code(code);
        if !c.valid {
            return Err(field_error("credit_code", c.reason));
        }
    }
    {
        let db = state.db();
        let bound: bool = db.query_row(
            "SELECT EXISTS(SELECT 1 FROM cards WHERE merchant_id = ?1 AND unbound_at IS NULL)",
            [&caller.merchant_id],
            |r| r.get(0),
        )?;
        if bound {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "real_name_locked",
                "real-name details cannot change while a settlement card is bound",
            ));
        }
        set_real_name(
            &db,
            &caller.merchant_id,
            &RealName {
                holder_name: req.holder_name.trim(),
                id_number: &req.id_number,
                merchant_name: req.merchant_name.trim(),
                credit_code: req.credit_code.as_deref(),
            },
        )?;
    }
    tracing::info!(merchant = %caller.merchant_id, "real-name details accepted");
    Ok(Json(profile_of(&state, &caller.merchant_id)?))
}

pub async fn start_binding(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<BindCardStarted>> {
    let req: BindCardRequest = body(&bytes)?;
    let card = check_bank_card(&req.card_number);
    if !card.valid {
        return Err(field_error("card_number", card.reason));
    }
    let number: String = req.card_number.chars().filter(char::is_ascii_digit).collect();
    let id_number = req.id_number.trim().to_ascii_uppercase();
    let now = state.now();
    let db = state.db();
    let (holder, id_hash): (Option<String>, Option<String>) =
        db.query_row("SELECT holder_name, id_hash FROM merchants WHERE id = ?1", [&caller.merchant_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (Some(holder), Some(id_hash)) = (holder, id_hash) else {
        return Err(ApiError::new(StatusCode::CONFLICT, "real_name_required", "submit real-name details first"));
    };
    if holder != req.holder_name.trim() || id_hash != hash(&id_number) {
        return Err(ApiError::invalid(
            "card_holder_mismatch",
            "holder_name",
            "a settlement card must be in the merchant's own name",
        ));
    }
    let registered = BANK_REGISTRY.iter().any(|c| {
        c.card_number == number
            && c.holder_name == holder
            && c.id_number == id_number
            && c.reserved_phone == req.reserved_phone.trim()
    });
    if !registered {
        // Like a bank, do not say which element is wrong.
        return Err(ApiError::invalid(
            "card_elements_mismatch",
            "card_number",
            "the bank's records do not match these card details",
        ));
    }
    let card_hash = hash(&number);
    let already: bool = db.query_row(
        "SELECT EXISTS(SELECT 1 FROM cards WHERE merchant_id = ?1 AND card_hash = ?2 AND unbound_at IS NULL)",
        (&caller.merchant_id, &card_hash),
        |r| r.get(0),
    )?;
    if already {
        return Err(ApiError::new(StatusCode::CONFLICT, "card_already_bound", "this card is already bound"));
    }
    let bind_id = random_hex(16);
    db.execute(
        "INSERT INTO pending_bindings (bind_id, merchant_id, card_hash, masked, issuer_bank, card_kind, reserved_phone, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (
            &bind_id,
            &caller.merchant_id,
            &card_hash,
            &card.masked,
            &card.issuer_bank,
            card.card_kind.as_str(),
            req.reserved_phone.trim(),
            now + BINDING_TTL_SECS,
        ),
    )?;
    let code = issue_code(&state, &db, req.reserved_phone.trim(), now)?;
    tracing::info!(phone = %mask_phone(req.reserved_phone.trim()), code = %code, "sandbox SMS code issued for card binding");
    Ok(Json(BindCardStarted {
        bind_id,
        card_masked: card.masked,
        phone_masked: mask_phone(req.reserved_phone.trim()),
        expires_in: state.config.sms_ttl_secs,
    }))
}

fn issue_code(state: &State, db: &Connection, phone: &str, now: i64) -> ApiResult<String> {
    let mut r = [0u8; 4];
    starpos_protocol::util::fill_random(&mut r);
    let code = format!("{:06}", u32::from_le_bytes(r) % 1_000_000);
    db.execute(
        "INSERT OR REPLACE INTO sms_codes (phone, purpose, code, sent_at, expires_at) VALUES (?1, 'bind_card', ?2, ?3, ?4)",
        (phone, &code, now, now + state.config.sms_ttl_secs as i64),
    )?;
    Ok(code)
}

pub async fn confirm_binding(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<SettlementCardWire>> {
    let req: BindCardConfirm = body(&bytes)?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    type Pending = (String, String, Option<String>, String, String, i64);
    let pending: Option<Pending> = tx
        .query_row(
            "SELECT card_hash, masked, issuer_bank, card_kind, reserved_phone, expires_at FROM pending_bindings
             WHERE bind_id = ?1 AND merchant_id = ?2",
            (&req.bind_id, &caller.merchant_id),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((card_hash, masked, issuer, kind, phone, expires_at)) = pending.filter(|p| p.5 > now) else {
        return Err(ApiError::invalid("binding_expired", "bind_id", "no such card binding in progress; start again"));
    };
    let _ = expires_at;
    if let Err(e) = check_sms(&state, &tx, &phone, "bind_card", &req.sms_code) {
        tx.commit()?;
        return Err(e);
    }
    let has_default: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM cards WHERE merchant_id = ?1 AND unbound_at IS NULL AND is_default = 1)",
        [&caller.merchant_id],
        |r| r.get(0),
    )?;
    let card_id = add_card(
        &tx,
        &caller.merchant_id,
        &BoundCard { card_hash: &card_hash, masked: &masked, issuer_bank: issuer.as_deref(), card_kind: &kind },
        !has_default,
        now,
    )?;
    tx.execute("DELETE FROM pending_bindings WHERE bind_id = ?1", [&req.bind_id])?;
    tx.commit()?;
    tracing::info!(merchant = %caller.merchant_id, card = %masked, "settlement card bound");
    Ok(Json(SettlementCardWire {
        card_id,
        masked,
        issuer_bank: issuer,
        card_kind: kind,
        is_default: !has_default,
        bound_at: now,
    }))
}

pub fn cards_of(db: &Connection, merchant_id: &str) -> ApiResult<CardsResponse> {
    let mut q = db.prepare(
        "SELECT id, masked, issuer_bank, card_kind, is_default, bound_at FROM cards
         WHERE merchant_id = ?1 AND unbound_at IS NULL ORDER BY is_default DESC, bound_at",
    )?;
    let cards = q
        .query_map([merchant_id], |r| {
            Ok(SettlementCardWire {
                card_id: r.get(0)?,
                masked: r.get(1)?,
                issuer_bank: r.get(2)?,
                card_kind: r.get(3)?,
                is_default: r.get(4)?,
                bound_at: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CardsResponse { cards })
}

pub async fn list(
    St(state): St<Arc<State>>,
    Signed { caller, body: _bytes }: Signed,
) -> ApiResult<Json<CardsResponse>> {
    Ok(Json(cards_of(&state.db(), &caller.merchant_id)?))
}

pub async fn set_default(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<CardsResponse>> {
    let req: CardIdRequest = body(&bytes)?;
    let mut db = state.db();
    let tx = db.transaction()?;
    require_card(&tx, &caller.merchant_id, &req.card_id)?;
    tx.execute(
        "UPDATE cards SET is_default = (id = ?1) WHERE merchant_id = ?2 AND unbound_at IS NULL",
        (&req.card_id, &caller.merchant_id),
    )?;
    let cards = cards_of(&tx, &caller.merchant_id)?;
    tx.commit()?;
    Ok(Json(cards))
}

pub async fn unbind(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<CardsResponse>> {
    let req: UnbindCardRequest = body(&bytes)?;
    check_password(&state, &caller.merchant_id, &req.password, step_up_failed("the card stays bound"))?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let was_default = require_card(&tx, &caller.merchant_id, &req.card_id)?;
    tx.execute("UPDATE cards SET unbound_at = ?1, is_default = 0 WHERE id = ?2", (now, &req.card_id))?;
    if was_default {
        // The oldest remaining card becomes the default, so payouts always have a destination.
        tx.execute(
            "UPDATE cards SET is_default = 1 WHERE id = (SELECT id FROM cards WHERE merchant_id = ?1 AND unbound_at IS NULL
             ORDER BY bound_at LIMIT 1)",
            [&caller.merchant_id],
        )?;
    }
    let cards = cards_of(&tx, &caller.merchant_id)?;
    tx.commit()?;
    Ok(Json(cards))
}

/// Whether the merchant's live card `card_id` is the default; `card_not_found` otherwise.
fn require_card(db: &Connection, merchant_id: &str, card_id: &str) -> ApiResult<bool> {
    db.query_row(
        "SELECT is_default FROM cards WHERE id = ?1 AND merchant_id = ?2 AND unbound_at IS NULL",
        (card_id, merchant_id),
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "card_not_found", "no such bound card"))
}
