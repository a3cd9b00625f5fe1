//! What every sale (card or QR) must pass before anything is read or sent: logged in, online,
//! a sane amount and note, a settlement card, and room under the day's limits.

use super::*;

impl Payments {
    /// The merchant and business day of an order that passes; the typed refusal otherwise.
    pub(super) fn check_order(
        &self,
        accounts: &Accounts,
        amount_fen: i64,
        note: Option<&str>,
        location: Option<&Location>,
    ) -> Result<(String, String), Error> {
        if let Some(l) = location {
            l.check()?;
        }
        let merchant_id = accounts.current_session().ok_or(Error::NotLoggedIn)?.merchant_id;
        if accounts.offline() {
            // Said before the card is read or the code sent: a payment cannot go anywhere.
            return Err(Error::Offline);
        }
        if !(1..=999_999_999_999).contains(&amount_fen) {
            return Err(Error::invalid("amount_fen", "from 1 to 999,999,999,999 fen"));
        }
        if note.is_some_and(|n| n.chars().count() > 100) {
            return Err(Error::invalid("note", "at most 100 characters"));
        }
        let has_card: bool = self.db.with(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM settlement_cards WHERE merchant_id = ?1)",
                [&merchant_id],
                |r| r.get(0),
            )?)
        })?;
        if !has_card {
            return Err(Error::SettlementCardRequired);
        }
        let day = business_day(accounts.platform_now());
        let remaining = LimitBook::new(&self.db).remaining(&merchant_id, &day)?;
        if amount_fen > remaining.max_next_payment_fen {
            let limit = if amount_fen > remaining.limits.per_txn_fen {
                LimitKind::PerTransaction
            } else {
                LimitKind::DailyTotal
            };
            return Err(Error::LimitExceeded {
                limit,
                attempted: amount_fen,
                remaining: remaining.max_next_payment_fen,
            });
        }
        Ok((merchant_id, day))
    }
}
