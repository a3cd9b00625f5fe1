//! Provinces and the cross-province rules, mirrored from `starpos_core::regions`.

use starpos_core::regions as core;

/// A provincial-level division: two-digit GB/T 2260 `code` ("44"), Chinese `name` (广东省),
/// English `name_en` (Guangdong).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

impl From<core::Province> for Province {
    fn from(p: core::Province) -> Self {
        Province { code: p.code, name: p.name, name_en: p.name_en }
    }
}

/// The province at a WGS-84 position, offline (embedded boundaries); `None` outside China.
#[uniffi::export]
pub fn province_at(latitude: f64, longitude: f64) -> Option<Province> {
    core::province_at(latitude, longitude).map(Into::into)
}

/// What the platform does with a payment whose position is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LocationPolicy {
    Refuse,
    AllowAndFlag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
    /// Made offline; sent when the link returns.
    Queued,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CrossProvinceApplication {
    pub id: String,
    pub province: Province,
    pub reason: String,
    pub days: u32,
    pub status: ApplicationStatus,
    /// Why it was rejected.
    pub decision_reason: Option<String>,
    pub submitted_at: i64,
    pub decided_at: Option<i64>,
    /// An approval lasts until then (unix seconds, platform time).
    pub valid_until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CrossProvinceStatus {
    pub registered: Province,
    pub location_policy: LocationPolicy,
    /// Newest first.
    pub applications: Vec<CrossProvinceApplication>,
    pub fetched_at: i64,
}

impl From<core::CrossProvinceApplication> for CrossProvinceApplication {
    fn from(a: core::CrossProvinceApplication) -> Self {
        CrossProvinceApplication {
            id: a.id,
            province: a.province.into(),
            reason: a.reason,
            days: a.days,
            status: match a.status {
                core::ApplicationStatus::Pending => ApplicationStatus::Pending,
                core::ApplicationStatus::Approved => ApplicationStatus::Approved,
                core::ApplicationStatus::Rejected => ApplicationStatus::Rejected,
                core::ApplicationStatus::Queued => ApplicationStatus::Queued,
            },
            decision_reason: a.decision_reason,
            submitted_at: a.submitted_at,
            decided_at: a.decided_at,
            valid_until: a.valid_until,
        }
    }
}

impl From<core::CrossProvinceStatus> for CrossProvinceStatus {
    fn from(s: core::CrossProvinceStatus) -> Self {
        CrossProvinceStatus {
            registered: s.registered.into(),
            location_policy: match s.location_policy {
                core::LocationPolicy::Refuse => LocationPolicy::Refuse,
                core::LocationPolicy::AllowAndFlag => LocationPolicy::AllowAndFlag,
            },
            applications: s.applications.into_iter().map(Into::into).collect(),
            fetched_at: s.fetched_at,
        }
    }
}
