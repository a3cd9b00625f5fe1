//! `StarPos::payments()`: card sales (each with its handle), voids, refunds, signatures,
//! receipts, and the payments a stopped app left unfinished (cards and QR alike).

use std::sync::Arc;

use super::client;
use crate::error::Error;
use crate::payments::receipt::{Print, Receipt, ReceiptCopy};
use crate::payments::signature::Signature;
use crate::payments::{Adjust, AttentionListener, Order, Sale, SaleControl, SaleListener, SaleStatus};
use crate::reader::controller::CardReader;
use crate::task::TaskHandle;
use crate::Result;

client!(Payments);

/// A card sale under way: `outcome()` waits for the `Sale` (declines and reversals are outcomes,
/// errors mean nothing was charged); `cancel()` stops it while the customer is still at the
/// reader. Dropping it cancels nothing (see [`crate::task`]).
pub type SaleHandle = TaskHandle<Sale>;

impl Payments {
    /// Starts a card sale of `amount_fen` on `reader` now: card and PIN, authorisation, chip
    /// completion, on the crash-safe journal. Once the authorisation is sent the sale runs to
    /// its end whatever happens to the handle.
    pub fn start_sale(
        &self,
        reader: CardReader,
        amount_fen: i64,
        note: Option<String>,
        listener: Arc<dyn SaleListener>,
    ) -> SaleHandle {
        let inner = self.inner.clone();
        let location = inner.current_location();
        let control = SaleControl::new();
        let cancel = control.clone();
        TaskHandle::spawn(
            async move {
                refresh_cards(&inner).await?;
                if let Ok(merchant_id) = inner.merchant_id() {
                    // The reader must be this merchant's: one still connected from another
                    // merchant's login on this phone takes no sale (the platform refuses its
                    // card reads too).
                    if let Some(serial) = reader.connected_serial().await {
                        if !inner.readers.paired(&merchant_id)?.iter().any(|r| r.serial == serial) {
                            return Err(Error::ReaderNotPaired { serial });
                        }
                    }
                }
                let sale = inner
                    .payments
                    .sale(&inner.accounts, &reader, Order { amount_fen, note, location }, listener.as_ref(), control)
                    .await?;
                after_sale(&inner, &sale);
                Ok(sale)
            },
            move || cancel.cancel(),
        )
    }

    /// A sale from the journal by its id.
    pub fn sale(&self, id: String) -> Result<Sale> {
        self.inner.payments.sale_of(&id)
    }

    /// Sales whose outcome is still unsettled 15 minutes (platform time) after they started: a
    /// reversal not yet acknowledged, a payment not yet answered. Show them to the merchant
    /// until they leave this list; the core keeps resolving them in the background.
    pub fn needing_attention(&self) -> Result<Vec<Sale>> {
        let now = self.inner.accounts.platform_now();
        self.inner.payments.needing_attention(&self.inner.merchant_id()?, now)
    }

    /// Tells `listener` the [`Self::needing_attention`] list now and each time it changes (a
    /// sale joins it or resolves), so the app can show it without asking; `None` stops that.
    pub fn set_attention_listener(&self, listener: Option<Arc<dyn AttentionListener>>) {
        self.inner.attention.set(listener);
        self.inner.attention.look(&self.inner);
    }

    /// The latest sales from the journal, newest first.
    pub fn recent_sales(&self, limit: u32) -> Result<Vec<Sale>> {
        self.inner.payments.recent(&self.inner.merchant_id()?, limit.min(500))
    }

    /// Voids an approved sale on its business day (before settlement); needs the account
    /// password. The day's limit is given back.
    pub async fn void_sale(&self, sale_id: String, password: String) -> Result<Sale> {
        // The caller's copy is wiped when the call ends (the wire type wipes its own).
        let password = zeroize::Zeroizing::new(password);
        self.run(move |i| async move { i.payments.adjust(&i.accounts, &sale_id, Adjust::Void, &password).await }).await
    }

