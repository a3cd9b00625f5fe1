//! The per-domain clients `StarPos` hands out, one object per core client, each forwarding to
//! it (docs/adr/0010-clients-and-handles.md), and the handles of long operations.

mod account;
mod alerts;
mod handles;
mod history;
mod merchant;
mod network;
mod payments;
mod qr;
mod readers;
mod regions;

pub use account::AccountClient;
pub use alerts::AlertsClient;
pub use handles::{ExportHandle, SaleHandle, SyncHandle};
pub use history::HistoryClient;
pub use merchant::MerchantClient;
pub use network::NetworkClient;
pub use payments::PaymentsClient;
pub use qr::QrClient;
pub use readers::ReadersClient;
pub use regions::RegionsClient;

/// An FFI client: an object holding its core client.
macro_rules! ffi_client {
    ($(#[$doc:meta])* $name:ident($core:ty)) => {
        $(#[$doc])*
        #[derive(uniffi::Object)]
        pub struct $name {
            core: $core,
        }

        impl $name {
            pub(crate) fn new(core: $core) -> std::sync::Arc<Self> {
                std::sync::Arc::new($name { core })
            }
        }
    };
}
pub(crate) use ffi_client;
