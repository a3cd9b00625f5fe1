//! The transaction ledger: one append-only row per money event (a sale's outcome, a void, a
//! refund, a reversal), each carrying a SHA-256 hash chained to the row before it, and per-day
//! roll-ups kept current in the same transaction. Rows come from this phone's journal (in the
//! journal's own commit, so the commit budget of a sale does not grow) and from sync.

use ring::digest::{Context, SHA256};
use rusqlite::{OptionalExtension, Transaction};

use crate::error::InternalError;
pub use starpos_protocol::calendar::day_number;
pub use starpos_protocol::fees::fee_back;

/// What a row records. Small integers on disk (see [`Kind::code`] and friends): a million rows
/// must fit in 250 MB with their indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Sale,
    Void,
    Refund,
    Reversal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Approved,
    Declined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Card,
    /// A QR payment whose wallet the record does not say.
    Qr,
    WeChat,
    Alipay,
    UnionPay,
}

macro_rules! codes {
    ($t:ty { $($v:ident = $n:literal, $s:literal;)* }) => {
        impl $t {
            pub fn code(self) -> i64 {
                match self { $(Self::$v => $n,)* }
            }
            pub fn from_code(n: i64) -> Option<Self> {
                match n { $($n => Some(Self::$v),)* _ => None }
            }
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)* }
            }
        }
    };
}

codes!(Kind { Sale = 1, "sale"; Void = 2, "void"; Refund = 3, "refund"; Reversal = 4, "reversal"; });
codes!(Status { Approved = 1, "approved"; Declined = 2, "declined"; });
codes!(Channel { Card = 1, "card"; Qr = 2, "qr"; WeChat = 3, "wechat"; Alipay = 4, "alipay"; UnionPay = 5, "unionpay"; });

impl Channel {
    /// The channel of a journal row (its method and wallet) or a platform record (its name).
    pub fn of(method_or_name: &str, wallet: Option<&str>) -> Channel {
        match (method_or_name, wallet) {
            ("card", _) => Channel::Card,
            (_, Some("wechat")) | ("wechat", None) => Channel::WeChat,
            (_, Some("alipay")) | ("alipay", None) => Channel::Alipay,
            (_, Some("unionpay")) | ("unionpay", None) => Channel::UnionPay,
            _ => Channel::Qr,
        }
    }
}
/// The card kind is the onboarding one (one type for "debit or credit" in the core); these are
/// its codes in the ledger.
pub use crate::onboarding::CardKind;

pub fn card_kind_code(k: CardKind) -> i64 {
    match k {
        CardKind::Unknown => 0,
        CardKind::Debit => 1,
        CardKind::Credit => 2,
        CardKind::Prepaid => 3,
    }
}

pub fn card_kind_from_code(n: i64) -> CardKind {
    match n {
        1 => CardKind::Debit,
        2 => CardKind::Credit,
        3 => CardKind::Prepaid,
        _ => CardKind::Unknown,
    }
}

pub fn card_kind_of(s: Option<&str>) -> CardKind {
    s.and_then(CardKind::parse).unwrap_or(CardKind::Unknown)
}

/// One ledger row as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The platform's key for this event (32 hex digits: stored as 16 bytes).
    pub key: String,
    pub kind: Kind,
    pub status: Status,
    pub channel: Channel,
    pub card_kind: CardKind,
    /// Business day (China time) as days since 1970-01-01.
    pub day: i64,
    /// When it happened, unix seconds.
    pub at: i64,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    /// Last four digits of the card, as digits.
    pub last4: Option<String>,
    pub reference: Option<String>,
    pub batch: Option<i64>,
    pub voucher: Option<i64>,
    /// The sale a void, refund or reversal belongs to.
    pub parent: Option<String>,
    /// Made on another device of the merchant (arrived by sync).
    pub synced: bool,
    /// GB/T 2260 code of the province a sale was made in, when known (sales only).
    pub province: Option<String>,
}

/// Days since 1970-01-01 as (year, month, day) in the proleptic Gregorian calendar: integer
/// arithmetic only (H. Hinnant's `civil_from_days`), because exports convert a million of them.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Writes `n` with at least `width` digits (zero-padded), two digits per division: exports
/// and pages format millions of these.
pub fn push_digits(out: &mut Vec<u8>, n: u64, width: usize) {
    const PAIRS: &[u8; 200] =
        b"0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut n = n;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[n as usize * 2..n as usize * 2 + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    out.extend_from_slice(&buf[start..]);
}

