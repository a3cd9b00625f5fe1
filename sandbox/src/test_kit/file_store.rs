//! A secure store kept in a plain file, **for the kill suite's child processes only**: they
//! play an app that is killed and restarted, so its session must outlive the process. A real
//! app keeps these values in the Android Keystore or the iOS Keychain, never in a file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use starpos_core::{SecureStore, SecureStoreError};

pub struct FileSecureStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileSecureStore {
    pub fn new(path: impl Into<PathBuf>) -> FileSecureStore {
        FileSecureStore { path: path.into(), lock: Mutex::new(()) }
    }

    fn load(&self) -> BTreeMap<String, String> {
        std::fs::read(&self.path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Written to a temporary file and renamed, so a kill never leaves half a file.
    fn save(&self, map: &BTreeMap<String, String>) -> Result<(), SecureStoreError> {
        let tmp = self.path.with_extension("tmp");
        let bytes = serde_json::to_vec(map).map_err(|e| SecureStoreError::Unavailable { reason: e.to_string() })?;
        std::fs::write(&tmp, bytes).map_err(|e| SecureStoreError::Unavailable { reason: e.to_string() })?;
        std::fs::rename(&tmp, &self.path).map_err(|e| SecureStoreError::Unavailable { reason: e.to_string() })
    }
}

impl SecureStore for FileSecureStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecureStoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.load().get(key).and_then(|v| hex::decode(v).ok()))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecureStoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.load();
        map.insert(key.into(), hex::encode(value));
        self.save(&map)
    }

    fn delete(&self, key: &str) -> Result<(), SecureStoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.load();
        map.remove(key);
        self.save(&map)
    }
}
