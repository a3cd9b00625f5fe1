//! Reconciliation (对账): the phone's ledger against the platform's settlement batches, day by
//! day, and transaction by transaction for any day whose totals differ. Every mismatch comes
//! with its reason; a clean range has none.

use std::collections::BTreeMap;

use reqwest::Method;

use super::ledger::{day_number, day_string};
use super::stats;
use crate::account::Accounts;
use crate::error::Error;
use crate::platform::wire::{SettlementsResponse, TransactionsPage};
use crate::storage::Db;

/// One settlement batch beside the phone's own count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub business_day: String,
    pub cycle: crate::onboarding::fees::SettlementCycle,
    /// The day's net as the phone's ledger has it.
    pub phone_net_fen: i64,
    /// The day's net as the platform settles it.
    pub expected_net_fen: i64,
    pub paid_fen: i64,
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MismatchKind {
    /// The platform paid less (or more) than the batch's net.
    PaidDiffers,
    /// The phone's net for the day differs from the platform's (details follow per transaction).
    NetDiffers,
    /// The platform has a transaction the phone does not (sync may bring it).
    MissingOnPhone,
    /// The phone has a transaction the platform does not.
    MissingOnPlatform,
    /// Both have it with different amounts or fees.
    AmountDiffers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub business_day: String,
    /// The transaction, for per-transaction mismatches.
    pub transaction_id: Option<String>,
    pub phone_fen: i64,
    pub platform_fen: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub from_day: String,
    pub to_day: String,
    pub batches: Vec<Batch>,
    pub mismatches: Vec<Mismatch>,
}

/// Net of one ledger row as settlement counts it.
fn net_effect(kind: i64, status: i64, net: i64) -> i64 {
    use super::ledger::{Kind, Status};
    if status != Status::Approved.code() {
        return 0;
    }
    match Kind::from_code(kind) {
        Some(Kind::Sale) => net,
        Some(Kind::Void) | Some(Kind::Refund) | Some(Kind::Reversal) => -net,
        None => 0,
    }
}

pub(crate) async fn reconcile(
    db: &Db,
    accounts: &Accounts,
    owner: Option<i64>,
    from: &str,
    to: &str,
) -> Result<Report, Error> {
    let (f, t) = match (day_number(from), day_number(to)) {
        (Some(f), Some(t)) if f <= t => (f, t),
        (None, _) => return Err(Error::invalid("from_day", "a day as YYYY-MM-DD")),
        (_, None) => return Err(Error::invalid("to_day", "a day as YYYY-MM-DD")),
        _ => return Err(Error::invalid("to_day", "not before from_day")),
    };
    let owner = owner.unwrap_or(-1);
    let path = format!("v1/settlements?from={}&to={}", day_string(f), day_string(t));
    let platform: SettlementsResponse = accounts.signed::<(), _>(Method::GET, &path, None, true).await?;
    let phone: BTreeMap<String, i64> =
        stats::daily(db, owner, from, to)?.into_iter().map(|d| (d.business_day, d.totals.net_fen)).collect();

    let mut batches = Vec::new();
    let mut mismatches = Vec::new();
    let mut days_to_check = Vec::new();
    let mut seen_days = std::collections::BTreeSet::new();
    for s in &platform.settlements {
        seen_days.insert(s.business_day.clone());
        let phone_net = phone.get(&s.business_day).copied().unwrap_or(0);
        let cycle = crate::onboarding::fees::SettlementCycle::parse(&s.cycle).ok_or_else(|| Error::Platform {
            code: "bad_response".into(),
            detail: format!("unknown settlement cycle {:?}", s.cycle),
        })?;
        batches.push(Batch {
            business_day: s.business_day.clone(),
            cycle,
            phone_net_fen: phone_net,
            expected_net_fen: s.expected_net_fen,
            paid_fen: s.paid_fen,
            paid_at: s.paid_at,
        });
        if s.paid_at.is_some() && s.paid_fen != s.expected_net_fen {
            mismatches.push(Mismatch {
                kind: MismatchKind::PaidDiffers,
                business_day: s.business_day.clone(),
                transaction_id: None,
                phone_fen: s.expected_net_fen,
                platform_fen: s.paid_fen,
                reason: format!(
                    "the platform paid {} fen for this batch, {} fen less than its net of {} fen: ask the platform",
                    s.paid_fen,
                    s.expected_net_fen - s.paid_fen,
                    s.expected_net_fen
                ),
            });
        }
        if phone_net != s.expected_net_fen {
            days_to_check.push(s.business_day.clone());
        }
    }
    for (day, net) in &phone {
        if !seen_days.contains(day) && *net != 0 {
            days_to_check.push(day.clone());
        }
    }
    for day in days_to_check {
        let phone_net = phone.get(&day).copied().unwrap_or(0);
        let platform_net = batches.iter().find(|b| b.business_day == day).map_or(0, |b| b.expected_net_fen);
        mismatches.push(Mismatch {
            kind: MismatchKind::NetDiffers,
            business_day: day.clone(),
            transaction_id: None,
            phone_fen: phone_net,
            platform_fen: platform_net,
            reason: format!("the phone counts a net of {phone_net} fen for the day, the platform {platform_net} fen"),
        });
        mismatches.extend(compare_day(db, accounts, owner, &day).await?);
    }
    Ok(Report { from_day: day_string(f), to_day: day_string(t), batches, mismatches })
}

