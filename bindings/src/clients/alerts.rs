use std::sync::Arc;

use super::ffi_client;
use crate::alerts::{Alert, AlertAdapter, AlertListener};
use crate::error::StarPosError;

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// The merchant's alert feed: list, unread count, mark read, a listener for new alerts.
    AlertsClient(starpos_core::clients::AlertFeed)
);

#[uniffi::export]
impl AlertsClient {
    /// The newest `limit` alerts (1 to 500), only the unread ones if `unread_only`.
    pub fn list(&self, unread_only: bool, limit: u32) -> Result<Vec<Alert>> {
        Ok(self.core.list(unread_only, limit)?.into_iter().map(Alert::from).collect())
    }

    pub fn unread_count(&self) -> Result<u64> {
        Ok(self.core.unread_count()?)
    }

    /// Marks these alerts read; answers how many were unread.
    pub fn mark_read(&self, ids: Vec<i64>) -> Result<u64> {
        Ok(self.core.mark_read(ids)?)
    }

    pub fn mark_all_read(&self) -> Result<u64> {
        Ok(self.core.mark_all_read()?)
    }

    /// Sets (or, with null, removes) the listener that hears each new alert.
    pub fn set_listener(&self, listener: Option<Arc<dyn AlertListener>>) {
        self.core
            .set_listener(listener.map(|l| Arc::new(AlertAdapter(l)) as Arc<dyn starpos_core::alerts::AlertListener>));
    }

    /// Asks the platform for news now (new devices, cross-province decisions); answers the
    /// alerts raised.
    pub async fn refresh(&self) -> Result<Vec<Alert>> {
        Ok(self.core.refresh().await?.into_iter().map(Alert::from).collect())
    }
}
