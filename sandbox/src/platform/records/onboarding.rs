//! A merchant's account and onboarding records: creating the merchant with its first device,
//! the real-name details, and a bound settlement card. Registration, the onboarding handlers
//! and the dev endpoint that makes a merchant ready to sell all write through these, so the
//! rows are the same however they were made.

use axum::http::StatusCode;
use ring::digest;
use rusqlite::Connection;
use starpos_protocol::util::random_hex;
use starpos_protocol::validate;

use crate::platform::error::{ApiError, ApiResult};
use crate::platform::state::State;

/// A card in the sandbox's bank registry (docs/platform-api.md lists them).
pub struct RegistryCard {
    pub card_number: &'static str,
    pub holder_name: &'static str,
    pub id_number: &'static str,
    pub reserved_phone: &'static str,
}

pub const BANK_REGISTRY: &[RegistryCard] = &[
    RegistryCard {
        card_number: "6222021234567890128",
        holder_name: "张三",
        id_number: "11010519491231002X",
        reserved_phone: "13900139000",
    },
    RegistryCard {
        card_number: "6225881234567898",
        holder_name: "张三",
        id_number: "11010519491231002X",
        reserved_phone: "13900139000",
    },
    RegistryCard {
        card_number: "622908123456789019",
        holder_name: "李四",
        id_number: "440524198001010013",
        reserved_phone: "13900139001",
    },
];

pub fn check_phone(phone: &str) -> ApiResult<()> {
    match validate::phone_problem(phone) {
        Some(why) => Err(ApiError::invalid("phone_invalid", "phone", why)),
        None => Ok(()),
    }
}

pub fn check_device(device_id: &str) -> ApiResult<()> {
    if device_id.is_empty() || device_id.len() > 128 {
        return Err(ApiError::invalid("invalid_request", "device_id", "a device id has 1 to 128 bytes"));
    }
    Ok(())
}

/// The sandbox keeps hashes of card and ID numbers, never the numbers.
pub fn hash(value: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// Creates a merchant for `phone` with `device_id` as its first bound device; answers the new
/// merchant number. The caller has checked the phone, password and device id.
pub fn create_merchant(
    db: &Connection,
    state: &State,
    phone: &str,
    password: &str,
    device_id: &str,
) -> ApiResult<String> {
    let exists: bool =
        db.query_row("SELECT EXISTS(SELECT 1 FROM merchants WHERE phone = ?1)", [phone], |r| r.get(0))?;
    if exists {
        return Err(ApiError::new(StatusCode::CONFLICT, "account_exists", "an account exists for this phone; log in"));
    }
    let count: i64 = db.query_row("SELECT COUNT(*) FROM merchants", [], |r| r.get(0))?;
    // Merchant numbers are 15 digits; the sandbox hands them out in order after the seed's
    // 898440358120001, and stops before they would grow a sixteenth digit.
    if count >= 800_000 {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "sandbox_full",
            "the sandbox has no merchant numbers left",
        ));
    }
    let merchant_id = format!("898440358{:06}", 200_000 + count);
    let now = state.now();
    // Terminal numbers are 8 digits: the province code, then a sequence.
    let terminal_id = format!("44{:06}", 100_000 + count);
    let (salt, pw_hash) = state.hash_password(password);
    db.execute(
        "INSERT INTO merchants (id, phone, pw_salt, pw_hash, created_at, terminal_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (&merchant_id, phone, salt, pw_hash, now, &terminal_id),
    )?;
    db.execute(
        "INSERT INTO devices (merchant_id, device_id, bound_at) VALUES (?1, ?2, ?3)",
        (&merchant_id, device_id, now),
    )?;
    Ok(merchant_id)
}

/// Checked real-name details of a merchant.
pub struct RealName<'a> {
    pub holder_name: &'a str,
    pub id_number: &'a str,
    pub merchant_name: &'a str,
    pub credit_code: Option<&'a str>,
}

pub fn set_real_name(db: &Connection, merchant_id: &str, r: &RealName<'_>) -> ApiResult<()> {
    db.execute(
        "UPDATE merchants SET holder_name = ?1, id_hash = ?2, merchant_name = ?3, credit_code = ?4 WHERE id = ?5",
        (
            r.holder_name,
            hash(&r.id_number.trim().to_ascii_uppercase()),
            r.merchant_name,
            r.credit_code.map(str::to_ascii_uppercase),
            merchant_id,
        ),
    )?;
    Ok(())
}

/// A settlement card as the platform keeps it: a hash and the masked number.
pub struct BoundCard<'a> {
    pub card_hash: &'a str,
    pub masked: &'a str,
    pub issuer_bank: Option<&'a str>,
    pub card_kind: &'a str,
}

/// Binds `card` to the merchant; answers the new card's id.
pub fn add_card(
    db: &Connection,
    merchant_id: &str,
    card: &BoundCard<'_>,
    is_default: bool,
    now: i64,
) -> ApiResult<String> {
    let card_id = random_hex(8);
    db.execute(
        "INSERT INTO cards (id, merchant_id, card_hash, masked, issuer_bank, card_kind, is_default, bound_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (&card_id, merchant_id, card.card_hash, card.masked, card.issuer_bank, card.card_kind, is_default, now),
    )?;
    Ok(card_id)
}
