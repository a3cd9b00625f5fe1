//! A sale by a dynamic QR the phone shows (C scans B; docs/qr.md): the checks every sale has,
//! commit 1, the platform's order, and its payload checked before it is shown. The order is then
//! polled with back-off until it is paid, it expires, or the merchant cancels. A cancel closes
//! it: a payment that raced the close is kept, and one after a close the merchant saw succeed is
//! given back by the platform (`refunded_late`). Nothing is lost, nothing is kept unseen.

use super::code_sale::Lookup;
use super::*;
use crate::platform::wire::{QrOrderRequest, QrOrderWire};
use starpos_protocol::qr::mpm;

/// A dynamic QR to show the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrOrder {
    /// The sale's id in the journal.
    pub sale_id: String,
    pub amount_fen: i64,
    /// The EMVCo merchant-presented payload, checked: show it with `qr_png`.
    pub payload: String,
    /// When the code stops being payable (platform time).
    pub expires_at: i64,
}

impl Payments {
    /// Journals the sale and has the platform make its order; the payload is decoded and
    /// checked (dynamic, the yuan, the order's amount, this merchant and this order) before it
    /// is handed out. The key stays in flight for [`Self::follow_order`], which the caller
    /// starts next.
    pub async fn create_order(
        &self,
        accounts: &Accounts,
        order: Order,
        expires_in_secs: Option<i64>,
    ) -> Result<QrOrder, Error> {
        if expires_in_secs.is_some_and(|s| !(60..=7_200).contains(&s)) {
            return Err(Error::invalid("expires_in_secs", "60 to 7,200 seconds"));
        }
        let amount_fen = order.amount_fen;
        let (mut guard, location) = self.begin_qr(accounts, &order, journal::Method::MerchantQr, None).await?;
        let key = guard.key().to_string();
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        let request = QrOrderRequest { idempotency_key: key.clone(), amount_fen, expires_in_secs, location };
        let mut delivery = Delivery::default();
        let answer: Result<QrOrderWire, Error> =
            accounts.signed_tracked(Method::POST, "v1/qr/orders", Some(&request), true, &mut delivery).await;
        let problem = match answer {
            Ok(o) => match order_problem(&o, &key, amount_fen, &merchant_id) {
                None if o.status == "open" => {
                    // Handed on to the wait, which keeps the key in flight until its end.
                    guard.key = None;
                    return Ok(QrOrder { sale_id: key, amount_fen, payload: o.payload, expires_at: o.expires_at });
                }
                None => format!("a new order answered as {}", o.status),
                Some(problem) => problem,
            },
            Err(e) if delivery.may_have_landed() => {
                // The order may exist, though nobody has seen its code: close it, so nobody can.
                tracing::warn!(error = %e, "no usable answer to a QR order; closing it");
                self.reverse_now(accounts, &key, "no_answer", &NoSteps).await?;
                return Err(e);
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
        // A code the phone cannot vouch for is never shown: the order is closed.
        tracing::warn!(problem = %problem, "the platform's QR order does not check out; closing it");
        self.reverse_now(accounts, &key, "recovery", &NoSteps).await?;
        Err(Error::InvalidMerchantQr { reason: format!("the platform's code was refused: {problem}") })
    }

    /// Waits for the customer to pay the order shown: polls with back-off (1 s, 2 s, then every
    /// 3 s by default), and closes the order when the merchant cancels or it expires.
    pub async fn follow_order(
        &self,
        accounts: &Accounts,
        order: &QrOrder,
        listener: &dyn SaleListener,
        control: &SaleControl,
    ) -> Result<Sale, Error> {
        let _guard = InFlight { payments: self, key: Some(order.sale_id.clone()) };
        let key = order.sale_id.as_str();
        listener.on_step(SaleStep::WaitingForCustomer);
        let mut wait = self.qr.order_first_poll;
        loop {
            let cancelled = tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                _ = control.cancelled() => true,
            };
            match self.look_up_order(accounts, key, order.amount_fen).await? {
                Lookup::Settled => return self.sale_of(key),
                Lookup::Waiting | Lookup::NotFound | Lookup::Unknown => {}
            }
            if cancelled {
                self.reverse_now(accounts, key, "merchant_cancelled", listener).await?;
                return self.sale_of(key);
            }
            if accounts.platform_now() >= order.expires_at {
                self.reverse_now(accounts, key, "customer_timeout", listener).await?;
                return self.sale_of(key);
            }
            wait = (wait * 2).min(self.qr.order_poll_every);
        }
    }

    async fn look_up_order(&self, accounts: &Accounts, key: &str, amount_fen: i64) -> Result<Lookup, Error> {
        let path = format!("v1/qr/orders/{key}");
        match accounts.signed::<(), QrOrderWire>(Method::GET, &path, None, true).await {
            Ok(o) if o.idempotency_key != key || o.amount_fen != amount_fen => {
                tracing::warn!("a QR order lookup for another key or amount");
                Ok(Lookup::Unknown)
            }
            Ok(o) => Ok(match journal::qr_order_settled(&self.db, key, &o, accounts.platform_now())? {
                Some(_) => Lookup::Settled,
                None if o.status == "open" => Lookup::Waiting,
                None => Lookup::Unknown,
            }),
            Err(Error::Platform { code, .. }) if code == "order_not_found" => Ok(Lookup::NotFound),
            Err(e) => {
                tracing::info!(error = %e, "the QR order's state is not known yet");
                Ok(Lookup::Unknown)
            }
        }
    }

    /// An order a stopped app left: nobody is showing its code any more, so unless it was paid
    /// it is closed. True when this settled it.
    pub(super) async fn resolve_order(&self, accounts: &Accounts, entry: &Entry) -> Result<bool, Error> {
        match self.look_up_order(accounts, &entry.key, entry.amount_fen).await? {
            Lookup::Settled => Ok(true),
            Lookup::Waiting | Lookup::NotFound => {
                journal::reversal_pending(&self.db, &entry.key, "recovery", accounts.platform_now())?;
                self.attempt_due(accounts, &entry.key, "recovery", 0).await
            }
            Lookup::Unknown => {
                let backoff = (RETRY_FIRST_SECS << entry.attempts.clamp(0, 16)).min(RETRY_MAX_SECS);
                journal::reversal_retry(&self.db, &entry.key, accounts.platform_now() + backoff)?;
                Ok(false)
            }
        }
    }

    /// One attempt to close an order; true when the answer settles it: paid (kept: the customer
    /// paid before the close), or ended unpaid (closed, expired, or paid late and given back),
    /// or never made.
    pub(super) async fn try_close_order(&self, accounts: &Accounts, entry: &Entry) -> Result<bool, Error> {
        let path = format!("v1/qr/orders/{}/close", entry.key);
        let now = accounts.platform_now();
        match accounts.signed::<(), QrOrderWire>(Method::POST, &path, None, true).await {
            Ok(o) if o.idempotency_key != entry.key || o.amount_fen != entry.amount_fen => {
                tracing::warn!("a QR order close answered for another key or amount; trying again later");
                Ok(false)
            }
            Ok(o) => Ok(journal::qr_order_settled(&self.db, &entry.key, &o, now)?.is_some()),
            Err(Error::Platform { code, .. }) if code == "order_not_found" => {
                journal::reversed(&self.db, &entry.key, None, true, now)?;
                Ok(true)
            }
            Err(e) => {
                tracing::info!(error = %e, "QR order close not acknowledged yet");
                Ok(false)
            }
        }
    }
}

/// A listener for the steps nobody is following (the order was never shown).
struct NoSteps;

impl SaleListener for NoSteps {
    fn on_step(&self, _: SaleStep) {}
}

/// What is wrong with the platform's answer to the order `key`, if anything: another key or
/// amount, or a payload that is not this merchant's dynamic code for this order and amount.
fn order_problem(o: &QrOrderWire, key: &str, amount_fen: i64, merchant_id: &str) -> Option<String> {
    if o.idempotency_key != key {
        return Some("the answer is for another order key".into());
    }
    if o.amount_fen != amount_fen {
        return Some("the answer is for another amount".into());
    }
    payload_problem(&o.payload, amount_fen, &o.order_id, merchant_id)
}

/// Checks a platform's payload before the phone shows it: its CRC and fields, a dynamic code in
/// yuan for exactly `amount_fen`, and an account template naming this merchant (`01`) and this
/// order (`02`).
pub(crate) fn payload_problem(payload: &str, amount_fen: i64, order_id: &str, merchant_id: &str) -> Option<String> {
    let qr = match mpm::decode(payload) {
        Ok(qr) => qr,
        Err(e) => return Some(e.to_string()),
    };
    if qr.initiation != Some(mpm::Initiation::Dynamic) {
        return Some("the code is not dynamic".into());
    }
    if qr.currency != mpm::CNY {
        return Some(format!("the code's currency is {}, not the yuan", qr.currency));
    }
    if qr.amount_fen != u64::try_from(amount_fen).ok() {
        return Some("the code's amount is not the order's".into());
    }
    let field = |a: &mpm::MerchantAccount, id: &str| a.fields.iter().find(|f| f.id == id).map(|f| f.value.clone());
    let ours = qr.accounts.iter().any(|a| {
        a.guid.is_some()
            && field(a, "01").as_deref() == Some(merchant_id)
            && field(a, "02").as_deref() == Some(order_id)
    });
    if !ours {
        return Some("the code does not name this merchant and this order".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::{DataObject, Initiation, MerchantAccount, MerchantQrInput};

    fn payload(initiation: Initiation, amount_fen: u64, merchant: &str, order: &str) -> String {
        crate::qr::encode_merchant_qr(&MerchantQrInput {
            initiation,
            accounts: vec![MerchantAccount {
                id: "26".into(),
                guid: Some("com.starpos.sandbox".into()),
                value: String::new(),
                fields: vec![DataObject::new("01", merchant), DataObject::new("02", order)],
            }],
            category_code: "5411".into(),
            currency: 156,
            amount_fen: Some(amount_fen),
            country: "CN".into(),
            name: "星标测试店".into(),
            city: "广东省".into(),
            additional: vec![DataObject::new("05", order)],
            alternate_language: vec![],
        })
        .unwrap()
    }

    #[test]
    fn only_this_merchants_dynamic_code_for_this_order_and_amount_is_shown() {
        let good = payload(Initiation::Dynamic, 2_500, "898440358120001", "ord1");
        assert_eq!(payload_problem(&good, 2_500, "ord1", "898440358120001"), None);
        let refused = [
            ("another amount", payload_problem(&good, 2_501, "ord1", "898440358120001")),
            ("another order", payload_problem(&good, 2_500, "ord2", "898440358120001")),
            ("another merchant", payload_problem(&good, 2_500, "ord1", "898440358120002")),
            (
                "a static code",
                payload_problem(
                    &payload(Initiation::Static, 2_500, "898440358120001", "ord1"),
                    2_500,
                    "ord1",
                    "898440358120001",
                ),
            ),
            (
                "a wrong CRC",
                payload_problem(&format!("{}0000", &good[..good.len() - 4]), 2_500, "ord1", "898440358120001"),
            ),
            ("not a payload", payload_problem("https://example.com", 2_500, "ord1", "898440358120001")),
        ];
        for (case, problem) in refused {
            assert!(problem.is_some(), "{case}");
        }
    }
}
