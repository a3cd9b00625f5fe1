//! A sale by the customer's payment code (B scans C; docs/qr.md): the checks a card sale has,
//! commit 1 before the first send, the payment, then the wallet's schedule while the customer
//! confirms on their phone: query, and at the deadline (or the merchant's cancel) reverse it.
//! An answer that could have been "paid" is never taken as a refusal: it is queried, and what
//! cannot be settled is reversed, as for cards.

use super::*;
use crate::platform::wire::{QrPayRequest, QrPaymentWire};
use crate::qr::Wallet;

/// What a look at a QR payment (by payment code, or a shown QR's order) came to.
pub(super) enum Lookup {
    /// Paid, or ended (failed, reversed, closed, expired): journalled.
    Settled,
    /// Not paid yet: the customer is still confirming, or the order is still showing.
    Waiting,
    /// The platform holds nothing under the key: it never arrived.
    NotFound,
    /// No usable answer: ask again.
    Unknown,
}

impl Payments {
    /// A sale of `order.amount_fen` by the payment code the camera read.
    pub async fn code_sale(
        &self,
        accounts: &Accounts,
        code: &str,
        order: Order,
        listener: &dyn SaleListener,
        control: Arc<SaleControl>,
    ) -> Result<Sale, Error> {
        let wallet = crate::qr::classify_payment_code(code)?;
        let amount_fen = order.amount_fen;
        let (guard, location) = self.begin_qr(accounts, &order, journal::Method::CustomerCode, Some(wallet)).await?;
        let key = guard.key().to_string();
        if !control.mark_sent() {
            journal::withdraw(&self.db, &key)?;
            return Err(Error::SaleCancelled);
        }

        listener.on_step(SaleStep::Authorizing);
        let request = QrPayRequest {
            idempotency_key: key.clone(),
            wallet: wallet.as_str().into(),
            payment_code: code.trim().into(),
            amount_fen,
            location,
        };
        let mut delivery = Delivery::default();
        let answer: Result<QrPaymentWire, Error> =
            accounts.signed_tracked(Method::POST, "v1/qr/pay", Some(&request), true, &mut delivery).await;
        drop(request);
        let schedule = self.qr.of(wallet);
        let first_wait = match answer {
            Ok(p) => match qr_answer_problem(&p, &key, amount_fen) {
                None => {
                    if journal::qr_settled(&self.db, &key, &p, accounts.platform_now())?.is_some() {
                        return self.sale_of(&key);
                    }
                    // The customer is confirming on their phone.
                    schedule.query_every
                }
                Some(problem) => {
                    tracing::warn!(problem, "a QR payment answer that does not match its request; querying it");
                    Duration::ZERO
                }
            },
            Err(Error::Platform { code, .. }) if code == "wallet_system_error" => {
                tracing::info!("the wallet answered a system error; querying the payment");
                self.qr.after_system_error
            }
            Err(e) if delivery.may_have_landed() => {
                tracing::warn!(error = %e, attempts = delivery.attempts(), "no usable answer to a QR payment; querying it");
                Duration::ZERO
            }
            Err(e) => {
                journal::failed(&self.db, &key, &e.to_string(), accounts.platform_now())?;
                return Err(match e {
                    Error::LimitExceeded { limit, remaining, .. } => {
                        Error::LimitExceeded { limit, attempted: amount_fen, remaining }
                    }
                    e => e,
                });
            }
        };
        self.follow_code_payment(accounts, &key, amount_fen, wallet, first_wait, listener, &control).await?;
        self.sale_of(&key)
    }

