//! What a stopped app left: unfinished entries resolved by key, due reversals retried, and
//! when the next one is due.

use super::*;

impl Payments {
    /// Resolves what a stopped app left unfinished, and retries reversals (all of them, or
    /// with `only_due` those whose back-off has passed). Returns the sales whose outcome this
    /// call settled, for the app to report.
    pub async fn resolve_pending(&self, accounts: &Accounts, only_due: bool) -> Result<Vec<Sale>, Error> {
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        let mut settled = Vec::new();
        for listed in journal::unfinished(&self.db, &merchant_id)? {
            // Claimed, then read again: the list is a snapshot, and a sale that was in flight
            // when it was taken may have ended since (completed, say). Working from the old copy
            // would reverse a payment the merchant was told was approved.
            let Some(_claim) = self.claim(&listed.key) else { continue };
            let Some(entry) = journal::get(&self.db, &listed.key)?
                .filter(|e| matches!(e.state, State::Sending | State::Approved | State::ReversalPending))
            else {
                continue;
            };
            // Each entry on its own: one that fails (a storage error, an answer the core cannot
            // use) waits for its back-off and never stops the entries after it.
            match self.resolve_entry(accounts, &entry, only_due).await {
                Ok(true) => settled.push(self.sale_of(&entry.key)?),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "an unfinished payment could not be resolved now; it waits for its back-off");
                    let backoff = (RETRY_FIRST_SECS << entry.attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
                    journal::reversal_retry(&self.db, &entry.key, accounts.platform_now() + backoff)?;
                }
            }
        }
        for (key, sale_key) in journal::unfinished_adjustments(&self.db, &merchant_id)? {
            if self.is_in_flight(&key) {
                continue;
            }
            match self.settle_adjustment(accounts, &key).await {
                Ok(true) => settled.push(self.sale_of(&sale_key)?),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "an unanswered void or refund could not be settled now"),
            }
        }
        Ok(settled)
    }

    async fn resolve_entry(&self, accounts: &Accounts, entry: &Entry, only_due: bool) -> Result<bool, Error> {
        let now = accounts.platform_now();
        let due = !only_due || entry.next_attempt_at.is_none_or(|t| t <= now);
        Ok(match entry.state {
            State::Sending if due => self.resolve_sent(accounts, entry).await?,
            State::Approved => {
                journal::reversal_pending(&self.db, &entry.key, "card_not_confirmed", now)?;
                self.attempt_due(accounts, &entry.key, "card_not_confirmed", entry.attempts).await?
            }
            State::ReversalPending if due => {
                let reason = entry.reversal_reason.clone().unwrap_or_else(|| "recovery".into());
                self.attempt_due(accounts, &entry.key, &reason, entry.attempts).await?
            }
            _ => false,
        })
    }

    pub(super) async fn attempt_due(
        &self,
        accounts: &Accounts,
        key: &str,
        reason: &str,
        attempts: i64,
    ) -> Result<bool, Error> {
        if self.try_reverse(accounts, key, reason).await? {
            return Ok(true);
        }
        let backoff = (RETRY_FIRST_SECS << attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
        journal::reversal_retry(&self.db, key, accounts.platform_now() + backoff)?;
        Ok(false)
    }

    /// A payment committed as "sending" when the app stopped: ask the platform what it knows.
    pub(super) async fn resolve_sent(&self, accounts: &Accounts, entry: &Entry) -> Result<bool, Error> {
        match journal::Method::parse(&entry.method) {
            journal::Method::CustomerCode => return self.resolve_code_payment(accounts, entry).await,
            journal::Method::MerchantQr => return self.resolve_order(accounts, entry).await,
            journal::Method::Card => {}
        }
        let path = format!("v1/payments/{}", entry.key);
        let now = accounts.platform_now();
        match accounts.signed::<(), PaymentWire>(Method::GET, &path, None, true).await {
            Ok(p) if p.idempotency_key != entry.key || p.amount_fen != entry.amount_fen => {
                // Not the payment this entry sent: ask again later rather than record it.
                tracing::warn!("a payment lookup answered for another key or amount");
                self.later(accounts, entry)
            }
            Ok(p) if !matches!(p.status.as_str(), "approved" | "declined" | "reversed") => {
                // A status this core does not know is no outcome (never a decline): reverse.
                tracing::warn!(status = %p.status, "a payment lookup with an unknown status; reversing it");
                journal::reversal_pending(&self.db, &entry.key, "recovery", now)?;
                self.attempt_due(accounts, &entry.key, "recovery", 0).await
            }
            Ok(p) if p.status == "approved" && entry.entry_mode == EntryMode::Insert.as_str() => {
                // The card never confirmed the approval: the stated rule is to reverse.
                journal::answered(&self.db, &entry.key, &p, false, now)?;
                journal::reversal_pending(&self.db, &entry.key, "card_not_confirmed", now)?;
                self.attempt_due(accounts, &entry.key, "card_not_confirmed", 0).await
            }
            Ok(p) => {
                journal::answered(&self.db, &entry.key, &p, true, now)?;
                Ok(true)
            }
            Err(Error::Platform { code, .. }) if code == "payment_not_found" => {
                // Never arrived, or still on its way: a reversal leaves a tombstone so that it
                // can never be approved, and frees the amount.
                journal::reversal_pending(&self.db, &entry.key, "recovery", now)?;
                self.attempt_due(accounts, &entry.key, "recovery", 0).await
            }
            Err(e) => {
                // Whatever went wrong, the outcome is still unknown: ask again later, with the
                // same back-off as reversals.
                tracing::info!(error = %e, "the payment's outcome is not known yet");
                self.later(accounts, entry)
            }
        }
    }

    fn later(&self, accounts: &Accounts, entry: &Entry) -> Result<bool, Error> {
        let backoff = (RETRY_FIRST_SECS << entry.attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
        journal::reversal_retry(&self.db, &entry.key, accounts.platform_now() + backoff)?;
        Ok(false)
    }

    /// Sales the core has not been able to settle within [`ATTENTION_AFTER_SECS`] of platform
    /// time: a reversal the platform has not acknowledged, a sent payment it has not answered.
    /// The core keeps trying; the app shows these (with their reference, for support) until
    /// they resolve, since until then the customer may have been charged.
    pub fn needing_attention(&self, merchant_id: &str, now: i64) -> Result<Vec<Sale>, Error> {
        journal::unfinished(&self.db, merchant_id)?
            .into_iter()
            .filter(|e| now - e.created_at >= ATTENTION_AFTER_SECS && !self.is_in_flight(&e.key))
            .map(|e| self.with_adjustments(e))
            .collect()
    }

    /// When the earliest unfinished entry or queued signature is next due (platform time), if
    /// any is waiting. Entries this process is working on are not waiting.
    pub fn next_due(&self, merchant_id: &str) -> Result<Option<i64>, Error> {
        let entries = journal::unfinished(&self.db, merchant_id)?
            .into_iter()
            .filter(|e| !self.is_in_flight(&e.key))
            .map(|e| e.next_attempt_at.unwrap_or(0))
            .min();
        let signatures = journal::next_signature_due(&self.db, merchant_id)?;
        Ok(entries.into_iter().chain(signatures).min())
    }
}
