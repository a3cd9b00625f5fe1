use starpos_core::payments::{SaleListener, SaleStep};

/// A sale listener for code that does not watch the steps (the app's screen would).
pub struct Quiet;

impl SaleListener for Quiet {
    fn on_step(&self, _: SaleStep) {}
}
