//! The network the phone is on and the data meter, mirrored from
//! `starpos_core::platform::meter`.

use starpos_core::platform::meter as core;

/// The network type the app reports on every connectivity change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkType {
    Wifi,
    /// Cellular data: metered, possibly roaming.
    Mobile,
    Unknown,
    /// No network: requests fail at once, non-money requests are queued, no payment starts.
    Offline,
}

impl From<NetworkType> for core::NetworkType {
    fn from(n: NetworkType) -> Self {
        match n {
            NetworkType::Wifi => core::NetworkType::Wifi,
            NetworkType::Mobile => core::NetworkType::Mobile,
            NetworkType::Unknown => core::NetworkType::Unknown,
            NetworkType::Offline => core::NetworkType::Offline,
        }
    }
}

impl From<core::NetworkType> for NetworkType {
    fn from(n: core::NetworkType) -> Self {
        match n {
            core::NetworkType::Wifi => NetworkType::Wifi,
            core::NetworkType::Mobile => NetworkType::Mobile,
            core::NetworkType::Unknown => NetworkType::Unknown,
            core::NetworkType::Offline => NetworkType::Offline,
        }
    }
}

/// Requests and bytes (HTTP headers and bodies as sent and received; TLS framing not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Usage {
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KindUsage {
    /// e.g. `payments/authorize`, `payments/signature`, `transactions`.
    pub kind: String,
    pub network: NetworkType,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DayUsage {
    pub day: String,
    pub mobile: Usage,
    pub wifi: Usage,
    pub unknown: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DataUsageReport {
    pub first_day: String,
    pub last_day: String,
    pub mobile: Usage,
    pub wifi: Usage,
    pub unknown: Usage,
    /// Days with traffic, oldest first.
    pub days: Vec<DayUsage>,
    /// Request kinds, largest first.
    pub kinds: Vec<KindUsage>,
}

impl From<core::Usage> for Usage {
    fn from(u: core::Usage) -> Self {
        Usage { requests: u.requests, bytes_up: u.bytes_up, bytes_down: u.bytes_down }
    }
}

impl From<core::DataUsageReport> for DataUsageReport {
    fn from(r: core::DataUsageReport) -> Self {
        DataUsageReport {
            first_day: r.first_day,
            last_day: r.last_day,
            mobile: r.mobile.into(),
            wifi: r.wifi.into(),
            unknown: r.unknown.into(),
            days: r
                .days
                .into_iter()
                .map(|d| DayUsage {
                    day: d.day,
                    mobile: d.mobile.into(),
                    wifi: d.wifi.into(),
                    unknown: d.unknown.into(),
                })
                .collect(),
            kinds: r
                .kinds
                .into_iter()
                .map(|k| KindUsage { kind: k.kind, network: k.network.into(), usage: k.usage.into() })
                .collect(),
        }
    }
}

/// The phone's view of its link to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Reachability {
    /// No exchange yet.
    Unknown,
    /// The last exchange got an answer.
    Online,
    /// The last exchange got none: requests fail until the link returns.
    Unreachable,
    /// The app reported no network.
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ConnectionStatus {
    pub network: NetworkType,
    pub reachability: Reachability,
    /// When the platform last answered (phone clock, unix seconds).
    pub last_answer_at: Option<i64>,
    pub failures_in_a_row: u32,
}

impl From<starpos_core::platform::link::ConnectionStatus> for ConnectionStatus {
    fn from(s: starpos_core::platform::link::ConnectionStatus) -> Self {
        use starpos_core::platform::link::Reachability as R;
        ConnectionStatus {
            network: s.network.into(),
            reachability: match s.reachability {
                R::Unknown => Reachability::Unknown,
                R::Online => Reachability::Online,
                R::Unreachable => Reachability::Unreachable,
                R::Offline => Reachability::Offline,
            },
            last_answer_at: s.last_answer_at,
            failures_in_a_row: s.failures_in_a_row,
        }
    }
}
