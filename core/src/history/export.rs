//! Bill export (账单导出): CSV that Excel opens correctly with Chinese text. UTF-8 with a byte
//! order mark (without it Excel assumes the local code page and garbles Chinese), RFC 4180
//! quoting, CRLF line ends, and cells that a spreadsheet would run as a formula (starting with
//! `=`, `+`, `-`, `@`, tab or CR) prefixed with `'`. Amounts are yuan with two decimals, from
//! integer fen. Written to a temporary file beside the target and renamed at the end, so a
//! cancelled or failed export leaves nothing half-written.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::types::Value;

use super::query::{conditions, Filter, SELECT};
use crate::error::{Error, InternalError};
use crate::storage::Db;

/// Progress is reported every this many rows.
const PROGRESS_EVERY: u64 = 10_000;

pub const HEADER: [&str; 15] = [
    "交易时间",
    "业务日期",
    "类型",
    "状态",
    "渠道",
    "卡类型",
    "卡号后四位",
    "金额(元)",
    "手续费(元)",
    "净额(元)",
    "参考号",
    "批次号",
    "凭证号",
    "交易编号",
    "省份",
];

pub trait ExportProgress: Send + Sync {
    /// `done` rows written of about `total`.
    fn on_progress(&self, done: u64, total: u64);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub rows: u64,
    pub bytes: u64,
}

/// One CSV cell: quoted when it holds a comma, quote or line break; defused when a spreadsheet
/// would read it as a formula.
pub fn cell(out: &mut Vec<u8>, s: &str) {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || s.contains([',', '"', '\n', '\r']);
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

fn row(out: &mut Vec<u8>, cells: &[&str]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        cell(out, c);
    }
    out.extend_from_slice(b"\r\n");
}

