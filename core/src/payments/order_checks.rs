//! What every sale (card or QR) must pass before anything is read or sent: logged in, online,
//! a sane amount and note, a settlement card, and room under the day's limits; and commit 1 of a
//! QR sale, which has no card to read in between.

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

impl Payments {
    /// A QR sale's checks (the order's, then the cross-province rule) and its commit 1: a key,
    /// in flight from before the commit so recovery never takes it, the limit reservation and the
    /// journal entry with its method and wallet, the phone's position sealed. The per-card count
    /// is for cards: the phone never learns who is behind a wallet, so each QR payment counts as
    /// a card of its own. Answers the guard holding the key, and the position for the request.
    pub(super) async fn begin_qr(
        &self,
        accounts: &Accounts,
        order: &Order,
        method: journal::Method,
        wallet: Option<crate::qr::Wallet>,
    ) -> Result<(InFlight<'_>, Option<crate::platform::wire::LocationWire>), Error> {
        let (merchant_id, day) =
            self.check_order(accounts, order.amount_fen, order.note.as_deref(), order.location.as_ref())?;
        let place = self.regions.check(accounts, &merchant_id, order.location.as_ref()).await?;
        let key = crate::util::random_hex(16);
        self.mark_in_flight(&key);
        let guard = InFlight { payments: self, key: Some(key.clone()) };
        let location = order.location.map(Location::to_wire);
        let details = CardDetails { masked_pan: String::new(), location };
        let sealed = self.keys()?.sealer.seal(&key, &details.to_bytes());
        journal::begin(
            &self.db,
            &journal::NewSale {
                key: &key,
                merchant_id: &merchant_id,
                amount_fen: order.amount_fen,
                note: order.note.as_deref(),
                entry_mode: "",
                fallback: false,
                sealed: &sealed,
                last4: "",
                app_label: "",
                aid: "",
                business_day: &day,
                card_key: &format!("qr:{key}"),
                province: place.as_ref().map(|p| p.code.as_str()),
                method,
                wallet: wallet.map(|w| w.as_str()),
                now: accounts.platform_now(),
            },
        )?;
        Ok((guard, location))
    }
}
