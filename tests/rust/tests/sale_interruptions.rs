//! A sale interrupted before money moves: the merchant cancels while the customer is still at
//! the reader, or the Bluetooth link drops while the customer types the PIN. Either way nothing
//! is journalled, nothing reaches the platform, and no limit stays held. Also: a sale records
//! where it happened, sealed on the phone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use starpos_core::location::{Location, LocationProvider};
use starpos_core::payments::{SaleListener, SaleStatus, SaleStep};
use starpos_core::reader::controller::CardReader;
use starpos_core::{Error, StarPos};
use starpos_sandbox::reader::{customer, Faults, SimLink};
use starpos_sandbox::test_kit::ready_merchant;
use starpos_tests::{contains, files_under, new_phone, HandleSlot, World, PASSWORD};

const SERIAL: &str = "SP100-000556";

/// Records steps and runs `on` at the first step equal to `at`.
struct At {
    at: SaleStep,
    on: Box<dyn Fn() + Send + Sync>,
    seen: Mutex<Vec<SaleStep>>,
}

impl SaleListener for At {
    fn on_step(&self, step: SaleStep) {
        let mut seen = self.seen.lock().unwrap();
        if step == self.at && !seen.contains(&step) {
            (self.on)();
        }
        seen.push(step);
    }
}

