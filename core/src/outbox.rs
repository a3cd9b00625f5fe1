//! The outbox: non-money requests made while the platform was out of reach, kept on disk and
//! replayed in order when the link returns (the background loop, or the app reporting a
//! network again). Only requests whose body carries an idempotency key go here, so a replay of
//! one that did arrive changes nothing. Money requests never do: they keep the payment rules
//! (journal, idempotency key, reversal) of docs/payments.md.

use reqwest::Method;
use rusqlite::OptionalExtension;

use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::storage::Db;

const RETRY_FIRST_SECS: i64 = 5;
const RETRY_MAX_SECS: i64 = 300;

/// What kinds of requests may be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST v1/merchant/cross-province/applications`.
    CrossProvinceApplication,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::CrossProvinceApplication => "cross_province_application",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::CrossProvinceApplication => "v1/merchant/cross-province/applications",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        (s == "cross_province_application").then_some(Kind::CrossProvinceApplication)
    }
}

/// A queued request.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: i64,
    pub kind: Kind,
    pub body: String,
    pub created_at: i64,
}

/// Queues `body` (JSON, with its idempotency key) for `kind`, due now.
pub fn enqueue(db: &Db, merchant_id: &str, kind: Kind, body: &str, now: i64) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.execute(
            "INSERT INTO outbox (merchant_id, kind, body, created_at, attempts, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?4)",
            (merchant_id, kind.as_str(), body, now),
        )?;
        Ok(())
    })
}

/// Everything queued for the merchant, oldest first.
pub fn queued(db: &Db, merchant_id: &str) -> Result<Vec<Queued>, InternalError> {
    db.with(|c| {
        let mut stmt =
            c.prepare_cached("SELECT id, kind, body, created_at FROM outbox WHERE merchant_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([merchant_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, body, created_at) = row?;
            match Kind::parse(&kind) {
                Some(kind) => out.push(Queued { id, kind, body, created_at }),
                None => tracing::warn!(kind, "unknown outbox entry left alone"),
            }
        }
        Ok(out)
    })
}

/// Makes everything queued due now (the link is back: no reason to wait out a back-off).
pub fn due_now(db: &Db, merchant_id: &str) -> Result<(), InternalError> {
    db.write(|tx| {
        tx.execute("UPDATE outbox SET next_attempt_at = 0 WHERE merchant_id = ?1", [merchant_id])?;
        Ok(())
    })
}

/// When the earliest queued request is due.
pub fn next_due(db: &Db, merchant_id: &str) -> Result<Option<i64>, InternalError> {
    db.with(|c| {
        Ok(c.query_row("SELECT MIN(next_attempt_at) FROM outbox WHERE merchant_id = ?1", [merchant_id], |r| r.get(0))
            .optional()?
            .flatten())
    })
}

/// Sends what is due, oldest first; stops at the first failure of the moment (the link is
/// still down: everything after it would fail too) and schedules the next try with back-off.
/// A request the platform refuses on its merits (it would be refused again) is dropped.
/// Answers how many were delivered.
/// One lane for sending queued requests and for reading back what they change: two replays (the
/// background worker's and one at start-up) never send the same request twice, and a refresh
/// never sees a request as neither queued nor delivered (sent after the refresh asked, removed
/// from the queue before it answered).
static LANE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) async fn lane() -> tokio::sync::MutexGuard<'static, ()> {
    LANE.lock().await
}

pub(crate) async fn replay(db: &Db, accounts: &Accounts, merchant_id: &str) -> Result<usize, Error> {
    let _lane = lane().await;
    let now = accounts.platform_now();
    let due: Vec<(Queued, i64, i64)> = db.with(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT id, kind, body, created_at, attempts, next_attempt_at FROM outbox
             WHERE merchant_id = ?1 AND next_attempt_at <= ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map((merchant_id, now), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, body, created_at, attempts, next) = row?;
            if let Some(kind) = Kind::parse(&kind) {
                out.push((Queued { id, kind, body, created_at }, attempts, next));
            }
        }
        Ok(out)
    })?;
    let mut delivered = 0;
    for (q, attempts, _) in due {
        let body: serde_json::Value = serde_json::from_str(&q.body).map_err(InternalError::from)?;
        let sent: Result<serde_json::Value, Error> =
            accounts.signed(Method::POST, q.kind.path(), Some(&body), true).await;
        match sent {
            Ok(_) => {
                db.write(|tx| Ok(tx.execute("DELETE FROM outbox WHERE id = ?1", [q.id])?))?;
                delivered += 1;
            }
            // Of the moment (or waiting for a login): keep it, try again later.
            Err(e) if e.is_transient() || matches!(e, Error::SessionExpired | Error::NotLoggedIn) => {
                tracing::info!(kind = q.kind.as_str(), error = %e, "a queued request waits");
                let backoff = (RETRY_FIRST_SECS << attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
                db.write(|tx| {
                    Ok(tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1 WHERE id = ?2",
                        (now + backoff, q.id),
                    )?)
                })?;
                break;
            }
            Err(e) => {
                // Refused on its merits (it would be refused again): drop it, say so in the log.
                tracing::warn!(kind = q.kind.as_str(), error = %e, "a queued request was refused; dropped");
                db.write(|tx| Ok(tx.execute("DELETE FROM outbox WHERE id = ?1", [q.id])?))?;
            }
        }
    }
    Ok(delivered)
}
