//! Merchant profile, fees and limits as they cross the boundary.

use starpos_core::limits as core_limits;
use starpos_core::onboarding as core;
use starpos_core::onboarding::fees::SettlementCycle as CoreCycle;

use crate::checks::CardKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LimitKind {
    DailyTotal,
    PerTransaction,
    PerCardDailyCount,
}

impl From<core_limits::LimitKind> for LimitKind {
    fn from(k: core_limits::LimitKind) -> Self {
        match k {
            core_limits::LimitKind::DailyTotal => LimitKind::DailyTotal,
            core_limits::LimitKind::PerTransaction => LimitKind::PerTransaction,
            core_limits::LimitKind::PerCardDailyCount => LimitKind::PerCardDailyCount,
        }
    }
}

impl From<LimitKind> for core_limits::LimitKind {
    fn from(k: LimitKind) -> Self {
        match k {
            LimitKind::DailyTotal => core_limits::LimitKind::DailyTotal,
            LimitKind::PerTransaction => core_limits::LimitKind::PerTransaction,
            LimitKind::PerCardDailyCount => core_limits::LimitKind::PerCardDailyCount,
        }
    }
}

impl LimitKind {
    /// The core's words for a value of this limit (yuan, or uses).
    pub(crate) fn amount(self, value: i64) -> String {
        core_limits::LimitKind::from(self).amount(value)
    }
}

/// The core's words for each limit, so error messages read the same on both sides.
impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        core_limits::LimitKind::from(*self).fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SettlementCycle {
    /// Next business day.
    T1,
    /// Same day, for a surcharge.
    D0,
}

impl From<SettlementCycle> for CoreCycle {
    fn from(c: SettlementCycle) -> Self {
        match c {
            SettlementCycle::T1 => CoreCycle::T1,
            SettlementCycle::D0 => CoreCycle::D0,
        }
    }
}

impl From<CoreCycle> for SettlementCycle {
    fn from(c: CoreCycle) -> Self {
        match c {
            CoreCycle::T1 => SettlementCycle::T1,
            CoreCycle::D0 => SettlementCycle::D0,
        }
    }
}

impl From<CardKind> for core::CardKind {
    fn from(k: CardKind) -> Self {
        match k {
            CardKind::Debit => core::CardKind::Debit,
            CardKind::Credit => core::CardKind::Credit,
            CardKind::Prepaid => core::CardKind::Prepaid,
            CardKind::Unknown => core::CardKind::Unknown,
        }
    }
}

/// Amounts in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Limits {
    pub daily_total_fen: i64,
    pub per_txn_fen: i64,
    pub per_card_daily_count: u32,
}

impl From<core_limits::Limits> for Limits {
    fn from(l: core_limits::Limits) -> Self {
        Limits {
            daily_total_fen: l.daily_total_fen,
            per_txn_fen: l.per_txn_fen,
            per_card_daily_count: l.per_card_daily_count,
        }
    }
}