/// One transaction as a CSV line, formatted straight from the row's columns (a million rows
/// must take well under the 2 s budget: no allocation per row). Every cell is digits, hex or
/// one of the fixed words below, none of which needs quoting or defusing; the one free-form
/// cell, the id of a non-hex key, goes through [`cell`].
fn line(out: &mut Vec<u8>, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    use super::ledger::{push_day, push_digits};
    push_time(out, r.get(7)?);
    out.push(b',');
    push_day(out, r.get(6)?);
    out.push(b',');
    let kind = super::ledger::Kind::from_code(r.get(2)?).map(kind_zh).unwrap_or("");
    let status = if r.get::<_, i64>(3)? == super::ledger::Status::Approved.code() { "成功" } else { "失败" };
    let channel = match super::ledger::Channel::from_code(r.get(4)?) {
        Some(super::ledger::Channel::Card) => "刷卡",
        Some(super::ledger::Channel::WeChat) => "微信",
        Some(super::ledger::Channel::Alipay) => "支付宝",
        Some(super::ledger::Channel::UnionPay) => "银联二维码",
        _ => "扫码",
    };
    let card = match super::ledger::card_kind_from_code(r.get(5)?) {
        super::ledger::CardKind::Debit => "借记卡",
        super::ledger::CardKind::Credit => "贷记卡",
        super::ledger::CardKind::Prepaid => "预付卡",
        super::ledger::CardKind::Unknown => "",
    };
    for word in [kind, status, channel, card] {
        out.extend_from_slice(word.as_bytes());
        out.push(b',');
    }
    let optional = |out: &mut Vec<u8>, v: Option<i64>, width: usize| {
        if let Some(n) = v.filter(|n| *n >= 0) {
            push_digits(out, n as u64, width);
        }
        out.push(b',');
    };
    optional(out, r.get(11)?, 4);
    for column in [8, 9, 10] {
        push_yuan(out, r.get(column)?);
        out.push(b',');
    }
    optional(out, r.get(12)?, 12);
    optional(out, r.get(13)?, 6);
    optional(out, r.get(14)?, 6);
    let key = r.get_ref(1)?.as_blob()?;
    if key.len() == 16 {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in key {
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
    } else {
        cell(out, &String::from_utf8_lossy(key));
    }
    out.push(b',');
    if let Some(name) = r.get::<_, Option<i64>>(17)?.and_then(crate::regions::province_name) {
        out.extend_from_slice(name.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Fen as yuan with two decimals (`12345` as `123.45`).
fn push_yuan(out: &mut Vec<u8>, fen: i64) {
    if fen < 0 {
        out.push(b'-');
    }
    let abs = fen.unsigned_abs();
    super::ledger::push_digits(out, abs / 100, 1);
    out.push(b'.');
    super::ledger::push_digits(out, abs % 100, 2);
}

fn kind_zh(k: super::ledger::Kind) -> &'static str {
    use super::ledger::Kind::*;
    match k {
        Sale => "消费",
        Void => "撤销",
        Refund => "退货",
        Reversal => "冲正",
    }
}

/// Writes `owner`'s transactions matching `filter` (newest first) to `path`.
pub fn export(
    db: &Db,
    owner: i64,
    filter: &Filter,
    path: &Path,
    progress: &dyn ExportProgress,
    cancel: &AtomicBool,
) -> Result<ExportSummary, Error> {
    export_with(db, owner, filter, &[], path, progress, cancel)
}

/// The settlement statement (结算单) of one batch: the batch's figures as label-value lines,
/// a blank line, then the day's transactions as in [`export`].
pub fn statement(
    db: &Db,
    owner: i64,
    batch: &super::reconcile::Batch,
    path: &Path,
    progress: &dyn ExportProgress,
    cancel: &AtomicBool,
) -> Result<ExportSummary, Error> {
    let yuan = |fen: i64| {
        let mut out = Vec::new();
        push_yuan(&mut out, fen);
        String::from_utf8(out).unwrap_or_default()
    };
    let paid_at = batch.paid_at.map(cst_text).unwrap_or_else(|| "未结算".into());
    let preamble = vec![
        ["结算单".to_string(), String::new()],
        ["业务日期".into(), batch.business_day.clone()],
        [
            "结算周期".into(),
            if batch.cycle == crate::onboarding::fees::SettlementCycle::D0 { "D0".into() } else { "T+1".into() },
        ],
        ["应结金额(元)".into(), yuan(batch.expected_net_fen)],
        ["本机统计净额(元)".into(), yuan(batch.phone_net_fen)],
        ["已结金额(元)".into(), yuan(batch.paid_fen)],
        ["结算时间".into(), paid_at],
    ];
    let day = Filter {
        from_day: Some(batch.business_day.clone()),
        to_day: Some(batch.business_day.clone()),
        ..Filter::default()
    };
    export_with(db, owner, &day, &preamble, path, progress, cancel)
}

/// `unix` as `YYYY-MM-DD HH:MM:SS`, China time.
fn cst_text(unix: i64) -> String {
    let mut out = Vec::new();
    push_time(&mut out, unix);
    String::from_utf8(out).unwrap_or_default()
}

fn push_time(out: &mut Vec<u8>, unix: i64) {
    use super::ledger::{push_day, push_digits};
    // China Standard Time is UTC+8 all year.
    let local = unix + 8 * 3_600;
    push_day(out, local.div_euclid(86_400));
    out.push(b' ');
    let secs = local.rem_euclid(86_400) as u64;
    push_digits(out, secs / 3_600, 2);
    out.push(b':');
    push_digits(out, secs / 60 % 60, 2);
    out.push(b':');
    push_digits(out, secs % 60, 2);
}

fn export_with(
    db: &Db,
    owner: i64,
    filter: &Filter,
    preamble: &[[String; 2]],
    path: &Path,
    progress: &dyn ExportProgress,
    cancel: &AtomicBool,
) -> Result<ExportSummary, Error> {
    let (sql, values) = conditions(filter)?;
    let mut params: Vec<Value> = vec![Value::Integer(owner)];
    params.extend(values);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::invalid("path", "the folder to export into does not exist"));
    }
    let file_name = path.file_name().ok_or_else(|| Error::invalid("path", "a file name to write"))?;
    let temp = dir.join(format!(".{}.part", file_name.to_string_lossy()));
    let result = write_all(db, &sql, &params, preamble, &temp, progress, cancel);
    match result {
        Ok(summary) => {
            std::fs::rename(&temp, path).map_err(InternalError::from)?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

fn write_all(
    db: &Db,
    sql: &str,
    params: &[Value],
    preamble: &[[String; 2]],
    temp: &Path,
    progress: &dyn ExportProgress,
    cancel: &AtomicBool,
) -> Result<ExportSummary, Error> {
    let file = std::fs::File::create(temp).map_err(|e| Error::invalid("path", format!("cannot write there: {e}")))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    buf.extend_from_slice("\u{FEFF}".as_bytes());
    for [label, value] in preamble {
        row(&mut buf, &[label.as_str(), value.as_str()]);
    }
    if !preamble.is_empty() {
        buf.extend_from_slice(b"\r\n");
    }
    row(&mut buf, &HEADER);
    let mut bytes = 0u64;
    let mut rows = 0u64;
    // Its own read-only connection: a long export does not hold up a sale (WAL lets readers
    // and the writer go on together), and it reads one consistent snapshot.
    let c = db.reader()?;
    let total: u64 = {
        c.query_row(
            &format!("SELECT COUNT(*) FROM history WHERE owner = ?1{sql}"),
            rusqlite::params_from_iter(params.iter()),
            |r| r.get::<_, i64>(0),
        )
        .map_err(InternalError::from)? as u64
    };
    progress.on_progress(0, total);
    let query = format!("{SELECT} WHERE owner = ?1{sql} ORDER BY day DESC, at DESC, id DESC");
    let outcome: Result<(), Error> = (|| {
        let mut q = c.prepare(&query).map_err(InternalError::from)?;
        let mut it = q.query(rusqlite::params_from_iter(params.iter())).map_err(InternalError::from)?;
        while let Some(r) = it.next().map_err(InternalError::from)? {
            line(&mut buf, r).map_err(InternalError::from)?;
            rows += 1;
            if buf.len() >= 1 << 16 {
                w.write_all(&buf).map_err(InternalError::from)?;
                bytes += buf.len() as u64;
                buf.clear();
            }
            if rows.is_multiple_of(PROGRESS_EVERY) {
                if cancel.load(Ordering::Relaxed) {
                    return Err(Error::ExportCancelled);
                }
                progress.on_progress(rows, total);
            }
        }
        // A cancel that came after the last progress report still wins: the file is not kept.
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::ExportCancelled);
        }
        Ok(())
    })();
    outcome?;
    w.write_all(&buf).map_err(InternalError::from)?;
    bytes += buf.len() as u64;
    w.flush().map_err(InternalError::from)?;
    progress.on_progress(rows, total);
    Ok(ExportSummary { rows, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(s: &str) -> String {
        let mut out = Vec::new();
        cell(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_are_written_exactly() {
        let mut out = Vec::new();
        for fen in [0, 5, 12_345, -1_001, i64::MAX] {
            push_yuan(&mut out, fen);
            out.push(b' ');
        }
        assert_eq!(String::from_utf8(out).unwrap(), "0.00 0.05 123.45 -10.01 92233720368547758.07 ");
        for (day, text) in [(0, "1970-01-01"), (20_785, "2026-11-28"), (11_016, "2000-02-29"), (-1, "1969-12-31")] {
            assert_eq!(super::super::ledger::day_string(day), text);
            assert_eq!(super::super::ledger::day_number(text), Some(day));
        }
    }

    #[test]
    fn cells_are_quoted_by_rfc_4180_and_formulas_defused() {
        assert_eq!(cells("星标便利店"), "星标便利店");
        assert_eq!(cells("a,b"), "\"a,b\"");
        assert_eq!(cells("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cells("two\nlines"), "\"two\nlines\"");
        assert_eq!(cells("=1+1"), "\"'=1+1\"");
        assert_eq!(cells("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cells("-5"), "\"'-5\"", "a negative number typed as text is defused too");
        assert_eq!(cells("+86"), "\"'+86\"");
        assert_eq!(cells("12.50"), "12.50");
    }
}
