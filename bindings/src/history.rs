//! Transaction history across the boundary: pages with filters, statistics, export with a
//! progress listener, and the ledger check. Mirrors of `starpos_core::history` (ADR 0001).

use std::sync::Arc;

use starpos_core::history as core;

use crate::checks::CardKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransactionKind {
    Sale,
    Void,
    Refund,
    Reversal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransactionStatus {
    Approved,
    Declined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Channel {
    Card,
    /// A QR payment whose wallet the record does not say.
    Qr,
    WeChat,
    Alipay,
    UnionPay,
}

macro_rules! both_ways {
    ($ours:ident, $theirs:path, [$($v:ident),*]) => {
        impl From<$theirs> for $ours {
            fn from(x: $theirs) -> Self {
                use $theirs as T;
                match x { $(T::$v => $ours::$v,)* }
            }
        }
        impl From<$ours> for $theirs {
            fn from(x: $ours) -> Self {
                use $theirs as T;
                match x { $($ours::$v => T::$v,)* }
            }
        }
    };
}

both_ways!(TransactionKind, core::Kind, [Sale, Void, Refund, Reversal]);
both_ways!(TransactionStatus, core::Status, [Approved, Declined]);
both_ways!(Channel, core::Channel, [Card, Qr, WeChat, Alipay, UnionPay]);

/// One transaction in the history. Amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Transaction {
    pub id: String,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub channel: Channel,
    pub card_kind: CardKind,
    /// `YYYY-MM-DD`, China time.
    pub business_day: String,
    pub at: i64,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub last4: Option<String>,
    pub reference: Option<String>,
    pub batch: Option<i64>,
    pub voucher: Option<i64>,
    /// The sale a void, refund or reversal belongs to.
    pub parent: Option<String>,
    /// Made on another device of the merchant.
    pub synced: bool,
    /// Where a sale was made (GB/T 2260 code), when known.
    pub province: Option<String>,
}

impl From<core::Transaction> for Transaction {
    fn from(t: core::Transaction) -> Self {
        Transaction {
            id: t.id,
            kind: t.kind.into(),
            status: t.status.into(),
            channel: t.channel.into(),
            card_kind: t.card_kind.into(),
            business_day: t.business_day,
            at: t.at,
            amount_fen: t.amount_fen,
            fee_fen: t.fee_fen,
            net_fen: t.net_fen,
            last4: t.last4,
            reference: t.reference,
            batch: t.batch,
            voucher: t.voucher,
            parent: t.parent,
            synced: t.synced,
            province: t.province,
        }
    }
}

/// What to list; empty lists and missing values mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct HistoryFilter {
    #[uniffi(default = None)]
    pub from_day: Option<String>,
    #[uniffi(default = None)]
    pub to_day: Option<String>,
    #[uniffi(default = [])]
    pub kinds: Vec<TransactionKind>,
    #[uniffi(default = [])]
    pub statuses: Vec<TransactionStatus>,
    #[uniffi(default = [])]
    pub channels: Vec<Channel>,
    #[uniffi(default = [])]
    pub card_kinds: Vec<CardKind>,
    #[uniffi(default = None)]
    pub min_amount_fen: Option<i64>,
    #[uniffi(default = None)]
    pub max_amount_fen: Option<i64>,
    #[uniffi(default = None)]
    pub last4: Option<String>,
    #[uniffi(default = None)]
    pub reference: Option<String>,
}

