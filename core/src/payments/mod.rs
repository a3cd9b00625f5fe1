//! Card sales on a crash-safe journal (issue #5; docs/payments.md).
//!
//! The rules that keep money right:
//! - The idempotency key is made and committed (with the limit reservation) before the first
//!   send, and every retry reuses it; the platform answers a repeat with the same payment.
//! - An authorisation whose answer is lost is never retried under a new key: its outcome is
//!   unknown, so it is reversed, and the reversal is journalled and retried until the
//!   platform acknowledges it. A reversal for a key the platform never saw leaves a tombstone
//!   there, so the lost request cannot be approved later.
//! - A chip card that declines after the platform approved is reversed.
//! - On restart, unfinished entries are resolved by asking the platform by key. The stated rule
//!   for an approval the card never confirmed (the app stopped between the answer and the
//!   card's confirmation): reverse it. A swipe or tap approval needs no card confirmation and
//!   stands.
//!
//! By lifecycle: `model` (what the app sees: steps, status, the sale), `control` (the order,
//! its cancel, the in-flight set), `order_checks` (what every sale passes first), `card_entry`
//! (chip first, fallback by rule), `sale` (card to last commit), `code_sale` (a sale by the
//! customer's payment code, with `wallet_schedule`), `order_sale` (a sale by the dynamic QR the
//! phone shows), `reversal`, `recovery` (what a
//! stopped app left), `adjustments` (voids and refunds), `signatures` (keep and upload),
//! `attention` (telling the app of sales needing it), `keys` (the journal's keys), `journal` (the SQLite rows), `receipt`, `signature` (the
//! strokes' format). The background worker that retries them is `crate::worker`.

mod adjustments;
mod attention;
mod card_entry;
mod code_sale;
mod control;
pub mod journal;
mod keys;
mod model;
mod order_checks;
mod order_sale;
pub mod receipt;
mod recovery;
mod reversal;
mod sale;
/// The strokes' format, shared with the platform (which stores and renders what the phone sends).
pub use starpos_protocol::signature;
mod signatures;
mod wallet_schedule;

pub use attention::AttentionListener;
pub(crate) use attention::AttentionWatch;
use control::InFlight;
pub(crate) use control::{Order, SaleControl};
use keys::Keys;
pub use model::{Adjust, DeclineReason, ReversalReason, Sale, SaleListener, SaleStatus, SaleStep};
pub use order_sale::QrOrder;
use reversal::outcome_unknown;
pub use wallet_schedule::{QrSchedule, WalletSchedule};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;

use crate::account::Accounts;
use crate::error::Error;
use crate::limits::{business_day, LimitBook, LimitKind};
use crate::location::Location;
use crate::onboarding::CardKind;
use crate::platform::delivery::Delivery;
use crate::platform::wire::{
    AdjustmentRequest, AdjustmentSettled, AuthorizeRequest, PaymentWire, QrAdjustmentWire, ReverseRequest,
    ReverseResponse, SignatureUpload,
};
use crate::reader::card::{CardRead, EntryMode};
use crate::reader::controller::CardReader;
use crate::reader::tlv;
use crate::regions::CrossProvince;
use crate::secure_store::SecureStore;
use crate::storage::sealed::{key_in_store, Sealer, JOURNAL_KEY};
use crate::storage::Db;
pub use journal::Method as PaymentMethod;
pub use journal::SignatureState;
use journal::{CardDetails, Entry, State};
use signature::Signature;

/// How long the customer has to present a card, and to enter the PIN.
const CARD_TIMEOUT_SECS: u8 = 60;
/// Reversal attempts made at once before leaving the rest to `resolve_pending`.
const QUICK_REVERSAL_DELAYS_MS: [u64; 3] = [0, 500, 1_500];
/// How long those attempts may take in all: on a dead link each would otherwise wait out the
/// client's full time-outs while the customer stands at the counter. The background loop
/// carries on after it.
const QUICK_REVERSAL_BUDGET: Duration = Duration::from_secs(10);
/// Back-off between later reversal attempts: doubles from 5 s up to 5 minutes.
const RETRY_FIRST_SECS: i64 = 5;
/// How long (platform time) a sale may stay unsettled before the merchant is told: well past
/// the quick reversal and a few background retries, short enough to still be at the counter
/// or the same shift.
pub const ATTENTION_AFTER_SECS: i64 = 15 * 60;
const RETRY_MAX_SECS: i64 = 300;
const CARD_HASH_KEY: &str = "starpos.card_hash_key.v1";

pub(crate) struct Payments {
    db: Arc<Db>,
    store: Arc<dyn SecureStore>,
    /// Read from secure storage once (a Keystore call is slow), under a lock so that two
    /// first sales cannot make two different keys.
    keys: Mutex<Option<Arc<Keys>>>,
    /// Journal keys this process is working on right now: recovery leaves them alone (it is
    /// for what a stopped app left behind, not for a sale still in progress).
    in_flight: Mutex<HashSet<String>>,
    regions: CrossProvince,
    /// Each wallet's schedule for a QR payment the customer is still confirming.
    qr: QrSchedule,
}

impl Payments {
    pub fn new(db: Arc<Db>, store: Arc<dyn SecureStore>, qr: QrSchedule) -> Self {
        Payments {
            db: db.clone(),
            store,
            qr,
            keys: Mutex::new(None),
            in_flight: Mutex::new(HashSet::new()),
            regions: CrossProvince::new(db.clone()),
        }
    }

