//! What the platform checks on a card authorisation before the issuer sees it, trusting
//! nothing the phone says: the reader's MAC over what it read (so the entry mode, amount,
//! nonce and blobs are the reader's), a KSN never used before (so a recorded track and PIN
//! block cannot be sent again under a new key), the chip's cryptogram, the chip-first rule
//! from the decrypted service code, and the merchant's limits across all its devices. Each
//! refusal is made before a payment is recorded (`delivery.rs` in the core lists them).

use axum::http::StatusCode;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::reader::card::{self, mac_input, service_code_has_chip, EntryMode, MacFields, CURRENCY_CNY};
use starpos_protocol::reader::tlv::{self, Tag, Tlv};
use starpos_protocol::wire::{AuthorizeRequest, LimitsWire};

use starpos_protocol::calendar::business_day;

use super::onboarding::hash;
use crate::platform::error::{ApiError, ApiResult};
use crate::test_cards::{cryptogram, decrypt_card, initial_key_id, reader_mac_valid, Decrypted};

/// An authorisation's card data, parsed, authenticated and (where it decrypts) opened.
pub struct CardData {
    pub entry_mode: EntryMode,
    pub ksn: String,
    /// The chip data objects of field 55; empty for a swipe.
    pub field55: Vec<Tlv>,
    /// `None` when track 2 does not decrypt (the issuer answers "invalid card").
    pub opened: Option<Decrypted>,
    /// A keyed-hash stand-in for the card number, for the per-card count.
    pub card_hash: Option<String>,
}

impl CardData {
    /// Chip or contactless: the chip took part and made a cryptogram.
    pub fn chip(&self) -> bool {
        self.entry_mode != EntryMode::Swipe
    }
}

fn refused(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError::new(status, code, message)
}

fn hex_field<const N: usize>(value: &str, field: &str, what: &str) -> ApiResult<[u8; N]> {
    hex::decode(value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::invalid("invalid_request", field, what))
}

/// Parses the card data and checks the reader's MAC over it; opens track 2 and the PIN block.
pub fn authenticate(req: &AuthorizeRequest) -> ApiResult<CardData> {
    let entry_mode = EntryMode::parse(&req.entry_mode)
        .ok_or_else(|| ApiError::invalid("invalid_request", "entry_mode", "swipe, insert or tap"))?;
    let ksn: [u8; 12] = hex_field(&req.ksn, "ksn", "12 bytes, hex")?;
    let nonce: [u8; 16] = hex_field(&req.nonce, "nonce", "16 bytes, hex")?;
    let mac: [u8; 32] = hex_field(&req.reader_mac, "reader_mac", "32 bytes, hex")?;
    let track = hex::decode(&req.encrypted_track2)
        .map_err(|_| ApiError::invalid("invalid_request", "encrypted_track2", "hex"))?;
    let field55_bytes =
        hex::decode(&req.field55).map_err(|_| ApiError::invalid("invalid_request", "field55", "hex"))?;
    let pin_block = req.pin_block.as_deref().map(|h| hex_field(h, "pin_block", "16 bytes, hex")).transpose()?;
    let input = mac_input(&MacFields {
        amount_fen: u64::try_from(req.amount_fen).unwrap_or(0),
        currency: CURRENCY_CNY,
        nonce: &nonce,
        entry_mode,
        fallback: req.fallback,
        masked_pan: &req.masked_pan,
        ksn: &ksn,
        encrypted_track2: &track,
        field55: &field55_bytes,
    });
    if !reader_mac_valid(&ksn, &input, &mac) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reader_mac_invalid",
            "the card data is not what the reader sent (its MAC does not verify); nothing was charged",
        ));
    }
    if req.fallback && entry_mode != EntryMode::Swipe {
        return Err(ApiError::invalid("invalid_request", "fallback", "only a swipe is a fallback"));
    }
    let field55 = if entry_mode == EntryMode::Swipe {
        if !field55_bytes.is_empty() {
            return Err(ApiError::invalid("invalid_request", "field55", "empty for a swipe"));
        }
        Vec::new()
    } else {
        tlv::decode_nested(&field55_bytes).map_err(|_| ApiError::invalid("invalid_request", "field55", "BER-TLV"))?
    };
    let opened = decrypt_card(&ksn, &track, pin_block.as_ref()).ok();
    let card_hash = opened.as_ref().map(|o| hash(&format!("card-limit:{}", o.pan)));
    Ok(CardData { entry_mode, ksn: req.ksn.to_ascii_uppercase(), field55, opened, card_hash })
}

