//! The app's secure storage (Android Keystore, iOS Keychain), implemented in the shell.

use std::sync::Arc;

use starpos_core::secure_store as core;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SecureStoreError {
    /// The store could not be used (device locked, hardware failure, ...).
    #[error("secure store unavailable: {reason}")]
    Unavailable { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecureStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SecureStoreError::Unavailable { reason: e.reason }
    }
}

/// Small secrets by key. Called from StarPOS's own threads; must not call back into StarPOS.
#[uniffi::export(foreign)]
pub trait SecureStore: Send + Sync {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, SecureStoreError>;
    fn put(&self, key: String, value: Vec<u8>) -> Result<(), SecureStoreError>;
    fn delete(&self, key: String) -> Result<(), SecureStoreError>;
}

/// Lets the core use the app's store.
pub(crate) struct Adapter(pub Arc<dyn SecureStore>);

fn map(e: SecureStoreError) -> core::SecureStoreError {
    match e {
        SecureStoreError::Unavailable { reason } => core::SecureStoreError::Unavailable { reason },
    }
}

impl core::SecureStore for Adapter {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, core::SecureStoreError> {
        self.0.get(key.to_string()).map_err(map)
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), core::SecureStoreError> {
        self.0.put(key.to_string(), value.to_vec()).map_err(map)
    }
    fn delete(&self, key: &str) -> Result<(), core::SecureStoreError> {
        self.0.delete(key.to_string()).map_err(map)
    }
}
