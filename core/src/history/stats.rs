//! Statistics from the per-day roll-ups (`history_days`), which the ledger keeps current as it
//! writes: a month is at most 31 days x channels x card kinds rows, never a scan of the month's
//! transactions.

use super::ledger::{card_kind_from_code, day_number, day_string, CardKind, Channel};
use crate::error::{Error, InternalError};
use crate::storage::Db;

/// Money in and out over a period (or one part of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Approved sales, and their amount.
    pub sales: i64,
    pub gross_fen: i64,
    /// Voids and refunds, and their amount.
    pub refunds: i64,
    pub refunded_fen: i64,
    /// Fees kept by the platform (fees given back with refunds already taken off).
    pub fee_fen: i64,
    /// What reaches the merchant's bank card.
    pub net_fen: i64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.sales += o.sales;
        self.gross_fen += o.gross_fen;
        self.refunds += o.refunds;
        self.refunded_fen += o.refunded_fen;
        self.fee_fen += o.fee_fen;
        self.net_fen += o.net_fen;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    pub channel: Channel,
    pub card_kind: CardKind,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub from_day: String,
    pub to_day: String,
    pub totals: Totals,
    /// By channel and card kind, only those with activity.
    pub breakdown: Vec<Breakdown>,
}

/// One business day's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    pub business_day: String,
    pub totals: Totals,
}

fn range(from: &str, to: &str) -> Result<(i64, i64), Error> {
    let f = day_number(from).ok_or_else(|| Error::invalid("from_day", "a day as YYYY-MM-DD"))?;
    let t = day_number(to).ok_or_else(|| Error::invalid("to_day", "a day as YYYY-MM-DD"))?;
    if f > t {
        return Err(Error::invalid("to_day", "not before from_day"));
    }
    Ok((f, t))
}

const SUMS: &str = "SUM(sales), SUM(gross_fen), SUM(refunds), SUM(refunded_fen), SUM(fee_fen), SUM(net_fen)";

fn totals(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Totals> {
    Ok(Totals {
        sales: r.get::<_, Option<i64>>(at)?.unwrap_or(0),
        gross_fen: r.get::<_, Option<i64>>(at + 1)?.unwrap_or(0),
        refunds: r.get::<_, Option<i64>>(at + 2)?.unwrap_or(0),
        refunded_fen: r.get::<_, Option<i64>>(at + 3)?.unwrap_or(0),
        fee_fen: r.get::<_, Option<i64>>(at + 4)?.unwrap_or(0),
        net_fen: r.get::<_, Option<i64>>(at + 5)?.unwrap_or(0),
    })
}

/// Totals for business days `from`..=`to`, with the breakdown by channel and card kind.
pub fn stats(db: &Db, owner: i64, from: &str, to: &str) -> Result<Stats, Error> {
    let (f, t) = range(from, to)?;
    let breakdown: Vec<Breakdown> = db.with(|c| {
        let mut q = c.prepare_cached(&format!(
            "SELECT channel, card_kind, {SUMS} FROM history_days WHERE owner = ?1 AND day BETWEEN ?2 AND ?3
             GROUP BY channel, card_kind ORDER BY channel, card_kind"
        ))?;
        let rows = q.query_map((owner, f, t), |r| {
            Ok(Breakdown {
                channel: Channel::from_code(r.get(0)?).unwrap_or(Channel::Card),
                card_kind: card_kind_from_code(r.get(1)?),
                totals: totals(r, 2)?,
            })
        })?;
        Ok::<_, InternalError>(rows.collect::<Result<Vec<_>, _>>()?)
    })?;
    let mut all = Totals::default();
    for b in &breakdown {
        all.add(&b.totals);
    }
    Ok(Stats { from_day: day_string(f), to_day: day_string(t), totals: all, breakdown })
}

/// One row per business day with activity in `from`..=`to`, oldest first.
pub fn daily(db: &Db, owner: i64, from: &str, to: &str) -> Result<Vec<DayTotals>, Error> {
    let (f, t) = range(from, to)?;
    Ok(db.with(|c| {
        let mut q = c.prepare_cached(&format!(
            "SELECT day, {SUMS} FROM history_days WHERE owner = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY day ORDER BY day"
        ))?;
        let rows = q.query_map((owner, f, t), |r| {
            Ok(DayTotals { business_day: day_string(r.get(0)?), totals: totals(r, 1)? })
        })?;
        Ok::<_, InternalError>(rows.collect::<Result<Vec<_>, _>>()?)
    })?)
}

/// The first and last day of the month of `day` (`YYYY-MM-DD`).
pub fn month_of(day: &str) -> Result<(String, String), Error> {
    let bad = || Error::invalid("month", "a day as YYYY-MM-DD");
    let n = day_number(day).ok_or_else(bad)?;
    let d = day_string(n);
    let (y, m) = (d[..4].parse::<i32>().map_err(|_| bad())?, d[5..7].parse::<u8>().map_err(|_| bad())?);
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    let last = time::util::days_in_month(month, y);
    Ok((format!("{y:04}-{m:02}-01"), format!("{y:04}-{m:02}-{last:02}")))
}
