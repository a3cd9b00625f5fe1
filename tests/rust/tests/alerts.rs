//! The alert feed (issue #16 item 3): each kind is in the feed after the event that causes it,
//! once however often the event is seen again, heard by the app's listener as it is raised, and
//! marked read by id or all at once.

use std::sync::{Arc, Mutex};

use serde_json::json;
use starpos_core::alerts::{Alert, AlertKind, AlertListener, Severity};
use starpos_core::limits::Limits;
use starpos_core::location::{Location, LocationProvider};
use starpos_core::payments::SaleStatus;
use starpos_core::StarPos;
use starpos_sandbox::test_kit::{ready_merchant, Quiet};
use starpos_tests::{new_phone, World, PASSWORD};

#[derive(Default)]
struct Heard(Mutex<Vec<Alert>>);
impl AlertListener for Heard {
    fn on_alert(&self, alert: Alert) {
        self.0.lock().unwrap().push(alert);
    }
}
impl Heard {
    fn kinds(&self) -> Vec<AlertKind> {
        self.0.lock().unwrap().iter().map(|a| a.kind).collect()
    }
}

fn kinds(c: &StarPos) -> Vec<AlertKind> {
    let mut k: Vec<AlertKind> = c.alerts().list(false, 100).unwrap().iter().map(|a| a.kind).collect();
    k.reverse(); // oldest first
    k
}

struct NoProgress;
impl starpos_core::history::SyncProgress for NoProgress {
    fn on_page(&self, _added: u64, _seen: u64) {}
}

async fn seller(w: &World, device: &str) -> (StarPos, String) {
    let (c, _) = w.client(device);
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    (c, phone)
}

#[tokio::test]
async fn a_limit_nearly_used_is_told_once_a_day_and_read_marks_stick() {
    let w = World::start().await;
    let (c, _) = seller(&w, "alert-limit").await;
    let heard = Arc::new(Heard::default());
    c.alerts().set_listener(Some(heard.clone()));
    let limits = c.merchant().profile().await.unwrap().limits;
    c.merchant().set_limits(Limits { daily_total_fen: 10_000, ..limits }, None).await.unwrap();
    let (_link, reader) = starpos_tests::connected_reader(&c, "SP100-000881").await;

    let sale = |amount| {
        let handle = c.payments().start_sale(reader.clone(), amount, None, Arc::new(Quiet));
        async move { handle.outcome().await.unwrap() }
    };
    assert_eq!(sale(7_000).await.status, SaleStatus::Approved);
    assert!(kinds(&c).is_empty(), "70 % is not yet news");
    assert_eq!(sale(1_000).await.status, SaleStatus::Approved);
    assert_eq!(kinds(&c), [AlertKind::LimitNearlyUsed]);
    sale(500).await;
    assert_eq!(kinds(&c), [AlertKind::LimitNearlyUsed], "once a day");
    assert_eq!(heard.kinds(), [AlertKind::LimitNearlyUsed], "the listener heard it as it was raised");

    let alert = &c.alerts().list(true, 10).unwrap()[0];
    assert_eq!(alert.severity, Severity::Warning);
    assert!(
        alert.message.contains("80.00 yuan of today's 100.00 yuan limit is used; 20.00 yuan remains"),
        "{}",
        alert.message
    );
    assert!(alert.action.contains("Raise the daily limit"));
    assert_eq!(c.alerts().unread_count().unwrap(), 1);
    assert_eq!(c.alerts().mark_read(vec![alert.id]).unwrap(), 1);
    assert_eq!(c.alerts().mark_read(vec![alert.id]).unwrap(), 0, "already read");
    assert!(c.alerts().list(true, 10).unwrap().is_empty());
    assert!(c.alerts().list(false, 10).unwrap()[0].read, "kept after it is read");
}