/// `YYYY-MM-DD` of days since 1970-01-01, into `out`.
pub fn push_day(out: &mut Vec<u8>, day: i64) {
    let (y, m, d) = civil(day);
    push_digits(out, y.max(0) as u64, 4);
    out.push(b'-');
    push_digits(out, u64::from(m), 2);
    out.push(b'-');
    push_digits(out, u64::from(d), 2);
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
pub fn day_string(day: i64) -> String {
    let mut out = Vec::with_capacity(10);
    push_day(&mut out, day);
    String::from_utf8(out).unwrap_or_default()
}

/// Keys are hex; stored as bytes (half the size). Anything else is kept as its UTF-8 bytes.
pub fn key_bytes(key: &str) -> Vec<u8> {
    match hex::decode(key) {
        Ok(b) if !b.is_empty() && key.len().is_multiple_of(2) && key.bytes().all(|c| !c.is_ascii_uppercase()) => b,
        _ => key.as_bytes().to_vec(),
    }
}

pub fn key_string(bytes: &[u8]) -> String {
    if bytes.len() == 16 {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        // Hex digits are ASCII.
        String::from_utf8(out.to_vec()).unwrap_or_default()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// The owner id (a small integer) for a merchant, made on first use.
pub fn owner_in(tx: &Transaction<'_>, merchant_id: &str) -> Result<i64, InternalError> {
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM history_owners WHERE merchant_id = ?1")?
        .query_row([merchant_id], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO history_owners (merchant_id) VALUES (?1)")?.execute([merchant_id])?;
    Ok(tx.last_insert_rowid())
}

/// What the chain hash covers, in a fixed order, each field length-prefixed so no two rows
/// encode alike. `id` is included so that moving a row breaks the chain.
pub(crate) struct Row<'a> {
    pub id: i64,
    pub owner: i64,
    pub key: &'a [u8],
    pub kind: i64,
    pub status: i64,
    pub channel: i64,
    pub card_kind: i64,
    pub day: i64,
    pub at: i64,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub last4: Option<i64>,
    pub reference: Option<i64>,
    pub batch: Option<i64>,
    pub voucher: Option<i64>,
    pub parent: Option<&'a [u8]>,
    pub synced: bool,
    pub province: Option<i64>,
}

impl Row<'_> {
    pub fn chain(&self, previous: &[u8]) -> [u8; 32] {
        let mut h = Context::new(&SHA256);
        h.update(b"starpos-ledger-v1");
        h.update(&(previous.len() as u32).to_be_bytes());
        h.update(previous);
        for n in [
            self.id,
            self.owner,
            self.kind,
            self.status,
            self.channel,
            self.card_kind,
            self.day,
            self.at,
            self.amount_fen,
            self.fee_fen,
            self.net_fen,
        ] {
            h.update(&n.to_be_bytes());
        }
        for n in [self.last4, self.reference, self.batch, self.voucher] {
            match n {
                Some(n) => {
                    h.update(&[1]);
                    h.update(&n.to_be_bytes());
                }
                None => h.update(&[0]),
            }
        }
        for b in [Some(self.key), self.parent] {
            match b {
                Some(b) => {
                    h.update(&[1]);
                    h.update(&(b.len() as u32).to_be_bytes());
                    h.update(b);
                }
                None => h.update(&[0]),
            }
        }
        h.update(&[self.synced as u8]);
        // Hashed only when present: rows written before the ledger had a province (schema 13)
        // keep the hashes they were written with.
        if let Some(p) = self.province {
            h.update(&[2]);
            h.update(&p.to_be_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(h.finish().as_ref());
        out
    }
}

fn digits(s: Option<&str>) -> Option<i64> {
    s.filter(|s| !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit())).and_then(|s| s.parse().ok())
}

/// Appends `r` for `merchant_id` inside the caller's transaction: the row with its chain hash,
/// and the day's roll-up. A key already in the ledger is left alone (sync may bring back what
/// this phone wrote); returns whether a row was added.
pub fn append_in(tx: &Transaction<'_>, merchant_id: &str, r: &Record) -> Result<bool, InternalError> {
    let key = key_bytes(&r.key);
    let exists =
        tx.prepare_cached("SELECT 1 FROM history WHERE key = ?1")?.query_row([&key], |_| Ok(())).optional()?.is_some();
    if exists {
        return Ok(false);
    }
    let owner = owner_in(tx, merchant_id)?;
    let (last_id, previous): (i64, Vec<u8>) = tx
        .query_row("SELECT id, hash FROM history ORDER BY id DESC LIMIT 1", [], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .unwrap_or((0, Vec::new()));
    let parent = r.parent.as_deref().map(key_bytes);
    let row = Row {
        id: last_id + 1,
        owner,
        key: &key,
        kind: r.kind.code(),
        status: r.status.code(),
        channel: r.channel.code(),
        card_kind: card_kind_code(r.card_kind),
        day: r.day,
        at: r.at,
        amount_fen: r.amount_fen,
        fee_fen: r.fee_fen,
        net_fen: r.net_fen,
        last4: digits(r.last4.as_deref()),
        reference: digits(r.reference.as_deref()),
        batch: r.batch,
        voucher: r.voucher,
        parent: parent.as_deref(),
        synced: r.synced,
        province: digits(r.province.as_deref()),
    };
    let hash = row.chain(&previous);
    tx.prepare_cached(
        "INSERT INTO history (id, owner, key, kind, status, channel, card_kind, day, at, amount_fen, fee_fen,
             net_fen, last4, reference, batch, voucher, parent, synced, hash, province)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?
    .execute(rusqlite::params![
        row.id,
        row.owner,
        row.key,
        row.kind,
        row.status,
        row.channel,
        row.card_kind,
        row.day,
        row.at,
        row.amount_fen,
        row.fee_fen,
        row.net_fen,
        row.last4,
        row.reference,
        row.batch,
        row.voucher,
        row.parent,
        row.synced,
        &hash[..],
        row.province
    ])?;
    roll_up_in(tx, owner, r)?;
    Ok(true)
}

/// The day's statistics row for the record's channel and card kind. Only approved events move
/// money: sales add to gross; voids and refunds to refunds; a reversal takes its sale back out;
/// fees follow the platform's figures (a void returns the sale's fee, so it counts negative).
fn roll_up_in(tx: &Transaction<'_>, owner: i64, r: &Record) -> Result<(), InternalError> {
    if r.status != Status::Approved {
        return Ok(());
    }
    let (sales, gross, refunds_n, refunds, fee, net) = match r.kind {
        Kind::Sale => (1, r.amount_fen, 0, 0, r.fee_fen, r.net_fen),
        Kind::Void => (0, 0, 1, r.amount_fen, -r.fee_fen, -r.net_fen),
        Kind::Refund => (0, 0, 1, r.amount_fen, -r.fee_fen, -r.net_fen),
        // A reversal takes its sale back out of the day: as if it never counted.
        Kind::Reversal => (-1, -r.amount_fen, 0, 0, -r.fee_fen, -r.net_fen),
    };
    tx.prepare_cached("INSERT INTO history_days (owner, day, channel, card_kind, sales, gross_fen, refunds, refunded_fen, fee_fen, net_fen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (owner, day, channel, card_kind) DO UPDATE SET
             sales = sales + ?5, gross_fen = gross_fen + ?6, refunds = refunds + ?7,
             refunded_fen = refunded_fen + ?8, fee_fen = fee_fen + ?9, net_fen = net_fen + ?10")?.execute(
        rusqlite::params![owner, r.day, r.channel.code(), card_kind_code(r.card_kind), sales, gross, refunds_n, refunds, fee, net],
    )?;
    Ok(())
}

/// The ledger row for a journalled sale that just reached a final state (called inside the
/// journal's transaction): approved or declined sales, reversals (for reversed sales).
pub fn sale_final_in(tx: &Transaction<'_>, payment_key: &str) -> Result<(), InternalError> {
    sale_final_from(tx, payment_key, CHANNEL_COLUMNS)
}

/// The journal's columns that give a row's channel. The backfill (upgrade step 14 -> 15) runs
/// before schema 18 added them, on rows that were all card payments.
/// The wallet's transaction number stands as a QR payment's reference.
const CHANNEL_COLUMNS: &str = "method, wallet, wallet_txn";
const CHANNEL_BEFORE_18: &str = "'card', NULL, NULL";

fn sale_final_from(tx: &Transaction<'_>, payment_key: &str, channel_columns: &str) -> Result<(), InternalError> {
    type SaleRow = (
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
        Option<String>,
        Channel,
        Option<String>,
    );
    let row: Option<SaleRow> = tx
        .query_row(
            &format!(
                "SELECT merchant_id, state, amount_fen, fee_fen, net_fen, card_kind, last4, reference_number,
                     batch_number, voucher_number, business_day, updated_at, province, {channel_columns}
                 FROM payments WHERE key = ?1"
            ),
            [payment_key],
            |r| {
                Ok((
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
                    Channel::of(&r.get::<_, String>(13)?, r.get::<_, Option<String>>(14)?.as_deref()),
                    r.get::<_, Option<String>>(15)?,
                ))
            },
        )
        .optional()?;
    let Some((
        merchant,
        state,
        amount,
        fee,
        net,
        card_kind,
        last4,
        reference,
        batch,
        voucher,
        day,
        at,
        province,
        channel,
        txn,
    )) = row
    else {
        return Ok(());
    };
    let reference = reference.or(txn);
    let status = match state.as_str() {
        "completed" | "reversed" => Status::Approved,
        "declined" => Status::Declined,
        _ => return Ok(()),
    };
    let approved = status == Status::Approved;
    let sale = Record {
        key: payment_key.to_string(),
        kind: Kind::Sale,
        status,
        channel,
        card_kind: card_kind_of(card_kind.as_deref()),
        day: day_number(&day).unwrap_or(0),
        at,
        amount_fen: amount,
        fee_fen: if approved { fee.unwrap_or(0) } else { 0 },
        net_fen: if approved { net.unwrap_or(amount) } else { 0 },
        last4,
        reference,
        batch: batch.as_deref().and_then(|b| b.parse().ok()),
        voucher: voucher.as_deref().and_then(|v| v.parse().ok()),
        parent: None,
        synced: false,
        province,
    };
    // A reversed sale was approved by the platform and then taken back: the sale row, and a
    // reversal row (its own key, derived from the sale's) that undoes its amount, fee and net,
    // as the platform's own record shows it.
    let reversal = (state == "reversed").then(|| Record {
        key: format!("{payment_key}:r"),
        kind: Kind::Reversal,
        parent: Some(payment_key.to_string()),
        batch: None,
        voucher: None,
        province: None,
        ..sale.clone()
    });
    append_in(tx, &merchant, &sale)?;
    if let Some(r) = reversal {
        append_in(tx, &merchant, &r)?;
    }
    Ok(())
}

/// The ledger row for a void or refund the platform applied (inside the journal's transaction).
/// A void returns the whole sale (its fee too); a refund returns its amount at the sale's rate.
pub fn adjustment_in(tx: &Transaction<'_>, adjustment_key: &str, day: &str, at: i64) -> Result<(), InternalError> {
    adjustment_from(tx, adjustment_key, day, at, "p.method, p.wallet, p.wallet_txn")
}

fn adjustment_from(
    tx: &Transaction<'_>,
    adjustment_key: &str,
    day: &str,
    at: i64,
    channel_columns: &str,
) -> Result<(), InternalError> {
    type AdjRow = (
        String,
        String,
        i64,
        String,
        i64,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Channel,
        Option<String>,
    );
    let row: Option<AdjRow> = tx
        .query_row(
            &format!(
                "SELECT a.payment_key, a.kind, a.amount_fen, p.merchant_id, p.amount_fen, p.fee_fen, p.card_kind,
                     p.last4, p.reference_number, {channel_columns}
                 FROM adjustments a JOIN payments p ON p.key = a.payment_key WHERE a.key = ?1"
            ),
            [adjustment_key],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    Channel::of(&r.get::<_, String>(9)?, r.get::<_, Option<String>>(10)?.as_deref()),
                    r.get::<_, Option<String>>(11)?,
                ))
            },
        )
        .optional()?;
    let Some((sale, kind, amount, merchant, sale_amount, sale_fee, card_kind, last4, reference, channel, txn)) = row
    else {
        return Ok(());
    };
    let reference = reference.or(txn);
    let kind = if kind == "void" { Kind::Void } else { Kind::Refund };
    let fee_back = fee_back(sale_amount, sale_fee.unwrap_or(0), amount);
    let record = Record {
        key: adjustment_key.to_string(),
        kind,
        status: Status::Approved,
        channel,
        card_kind: card_kind_of(card_kind.as_deref()),
        day: day_number(day).unwrap_or(0),
        at,
        amount_fen: amount,
        fee_fen: fee_back,
        net_fen: amount - fee_back,
        last4,
        reference,
        batch: None,
        voucher: None,
        parent: Some(sale),
        synced: false,
        province: None,
    };
    append_in(tx, &merchant, &record)?;
    Ok(())
}

/// Upgrade step 14 -> 15 (schema.rs): the journal's earlier sales, declines, reversals and
/// applied adjustments go into the ledger, in the upgrade's own transaction.
pub fn backfill(tx: &Transaction<'_>, _upgrade: &crate::storage::schema::Upgrade<'_>) -> Result<(), InternalError> {
    let added = backfill_in(tx)?;
    if added > 0 {
        tracing::info!(rows = added, "earlier transactions added to the ledger");
    }
    Ok(())
}

/// The work of [`backfill`]: how many ledger rows it added. Once per install: an install that
/// filled its ledger at start-up before this was a versioned step has the flag.
pub fn backfill_in(tx: &Transaction<'_>) -> Result<usize, InternalError> {
    const FLAG: &str = "ledger_backfilled";
    let done =
        tx.prepare_cached("SELECT 1 FROM meta WHERE key = ?1")?.query_row([FLAG], |_| Ok(())).optional()?.is_some();
    if done {
        return Ok(0);
    }
    let before: i64 = tx.prepare_cached("SELECT COUNT(*) FROM history")?.query_row([], |r| r.get(0))?;
    let sales: Vec<String> = tx
        .prepare(
            "SELECT key FROM payments WHERE state IN ('completed', 'declined', 'reversed') ORDER BY created_at, rowid",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for key in sales {
        sale_final_from(tx, &key, CHANNEL_BEFORE_18)?;
    }
    let adjustments: Vec<(String, i64)> = tx
        .prepare("SELECT key, updated_at FROM adjustments WHERE state = 'done' ORDER BY updated_at, rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (key, at) in adjustments {
        adjustment_from(tx, &key, &crate::limits::business_day(at), at, CHANNEL_BEFORE_18)?;
    }
    tx.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, '1')")?.execute([FLAG])?;
    let after: i64 = tx.prepare_cached("SELECT COUNT(*) FROM history")?.query_row([], |r| r.get(0))?;
    Ok((after - before) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgraded_install_gets_its_earlier_sales_in_the_ledger_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::storage::Db::open(dir.path()).unwrap();
        db.with(|c| {
            c.execute_batch(
                "INSERT INTO payments (key, merchant_id, kind, state, amount_fen, entry_mode, masked_pan, app_label, aid,
                     business_day, created_at, updated_at, fee_fen, net_fen, card_kind, last4, reference_number)
                 VALUES ('00112233445566778899aabbccddeeff', 'M1', 'sale', 'completed', 10000, 'insert', '', 'A', 'A0',
                     '2026-11-27', 1795000000, 1795000000, 60, 9940, 'debit', '0015', '000000123456'),
                        ('ffeeddccbbaa99887766554433221100', 'M1', 'sale', 'failed', 500, 'insert', '', 'A', 'A0',
                     '2026-11-27', 1795000100, 1795000100, NULL, NULL, NULL, '0015', NULL);
                 INSERT INTO adjustments (key, payment_key, kind, amount_fen, state, created_at, updated_at)
                 VALUES ('0123456789abcdef0123456789abcdef', '00112233445566778899aabbccddeeff', 'void', 10000, 'done',
                     1795000200, 1795000200);",
            )?;
            Ok(())
        })
        .unwrap();
        assert_eq!(db.write(backfill_in).unwrap(), 2, "the sale and its void; the failed one moved no money");
        assert_eq!(db.write(backfill_in).unwrap(), 0, "once");
        let check = crate::history::verify::verify(&db).unwrap();
        assert_eq!((check.entries, check.problem), (2, None));
        let totals = crate::history::stats::stats(&db, 1, "2026-11-01", "2026-11-30").unwrap().totals;
        assert_eq!((totals.gross_fen, totals.refunded_fen, totals.fee_fen, totals.net_fen), (10_000, 10_000, 0, 0));
    }
}
