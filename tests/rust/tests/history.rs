//! Transaction history on the phone: the ledger fills as sales, declines, reversals, voids and
//! refunds happen (in the journal's own commits), pages newest first with filters and a
//! cursor, statistics from the per-day roll-ups, a CSV export Excel reads, and a hash chain
//! that finds an edited, inserted or deleted row.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;
use starpos_core::history::{CardKind, ExportProgress, Filter, Kind, Problem, Status};
use starpos_core::payments::SaleStatus;
use starpos_core::reader::controller::CardReader;
use starpos_core::{Error, StarPos};
use starpos_sandbox::reader::SimLink;
use starpos_sandbox::test_cards::test_card;
use starpos_sandbox::test_kit::ready_merchant;
use starpos_sandbox::test_kit::Quiet;
use starpos_tests::{new_phone, World, PASSWORD};

const SERIAL: &str = "SP100-000558";

#[derive(Default)]
struct Progress(AtomicU64);
impl ExportProgress for Progress {
    fn on_progress(&self, done: u64, _total: u64) {
        self.0.store(done, Ordering::SeqCst);
    }
}

async fn merchant(w: &World, device: &str) -> (StarPos, SimLink, CardReader) {
    let (c, _) = w.client(device);
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    let (link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;
    (c, link, reader)
}

#[tokio::test]
async fn a_day_of_sales_in_history_statistics_and_export() {
    let w = World::start().await;
    let (c, link, reader) = merchant(&w, "historian").await;
    let sell = |amount: i64| {
        let (c, reader) = (c.clone(), reader.clone());
        async move { c.payments().start_sale(reader, amount, None, Arc::new(Quiet)).outcome().await.unwrap() }
    };
    let first = sell(10_000).await;
    let second = sell(8_000).await;
    link.with_reader_mut(|r| r.present(test_card("credit-approve").unwrap()));
    let credit = sell(30_000).await;
    link.with_reader_mut(|r| r.present(test_card("insufficient-funds").unwrap()));
    let declined = sell(5_000).await;
    assert!(matches!(declined.status, SaleStatus::Declined { .. }));
    link.with_reader_mut(|r| r.present(test_card("chip-approve").unwrap()));
    w.dev.set_faults(json!({ "drop_response_after_commit": 100 })).await.unwrap();
    let reversed = sell(700).await;
    w.dev.set_faults(json!({})).await.unwrap();
    assert!(matches!(reversed.status, SaleStatus::Reversed { .. }));
    c.payments().void_sale(second.id.clone(), PASSWORD.into()).await.unwrap();

    // Newest first: the void; the reversal and the sale it took back (the platform had
    // approved it before its answer was lost); the decline; then the three sales.
    let all = c.history().transactions(Filter::default(), None, 50).unwrap();
    let kinds: Vec<(Kind, Status)> = all.items.iter().map(|t| (t.kind, t.status)).collect();
    assert_eq!(
        kinds,
        vec![
            (Kind::Void, Status::Approved),
            (Kind::Reversal, Status::Approved),
            (Kind::Sale, Status::Approved),
            (Kind::Sale, Status::Declined),
            (Kind::Sale, Status::Approved),
            (Kind::Sale, Status::Approved),
            (Kind::Sale, Status::Approved),
        ]
    );
    assert_eq!(all.items[0].parent.as_deref(), Some(second.id.as_str()));
    assert_eq!(all.items[1].parent.as_deref(), Some(reversed.id.as_str()));
    assert_eq!((all.items[2].id.as_str(), all.items[2].amount_fen), (reversed.id.as_str(), 700));
    assert_eq!(all.items[6].id, first.id);
    assert_eq!(all.items[6].last4.as_deref(), Some("0015"));
    assert!(all.next_cursor.is_none());

    // Pages of two, by cursor, give the same rows in the same order.
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = c.history().transactions(Filter::default(), cursor, 2).unwrap();
        paged.extend(page.items.into_iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, all.items.iter().map(|t| t.id.clone()).collect::<Vec<_>>());

    // Filters.
    let credit_only =
        c.history().transactions(Filter { card_kinds: vec![CardKind::Credit], ..Filter::default() }, None, 50).unwrap();
    assert_eq!(credit_only.items.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), vec![credit.id.clone()]);
    let big = Filter { min_amount_fen: Some(9_000), kinds: vec![Kind::Sale], ..Filter::default() };
    assert_eq!(c.history().transactions(big, None, 50).unwrap().items.len(), 2);
    let by_reference = Filter { reference: first.reference_number.clone(), ..Filter::default() };
    assert_eq!(c.history().transactions(by_reference, None, 50).unwrap().items[0].id, first.id);
    for bad in [
        Filter { last4: Some("15".into()), ..Filter::default() },
        Filter { from_day: Some("2026-02-30".into()), ..Filter::default() },
        Filter { from_day: Some("2026-12-02".into()), to_day: Some("2026-12-01".into()), ..Filter::default() },
    ] {
        assert!(matches!(c.history().transactions(bad, None, 50), Err(Error::InvalidInput { .. })));
    }
    assert!(matches!(
        c.history().transactions(Filter::default(), Some("nonsense".into()), 5),
        Err(Error::InvalidInput { .. })
    ));

    // Today's summary: three sales in (the reversed one taken back out), one voided; fees as
    // the platform charged them.
    let today = c.history().today_summary().unwrap();
    let t = today.totals;
    assert_eq!((t.sales, t.gross_fen, t.refunds, t.refunded_fen), (3, 48_000, 1, 8_000));
    let fees: i64 = [&first, &credit].iter().map(|s| s.fee_fen).sum();
    assert_eq!(t.fee_fen, fees, "the void gave its fee back");
    assert_eq!(t.net_fen, 48_000 - 8_000 - fees);
    assert_eq!(today.breakdown.len(), 2, "debit and credit");
    assert_eq!(c.history().month_statistics(today.from_day.clone()).unwrap().totals, t);

    // Export: UTF-8 with BOM, Chinese header, one line per transaction.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("账单.csv");
    let progress = Arc::new(Progress::default());
    let summary = c
        .history()
        .export_transactions(Filter::default(), path.to_string_lossy().into(), progress.clone())
        .outcome()
        .await
        .unwrap();
    assert_eq!(summary.rows, 7);
    assert_eq!(progress.0.load(Ordering::SeqCst), 7);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(summary.bytes, bytes.len() as u64);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{FEFF}').split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 8);
    assert!(lines[0].starts_with("交易时间,业务日期,类型,状态"));
    assert!(lines[1].contains(",撤销,成功,刷卡,借记卡,") && lines[1].contains(",80.00,"), "{}", lines[1]);
    assert!(lines[7].contains(&format!(",{}", first.id)));
    assert!(lines[2].contains(",冲正,成功,"), "{}", lines[2]);

    // The ledger checks out.
    let check = c.history().verify_journal().unwrap();
    assert_eq!((check.entries, check.problem), (7, None));

    // The platform's view of the day agrees with the phone's, reversal included.
    let report = c.history().reconcile(today.from_day.clone(), today.from_day.clone()).await.unwrap();
    assert_eq!(report.mismatches, vec![], "{report:?}");
    assert_eq!(report.batches[0].expected_net_fen, t.net_fen);
}