    /// The cross-province rules every payment is checked against.
    pub fn regions(&self) -> &CrossProvince {
        &self.regions
    }

    fn mark_in_flight(&self, key: &str) {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string());
    }

    /// Takes `key` into the in-flight set for one piece of work, unless someone has it already
    /// (a live sale, or another recovery pass: the app's and the worker's can overlap).
    fn claim(&self, key: &str) -> Option<InFlight<'_>> {
        let mut held = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(key.to_string()).then(|| InFlight { payments: self, key: Some(key.to_string()) })
    }

    fn is_in_flight(&self, key: &str) -> bool {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).contains(key)
    }

    pub fn sale_of(&self, key: &str) -> Result<Sale, Error> {
        let entry =
            journal::get(&self.db, key)?.ok_or_else(|| Error::invalid("sale_id", "no such sale on this phone"))?;
        self.with_adjustments(entry)
    }

    fn with_adjustments(&self, entry: Entry) -> Result<Sale, Error> {
        let (voided, refunded_fen) = journal::adjusted(&self.db, &entry.key)?;
        let signature = journal::signature(&self.db, &entry.key)?.1;
        let mut sale = Sale::from(self.opened(entry)?);
        sale.refunded_fen = refunded_fen;
        sale.signature = signature;
        if voided && sale.status == SaleStatus::Approved {
            sale.status = SaleStatus::Voided;
        }
        Ok(sale)
    }

    pub fn recent(&self, merchant_id: &str, limit: u32) -> Result<Vec<Sale>, Error> {
        journal::recent(&self.db, merchant_id, limit)?.into_iter().map(|e| self.with_adjustments(e)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure_store::InMemorySecureStore;

    #[test]
    fn rows_from_before_sealing_are_sealed_by_the_upgrade_and_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        // A row as schema 9 wrote it: the masked number in clear.
        db.with(|c| {
            c.execute(
                "INSERT INTO payments (key, merchant_id, kind, state, amount_fen, entry_mode, masked_pan, app_label,
                     aid, business_day, created_at, updated_at)
                 VALUES ('k1', 'M1', 'sale', 'completed', 100, 'insert', '621700******0015', 'APP', 'A0', '2026-11-28', 0, 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        let store = Arc::new(InMemorySecureStore::new());
        let payments = Payments::new(db.clone(), store.clone(), QrSchedule::default());
        assert_eq!(db.write(|tx| journal::seal_older_rows_in(tx, Some(store.as_ref()))).unwrap(), 1);
        assert_eq!(db.write(|tx| journal::seal_older_rows_in(tx, Some(store.as_ref()))).unwrap(), 0, "once");
        let flag: bool = db
            .with(|c| {
                Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'journal_sealed')", [], |r| r.get(0))?)
            })
            .unwrap();
        assert!(flag, "later upgrades skip the scan");
        let (clear, sealed): (String, Option<Vec<u8>>) = db
            .with(|c| {
                Ok(c.query_row("SELECT masked_pan, sealed FROM payments WHERE key = 'k1'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?)
            })
            .unwrap();
        assert_eq!(clear, "");
        assert!(!sealed.unwrap().windows(4).any(|w| w == b"0015"));
        assert_eq!(payments.sale_of("k1").unwrap().masked_pan, "621700******0015");
    }

    /// A recovery pass works from a snapshot; a sale that completed meanwhile must stay
    /// completed whatever the pass then does, and two passes never hold one entry at once.
    #[test]
    fn a_final_payment_is_never_made_pending_again_and_an_entry_is_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        db.with(|c| {
            c.execute(
                "INSERT INTO payments (key, merchant_id, kind, state, amount_fen, entry_mode, masked_pan, app_label,
                     aid, business_day, created_at, updated_at, method, wallet)
                 VALUES ('k1', 'M1', 'sale', 'completed', 100, '', '', '', '', '2026-12-01', 0, 0, 'customer_code', 'wechat')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        journal::reversal_pending(&db, "k1", "recovery", 5).unwrap();
        assert_eq!(journal::get(&db, "k1").unwrap().unwrap().state, State::Completed);
        let payments = Payments::new(db, Arc::new(InMemorySecureStore::new()), QrSchedule::default());
        let first = payments.claim("k1");
        assert!(first.is_some() && payments.claim("k1").is_none(), "held by the first");
        drop(first);
        assert!(payments.claim("k1").is_some(), "free again once the first is done");
    }

    #[test]
    fn card_details_round_trip_and_refuse_garbage() {
        let with = CardDetails {
            masked_pan: "621700******0015".into(),
            location: Some(crate::platform::wire::LocationWire {
                latitude_e6: -33_868_820,
                longitude_e6: 151_209_290,
                accuracy_m: 7,
            }),
        };
        let without = CardDetails { location: None, ..with.clone() };
        for d in [with, without] {
            assert_eq!(CardDetails::from_bytes(&d.to_bytes()), Some(d));
        }
        for bad in [&[][..], &[2, 0], &[1, 5, b'1'], &[1, 0, 1, 2, 3]] {
            assert_eq!(CardDetails::from_bytes(bad), None);
        }
    }
}
