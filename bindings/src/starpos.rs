//! The `StarPos` object the app holds.

use std::sync::Arc;

use crate::error::StarPosError;
use crate::secure_store::{Adapter, SecureStore};
use crate::types::{Profile, Session, SmsCodeSent, SmsPurpose, StarPosConfig};

type Result<T> = std::result::Result<T, StarPosError>;

#[derive(uniffi::Object)]
pub struct StarPos {
    core: starpos_core::StarPos,
}

#[uniffi::export]
impl StarPos {
    /// Opens StarPOS: its database in `config.data_dir` and any session kept in `secure_store`.
    /// Does no network I/O.
    #[uniffi::constructor]
    pub fn new(config: StarPosConfig, secure_store: Arc<dyn SecureStore>) -> Result<Arc<Self>> {
        let core = starpos_core::StarPos::new(config.into(), Arc::new(Adapter(secure_store)))?;
        Ok(Arc::new(StarPos { core }))
    }

    /// The session on this device, if logged in (no network I/O).
    pub fn current_session(&self) -> Option<Session> {
        self.core.current_session().map(Into::into)
    }

    pub async fn request_sms_code(&self, phone: String, purpose: SmsPurpose) -> Result<SmsCodeSent> {
        Ok(self.core.request_sms_code(phone, purpose.into()).await?.into())
    }

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

    pub async fn profile(&self) -> Result<Profile> {
        Ok(self.core.profile().await?.into())
    }
}
