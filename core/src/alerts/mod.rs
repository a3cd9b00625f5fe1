//! The merchant's alert feed (issue #16 item 3): things the merchant should know of without
//! asking, kept on the phone until read. Each alert has a kind, a severity, the time, the
//! entity it is about (a sale, a device, a business day, a province), what happened and what to
//! do. The component raising an event names it once (`dedup`): the same event seen again (the
//! worker's next pass, the next sync) adds nothing, so the feed holds each event once.
//!
//! The app lists the feed, marks alerts read, and sets a listener that hears each new alert as
//! it is raised (the shells turn it into a Flow / AsyncStream).

pub(crate) mod events;

use std::sync::{Arc, Mutex};

use rusqlite::Row;

use crate::error::{Error, InternalError};
use crate::history::{Batch, Problem};
use crate::payments::Sale;
use crate::regions::CrossProvinceStatus;
use crate::starpos::Inner;
use crate::storage::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A device logged in to the account for the first time (bound with an SMS code).
    NewDevice,
    /// 80 % of the day's total limit is used.
    LimitNearlyUsed,
    /// A sale's outcome is not settled with the platform after 15 minutes (a reversal not yet
    /// acknowledged).
    PaymentNeedsAttention,
    /// A settlement batch paid less than its net (found by reconciliation).
    ShortSettlement,
    /// A cross-province application was approved.
    CrossProvinceApproved,
    /// A cross-province application was rejected.
    CrossProvinceRejected,
    /// An approved cross-province period ends within a day.
    CrossProvinceExpiring,
    /// The ledger did not check out (a broken chain, or a head that does not extend its anchor).
    JournalCheckFailed,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NewDevice => "new_device",
            AlertKind::LimitNearlyUsed => "limit_nearly_used",
            AlertKind::PaymentNeedsAttention => "payment_needs_attention",
            AlertKind::ShortSettlement => "short_settlement",
            AlertKind::CrossProvinceApproved => "cross_province_approved",
            AlertKind::CrossProvinceRejected => "cross_province_rejected",
            AlertKind::CrossProvinceExpiring => "cross_province_expiring",
            AlertKind::JournalCheckFailed => "journal_check_failed",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        [
            AlertKind::NewDevice,
            AlertKind::LimitNearlyUsed,
            AlertKind::PaymentNeedsAttention,
            AlertKind::ShortSettlement,
            AlertKind::CrossProvinceApproved,
            AlertKind::CrossProvinceRejected,
            AlertKind::CrossProvinceExpiring,
            AlertKind::JournalCheckFailed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// How much it matters: money or the account at risk is critical.
    pub fn severity(self) -> Severity {
        match self {
            AlertKind::CrossProvinceApproved => Severity::Info,
            AlertKind::LimitNearlyUsed | AlertKind::CrossProvinceExpiring | AlertKind::CrossProvinceRejected => {
                Severity::Warning
            }
            AlertKind::NewDevice
            | AlertKind::PaymentNeedsAttention
            | AlertKind::ShortSettlement
            | AlertKind::JournalCheckFailed => Severity::Critical,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: i64,
    pub kind: AlertKind,
    pub severity: Severity,
    /// When it was raised (platform time, unix seconds).
    pub at: i64,
    /// What it is about: a sale id, a device id, a business day, a province code.
    pub subject: String,
    /// What happened.
    pub message: String,
    /// What to do.
    pub action: String,
    pub read: bool,
}

/// What the app implements to hear each new alert (called on a core thread; keep it quick).
pub trait AlertListener: Send + Sync {
    fn on_alert(&self, alert: Alert);
}

/// An alert to raise: `dedup` names the event, so raising it again adds nothing.
pub(crate) struct Raise {
    pub kind: AlertKind,
    pub subject: String,
    pub message: String,
    pub action: String,
    pub dedup: String,
}

pub(crate) struct Alerts {
    db: Arc<Db>,
    listener: Mutex<Option<Arc<dyn AlertListener>>>,
}

const COLUMNS: &str = "id, kind, at, subject, message, action, read";

fn alert(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let kind: String = r.get(1)?;
    let kind = AlertKind::parse(&kind).ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("kind {kind}")))?;
    Ok(Alert {
        id: r.get(0)?,
        kind,
        severity: kind.severity(),
        at: r.get(2)?,
        subject: r.get(3)?,
        message: r.get(4)?,
        action: r.get(5)?,
        read: r.get(6)?,
    })
}

