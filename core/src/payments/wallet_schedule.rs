//! How often to ask about a QR payment the customer is still confirming on their phone, and
//! when to give up and reverse (or cancel) it: each wallet's published rule (docs/qr.md); and how
//! often to poll a dynamic QR the phone shows.

use std::time::Duration;

use crate::qr::Wallet;

/// One wallet's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletSchedule {
    /// Between two queries while the customer confirms.
    pub query_every: Duration,
    /// From the payment's start (platform time, so a restarted app counts the time already
    /// spent) to the last query, after which the payment is reversed or cancelled.
    pub give_up_after_secs: i64,
}

/// The rules for the three wallets; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrSchedule {
    /// WeChat Pay: query about every 10 s, reverse after about 45 s (never within 15 s of a
    /// debit: the platform answers `reverse_too_soon`, and the reversal is retried).
    pub wechat: WalletSchedule,
    /// Alipay: query every 3 to 6 s for about 60 s, then cancel straight after the last query.
    pub alipay: WalletSchedule,
    /// UnionPay: query every 5 s until the app's time-out (the aggregators' rule), then reverse.
    pub unionpay: WalletSchedule,
    /// After a "system error" answer, wait this long before the first query (WeChat's rule,
    /// applied to all three).
    pub after_system_error: Duration,
    /// A dynamic QR the phone shows is polled first after this long, then at twice the last
    /// wait, up to `order_poll_every`.
    pub order_first_poll: Duration,
    pub order_poll_every: Duration,
}

impl Default for QrSchedule {
    fn default() -> Self {
        QrSchedule {
            wechat: WalletSchedule { query_every: Duration::from_secs(10), give_up_after_secs: 45 },
            alipay: WalletSchedule { query_every: Duration::from_secs(5), give_up_after_secs: 60 },
            unionpay: WalletSchedule { query_every: Duration::from_secs(5), give_up_after_secs: 60 },
            after_system_error: Duration::from_secs(5),
            order_first_poll: Duration::from_secs(1),
            order_poll_every: Duration::from_secs(3),
        }
    }
}

impl QrSchedule {
    pub fn of(&self, wallet: Wallet) -> WalletSchedule {
        match wallet {
            Wallet::WeChat => self.wechat,
            Wallet::Alipay => self.alipay,
            Wallet::UnionPay => self.unionpay,
        }
    }
}
