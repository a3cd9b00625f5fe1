//! Ready-made sandbox merchants for tests: registered, profile fetched, real-name details
//! accepted and the registry's test card bound for settlement, so a test can sell at once.

use starpos_core::onboarding::{CardElements, RealName};
use starpos_core::{SmsPurpose, StarPos};

use crate::dev_client::DevClient;

/// The bank registry's card in the name of 张三 (docs/platform-api.md), bound for settlement.
pub const SETTLEMENT_CARD: &str = "6222021234567890128";
const HOLDER: &str = "张三";
const ID_NUMBER: &str = "11010519491231002X";
const RESERVED_PHONE: &str = "13900139000";

/// Registers `phone` on `client` and makes it ready to take card payments.
pub async fn ready_merchant(client: &StarPos, dev: &DevClient, phone: &str, password: &str) -> Result<(), String> {
    let fail = |what: &str, e: starpos_core::Error| format!("{what}: {e}");
    client.account().request_sms_code(phone.into(), SmsPurpose::Register).await.map_err(|e| fail("sms", e))?;
    let code = dev.sms_code(phone, "register").await?;
    client.account().register(phone.into(), password.into(), code).await.map_err(|e| fail("register", e))?;
    client.merchant().profile().await.map_err(|e| fail("profile", e))?;
    let real_name = RealName {
        holder_name: HOLDER.into(),
        id_number: ID_NUMBER.into(),
        merchant_name: "星标测试店".into(),
        credit_code: None,
    };
    client.merchant().submit_real_name(real_name).await.map_err(|e| fail("real name", e))?;
    let card = CardElements {
        card_number: SETTLEMENT_CARD.into(),
        holder_name: HOLDER.into(),
        id_number: ID_NUMBER.into(),
        reserved_phone: RESERVED_PHONE.into(),
    };
    let pending = client.merchant().start_card_binding(card).await.map_err(|e| fail("card binding", e))?;
    let code = dev.sms_code(RESERVED_PHONE, "bind_card").await?;
    client.merchant().confirm_card_binding(pending.bind_id, code).await.map_err(|e| fail("card confirmation", e))?;
    Ok(())
}