impl Alerts {
    pub fn new(db: Arc<Db>) -> Self {
        Alerts { db, listener: Mutex::new(None) }
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn AlertListener>>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    /// Keeps the alert (once per `dedup`) and tells the listener of a new one. A failure to
    /// keep it is logged: an alert is never worth failing the operation that raised it.
    pub fn raise(&self, merchant_id: &str, r: Raise, now: i64) -> Option<Alert> {
        let kept = self.db.write(|tx| {
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO alerts (merchant_id, kind, at, subject, message, action, dedup)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute((merchant_id, r.kind.as_str(), now, &r.subject, &r.message, &r.action, &r.dedup))?;
            if added == 0 {
                return Ok(None);
            }
            let id = tx.last_insert_rowid();
            Ok(Some(tx.query_row(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1"), [id], alert)?))
        });
        let alert = match kept {
            Ok(alert) => alert?,
            Err(e) => {
                tracing::warn!(error = %e, kind = r.kind.as_str(), "an alert could not be kept");
                return None;
            }
        };
        tracing::info!(kind = alert.kind.as_str(), "alert raised");
        let listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(listener) = listener {
            listener.on_alert(alert.clone());
        }
        Some(alert)
    }

    /// The newest `limit` alerts (1 to 500), unread ones only if asked.
    pub fn list(&self, merchant_id: &str, unread_only: bool, limit: u32) -> Result<Vec<Alert>, InternalError> {
        let limit = limit.clamp(1, 500);
        self.db.with(|c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM alerts WHERE merchant_id = ?1 AND (?2 = 0 OR read = 0) ORDER BY id DESC LIMIT ?3"
            );
            let mut q = c.prepare_cached(&sql)?;
            let rows = q.query_map((merchant_id, unread_only, limit), alert)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn unread(&self, merchant_id: &str) -> Result<u64, InternalError> {
        self.db.with(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM alerts WHERE merchant_id = ?1 AND read = 0", [merchant_id], |r| {
                r.get::<_, i64>(0)
            })? as u64)
        })
    }

    /// Marks the alerts `ids` (or, with `None`, all of them) read; answers how many changed.
    pub fn mark_read(&self, merchant_id: &str, ids: Option<&[i64]>) -> Result<u64, InternalError> {
        self.db.write(|tx| {
            let changed = match ids {
                None => tx
                    .prepare_cached("UPDATE alerts SET read = 1 WHERE merchant_id = ?1 AND read = 0")?
                    .execute([merchant_id])?,
                Some(ids) => {
                    let mut q = tx
                        .prepare_cached("UPDATE alerts SET read = 1 WHERE merchant_id = ?1 AND id = ?2 AND read = 0")?;
                    let mut n = 0;
                    for id in ids {
                        n += q.execute((merchant_id, id))?;
                    }
                    n
                }
            };
            Ok(changed as u64)
        })
    }
}

/// Raises each of `raises` for the logged-in merchant; answers the new alerts.
fn raise_all(inner: &Inner, merchant_id: &str, raises: Vec<Raise>) -> Vec<Alert> {
    let now = inner.accounts.platform_now();
    raises.into_iter().filter_map(|r| inner.alerts.raise(merchant_id, r, now)).collect()
}

/// A look at the devices bound to the account (one request): a device bound after this one.
pub(crate) async fn look_at_devices(inner: &Inner, merchant_id: &str) -> Result<Vec<Alert>, Error> {
    let devices = inner.accounts.devices().await?;
    Ok(raise_all(inner, merchant_id, events::new_devices(&devices)))
}

/// Cross-province decisions in a freshly fetched status, and approvals about to end.
pub(crate) fn look_at_cross_province(inner: &Inner, merchant_id: &str, status: &CrossProvinceStatus) -> Vec<Alert> {
    raise_all(inner, merchant_id, events::cross_province(status, inner.accounts.platform_now()))
}

/// After a sale was approved: the day's limit nearly used.
pub(crate) fn after_sale(inner: &Inner) {
    let Ok(merchant_id) = inner.merchant_id() else { return };
    match inner.merchant.remaining_today(&merchant_id) {
        Ok(remaining) => {
            raise_all(inner, &merchant_id, events::limit(&remaining).into_iter().collect());
        }
        Err(e) => tracing::info!(error = %e, "limits not read for the alert"),
    }
}

/// A ledger that did not check out.
pub(crate) fn journal(inner: &Inner, merchant_id: &str, problem: &Problem) {
    raise_all(inner, merchant_id, vec![events::journal(problem)]);
}

/// Settlement batches paid short.
pub(crate) fn settlements(inner: &Inner, merchant_id: &str, batches: &[Batch]) {
    raise_all(inner, merchant_id, batches.iter().filter_map(events::short_settlement).collect());
}

/// Sales needing attention (the attention list, each time it is looked at).
pub(crate) fn attention(inner: &Inner, merchant_id: &str, sales: &[Sale]) {
    raise_all(inner, merchant_id, sales.iter().map(events::needs_attention).collect());
}
