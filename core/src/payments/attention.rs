//! Telling the app, without its asking, when sales need the merchant's attention: the list of
//! [`Payments::needing_attention`] is pushed to the app's [`AttentionListener`] each time it
//! changes (a sale joins it, or leaves it when it resolves), and once when the listener is set.
//! The worker looks after each of its passes, so a sale that crosses the 15-minute line while
//! its reversal is still failing reaches the app within one retry interval.

use std::sync::{Arc, Mutex};

use super::Sale;
use crate::starpos::Inner;

/// What the app implements to hear of sales needing attention (called from a core thread; keep
/// it quick). `sales` is the whole current list, empty once everything resolved.
pub trait AttentionListener: Send + Sync {
    fn on_needs_attention(&self, sales: Vec<Sale>);
}

/// The app's listener and the list it was last told.
#[derive(Default)]
pub(crate) struct AttentionWatch {
    listener: Mutex<Option<Arc<dyn AttentionListener>>>,
    told: Mutex<Option<Vec<String>>>,
}

impl AttentionWatch {
    /// Sets (or, with `None`, removes) the listener; the next [`Self::look`] tells it the list.
    pub(crate) fn set(&self, listener: Option<Arc<dyn AttentionListener>>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
        *self.told.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Tells the listener the current list if it differs from what it was last told, and
    /// raises an alert for each sale on it (once per sale: the feed keeps the event). A failure
    /// to read the journal is logged and left for the next look.
    pub(crate) fn look(&self, inner: &Inner) {
        let (payments, accounts) = (&inner.payments, &inner.accounts);
        let Some(session) = accounts.current_session() else { return };
        let sales = match payments.needing_attention(&session.merchant_id, accounts.platform_now()) {
            Ok(sales) => sales,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the sales needing attention");
                return;
            }
        };
        crate::alerts::attention(inner, &session.merchant_id, &sales);
        let Some(listener) = self.listener.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return };
        let keys: Vec<String> = sales.iter().map(|s| s.id.clone()).collect();
        {
            let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
            if told.as_ref() == Some(&keys) {
                return;
            }
            *told = Some(keys);
        }
        listener.on_needs_attention(sales);
    }
}
