//! A card sale from the card to the journal's last commit: checks, card and PIN, commit 1,
//! the authorisation, chip completion.

use super::*;

impl Payments {
    /// A sale of `order.amount_fen`: card and PIN on the reader, authorisation, chip
    /// completion; `control` is its handle's way to cancel it.
    pub async fn sale(
        &self,
        accounts: &Accounts,
        reader: &CardReader,
        order: Order,
        listener: &dyn SaleListener,
        control: Arc<SaleControl>,
    ) -> Result<Sale, Error> {
        let Order { amount_fen, note, location } = order;
        let (merchant_id, day) = self.check_order(accounts, amount_fen, note.as_deref(), location.as_ref())?;

        // Before the card is touched: a sale refused for where it is made never reads a card.
        let place = self.regions.check(accounts, &merchant_id, location.as_ref()).await?;

        let mut guard = InFlight { payments: self, key: None };

        listener.on_step(SaleStep::WaitingForCard);
        let read = tokio::select! {
            read = card_entry::read_chip_first(reader, amount_fen as u64, listener) => read.map_err(Error::from)?,
            _ = control.cancelled() => return Err(self.cancelled_on(reader).await),
        };
        let key = crate::util::random_hex(16);
        let keys = self.keys()?;
        let card_key = self.card_key(&read.masked_pan)?;
        let wire_location = location.map(Location::to_wire);
        let details = CardDetails { masked_pan: read.masked_pan.clone(), location: wire_location };
        let sealed = keys.sealer.seal(&key, &details.to_bytes());
        let last4 = &read.masked_pan[read.masked_pan.len().saturating_sub(4)..];

        // The PIN is typed on the reader while commit 1 (key and limit reservation) goes to
        // disk: the customer's typing hides the disk sync. The entry is still committed before
        // anything is sent; if the PIN fails or the merchant cancels, it is withdrawn (its key
        // never left the phone).
        let pin_entry = read.pin_required.then(|| {
            listener.on_step(SaleStep::WaitingForPin);
            let (reader, read, control) = (reader.clone(), read.clone(), control.clone());
            tokio::spawn(async move {
                tokio::select! {
                    pin = reader.enter_pin(&read, CARD_TIMEOUT_SECS) => Some(pin),
                    _ = control.cancelled() => None,
                }
            })
        });
        self.mark_in_flight(&key);
        guard.key = Some(key.clone());
        let now = accounts.platform_now();
        let begun = journal::begin(
            &self.db,
            &journal::NewSale {
                key: &key,
                merchant_id: &merchant_id,
                amount_fen,
                note: note.as_deref(),
                entry_mode: read.entry_mode.as_str(),
                fallback: read.fallback,
                sealed: &sealed,
                last4,
                app_label: &read.app_label,
                aid: &read.aid,
                business_day: &day,
                card_key: &card_key,
                province: place.as_ref().map(|p| p.code.as_str()),
                method: journal::Method::Card,
                wallet: None,
                now,
            },
        );
        if let Err(e) = begun {
            // Refused by a limit (the per-card count is known only now): let the card go.
            let _ = reader.cancel().await;
            if let Some(task) = pin_entry {
                let _ = task.await;
            }
            return Err(e.into());
        }
        let pin = match pin_entry {
            None => None,
            Some(task) => match task.await {
                Ok(Some(Ok(pin))) => Some(pin),
                Ok(Some(Err(e))) => {
                    journal::withdraw(&self.db, &key)?;
                    return Err(Error::from(e));
                }
                Ok(None) => {
                    journal::withdraw(&self.db, &key)?;
                    return Err(self.cancelled_on(reader).await);
                }
                Err(_) => {
                    journal::withdraw(&self.db, &key)?;
                    let _ = reader.cancel().await;
                    return Err(Error::Internal { reason: "the PIN entry task failed".into() });
                }
            },
        };
        if !control.mark_sent() {
            journal::withdraw(&self.db, &key)?;
            return Err(self.cancelled_on(reader).await);
        }

        listener.on_step(SaleStep::Authorizing);
        let request = AuthorizeRequest {
            idempotency_key: key.clone(),
            amount_fen,
            entry_mode: read.entry_mode.as_str().into(),
            masked_pan: read.masked_pan.clone(),
            ksn: hex::encode(read.ksn),
            encrypted_track2: hex::encode(&read.encrypted_track2),
            pin_block: pin.as_ref().map(|p| hex::encode(p.pin_block)),
            field55: hex::encode(&read.field55),
            nonce: hex::encode(read.nonce),
            fallback: read.fallback,
            reader_mac: hex::encode(read.mac),
            note,
            location: wire_location,
        };
        let mut delivery = Delivery::default();
        let answer: Result<PaymentWire, Error> =
            accounts.signed_tracked(Method::POST, "v1/payments/authorize", Some(&request), true, &mut delivery).await;
        drop(request);
        match answer {
            Ok(payment) => match answer_problem(&payment, &key, amount_fen) {
                None => self.answered(accounts, reader, &read, &key, &payment, listener).await?,
                Some(problem) => {
                    // Not an answer to this request as sent: whatever it says, the outcome of
                    // ours is unknown, and the card is not told it was approved.
                    tracing::warn!(problem, "an authorisation answer that does not match its request; reversing it");
                    if read.entry_mode == EntryMode::Insert {
                        let _ = reader.cancel().await;
                    }
                    self.reverse_now(accounts, &key, "no_answer", listener).await?;
                }
            },
            Err(e) if delivery.may_have_landed() => {
                tracing::warn!(error = %e, attempts = delivery.attempts(), "no usable answer to an authorisation; reversing it");
                self.reverse_now(accounts, &key, "no_answer", listener).await?;
            }
            Err(e) => {
                journal::failed(&self.db, &key, &e.to_string(), accounts.platform_now())?;
                if read.entry_mode == EntryMode::Insert {
                    let _ = reader.cancel().await;
                }
                return Err(match e {
                    // Another device used the day's limit first: the platform says what remains.
                    Error::LimitExceeded { limit, remaining, .. } => {
                        Error::LimitExceeded { limit, attempted: amount_fen, remaining }
                    }
                    e => e,
                });
            }
        }
        self.sale_of(&key)
    }

