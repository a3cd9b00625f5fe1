//! The events that raise alerts, each named for its dedup key, from what the other components
//! found: the feed's rules in one place (docs/alerts.md).

use super::{AlertKind, Raise};
use crate::account::Device;
use crate::history::{Batch, Problem};
use crate::limits::Remaining;
use crate::money::yuan;
use crate::payments::Sale;
use crate::regions::{ApplicationStatus, CrossProvinceStatus};

/// A day's limit counts as nearly used from this share of it.
pub const LIMIT_ALERT_PERCENT: i64 = 80;

/// How long before an approved cross-province period ends the merchant hears of it.
pub const CROSS_PROVINCE_WARNING_SECS: i64 = 24 * 3600;

/// Decisions older than this are not news (a first fetch after an install lists old ones).
const DECISION_NEWS_SECS: i64 = 7 * 24 * 3600;

pub fn journal(problem: &Problem) -> Raise {
    let (subject, what) = match *problem {
        Problem::Changed { id } => (format!("entry {id}"), format!("entry {id} of the ledger was changed")),
        Problem::Missing { after, before } => {
            (format!("entries {after}-{before}"), format!("entries between {after} and {before} were deleted"))
        }
        Problem::Truncated { anchored, found } => (
            format!("entry {anchored}"),
            format!("the ledger holds {found} entries, fewer than the {anchored} anchored: its newest were cut"),
        ),
        Problem::Rewritten { anchored } => {
            (format!("entry {anchored}"), format!("the ledger was rewritten: entry {anchored} is not the one anchored"))
        }
        Problem::Replaced { anchored } => {
            (format!("entry {anchored}"), "this ledger is not the one last anchored (another file in its place)".into())
        }
    };
    Raise {
        kind: AlertKind::JournalCheckFailed,
        subject,
        message: what,
        action:
            "Do not rely on this phone's records; compare them with the platform's (reconcile) and contact support."
                .into(),
        dedup: format!("journal:{problem:?}"),
    }
}

/// A batch that paid less than its net (a batch paying more is the platform's to correct).
pub fn short_settlement(batch: &Batch) -> Option<Raise> {
    let due = batch.paid_at.is_some();
    (due && batch.paid_fen < batch.expected_net_fen).then(|| Raise {
        kind: AlertKind::ShortSettlement,
        subject: batch.business_day.clone(),
        message: format!(
            "the settlement of {} paid {} yuan of its {} yuan net, {} yuan short",
            batch.business_day,
            yuan(batch.paid_fen),
            yuan(batch.expected_net_fen),
            yuan(batch.expected_net_fen - batch.paid_fen)
        ),
        action: "Export the day's settlement statement and ask the platform to pay the difference.".into(),
        dedup: format!("short:{}:{}", batch.business_day, batch.paid_fen),
    })
}

pub fn needs_attention(sale: &Sale) -> Raise {
    Raise {
        kind: AlertKind::PaymentNeedsAttention,
        subject: sale.id.clone(),
        message: format!(
            "the outcome of a {} yuan sale is not settled with the platform yet (its reversal is not acknowledged)",
            yuan(sale.amount_fen)
        ),
        action: "Keep the phone online; do not charge the customer again until it resolves. Call support if it stays."
            .into(),
        dedup: format!("attention:{}", sale.id),
    }
}

/// Once a day, when what is committed and held reaches the share of the day's total.
pub fn limit(remaining: &Remaining) -> Option<Raise> {
    let total = remaining.limits.daily_total_fen;
    let used = total - remaining.daily_total_remaining_fen;
    (total > 0 && used.saturating_mul(100) >= total.saturating_mul(LIMIT_ALERT_PERCENT)).then(|| Raise {
        kind: AlertKind::LimitNearlyUsed,
        subject: remaining.business_day.clone(),
        message: format!(
            "{} yuan of today's {} yuan limit is used; {} yuan remains",
            yuan(used),
            yuan(total),
            yuan(remaining.daily_total_remaining_fen.max(0))
        ),
        action: "Raise the daily limit in the merchant settings (needs the password) if more sales are expected."
            .into(),
        dedup: format!("limit:{}", remaining.business_day),
    })
}

/// Devices bound after this one: someone logged in elsewhere with an SMS code to the account's
/// phone. (Devices bound before this one are not news to it.)
pub fn new_devices(devices: &[Device]) -> Vec<Raise> {
    let Some(this) = devices.iter().find(|d| d.this_device) else { return vec![] };
    devices
        .iter()
        .filter(|d| !d.this_device && d.bound_at > this.bound_at)
        .map(|d| Raise {
            kind: AlertKind::NewDevice,
            subject: d.device_id.clone(),
            message: format!("a new device ({}) logged in to the account", d.device_id),
            action: "If it was not you, change the password now and unbind the device.".into(),
            dedup: format!("device:{}:{}", d.device_id, d.bound_at),
        })
        .collect()
}

pub fn cross_province(status: &CrossProvinceStatus, now: i64) -> Vec<Raise> {
    let mut out = Vec::new();
    for a in &status.applications {
        let place = format!("{} ({})", a.province.name, a.province.code);
        let news = a.decided_at.is_some_and(|d| now - d <= DECISION_NEWS_SECS);
        match a.status {
            ApplicationStatus::Approved => {
                out.extend(news.then(|| Raise {
                    kind: AlertKind::CrossProvinceApproved,
                    subject: a.province.code.clone(),
                    message: format!("business in {place} is approved for {} days", a.days),
                    action: "Sales there are allowed until the approval ends.".into(),
                    dedup: format!("cross:{}:approved", a.id),
                }));
                if let Some(until) = a.valid_until.filter(|u| *u > now && *u - now <= CROSS_PROVINCE_WARNING_SECS) {
                    out.push(Raise {
                        kind: AlertKind::CrossProvinceExpiring,
                        subject: a.province.code.clone(),
                        message: format!("the approval for {place} ends within {} hours", (until - now + 3599) / 3600),
                        action: "Apply again before it ends if you are staying.".into(),
                        dedup: format!("cross:{}:expiring", a.id),
                    });
                }
            }
            ApplicationStatus::Rejected if news => out.push(Raise {
                kind: AlertKind::CrossProvinceRejected,
                subject: a.province.code.clone(),
                message: format!(
                    "the application for {place} was rejected: {}",
                    a.decision_reason.as_deref().unwrap_or("no reason given")
                ),
                action: "Sales there stay refused; apply again with what the reason asks for.".into(),
                dedup: format!("cross:{}:rejected", a.id),
            }),
            ApplicationStatus::Rejected | ApplicationStatus::Pending | ApplicationStatus::Queued => {}
        }
    }
    out
}
