//! Reading the ledger: pages newest first with a keyset cursor, filters, and one entry by key.
//! Every query reads an index in order and stops after a page, so a page costs the same with a
//! hundred rows or a million.

use rusqlite::types::Value;

use super::ledger::{card_kind_code, card_kind_from_code, key_bytes, key_string, CardKind, Channel, Kind, Status};
use crate::error::{Error, InternalError};
use crate::storage::Db;

/// One transaction as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: String,
    pub kind: Kind,
    pub status: Status,
    pub channel: Channel,
    pub card_kind: CardKind,
    /// Business day, `YYYY-MM-DD` (China time).
    pub business_day: String,
    pub at: i64,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub last4: Option<String>,
    pub reference: Option<String>,
    pub batch: Option<i64>,
    pub voucher: Option<i64>,
    /// The sale a void, refund or reversal belongs to.
    pub parent: Option<String>,
    /// Made on another device of the merchant.
    pub synced: bool,
    /// Where a sale was made (GB/T 2260 code), when known.
    pub province: Option<String>,
}

/// What to list. Empty lists and `None` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Business days, inclusive, `YYYY-MM-DD`.
    pub from_day: Option<String>,
    pub to_day: Option<String>,
    pub kinds: Vec<Kind>,
    pub statuses: Vec<Status>,
    pub channels: Vec<Channel>,
    pub card_kinds: Vec<CardKind>,
    pub min_amount_fen: Option<i64>,
    pub max_amount_fen: Option<i64>,
    /// Exactly four digits.
    pub last4: Option<String>,
    /// The 12-digit reference number.
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Transaction>,
    /// Pass back to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

pub const MAX_PAGE: u32 = 200;

pub(crate) const SELECT: &str = "SELECT id, key, kind, status, channel, card_kind, day, at, amount_fen, fee_fen,
    net_fen, last4, reference, batch, voucher, parent, synced, province FROM history";

/// A row as (id, business day number, transaction); `business_day` is left empty for the
/// caller to fill (a page shares one string among the rows of a day).
pub(crate) fn transaction(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64, Transaction)> {
    let bad = |what: &str| rusqlite::Error::InvalidColumnName(what.into());
    // Blobs are read in place (no copy) and turned straight into their text form.
    let key = key_string(r.get_ref(1)?.as_blob()?);
    let parent = r.get_ref(15)?.as_blob_or_null()?.map(key_string);
    Ok((
        r.get(0)?,
        r.get(6)?,
        Transaction {
            id: key,
            kind: Kind::from_code(r.get(2)?).ok_or_else(|| bad("kind"))?,
            status: Status::from_code(r.get(3)?).ok_or_else(|| bad("status"))?,
            channel: Channel::from_code(r.get(4)?).ok_or_else(|| bad("channel"))?,
            card_kind: card_kind_from_code(r.get(5)?),
            business_day: String::new(),
            at: r.get(7)?,
            amount_fen: r.get(8)?,
            fee_fen: r.get(9)?,
            net_fen: r.get(10)?,
            last4: r.get::<_, Option<i64>>(11)?.map(|n| digits(n, 4)),
            reference: r.get::<_, Option<i64>>(12)?.map(|n| digits(n, 12)),
            batch: r.get(13)?,
            voucher: r.get(14)?,
            parent,
            synced: r.get(16)?,
            province: r.get::<_, Option<i64>>(17)?.map(|n| digits(n, 2)),
        },
    ))
}

/// `n` zero-padded to `width` digits (without the formatting machinery: pages convert
/// thousands of these).
fn digits(n: i64, width: usize) -> String {
    let mut out = Vec::with_capacity(width);
    super::ledger::push_digits(&mut out, n.max(0) as u64, width);
    String::from_utf8(out).unwrap_or_default()
}

