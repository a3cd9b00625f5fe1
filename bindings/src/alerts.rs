//! The alert feed's types across the FFI (core/src/alerts).

use starpos_core::alerts as core;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AlertKind {
    /// A device logged in to the account for the first time.
    NewDevice,
    /// 80 % of the day's total limit is used.
    LimitNearlyUsed,
    /// A sale's outcome is not settled with the platform after 15 minutes.
    PaymentNeedsAttention,
    /// A settlement batch paid less than its net.
    ShortSettlement,
    CrossProvinceApproved,
    CrossProvinceRejected,
    /// An approved cross-province period ends within a day.
    CrossProvinceExpiring,
    /// The ledger did not check out.
    JournalCheckFailed,
}

impl From<core::AlertKind> for AlertKind {
    fn from(k: core::AlertKind) -> Self {
        match k {
            core::AlertKind::NewDevice => AlertKind::NewDevice,
            core::AlertKind::LimitNearlyUsed => AlertKind::LimitNearlyUsed,
            core::AlertKind::PaymentNeedsAttention => AlertKind::PaymentNeedsAttention,
            core::AlertKind::ShortSettlement => AlertKind::ShortSettlement,
            core::AlertKind::CrossProvinceApproved => AlertKind::CrossProvinceApproved,
            core::AlertKind::CrossProvinceRejected => AlertKind::CrossProvinceRejected,
            core::AlertKind::CrossProvinceExpiring => AlertKind::CrossProvinceExpiring,
            core::AlertKind::JournalCheckFailed => AlertKind::JournalCheckFailed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl From<core::Severity> for Severity {
    fn from(s: core::Severity) -> Self {
        match s {
            core::Severity::Info => Severity::Info,
            core::Severity::Warning => Severity::Warning,
            core::Severity::Critical => Severity::Critical,
        }
    }
}

/// One alert: what happened, about what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Alert {
    pub id: i64,
    pub kind: AlertKind,
    pub severity: Severity,
    /// Platform time, unix seconds.
    pub at: i64,
    /// What it is about: a sale id, a device id, a business day, a province code.
    pub subject: String,
    pub message: String,
    pub action: String,
    pub read: bool,
}

impl From<core::Alert> for Alert {
    fn from(a: core::Alert) -> Self {
        Alert {
            id: a.id,
            kind: a.kind.into(),
            severity: a.severity.into(),
            at: a.at,
            subject: a.subject,
            message: a.message,
            action: a.action,
            read: a.read,
        }
    }
}

/// Hears each new alert as it is raised (called on a core thread; keep it quick).
#[uniffi::export(foreign)]
pub trait AlertListener: Send + Sync {
    fn on_alert(&self, alert: Alert);
}

pub(crate) struct AlertAdapter(pub std::sync::Arc<dyn AlertListener>);

impl core::AlertListener for AlertAdapter {
    fn on_alert(&self, alert: core::Alert) {
        self.0.on_alert(alert.into());
    }
}
