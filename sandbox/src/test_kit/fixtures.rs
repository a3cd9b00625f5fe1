//! Ready-made sandbox merchants for tests: made ready to sell by the platform's dev endpoint
//! (registered with this device, real-name details accepted, the registry's test card bound
//! for settlement), then logged in and their profile and settlement cards fetched, so a test can sell at once.

use starpos_core::StarPos;

use super::dev_client::DevClient;

/// The bank registry's card in the name of 张三 (docs/platform-api.md), bound for settlement.
pub const SETTLEMENT_CARD: &str = "6222021234567890128";

/// Makes `phone` a merchant ready to sell on the sandbox and logs `client` in as it.
pub async fn ready_merchant(client: &StarPos, dev: &DevClient, phone: &str, password: &str) -> Result<(), String> {
    let fail = |what: &str, e: starpos_core::Error| format!("{what}: {e}");
    dev.ready_merchant(phone, password, client.device_id()).await?;
    client.account().login(phone.into(), password.into(), None).await.map_err(|e| fail("login", e))?;
    client.merchant().profile().await.map_err(|e| fail("profile", e))?;
    // As the app's home screen would; a sale also asks by itself when none is listed yet (a
    // test in tests/rust/tests/payments.rs), but a test that counts a sale's round trips
    // should not count this one.
    client.merchant().settlement_cards().await.map_err(|e| fail("settlement cards", e))?;
    Ok(())
}
