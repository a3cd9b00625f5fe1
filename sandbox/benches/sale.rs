//! A card sale end to end, beside its floor: the sandbox platform and the simulated reader on
//! loopback / in-process with no added delay, the client's journal on disk. The floor is what
//! the sale cannot avoid: its durable SQLite commits and platform round trips (counted from the
//! core's diagnostics), each measured here in the same run. Also the CPU time per sale of the
//! whole process (core, sandbox and simulated reader together), and of the core alone: its
//! runtime's threads, with the simulated reader moved out of them onto loopback TCP.
//! Numbers go to docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use starpos_core::payments::SaleStatus;
use starpos_core::reader::controller::CardReader;
use starpos_core::{Config, InMemorySecureStore, StarPos};
use starpos_sandbox::reader::tcp_link::TcpPhoneLink;
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_kit::ready_merchant;
use starpos_sandbox::test_kit::DevClient;
use starpos_sandbox::test_kit::Quiet;
use starpos_sandbox::{Sandbox, SandboxConfig};

/// User plus system CPU time of this process, from /proc (Linux), in clock ticks of 10 ms.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// User plus system CPU ticks (10 ms) of this process's threads named `name`: the core's
/// runtime threads are all called `starpos-core`.
fn thread_ticks(name: &str) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(stat) = std::fs::read_to_string(task.ok()?.path().join("stat")) else { continue };
        let (head, after) = stat.rsplit_once(')')?;
        if head.split_once('(').map(|(_, comm)| comm) != Some(name) {
            continue;
        }
        let fields: Vec<&str> = after.split_whitespace().collect();
        total += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn sale(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, client, reader) = runtime.block_on(async {
        let config = SandboxConfig { per_card_daily_cap: 1_000_000, ..SandboxConfig::default() };
        let sandbox = Sandbox::start_local(config).await.unwrap();
        let dev = DevClient::new(&sandbox.url());
        let client = StarPos::new(
            Config::new(sandbox.url(), dir.path().join("app"), "bench-phone"),
            Arc::new(InMemorySecureStore::new()),
        )
        .unwrap();
        ready_merchant(&client, &dev, "13712345678", "Bench2026sale").await.unwrap();
        let reader = CardReader::new(Arc::new(SimLink::new(SimReader::new("SP100-000888"), Faults::default())));
        starpos_sandbox::test_kit::pair_and_connect(&client, &reader, "SP100-000888").await.unwrap();
        (sandbox, client, reader)
    });

    // The sale's budget, from the core's own counters.
    let before = client.diagnostics();
    let one =
        runtime.block_on(client.payments().start_sale(reader.clone(), 100, None, Arc::new(Quiet)).outcome()).unwrap();
    assert_eq!(one.status, SaleStatus::Approved);
    let after = client.diagnostics();
    let commits = after.durable_commits - before.durable_commits;
    let round_trips = after.platform_round_trips - before.platform_round_trips;
    println!("a chip sale with PIN: {commits} durable commits, {round_trips} platform round trips");

    let mut group = c.benchmark_group("sale");
    group.sample_size(30).measurement_time(Duration::from_secs(10));
    group.bench_function("chip sale with PIN, approved", |b| {
        b.iter(|| {
            let sale = runtime
                .block_on(client.payments().start_sale(reader.clone(), 100, None, Arc::new(Quiet)).outcome())
                .unwrap();
            assert_eq!(sale.status, SaleStatus::Approved);
        })
    });

    // Floor, part 1: one durable commit like the journal's (WAL, synchronous=FULL).
    let db = rusqlite::Connection::open(dir.path().join("floor.sqlite3")).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", "FULL").unwrap();
    db.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
    group.bench_function("floor: one durable SQLite commit", |b| {
        b.iter(|| {
            db.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('x'); COMMIT;").unwrap();
        })
    });
    // Floor, part 2: one signed platform round trip on loopback.
    group.bench_function("floor: one signed platform round trip", |b| {
        b.iter(|| runtime.block_on(client.account().profile()).unwrap());
    });
    group.finish();

    // The comparison, measured once more here so the three numbers come from the same minute.
    let time = |n: u32, f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        started.elapsed() / n
    };
    let commit =
        time(200, &mut || db.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('x'); COMMIT;").unwrap());
    let trip = time(200, &mut || {
        runtime.block_on(client.account().profile()).unwrap();
    });
    let cpu_before = cpu_ticks();
    let sales = 300;
    let sale = time(sales, &mut || {
        runtime.block_on(client.payments().start_sale(reader.clone(), 100, None, Arc::new(Quiet)).outcome()).unwrap();
    });
    let cpu = match (cpu_before, cpu_ticks()) {
        (Some(a), Some(b)) => format!("{:.2} ms", (b - a) as f64 * 10.0 / f64::from(sales)),
        _ => "n/a".into(),
    };
    // Not part of the floor, but part of the sale: one exchange with the in-process reader.
    let exchange = time(200, &mut || runtime.block_on(reader.beep()).unwrap());
    println!("one reader exchange (beep, in-process): {exchange:?}; a chip sale has three (card, PIN, completion)");
    let floor = commit * commits as u32 + trip * round_trips as u32;
    println!(
        "sale {sale:?}; floor {floor:?} = {commits} x commit {commit:?} + {round_trips} x round trip {trip:?}; \
         ratio {:.2}; process CPU per sale {cpu}",
        sale.as_secs_f64() / floor.as_secs_f64()
    );

    // The core alone: the reader now answers over loopback TCP from this bench's runtime, so
    // the core's threads do only the core's work (plus the socket I/O that stands in for the
    // phone's Bluetooth stack).
    let tcp_reader = runtime.block_on(async {
        let sim = Arc::new(std::sync::Mutex::new(SimReader::new("SP100-000889")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(starpos_sandbox::reader::tcp::serve(listener, sim));
        let reader = CardReader::new(Arc::new(TcpPhoneLink::new(&addr, "SP100-000889", 185)));
        starpos_sandbox::test_kit::pair_and_connect(&client, &reader, "SP100-000889").await.unwrap();
        reader
    });
    let sales = 1_000;
    let core_before = thread_ticks("starpos-core");
    let tcp_sale = time(sales, &mut || {
        runtime
            .block_on(client.payments().start_sale(tcp_reader.clone(), 100, None, Arc::new(Quiet)).outcome())
            .unwrap();
    });
    let core_cpu = match (core_before, thread_ticks("starpos-core")) {
        (Some(a), Some(b)) => format!("{:.2} ms", (b - a) as f64 * 10.0 / f64::from(sales)),
        _ => "n/a".into(),
    };
    println!("core alone (reader on loopback TCP): sale {tcp_sale:?}; core CPU per sale {core_cpu}");
    drop(sandbox);
}

criterion_group!(benches, sale);
criterion_main!(benches);
