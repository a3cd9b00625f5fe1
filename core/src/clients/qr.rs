//! `StarPos::qr()`: QR payments, both ways. The phone scans the customer's payment code, or it
//! shows a dynamic QR the customer's wallet scans. Either ends as a `Sale` in the same journal
//! as cards (voids, receipts and history are `payments()` and `history()`).

use std::sync::Arc;

use super::client;
use super::payments::SaleHandle;
use crate::payments::{Order, QrOrder, Sale, SaleControl, SaleListener};
use crate::task::TaskHandle;
use crate::Result;

client!(Qr);

/// A dynamic QR being shown: `order()` is what to show (`qr_png(order.payload, px)`), and the
/// rest is the sale's handle: `outcome()` waits for the customer to pay, `cancel()` closes the
/// order (a payment that raced it is kept, one after it is given back by the platform).
#[derive(Clone)]
pub struct QrOrderHandle {
    order: QrOrder,
    sale: SaleHandle,
}

impl QrOrderHandle {
    pub fn order(&self) -> &QrOrder {
        &self.order
    }

    pub fn cancel(&self) -> bool {
        self.sale.cancel()
    }

    pub fn is_finished(&self) -> bool {
        self.sale.is_finished()
    }

    pub async fn outcome(&self) -> Result<Sale> {
        self.sale.outcome().await
    }
}

impl Qr {
    /// Starts a sale of `amount_fen` by the customer's payment code (付款码) the camera read: the
    /// same checks as a card (limits, the cross-province rule), journalled before it is sent,
    /// then the wallet's schedule while the customer confirms on their phone (the listener hears
    /// `WaitingForCustomer`; `cancel()` then reverses it). It ends approved, declined with the
    /// wallet's reason, or reversed: never charged twice, never lost if the app is killed.
    pub fn start_payment_code_sale(
        &self,
        payment_code: String,
        amount_fen: i64,
        note: Option<String>,
        listener: Arc<dyn SaleListener>,
    ) -> SaleHandle {
        let payment_code = zeroize::Zeroizing::new(payment_code);
        let inner = self.inner.clone();
        let location = inner.current_location();
        let control = SaleControl::new();
        let cancel = control.clone();
        TaskHandle::spawn(
            async move {
                super::payments::refresh_cards(&inner).await?;
                let order = Order { amount_fen, note, location };
                let sale =
                    inner.payments.code_sale(&inner.accounts, &payment_code, order, listener.as_ref(), control).await?;
                super::payments::after_sale(&inner, &sale);
                Ok(sale)
            },
            move || cancel.cancel(),
        )
    }

    /// Makes a dynamic QR for `amount_fen` and starts waiting for the customer to pay it. The
    /// checks are a card sale's (limits, the cross-province rule); the sale is journalled
    /// before the platform makes the order, and the platform's code is decoded and checked
    /// (dynamic, the yuan, this amount, this merchant and order) before it is handed out. It
    /// can be paid for `expires_in_secs` (60 to 7,200; 300 if `None`); then, or on `cancel()`,
    /// the order is closed. The listener hears `WaitingForCustomer`.
    pub async fn show_order(
        &self,
        amount_fen: i64,
        note: Option<String>,
        expires_in_secs: Option<u32>,
        listener: Arc<dyn SaleListener>,
    ) -> Result<QrOrderHandle> {
        let location = self.inner.current_location();
        self.run(move |inner| async move {
            super::payments::refresh_cards(&inner).await?;
            let order = Order { amount_fen, note, location };
            let shown = inner.payments.create_order(&inner.accounts, order, expires_in_secs.map(i64::from)).await?;
            let control = SaleControl::new();
            let cancel = control.clone();
            let order = shown.clone();
            let sale = TaskHandle::spawn(
                async move {
                    let sale =
                        inner.payments.follow_order(&inner.accounts, &order, listener.as_ref(), &control).await?;
                    super::payments::after_sale(&inner, &sale);
                    Ok(sale)
                },
                move || cancel.cancel(),
            );
            Ok(QrOrderHandle { order: shown, sale })
        })
        .await
    }
}
