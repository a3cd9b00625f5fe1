//! The customer's signature on a sale: kept sealed in the journal and uploaded in the
//! background.

use super::*;

impl Payments {
    /// Keeps the customer's signature on an approved sale (one commit) and queues its upload.
    pub fn sign(&self, sale_id: &str, signature: &Signature, now: i64) -> Result<Sale, Error> {
        signature.check()?;
        let sale = self.sale_of(sale_id)?;
        if !matches!(sale.status, SaleStatus::Approved | SaleStatus::Voided) {
            return Err(Error::invalid("sale_id", "only an approved sale is signed"));
        }
        let sealed = self.keys()?.sealer.seal(sale_id, &signature.encode());
        if !journal::add_signature(&self.db, sale_id, &sealed, now)? {
            return Err(Error::invalid("sale_id", "the sale is already signed"));
        }
        self.sale_of(sale_id)
    }

    /// The sale's signature as drawn, if it was signed.
    pub fn signature_of(&self, sale_id: &str) -> Result<Option<Signature>, Error> {
        let Some(sealed) = journal::signature(&self.db, sale_id)?.0 else { return Ok(None) };
        let bytes = self.keys()?.sealer.open(sale_id, &sealed).ok_or_else(|| {
            Error::invalid("sale_id", "the stored signature does not open on this phone (its key is gone)")
        })?;
        Ok(Some(Signature::decode(&bytes)?))
    }

    /// Uploads queued signatures (all, or with `only_due` those whose back-off has passed);
    /// returns how many reached the platform.
    pub async fn upload_signatures(&self, accounts: &Accounts, only_due: bool) -> Result<usize, Error> {
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        let due_by = only_due.then(|| accounts.platform_now());
        let mut uploaded = 0;
        for (key, sealed, attempts) in journal::signatures_to_upload(&self.db, &merchant_id, due_by)? {
            let Some(strokes) = self.keys()?.sealer.open(&key, &sealed) else {
                journal::signature_attempt(&self.db, &key, Err(Some("does not open on this phone")), 0, 0)?;
                continue;
            };
            use base64::Engine as _;
            let body = SignatureUpload { strokes: base64::engine::general_purpose::STANDARD.encode(strokes) };
            let path = format!("v1/payments/{key}/signature");
            let now = accounts.platform_now();
            let outcome = match accounts.signed::<_, serde_json::Value>(Method::POST, &path, Some(&body), true).await {
                Ok(_) => {
                    uploaded += 1;
                    Ok(())
                }
                Err(e) if outcome_unknown(&e) => Err(None),
                Err(e) => {
                    tracing::warn!(sale = %key, error = %e, "the platform refused a signature");
                    Err(Some(e.to_string()))
                }
            };
            let backoff = (RETRY_FIRST_SECS << attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
            journal::signature_attempt(
                &self.db,
                &key,
                outcome.as_ref().map(|_| ()).map_err(Option::as_deref),
                now,
                now + backoff,
            )?;
        }
        Ok(uploaded)
    }
}
