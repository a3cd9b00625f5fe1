//! Whether the platform is reachable, as far as the phone can tell: the network type the app
//! reports (the OS knows when there is no network at all), and what the last exchanges did (an
//! answer of any status means the platform was reached; no answer means it was not).

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use super::meter::NetworkType;

/// The phone's view of its link to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reachability {
    /// No exchange yet since start.
    Unknown,
    /// The last exchange got an answer.
    Online,
    /// The last exchange got none (time-out, refused, cut): requests fail until it returns.
    Unreachable,
    /// The app reported no network.
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStatus {
    pub network: NetworkType,
    pub reachability: Reachability,
    /// When the platform last answered (phone clock, unix seconds).
    pub last_answer_at: Option<i64>,
    /// Exchanges in a row that got no answer.
    pub failures_in_a_row: u32,
}

#[derive(Default)]
pub struct LinkState {
    last_answer_at: AtomicI64,
    failures_in_a_row: AtomicU32,
}

impl LinkState {
    pub fn answered(&self, now: i64) {
        self.last_answer_at.store(now, Ordering::Relaxed);
        self.failures_in_a_row.store(0, Ordering::Relaxed);
    }

    pub fn no_answer(&self) {
        self.failures_in_a_row.fetch_add(1, Ordering::Relaxed);
    }

    pub fn status(&self, network: NetworkType) -> ConnectionStatus {
        let last = self.last_answer_at.load(Ordering::Relaxed);
        let failures = self.failures_in_a_row.load(Ordering::Relaxed);
        let reachability = match (network, failures, last) {
            (NetworkType::Offline, _, _) => Reachability::Offline,
            (_, f, _) if f > 0 => Reachability::Unreachable,
            (_, _, 0) => Reachability::Unknown,
            _ => Reachability::Online,
        };
        ConnectionStatus {
            network,
            reachability,
            last_answer_at: (last != 0).then_some(last),
            failures_in_a_row: failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_silences() {
        let l = LinkState::default();
        assert_eq!(l.status(NetworkType::Wifi).reachability, Reachability::Unknown);
        l.answered(100);
        assert_eq!(l.status(NetworkType::Wifi).reachability, Reachability::Online);
        l.no_answer();
        l.no_answer();
        let s = l.status(NetworkType::Mobile);
        assert_eq!((s.reachability, s.failures_in_a_row, s.last_answer_at), (Reachability::Unreachable, 2, Some(100)));
        assert_eq!(l.status(NetworkType::Offline).reachability, Reachability::Offline);
        l.answered(200);
        assert_eq!(l.status(NetworkType::Mobile).reachability, Reachability::Online);
    }
}
