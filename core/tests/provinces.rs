//! `province_at` against the documented test set (core/tests/data/province_points.csv, made by
//! tools/provinces/build.py; sources in protocol/data/PROVENANCE.md): county and city centres,
//! GeoNames places, hand-picked border and island points, and places abroad.

use std::collections::BTreeMap;

use starpos_core::regions::province_at;

struct Point {
    source: String,
    name: String,
    latitude: f64,
    longitude: f64,
    code: Option<String>,
}

fn points() -> Vec<Point> {
    let text = include_str!("data/province_points.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("source,name,latitude,longitude,code"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 5, "{l}");
            Point {
                source: f[0].into(),
                name: f[1].into(),
                latitude: f[2].parse().unwrap(),
                longitude: f[3].parse().unwrap(),
                code: (!f[4].is_empty()).then(|| f[4].into()),
            }
        })
        .collect()
}

#[test]
fn accuracy_on_the_documented_test_set() {
    let mut by_source: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    for p in points() {
        let got = province_at(p.latitude, p.longitude).map(|p| p.code);
        let e = by_source.entry(p.source.clone()).or_default();
        e.0 += 1;
        if got == p.code {
            e.1 += 1;
        } else {
            e.2.push(format!("{} ({}, {}): expected {:?}, got {:?}", p.name, p.latitude, p.longitude, p.code, got));
        }
    }
    for (source, (n, right, misses)) in &by_source {
        println!("{source}: {right} of {n} right ({:.3} %)", 100.0 * *right as f64 / *n as f64);
        for m in misses.iter().take(20) {
            println!("  miss: {m}");
        }
    }
    let rate = |s: &str| {
        let (n, right, _) = &by_source[s];
        assert!(*n > 0, "no {s} points");
        *right as f64 / *n as f64
    };
    assert!(by_source["cpca"].0 >= 3_000, "the county and city centres are all there");
    assert!(rate("cpca") >= 0.999, "county and city centres: {:?}", by_source["cpca"].2);
    assert!(rate("geonames") >= 0.999, "GeoNames places: {:?}", by_source["geonames"].2);
    assert_eq!(rate("hand"), 1.0, "border and island points: {:?}", by_source["hand"].2);
    assert_eq!(rate("abroad"), 1.0, "abroad answers None: {:?}", by_source["abroad"].2);
}

#[test]
fn every_division_is_found_somewhere() {
    let found: std::collections::BTreeSet<String> =
        points().iter().filter_map(|p| province_at(p.latitude, p.longitude)).map(|p| p.code).collect();
    assert_eq!(found.len(), 34, "{found:?}");
}