async fn merchant(w: &World, device: &str) -> (StarPos, SimLink, CardReader, String) {
    let (c, _) = w.client(device);
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let (link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;
    (c, link, reader, phone)
}

fn slow_radio(link: &SimLink) {
    link.set_faults(Faults { delay_ms: 150, ..Faults::default() });
}

#[tokio::test]
async fn the_merchant_cancels_while_the_customer_is_at_the_reader() {
    let w = World::start().await;
    let (c, link, reader, phone) = merchant(&w, "canceller").await;
    let before = c.merchant().remaining_today().unwrap();
    let ended = c.payments().start_sale(
        reader.clone(),
        0,
        None,
        Arc::new(At { at: SaleStep::Authorizing, on: Box::new(|| {}), seen: Mutex::new(Vec::new()) }),
    );
    assert!(matches!(ended.outcome().await, Err(Error::InvalidInput { .. })));
    assert!(!ended.cancel(), "nothing to cancel once a sale has ended");

    for at in [SaleStep::WaitingForCard, SaleStep::WaitingForPin] {
        slow_radio(&link);
        let slot = HandleSlot::default();
        let canceller = slot.clone();
        let answered = Arc::new(Mutex::new(None));
        let answer = answered.clone();
        let listener = Arc::new(At {
            at,
            on: Box::new(move || {
                // From another thread, as a button press would.
                *answer.lock().unwrap() = Some(canceller.cancel_soon(Duration::from_millis(20)));
            }),
            seen: Mutex::new(Vec::new()),
        });
        let sale = c.payments().start_sale(reader.clone(), 5_000, None, listener.clone());
        slot.fill(&sale);
        let result = sale.outcome().await;
        assert_eq!(result, Err(Error::SaleCancelled), "cancelled at {at:?}");
        let pressed = answered.lock().unwrap().take().expect("the button was pressed");
        assert_eq!(pressed.join().ok(), Some(true));
        assert!(!listener.seen.lock().unwrap().contains(&SaleStep::Authorizing), "never sent");
        // The reader let the card go and still works.
        link.set_faults(Faults::default());
        reader.beep().await.unwrap();
    }
    assert!(c.payments().recent_sales(10).unwrap().is_empty(), "nothing journalled");
    assert_eq!(w.dev.payments_of(&phone).await.unwrap(), serde_json::json!({}), "nothing reached the platform");
    assert_eq!(c.merchant().remaining_today().unwrap(), before, "no limit held");

    // Once the authorisation is on its way it is too late: the sale runs to its end.
    let slot = HandleSlot::default();
    let canceller = slot.clone();
    let too_late = Arc::new(Mutex::new(None));
    let answer = too_late.clone();
    let listener = Arc::new(At {
        at: SaleStep::Authorizing,
        on: Box::new(move || *answer.lock().unwrap() = canceller.cancel_soon(Duration::ZERO).join().ok()),
        seen: Mutex::new(Vec::new()),
    });
    let handle = c.payments().start_sale(reader.clone(), 5_000, None, listener);
    slot.fill(&handle);
    let sale = handle.outcome().await.unwrap();
    assert_eq!(*too_late.lock().unwrap(), Some(false));
    assert_eq!(sale.status, SaleStatus::Approved);
}

#[tokio::test]
async fn a_link_dropped_during_the_pin_charges_nothing() {
    let w = World::start().await;
    let (c, link, reader, phone) = merchant(&w, "dropper").await;
    let before = c.merchant().remaining_today().unwrap();
    slow_radio(&link);
    let dropper = link.clone();
    let listener = Arc::new(At {
        at: SaleStep::WaitingForPin,
        on: Box::new(move || dropper.drop_link("customer walked off with the reader")),
        seen: Mutex::new(Vec::new()),
    });
    let result = c.payments().start_sale(reader.clone(), 7_000, None, listener).outcome().await;
    assert_eq!(result, Err(Error::LinkLost));
    assert!(c.payments().recent_sales(10).unwrap().is_empty(), "nothing journalled");
    assert_eq!(w.dev.payments_of(&phone).await.unwrap(), serde_json::json!({}));
    assert_eq!(c.merchant().remaining_today().unwrap(), before);
    // The reader comes back by itself and the next sale goes through.
    link.set_faults(Faults::default());
    let ready = reader.wait_for_state(|s| *s == starpos_core::reader::controller::ReaderState::Ready);
    tokio::time::timeout(Duration::from_secs(10), ready).await.expect("the reader reconnects");
    let steps = Arc::new(At { at: SaleStep::Reversing, on: Box::new(|| {}), seen: Mutex::new(Vec::new()) });
    assert_eq!(
        c.payments().start_sale(reader, 7_000, None, steps).outcome().await.unwrap().status,
        SaleStatus::Approved
    );
}

struct Fixed(Option<Location>);

impl LocationProvider for Fixed {
    fn current_location(&self) -> Option<Location> {
        self.0
    }
}

#[tokio::test]
async fn a_sale_records_where_it_happened_and_seals_the_card_number() {
    let w = World::start().await;
    let (c, _link, reader, _phone) = merchant(&w, "located").await;
    let guangzhou = Location { latitude: 23.129_163, longitude: 113.264_435, accuracy_m: 15.0 };
    c.set_location_provider(Arc::new(Fixed(Some(guangzhou))));
    let steps = Arc::new(At { at: SaleStep::Reversing, on: Box::new(|| {}), seen: Mutex::new(Vec::new()) });
    let sale = c.payments().start_sale(reader.clone(), 2_500, None, steps.clone()).outcome().await.unwrap();
    assert_eq!(sale.location, Some(guangzhou));
    let platform = w.dev.payment(&sale.id).await.unwrap();
    assert_eq!(
        platform["location"],
        serde_json::json!({ "latitude_e6": 23_129_163, "longitude_e6": 113_264_435, "accuracy_m": 15 })
    );
    assert_eq!(c.payments().sale(sale.id.clone()).unwrap().location, Some(guangzhou), "read back from the journal");

    // No position: the sale goes through and says so. A nonsense position is the app's bug.
    c.set_location_provider(Arc::new(Fixed(None)));
    let unplaced = c.payments().start_sale(reader.clone(), 2_500, None, steps.clone()).outcome().await.unwrap();
    assert_eq!(unplaced.location, None);
    assert_eq!(w.dev.payment(&unplaced.id).await.unwrap()["location"], serde_json::Value::Null);
    c.set_location_provider(Arc::new(Fixed(Some(Location { latitude: 123.0, ..guangzhou }))));
    assert!(matches!(
        c.payments().start_sale(reader, 2_500, None, steps).outcome().await,
        Err(Error::InvalidInput { ref field, .. }) if field == "location"
    ));

    // On disk the masked number and the position are sealed: neither shows in the files.
    let masked = sale.masked_pan.clone();
    assert!(masked.len() >= 13 && masked.contains('*'));
    for (path, bytes) in files_under(&w.dir.path().join("located")) {
        assert!(!contains(&bytes, masked.as_bytes()), "{} holds the masked card number", path.display());
        assert!(!contains(&bytes, &23_129_163i32.to_be_bytes()), "{} holds the position", path.display());
    }
}

#[tokio::test]
async fn each_card_and_pin_failure_ends_the_sale_with_its_own_error() {
    let w = World::start().await;
    let (c, _link, reader, phone) = merchant(&w, "failures").await;
    let before = c.merchant().remaining_today().unwrap();
    let quiet = || Arc::new(At { at: SaleStep::Authorizing, on: Box::new(|| {}), seen: Mutex::new(Vec::new()) });
    // The simulated customer misbehaves at these amounts (docs/test-cards.md).
    let cases = [
        (customer::NO_CARD_FEN, Error::NoCard),
        (customer::UNREADABLE_FEN, Error::CardUnreadable),
        (customer::REMOVED_FEN, Error::CardRemoved),
        (customer::PIN_TIMEOUT_FEN, Error::PinTimeout),
        (customer::PIN_CANCELLED_FEN, Error::PinCancelled),
    ];
    for (amount, expected) in cases {
        let result = c.payments().start_sale(reader.clone(), amount as i64, None, quiet()).outcome().await;
        assert_eq!(result, Err(expected), "at {amount} fen");
    }
    assert!(c.payments().recent_sales(10).unwrap().is_empty(), "nothing journalled");
    assert_eq!(w.dev.payments_of(&phone).await.unwrap(), serde_json::json!({}), "nothing reached the platform");
    assert_eq!(c.merchant().remaining_today().unwrap(), before, "no limit held");
}
