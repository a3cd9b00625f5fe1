//! A sale's order and its cancel: the handle cancels until the authorisation is sent (and again
//! while a QR payment waits for the customer); the in-flight set keeps recovery away from a sale
//! still in progress.

use super::*;

/// What the merchant asked for: the amount, an optional note, and where the phone was.
pub(crate) struct Order {
    pub amount_fen: i64,
    pub note: Option<String>,
    pub location: Option<Location>,
}

/// Lets the merchant cancel a sale until its authorisation is sent (held by the sale's handle).
pub(crate) struct SaleControl {
    cancelled: tokio::sync::watch::Sender<bool>,
    sent: Mutex<bool>,
}

impl SaleControl {
    pub(crate) fn new() -> Arc<SaleControl> {
        Arc::new(SaleControl { cancelled: tokio::sync::watch::channel(false).0, sent: Mutex::new(false) })
    }

    /// False when it is too late: the authorisation is on its way.
    pub(crate) fn cancel(&self) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if *sent {
            return false;
        }
        self.cancelled.send_replace(true);
        true
    }

    /// The point of no return: false if the sale was cancelled before it.
    pub(super) fn mark_sent(&self) -> bool {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if *self.cancelled.borrow() {
            return false;
        }
        *sent = true;
        true
    }

    /// The merchant may cancel again: a QR payment the customer is still confirming on their
    /// phone is cancelled by reversing it (which gives back anything paid meanwhile).
    pub(super) fn allow_cancel(&self) {
        *self.sent.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }

    pub(super) async fn cancelled(&self) {
        let mut rx = self.cancelled.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Removes a key from the in-flight set however the sale ends.
pub(super) struct InFlight<'a> {
    pub(super) payments: &'a Payments,
    pub(super) key: Option<String>,
}

impl InFlight<'_> {
    /// The key it holds (empty once handed on).
    pub(super) fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.payments.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        }
    }
}
