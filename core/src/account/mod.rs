//! Account: SMS codes, registration, login (with device binding), automatic token refresh,
//! logout, and signed requests on behalf of the logged-in merchant.

mod care;
mod session;
pub use starpos_protocol::validate;

use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, InternalError};
use crate::platform::delivery::Delivery;
use crate::platform::wire::{self, SmsPurposeWire};
use crate::platform::{Auth, PlatformClient};
use crate::secure_store::SecureStore;
use crate::storage::Db;
pub use care::Device;
pub use session::{Session, SESSION_KEY};
use session::{SessionVault, StoredSession};

/// Refresh this many seconds before the access token's stated expiry.
const REFRESH_MARGIN_SECS: i64 = 10;

/// Why an SMS code is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    /// Creating an account.
    Register,
    /// Logging in on a device not yet bound to the account.
    Login,
    /// Resetting a forgotten password (sent only to a phone with an account).
    ResetPassword,
}

/// The platform's answer to an SMS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCodeSent {
    /// The code expires after this many seconds.
    pub expires_in_secs: u64,
    /// Another code can be requested after this many seconds.
    pub resend_after_secs: u64,
}

pub(crate) struct Accounts {
    platform: Arc<PlatformClient>,
    db: Arc<Db>,
    vault: Arc<SessionVault>,
    device_id: String,
    /// Held while refreshing, so that many calls that find the token expired refresh it once.
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Accounts {
    pub fn new(
        platform: Arc<PlatformClient>,
        db: Arc<Db>,
        store: Arc<dyn SecureStore>,
        device_id: String,
    ) -> Result<Self, Error> {
        let vault = Arc::new(SessionVault::load(store)?);
        Ok(Accounts { platform, db, vault, device_id, refresh_lock: Arc::new(tokio::sync::Mutex::new(())) })
    }

    /// The platform's idea of now (the phone's clock is not trusted), in Unix seconds.
    /// Whether the app reported that the phone has no network.
    pub fn offline(&self) -> bool {
        self.platform.meter().network() == crate::platform::meter::NetworkType::Offline
    }

    pub fn platform_now(&self) -> i64 {
        self.platform.platform_now()
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn current_session(&self) -> Option<Session> {
        self.vault.current().map(|s| s.public(&self.device_id))
    }

    pub async fn request_sms_code(&self, phone: &str, purpose: SmsPurpose) -> Result<SmsCodeSent, Error> {
        check(validate::phone_problem(phone), "phone")?;
        let purpose = match purpose {
            SmsPurpose::Register => SmsPurposeWire::Register,
            SmsPurpose::Login => SmsPurposeWire::Login,
            SmsPurpose::ResetPassword => SmsPurposeWire::ResetPassword,
        };
        let body = wire::SmsRequest { phone: phone.into(), purpose };
        let sent: wire::SmsResponse =
            self.platform.send(Method::POST, "v1/sms/request", Some(&body), Auth::None, false).await?;
        Ok(SmsCodeSent { expires_in_secs: sent.expires_in, resend_after_secs: sent.resend_after })
    }

    pub async fn register(&self, phone: &str, password: &str, sms_code: &str) -> Result<Session, Error> {
        check(validate::phone_problem(phone), "phone")?;
        check(validate::password_problem(password, phone), "password")?;
        check(validate::sms_code_problem(sms_code), "sms_code")?;
        let body = wire::RegisterRequest {
            phone: phone.into(),
            password: password.into(),
            sms_code: sms_code.into(),
            device_id: self.device_id.clone(),
        };
        let tokens = self.platform.send(Method::POST, "v1/accounts/register", Some(&body), Auth::None, false).await?;
        tracing::info!("registered a new account");
        self.start_session(tokens)
    }

    pub async fn login(&self, phone: &str, password: &str, sms_code: Option<&str>) -> Result<Session, Error> {
        check(validate::phone_problem(phone), "phone")?;
        if password.is_empty() {
            return Err(Error::invalid("password", "enter the password"));
        }
        if let Some(code) = sms_code {
            check(validate::sms_code_problem(code), "sms_code")?;
        }
        let body = wire::LoginRequest {
            phone: phone.into(),
            password: password.into(),
            device_id: self.device_id.clone(),
            sms_code: sms_code.map(str::to_string),
        };
        let result = self.platform.send(Method::POST, "v1/auth/login", Some(&body), Auth::None, false).await;
        match result {
            Ok(tokens) => {
                tracing::info!("logged in");
                self.start_session(tokens)
            }
            Err(e) => {
                let e = Error::from(e);
                tracing::info!(error = %e, "login refused");
                Err(e)
            }
        }
    }

    /// Ends the session on the platform and wipes it from this device. The local wipe happens
    /// even if the platform cannot be reached: a merchant who logs out is logged out here.
    /// (An expired access token is refreshed first, so the platform does revoke the session.)
    pub async fn logout(&self) -> Result<(), Error> {
        if self.vault.current().is_none() {
            return Ok(());
        }
        let sent: Result<wire::Empty, Error> =
            self.signed(Method::POST, "v1/auth/logout", Some(&wire::Empty {}), false).await;
        self.vault.clear()?;
        match sent {
            Ok(_) => tracing::info!("logged out"),
            Err(e) => tracing::warn!(error = %e, "logged out locally; the platform was not told"),
        }
        Ok(())
    }

    /// Refreshes the access token now (normally automatic).
    pub async fn refresh(&self) -> Result<Session, Error> {
        let seen = self.vault.current().ok_or(Error::NotLoggedIn)?;
        Ok(self.refresh_from(&seen).await?.public(&self.device_id))
    }

    /// A signed request as the logged-in merchant. An expired access token is refreshed (once,
    /// however many calls find it expired together) and the request sent again: the platform
    /// refuses an expired token before acting, so the resend cannot do anything twice.
    pub async fn signed<Req: Serialize + Sync, Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Req>,
        idempotent: bool,
    ) -> Result<Resp, Error> {
        self.signed_tracked(method, path, body, idempotent, &mut Delivery::default()).await
    }

    /// [`Self::signed`], noting in `delivery` how every attempt ended, the retry after a
    /// refresh included (money requests decide "refused" or "unknown" from it).
    pub async fn signed_tracked<Req: Serialize + Sync, Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Req>,
        idempotent: bool,
        delivery: &mut Delivery,
    ) -> Result<Resp, Error> {
        let mut session = self.vault.current().ok_or(Error::NotLoggedIn)?;
        if session.access_expires_at - REFRESH_MARGIN_SECS <= self.platform.platform_now() {
            session = self.refresh_from(&session).await?;
        }
        match self.send_signed(&session, method.clone(), path, body, idempotent, delivery).await {
            // Expired, or rotated by a racing call's refresh while this request was on the
            // wire (the platform no longer knows the token): after the refresh lock, either that
            // refresh's token or a refresh of our own; then one retry.
            Err(InternalError::Platform { body: b, .. })
                if b.code == "access_token_expired" || b.code == "unauthorized" =>
            {
                let session = self.refresh_from(&session).await?;
                Ok(self
                    .send_signed(&session, method, path, body, idempotent, delivery)
                    .await
                    .map_err(|e| self.ended(e))?)
            }
            // The answer corrected our idea of the platform's clock: one retry, newly signed.
            Err(InternalError::Platform { body: b, .. }) if b.code == "timestamp_stale" => Ok(self
                .send_signed(&session, method, path, body, idempotent, delivery)
                .await
                .map_err(|e| self.ended(e))?),
            other => Ok(other.map_err(|e| self.ended(e))?),
        }
    }