/// The chip-first rule, from the service code the platform decrypted: a chip card may be
/// swiped only as a fallback the reader vouched for.
pub fn check_chip_first(card: &CardData, fallback: bool) -> ApiResult<()> {
    let chip_card = card.opened.as_ref().is_some_and(|o| service_code_has_chip(&o.service_code));
    if card.entry_mode == EntryMode::Swipe && chip_card && !fallback {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "chip_required",
            "the card has a chip: insert or tap it; a swipe is taken only after its chip failed",
        ));
    }
    Ok(())
}

/// The chip's cryptogram (9F26) and amount (9F02) against the card's key and the request.
pub fn check_chip_data(card: &CardData, amount_fen: i64) -> ApiResult<()> {
    if !card.chip() {
        return Ok(());
    }
    let card_amount = tlv::find_value(&card.field55, Tag::known(0x9F02)).and_then(card::bcd_amount);
    if card_amount != u64::try_from(amount_fen).ok() {
        return Err(ApiError::invalid(
            "amount_mismatch",
            "amount_fen",
            "the amount differs from the one the card signed (9F02); nothing was charged",
        ));
    }
    // A card number that does not decrypt is the issuer's "invalid card", answered later.
    let Some(opened) = &card.opened else { return Ok(()) };
    let sent = tlv::find_value(&card.field55, Tag::known(0x9F26));
    if sent.is_none() || sent != cryptogram(&opened.pan, &card.field55).as_ref().map(|c| &c[..]) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cryptogram_invalid",
            "the chip's cryptogram does not verify for this card and amount; nothing was charged",
        ));
    }
    Ok(())
}

