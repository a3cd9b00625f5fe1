use super::ffi_client;
use crate::checks::CardKind;
use crate::error::StarPosError;
use crate::merchant::{
    CardElements, FeeQuote, Limits, MerchantProfile, PendingCardBinding, RealName, RemainingToday, SettlementCard,
    SettlementCycle,
};

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// The merchant profile, settlement cycle, fees, limits, real-name details, settlement cards.
    MerchantClient(starpos_core::clients::Merchant)
);

fn cards(list: Vec<starpos_core::onboarding::SettlementCard>) -> Vec<SettlementCard> {
    list.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl MerchantClient {
    /// Fetches the merchant profile (numbers, registered province, fees, caps, limits) and
    /// keeps it for offline use.
    pub async fn profile(&self) -> Result<MerchantProfile> {
        Ok(self.core.profile().await?.into())
    }

    /// The profile last fetched, without network.
    pub fn cached_profile(&self) -> Result<Option<MerchantProfile>> {
        Ok(self.core.cached_profile()?.map(Into::into))
    }

    /// Chooses T+1 (next business day) or D0 (same day, for a surcharge) settlement.
    pub async fn set_settlement_cycle(&self, cycle: SettlementCycle) -> Result<MerchantProfile> {
        Ok(self.core.set_settlement_cycle(cycle.into()).await?.into())
    }

    /// Fee and net for a card payment from the cached schedule; `cycle` defaults to the
    /// merchant's settlement cycle.
    pub fn quote_fee(&self, amount_fen: i64, card_kind: CardKind, cycle: Option<SettlementCycle>) -> Result<FeeQuote> {
        Ok(self.core.quote_fee(amount_fen, card_kind.into(), cycle.map(Into::into))?.into())
    }

    /// Sets the daily limits; raising any of them needs `password` (step-up).
    pub async fn set_limits(&self, limits: Limits, password: Option<String>) -> Result<Limits> {
        Ok(self.core.set_limits(limits.into(), password).await?.into())
    }

    /// What is left of today's limits.
    pub fn remaining_today(&self) -> Result<RemainingToday> {
        Ok(self.core.remaining_today()?.into())
    }

    /// Submits the real-name details; answers the updated profile.
    pub async fn submit_real_name(&self, details: RealName) -> Result<MerchantProfile> {
        Ok(self.core.submit_real_name(details.into()).await?.into())
    }

    /// Starts binding a settlement card; an SMS code goes to the phone reserved at the bank.
    pub async fn start_card_binding(&self, card: CardElements) -> Result<PendingCardBinding> {
        Ok(self.core.start_card_binding(card.into()).await?.into())
    }

    /// Finishes a binding with the SMS code sent to the reserved phone.
    pub async fn confirm_card_binding(&self, bind_id: String, sms_code: String) -> Result<SettlementCard> {
        Ok(self.core.confirm_card_binding(bind_id, sms_code).await?.into())
    }

    /// The bound settlement cards, from the platform (kept for offline use).
    pub async fn settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        Ok(cards(self.core.settlement_cards().await?))
    }

    /// The settlement cards last listed, without network.
    pub fn cached_settlement_cards(&self) -> Result<Vec<SettlementCard>> {
        Ok(cards(self.core.cached_settlement_cards()?))
    }

    /// Makes `card_id` the card settlements are paid to.
    pub async fn set_default_card(&self, card_id: String) -> Result<Vec<SettlementCard>> {
        Ok(cards(self.core.set_default_card(card_id).await?))
    }

    /// Unbinds a card; needs the account password (step-up).
    pub async fn unbind_card(&self, card_id: String, password: String) -> Result<Vec<SettlementCard>> {
        Ok(cards(self.core.unbind_card(card_id, password).await?))
    }
}
