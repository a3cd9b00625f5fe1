//! The merchant's profile as the platform answers it: terms (caps, fees), limits, real-name
//! state and cross-province rules.

use starpos_protocol::wire::{FeeRateWire, FeeScheduleWire, LimitsWire, MerchantProfileWire};

use crate::platform::error::ApiResult;
use crate::platform::state::State;

/// The platform's caps for every sandbox merchant: 50,000 yuan a day, 20,000 yuan a payment,
/// and uses of one card a day (five unless the sandbox is configured otherwise).
pub fn caps(state: &State) -> LimitsWire {
    LimitsWire {
        daily_total_fen: 5_000_000,
        per_txn_fen: 2_000_000,
        per_card_daily_count: state.config.per_card_daily_cap,
    }
}

/// The sandbox's fee schedule: debit 0.50% capped at 20 yuan, credit and prepaid 0.60%, QR
/// 0.38%, D0 settlement +0.05%.
pub fn fee_schedule() -> FeeScheduleWire {
    let rate = |channel: &str, kind: &str, rate_bp, cap_fen| FeeRateWire {
        channel: channel.into(),
        card_kind: kind.into(),
        rate_bp,
        cap_fen,
    };
    FeeScheduleWire {
        rates: vec![
            rate("card", "debit", 50, Some(2_000)),
            rate("card", "credit", 60, None),
            rate("card", "prepaid", 60, None),
            rate("card", "unknown", 60, None),
            rate("qr", "any", 38, None),
        ],
        d0_surcharge_bp: 5,
    }
}

type ProfileRow =
    (String, String, String, Option<String>, String, Option<i64>, Option<i64>, Option<u32>, Option<String>);

pub fn profile_of(state: &State, merchant_id: &str) -> ApiResult<MerchantProfileWire> {
    let row: ProfileRow = state.db().query_row(
        "SELECT terminal_id, merchant_name, province, credit_code, settlement, daily_total_fen, per_txn_fen,
                per_card_daily_count, holder_name FROM merchants WHERE id = ?1",
        [merchant_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?)),
    )?;
    let (terminal_id, merchant_name, province, credit_code, settlement, daily, per_txn, per_card, holder) = row;
    Ok(MerchantProfileWire {
        merchant_id: merchant_id.into(),
        terminal_id,
        merchant_name,
        registered_province: province,
        credit_code,
        settlement_cycle: settlement,
        fees: fee_schedule(),
        caps: caps(state),
        limits: LimitsWire {
            daily_total_fen: daily.unwrap_or(caps(state).daily_total_fen),
            per_txn_fen: per_txn.unwrap_or(caps(state).per_txn_fen),
            per_card_daily_count: per_card.unwrap_or(caps(state).per_card_daily_count),
        },
        real_name_verified: holder.is_some(),
        holder_name_masked: holder_name_masked(holder),
        cross_province: Some(super::cross_province::rules_of(state, merchant_id)?),
        used_today: None,
    })
}

fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.split_last() {
        Some((last, rest)) => format!("{}{last}", "*".repeat(rest.len())),
        None => String::new(),
    }
}

pub fn holder_name_masked(name: Option<String>) -> Option<String> {
    name.map(|n| mask_name(&n))
}
