//! QR payments across the boundary: the customer's payment code scanned, a dynamic QR shown,
//! and the handle of a shown QR.

use std::sync::Arc;

use super::{ffi_client, SaleHandle};
use crate::error::StarPosError;
use crate::payments::{ListenerAdapter, Sale, SaleListener};
use crate::qr::QrOrder;

ffi_client!(
    /// QR payments, both ways; each ends as a `Sale` in the same journal as cards.
    QrClient(starpos_core::clients::Qr)
);

#[uniffi::export]
impl QrClient {
    /// Starts a sale of `amount_fen` by the customer's payment code (付款码) the camera read,
    /// and returns its handle at once. Limits and the cross-province rule apply as for a card;
    /// while the customer confirms on their phone the listener hears `WaitingForCustomer` and
    /// `cancel()` reverses the payment. `outcome()` gives the `Sale`: approved, declined with the
    /// wallet's reason, or reversed. A code that is no wallet's fails with `InvalidPaymentCode`.
    pub fn start_payment_code_sale(
        &self,
        payment_code: String,
        amount_fen: i64,
        note: Option<String>,
        listener: Arc<dyn SaleListener>,
    ) -> Arc<SaleHandle> {
        SaleHandle::new(self.core.start_payment_code_sale(
            payment_code,
            amount_fen,
            note,
            Arc::new(ListenerAdapter(listener)),
        ))
    }

    /// Makes a dynamic QR for `amount_fen` and starts waiting for the customer to pay it. The
    /// platform's code is checked (CRC, dynamic, yuan, this amount, this merchant and order)
    /// before it is handed out: show `order().payload` with `qr_png`. It can be paid for
    /// `expires_in_secs` (60 to 7,200; 300 if null); then, or on the handle's `cancel()`, the
    /// order is closed. The listener hears `WaitingForCustomer`.
    pub async fn show_order(
        &self,
        amount_fen: i64,
        note: Option<String>,
        expires_in_secs: Option<u32>,
        listener: Arc<dyn SaleListener>,
    ) -> Result<Arc<QrOrderHandle>, StarPosError> {
        let handle =
            self.core.show_order(amount_fen, note, expires_in_secs, Arc::new(ListenerAdapter(listener))).await?;
        Ok(Arc::new(QrOrderHandle(handle)))
    }
}

/// A dynamic QR being shown: `order()` says what to show; `outcome()` waits for the customer to
/// pay (`Approved`, or `Reversed` with why it ended unpaid); `cancel()` closes the order (a
/// payment that raced the close is kept and the outcome says so; one after it is given back).
#[derive(uniffi::Object)]
pub struct QrOrderHandle(starpos_core::clients::QrOrderHandle);

#[uniffi::export]
impl QrOrderHandle {
    /// The order: its sale id, amount, payload and expiry.
    pub fn order(&self) -> QrOrder {
        self.0.order().clone().into()
    }

    /// Closes the order; false once the outcome is known.
    pub fn cancel(&self) -> bool {
        self.0.cancel()
    }

    /// Whether the outcome is known.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }

    /// Waits for the outcome; every call answers the same.
    pub async fn outcome(&self) -> Result<Sale, StarPosError> {
        Ok(self.0.outcome().await?.into())
    }
}