impl From<Limits> for core_limits::Limits {
    fn from(l: Limits) -> Self {
        core_limits::Limits {
            daily_total_fen: l.daily_total_fen,
            per_txn_fen: l.per_txn_fen,
            per_card_daily_count: l.per_card_daily_count,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RemainingToday {
    /// `YYYY-MM-DD`, the platform's business day in China Standard Time.
    pub business_day: String,
    pub limits: Limits,
    pub daily_total_remaining_fen: i64,
    pub max_next_payment_fen: i64,
}

impl From<core_limits::Remaining> for RemainingToday {
    fn from(r: core_limits::Remaining) -> Self {
        RemainingToday {
            business_day: r.business_day,
            limits: r.limits.into(),
            daily_total_remaining_fen: r.daily_total_remaining_fen,
            max_next_payment_fen: r.max_next_payment_fen,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FeeRate {
    /// `card` or `qr`.
    pub channel: String,
    /// `debit`, `credit`, `prepaid`, `unknown`, or `any`.
    pub card_kind: String,
    pub rate_bp: u32,
    pub cap_fen: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MerchantProfile {
    pub merchant_id: String,
    pub terminal_id: String,
    pub merchant_name: String,
    /// Two-digit GB/T 2260 province code.
    pub registered_province: String,
    pub credit_code: Option<String>,
    pub settlement_cycle: SettlementCycle,
    pub fee_rates: Vec<FeeRate>,
    pub d0_surcharge_bp: u32,
    pub caps: Limits,
    pub limits: Limits,
    pub real_name_verified: bool,
    /// e.g. `*三`.
    pub holder_name_masked: Option<String>,
}

impl From<core::MerchantProfile> for MerchantProfile {
    fn from(p: core::MerchantProfile) -> Self {
        MerchantProfile {
            settlement_cycle: p.settlement_cycle.into(),
            merchant_id: p.merchant_id,
            terminal_id: p.terminal_id,
            merchant_name: p.merchant_name,
            registered_province: p.registered_province,
            credit_code: p.credit_code,
            fee_rates: p
                .fees
                .rates
                .into_iter()
                .map(|r| FeeRate { channel: r.channel, card_kind: r.card_kind, rate_bp: r.rate_bp, cap_fen: r.cap_fen })
                .collect(),
            d0_surcharge_bp: p.fees.d0_surcharge_bp,
            caps: p.caps.into(),
            limits: p.limits.into(),
            real_name_verified: p.real_name_verified,
            holder_name_masked: p.holder_name_masked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FeeQuote {
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub rate_bp: u32,
    pub cap_fen: Option<i64>,
}

impl From<core::FeeQuote> for FeeQuote {
    fn from(q: core::FeeQuote) -> Self {
        FeeQuote {
            amount_fen: q.amount_fen,
            fee_fen: q.fee_fen,
            net_fen: q.net_fen,
            rate_bp: q.rate_bp,
            cap_fen: q.cap_fen,
        }
    }
}

/// Real-name details the merchant types.
#[derive(Clone, uniffi::Record)]
pub struct RealName {
    pub holder_name: String,
    pub id_number: String,
    pub merchant_name: String,
    #[uniffi(default)]
    pub credit_code: Option<String>,
}

impl From<RealName> for core::RealName {
    fn from(r: RealName) -> Self {
        core::RealName {
            holder_name: r.holder_name,
            id_number: r.id_number,
            merchant_name: r.merchant_name,
            credit_code: r.credit_code,
        }
    }
}

/// The four elements of a settlement card (sent once to the platform, never stored).
#[derive(Clone, uniffi::Record)]
pub struct CardElements {
    pub card_number: String,
    pub holder_name: String,
    pub id_number: String,
    pub reserved_phone: String,
}

impl From<CardElements> for core::CardElements {
    fn from(c: CardElements) -> Self {
        core::CardElements {
            card_number: c.card_number,
            holder_name: c.holder_name,
            id_number: c.id_number,
            reserved_phone: c.reserved_phone,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingCardBinding {
    pub bind_id: String,
    pub card_masked: String,
    /// Where the SMS code went.
    pub phone_masked: String,
    pub expires_in_secs: u64,
}

impl From<core::PendingCardBinding> for PendingCardBinding {
    fn from(p: core::PendingCardBinding) -> Self {
        PendingCardBinding {
            bind_id: p.bind_id,
            card_masked: p.card_masked,
            phone_masked: p.phone_masked,
            expires_in_secs: p.expires_in,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SettlementCard {
    pub card_id: String,
    pub masked: String,
    pub issuer_bank: Option<String>,
    pub card_kind: CardKind,
    pub is_default: bool,
    pub bound_at: i64,
}

impl From<core::SettlementCard> for SettlementCard {
    fn from(c: core::SettlementCard) -> Self {
        SettlementCard {
            card_kind: core::CardKind::parse(&c.card_kind).unwrap_or(core::CardKind::Unknown).into(),
            card_id: c.card_id,
            masked: c.masked,
            issuer_bank: c.issuer_bank,
            is_default: c.is_default,
            bound_at: c.bound_at,
        }
    }
}
