//! Fee quotes. The platform is the source of truth for the schedule; this one function turns a
//! schedule into a quote, and the sandbox platform uses the same function, so the app shows
//! exactly what the platform will charge.
//!
//! Rounding rule: each part is rounded half up to the fen, on the exact product
//! (`(amount × bp + 5000) / 10000` in 128-bit integers, so no overflow and no float):
//! the rate part first, then capped; the D0 surcharge separately (never capped); the fee is
//! their sum and never more than the amount; net = amount − fee.

use crate::wire::{FeeQuoteWire, FeeScheduleWire};

/// How the merchant is paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementCycle {
    /// Next business day.
    T1,
    /// Same day, for a surcharge.
    D0,
}

impl SettlementCycle {
    pub fn as_str(self) -> &'static str {
        match self {
            SettlementCycle::T1 => "t1",
            SettlementCycle::D0 => "d0",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "t1" => Some(SettlementCycle::T1),
            "d0" => Some(SettlementCycle::D0),
            _ => None,
        }
    }
}

/// `amount × bp / 10000`, rounded half up to the fen. `amount` must be ≥ 0.
pub fn basis_points(amount_fen: i64, bp: u32) -> i64 {
    let exact = amount_fen as i128 * bp as i128;
    ((exact + 5_000) / 10_000) as i64
}

/// The quote for `amount_fen` paid with a card of `card_kind` (`debit`, `credit`, ...) or by
/// QR (`channel = "qr"`). `None` if the amount is negative or the schedule has no rate for it.
pub fn quote(
    schedule: &FeeScheduleWire,
    channel: &str,
    card_kind: &str,
    cycle: SettlementCycle,
    amount_fen: i64,
) -> Option<FeeQuoteWire> {
    if amount_fen < 0 {
        return None;
    }
    let rate = schedule
        .rates
        .iter()
        .find(|r| r.channel == channel && r.card_kind == card_kind)
        .or_else(|| schedule.rates.iter().find(|r| r.channel == channel && r.card_kind == "any"))?;
    let mut fee = basis_points(amount_fen, rate.rate_bp);
    if let Some(cap) = rate.cap_fen {
        fee = fee.min(cap);
    }
    if cycle == SettlementCycle::D0 {
        fee += basis_points(amount_fen, schedule.d0_surcharge_bp);
    }
    let fee = fee.min(amount_fen);
    Some(FeeQuoteWire {
        amount_fen,
        fee_fen: fee,
        net_fen: amount_fen - fee,
        rate_bp: rate.rate_bp,
        cap_fen: rate.cap_fen,
    })
}

/// The fee given back with `amount` of a sale of `sale_amount` that paid `sale_fee`: the fee in
/// proportion, rounded half-up (all of it for the whole amount). The platform uses this same
/// function, so the phone's statistics and the settlement agree to the fen.
pub fn fee_back(sale_amount: i64, sale_fee: i64, amount: i64) -> i64 {
    if sale_amount <= 0 {
        return 0;
    }
    let (fee, amount, sale) = (i128::from(sale_fee), i128::from(amount), i128::from(sale_amount));
    ((fee * amount * 2 + sale) / (2 * sale)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FeeRateWire;

    fn schedule() -> FeeScheduleWire {
        let rate = |channel: &str, kind: &str, bp, cap| FeeRateWire {
            channel: channel.into(),
            card_kind: kind.into(),
            rate_bp: bp,
            cap_fen: cap,
        };
        FeeScheduleWire {
            rates: vec![
                rate("card", "debit", 50, Some(2_000)),
                rate("card", "credit", 60, None),
                rate("qr", "any", 38, None),
            ],
            d0_surcharge_bp: 5,
        }
    }

    #[test]
    fn rounds_half_up_to_the_fen() {
        // 0.60% of 0.83 yuan = 0.498 fen -> 0; of 0.84 = 0.504 -> 1; of 2.50 = 1.5 -> 2.
        assert_eq!(basis_points(83, 60), 0);
        assert_eq!(basis_points(84, 60), 1);
        assert_eq!(basis_points(250, 60), 2);
        assert_eq!(basis_points(i64::MAX, 10_000), i64::MAX, "no overflow");
    }

    #[test]
    fn debit_is_capped_credit_is_not() {
        let s = schedule();
        let debit = quote(&s, "card", "debit", SettlementCycle::T1, 1_000_000).unwrap(); // 10,000 yuan
        assert_eq!((debit.fee_fen, debit.net_fen), (2_000, 998_000));
        let credit = quote(&s, "card", "credit", SettlementCycle::T1, 1_000_000).unwrap();
        assert_eq!((credit.fee_fen, credit.net_fen), (6_000, 994_000));
    }

    #[test]
    fn d0_adds_its_surcharge_after_the_cap() {
        let s = schedule();
        let q = quote(&s, "card", "debit", SettlementCycle::D0, 1_000_000).unwrap();
        assert_eq!(q.fee_fen, 2_000 + 500);
        let qr = quote(&s, "qr", "whatever", SettlementCycle::T1, 10_000).unwrap();
        assert_eq!(qr.fee_fen, 38);
    }

    #[test]
    fn refuses_what_it_cannot_price() {
        let s = schedule();
        assert!(quote(&s, "card", "debit", SettlementCycle::T1, -1).is_none());
        assert!(quote(&s, "card", "prepaid", SettlementCycle::T1, 100).is_none());
        assert_eq!(quote(&s, "card", "credit", SettlementCycle::T1, 0).unwrap().fee_fen, 0);
    }

    proptest::proptest! {
        #[test]
        fn fee_and_net_always_add_up(amount in 0i64..10_000_000_000, d0 in proptest::bool::ANY) {
            let cycle = if d0 { SettlementCycle::D0 } else { SettlementCycle::T1 };
            for kind in ["debit", "credit"] {
                let q = quote(&schedule(), "card", kind, cycle, amount).unwrap();
                proptest::prop_assert_eq!(q.fee_fen + q.net_fen, amount);
                proptest::prop_assert!(q.fee_fen >= 0 && q.fee_fen <= amount);
            }
        }
    }
}
