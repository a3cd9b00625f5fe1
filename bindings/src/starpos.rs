//! The `StarPos` object the app holds: construction, the session, and the per-domain clients.

use std::sync::Arc;

use crate::clients::{
    AccountClient, AlertsClient, HistoryClient, MerchantClient, NetworkClient, PaymentsClient, QrClient, ReadersClient,
    RegionsClient,
};
use crate::error::StarPosError;
use crate::payments::{LocationAdapter, LocationProvider};
use crate::secure_store::{Adapter, SecureStore};
use crate::types::{Session, StarPosConfig};

#[derive(uniffi::Object)]
pub struct StarPos {
    core: starpos_core::StarPos,
}

#[uniffi::export]
impl StarPos {
    /// Opens StarPOS: its database in `config.data_dir` and any session kept in `secure_store`.
    /// Does no network I/O.
    #[uniffi::constructor]
    pub fn new(config: StarPosConfig, secure_store: Arc<dyn SecureStore>) -> Result<Arc<Self>, StarPosError> {
        let core = starpos_core::StarPos::new(config.into(), Arc::new(Adapter(secure_store)))?;
        Ok(Arc::new(StarPos { core }))
    }

    /// The session on this device, if logged in (no network I/O).
    pub fn current_session(&self) -> Option<Session> {
        self.core.current_session().map(Into::into)
    }

    /// SMS codes, registration, login, token refresh, logout.
    pub fn account(&self) -> Arc<AccountClient> {
        AccountClient::new(self.core.account())
    }

    /// The merchant: profile, settlement cycle, fees, limits, real name, settlement cards.
    pub fn merchant(&self) -> Arc<MerchantClient> {
        MerchantClient::new(self.core.merchant())
    }

    /// Pairing card readers and the list of paired ones.
    pub fn readers(&self) -> Arc<ReadersClient> {
        ReadersClient::new(self.core.readers())
    }

    /// Card sales, voids, refunds, signatures, receipts and the payments a stopped app left.
    pub fn payments(&self) -> Arc<PaymentsClient> {
        PaymentsClient::new(self.core.payments())
    }

    /// QR payments: the customer's payment code scanned, or a dynamic QR shown.
    pub fn qr(&self) -> Arc<QrClient> {
        QrClient::new(self.core.qr())
    }

    /// Transaction pages, statistics, exports, sync, reconciliation and the chain check.
    pub fn history(&self) -> Arc<HistoryClient> {
        HistoryClient::new(self.core.history())
    }

    /// The merchant's alert feed: list, mark read, a listener for new alerts.
    pub fn alerts(&self) -> Arc<AlertsClient> {
        AlertsClient::new(self.core.alerts())
    }

    /// Where the phone is and the cross-province rules.
    pub fn regions(&self) -> Arc<RegionsClient> {
        RegionsClient::new(self.core.regions())
    }

    /// Network type, reachability, data usage and the data saver.
    pub fn network(&self) -> Arc<NetworkClient> {
        NetworkClient::new(self.core.network())
    }

    /// Where the core asks for the phone's position at each payment.
    pub fn set_location_provider(&self, provider: Arc<dyn LocationProvider>) {
        self.core.set_location_provider(Arc::new(LocationAdapter(provider)));
    }
}