    /// Lets the card go after the merchant cancelled.
    pub(super) async fn cancelled_on(&self, reader: &CardReader) -> Error {
        if let Err(e) = reader.cancel().await {
            tracing::info!(error = %e, "the reader did not take the cancel");
        }
        Error::SaleCancelled
    }

    pub(super) async fn answered(
        &self,
        accounts: &Accounts,
        reader: &CardReader,
        read: &CardRead,
        key: &str,
        payment: &PaymentWire,
        listener: &dyn SaleListener,
    ) -> Result<(), Error> {
        let chip = read.entry_mode == EntryMode::Insert;
        let approved = payment.status == "approved";
        journal::answered(&self.db, key, payment, !(chip && approved), accounts.platform_now())?;
        if !chip {
            return Ok(());
        }
        let code: [u8; 2] = payment.response_code.as_bytes().try_into().unwrap_or(*b"05");
        if !approved {
            // Let the card end its transaction too; the decline stands whatever it says.
            let _ = reader.complete(read, code, Vec::new()).await;
            return Ok(());
        }
        listener.on_step(SaleStep::CompletingOnCard);
        let issuer_data = hex::decode(&payment.issuer_data).unwrap_or_default();
        match reader.complete(read, code, issuer_data).await {
            Ok(done) if done.approved => {
                let objects = tlv::decode_nested(&done.icc_data).unwrap_or_default();
                let hex_of = |tag: u32| tlv::find_value(&objects, tlv::Tag::known(tag)).map(hex::encode_upper);
                let (tvr, tsi) = (hex_of(0x95), hex_of(0x9B));
                Ok(journal::completed(&self.db, key, tvr.as_deref(), tsi.as_deref(), accounts.platform_now())?)
            }
            Ok(_) => self.reverse_now(accounts, key, "chip_declined", listener).await,
            Err(e) => {
                tracing::warn!(error = %e, "the card did not confirm an approval; reversing it");
                self.reverse_now(accounts, key, "card_not_confirmed", listener).await
            }
        }
    }
}

/// What is wrong with an answer to the authorisation of `key` for `amount_fen`, if anything:
/// an answer for another key or amount, or a status this core does not know, is no answer.
pub(super) fn answer_problem(payment: &PaymentWire, key: &str, amount_fen: i64) -> Option<&'static str> {
    if payment.idempotency_key != key {
        return Some("the answer is for another payment key");
    }
    if payment.amount_fen != amount_fen {
        return Some("the answer is for another amount");
    }
    if !matches!(payment.status.as_str(), "approved" | "declined") {
        return Some("the answer's status is not approved or declined");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(key: &str, amount_fen: i64, status: &str) -> PaymentWire {
        PaymentWire {
            idempotency_key: key.into(),
            status: status.into(),
            response_code: "00".into(),
            message: String::new(),
            amount_fen,
            fee_fen: 0,
            net_fen: amount_fen,
            masked_pan: "622202******0128".into(),
            card_kind: "debit".into(),
            issuer_bank: None,
            auth_code: None,
            reference_number: String::new(),
            batch_number: String::new(),
            voucher_number: String::new(),
            issuer_data: String::new(),
            processed_at: 0,
            refunded_fen: 0,
            fallback: false,
            receipt_token: None,
        }
    }

    #[test]
    fn only_an_answer_for_this_key_and_amount_with_a_known_status_is_an_answer() {
        assert_eq!(answer_problem(&answer("k1", 500, "approved"), "k1", 500), None);
        assert_eq!(answer_problem(&answer("k1", 500, "declined"), "k1", 500), None);
        assert!(answer_problem(&answer("k2", 500, "approved"), "k1", 500).is_some(), "another key");
        assert!(answer_problem(&answer("k1", 50_000, "approved"), "k1", 500).is_some(), "another amount");
        for status in ["reversed", "pending", "", "APPROVED"] {
            assert!(answer_problem(&answer("k1", 500, status), "k1", 500).is_some(), "status {status:?}");
        }
    }
}
