//! Reversals: which failures leave the outcome unknown, reversing at the counter, and one
//! attempt against the platform.

use super::*;

/// Whether a failed request of the background kind (a signature upload, settling an
/// adjustment) is worth repeating later: no answer, or the platform failing. Money requests
/// decide "refused or unknown" from how every attempt ended instead (`platform::delivery`).
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

    /// One reversal attempt; true when the platform's answer settles the key: it says the
    /// payment is reversed, was declined, or never arrived (the key is then refused for good).
    /// Anything else (no answer, an error, an answer for another key or amount, a status that
    /// is not one of those) is not an acknowledgement: the reversal stays pending and is tried
    /// again. It never fails the caller, so one stuck reversal cannot stop the others.
    pub(super) async fn try_reverse(&self, accounts: &Accounts, key: &str, reason: &str) -> Result<bool, Error> {
        let entry = journal::get(&self.db, key)?;
        if entry
            .as_ref()
            .is_some_and(|e| matches!(e.state, State::Completed | State::Declined | State::Reversed | State::Failed))
        {
            // Final already (settled by another path meanwhile): nothing to reverse, ever.
            return Ok(true);
        }
        if let Some(entry) = entry.filter(|e| e.method != journal::Method::Card.as_str()) {
            return match journal::Method::parse(&entry.method) {
                journal::Method::MerchantQr => self.try_close_order(accounts, &entry).await,
                _ => self.try_reverse_code_payment(accounts, &entry, reason).await,
            };
        }
        let body = ReverseRequest { reason: reason.into() };
        let path = format!("v1/payments/{key}/reverse");
        let answer = match accounts.signed::<_, ReverseResponse>(Method::POST, &path, Some(&body), true).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::info!(error = %e, "reversal not acknowledged yet");
                return Ok(false);
            }
        };
        let now = accounts.platform_now();
        let Some(payment) = &answer.payment else {
            if answer.found {
                tracing::warn!("a reversal answer that says found but carries no payment; trying again later");
                return Ok(false);
            }
            journal::reversed(&self.db, key, None, true, now)?;
            return Ok(true);
        };
        let amount = journal::get(&self.db, key)?.map(|e| e.amount_fen);
        if payment.idempotency_key != key || Some(payment.amount_fen) != amount {
            tracing::warn!("a reversal answer for another key or amount; trying again later");
            return Ok(false);
        }
        match payment.status.as_str() {
            "reversed" => journal::reversed(&self.db, key, Some(payment), false, now)?,
            // Nothing to reverse: the platform had declined it. Record the decline.
            "declined" => {
                journal::answered(&self.db, key, payment, true, now)?;
            }
            other => {
                tracing::warn!(status = other, "the platform did not say reversed; trying again later");
                return Ok(false);
            }
        }
        Ok(true)
    }
}
