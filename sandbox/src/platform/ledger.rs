//! Ledger anchors (docs/history.md, "Anchors"): each device's last accepted head of its ledger
//! chain (entries and the last hash). A new head must extend it: the phone sends its own hash at
//! the anchored position, which must be the one anchored, and at least as many entries. A head
//! that does not is refused (`ledger_not_extended`, 409) and flagged for the platform's risk
//! team (`/dev/ledger-flags`), and the anchor stays where it was. A head of another ledger (the
//! device's database was made anew: a reinstall, or a file put in its place) starts a new series
//! of anchors and is flagged as `replaced`, for review.

use std::sync::Arc;

use axum::extract::State as St;
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::wire::{LedgerAnchor, LedgerAnchorRequest, LedgerAnchorWire};

use super::auth::Signed;
use super::error::{body, ApiError, ApiResult};
use super::faults::injected_anchor_failure;
use super::state::State;

fn device_of(tx: &Transaction<'_>, session_id: &str) -> ApiResult<String> {
    Ok(tx.query_row("SELECT device_id FROM sessions WHERE id = ?1", [session_id], |r| r.get(0))?)
}

fn held(tx: &Transaction<'_>, merchant_id: &str, device_id: &str) -> ApiResult<Option<LedgerAnchor>> {
    Ok(tx
        .query_row(
            "SELECT ledger_id, entries, head FROM ledger_anchors WHERE merchant_id = ?1 AND device_id = ?2",
            (merchant_id, device_id),
            |r| Ok(LedgerAnchor { ledger_id: r.get(0)?, entries: r.get::<_, i64>(1)? as u64, head: r.get(2)? }),
        )
        .optional()?)
}

fn hash_ok(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub async fn get(St(state): St<Arc<State>>, Signed { caller, .. }: Signed) -> ApiResult<Json<LedgerAnchorWire>> {
    injected_anchor_failure(&state)?;
    let mut db = state.db();
    let tx = db.transaction()?;
    let device = device_of(&tx, &caller.session_id)?;
    Ok(Json(LedgerAnchorWire { anchor: held(&tx, &caller.merchant_id, &device)? }))
}

pub async fn put(
    St(state): St<Arc<State>>,
    Signed { caller, body: bytes }: Signed,
) -> ApiResult<Json<LedgerAnchorWire>> {
    injected_anchor_failure(&state)?;
    let req: LedgerAnchorRequest = body(&bytes)?;
    let id_ok = (16..=64).contains(&req.ledger_id.len()) && req.ledger_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !id_ok {
        return Err(ApiError::invalid("invalid_request", "ledger_id", "16 to 64 hex digits"));
    }
    if req.entries == 0 || req.entries > i64::MAX as u64 || !hash_ok(&req.head) {
        return Err(ApiError::invalid(
            "invalid_request",
            "head",
            "a count of entries and a SHA-256 hash in lowercase hex",
        ));
    }
    if req.previous_hash.as_deref().is_some_and(|h| !hash_ok(h)) {
        return Err(ApiError::invalid("invalid_request", "previous_hash", "a SHA-256 hash in lowercase hex"));
    }
    let now = state.now();
    let mut db = state.db();
    let tx = db.transaction()?;
    let device = device_of(&tx, &caller.session_id)?;
    let anchored = held(&tx, &caller.merchant_id, &device)?;
    let replaced = anchored.as_ref().is_some_and(|a| a.ledger_id != req.ledger_id);
    let extends = match &anchored {
        None => true,
        // Another ledger: a series of its own, from nothing.
        Some(_) if replaced => req.previous_entries.is_none(),
        Some(a) => {
            req.previous_entries == Some(a.entries)
                && req.previous_hash.as_deref() == Some(a.head.as_str())
                && req.entries >= a.entries
                && (req.entries > a.entries || req.head == a.head)
        }
    };
    let flag = |kind: &str| {
        tx.execute(
            "INSERT INTO ledger_flags (merchant_id, device_id, kind, at, anchored_entries, anchored_head,
                 claimed_entries, claimed_head, previous_entries, previous_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                caller.merchant_id,
                device,
                kind,
                now,
                anchored.as_ref().map(|a| a.entries as i64),
                anchored.as_ref().map(|a| a.head.clone()),
                req.entries as i64,
                req.head,
                req.previous_entries.map(|n| n as i64),
                req.previous_hash,
            ],
        )
    };
    if !extends {
        flag("not_extended")?;
        // The flag is the point: kept even though the request is refused.
        tx.commit()?;
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ledger_not_extended",
            "this ledger does not extend the head anchored before: it was rewritten or cut short",
        ));
    }
    if replaced {
        flag("replaced")?;
    }
    tx.execute(
        "INSERT INTO ledger_anchors (merchant_id, device_id, ledger_id, entries, head, anchored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (merchant_id, device_id) DO UPDATE SET ledger_id = ?3, entries = ?4, head = ?5, anchored_at = ?6",
        (&caller.merchant_id, &device, &req.ledger_id, req.entries as i64, &req.head, now),
    )?;
    tx.commit()?;
    let anchor = LedgerAnchor { ledger_id: req.ledger_id, entries: req.entries, head: req.head };
    Ok(Json(LedgerAnchorWire { anchor: Some(anchor) }))
}
