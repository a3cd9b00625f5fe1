//! Money in words. Amounts are integer fen everywhere; this is the one place they become
//! yuan text (receipts, error messages, exports). A leaf: it imports nothing of the crate.

/// `fen` as yuan with two decimals: 12345 -> "123.45", -5 -> "-0.05".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}
