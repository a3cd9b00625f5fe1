//! `StarPos::account()`: SMS codes, registration, login, token refresh, logout, and account
//! care (password change and reset, bound devices).

use reqwest::Method;

use super::client;
use crate::account::{Device, Session, SmsCodeSent, SmsPurpose};
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

    /// Changes the account password; `old_password` is the step-up (wrong tries count toward
    /// the lock-out). The account's sessions on other devices end; this one goes on.
    pub async fn change_password(&self, old_password: String, new_password: String) -> Result<()> {
        let (old, new) = (zeroize::Zeroizing::new(old_password), zeroize::Zeroizing::new(new_password));
        self.run(move |i| async move { i.accounts.change_password(&old, &new).await }).await
    }

    /// Resets a forgotten password with the SMS code (purpose `ResetPassword`) sent to the
    /// account's phone; it also ends a lock-out. Every session of the account ends, this
    /// device's too: log in with the new password (this device is bound by the code).
    pub async fn reset_password(&self, phone: String, sms_code: String, new_password: String) -> Result<()> {
        let new = zeroize::Zeroizing::new(new_password);
        self.run(move |i| async move { i.accounts.reset_password(&phone, &sms_code, &new).await }).await
    }

    /// The devices bound to the account, the most recently used first.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.run(|i| async move { i.accounts.devices().await }).await
    }

    /// Unbinds another device (the account password as the step-up): its sessions end and its
    /// next login needs an SMS code. This device cannot be unbound: log out instead.
    pub async fn unbind_device(&self, device_id: String, password: String) -> Result<()> {
        let password = zeroize::Zeroizing::new(password);
        self.run(move |i| async move { i.accounts.unbind_device(&device_id, &password).await }).await
    }

    /// The logged-in merchant's account profile (a signed request).
    pub async fn profile(&self) -> Result<Profile> {
        self.run(|i| async move { i.accounts.signed::<(), Profile>(Method::GET, "v1/me", None, true).await }).await
    }
}