#[tokio::test]
async fn a_device_bound_later_is_news_to_the_first_one() {
    let w = World::start().await;
    let (a, phone) = seller(&w, "alert-dev-a").await;
    w.dev.advance_clock(5).await.unwrap();
    let (b, _) = w.client("alert-dev-b");
    b.account().request_sms_code(phone.clone(), starpos_core::SmsPurpose::Login).await.unwrap();
    let code = w.dev.sms_code(&phone, "login").await.unwrap();
    b.account().login(phone.clone(), PASSWORD.into(), Some(code)).await.unwrap();

    // The first phone hears of it at its next sync; the new one does not hear of the old.
    a.history().sync(Arc::new(NoProgress)).outcome().await.unwrap();
    let listed = a.alerts().list(false, 10).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].kind, listed[0].subject.as_str()), (AlertKind::NewDevice, "alert-dev-b"));
    assert_eq!(listed[0].severity, Severity::Critical);
    assert!(listed[0].action.contains("change the password"));
    assert!(a.alerts().refresh().await.unwrap().is_empty(), "seen again, not raised again");
    assert!(b.alerts().refresh().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_short_settlement_and_a_failed_journal_check_are_in_the_feed() {
    let w = World::start().await;
    let (c, phone) = seller(&w, "alert-money").await;
    let (_link, reader) = starpos_tests::connected_reader(&c, "SP100-000882").await;
    c.payments().start_sale(reader.clone(), 5_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    let today = c.history().today_summary().unwrap().from_day;
    w.dev.advance_clock(86_400 + 11 * 3_600).await.unwrap();
    c.history().reconcile(today.clone(), today.clone()).await.unwrap();
    assert!(kinds(&c).is_empty(), "paid in full: nothing to tell");
    w.dev.settlement_shortfall(&phone, &today, 1_234).await.unwrap();
    c.history().reconcile(today.clone(), today.clone()).await.unwrap();
    c.history().reconcile(today.clone(), today.clone()).await.unwrap();
    let listed = c.alerts().list(false, 10).unwrap();
    assert_eq!(listed.len(), 1, "once: {listed:?}");
    assert_eq!((listed[0].kind, listed[0].subject.as_str()), (AlertKind::ShortSettlement, today.as_str()));
    assert!(listed[0].message.contains("12.34 yuan short"), "{}", listed[0].message);

    // Someone edits the ledger file: the check says so, and so does the feed.
    drop((c, reader));
    let db = w.dir.path().join("alert-money").join(starpos_core::storage::DB_FILE_NAME);
    rusqlite::Connection::open(db).unwrap().execute_batch("UPDATE history SET amount_fen = 100 WHERE id = 1").unwrap();
    let (c, _) = w.client("alert-money");
    c.account().login(phone.clone(), PASSWORD.into(), None).await.unwrap();
    assert!(c.history().verify_journal().unwrap().problem.is_some());
    assert_eq!(kinds(&c), [AlertKind::ShortSettlement, AlertKind::JournalCheckFailed]);
}

struct Changsha;
impl LocationProvider for Changsha {
    fn current_location(&self) -> Option<Location> {
        Some(Location { latitude: 28.2282, longitude: 112.9388, accuracy_m: 8.0 })
    }
}

#[tokio::test]
async fn cross_province_decisions_and_an_approval_about_to_end() {
    let w = World::start().await;
    let (c, phone) = seller(&w, "alert-cross").await;
    c.set_location_provider(Arc::new(Changsha));
    c.regions().apply_cross_province("43".into(), "长沙一日展销 one-day fair".into(), 1).await.unwrap();
    assert!(kinds(&c).is_empty(), "pending is not news");
    w.dev.advance_clock(301).await.unwrap();
    c.regions().refresh_cross_province().await.unwrap();
    c.regions().refresh_cross_province().await.unwrap();
    assert_eq!(kinds(&c), [AlertKind::CrossProvinceApproved, AlertKind::CrossProvinceExpiring]);

    w.dev.cross_province(&phone, json!({ "next_approve": false, "next_reason": "经营范围不含广西" })).await.unwrap();
    c.regions().apply_cross_province("45".into(), "南宁批发市场".into(), 3).await.unwrap();
    w.dev.advance_clock(301).await.unwrap();
    let raised = c.alerts().refresh().await.unwrap();
    assert_eq!(raised.iter().map(|a| a.kind).collect::<Vec<_>>(), [AlertKind::CrossProvinceRejected]);
    assert!(raised[0].message.contains("经营范围不含广西"), "{}", raised[0].message);
    assert_eq!(c.alerts().mark_all_read().unwrap(), 3);
    assert_eq!(c.alerts().unread_count().unwrap(), 0);
}
