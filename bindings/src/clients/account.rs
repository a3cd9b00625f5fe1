use super::ffi_client;
use crate::error::StarPosError;
use crate::types::{Device, Profile, Session, SmsCodeSent, SmsPurpose};

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// SMS codes, registration, login, token refresh, logout, password change and reset, bound
    /// devices.
    AccountClient(starpos_core::clients::Account)
);

#[uniffi::export]
impl AccountClient {
    /// Sends an SMS code for `purpose` to `phone`.
    pub async fn request_sms_code(&self, phone: String, purpose: SmsPurpose) -> Result<SmsCodeSent> {
        Ok(self.core.request_sms_code(phone, purpose.into()).await?.into())
    }

    /// Registers an account for `phone` (SMS code of purpose `Register`) and logs in.
    pub async fn register(&self, phone: String, password: String, sms_code: String) -> Result<Session> {
        Ok(self.core.register(phone, password, sms_code).await?.into())
    }

    /// Logs in; on a device new to the account, `sms_code` (purpose `Login`) is needed.
    pub async fn login(&self, phone: String, password: String, sms_code: Option<String>) -> Result<Session> {
        Ok(self.core.login(phone, password, sms_code).await?.into())
    }

    /// Refreshes the access token now (StarPOS also does it by itself when needed).
    pub async fn refresh_session(&self) -> Result<Session> {
        Ok(self.core.refresh_session().await?.into())
    }

    /// Ends the session on the platform and wipes it from this device.
    pub async fn logout(&self) -> Result<()> {
        Ok(self.core.logout().await?)
    }

    /// Changes the password (`old_password` is the step-up); other devices' sessions end.
    pub async fn change_password(&self, old_password: String, new_password: String) -> Result<()> {
        Ok(self.core.change_password(old_password, new_password).await?)
    }

    /// Resets a forgotten password with the SMS code (purpose `ResetPassword`); ends a
    /// lock-out and every session, this device's too: log in with the new password.
    pub async fn reset_password(&self, phone: String, sms_code: String, new_password: String) -> Result<()> {
        Ok(self.core.reset_password(phone, sms_code, new_password).await?)
    }

    /// The devices bound to the account, the most recently used first.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        Ok(self.core.devices().await?.into_iter().map(Device::from).collect())
    }

    /// Unbinds another device (password step-up): its sessions end, its next login needs an
    /// SMS code. This device cannot be unbound: log out instead.
    pub async fn unbind_device(&self, device_id: String, password: String) -> Result<()> {
        Ok(self.core.unbind_device(device_id, password).await?)
    }

    /// The logged-in merchant's account profile.
    pub async fn profile(&self) -> Result<Profile> {
        Ok(self.core.profile().await?.into())
    }
}