/// Refuses a card read from a reader not paired to this merchant. The KSN's first eight bytes
/// are the reader's initial key ID, which the factory derived from its serial: a reader
/// released to another merchant, or one never paired, reads no card for this one.
pub fn check_reader_paired(tx: &Transaction<'_>, merchant_id: &str, ksn: &str) -> ApiResult<()> {
    let key_id = hex::decode(ksn).ok().and_then(|k| k.get(..8).map(<[u8]>::to_vec)).unwrap_or_default();
    let mut q = tx.prepare("SELECT serial FROM readers WHERE merchant_id = ?1")?;
    let serials = q.query_map([merchant_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    if serials.iter().any(|serial| initial_key_id(serial).as_slice() == key_id) {
        return Ok(());
    }
    Err(refused(
        StatusCode::FORBIDDEN,
        "reader_not_paired",
        "the card was read on a reader not paired to this merchant; pair the reader first",
    ))
}

/// Refuses a KSN already used for another payment: each card read is a fresh DUKPT key, so a
/// second authorisation with the same one is a replay of a recorded read.
pub fn check_fresh_read(tx: &Transaction<'_>, key: &str, ksn: &str) -> ApiResult<()> {
    let used_by: Option<String> =
        tx.query_row("SELECT key FROM payment_reads WHERE ksn = ?1", [ksn], |r| r.get(0)).optional()?;
    match used_by {
        Some(other) if other != key => Err(refused(
            StatusCode::CONFLICT,
            "card_read_replayed",
            "this card read was already used for another payment; read the card again",
        )),
        _ => Ok(()),
    }
}

/// The merchant's limits over everything approved today on any of its devices and channels,
/// this sale included: per payment, daily total and (for a card) uses of this card.
pub fn check_limits(
    tx: &Transaction<'_>,
    merchant_id: &str,
    limits: &LimitsWire,
    amount_fen: i64,
    card_hash: Option<&str>,
    now: i64,
) -> ApiResult<()> {
    let day = business_day(now);
    let exceeded = |field: &str, remaining: i64, message: String| {
        let mut e = refused(StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded", &message);
        e.body.field = Some(field.into());
        e.body.cap = Some(remaining.max(0));
        e
    };
    if amount_fen > limits.per_txn_fen {
        return Err(exceeded(
            "per_txn_fen",
            limits.per_txn_fen,
            format!("at most {} fen a payment; nothing was charged", limits.per_txn_fen),
        ));
    }
    let held = used_today(tx, merchant_id, now)?;
    let remaining = limits.daily_total_fen - held;
    if amount_fen > remaining {
        return Err(exceeded(
            "daily_total_fen",
            remaining,
            format!("{} fen remain of today's total on all devices; nothing was charged", remaining.max(0)),
        ));
    }
    if let Some(card_hash) = card_hash {
        return check_card_uses(tx, merchant_id, limits, card_hash, &day);
    }
    Ok(())
}

/// What the business day of `now` holds against the daily total: every approved payment,
/// whatever device or channel made it.
pub fn used_today(tx: &Transaction<'_>, merchant_id: &str, now: i64) -> ApiResult<i64> {
    let (start, end) = day_bounds(now);
    let held: i64 = tx.query_row(
        "SELECT COALESCE(SUM(amount_fen), 0) FROM payments
         WHERE merchant_id = ?1 AND created_at >= ?2 AND created_at < ?3 AND status = 'approved'",
        (merchant_id, start, end),
        |r| r.get(0),
    )?;
    // QR payments count too: paid ones, and those the customer is still confirming (they may
    // yet be paid); and paid QR orders. A voided one no longer counts, as a voided card payment.
    let held_qr: i64 = tx.query_row(
        "SELECT COALESCE(SUM(json_extract(json, '$.amount_fen')), 0) FROM qr_payments
         WHERE merchant_id = ?1 AND json_extract(json, '$.created_at') >= ?2 AND json_extract(json, '$.created_at') < ?3
           AND json_extract(json, '$.status') IN ('paid', 'user_paying')
           AND NOT EXISTS (SELECT 1 FROM qr_refunds r WHERE r.payment_key = qr_payments.key AND r.kind = 'void')",
        (merchant_id, start, end),
        |r| r.get(0),
    )?;
    let held_orders: i64 = tx.query_row(
        "SELECT COALESCE(SUM(json_extract(json, '$.amount_fen')), 0) FROM qr_orders
         WHERE merchant_id = ?1 AND json_extract(json, '$.created_at') >= ?2 AND json_extract(json, '$.created_at') < ?3
           AND json_extract(json, '$.status') = 'paid'
           AND NOT EXISTS (SELECT 1 FROM qr_refunds r WHERE r.payment_key = qr_orders.key AND r.kind = 'void')",
        (merchant_id, start, end),
        |r| r.get(0),
    )?;
    Ok(held + held_qr + held_orders)
}

/// The card's approved uses today against the per-card daily count, on all devices.
fn check_card_uses(
    tx: &Transaction<'_>,
    merchant_id: &str,
    limits: &LimitsWire,
    card_hash: &str,
    day: &str,
) -> ApiResult<()> {
    let uses: i64 = tx.query_row(
        "SELECT COUNT(*) FROM payments p JOIN payment_reads r ON r.key = p.key
         WHERE p.merchant_id = ?1 AND r.business_day = ?2 AND r.card_hash = ?3 AND p.status = 'approved'",
        (merchant_id, day, card_hash),
        |r| r.get(0),
    )?;
    if uses >= i64::from(limits.per_card_daily_count) {
        let mut e = refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit_exceeded",
            &format!("this card was used {uses} times today, the most allowed; nothing was charged"),
        );
        e.body.field = Some("per_card_daily_count".into());
        e.body.cap = Some(0);
        return Err(e);
    }
    Ok(())
}

/// The unix seconds at which the business day (China Standard Time) of `now` starts and ends.
fn day_bounds(now: i64) -> (i64, i64) {
    const CST: i64 = 8 * 3600;
    let start = (now + CST).div_euclid(86_400) * 86_400 - CST;
    (start, start + 86_400)
}

/// Keeps the read's KSN and card (hashed) with the payment, for replays and limits.
pub fn remember_read(tx: &Transaction<'_>, key: &str, merchant_id: &str, card: &CardData, now: i64) -> ApiResult<()> {
    tx.execute(
        "INSERT INTO payment_reads (key, merchant_id, ksn, card_hash, business_day) VALUES (?1, ?2, ?3, ?4, ?5)",
        (key, merchant_id, &card.ksn, &card.card_hash, business_day(now)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_bounds_follow_china_standard_time() {
        // 2026-12-01 15:59:59 UTC is 23:59:59 in Beijing; one second later is the next day.
        let last_second = 1_796_140_799;
        let (start, end) = super::day_bounds(last_second);
        assert_eq!(end, last_second + 1);
        assert_eq!(end - start, 86_400);
        assert_eq!(super::business_day(start), "2026-12-01");
        assert_eq!(super::business_day(end), "2026-12-02");
        assert_eq!(super::business_day(end - 1), "2026-12-01");
    }
}
