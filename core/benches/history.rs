//! History at a million transactions (issue #6): the first page with and without filters, a
//! month's statistics, the full CSV export and opening the database, each beside the raw
//! SQLite query that is its floor, measured in the same run; and the bytes a transaction takes
//! on disk. The million rows come from the seeded generator and are kept under target/ between
//! runs. Numbers go to docs/performance.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use starpos_core::history::{self, query, stats, CardKind, Filter, Kind, Status};
use starpos_core::storage::Db;

const ROWS: u64 = 1_000_000;
const MERCHANT: &str = "M-bench";
/// 2026-11-28 as days since 1970-01-01.
const LAST_DAY: i64 = 20_785;

struct Quiet;
impl history::ExportProgress for Quiet {
    fn on_progress(&self, _: u64, _: u64) {}
}

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("history-1m-v1");
    let db = Db::open(&dir).unwrap();
    let have: i64 = db.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0))?)).unwrap();
    if have as u64 != ROWS {
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
        let db = Db::open(&dir).unwrap();
        let started = Instant::now();
        history::generate::generate(&db, MERCHANT, ROWS, 1_000, LAST_DAY, 20_261_128).unwrap();
        db.with(|c| Ok(c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?)).unwrap();
        println!("generated {ROWS} transactions in {:?}", started.elapsed());
    }
    dir
}

const COLUMNS: &str =
    "id, key, kind, status, channel, card_kind, day, at, amount_fen, fee_fen, net_fen, last4, reference,
    batch, voucher, parent, synced";

/// Steps through a raw query reading every column: what any reader of these rows must pay.
fn raw(c: &rusqlite::Connection, sql: &str, params: impl rusqlite::Params) -> u64 {
    let mut q = c.prepare_cached(sql).unwrap();
    let mut rows = q.query(params).unwrap();
    let mut n = 0u64;
    while let Some(r) = rows.next().unwrap() {
        for i in 0..17 {
            black_box(r.get_ref(i).unwrap());
        }
        n += 1;
    }
    n
}

fn history(c: &mut Criterion) {
    let dir = data_dir();
    let db = Db::open(&dir).unwrap();
    let owner: i64 = db.with(|c| Ok(c.query_row("SELECT id FROM history_owners", [], |r| r.get(0))?)).unwrap();
    let plain = rusqlite::Connection::open(dir.join(starpos_core::storage::DB_FILE_NAME)).unwrap();
    let month = ("2026-11-01", "2026-11-30");
    let filtered = Filter {
        from_day: Some(month.0.into()),
        to_day: Some(month.1.into()),
        kinds: vec![Kind::Sale],
        statuses: vec![Status::Approved],
        card_kinds: vec![CardKind::Credit],
        min_amount_fen: Some(10_000),
        ..Filter::default()
    };
    let (nov1, nov30) = (LAST_DAY - 27, LAST_DAY + 2);

    let mut g = c.benchmark_group("history");
    g.sample_size(50).measurement_time(Duration::from_secs(5));
    g.bench_function("first page of 50", |b| {
        b.iter(|| black_box(query::page(&db, owner, &Filter::default(), None, 50).unwrap()))
    });
    let page_sql =
        format!("SELECT {COLUMNS} FROM history WHERE owner = ?1 ORDER BY day DESC, at DESC, id DESC LIMIT 51");
    g.bench_function("floor: raw first page", |b| b.iter(|| raw(&plain, &page_sql, [owner])));
    g.bench_function("first page of 50, filtered", |b| {
        b.iter(|| black_box(query::page(&db, owner, &filtered, None, 50).unwrap()))
    });
    let filtered_sql = format!(
        "SELECT {COLUMNS} FROM history WHERE owner = ?1 AND day >= ?2 AND day <= ?3 AND kind IN (1) AND status IN (1)
         AND card_kind IN (2) AND amount_fen >= 10000 ORDER BY day DESC, at DESC, id DESC LIMIT 51"
    );
    g.bench_function("floor: raw filtered page", |b| b.iter(|| raw(&plain, &filtered_sql, (owner, nov1, nov30))));
    g.bench_function("month statistics", |b| b.iter(|| black_box(stats::stats(&db, owner, month.0, month.1).unwrap())));
    let stats_sql = "SELECT channel, card_kind, SUM(sales), SUM(gross_fen), SUM(refunds), SUM(refunded_fen),
        SUM(fee_fen), SUM(net_fen) FROM history_days WHERE owner = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY channel, card_kind";
    g.bench_function("floor: raw month roll-up query", |b| {
        b.iter(|| {
            let mut q = plain.prepare_cached(stats_sql).unwrap();
            let n = q.query_map((owner, nov1, nov30), |r| r.get::<_, i64>(2)).unwrap().count();
            black_box(n)
        })
    });
    g.bench_function("open the database", |b| b.iter(|| black_box(Db::open(&dir).unwrap())));
    g.bench_function("floor: raw open", |b| {
        b.iter(|| {
            let c = rusqlite::Connection::open(dir.join(starpos_core::storage::DB_FILE_NAME)).unwrap();
            c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap();
            black_box(c)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("history export");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let out = dir.join("export.csv");
    g.bench_function("CSV export of 1,000,000", |b| {
        b.iter(|| {
            let s =
                history::export::export(&db, owner, &Filter::default(), &out, &Quiet, &AtomicBool::new(false)).unwrap();
            assert_eq!(s.rows, ROWS);
        })
    });
    let all_sql = format!("SELECT {COLUMNS} FROM history WHERE owner = ?1 ORDER BY day DESC, at DESC, id DESC");
    g.bench_function("floor: raw read of 1,000,000", |b| b.iter(|| assert_eq!(raw(&plain, &all_sql, [owner]), ROWS)));
    g.finish();

    let (pages, size): (i64, i64) = plain
        .query_row("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let csv = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "database {} bytes for {ROWS} transactions: {:.0} bytes a transaction (rows, indexes, roll-ups); CSV {csv} bytes",
        pages * size,
        (pages * size) as f64 / ROWS as f64
    );
    let check = Instant::now();
    let verified = history::verify::verify(&db).unwrap();
    println!("verify_journal over {} entries: {:?} ({:?})", verified.entries, check.elapsed(), verified.problem);
}

criterion_group!(benches, history);
criterion_main!(benches);