    async fn send_signed<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        session: &StoredSession,
        method: Method,
        path: &str,
        body: Option<&Req>,
        idempotent: bool,
        delivery: &mut Delivery,
    ) -> Result<Resp, InternalError> {
        let key = session.signing_key()?;
        let auth = Auth::Signed { access_token: &session.access_token, signing_key: &key };
        self.platform.send_tracked(method, path, body, auth, idempotent, delivery).await
    }

    /// Refreshes unless another caller already replaced the session `seen`.
    async fn refresh_from(&self, seen: &Arc<StoredSession>) -> Result<Arc<StoredSession>, Error> {
        // A task of its own: once the refresh token has gone out, the rotation must finish and
        // be kept even if the caller gives up (a time-out, a cancelled coroutine). Half done,
        // it would leave the old token, whose next use revokes the whole session.
        let (platform, vault, db) = (self.platform.clone(), self.vault.clone(), self.db.clone());
        let (lock, device_id, seen) = (self.refresh_lock.clone(), self.device_id.clone(), seen.clone());
        crate::runtime::run(async move {
            let _only_one = lock.lock().await;
            let current = vault.current().ok_or(Error::NotLoggedIn)?;
            if current.access_token != seen.access_token {
                return Ok(current);
            }
            let body = wire::RefreshRequest { refresh_token: current.refresh_token.clone(), device_id };
            let tokens: wire::TokenResponse = platform
                .send(Method::POST, "v1/auth/refresh", Some(&body), Auth::None, false)
                .await
                .map_err(|e| ended(&vault, e))?;
            let now = platform.platform_now();
            let session = vault.replace(StoredSession::from_tokens(tokens, now))?;
            db.with(|c| {
                c.execute("UPDATE account SET last_seen_at = ?1 WHERE merchant_id = ?2", (now, &session.merchant_id))?;
                Ok(())
            })?;
            tracing::debug!("access token refreshed");
            Ok(session)
        })
        .await
    }

    fn start_session(&self, tokens: wire::TokenResponse) -> Result<Session, Error> {
        let now = self.platform.platform_now();
        let session = self.vault.replace(StoredSession::from_tokens(tokens, now))?;
        self.db.write(|tx| {
            tx.execute("DELETE FROM account WHERE merchant_id <> ?1", [&session.merchant_id])?;
            tx.execute(
                "INSERT INTO account (merchant_id, phone_masked, last_login_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (merchant_id) DO UPDATE SET phone_masked = ?2, last_login_at = ?3, last_seen_at = ?3",
                (&session.merchant_id, &session.phone_masked, now),
            )?;
            Ok(())
        })?;
        Ok(session.public(&self.device_id))
    }

    /// Maps a failure, clearing the local session if the platform says it has ended.
    fn ended(&self, e: InternalError) -> Error {
        ended(&self.vault, e)
    }
}

/// Maps a failure, clearing the local session if the platform says it has ended.
fn ended(vault: &SessionVault, e: InternalError) -> Error {
    let e = Error::from(e);
    if e == Error::SessionExpired {
        tracing::info!("platform ended the session; clearing it locally");
        if let Err(clear) = vault.clear() {
            return Error::from(clear);
        }
    }
    e
}

fn check(problem: Option<&'static str>, field: &str) -> Result<(), Error> {
    match problem {
        Some(reason) => Err(Error::invalid(field, reason)),
        None => Ok(()),
    }
}