#[tokio::test]
async fn the_hash_chain_finds_an_edited_an_inserted_and_a_deleted_row() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "tamper").await;
    for amount in [1_000, 2_000, 3_000, 4_000] {
        c.payments().start_sale(reader.clone(), amount, None, Arc::new(Quiet)).outcome().await.unwrap();
    }
    assert_eq!(c.history().verify_journal().unwrap().problem, None);
    drop(c);
    let db_path = w.dir.path().join("tamper").join(starpos_core::storage::DB_FILE_NAME);
    let tamper = |sql: &str| rusqlite::Connection::open(&db_path).unwrap().execute_batch(sql).unwrap();
    let reopen = || w.client_with("tamper", Arc::new(starpos_core::InMemorySecureStore::new()));

    // Someone lowers an amount in the file.
    tamper("UPDATE history SET amount_fen = 100 WHERE id = 2");
    assert_eq!(reopen().history().verify_journal().unwrap().problem, Some(Problem::Changed { id: 2 }));
    tamper("UPDATE history SET amount_fen = 2000 WHERE id = 2");
    assert_eq!(reopen().history().verify_journal().unwrap().problem, None, "put back, it checks out again");

    // Deletes one.
    tamper("CREATE TABLE saved AS SELECT * FROM history WHERE id = 3; DELETE FROM history WHERE id = 3");
    assert_eq!(reopen().history().verify_journal().unwrap().problem, Some(Problem::Missing { after: 2, before: 4 }));
    // Deletes it and renumbers the rest to hide the gap.
    tamper("UPDATE history SET id = id - 1 WHERE id > 3");
    assert_eq!(reopen().history().verify_journal().unwrap().problem, Some(Problem::Changed { id: 3 }));
    // Inserts a made-up row at the end with a hash of its own.
    tamper("UPDATE history SET id = id + 1 WHERE id >= 3; INSERT INTO history SELECT * FROM saved");
    assert_eq!(reopen().history().verify_journal().unwrap().problem, None, "the original order is whole again");
    tamper(
        "INSERT INTO history (id, owner, key, kind, status, channel, card_kind, day, at, amount_fen, fee_fen, net_fen,
             synced, hash)
         SELECT id + 1, owner, x'00112233445566778899aabbccddeeff', kind, status, channel, card_kind, day, at, 99999,
             0, 99999, 0, hash FROM history WHERE id = 4",
    );
    let check = reopen().history().verify_journal().unwrap();
    assert_eq!((check.entries, check.problem), (4, Some(Problem::Changed { id: 5 })));
}

/// Holds its export at the start until `open` is sent.
struct Gate(std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>, std::sync::mpsc::SyncSender<()>);
impl ExportProgress for Gate {
    fn on_progress(&self, done: u64, _total: u64) {
        if done == 0 {
            let _ = self.1.send(());
            if let Some(open) = self.0.lock().unwrap().take() {
                let _ = open.recv();
            }
        }
    }
}

#[tokio::test]
async fn two_exports_have_their_own_handles_and_a_cancelled_one_leaves_no_file() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "exports").await;
    for amount in [1_000, 2_000, 3_000] {
        c.payments().start_sale(reader.clone(), amount, None, Arc::new(Quiet)).outcome().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (a_path, b_path) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let (open, held) = std::sync::mpsc::sync_channel(1);
    let (reached_tx, reached) = std::sync::mpsc::sync_channel(1);
    let gate = Arc::new(Gate(std::sync::Mutex::new(Some(held)), reached_tx));
    let a = c.history().export_transactions(Filter::default(), a_path.to_string_lossy().into(), gate);
    let b = c.history().export_transactions(
        Filter::default(),
        b_path.to_string_lossy().into(),
        Arc::new(Progress::default()),
    );
    reached.recv().unwrap();
    assert!(a.cancel(), "a running export can be cancelled");
    open.send(()).unwrap();
    assert_eq!(a.outcome().await, Err(Error::ExportCancelled));
    assert!(!a_path.exists(), "a cancelled export leaves no file");
    assert_eq!(b.outcome().await.unwrap().rows, 3, "the other export was not cancelled with it");
    assert!(b_path.exists());
    assert!(!b.cancel(), "finished: nothing to cancel");
}
