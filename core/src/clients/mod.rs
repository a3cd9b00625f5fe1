//! The per-domain clients [`crate::StarPos`] hands out: each a small, cheap object over the same
//! shared state, holding the calls of one concern (the FFI mirrors them one to one). Long work
//! returns a [`crate::task::TaskHandle`].

mod account;
mod alerts;
mod history;
mod merchant;
mod network;
mod payments;
mod qr;
mod readers;
mod regions;

pub use account::Account;
pub use alerts::AlertFeed;
pub use history::{ExportHandle, History, SyncHandle};
pub use merchant::Merchant;
pub use network::Network;
pub use payments::{Payments, SaleHandle};
pub use qr::{Qr, QrOrderHandle};
pub use readers::Readers;
pub use regions::Regions;

/// The constructor and shared state every client has.
macro_rules! client {
    ($name:ident) => {
        #[derive(Clone)]
        pub struct $name {
            inner: std::sync::Arc<crate::starpos::Inner>,
        }

        impl $name {
            pub(crate) fn new(inner: std::sync::Arc<crate::starpos::Inner>) -> Self {
                $name { inner }
            }

            /// Runs `work` on the core's runtime with the shared state.
            #[allow(dead_code)]
            async fn run<T, F, Fut>(&self, work: F) -> crate::Result<T>
            where
                F: FnOnce(std::sync::Arc<crate::starpos::Inner>) -> Fut,
                Fut: std::future::Future<Output = crate::Result<T>> + Send + 'static,
                T: Send + 'static,
            {
                crate::starpos::on_runtime(&self.inner, work).await
            }
        }
    };
}
pub(crate) use client;
