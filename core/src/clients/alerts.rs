//! `StarPos::alerts()`: the merchant's alert feed (core/src/alerts): list, unread count, mark
//! read, a listener for each new alert, and a look at the platform for news.

use std::sync::Arc;

use super::client;
use crate::alerts::{Alert, AlertListener};
use crate::Result;

client!(AlertFeed);

impl AlertFeed {
    /// The newest `limit` alerts (1 to 500), only the unread ones if `unread_only`.
    pub fn list(&self, unread_only: bool, limit: u32) -> Result<Vec<Alert>> {
        Ok(self.inner.alerts.list(&self.inner.merchant_id()?, unread_only, limit)?)
    }

    pub fn unread_count(&self) -> Result<u64> {
        Ok(self.inner.alerts.unread(&self.inner.merchant_id()?)?)
    }

    /// Marks these alerts read; answers how many were unread.
    pub fn mark_read(&self, ids: Vec<i64>) -> Result<u64> {
        Ok(self.inner.alerts.mark_read(&self.inner.merchant_id()?, Some(&ids))?)
    }

    pub fn mark_all_read(&self) -> Result<u64> {
        Ok(self.inner.alerts.mark_read(&self.inner.merchant_id()?, None)?)
    }

    /// Sets (or, with `None`, removes) the listener that hears each new alert as it is raised.
    pub fn set_listener(&self, listener: Option<Arc<dyn AlertListener>>) {
        self.inner.alerts.set_listener(listener);
    }

    /// Asks the platform for news now (devices bound to the account, cross-province decisions)
    /// and answers the alerts it raised. History sync looks too.
    pub async fn refresh(&self) -> Result<Vec<Alert>> {
        self.run(|i| async move {
            let merchant_id = i.merchant_id()?;
            let mut raised = crate::alerts::look_at_devices(&i, &merchant_id).await?;
            let status = i.payments.regions().refresh(&i.accounts, &merchant_id).await?;
            raised.extend(crate::alerts::look_at_cross_province(&i, &merchant_id, &status));
            Ok(raised)
        })
        .await
    }
}
