//! The customer's payment code (付款码), as the phone's camera reads it from the customer's
//! wallet app: which wallet it is for, by the shapes the wallets publish. Only for what the
//! camera scanned: a 19-digit `62…` card number read by the card reader has the same shape as a
//! UnionPay code, so the source decides, never the shape alone (docs/qr.md).

/// The wallet a payment code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wallet {
    WeChat,
    Alipay,
    UnionPay,
}

impl Wallet {
    pub fn as_str(self) -> &'static str {
        match self {
            Wallet::WeChat => "wechat",
            Wallet::Alipay => "alipay",
            Wallet::UnionPay => "unionpay",
        }
    }

    pub fn parse(s: &str) -> Option<Wallet> {
        [Wallet::WeChat, Wallet::Alipay, Wallet::UnionPay].into_iter().find(|w| w.as_str() == s)
    }
}

/// Why a scanned text is not a payment code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentCodeError {
    #[error("nothing was scanned")]
    Empty,
    #[error("a payment code is digits only; this is something else (a link, a merchant's QR)")]
    NotDigits,
    #[error("{len} digits starting {prefix} is no wallet's payment code")]
    UnknownShape { len: usize, prefix: String },
}

/// The prefix of an EMV consumer-presented QR: base64 of the tag 85 `CPV01` that starts it (its
/// first 9 characters are fixed; the 10th depends on what follows),
/// which UnionPay's wallet can show instead of digits.
const EMV_CPM_PREFIX: &str = "hQVDUFYwM";
/// Longer than any code a wallet shows (an EMV CPM QR runs to a few hundred characters).
const MAX_LEN: usize = 512;

/// The wallet of a code scanned by the camera:
/// - WeChat Pay: 18 digits starting 10 to 15;
/// - Alipay: 16 to 24 digits starting 25 to 30;
/// - UnionPay: 19 digits starting 62, or an EMV consumer-presented QR.
///
/// Whitespace around it (scanners add a newline) is ignored.
pub fn classify(code: &str) -> Result<Wallet, PaymentCodeError> {
    let code = code.trim();
    if code.is_empty() {
        return Err(PaymentCodeError::Empty);
    }
    if code.len() <= MAX_LEN && code.starts_with(EMV_CPM_PREFIX) && is_base64(code) {
        return Ok(Wallet::UnionPay);
    }
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PaymentCodeError::NotDigits);
    }
    let len = code.len();
    let prefix: u8 = code.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    match (len, prefix) {
        (18, 10..=15) => Ok(Wallet::WeChat),
        (16..=24, 25..=30) => Ok(Wallet::Alipay),
        (19, 62) => Ok(Wallet::UnionPay),
        _ => Err(PaymentCodeError::UnknownShape { len, prefix: code.chars().take(2).collect() }),
    }
}

fn is_base64(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wallets_shape() {
        assert_eq!(classify("134567890123456789"), Ok(Wallet::WeChat));
        assert_eq!(classify("101234567890123456\n"), Ok(Wallet::WeChat), "a scanner's newline");
        assert_eq!(classify("2812345678901234"), Ok(Wallet::Alipay), "16 digits");
        assert_eq!(classify("251234567890123456789012"), Ok(Wallet::Alipay), "24 digits");
        assert_eq!(classify("6212345678901234567"), Ok(Wallet::UnionPay));
        assert_eq!(classify("hQVDUFYwMWETTwegAAAAAzMBAVcTYiEAAAAAAAAA0jEhIBAAAAAAAAA="), Ok(Wallet::UnionPay));
    }

    #[test]
    fn anything_else_says_why() {
        assert_eq!(classify("  "), Err(PaymentCodeError::Empty));
        assert_eq!(classify("https://qr.alipay.com/bax01234"), Err(PaymentCodeError::NotDigits));
        assert_eq!(classify("13456789012345678９"), Err(PaymentCodeError::NotDigits), "a full-width digit");
        // WeChat's length with Alipay's prefix is Alipay; WeChat's prefix at another length is nothing.
        assert_eq!(classify("251234567890123456"), Ok(Wallet::Alipay));
        assert_eq!(classify("1345678901234567"), Err(PaymentCodeError::UnknownShape { len: 16, prefix: "13".into() }));
        assert!(matches!(classify("16123456789012345678"), Err(PaymentCodeError::UnknownShape { .. })));
        assert!(matches!(classify("621234567890123456"), Err(PaymentCodeError::UnknownShape { len: 18, .. })));
        assert!(matches!(classify(&"1".repeat(600)), Err(PaymentCodeError::UnknownShape { .. })));
    }
}
