//! The journal's keys from secure storage: the sealer for card details and signatures, and
//! the keyed hash that counts a card's daily uses.

use super::*;

pub(super) struct Keys {
    pub(super) card_hash: ring::hmac::Key,
    pub(super) sealer: Sealer,
}

impl Payments {
    pub(super) fn keys(&self) -> Result<Arc<Keys>, Error> {
        let mut held = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = held.as_ref() {
            return Ok(k.clone());
        }
        let card = key_in_store(self.store.as_ref(), CARD_HASH_KEY)?;
        let journal = key_in_store(self.store.as_ref(), JOURNAL_KEY)?;
        let keys = Arc::new(Keys {
            card_hash: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &card),
            sealer: Sealer::new(&journal),
        });
        *held = Some(keys.clone());
        Ok(keys)
    }

    /// A keyed hash of the card for per-card counts. The phone never has the full number, so
    /// it hashes the masked one (first six, last four) under a key kept in secure storage: two
    /// cards of one merchant rarely share both ends, and the platform counts exactly.
    pub(super) fn card_key(&self, masked_pan: &str) -> Result<String, Error> {
        let tag = ring::hmac::sign(&self.keys()?.card_hash, masked_pan.as_bytes());
        Ok(hex::encode(&tag.as_ref()[..16]))
    }

    /// Opens a row's sealed card details into the entry. A row that will not open (the key
    /// was lost with a reinstall) shows only its last four digits.
    pub(super) fn opened(&self, mut e: Entry) -> Result<Entry, Error> {
        if let Some(blob) = e.sealed.take() {
            match self.keys()?.sealer.open(&e.key, &blob).and_then(|b| CardDetails::from_bytes(&b)) {
                Some(d) => {
                    e.masked_pan = d.masked_pan;
                    e.location = d.location;
                }
                None => {
                    tracing::warn!(sale = %e.key, "sealed card details do not open");
                    e.masked_pan = format!("************{}", e.last4.as_deref().unwrap_or("????"));
                }
            }
        }
        Ok(e)
    }
}
