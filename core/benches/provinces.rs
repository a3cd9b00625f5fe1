//! `province_at` speed (issue #7: at most 50 us a lookup): every point of the documented test
//! set in turn (mostly county centres, so mostly mixed cells near borders: a worst-ish case),
//! plus the first lookup, which parses the embedded file's header. Numbers go to
//! docs/performance.md.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use starpos_core::regions::province_at;

fn points() -> Vec<(f64, f64)> {
    include_str!("../tests/data/province_points.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
        })
        .collect()
}

fn lookups(c: &mut Criterion) {
    let first = Instant::now();
    black_box(province_at(23.129, 113.264));
    println!("first lookup (parses the header): {:?}", first.elapsed());
    let pts = points();
    let mut i = 0;
    c.bench_function("province_at (test-set points in turn)", |b| {
        b.iter(|| {
            let (lat, lon) = pts[i % pts.len()];
            i += 1;
            black_box(province_at(black_box(lat), black_box(lon)))
        })
    });
    c.bench_function("province_at (abroad: Seoul)", |b| {
        b.iter(|| black_box(province_at(black_box(37.5665), black_box(126.978))))
    });
}

criterion_group!(benches, lookups);
criterion_main!(benches);
