//! A 512 KiB firmware transfer from the core to the simulated reader over the in-process link
//! paced at a set link rate: how close the protocol (stop-and-wait 2 KiB sealed chunks, ACKs,
//! frame and AEAD overhead) gets to the raw rate. Numbers go to docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use starpos_core::reader::connection::{ReaderConnection, Timing};
use starpos_core::reader::firmware::{self, FirmwareImage};
use starpos_sandbox::reader::{Faults, SimLink, SimReader};

const IMAGE: usize = 512 * 1024;
/// Bytes per second on the air: about what Android and iOS reach with a 2M PHY and data
/// length extension; older phones manage a third of it.
const RATE: u32 = 128 * 1024;

fn transfer(c: &mut Criterion) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let platform = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let key = platform.public_key().as_ref().to_vec();
    let image = FirmwareImage::sign("9.9.9", (0..IMAGE as u32).map(|i| (i % 251) as u8).collect(), &platform);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let mut group = c.benchmark_group("firmware");
    group.sample_size(10).measurement_time(Duration::from_secs(40)).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes(IMAGE as u64));
    for mtu in [185u16, 247] {
        group.bench_function(format!("512 KiB at {} KiB/s, MTU {mtu}", RATE / 1024), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let sim = SimReader::with_firmware_key("SP100-000777", key.clone());
                        let identity = sim.identity_public();
                        let faults = Faults { mtu, link_rate_bytes_per_sec: RATE, ..Faults::default() };
                        let link = SimLink::new(sim, faults);
                        let conn =
                            ReaderConnection::open(Arc::new(link), "SP100-000777", Timing::default()).await.unwrap();
                        conn.secure(&identity, &starpos_sandbox::test_kit::phone_credential("SP100-000777", 1))
                            .await
                            .unwrap();
                        let started = Instant::now();
                        firmware::update(&conn, &image, &key, |_| {}).await.unwrap();
                        total += started.elapsed();
                        conn.close().await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
    let floor = IMAGE as f64 / f64::from(RATE);
    println!("floor: the image alone at {} KiB/s takes {floor:.2} s", RATE / 1024);
}

criterion_group!(benches, transfer);
criterion_main!(benches);
