//! Reader pairing: the platform knows every reader's identity key from manufacture (the
//! sandbox "factory" derives it from the serial, see `test_cards::reader_identity`) and binds a
//! reader to the first merchant that pairs it. It certifies the pairing phone's key on the
//! reader (`reader::phone_cert`), so the reader opens sessions only for that merchant's phones.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::OptionalExtension;
use starpos_protocol::reader::phone_cert::PhoneCertificate;
use starpos_protocol::wire::{PairReaderRequest, PairedReaderWire};

use super::auth::Signed;
use super::error::{body, ApiError, ApiResult};
use super::state::State;
use crate::test_cards::{reader_authority, reader_identity, SIM_MODEL};

/// Serials the sandbox factory has made: `SP` + three digits, a hyphen, six digits.
fn manufactured(serial: &str) -> bool {
    let b = serial.as_bytes();
    b.len() == 12 && b.starts_with(b"SP") && b[5] == b'-' && b[2..5].iter().chain(&b[6..]).all(u8::is_ascii_digit)
}

pub async fn pair(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<PairedReaderWire>> {
    let req: PairReaderRequest = body(&bytes)?;
    if !manufactured(&req.serial) {
        return Err(ApiError::invalid("reader_unknown", &req.serial, "no reader with this serial number was made"));
    }
    let phone_key: [u8; 32] =
        req.phone_key.as_deref().and_then(|k| hex::decode(k).ok()).and_then(|k| k.try_into().ok()).ok_or_else(
            || ApiError::invalid("invalid_request", "phone_key", "the phone's Ed25519 public key, 32 bytes hex"),
        )?;
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let owner: Option<(String, i64)> = tx
        .query_row("SELECT merchant_id, paired_at FROM readers WHERE serial = ?1", [&req.serial], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let paired_at = match owner {
        Some((merchant, _)) if merchant != caller.merchant_id => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "reader_paired_elsewhere",
                "the reader belongs to another merchant",
            );
            e.body.field = Some(req.serial.clone());
            return Err(e);
        }
        Some((_, at)) => at,
        None => {
            tx.execute(
                "INSERT INTO readers (serial, merchant_id, paired_at) VALUES (?1, ?2, ?3)",
                (&req.serial, &caller.merchant_id, now),
            )?;
            // A new owner: certificates of the reader's earlier owners stop opening it once
            // this generation's first phone has connected.
            tx.execute(
                "INSERT INTO reader_generations (serial, generation) VALUES (?1, 1)
                 ON CONFLICT (serial) DO UPDATE SET generation = generation + 1",
                [&req.serial],
            )?;
            now
        }
    };
    let generation: u32 =
        tx.query_row("SELECT generation FROM reader_generations WHERE serial = ?1", [&req.serial], |r| r.get(0))?;
    tx.commit()?;
    let certificate =
        PhoneCertificate { serial: req.serial.clone(), merchant_id: caller.merchant_id.clone(), phone_key, generation }
            .issue(&reader_authority());
    let identity = starpos_protocol::reader::secure::identity_public(&reader_identity(&req.serial));
    Ok(Json(PairedReaderWire {
        serial: req.serial,
        model: SIM_MODEL.into(),
        identity_public: hex::encode(identity),
        paired_at,
        phone_certificate: hex::encode(certificate),
    }))
}

/// The merchant releases a reader (sold, returned): another merchant may pair it afterwards.
pub async fn release(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<serde_json::Value>> {
    let req: PairReaderRequest = body(&bytes)?;
    let released = state
        .db()
        .execute("DELETE FROM readers WHERE serial = ?1 AND merchant_id = ?2", (&req.serial, &caller.merchant_id))?;
    if released == 0 {
        return Err(ApiError::invalid("reader_unknown", &req.serial, "no such reader is paired to this merchant"));
    }
    Ok(Json(serde_json::json!({ "released": req.serial })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn factory_serials() {
        assert!(super::manufactured("SP100-000123"));
        for bad in ["SP100-00012", "SQ100-000123", "SP100_000123", "SP1A0-000123", ""] {
            assert!(!super::manufactured(bad), "{bad}");
        }
    }
}
