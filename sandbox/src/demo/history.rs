//! Scene: today's summary, a filtered page, the bill export (kept under the data folder), a
//! sync and a reconciliation.

use super::*;

/// The records on the phone, offline: today's summary, a filtered page, a bill export, and the
/// ledger's hash chain checked.
pub(super) async fn history_demo(phone: &StarPos, data_dir: &std::path::Path) -> Result<(), String> {
    use starpos_core::history::{ExportProgress, Filter, Status};

    let today = phone.history().today_summary().map_err(show)?;
    let t = today.totals;
    println!(
        "   today ({}): {} sales {} yuan, {} voids/refunds {} yuan, fees {} yuan, net {} yuan",
        today.from_day,
        t.sales,
        yuan(t.gross_fen),
        t.refunds,
        yuan(t.refunded_fen),
        yuan(t.fee_fen),
        yuan(t.net_fen)
    );
    let month = phone.history().month_statistics(today.from_day.clone()).map_err(show)?;
    println!("   this month ({} to {}): net {} yuan", month.from_day, month.to_day, yuan(month.totals.net_fen));
    let filter = Filter { statuses: vec![Status::Approved], ..Filter::default() };
    let page = phone.history().transactions(filter, None, 5).map_err(show)?;
    println!("   history, approved only, newest first (a page of 5):");
    for t in &page.items {
        let paid_by = match (t.channel, &t.last4) {
            (starpos_core::history::Channel::Card, Some(last4)) => format!("card …{last4}"),
            (channel, _) => channel.as_str().to_string(),
        };
        println!(
            "     {} {:<6} {:<8} {:>10} yuan  {paid_by}",
            t.business_day,
            t.kind.as_str(),
            t.status.as_str(),
            yuan(t.amount_fen)
        );
    }
    struct Dots;
    impl ExportProgress for Dots {
        fn on_progress(&self, done: u64, total: u64) {
            if done == total {
                println!("   [export] {done} of {total} rows");
            }
        }
    }
    // Kept with the rest of the demo's files (under --data-dir when given).
    let exports = data_dir.join("exports");
    std::fs::create_dir_all(&exports).map_err(|e| format!("cannot create {}: {e}", exports.display()))?;
    let path = exports.join(format!("账单-{}.csv", phone.history().today_summary().map_err(show)?.from_day));
    let summary = phone
        .history()
        .export_transactions(Filter::default(), path.to_string_lossy().into(), Arc::new(Dots))
        .outcome()
        .await
        .map_err(show)?;
    println!(
        "   exported {} transactions ({} bytes, UTF-8 with BOM for Excel) to {}",
        summary.rows,
        summary.bytes,
        path.display()
    );
    let check = phone.history().verify_journal().map_err(show)?;
    println!("   the ledger's hash chain checks out over {} entries: {:?}", check.entries, check.problem);

    struct Pages;
    impl starpos_core::history::SyncProgress for Pages {
        fn on_page(&self, _: u64, _: u64) {}
    }
    let synced = phone.history().sync(Arc::new(Pages)).outcome().await.map_err(show)?;
    println!(
        "   history sync: {} events from the platform, {} new to this phone (its own are already here); the ledger's head anchored on the platform at {:?} entries, problem {:?}",
        synced.seen, synced.added, synced.anchored_entries, synced.journal_problem
    );
    let report = phone.history().reconcile(month.from_day.clone(), month.to_day.clone()).await.map_err(show)?;
    for b in &report.batches {
        println!(
            "   settlement {} ({}): platform {} yuan, phone {} yuan, paid {} yuan{}",
            b.business_day,
            b.cycle.as_str(),
            yuan(b.expected_net_fen),
            yuan(b.phone_net_fen),
            yuan(b.paid_fen),
            if b.paid_at.is_some() { "" } else { " (not due yet)" }
        );
    }
    println!("   reconciliation: {} mismatches", report.mismatches.len());
    for m in &report.mismatches {
        println!("     {:?} {}: {}", m.kind, m.business_day, m.reason);
    }
    Ok(())
}
