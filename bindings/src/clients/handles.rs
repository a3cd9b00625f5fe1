//! Handles of long operations: `cancel()` while it can still stop, `outcome()` to wait (as often
//! as asked, from any executor). Dropping or closing a handle cancels nothing: the work runs to
//! its end (a sale whose authorisation was sent always does); only `cancel()` stops it.

use starpos_core::TaskHandle;

use crate::error::StarPosError;
use crate::history::{ExportSummary, SyncSummary};
use crate::payments::Sale;

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident($core:ty => $out:ty)) => {
        $(#[$doc])*
        #[derive(uniffi::Object)]
        pub struct $name(TaskHandle<$core>);

        impl $name {
            pub(crate) fn new(core: TaskHandle<$core>) -> std::sync::Arc<Self> {
                std::sync::Arc::new($name(core))
            }
        }

        #[uniffi::export]
        impl $name {
            /// Asks the work to stop; true if it will end cancelled, false if it is too late.
            pub fn cancel(&self) -> bool {
                self.0.cancel()
            }

            /// Whether the outcome is known.
            pub fn is_finished(&self) -> bool {
                self.0.is_finished()
            }

            /// Waits for the outcome; every call answers the same.
            pub async fn outcome(&self) -> Result<$out, StarPosError> {
                Ok(self.0.outcome().await?.into())
            }
        }
    };
}

handle!(
    /// A card sale under way. `cancel()` works until the authorisation is sent (the sale then
    /// ends `SaleCancelled`, nothing charged); after that it answers false and the sale runs to
    /// its end: void it once approved.
    SaleHandle(starpos_core::payments::Sale => Sale)
);
handle!(
    /// A CSV export under way; `cancel()` stops it and leaves no file (`ExportCancelled`).
    ExportHandle(starpos_core::history::ExportSummary => ExportSummary)
);
handle!(
    /// A history sync under way; `cancel()` stops it between pages (`SyncCancelled`); what it
    /// brought in is kept and the next sync resumes from there.
    SyncHandle(starpos_core::history::SyncSummary => SyncSummary)
);
