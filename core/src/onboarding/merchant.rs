//! The merchant profile (numbers, registered province, fees, caps, limits) from the platform,
//! cached for offline use; fee quotes from the cached schedule; limits set through the platform
//! and evaluated locally.

use std::sync::Arc;

use reqwest::Method;
use rusqlite::OptionalExtension;

use super::fees::{self, SettlementCycle};
use super::CardKind;
use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::limits::{business_day, LimitBook, LimitKind, Limits, Remaining};
use crate::platform::wire::{FeeQuoteWire, FeeScheduleWire, MerchantProfileWire, SetLimitsRequest, SettlementRequest};
use crate::platform::PlatformClient;
use crate::storage::Db;

pub type FeeQuote = FeeQuoteWire;

/// The merchant profile as the app sees it: the platform's form, read once here (an unknown
/// settlement cycle is an unreadable answer, not a guess).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantProfile {
    pub merchant_id: String,
    /// 8 digits.
    pub terminal_id: String,
    pub merchant_name: String,
    /// Two-digit GB/T 2260 province code, e.g. "44".
    pub registered_province: String,
    pub credit_code: Option<String>,
    pub settlement_cycle: SettlementCycle,
    /// The fee schedule as the platform states it; the fee rule (`fees::quote`) reads it.
    pub fees: FeeScheduleWire,
    pub caps: Limits,
    pub limits: Limits,
    /// Real-name details accepted by the platform.
    pub real_name_verified: bool,
    /// The holder's name with all but the last character hidden, e.g. `*三`.
    pub holder_name_masked: Option<String>,
}

impl MerchantProfile {
    fn from_wire(w: MerchantProfileWire) -> Result<MerchantProfile, Error> {
        let settlement_cycle = SettlementCycle::parse(&w.settlement_cycle).ok_or_else(|| Error::Platform {
            code: "bad_response".into(),
            detail: format!("unknown settlement cycle {:?}", w.settlement_cycle),
        })?;
        Ok(MerchantProfile {
            merchant_id: w.merchant_id,
            terminal_id: w.terminal_id,
            merchant_name: w.merchant_name,
            registered_province: w.registered_province,
            credit_code: w.credit_code,
            settlement_cycle,
            fees: w.fees,
            caps: w.caps,
            limits: w.limits,
            real_name_verified: w.real_name_verified,
            holder_name_masked: w.holder_name_masked,
        })
    }
}

pub(crate) struct Merchant {
    db: Arc<Db>,
    platform: Arc<PlatformClient>,
}

impl Merchant {
    pub fn new(db: Arc<Db>, platform: Arc<PlatformClient>) -> Self {
        Merchant { db, platform }
    }

    /// Fetches the profile, caches it and its limits.
    pub async fn fetch_profile(&self, accounts: &Accounts) -> Result<MerchantProfile, Error> {
        let profile: MerchantProfileWire =
            accounts.signed::<(), _>(Method::GET, "v1/merchant/profile", None, true).await?;
        self.keep(profile)
    }

    /// Chooses T+1 or D0 settlement; answers (and keeps) the updated profile.
    pub async fn set_settlement_cycle(
        &self,
        accounts: &Accounts,
        cycle: SettlementCycle,
    ) -> Result<MerchantProfile, Error> {
        let body = SettlementRequest { cycle: cycle.as_str().into() };
        let profile: MerchantProfileWire =
            accounts.signed(Method::PUT, "v1/merchant/settlement", Some(&body), false).await?;
        self.keep(profile)
    }