    /// The wallet's schedule for a payment that is not settled yet: query every so often, let
    /// the merchant cancel, and at the deadline (platform time from the journal's start)
    /// reverse it after one last query.
    #[allow(clippy::too_many_arguments)]
    async fn follow_code_payment(
        &self,
        accounts: &Accounts,
        key: &str,
        amount_fen: i64,
        wallet: Wallet,
        first_wait: Duration,
        listener: &dyn SaleListener,
        control: &SaleControl,
    ) -> Result<(), Error> {
        let schedule = self.qr.of(wallet);
        let started = journal::get(&self.db, key)?.map_or(accounts.platform_now(), |e| e.created_at);
        let deadline = started + schedule.give_up_after_secs;
        // Cancellable before the app hears the step: its cancel button may answer at once.
        control.allow_cancel();
        listener.on_step(SaleStep::WaitingForCustomer);
        let mut wait = first_wait;
        loop {
            let cancelled = tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                _ = control.cancelled() => true,
            };
            match self.look_up_code_payment(accounts, key, amount_fen).await? {
                Lookup::Settled => return Ok(()),
                // It never arrived: a reversal leaves a tombstone, so it never will.
                Lookup::NotFound => return self.reverse_now(accounts, key, "no_answer", listener).await,
                Lookup::Waiting | Lookup::Unknown => {}
            }
            if cancelled {
                return self.reverse_now(accounts, key, "merchant_cancelled", listener).await;
            }
            if accounts.platform_now() >= deadline {
                return self.reverse_now(accounts, key, "customer_timeout", listener).await;
            }
            wait = schedule.query_every;
        }
    }

    /// Asks the platform where the QR payment under `key` stands and journals what settles it.
    pub(super) async fn look_up_code_payment(
        &self,
        accounts: &Accounts,
        key: &str,
        amount_fen: i64,
    ) -> Result<Lookup, Error> {
        let path = format!("v1/qr/payments/{key}");
        match accounts.signed::<(), QrPaymentWire>(Method::GET, &path, None, true).await {
            Ok(p) => match qr_answer_problem(&p, key, amount_fen) {
                Some(problem) => {
                    tracing::warn!(problem, "a QR payment lookup that does not match its payment");
                    Ok(Lookup::Unknown)
                }
                None => Ok(match journal::qr_settled(&self.db, key, &p, accounts.platform_now())? {
                    Some(_) => Lookup::Settled,
                    None => Lookup::Waiting,
                }),
            },
            Err(Error::Platform { code, .. }) if code == "payment_not_found" => Ok(Lookup::NotFound),
            Err(e) => {
                tracing::info!(error = %e, "the QR payment's outcome is not known yet");
                Ok(Lookup::Unknown)
            }
        }
    }

    /// A QR payment a stopped app left as sent: look it up, and keep to the wallet's schedule
    /// from the time already spent. True when this settled it.
    pub(super) async fn resolve_code_payment(&self, accounts: &Accounts, entry: &Entry) -> Result<bool, Error> {
        let wallet = entry.wallet.as_deref().and_then(Wallet::parse).unwrap_or(Wallet::UnionPay);
        let schedule = self.qr.of(wallet);
        let now = accounts.platform_now();
        let deadline = entry.created_at + schedule.give_up_after_secs;
        let reason = match self.look_up_code_payment(accounts, &entry.key, entry.amount_fen).await? {
            Lookup::Settled => return Ok(true),
            Lookup::NotFound => "recovery",
            Lookup::Waiting if now >= deadline => "customer_timeout",
            Lookup::Unknown if now >= deadline => "recovery",
            Lookup::Waiting | Lookup::Unknown => {
                let next = (now + schedule.query_every.as_secs().max(1) as i64).min(deadline.max(now + 1));
                journal::reversal_retry(&self.db, &entry.key, next)?;
                return Ok(false);
            }
        };
        journal::reversal_pending(&self.db, &entry.key, reason, now)?;
        self.attempt_due(accounts, &entry.key, reason, 0).await
    }

    /// One reversal (WeChat, UnionPay) or cancel (Alipay) attempt of a QR payment; true when
    /// the answer settles it: given back (`reversed`), ended unpaid (`closed`, also the
    /// tombstone of a key never seen), or refused by the wallet (`failed`). WeChat's
    /// `reverse_too_soon` within 15 s of the debit is tried again later.
    pub(super) async fn try_reverse_code_payment(
        &self,
        accounts: &Accounts,
        entry: &Entry,
        reason: &str,
    ) -> Result<bool, Error> {
        let body = ReverseRequest { reason: reason.into() };
        let path = format!("v1/qr/payments/{}/reverse", entry.key);
        let p = match accounts.signed::<_, QrPaymentWire>(Method::POST, &path, Some(&body), true).await {
            Ok(p) => p,
            Err(e) => {
                tracing::info!(error = %e, "QR reversal not acknowledged yet");
                return Ok(false);
            }
        };
        // The tombstone of a key the platform never saw carries no amount.
        let tombstone = p.status == "closed" && p.amount_fen == 0;
        if p.idempotency_key != entry.key || (p.amount_fen != entry.amount_fen && !tombstone) {
            tracing::warn!("a QR reversal answer for another key or amount; trying again later");
            return Ok(false);
        }
        if !matches!(p.status.as_str(), "reversed" | "closed" | "failed") {
            tracing::warn!(status = %p.status, "the platform did not say reversed; trying again later");
            return Ok(false);
        }
        Ok(journal::qr_settled(&self.db, &entry.key, &p, accounts.platform_now())?.is_some())
    }
}

/// What is wrong with an answer about the QR payment `key` of `amount_fen`, if anything.
fn qr_answer_problem(p: &QrPaymentWire, key: &str, amount_fen: i64) -> Option<&'static str> {
    if p.idempotency_key != key {
        return Some("the answer is for another payment key");
    }
    if p.amount_fen != amount_fen {
        return Some("the answer is for another amount");
    }
    if !matches!(p.status.as_str(), "paid" | "user_paying" | "failed" | "reversed" | "closed") {
        return Some("the answer's status is not one this core knows");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(key: &str, amount_fen: i64, status: &str) -> QrPaymentWire {
        QrPaymentWire {
            idempotency_key: key.into(),
            wallet: "wechat".into(),
            status: status.into(),
            amount_fen,
            wallet_txn: None,
            reason: None,
            created_at: 0,
            paid_at: None,
            fee_fen: 0,
            net_fen: amount_fen,
            receipt_token: None,
        }
    }

    #[test]
    fn only_an_answer_for_this_key_and_amount_with_a_known_status_is_an_answer() {
        for status in ["paid", "user_paying", "failed", "reversed", "closed"] {
            assert_eq!(qr_answer_problem(&answer("k1", 500, status), "k1", 500), None, "{status}");
        }
        assert!(qr_answer_problem(&answer("k2", 500, "paid"), "k1", 500).is_some(), "another key");
        assert!(qr_answer_problem(&answer("k1", 501, "paid"), "k1", 500).is_some(), "another amount");
        for status in ["approved", "PAID", "", "refunded"] {
            assert!(qr_answer_problem(&answer("k1", 500, status), "k1", 500).is_some(), "status {status:?}");
        }
    }
}
