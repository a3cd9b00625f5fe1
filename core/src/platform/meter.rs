//! The data meter: bytes to and from the platform per request kind, per business day, split by
//! the network type the app reports (a roaming SIM costs money; Wi-Fi does not). Counted at the
//! HTTP layer, every attempt included: request line, headers and body as sent, status line,
//! headers and body as received (compressed sizes when compressed). TLS framing and handshakes
//! are not included (about 22-29 bytes per TLS record; docs/performance.md has a measurement).
//!
//! Counts gather in memory and go to SQLite at most every [`FLUSH_EVERY_SECS`] and whenever the
//! app reads them, so a sale does not pay a disk write for its meter; a killed app loses at most
//! that many seconds of counts (money is never in here).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::InternalError;
use crate::storage::Db;

const FLUSH_EVERY_SECS: i64 = 30;

/// The kind of network the phone is on, as the app reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkType {
    Wifi,
    /// Cellular data (metered, possibly roaming).
    Mobile,
    /// The app has not said (or the OS does not know).
    Unknown,
    /// No network at all: requests fail at once instead of waiting for time-outs, non-money
    /// requests are queued, and no payment starts.
    Offline,
}

impl NetworkType {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Wifi => "wifi",
            NetworkType::Mobile => "mobile",
            NetworkType::Unknown => "unknown",
            NetworkType::Offline => "offline",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => NetworkType::Wifi,
            2 => NetworkType::Mobile,
            3 => NetworkType::Offline,
            _ => NetworkType::Unknown,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            NetworkType::Unknown => 0,
            NetworkType::Wifi => 1,
            NetworkType::Mobile => 2,
            NetworkType::Offline => 3,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "wifi" => NetworkType::Wifi,
            "mobile" => NetworkType::Mobile,
            _ => NetworkType::Unknown,
        }
    }
}

/// Bytes and requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

impl Usage {
    fn add(&mut self, o: Usage) {
        self.requests += o.requests;
        self.bytes_up += o.bytes_up;
        self.bytes_down += o.bytes_down;
    }
}

/// One request kind on one network over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindUsage {
    /// The request's path without the version and without ids, e.g. `payments/authorize`,
    /// `payments/signature`, `transactions`.
    pub kind: String,
    pub network: NetworkType,
    pub usage: Usage,
}

/// One business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUsage {
    pub day: String,
    pub mobile: Usage,
    pub wifi: Usage,
    pub unknown: Usage,
}

/// What the "data used" screen shows for a period (a day, a month).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUsageReport {
    pub first_day: String,
    pub last_day: String,
    pub mobile: Usage,
    pub wifi: Usage,
    pub unknown: Usage,
    /// Days with traffic, oldest first.
    pub days: Vec<DayUsage>,
    /// Request kinds by bytes (up + down), largest first.
    pub kinds: Vec<KindUsage>,
}

type Key = (String, String, NetworkType);

pub struct DataMeter {
    network: AtomicU8,
    /// Data saver (on by default): bulk transfers the merchant did not ask for wait for Wi-Fi.
    saver: std::sync::atomic::AtomicBool,
    pending: Mutex<Pending>,
    db: OnceLock<Arc<Db>>,
}

#[derive(Default)]
struct Pending {
    counts: HashMap<Key, Usage>,
    last_flush: i64,
}

impl Default for DataMeter {
    fn default() -> Self {
        DataMeter {
            network: AtomicU8::new(0),
            saver: std::sync::atomic::AtomicBool::new(true),
            pending: Mutex::new(Pending::default()),
            db: OnceLock::new(),
        }
    }
}

impl DataMeter {
    /// Where counts are kept (set once the database is open).
    pub fn attach(&self, db: Arc<Db>) {
        let _ = self.db.set(db);
    }

    pub fn set_network(&self, n: NetworkType) {
        self.network.store(n.to_u8(), Ordering::Relaxed);
    }

    pub fn network(&self) -> NetworkType {
        NetworkType::from_u8(self.network.load(Ordering::Relaxed))
    }

    pub fn set_data_saver(&self, on: bool) {
        self.saver.store(on, Ordering::Relaxed);
    }

    /// Whether a bulk transfer nobody asked for (background history sync, firmware download)
    /// may go now: on Wi-Fi, or with the data saver off and some network.
    pub fn bulk_allowed(&self) -> bool {
        match self.network() {
            NetworkType::Wifi => true,
            NetworkType::Offline => false,
            NetworkType::Mobile | NetworkType::Unknown => !self.saver.load(Ordering::Relaxed),
        }
    }

