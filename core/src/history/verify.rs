//! `verify_journal()`: walks the ledger in order recomputing each row's chain hash. An edited
//! row no longer matches its hash; a deleted or inserted row breaks the numbering or the chain
//! of the row after it. The first break is reported with where it is.

use super::ledger::Row;
use crate::error::InternalError;
use crate::storage::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Row `id` does not match the chain: it was changed, or a row just before it was inserted,
    /// replaced or renumbered. Rows before it are intact.
    Changed { id: i64 },
    /// Rows are missing between `after` and `before` (deleted).
    Missing { after: i64, before: i64 },
    /// The chain checks out, but holds fewer entries than the last anchor (`anchored`): its
    /// newest entries were cut off.
    Truncated { anchored: u64, found: u64 },
    /// The chain checks out, but its entry at the last anchor's position is not the one
    /// anchored: the ledger was rewritten and rehashed.
    Rewritten { anchored: u64 },
    /// The ledger is not the one last anchored (another database file in its place; a
    /// reinstall whose secure storage kept the earlier anchor shows the same way).
    Replaced { anchored: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Rows that checked out before the first problem (all of them when there is none).
    pub entries: u64,
    pub problem: Option<Problem>,
}

type Stored = (
    i64,
    i64,
    Vec<u8>,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<Vec<u8>>,
    bool,
    Vec<u8>,
    Option<i64>,
);

pub fn verify(db: &Db) -> Result<Check, InternalError> {
    db.with(|c| {
        let mut q = c.prepare(
            "SELECT id, owner, key, kind, status, channel, card_kind, day, at, amount_fen, fee_fen, net_fen, last4,
                 reference, batch, voucher, parent, synced, hash, province FROM history ORDER BY id",
        )?;
        let mut rows = q.query([])?;
        let mut previous: Vec<u8> = Vec::new();
        let mut last_id = 0i64;
        let mut entries = 0u64;
        while let Some(r) = rows.next()? {
            let s: Stored = (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
                r.get(15)?,
                r.get(16)?,
                r.get(17)?,
                r.get(18)?,
                r.get(19)?,
            );
            let id = s.0;
            if id != last_id + 1 {
                return Ok(Check { entries, problem: Some(Problem::Missing { after: last_id, before: id }) });
            }
            let row = Row {
                id,
                owner: s.1,
                key: &s.2,
                kind: s.3,
                status: s.4,
                channel: s.5,
                card_kind: s.6,
                day: s.7,
                at: s.8,
                amount_fen: s.9,
                fee_fen: s.10,
                net_fen: s.11,
                last4: s.12,
                reference: s.13,
                batch: s.14,
                voucher: s.15,
                parent: s.16.as_deref(),
                synced: s.17,
                province: s.19,
            };
            let stored = &s.18;
            if row.chain(&previous)[..] != stored[..] {
                return Ok(Check { entries, problem: Some(Problem::Changed { id }) });
            }
            previous = stored.clone();
            last_id = id;
            entries += 1;
        }
        Ok(Check { entries, problem: None })
    })
}