/// Transaction by transaction for one day: keys on one side only, and amounts that differ.
async fn compare_day(db: &Db, accounts: &Accounts, owner: i64, day: &str) -> Result<Vec<Mismatch>, Error> {
    let path = format!("v1/transactions?day={day}");
    let page: TransactionsPage = accounts.signed::<(), _>(Method::GET, &path, None, true).await?;
    let theirs: BTreeMap<String, i64> = page
        .items
        .iter()
        .map(|t| {
            let sign = match t.kind.as_str() {
                "void" | "refund" | "reversal" => -1,
                "sale" => 1,
                _ => 0,
            };
            (t.id.clone(), if t.status == "approved" { sign * t.net_fen } else { 0 })
        })
        .collect();
    let n = day_number(day).unwrap_or(0);
    let ours: BTreeMap<String, i64> = db.with(|c| {
        let mut q = c.prepare_cached("SELECT key, kind, status, net_fen FROM history WHERE owner = ?1 AND day = ?2")?;
        let rows = q.query_map((owner, n), |r| {
            let key: Vec<u8> = r.get(0)?;
            Ok((super::ledger::key_string(&key), net_effect(r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        Ok::<_, crate::error::InternalError>(rows.collect::<Result<_, _>>()?)
    })?;
    let mut out = Vec::new();
    let mismatch = |kind, id: &str, phone, platform, reason: String| Mismatch {
        kind,
        business_day: day.to_string(),
        transaction_id: Some(id.to_string()),
        phone_fen: phone,
        platform_fen: platform,
        reason,
    };
    for (id, net) in &theirs {
        match ours.get(id) {
            None => out.push(mismatch(
                MismatchKind::MissingOnPhone,
                id,
                0,
                *net,
                "the platform has this transaction and the phone does not: sync history".into(),
            )),
            Some(mine) if mine != net => out.push(mismatch(
                MismatchKind::AmountDiffers,
                id,
                *mine,
                *net,
                format!("the phone counts {mine} fen net, the platform {net} fen"),
            )),
            _ => {}
        }
    }
    for (id, net) in &ours {
        if !theirs.contains_key(id) {
            out.push(mismatch(
                MismatchKind::MissingOnPlatform,
                id,
                *net,
                0,
                "the phone has this transaction and the platform does not: report it with the receipt".into(),
            ));
        }
    }
    Ok(out)
}
