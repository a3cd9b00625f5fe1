//! A seeded generator of realistic ledger rows, for benchmarks and load tests: a busy shop's
//! days of card sales (debit and credit, amounts from a few yuan to thousands), with declines,
//! voids, refunds and reversals in about the proportions a merchant sees. The same seed gives
//! the same rows.

use super::ledger::{append_in, CardKind, Channel, Kind, Record, Status};
use crate::error::InternalError;
use crate::storage::Db;

/// xorshift64*: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Appends `count` rows for `merchant_id`, `per_day` a business day, the last day being
/// `last_day` (days since 1970-01-01), committing every 10,000 rows.
pub fn generate(
    db: &Db,
    merchant_id: &str,
    count: u64,
    per_day: u64,
    last_day: i64,
    seed: u64,
) -> Result<(), InternalError> {
    let mut rng = Rng::new(seed);
    let days = count.div_ceil(per_day.max(1)) as i64;
    let first_day = last_day - days + 1;
    let mut made = 0u64;
    while made < count {
        let batch = (count - made).min(10_000);
        db.write(|tx| {
            for i in made..made + batch {
                let day = first_day + (i / per_day) as i64;
                // Opening hours 08:00-22:00 China time, in order through the day.
                let at = day * 86_400 - 8 * 3_600 + 8 * 3_600 + ((i % per_day) * 14 * 3_600 / per_day) as i64;
                let roll = rng.below(100);
                let (kind, status) = match roll {
                    0..=87 => (Kind::Sale, Status::Approved),
                    88..=92 => (Kind::Sale, Status::Declined),
                    93..=96 => (Kind::Refund, Status::Approved),
                    97..=98 => (Kind::Void, Status::Approved),
                    _ => (Kind::Reversal, Status::Approved),
                };
                let card_kind = if rng.below(10) < 7 { CardKind::Debit } else { CardKind::Credit };
                // Log-uniform-ish from 1 to 5,000 yuan.
                let amount =
                    100 * (1 + (rng.below(1_000) * rng.below(1_000) * 5 / 1_000) as i64) + rng.below(100) as i64;
                let fee = if status == Status::Approved && kind != Kind::Reversal {
                    let f = (amount * 6 + 500) / 1_000;
                    if card_kind == CardKind::Debit {
                        f.min(2_000)
                    } else {
                        f
                    }
                } else {
                    0
                };
                let net =
                    if fee > 0 || (status == Status::Approved && kind != Kind::Reversal) { amount - fee } else { 0 };
                let key = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
                let record = Record {
                    key,
                    kind,
                    status,
                    channel: Channel::Card,
                    card_kind,
                    day,
                    at,
                    amount_fen: amount,
                    fee_fen: fee,
                    net_fen: net,
                    last4: Some(format!("{:04}", rng.below(10_000))),
                    reference: Some(format!("{:012}", rng.below(1_000_000_000_000))),
                    batch: Some(1 + (day - first_day) % 999_999),
                    voucher: Some(1 + (i % per_day) as i64),
                    parent: (kind != Kind::Sale).then(|| format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())),
                    synced: rng.below(20) == 0,
                    province: None,
                };
                append_in(tx, merchant_id, &record)?;
            }
            Ok(())
        })?;
        made += batch;
    }
    Ok(())
}
