//! Which limit a refusal is about. A leaf: the public error names it, so it imports nothing
//! of the crate that imports the error (see the leaf test in `crate::error`).

/// Which limit a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    DailyTotal,
    PerTransaction,
    PerCardDailyCount,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LimitKind::DailyTotal => "daily total",
            LimitKind::PerTransaction => "per-payment",
            LimitKind::PerCardDailyCount => "per-card daily use",
        })
    }
}

impl LimitKind {
    /// A value of this limit in words: yuan for the amounts, uses for the per-card count.
    pub fn amount(self, value: i64) -> String {
        match self {
            LimitKind::PerCardDailyCount => format!("{value} uses"),
            LimitKind::DailyTotal | LimitKind::PerTransaction => format!("{} yuan", crate::money::yuan(value)),
        }
    }
}
