//! History sync and reconciliation against the sandbox platform: a sale made on another device
//! arrives by sync (once, with the cursor kept across restarts), reconciliation shows it missing
//! before the sync and nothing after, and finds the short payment the sandbox was told to make.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use starpos_core::history::{Filter, Kind, MismatchKind, SyncProgress};
use starpos_core::reader::controller::CardReader;
use starpos_core::InMemorySecureStore;
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_kit::ready_merchant;
use starpos_sandbox::test_kit::Quiet;
use starpos_tests::{new_phone, World, PASSWORD};

const SERIAL: &str = "SP100-000559";

#[derive(Default)]
struct Pages(AtomicU64);
impl SyncProgress for Pages {
    fn on_page(&self, _added: u64, _seen: u64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn other_devices_sales_arrive_by_sync_and_reconciliation_finds_a_short_payment() {
    let w = World::start().await;
    let store = Arc::new(InMemorySecureStore::new());
    let c = w.client_with("syncer", store.clone());
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let reader = CardReader::new(Arc::new(SimLink::new(SimReader::new(SERIAL), Faults::default())));
    starpos_sandbox::test_kit::pair_and_connect(&c, &reader, SERIAL).await.unwrap();
    let mine = c.payments().start_sale(reader.clone(), 10_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    c.payments().start_sale(reader.clone(), 20_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    let elsewhere = w.dev.other_device_sale(&phone, 7_700).await.unwrap();
    let elsewhere_id = elsewhere["idempotency_key"].as_str().unwrap().to_string();
    let today = c.history().today_summary().unwrap().from_day;

    // Before the sync the phone is missing the other device's sale, and reconciliation says so.
    let report = c.history().reconcile(today.clone(), today.clone()).await.unwrap();
    assert_eq!(report.batches.len(), 1);
    assert_eq!(report.batches[0].paid_at, None, "T+1: not paid yet");
    let kinds: Vec<(MismatchKind, Option<String>)> =
        report.mismatches.iter().map(|m| (m.kind.clone(), m.transaction_id.clone())).collect();
    assert_eq!(
        kinds,
        vec![(MismatchKind::NetDiffers, None), (MismatchKind::MissingOnPhone, Some(elsewhere_id.clone()))]
    );
    assert!(report.mismatches[1].reason.contains("sync"), "{}", report.mismatches[1].reason);

    let pages = Arc::new(Pages::default());
    let first = c.history().sync(pages.clone()).outcome().await.unwrap();
    assert_eq!((first.added, first.seen), (1, 3), "its own two sales are already in the ledger");
    assert!(pages.0.load(Ordering::SeqCst) >= 1);
    let synced = c.history().transaction(elsewhere_id.clone()).unwrap().unwrap();
    assert!(synced.synced && synced.kind == Kind::Sale && synced.amount_fen == 7_700);
    assert!(!c.history().transaction(mine.id.clone()).unwrap().unwrap().synced);
    assert_eq!(c.history().today_summary().unwrap().totals.gross_fen, 37_700);
    assert_eq!(c.history().verify_journal().unwrap().problem, None, "synced rows are chained like the others");

    // The cursor is kept: nothing again, even after a restart; then only what is new.
    assert_eq!(c.history().sync(pages.clone()).outcome().await.unwrap().seen, 0);
    drop(c);
    let c = w.client_with("syncer", store);
    assert_eq!(c.history().sync(pages.clone()).outcome().await.unwrap().seen, 0, "resumes from the kept cursor");
    c.payments().void_sale(mine.id.clone(), PASSWORD.into()).await.unwrap();
    let again = c.history().sync(pages.clone()).outcome().await.unwrap();
    assert_eq!((again.added, again.seen), (0, 1), "the phone's own void came back, already known");
    assert_eq!(c.history().transactions(Filter::default(), None, 50).unwrap().items.len(), 4);

    // The next morning the batch is paid; it agrees with the phone. Then the sandbox pays a
    // batch short, and reconciliation finds it.
    w.dev.advance_clock(86_400 + 11 * 3_600).await.unwrap();
    let report = c.history().reconcile(today.clone(), today.clone()).await.unwrap();
    assert_eq!(report.mismatches, vec![], "{report:?}");
    let batch = &report.batches[0];
    assert!(batch.paid_at.is_some());
    assert_eq!(batch.phone_net_fen, batch.expected_net_fen);
    assert_eq!(batch.paid_fen, batch.expected_net_fen);
    // The batch's settlement statement: its figures, then the day's transactions.
    struct Quietly;
    impl starpos_core::history::ExportProgress for Quietly {
        fn on_progress(&self, _: u64, _: u64) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("结算单.csv");
    let written = c
        .history()
        .export_settlement_statement(today.clone(), path.to_string_lossy().into(), Arc::new(Quietly))
        .outcome()
        .await
        .unwrap();
    assert_eq!(written.rows, 4);
    let text = std::fs::read_to_string(&path).unwrap();
    let yuan = starpos_core::payments::receipt::yuan(batch.expected_net_fen);
    assert!(text.starts_with("\u{FEFF}结算单,\r\n业务日期,"), "{text}");
    assert!(text.contains(&format!("应结金额(元),{yuan}\r\n")) && text.contains(&format!("已结金额(元),{yuan}\r\n")));
    assert!(text.contains("结算周期,T+1") && text.contains("\r\n\r\n交易时间,"));
    assert!(matches!(
        c.history()
            .export_settlement_statement("2001-01-01".into(), path.to_string_lossy().into(), Arc::new(Quietly))
            .outcome()
            .await,
        Err(starpos_core::Error::InvalidInput { .. })
    ));

    w.dev.settlement_shortfall(&phone, &today, 1_234).await.unwrap();
    let report = c.history().reconcile(today.clone(), today.clone()).await.unwrap();
    assert_eq!(report.mismatches.len(), 1, "{report:?}");
    let short = &report.mismatches[0];
    assert_eq!(short.kind, MismatchKind::PaidDiffers);
    assert_eq!(short.platform_fen, batch.expected_net_fen - 1_234);
    assert!(short.reason.contains("1234 fen less"), "{}", short.reason);
}

/// Cancels its sync (through the handle the test files in `slot`) after the first page.
struct CancelAfterFirstPage(Arc<std::sync::OnceLock<starpos_core::clients::SyncHandle>>, AtomicU64);
impl SyncProgress for CancelAfterFirstPage {
    fn on_page(&self, _added: u64, _seen: u64) {
        if self.1.fetch_add(1, Ordering::SeqCst) == 0 {
            // The page is committed before it is reported; the handle is filled at once.
            while self.0.get().is_none() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert!(self.0.get().unwrap().cancel(), "a running sync can be cancelled");
        }
    }
}

#[tokio::test]
async fn a_cancelled_sync_keeps_its_pages_and_the_next_one_resumes() {
    let w = World::start().await;
    let c = w.client_with("sync-cancel", Arc::new(InMemorySecureStore::new()));
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    // More than one page (200) of another device's sales.
    for _ in 0..260 {
        w.dev.other_device_sale(&phone, 100).await.unwrap();
    }
    let slot = Arc::new(std::sync::OnceLock::new());
    let sync = c.history().sync(Arc::new(CancelAfterFirstPage(slot.clone(), AtomicU64::new(0))));
    let _ = slot.set(sync.clone());
    assert_eq!(sync.outcome().await, Err(starpos_core::Error::SyncCancelled));
    let kept = c.history().transactions(Filter::default(), None, 200).unwrap().items.len();
    assert_eq!(kept, 200, "the first page stayed");
    let rest = c.history().sync(Arc::new(Pages::default())).outcome().await.unwrap();
    assert_eq!(rest.added, 60, "resumed after the kept page, nothing twice");
}