    /// Counts one exchange of `path` made on business day `day` at `now` (platform seconds).
    pub fn record(&self, day: String, path: &str, up: u64, down: u64, now: i64) {
        let key = (day, kind_of(path), self.network());
        let due = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.counts.entry(key).or_default().add(Usage { requests: 1, bytes_up: up, bytes_down: down });
            if p.last_flush == 0 {
                p.last_flush = now;
            }
            now - p.last_flush >= FLUSH_EVERY_SECS
        };
        if due {
            if let Err(e) = self.flush(now) {
                tracing::warn!(error = %e, "data meter not saved yet");
            }
        }
    }

    /// Writes the gathered counts (one small transaction).
    pub fn flush(&self, now: i64) -> Result<(), InternalError> {
        let Some(db) = self.db.get() else { return Ok(()) };
        let counts = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.last_flush = now;
            std::mem::take(&mut p.counts)
        };
        if counts.is_empty() {
            return Ok(());
        }
        let written = db.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO data_usage (day, kind, network, requests, up, down) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (day, kind, network) DO UPDATE SET
                     requests = requests + ?4, up = up + ?5, down = down + ?6",
            )?;
            for ((day, kind, network), u) in &counts {
                stmt.execute(rusqlite::params![
                    day,
                    kind,
                    network.as_str(),
                    u.requests as i64,
                    u.bytes_up as i64,
                    u.bytes_down as i64
                ])?;
            }
            Ok(())
        });
        if written.is_err() {
            // Keep them for the next try rather than lose them.
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (k, u) in counts {
                p.counts.entry(k).or_default().add(u);
            }
        }
        written
    }

    /// The report for business days `first_day..=last_day` ("YYYY-MM-DD").
    pub fn report(&self, first_day: &str, last_day: &str, now: i64) -> Result<DataUsageReport, InternalError> {
        self.flush(now)?;
        let mut report = DataUsageReport {
            first_day: first_day.into(),
            last_day: last_day.into(),
            mobile: Usage::default(),
            wifi: Usage::default(),
            unknown: Usage::default(),
            days: Vec::new(),
            kinds: Vec::new(),
        };
        let Some(db) = self.db.get() else { return Ok(report) };
        let rows: Vec<(String, String, String, Usage)> = db.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT day, kind, network, requests, up, down FROM data_usage
                 WHERE day BETWEEN ?1 AND ?2 ORDER BY day",
            )?;
            let rows = stmt.query_map([first_day, last_day], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    Usage {
                        requests: r.get::<_, i64>(3)? as u64,
                        bytes_up: r.get::<_, i64>(4)? as u64,
                        bytes_down: r.get::<_, i64>(5)? as u64,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        let mut kinds: HashMap<(String, NetworkType), Usage> = HashMap::new();
        for (day, kind, network, u) in rows {
            let network = NetworkType::parse(&network);
            if report.days.last().is_none_or(|d| d.day != day) {
                report.days.push(DayUsage {
                    day: day.clone(),
                    mobile: Usage::default(),
                    wifi: Usage::default(),
                    unknown: Usage::default(),
                });
            }
            let d = report.days.last_mut().expect("pushed above");
            let (total, per_day) = match network {
                NetworkType::Mobile => (&mut report.mobile, &mut d.mobile),
                NetworkType::Wifi => (&mut report.wifi, &mut d.wifi),
                NetworkType::Unknown | NetworkType::Offline => (&mut report.unknown, &mut d.unknown),
            };
            total.add(u);
            per_day.add(u);
            kinds.entry((kind, network)).or_default().add(u);
        }
        report.kinds = kinds.into_iter().map(|((kind, network), usage)| KindUsage { kind, network, usage }).collect();
        report.kinds.sort_by(|a, b| {
            (b.usage.bytes_up + b.usage.bytes_down)
                .cmp(&(a.usage.bytes_up + a.usage.bytes_down))
                .then_with(|| a.kind.cmp(&b.kind))
        });
        Ok(report)
    }
}

/// A request's kind: its path without the `v1/` prefix, the query, and ids (segments with a
/// digit that are 8 characters or longer: keys, references), e.g. `v1/payments/ab12.../signature`
/// becomes `payments/signature`.
pub fn kind_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let kept: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty() && *s != "v1")
        .filter(|s| !(s.len() >= 8 && s.bytes().any(|b| b.is_ascii_digit())))
        .collect();
    if kept.is_empty() {
        "other".into()
    } else {
        kept.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_drop_versions_ids_and_queries() {
        assert_eq!(kind_of("v1/payments/authorize"), "payments/authorize");
        assert_eq!(kind_of("/v1/payments/3f9a0c1d2e4b5a69/signature"), "payments/signature");
        assert_eq!(kind_of("v1/transactions?after=120&limit=200"), "transactions");
        assert_eq!(kind_of("v1/merchant/cross-province/applications"), "merchant/cross-province/applications");
        assert_eq!(kind_of(""), "other");
    }

    #[test]
    fn counts_survive_a_flush_and_add_up_by_day_kind_and_network() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let m = DataMeter::default();
        m.attach(db.clone());
        m.set_network(NetworkType::Mobile);
        m.record("2026-11-28".into(), "v1/payments/authorize", 900, 700, 1_000);
        m.record("2026-11-28".into(), "v1/payments/authorize", 100, 300, 1_001);
        m.set_network(NetworkType::Wifi);
        m.record("2026-11-29".into(), "v1/transactions?after=1", 200, 5_000, 1_002);
        let r = m.report("2026-11-01", "2026-11-30", 1_003).unwrap();
        assert_eq!(r.mobile, Usage { requests: 2, bytes_up: 1_000, bytes_down: 1_000 });
        assert_eq!(r.wifi, Usage { requests: 1, bytes_up: 200, bytes_down: 5_000 });
        assert_eq!(r.days.len(), 2);
        assert_eq!(r.kinds[0].kind, "transactions", "largest first");
        // A second meter over the same database sees the flushed counts.
        let again = DataMeter::default();
        again.attach(db);
        let r2 = again.report("2026-11-28", "2026-11-28", 1_004).unwrap();
        assert_eq!((r2.mobile.bytes_up, r2.wifi.requests), (1_000, 0));
    }
}
