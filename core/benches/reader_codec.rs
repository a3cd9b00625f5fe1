//! Reader frame codec: encode and decode throughput, and how much of the Bluetooth link a
//! firmware transfer uses as payload at common MTUs. Numbers go to docs/performance.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use starpos_core::reader::frame::{chunks, Decoder, Frame, ATT_OVERHEAD, CRC_LEN, HEADER_LEN};

/// A sealed firmware chunk: 4-byte offset + 2048 image bytes, sealed (8-byte counter, 16-byte tag).
const FIRMWARE_PAYLOAD: usize = 4 + 2048 + 8 + 16;

fn codec(c: &mut Criterion) {
    let frame = Frame::new(0x04, 7, 0x0031, vec![0xA5; FIRMWARE_PAYLOAD]);
    let bytes = frame.encode().unwrap();
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode 2 KiB firmware frame", |b| b.iter(|| black_box(&frame).encode().unwrap()));
    for mtu in [23usize, 185, 244] {
        let pieces: Vec<Vec<u8>> = chunks(&bytes, mtu).unwrap().map(<[u8]>::to_vec).collect();
        group.bench_function(format!("reassemble at MTU {mtu}"), |b| {
            b.iter(|| {
                let mut d = Decoder::new();
                let mut out = Vec::new();
                for p in &pieces {
                    out.extend(d.push(black_box(p)));
                }
                assert_eq!(out.len(), 1);
            })
        });
    }
    group.finish();

    // Payload efficiency: image bytes over bytes on the air (ATT overhead included). A
    // deterministic figure, printed for the record.
    for mtu in [23usize, 185, 244] {
        let wire = HEADER_LEN + FIRMWARE_PAYLOAD + CRC_LEN;
        let writes = wire.div_ceil(mtu - ATT_OVERHEAD);
        let on_air = wire + writes * ATT_OVERHEAD;
        println!(
            "efficiency at MTU {mtu}: {} image bytes in {on_air} bytes on the air over {writes} writes = {:.1}%",
            2048,
            2048.0 * 100.0 / on_air as f64
        );
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