/// The WHERE clause and its values for `filter` (after `owner = ?1`).
pub(crate) fn conditions(filter: &Filter) -> Result<(String, Vec<Value>), Error> {
    let mut sql = String::new();
    let mut values: Vec<Value> = Vec::new();
    let day = |field: &str, d: &Option<String>| -> Result<Option<i64>, Error> {
        d.as_deref()
            .map(|d| super::ledger::day_number(d).ok_or_else(|| Error::invalid(field, "a day as YYYY-MM-DD")))
            .transpose()
    };
    let from = day("from_day", &filter.from_day)?;
    let to = day("to_day", &filter.to_day)?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Error::invalid("to_day", "not before from_day"));
        }
    }
    if let Some(f) = from {
        values.push(Value::Integer(f));
        sql += &format!(" AND day >= ?{}", values.len() + 1);
    }
    if let Some(t) = to {
        values.push(Value::Integer(t));
        sql += &format!(" AND day <= ?{}", values.len() + 1);
    }
    let mut any_of = |column: &str, codes: Vec<i64>| {
        if !codes.is_empty() {
            let start = values.len() + 2;
            let marks: Vec<String> = (0..codes.len()).map(|i| format!("?{}", start + i)).collect();
            sql += &format!(" AND {column} IN ({})", marks.join(", "));
            values.extend(codes.into_iter().map(Value::Integer));
        }
    };
    any_of("kind", filter.kinds.iter().map(|k| k.code()).collect());
    any_of("status", filter.statuses.iter().map(|k| k.code()).collect());
    any_of("channel", filter.channels.iter().map(|k| k.code()).collect());
    any_of("card_kind", filter.card_kinds.iter().map(|k| card_kind_code(*k)).collect());
    if let Some(min) = filter.min_amount_fen {
        values.push(Value::Integer(min));
        sql += &format!(" AND amount_fen >= ?{}", values.len() + 1);
    }
    if let Some(max) = filter.max_amount_fen {
        values.push(Value::Integer(max));
        sql += &format!(" AND amount_fen <= ?{}", values.len() + 1);
    }
    if let Some(l) = &filter.last4 {
        if l.len() != 4 || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("last4", "exactly four digits"));
        }
        values.push(Value::Integer(l.parse().unwrap_or(0)));
        sql += &format!(" AND last4 = ?{}", values.len() + 1);
    }
    if let Some(r) = &filter.reference {
        if r.len() != 12 || !r.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("reference", "the 12-digit reference number"));
        }
        values.push(Value::Integer(r.parse().unwrap_or(0)));
        sql += &format!(" AND reference = ?{}", values.len() + 1);
    }
    Ok((sql, values))
}

/// The cursor is the last row's (day, at, id), opaque to the app.
fn parse_cursor(cursor: &str) -> Result<(i64, i64, i64), Error> {
    let bad = || Error::invalid("cursor", "pass back a cursor from an earlier page");
    let mut parts = cursor.split('.').map(|p| p.parse::<i64>().map_err(|_| bad()));
    let (Some(day), Some(at), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    Ok((day?, at?, id?))
}

/// A page of `owner`'s transactions, newest first.
pub fn page(db: &Db, owner: i64, filter: &Filter, cursor: Option<&str>, limit: u32) -> Result<Page, Error> {
    let limit = limit.clamp(1, MAX_PAGE);
    let (mut sql, mut values) = conditions(filter)?;
    if let Some(c) = cursor {
        let (day, at, id) = parse_cursor(c)?;
        let n = values.len() + 2;
        sql += &format!(" AND (day, at, id) < (?{n}, ?{}, ?{})", n + 1, n + 2);
        values.extend([Value::Integer(day), Value::Integer(at), Value::Integer(id)]);
    }
    let query = format!("{SELECT} WHERE owner = ?1{sql} ORDER BY day DESC, at DESC, id DESC LIMIT {}", limit + 1);
    let mut params: Vec<Value> = vec![Value::Integer(owner)];
    params.extend(values);
    let mut items: Vec<Transaction> = Vec::with_capacity(limit as usize + 1);
    // (row id, day) of each row, for the cursor.
    let mut positions: Vec<(i64, i64)> = Vec::with_capacity(limit as usize + 1);
    db.with(|c| {
        let mut q = c.prepare_cached(&query)?;
        let mut day_text = (i64::MIN, String::new());
        for row in q.query_map(rusqlite::params_from_iter(params.iter()), transaction)? {
            let (id, day, mut t) = row?;
            // Rows of one business day come together: format the day once.
            if day != day_text.0 {
                day_text = (day, super::ledger::day_string(day));
            }
            t.business_day.clone_from(&day_text.1);
            positions.push((id, day));
            items.push(t);
        }
        Ok(())
    })?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    // The cursor is the last row returned (the extra one only said there is more).
    let next_cursor = match (more, items.last(), positions.get(limit as usize - 1)) {
        (true, Some(t), Some((id, day))) => Some(format!("{day}.{}.{id}", t.at)),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// One transaction by its id.
pub fn get(db: &Db, owner: i64, id: &str) -> Result<Option<Transaction>, InternalError> {
    use rusqlite::OptionalExtension;
    db.with(|c| {
        Ok(c.query_row(&format!("{SELECT} WHERE key = ?1 AND owner = ?2"), (key_bytes(id), owner), transaction)
            .optional()?
            .map(|(_, day, mut t)| {
                t.business_day = super::ledger::day_string(day);
                t
            }))
    })
}
