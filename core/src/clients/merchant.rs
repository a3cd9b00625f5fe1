//! `StarPos::merchant()`: the merchant profile, settlement cycle, fees, limits, real-name
//! details and settlement cards.

use super::client;
use crate::limits::{Limits, Remaining};
use crate::onboarding::fees::SettlementCycle;
use crate::onboarding::{
    CardElements, CardKind, FeeQuote, MerchantProfile, PendingCardBinding, RealName, SettlementCard,
};
use crate::Result;

client!(Merchant);

impl Merchant {
    /// Fetches the merchant profile (numbers, registered province, fees, caps, limits) and
    /// keeps it for offline use.
    pub async fn profile(&self) -> Result<MerchantProfile> {
        self.run(|i| async move { i.merchant.fetch_profile(&i.accounts).await }).await
    }

    /// The profile last fetched, without network.
    pub fn cached_profile(&self) -> Result<Option<MerchantProfile>> {
        self.inner.merchant.cached_profile(&self.inner.merchant_id()?)
    }

    /// Chooses T+1 (next business day) or D0 (same day, for a surcharge) settlement.
    pub async fn set_settlement_cycle(&self, cycle: SettlementCycle) -> Result<MerchantProfile> {
        self.run(move |i| async move { i.merchant.set_settlement_cycle(&i.accounts, cycle).await }).await
    }

    /// Fee and net for a card payment, from the cached fee schedule (no network); `cycle`
    /// defaults to the merchant's settlement cycle.
    pub fn quote_fee(&self, amount_fen: i64, card_kind: CardKind, cycle: Option<SettlementCycle>) -> Result<FeeQuote> {
        self.inner.merchant.quote_fee(&self.inner.merchant_id()?, amount_fen, card_kind, cycle)
    }

    /// The platform's quote for the same payment (a signed request).
    pub async fn quote_fee_online(
        &self,
        amount_fen: i64,
        card_kind: CardKind,
        cycle: SettlementCycle,
    ) -> Result<FeeQuote> {
        self.run(move |i| async move { i.merchant.quote_fee_online(&i.accounts, amount_fen, card_kind, cycle).await })
            .await
    }

    /// Sets the daily limits; raising any of them needs `password` (step-up).
    pub async fn set_limits(&self, limits: Limits, password: Option<String>) -> Result<Limits> {
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            i.merchant.set_limits(&i.accounts, &merchant_id, limits, password).await
        })
        .await
    }

    /// What is left of today's limits (platform business day, China Standard Time).
    pub fn remaining_today(&self) -> Result<Remaining> {
        self.inner.merchant.remaining_today(&self.inner.merchant_id()?)
    }

    /// Submits the real-name details (checked here first); answers the updated profile.
    pub async fn submit_real_name(&self, details: RealName) -> Result<MerchantProfile> {
        self.run(move |i| async move {
            let profile = i.cards.submit_real_name(&i.accounts, details).await?;
            i.merchant.keep(profile)
        })
        .await
    }

    /// Starts binding a settlement card: the four elements are checked here, then verified by
    /// the bank through the platform, which texts a code to the reserved phone.
    pub async fn start_card_binding(&self, card: CardElements) -> Result<PendingCardBinding> {
        self.run(move |i| async move { i.cards.start_binding(&i.accounts, card).await }).await
    }

    /// Finishes a binding with the SMS code sent to the reserved phone.
    pub async fn confirm_card_binding(&self, bind_id: String, sms_code: String) -> Result<SettlementCard> {
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            i.cards.confirm_binding(&i.accounts, &merchant_id, bind_id, sms_code).await
        })
        .await
    }

    /// The bound settlement cards, from the platform (kept for offline use).
    pub async fn settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        self.run(|i| async move {
            let merchant_id = i.merchant_id()?;
            i.cards.refresh(&i.accounts, &merchant_id).await
        })
        .await
    }

    /// The settlement cards last listed, without network.
    pub fn cached_settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        self.inner.cards.cached(&self.inner.merchant_id()?)
    }

    /// Makes `card_id` the card settlements are paid to.
    pub async fn set_default_card(&self, card_id: String) -> Result<Vec<SettlementCard>> {
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            i.cards.set_default(&i.accounts, &merchant_id, card_id).await
        })
        .await
    }

    /// Unbinds a settlement card; needs the account password (step-up).
    pub async fn unbind_card(&self, card_id: String, password: String) -> Result<Vec<SettlementCard>> {
        self.run(move |i| async move {
            let merchant_id = i.merchant_id()?;
            i.cards.unbind(&i.accounts, &merchant_id, card_id, password).await
        })
        .await
    }
}
