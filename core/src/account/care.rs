//! Account care (issue #16 item 7): the password changed (the old one as the step-up) or reset
//! with an SMS code to the account's phone, the devices bound to the account with their last
//! use, and unbinding one. The platform ends the sessions these make stale (docs/platform-api.md):
//! a changed password ends every other session, a reset every session (this device's too, so the
//! merchant logs in with the new password), an unbound device's sessions end with its binding.

use reqwest::Method;

use super::{check, validate, Accounts};
use crate::error::Error;
use crate::platform::wire;
use crate::platform::Auth;

/// A device bound to the account (a phone that logged in with an SMS code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: String,
    /// When it was bound (platform time, unix seconds).
    pub bound_at: i64,
    /// Its last login or token refresh; `None` if it has had neither since the platform began
    /// keeping it.
    pub last_used_at: Option<i64>,
    /// The device asking.
    pub this_device: bool,
}

impl Accounts {
    pub async fn change_password(&self, old_password: &str, new_password: &str) -> Result<(), Error> {
        if old_password.is_empty() {
            return Err(Error::invalid("password", "enter the current password"));
        }
        // The rule's part about the phone number is the platform's to check: this device keeps
        // only the masked number.
        check(validate::password_problem(new_password, ""), "new_password")?;
        if old_password == new_password {
            return Err(Error::invalid("new_password", "the new password is the old one"));
        }
        let body = wire::ChangePasswordRequest { old_password: old_password.into(), new_password: new_password.into() };
        let _: wire::Empty = self.signed(Method::POST, "v1/account/password", Some(&body), false).await?;
        tracing::info!("password changed; the account's other sessions ended");
        Ok(())
    }

    pub async fn reset_password(&self, phone: &str, sms_code: &str, new_password: &str) -> Result<(), Error> {
        check(validate::phone_problem(phone), "phone")?;
        check(validate::sms_code_problem(sms_code), "sms_code")?;
        check(validate::password_problem(new_password, phone), "new_password")?;
        let body = wire::ResetPasswordRequest {
            phone: phone.into(),
            sms_code: sms_code.into(),
            new_password: new_password.into(),
            device_id: self.device_id.clone(),
        };
        let _: wire::Empty =
            self.platform.send(Method::POST, "v1/account/password/reset", Some(&body), Auth::None, false).await?;
        // The platform ended every session of the account, this device's too.
        self.vault.clear()?;
        tracing::info!("password reset by SMS; log in with the new one");
        Ok(())
    }

    pub async fn devices(&self) -> Result<Vec<Device>, Error> {
        let listed: wire::DevicesWire = self.signed::<(), _>(Method::GET, "v1/devices", None, true).await?;
        Ok(listed
            .devices
            .into_iter()
            .map(|d| Device {
                device_id: d.device_id,
                bound_at: d.bound_at,
                last_used_at: d.last_used_at,
                this_device: d.this_device,
            })
            .collect())
    }

    pub async fn unbind_device(&self, device_id: &str, password: &str) -> Result<(), Error> {
        if device_id.is_empty() || device_id.len() > 128 {
            return Err(Error::invalid("device_id", "a device id has 1 to 128 bytes"));
        }
        if device_id == self.device_id {
            return Err(Error::invalid("device_id", "this is the device you are using: log out instead"));
        }
        if password.is_empty() {
            return Err(Error::invalid("password", "enter the account password"));
        }
        let body = wire::UnbindDeviceRequest { device_id: device_id.into(), password: password.into() };
        let _: wire::Empty = self.signed(Method::POST, "v1/devices/unbind", Some(&body), false).await?;
        tracing::info!("a device was unbound; its sessions ended");
        Ok(())
    }
}