    /// Refunds part or all of a settled sale, never more than remains; needs the password.
    pub async fn refund_sale(&self, sale_id: String, amount_fen: i64, password: String) -> Result<Sale> {
        let password = zeroize::Zeroizing::new(password);
        self.run(move |i| async move {
            i.payments.adjust(&i.accounts, &sale_id, Adjust::Refund { amount_fen }, &password).await
        })
        .await
    }

    /// Keeps the customer's signature on an approved sale and uploads it in the background
    /// (retried with back-off while the platform is out of reach). The receipt shows it.
    pub fn sign_sale(&self, sale_id: String, signature: Signature) -> Result<Sale> {
        self.inner.merchant_id()?;
        let sale = self.inner.payments.sign(&sale_id, &signature, self.inner.accounts.platform_now())?;
        crate::worker::keep_working(&self.inner);
        Ok(sale)
    }

    /// The sale's signature as a PNG (1-bit, at most 384 x 160), if it was signed.
    pub fn signature_png(&self, sale_id: String) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.payments.signature_of(&sale_id)?.map(|s| s.render().png()))
    }

    /// The receipt (签购单) of an approved sale, from the journal and the cached merchant
    /// profile; works offline. `copy` is the merchant's (signed, with the fee) or the
    /// customer's; `reprint` marks it as a reprint.
    pub fn receipt(&self, sale_id: String, copy: ReceiptCopy, reprint: bool) -> Result<Receipt> {
        let sale = self.inner.payments.sale_of(&sale_id)?;
        if sale.status != SaleStatus::Approved {
            return Err(Error::invalid("sale_id", "only an approved sale has a receipt"));
        }
        let merchant_id = self.inner.merchant_id()?;
        let profile = self.inner.merchant.cached_profile(&merchant_id)?.ok_or(Error::ProfileNotLoaded)?;
        let signature = self.inner.payments.signature_of(&sale_id)?.map(|s| s.render());
        Ok(Receipt::of(
            &sale,
            &profile.merchant_name,
            &profile.merchant_id,
            &profile.terminal_id,
            &self.inner.platform_url,
            signature,
            Print { copy, reprint },
        ))
    }

    /// Resolves payments a stopped app left unfinished and retries due reversals; returns
    /// the sales it settled. Call after login at start-up (and when the network returns).
    pub async fn resolve_pending(&self) -> Result<Vec<Sale>> {
        let settled = self
            .run(|i| async move {
                let settled = i.payments.resolve_pending(&i.accounts, false).await?;
                if let Err(e) = i.payments.upload_signatures(&i.accounts, false).await {
                    tracing::info!(error = %e, "signatures not uploaded yet");
                }
                if let Err(e) = crate::outbox::replay(&i.db, &i.accounts, &i.merchant_id()?).await {
                    tracing::info!(error = %e, "queued requests not sent yet");
                }
                i.attention.look(&i);
                Ok(settled)
            })
            .await?;
        if crate::worker::work_waiting(&self.inner) {
            crate::worker::keep_working(&self.inner);
        }
        Ok(settled)
    }
}

/// What follows every sale's outcome, card or QR: a reversal left to retry wakes the worker;
/// an approval may have used most of the day's limit (an alert).
pub(super) fn after_sale(inner: &std::sync::Arc<crate::starpos::Inner>, sale: &Sale) {
    match sale.status {
        SaleStatus::ReversalPending { .. } => crate::worker::keep_working(inner),
        SaleStatus::Approved => crate::alerts::after_sale(inner),
        _ => {}
    }
}

/// A merchant who logged in on a new install has settlement cards on the platform but none
/// listed here yet: ask the platform before refusing the sale.
pub(super) async fn refresh_cards(inner: &crate::starpos::Inner) -> Result<()> {
    if let Ok(merchant_id) = inner.merchant_id() {
        if !inner.accounts.offline() && inner.cards.cached(&merchant_id)?.is_empty() {
            inner.cards.refresh(&inner.accounts, &merchant_id).await?;
        }
    }
    Ok::<(), Error>(())
}
