//! Secure storage is the phone's: Android Keystore-backed storage, the iOS Keychain. The core
//! keeps every secret it has (tokens, the request-signing key, later the data key) there and
//! nowhere else. The shells implement this trait; the FFI crate adapts their implementation.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecureStoreError {
    /// The store could not be used (locked device, hardware failure, ...).
    #[error("secure store unavailable: {reason}")]
    Unavailable { reason: String },
}

/// Small secret values by key. Implementations must be safe to call from any thread and must
/// not call back into StarPOS.
pub trait SecureStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecureStoreError>;
    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecureStoreError>;
    fn delete(&self, key: &str) -> Result<(), SecureStoreError>;
}

/// A store that lives in memory only, for tests and the demo: nothing it holds reaches the disk.
/// A shipped app always passes the phone's real secure storage.
#[derive(Default)]
pub struct InMemorySecureStore {
    values: Mutex<HashMap<String, Vec<u8>>>,
}

impl InMemorySecureStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys held, for tests that check what the core stored.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.values.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SecureStore for InMemorySecureStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecureStoreError> {
        Ok(self.lock().get(key).cloned())
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecureStoreError> {
        self.lock().insert(key.to_string(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), SecureStoreError> {
        self.lock().remove(key);
        Ok(())
    }
}
