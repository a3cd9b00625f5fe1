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
        for entry in journal::unfinished(&self.db, &merchant_id)? {
            if self.is_in_flight(&entry.key) {
                continue;
            }
            let now = accounts.platform_now();
            let done = match entry.state {
                State::Sending if !only_due || entry.next_attempt_at.is_none_or(|t| t <= now) => {
                    self.resolve_sent(accounts, &entry).await?
                }
                State::Approved => {
                    journal::reversal_pending(&self.db, &entry.key, "card_not_confirmed", now)?;
                    self.attempt_due(accounts, &entry.key, "card_not_confirmed", entry.attempts).await?
                }
                State::ReversalPending if !only_due || entry.next_attempt_at.is_none_or(|t| t <= now) => {
                    let reason = entry.reversal_reason.clone().unwrap_or_else(|| "recovery".into());
                    self.attempt_due(accounts, &entry.key, &reason, entry.attempts).await?
                }
                _ => false,
            };
            if done {
                settled.push(self.sale_of(&entry.key)?);
            }
        }
        for (key, sale_key) in journal::unfinished_adjustments(&self.db, &merchant_id)? {
            if !self.is_in_flight(&key) && self.settle_adjustment(accounts, &key).await? {
                settled.push(self.sale_of(&sale_key)?);
            }
        }
        Ok(settled)
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
        let path = format!("v1/payments/{}", entry.key);
        let now = accounts.platform_now();
        match accounts.signed::<(), PaymentWire>(Method::GET, &path, None, true).await {
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
            Err(e) if outcome_unknown(&e) => {
                // Ask again later, with the same back-off as reversals.
                let backoff = (RETRY_FIRST_SECS << entry.attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
                journal::reversal_retry(&self.db, &entry.key, now + backoff)?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
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