impl From<HistoryFilter> for core::Filter {
    fn from(f: HistoryFilter) -> Self {
        core::Filter {
            from_day: f.from_day,
            to_day: f.to_day,
            kinds: f.kinds.into_iter().map(Into::into).collect(),
            statuses: f.statuses.into_iter().map(Into::into).collect(),
            channels: f.channels.into_iter().map(Into::into).collect(),
            card_kinds: f.card_kinds.into_iter().map(Into::into).collect(),
            min_amount_fen: f.min_amount_fen,
            max_amount_fen: f.max_amount_fen,
            last4: f.last4,
            reference: f.reference,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryPage {
    pub items: Vec<Transaction>,
    /// Pass back for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

impl From<core::Page> for HistoryPage {
    fn from(p: core::Page) -> Self {
        HistoryPage { items: p.items.into_iter().map(Into::into).collect(), next_cursor: p.next_cursor }
    }
}

/// Money in and out, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct Totals {
    pub sales: i64,
    pub gross_fen: i64,
    pub refunds: i64,
    pub refunded_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
}

impl From<core::Totals> for Totals {
    fn from(t: core::Totals) -> Self {
        Totals {
            sales: t.sales,
            gross_fen: t.gross_fen,
            refunds: t.refunds,
            refunded_fen: t.refunded_fen,
            fee_fen: t.fee_fen,
            net_fen: t.net_fen,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Breakdown {
    pub channel: Channel,
    pub card_kind: CardKind,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Statistics {
    pub from_day: String,
    pub to_day: String,
    pub totals: Totals,
    pub breakdown: Vec<Breakdown>,
}

impl From<core::Stats> for Statistics {
    fn from(s: core::Stats) -> Self {
        Statistics {
            from_day: s.from_day,
            to_day: s.to_day,
            totals: s.totals.into(),
            breakdown: s
                .breakdown
                .into_iter()
                .map(|b| Breakdown {
                    channel: b.channel.into(),
                    card_kind: b.card_kind.into(),
                    totals: b.totals.into(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DayTotals {
    pub business_day: String,
    pub totals: Totals,
}

impl From<core::DayTotals> for DayTotals {
    fn from(d: core::DayTotals) -> Self {
        DayTotals { business_day: d.business_day, totals: d.totals.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ExportSummary {
    pub rows: u64,
    pub bytes: u64,
}

impl From<core::ExportSummary> for ExportSummary {
    fn from(s: core::ExportSummary) -> Self {
        ExportSummary { rows: s.rows, bytes: s.bytes }
    }
}

/// Follows an export (called from a core thread every 10,000 rows; keep it quick).
#[uniffi::export(foreign)]
pub trait ExportListener: Send + Sync {
    fn on_progress(&self, done: u64, total: u64);
}

pub(crate) struct ExportAdapter(pub Arc<dyn ExportListener>);

impl core::ExportProgress for ExportAdapter {
    fn on_progress(&self, done: u64, total: u64) {
        self.0.on_progress(done, total);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum JournalProblem {
    /// Entry `id` does not match the chain: it was changed, or one just before it was
    /// inserted, replaced or renumbered.
    Changed { id: i64 },
    /// Entries between `after` and `before` were deleted.
    Missing { after: i64, before: i64 },
    /// The chain checks out but is shorter than the last anchor: its newest entries were cut.
    Truncated { anchored: u64, found: u64 },
    /// The chain checks out but holds another entry where the last anchor was: rewritten.
    Rewritten { anchored: u64 },
    /// The ledger is not the one last anchored: another database in its place (or a reinstall
    /// whose secure storage kept the earlier anchor).
    Replaced { anchored: u64 },
}

impl From<core::Problem> for JournalProblem {
    fn from(p: core::Problem) -> Self {
        match p {
            core::Problem::Changed { id } => JournalProblem::Changed { id },
            core::Problem::Missing { after, before } => JournalProblem::Missing { after, before },
            core::Problem::Truncated { anchored, found } => JournalProblem::Truncated { anchored, found },
            core::Problem::Rewritten { anchored } => JournalProblem::Rewritten { anchored },
            core::Problem::Replaced { anchored } => JournalProblem::Replaced { anchored },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct JournalCheck {
    /// Entries that checked out before the first problem (all when there is none).
    pub entries: u64,
    pub problem: Option<JournalProblem>,
}

impl From<core::Check> for JournalCheck {
    fn from(c: core::Check) -> Self {
        JournalCheck { entries: c.entries, problem: c.problem.map(JournalProblem::from) }
    }
}

/// Follows a history sync (called after each page; keep it quick).
#[uniffi::export(foreign)]
pub trait SyncListener: Send + Sync {
    fn on_page(&self, added: u64, seen: u64);
}

pub(crate) struct SyncAdapter(pub Arc<dyn SyncListener>);

impl core::SyncProgress for SyncAdapter {
    fn on_page(&self, added: u64, seen: u64) {
        self.0.on_page(added, seen);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    /// Transactions new to this phone.
    pub added: u64,
    /// Events the platform sent (this phone's own included).
    pub seen: u64,
    pub pages: u32,
    /// The ledger's head the platform now holds as its anchor (entries); null while the
    /// ledger is empty or when the head was refused.
    pub anchored_entries: Option<u64>,
    /// Set when the ledger does not extend the platform's anchor (rewritten or cut short): the
    /// platform refused the head and flagged it. The transactions were synced all the same.
    pub journal_problem: Option<JournalProblem>,
}

impl From<core::SyncSummary> for SyncSummary {
    fn from(s: core::SyncSummary) -> Self {
        SyncSummary {
            added: s.added,
            seen: s.seen,
            pages: s.pages,
            anchored_entries: s.anchored_entries,
            journal_problem: s.journal_problem.map(JournalProblem::from),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SettlementBatch {
    pub business_day: String,
    pub cycle: crate::merchant::SettlementCycle,
    pub phone_net_fen: i64,
    pub expected_net_fen: i64,
    pub paid_fen: i64,
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MismatchKind {
    PaidDiffers,
    NetDiffers,
    MissingOnPhone,
    MissingOnPlatform,
    AmountDiffers,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub business_day: String,
    pub transaction_id: Option<String>,
    pub phone_fen: i64,
    pub platform_fen: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReconciliationReport {
    pub from_day: String,
    pub to_day: String,
    pub batches: Vec<SettlementBatch>,
    pub mismatches: Vec<Mismatch>,
}

impl From<core::Report> for ReconciliationReport {
    fn from(r: core::Report) -> Self {
        ReconciliationReport {
            from_day: r.from_day,
            to_day: r.to_day,
            batches: r
                .batches
                .into_iter()
                .map(|b| SettlementBatch {
                    business_day: b.business_day,
                    cycle: b.cycle.into(),
                    phone_net_fen: b.phone_net_fen,
                    expected_net_fen: b.expected_net_fen,
                    paid_fen: b.paid_fen,
                    paid_at: b.paid_at,
                })
                .collect(),
            mismatches: r
                .mismatches
                .into_iter()
                .map(|m| Mismatch {
                    kind: match m.kind {
                        core::MismatchKind::PaidDiffers => MismatchKind::PaidDiffers,
                        core::MismatchKind::NetDiffers => MismatchKind::NetDiffers,
                        core::MismatchKind::MissingOnPhone => MismatchKind::MissingOnPhone,
                        core::MismatchKind::MissingOnPlatform => MismatchKind::MissingOnPlatform,
                        core::MismatchKind::AmountDiffers => MismatchKind::AmountDiffers,
                    },
                    business_day: m.business_day,
                    transaction_id: m.transaction_id,
                    phone_fen: m.phone_fen,
                    platform_fen: m.platform_fen,
                    reason: m.reason,
                })
                .collect(),
        }
    }
}
