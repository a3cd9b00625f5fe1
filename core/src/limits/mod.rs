//! Daily limits: the merchant's daily total, per-transaction maximum and per-card daily use
//! count, evaluated atomically against the business day's running totals in SQLite.
//!
//! A payment first *reserves* its amount (one IMMEDIATE transaction that checks all three
//! limits against committed plus still-reserved amounts), then *commits* it when approved or
//! *releases* it when not. Concurrent reservations are serialised by SQLite's write lock, so no
//! interleaving can exceed a limit. The business day is the platform's date in China Standard
//! Time; the phone's clock is not used.

pub(crate) mod kind;

use rusqlite::OptionalExtension;

use crate::error::{Error, InternalError};
pub use crate::platform::wire::LimitsWire as Limits;
use crate::storage::Db;
pub use kind::LimitKind;
pub use starpos_protocol::calendar::business_day;

/// What is left of today's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remaining {
    pub business_day: String,
    pub limits: Limits,
    /// Daily total minus committed and reserved amounts.
    pub daily_total_remaining_fen: i64,
    /// The most one payment may be now: the smaller of the per-transaction limit and what
    /// remains of the daily total.
    pub max_next_payment_fen: i64,
}

/// A held amount; commit or release it exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub id: i64,
}

/// Holds `amount_fen` inside the caller's transaction (so a payment journal entry and its
/// reservation are one commit); see [`LimitBook::reserve`].
pub(crate) fn reserve_in(
    tx: &rusqlite::Transaction<'_>,
    merchant_id: &str,
    day: &str,
    amount_fen: i64,
    card_key: &str,
    now: i64,
) -> Result<Reservation, InternalError> {
    if amount_fen <= 0 {
        return Err(Error::invalid("amount", "an amount is a positive number of fen").into());
    }
    let limits = read_limits(tx, merchant_id)?.ok_or(Error::ProfileNotLoaded)?;
    if amount_fen > limits.per_txn_fen {
        return Err(exceeded(LimitKind::PerTransaction, amount_fen, limits.per_txn_fen));
    }
    let used = held(tx, merchant_id, day)?;
    let remaining = (limits.daily_total_fen - used).max(0);
    if amount_fen > remaining {
        return Err(exceeded(LimitKind::DailyTotal, amount_fen, remaining));
    }
    let card_uses: i64 = tx
        .query_row(
            "SELECT uses FROM limit_card_days WHERE merchant_id = ?1 AND business_day = ?2 AND card_key = ?3",
            (merchant_id, day, card_key),
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if card_uses >= limits.per_card_daily_count as i64 {
        return Err(exceeded(LimitKind::PerCardDailyCount, 1, 0));
    }
    tx.prepare_cached(
        "INSERT INTO limit_reservations (merchant_id, business_day, amount_fen, card_key, state, created_at)
         VALUES (?1, ?2, ?3, ?4, 'reserved', ?5)",
    )?
    .execute((merchant_id, day, amount_fen, card_key, now))?;
    let id = tx.last_insert_rowid();
    roll_up(tx, merchant_id, day, card_key, amount_fen)?;
    Ok(Reservation { id })
}

/// Adds a new reservation's `fen` and one use of its card to the day's roll-ups.
fn roll_up(
    tx: &rusqlite::Transaction<'_>,
    merchant_id: &str,
    day: &str,
    card_key: &str,
    fen: i64,
) -> Result<(), rusqlite::Error> {
    tx.prepare_cached(
        "INSERT INTO limit_days (merchant_id, business_day, held_fen) VALUES (?1, ?2, ?3)
         ON CONFLICT (merchant_id, business_day) DO UPDATE SET held_fen = held_fen + ?3",
    )?
    .execute((merchant_id, day, fen))?;
    tx.prepare_cached(
        "INSERT INTO limit_card_days (merchant_id, business_day, card_key, uses) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (merchant_id, business_day, card_key) DO UPDATE SET uses = uses + 1",
    )?
    .execute((merchant_id, day, card_key))?;
    Ok(())
}

/// Takes a reservation that moved to `released` out of its day's roll-ups (their rows exist:
/// the reservation put them there).
fn roll_back(tx: &rusqlite::Transaction<'_>, reservation: Reservation) -> Result<(), rusqlite::Error> {
    let (merchant_id, day, card_key, amount): (String, String, String, i64) = tx
        .prepare_cached("SELECT merchant_id, business_day, card_key, amount_fen FROM limit_reservations WHERE id = ?1")?
        .query_row([reservation.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    tx.prepare_cached("UPDATE limit_days SET held_fen = held_fen - ?3 WHERE merchant_id = ?1 AND business_day = ?2")?
        .execute((&merchant_id, &day, amount))?;
    tx.prepare_cached(
        "UPDATE limit_card_days SET uses = uses - 1 WHERE merchant_id = ?1 AND business_day = ?2 AND card_key = ?3",
    )?
    .execute((&merchant_id, &day, &card_key))?;
    Ok(())
}

/// Moves an open reservation to `committed` or `released` inside the caller's transaction;
/// answers whether it was open.
pub(crate) fn transition_in(
    tx: &rusqlite::Transaction<'_>,
    reservation: Reservation,
    to: &str,
) -> Result<bool, InternalError> {
    let changed = tx
        .prepare_cached("UPDATE limit_reservations SET state = ?1 WHERE id = ?2 AND state = 'reserved'")?
        .execute((to, reservation.id))?
        == 1;
    if changed && to == "released" {
        roll_back(tx, reservation)?;
    }
    Ok(changed)
}

/// Gives a committed amount back to its day (a void): inside the caller's transaction.
pub(crate) fn uncommit_in(tx: &rusqlite::Transaction<'_>, reservation: Reservation) -> Result<bool, InternalError> {
    let changed = tx
        .prepare_cached("UPDATE limit_reservations SET state = 'released' WHERE id = ?1 AND state = 'committed'")?
        .execute([reservation.id])?
        == 1;
    if changed {
        roll_back(tx, reservation)?;
    }
    Ok(changed)
}

/// Limits storage and evaluation for one database.
pub struct LimitBook<'a> {
    db: &'a Db,
}

impl<'a> LimitBook<'a> {
    pub fn new(db: &'a Db) -> Self {
        LimitBook { db }
    }

    /// Records the limits the platform confirmed.
    pub fn store(&self, merchant_id: &str, limits: &Limits, now: i64) -> Result<(), InternalError> {
        self.db.with(|c| {
            c.prepare_cached(
                "INSERT INTO limits (merchant_id, daily_total_fen, per_txn_fen, per_card_daily_count, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (merchant_id) DO UPDATE SET daily_total_fen = ?2, per_txn_fen = ?3,
                     per_card_daily_count = ?4, updated_at = ?5",
            )?
            .execute((
                merchant_id,
                limits.daily_total_fen,
                limits.per_txn_fen,
                limits.per_card_daily_count,
                now,
            ))?;
            Ok(())
        })
    }

    pub fn limits(&self, merchant_id: &str) -> Result<Option<Limits>, InternalError> {
        self.db.with(|c| Ok(read_limits(c, merchant_id)?))
    }

    /// Holds `amount_fen` for a payment with the card `card_key` on `day`, or says which limit
    /// refuses it and what remains.
    pub fn reserve(
        &self,
        merchant_id: &str,
        day: &str,
        amount_fen: i64,
        card_key: &str,
        now: i64,
    ) -> Result<Reservation, Error> {
        if amount_fen <= 0 {
            return Err(Error::invalid("amount", "an amount is a positive number of fen"));
        }
        self.db.write(|tx| reserve_in(tx, merchant_id, day, amount_fen, card_key, now)).map_err(Error::from)
    }

    /// The payment was approved: its amount counts for the day for good.
    pub fn commit(&self, reservation: Reservation) -> Result<(), Error> {
        self.transition(reservation, "committed")
    }

    /// The payment did not happen: its amount is available again.
    pub fn release(&self, reservation: Reservation) -> Result<(), Error> {
        self.transition(reservation, "released")
    }

    fn transition(&self, reservation: Reservation, to: &str) -> Result<(), Error> {
        let changed = self.db.write(|tx| transition_in(tx, reservation, to))?;
        if changed {
            Ok(())
        } else {
            Err(Error::Internal { reason: format!("reservation {} is not open", reservation.id) })
        }
    }

    /// Reservations still open (for recovery after a restart: each belongs to a payment whose
    /// outcome must be resolved).
    pub fn open_reservations(&self, merchant_id: &str) -> Result<Vec<Reservation>, InternalError> {
        self.db.with(|c| {
            let mut q = c.prepare("SELECT id FROM limit_reservations WHERE merchant_id = ?1 AND state = 'reserved'")?;
            let ids = q.query_map([merchant_id], |r| Ok(Reservation { id: r.get(0)? }))?;
            Ok(ids.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn remaining(&self, merchant_id: &str, day: &str) -> Result<Remaining, Error> {
        let (limits, used) = self.db.with(|c| {
            let limits = read_limits(c, merchant_id)?;
            Ok((limits, held(c, merchant_id, day)?))
        })?;
        let limits = limits.ok_or(Error::ProfileNotLoaded)?;
        let left = (limits.daily_total_fen - used).max(0);
        Ok(Remaining {
            business_day: day.to_string(),
            limits,
            daily_total_remaining_fen: left,
            max_next_payment_fen: left.min(limits.per_txn_fen),
        })
    }
}

/// Learns what the merchant's devices used of `day` in all (`used_fen`, the platform's count of
/// the day's approved payments): the part this phone did not commit is the other devices', and
/// counts in this phone's pre-check from now on. An estimate between two looks (the platform
/// enforces the exact figure on every payment); a later look replaces it.
pub(crate) fn note_platform_usage_in(
    tx: &rusqlite::Transaction<'_>,
    merchant_id: &str,
    day: &str,
    used_fen: i64,
) -> Result<i64, InternalError> {
    let own: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(amount_fen), 0) FROM limit_reservations
             WHERE merchant_id = ?1 AND business_day = ?2 AND state = 'committed'",
        )?
        .query_row((merchant_id, day), |r| r.get(0))?;
    let others = (used_fen - own).max(0);
    tx.prepare_cached(
        "INSERT INTO limit_days (merchant_id, business_day, held_fen, others_fen) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT (merchant_id, business_day) DO UPDATE SET others_fen = ?3",
    )?
    .execute((merchant_id, day, others))?;
    Ok(others)
}

/// The day's committed and still-reserved amounts (from the roll-up), with what the merchant's
/// other devices used as last learnt.
fn held(c: &rusqlite::Connection, merchant_id: &str, day: &str) -> Result<i64, rusqlite::Error> {
    Ok(c.prepare_cached("SELECT held_fen + others_fen FROM limit_days WHERE merchant_id = ?1 AND business_day = ?2")?
        .query_row((merchant_id, day), |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

fn read_limits(c: &rusqlite::Connection, merchant_id: &str) -> Result<Option<Limits>, rusqlite::Error> {
    c.prepare_cached("SELECT daily_total_fen, per_txn_fen, per_card_daily_count FROM limits WHERE merchant_id = ?1")?
        .query_row([merchant_id], |r| {
            Ok(Limits { daily_total_fen: r.get(0)?, per_txn_fen: r.get(1)?, per_card_daily_count: r.get(2)? })
        })
        .optional()
}

fn exceeded(limit: LimitKind, attempted: i64, remaining: i64) -> InternalError {
    InternalError::Public(Error::LimitExceeded { limit, attempted, remaining })
}

#[cfg(test)]
mod tests;