    /// Caches a profile the platform sent, with its limits.
    pub fn keep(&self, profile: MerchantProfileWire) -> Result<MerchantProfile, Error> {
        let now = self.platform.platform_now();
        // Read before it is kept: a profile the app could not read is not cached.
        let domain = MerchantProfile::from_wire(profile.clone())?;
        let json = serde_json::to_string(&profile).map_err(InternalError::from)?;
        let rules =
            profile.cross_province.as_ref().map(serde_json::to_string).transpose().map_err(InternalError::from)?;
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO merchant_profile (merchant_id, json, fetched_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (merchant_id) DO UPDATE SET json = ?2, fetched_at = ?3",
                (&profile.merchant_id, &json, now),
            )?;
            if let Some(rules) = &rules {
                crate::regions::cross_province::keep_in(tx, &profile.merchant_id, rules, now)?;
            }
            // The merchant's other devices' use of today's total counts in this phone's
            // pre-check (docs/limits.md).
            if let Some(used) = &profile.used_today {
                crate::limits::note_platform_usage_in(tx, &profile.merchant_id, &used.business_day, used.used_fen)?;
            }
            Ok(())
        })?;
        LimitBook::new(&self.db).store(&profile.merchant_id, &profile.limits, now)?;
        Ok(domain)
    }

    /// The profile last fetched for `merchant_id`, if any (no network).
    pub fn cached_profile(&self, merchant_id: &str) -> Result<Option<MerchantProfile>, Error> {
        self.cached_wire(merchant_id)?.map(MerchantProfile::from_wire).transpose()
    }

    /// The cached profile in the platform's form, as it is stored.
    fn cached_wire(&self, merchant_id: &str) -> Result<Option<MerchantProfileWire>, Error> {
        let json: Option<String> = self.db.with(|c| {
            Ok(c.query_row("SELECT json FROM merchant_profile WHERE merchant_id = ?1", [merchant_id], |r| r.get(0))
                .optional()?)
        })?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose().map_err(InternalError::from)?)
    }

    /// The fee and net for a card payment of `amount_fen`, from the cached schedule: the same
    /// function the platform uses (see [`fees`]).
    pub fn quote_fee(
        &self,
        merchant_id: &str,
        amount_fen: i64,
        card_kind: CardKind,
        cycle: Option<SettlementCycle>,
    ) -> Result<FeeQuote, Error> {
        if amount_fen <= 0 {
            return Err(Error::invalid("amount", "an amount is a positive number of fen"));
        }
        let profile = self.cached_profile(merchant_id)?.ok_or(Error::ProfileNotLoaded)?;
        let cycle = cycle.unwrap_or(profile.settlement_cycle);
        fees::quote(&profile.fees, "card", card_kind.as_str(), cycle, amount_fen)
            .ok_or_else(|| Error::Platform { code: "no_fee_rate".into(), detail: "no fee rate for this card".into() })
    }

    /// The platform's own quote, for checking that both agree.
    pub async fn quote_fee_online(
        &self,
        accounts: &Accounts,
        amount_fen: i64,
        card_kind: CardKind,
        cycle: SettlementCycle,
    ) -> Result<FeeQuote, Error> {
        let path = format!(
            "v1/fees/quote?amount_fen={amount_fen}&channel=card&card_kind={}&cycle={}",
            card_kind.as_str(),
            cycle.as_str()
        );
        accounts.signed::<(), _>(Method::GET, &path, None, true).await
    }

    /// Sets the merchant's limits on the platform (which enforces them too), then locally.
    /// Never above the platform's caps; raising any limit needs the password (step-up).
    pub async fn set_limits(
        &self,
        accounts: &Accounts,
        merchant_id: &str,
        limits: Limits,
        password: Option<String>,
    ) -> Result<Limits, Error> {
        if let Some(profile) = self.cached_profile(merchant_id)? {
            for (limit, requested, cap) in [
                (LimitKind::DailyTotal, limits.daily_total_fen, profile.caps.daily_total_fen),
                (LimitKind::PerTransaction, limits.per_txn_fen, profile.caps.per_txn_fen),
                (
                    LimitKind::PerCardDailyCount,
                    limits.per_card_daily_count as i64,
                    profile.caps.per_card_daily_count as i64,
                ),
            ] {
                if requested > cap {
                    return Err(Error::LimitAboveCap { limit, requested, cap });
                }
            }
        }
        let body = SetLimitsRequest { limits, password };
        let confirmed: Limits = match accounts.signed(Method::PUT, "v1/limits", Some(&body), false).await {
            Err(Error::LimitAboveCap { limit, cap, .. }) => {
                let requested = match limit {
                    LimitKind::DailyTotal => limits.daily_total_fen,
                    LimitKind::PerTransaction => limits.per_txn_fen,
                    LimitKind::PerCardDailyCount => limits.per_card_daily_count as i64,
                };
                return Err(Error::LimitAboveCap { limit, requested, cap });
            }
            other => other?,
        };
        LimitBook::new(&self.db).store(merchant_id, &confirmed, self.platform.platform_now())?;
        if let Some(mut profile) = self.cached_wire(merchant_id)? {
            profile.limits = confirmed;
            let json = serde_json::to_string(&profile).map_err(InternalError::from)?;
            self.db.with(|c| {
                c.execute("UPDATE merchant_profile SET json = ?1 WHERE merchant_id = ?2", (&json, merchant_id))?;
                Ok(())
            })?;
        }
        Ok(confirmed)
    }

    /// What is left of today's limits (the platform's business day, China Standard Time).
    pub fn remaining_today(&self, merchant_id: &str) -> Result<Remaining, Error> {
        LimitBook::new(&self.db).remaining(merchant_id, &business_day(self.platform.platform_now()))
    }
}
