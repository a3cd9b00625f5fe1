//! History sync: the platform's money events after this phone's cursor, page by page, into the
//! ledger: sales made on the merchant's other devices, and voids, refunds and reversals made
//! elsewhere. Each page and the cursor that follows it are committed together, so a sync cut
//! off by a poor link resumes where it stopped and never adds a row twice (rows are keyed).

use reqwest::Method;
use rusqlite::OptionalExtension;

use super::ledger::{self, card_kind_of, Channel, Kind, Record, Status};
use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::platform::wire::{TransactionWire, TransactionsPage};
use crate::storage::Db;

/// Events a page (the platform allows up to 500).
pub const PAGE: u32 = 200;

/// Follows a sync (called from a core thread after each page; keep it quick).
pub trait SyncProgress: Send + Sync {
    fn on_page(&self, added: u64, seen: u64);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSummary {
    /// Rows new to this phone.
    pub added: u64,
    /// Events the platform sent (this phone's own included: already in the ledger).
    pub seen: u64,
    pub pages: u32,
    /// The ledger's head the platform now holds as its anchor (entries); `None` while the
    /// ledger is empty, or when the head was refused.
    pub anchored_entries: Option<u64>,
    /// Set when the ledger does not extend the platform's anchor (rewritten or cut short): the
    /// platform refused the head and flagged it.
    pub journal_problem: Option<super::verify::Problem>,
}

fn cursor_key(merchant_id: &str) -> String {
    format!("history_cursor:{merchant_id}")
}

pub fn cursor(db: &Db, merchant_id: &str) -> Result<i64, InternalError> {
    db.with(|c| {
        Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [cursor_key(merchant_id)], |r| r.get::<_, String>(0))
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    })
}

/// The ledger record for a platform event; `None` for what the ledger does not keep.
pub fn record_of(t: &TransactionWire) -> Option<Record> {
    let kind = match t.kind.as_str() {
        "sale" => Kind::Sale,
        "void" => Kind::Void,
        "refund" => Kind::Refund,
        "reversal" => Kind::Reversal,
        _ => return None,
    };
    let status = match t.status.as_str() {
        "approved" => Status::Approved,
        "declined" => Status::Declined,
        _ => return None,
    };
    Some(Record {
        key: t.id.clone(),
        kind,
        status,
        channel: Channel::of(&t.channel, None),
        card_kind: card_kind_of(Some(&t.card_kind)),
        day: ledger::day_number(&t.business_day)?,
        at: t.at,
        amount_fen: t.amount_fen,
        fee_fen: t.fee_fen,
        net_fen: t.net_fen,
        last4: t.last4.clone(),
        reference: t.reference_number.clone(),
        batch: t.batch_number.as_deref().and_then(|b| b.parse().ok()),
        voucher: t.voucher_number.as_deref().and_then(|v| v.parse().ok()),
        parent: t.parent.clone(),
        synced: true,
        province: t.province.clone().filter(|p| crate::regions::is_province_code(p)),
    })
}

pub(crate) async fn sync(
    db: &Db,
    accounts: &Accounts,
    merchant_id: &str,
    progress: &dyn SyncProgress,
) -> Result<SyncSummary, Error> {
    let mut summary = SyncSummary { added: 0, seen: 0, pages: 0, anchored_entries: None, journal_problem: None };
    let mut after = cursor(db, merchant_id)?;
    loop {
        let path = format!("v1/transactions?after={after}&limit={PAGE}");
        let page: TransactionsPage = accounts.signed::<(), _>(Method::GET, &path, None, true).await?;
        let added = db.write(|tx| {
            let mut added = 0;
            for t in &page.items {
                if let Some(r) = record_of(t) {
                    added += u64::from(ledger::append_in(tx, merchant_id, &r)?);
                }
            }
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            )?
            .execute((cursor_key(merchant_id), page.next_after.to_string()))?;
            Ok(added)
        })?;
        summary.added += added;
        summary.seen += page.items.len() as u64;
        summary.pages += 1;
        progress.on_page(summary.added, summary.seen);
        if !page.more || page.next_after <= after {
            return Ok(summary);
        }
        after = page.next_after;
    }
}
