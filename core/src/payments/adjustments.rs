//! Voids and refunds, of card and QR payments alike: journalled before they are sent, one key
//! per unanswered adjustment, and settled with the platform after a restart.

use super::*;

impl Payments {
    /// Voids or refunds an approved sale, with the account password as step-up. Journalled
    /// before it is sent; when the outcome is unknown the error says so and the next call for
    /// the same sale, kind and amount reuses the key, so nothing is refunded twice.
    pub async fn adjust(&self, accounts: &Accounts, sale_id: &str, how: Adjust, password: &str) -> Result<Sale, Error> {
        let sale = self.sale_of(sale_id)?;
        match sale.status {
            SaleStatus::Approved => {}
            SaleStatus::Voided => return Err(Error::invalid("sale_id", "the sale is already voided")),
            _ => return Err(Error::invalid("sale_id", "only an approved sale can be voided or refunded")),
        }
        if password.is_empty() {
            return Err(Error::invalid("password", "the account password confirms a void or refund"));
        }
        let remaining = sale.amount_fen - sale.refunded_fen;
        let (kind, amount) = match how {
            Adjust::Void => ("void", sale.amount_fen),
            Adjust::Refund { amount_fen } if amount_fen <= 0 => {
                return Err(Error::invalid("amount_fen", "a refund is a positive number of fen"))
            }
            Adjust::Refund { amount_fen } if amount_fen > remaining => {
                return Err(Error::RefundExceedsRemaining { remaining_fen: remaining })
            }
            Adjust::Refund { amount_fen } => ("refund", amount_fen),
        };
        let key = journal::begin_adjustment(&self.db, sale_id, kind, amount, accounts.platform_now())?;
        self.mark_in_flight(&key);
        let _guard = InFlight { payments: self, key: Some(key.clone()) };
        let body = AdjustmentRequest {
            adjustment_key: key.clone(),
            amount_fen: (kind == "refund").then_some(amount),
            password: password.into(),
        };
        let mut delivery = Delivery::default();
        // A QR payment's wallet has its own refund rules, which the platform applies under its
        // own path; the journal, the keys and the settling are the same.
        let answer = if sale.method == PaymentMethod::Card {
            let path = format!("v1/payments/{sale_id}/{kind}");
            accounts
                .signed_tracked::<_, PaymentWire>(Method::POST, &path, Some(&body), true, &mut delivery)
                .await
                .map(|_| None)
        } else {
            let path = format!("v1/qr/payments/{sale_id}/{kind}");
            accounts
                .signed_tracked::<_, QrAdjustmentWire>(Method::POST, &path, Some(&body), true, &mut delivery)
                .await
                .map(Some)
        };
        match answer {
            Ok(Some(a)) if a.adjustment_key != key || a.payment_key != sale_id || a.amount_fen != amount => {
                // Not the answer to this request: its outcome stays unknown, and the next call (or
                // a restart) settles it under the same key.
                tracing::warn!("a QR refund answer for another key or amount");
                return Err(Error::Platform {
                    code: "bad_response".into(),
                    detail: "an answer for another refund".into(),
                });
            }
            Ok(_) => journal::adjustment_done(&self.db, &key, accounts.platform_now())?,
            // Kept unanswered: the next call for this sale reuses the key, and a restart settles it.
            Err(e) if delivery.may_have_landed() => return Err(e),
            Err(e) => {
                journal::adjustment_failed(&self.db, &key, accounts.platform_now())?;
                return Err(e);
            }
        }
        self.sale_of(sale_id)
    }

    /// An adjustment a stopped app left without an answer: the platform says whether it has
    /// it (it stands) or not (it will now never apply that key; the merchant may start again).
    pub(super) async fn settle_adjustment(&self, accounts: &Accounts, key: &str) -> Result<bool, Error> {
        let path = format!("v1/adjustments/{key}/settle");
        match accounts.signed::<(), AdjustmentSettled>(Method::POST, &path, None, true).await {
            Ok(AdjustmentSettled { found: true }) => journal::adjustment_done(&self.db, key, accounts.platform_now())?,
            Ok(AdjustmentSettled { found: false }) => {
                journal::adjustment_failed(&self.db, key, accounts.platform_now())?
            }
            Err(e) if outcome_unknown(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        Ok(true)
    }
}
