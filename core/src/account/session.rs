//! The logged-in session: its secrets live in secure storage as one record (so they change
//! together), and a copy stays in memory. The app sees only [`Session`], which holds no secret.

use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::InternalError;
use crate::platform::wire::TokenResponse;
use crate::secure_store::SecureStore;

/// Secure-storage key of the session record.
pub const SESSION_KEY: &str = "starpos.session.v1";

/// What the app may know about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub merchant_id: String,
    pub phone_masked: String,
    pub device_id: String,
    /// When the current access token expires (platform time, unix seconds). Refresh is automatic.
    pub access_expires_at: i64,
}

/// The secrets of a session. Debug output shows none of them.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub merchant_id: String,
    pub phone_masked: String,
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: String,
    pub signing_key_b64: String,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession").field("merchant_id", &self.merchant_id).finish_non_exhaustive()
    }
}

/// The tokens and the signing key are wiped when the last holder lets the session go.
impl Drop for StoredSession {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access_token.zeroize();
        self.refresh_token.zeroize();
        self.signing_key_b64.zeroize();
    }
}

impl StoredSession {
    pub fn from_tokens(mut t: TokenResponse, now: i64) -> Self {
        let take = std::mem::take::<String>;
        StoredSession {
            merchant_id: take(&mut t.merchant_id),
            phone_masked: take(&mut t.phone_masked),
            access_token: take(&mut t.access_token),
            access_expires_at: now + t.access_expires_in as i64,
            refresh_token: take(&mut t.refresh_token),
            signing_key_b64: take(&mut t.signing_key),
        }
    }

    /// The decoded signing key, wiped when the request that used it is signed and dropped.
    pub fn signing_key(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, InternalError> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.signing_key_b64)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| InternalError::BadResponse("signing key is not base64".into()))
    }

    pub fn public(&self, device_id: &str) -> Session {
        Session {
            merchant_id: self.merchant_id.clone(),
            phone_masked: self.phone_masked.clone(),
            device_id: device_id.to_string(),
            access_expires_at: self.access_expires_at,
        }
    }
}

/// Reads, writes and clears the session in secure storage, keeping the memory copy in step.
pub(crate) struct SessionVault {
    store: Arc<dyn SecureStore>,
    current: std::sync::RwLock<Option<Arc<StoredSession>>>,
}

impl SessionVault {
    /// Loads a session kept from an earlier run, so a restarted app stays logged in.
    pub fn load(store: Arc<dyn SecureStore>) -> Result<Self, InternalError> {
        let current = match store.get(SESSION_KEY)? {
            Some(bytes) => match serde_json::from_slice::<StoredSession>(&bytes) {
                Ok(s) => Some(Arc::new(s)),
                Err(_) => {
                    tracing::warn!("stored session unreadable; discarding it");
                    store.delete(SESSION_KEY)?;
                    None
                }
            },
            None => None,
        };
        Ok(SessionVault { store, current: std::sync::RwLock::new(current) })
    }

    pub fn current(&self) -> Option<Arc<StoredSession>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Saves to secure storage first, then memory: a crash in between leaves the stored copy,
    /// which is the one a restart would use.
    pub fn replace(&self, session: StoredSession) -> Result<Arc<StoredSession>, InternalError> {
        self.store.put(SESSION_KEY, &serde_json::to_vec(&session)?)?;
        let session = Arc::new(session);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(session.clone());
        Ok(session)
    }

    pub fn clear(&self) -> Result<(), InternalError> {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.store.delete(SESSION_KEY)?;
        Ok(())
    }
}
