//! `StarPos::account()`: SMS codes, registration, login, token refresh, logout.

use reqwest::Method;

use super::client;
use crate::account::{Session, SmsCodeSent, SmsPurpose};
use crate::starpos::Profile;
use crate::Result;

client!(Account);

impl Account {
    /// Sends an SMS code for `purpose` to `phone`.
    pub async fn request_sms_code(&self, phone: String, purpose: SmsPurpose) -> Result<SmsCodeSent> {
        self.run(move |i| async move { i.accounts.request_sms_code(&phone, purpose).await }).await
    }

    /// Registers an account for `phone` (with the SMS code for `Register`) and logs in.
    pub async fn register(&self, phone: String, password: String, sms_code: String) -> Result<Session> {
        // The caller's copy is wiped when the call ends (the wire type wipes its own).
        let password = zeroize::Zeroizing::new(password);
        self.run(move |i| async move { i.accounts.register(&phone, &password, &sms_code).await }).await
    }

    /// Logs in; on a device new to the account, `sms_code` (purpose `Login`) is needed.
    pub async fn login(&self, phone: String, password: String, sms_code: Option<String>) -> Result<Session> {
        let password = zeroize::Zeroizing::new(password);
        self.run(move |i| async move { i.accounts.login(&phone, &password, sms_code.as_deref()).await }).await
    }

    /// Refreshes the access token now (the core also does it by itself when needed).
    pub async fn refresh_session(&self) -> Result<Session> {
        self.run(|i| async move { i.accounts.refresh().await }).await
    }

    /// Ends the session on the platform and wipes it from this device.
    pub async fn logout(&self) -> Result<()> {
        self.run(|i| async move { i.accounts.logout().await }).await
    }

    /// The logged-in merchant's account profile (a signed request).
    pub async fn profile(&self) -> Result<Profile> {
        self.run(|i| async move { i.accounts.signed::<(), Profile>(Method::GET, "v1/me", None, true).await }).await
    }
}
