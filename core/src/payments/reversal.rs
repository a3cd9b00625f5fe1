//! Reversals: which failures leave the outcome unknown, reversing at the counter, and one
//! attempt against the platform.

use super::*;

/// Whether a failed authorisation may have been processed by the platform (so must be
/// reversed), rather than refused before processing.
pub(super) fn outcome_unknown(e: &Error) -> bool {
    match e {
        Error::Network { .. } | Error::Internal { .. } => true,
        // An answer that could not be read (bad JSON, a body a carrier's proxy mangled) may
        // have been an approval: unknown, so reversed.
        Error::Platform { code, .. } => matches!(code.as_str(), "unavailable" | "internal" | "bad_response"),
        _ => false,
    }
}

impl Payments {
    /// Journals the reversal, then tries it a few times at once; what still fails is left for
    /// [`Self::resolve_pending`] with back-off.
    pub(super) async fn reverse_now(
        &self,
        accounts: &Accounts,
        key: &str,
        reason: &str,
        listener: &dyn SaleListener,
    ) -> Result<(), Error> {
        journal::reversal_pending(&self.db, key, reason, accounts.platform_now())?;
        listener.on_step(SaleStep::Reversing);
        let deadline = tokio::time::Instant::now() + QUICK_REVERSAL_BUDGET;
        for delay in QUICK_REVERSAL_DELAYS_MS {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            // An attempt cut short is like one that got no answer: the reversal is idempotent.
            match tokio::time::timeout_at(deadline, self.try_reverse(accounts, key, reason)).await {
                Ok(Ok(true)) => return Ok(()),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
        }
        let next = accounts.platform_now() + RETRY_FIRST_SECS;
        Ok(journal::reversal_retry(&self.db, key, next)?)
    }

    /// One reversal attempt; true when the platform acknowledged it.
    pub(super) async fn try_reverse(&self, accounts: &Accounts, key: &str, reason: &str) -> Result<bool, Error> {
        let body = ReverseRequest { reason: reason.into() };
        let path = format!("v1/payments/{key}/reverse");
        match accounts.signed::<_, ReverseResponse>(Method::POST, &path, Some(&body), true).await {
            Ok(answer) => {
                let declined = answer.payment.as_ref().is_some_and(|p| p.status == "declined");
                if declined {
                    // Nothing to reverse: the platform had declined it. Record the decline.
                    if let Some(p) = &answer.payment {
                        journal::answered(&self.db, key, p, true, accounts.platform_now())?;
                    }
                } else {
                    journal::reversed(&self.db, key, answer.payment.as_ref(), !answer.found, accounts.platform_now())?;
                }
                Ok(true)
            }
            // Offline: not sent this time; the background loop tries again.
            Err(e) if outcome_unknown(&e) || e == Error::Offline => {
                tracing::info!(error = %e, "reversal not acknowledged yet");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}
