//! [`StarPos`], the one object an app holds. Each operation runs on the core's runtime (see
//! [`crate::runtime`]), so it can be awaited from any thread.

use std::sync::Arc;

use reqwest::Method;

use crate::account::{Accounts, Session, SmsCodeSent, SmsPurpose};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::platform::wire::MeResponse;
use crate::platform::PlatformClient;
use crate::runtime::run;
use crate::secure_store::SecureStore;
use crate::storage::Db;

/// The merchant's profile as the platform knows it.
pub type Profile = MeResponse;

#[derive(Clone)]
pub struct StarPos {
    inner: Arc<Inner>,
}

struct Inner {
    accounts: Accounts,
}

impl StarPos {
    /// Opens the database, restores any session kept in secure storage, and prepares the
    /// platform client. Does no network I/O.
    pub fn new(config: Config, secure_store: Arc<dyn SecureStore>) -> Result<StarPos> {
        if config.device_id.trim().is_empty() || config.device_id.len() > 128 {
            return Err(Error::invalid("device_id", "give a stable id of 1 to 128 characters"));
        }
        let platform =
            Arc::new(PlatformClient::new(&config.platform_url, &config.pinned_key_hashes, &config.extra_roots_der)?);
        let db = Arc::new(Db::open(&config.data_dir)?);
        let accounts = Accounts::new(platform, db, secure_store, config.device_id)?;
        Ok(StarPos { inner: Arc::new(Inner { accounts }) })
    }

    pub fn current_session(&self) -> Option<Session> {
        self.inner.accounts.current_session()
    }

    pub async fn request_sms_code(&self, phone: String, purpose: SmsPurpose) -> Result<SmsCodeSent> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.request_sms_code(&phone, purpose).await }).await
    }

    pub async fn register(&self, phone: String, password: String, sms_code: String) -> Result<Session> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.register(&phone, &password, &sms_code).await }).await
    }

    pub async fn login(&self, phone: String, password: String, sms_code: Option<String>) -> Result<Session> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.login(&phone, &password, sms_code.as_deref()).await }).await
    }

    pub async fn refresh_session(&self) -> Result<Session> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.refresh().await }).await
    }

    pub async fn logout(&self) -> Result<()> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.logout().await }).await
    }

    /// The logged-in merchant's profile (a signed request).
    pub async fn profile(&self) -> Result<Profile> {
        let inner = self.inner.clone();
        run(async move { inner.accounts.signed::<(), Profile>(Method::GET, "v1/me", None, true).await }).await
    }
}
