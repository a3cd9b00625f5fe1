use std::sync::Arc;

use super::{ffi_client, SaleHandle};
use crate::error::StarPosError;
use crate::payments::{
    AttentionAdapter, AttentionListener, ListenerAdapter, Receipt, ReceiptCopy, Sale, SaleListener, Signature,
};
use crate::reader::CardReader;

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// Card sales, voids, refunds, signatures, receipts, and the payments a stopped app left.
    PaymentsClient(starpos_core::clients::Payments)
);

#[uniffi::export]
impl PaymentsClient {
    /// Starts a card sale of `amount_fen` on `reader` (card and PIN on the reader,
    /// authorisation, chip completion, on a crash-safe journal) and returns its handle at once.
    /// Steps reach `listener`; `outcome()` gives the `Sale` (declines and reversals are outcomes;
    /// an error means nothing was charged).
    pub fn start_sale(
        &self,
        reader: Arc<CardReader>,
        amount_fen: i64,
        note: Option<String>,
        listener: Arc<dyn SaleListener>,
    ) -> Arc<SaleHandle> {
        let reader = (*reader.core).clone();
        SaleHandle::new(self.core.start_sale(reader, amount_fen, note, Arc::new(ListenerAdapter(listener))))
    }

    /// A sale from the journal (no network I/O).
    pub fn sale(&self, id: String) -> Result<Sale> {
        Ok(self.core.sale(id)?.into())
    }

    /// Sales still unsettled 15 minutes after they started (a reversal not yet acknowledged, a
    /// payment not yet answered): show them until they leave this list (no network I/O).
    pub fn needing_attention(&self) -> Result<Vec<Sale>> {
        Ok(self.core.needing_attention()?.into_iter().map(Into::into).collect())
    }

    /// Tells `listener` the `needing_attention()` list now and each time it changes (a sale
    /// joins it or resolves), so the app can show it without polling; null stops that.
    pub fn set_attention_listener(&self, listener: Option<Arc<dyn AttentionListener>>) {
        self.core.set_attention_listener(
            listener.map(|l| Arc::new(AttentionAdapter(l)) as Arc<dyn starpos_core::payments::AttentionListener>),
        );
    }

    /// The latest sales, newest first (no network I/O).
    pub fn recent_sales(&self, limit: u32) -> Result<Vec<Sale>> {
        Ok(self.core.recent_sales(limit)?.into_iter().map(Into::into).collect())
    }

    /// Voids an approved sale on its business day (before settlement); the account password
    /// confirms it. The day's limit is given back.
    pub async fn void_sale(&self, sale_id: String, password: String) -> Result<Sale> {
        Ok(self.core.void_sale(sale_id, password).await?.into())
    }

    /// Refunds part or all of a settled sale (never more than remains); the password confirms.
    pub async fn refund_sale(&self, sale_id: String, amount_fen: i64, password: String) -> Result<Sale> {
        Ok(self.core.refund_sale(sale_id, amount_fen, password).await?.into())
    }

    /// Keeps the customer's signature on an approved sale; it is uploaded in the background
    /// (compressed strokes, a few hundred bytes) and shown on the receipt.
    pub fn sign_sale(&self, sale_id: String, signature: Signature) -> Result<Sale> {
        Ok(self.core.sign_sale(sale_id, signature.into())?.into())
    }

    /// The sale's signature as a 1-bit PNG (at most 384 x 160), if signed.
    pub fn signature_png(&self, sale_id: String) -> Result<Option<Vec<u8>>> {
        Ok(self.core.signature_png(sale_id)?)
    }

    /// The receipt of an approved sale (no network I/O): the merchant's copy (signed, with the
    /// fee and net) or the customer's; `reprint` marks a reprint.
    pub fn receipt(&self, sale_id: String, copy: ReceiptCopy, reprint: bool) -> Result<Receipt> {
        Ok(self.core.receipt(sale_id, copy.into(), reprint)?.into())
    }

    /// The receipt as plain text (32 columns), for the screen or sharing.
    pub fn receipt_text(&self, sale_id: String, copy: ReceiptCopy, reprint: bool) -> Result<String> {
        Ok(self.core.receipt(sale_id, copy.into(), reprint)?.to_text())
    }

    /// The receipt as ESC/POS bytes (GB18030, QR code for the e-receipt, cut) for a Bluetooth
    /// receipt printer: print the merchant's copy, then the customer's.
    pub fn receipt_escpos(&self, sale_id: String, copy: ReceiptCopy, reprint: bool) -> Result<Vec<u8>> {
        Ok(self.core.receipt(sale_id, copy.into(), reprint)?.to_escpos())
    }

    /// Resolves payments a stopped app left unfinished and retries pending reversals; returns
    /// the sales it settled, to tell the merchant. Call after login at start-up.
    pub async fn resolve_pending(&self) -> Result<Vec<Sale>> {
        Ok(self.core.resolve_pending().await?.into_iter().map(Into::into).collect())
    }
}
