use super::ffi_client;
use crate::error::StarPosError;
use crate::network::{ConnectionStatus, DataUsageReport, NetworkType};

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// The network type the app reports, reachability, data usage and the data saver.
    NetworkClient(starpos_core::clients::Network)
);

#[uniffi::export]
impl NetworkClient {
    /// The network the phone is on now; call it on every connectivity change (the data meter
    /// splits its counts by it, and work that waited for a network goes).
    pub fn set_network_type(&self, network: NetworkType) {
        self.core.set_network_type(network.into());
    }

    /// Whether the platform is reachable as far as the phone can tell (for a status line).
    pub fn connection_status(&self) -> ConnectionStatus {
        self.core.connection_status().into()
    }

    /// Bytes to and from the platform on business days `first_day..=last_day` (YYYY-MM-DD),
    /// per day, per request kind and per network type.
    pub fn data_usage(&self, first_day: String, last_day: String) -> Result<DataUsageReport> {
        Ok(self.core.data_usage(first_day, last_day)?.into())
    }

    /// `data_usage` for the month holding `day` (YYYY-MM-DD), or this month when `None`.
    pub fn data_usage_month(&self, day: Option<String>) -> Result<DataUsageReport> {
        Ok(self.core.data_usage_month(day)?.into())
    }

    /// Data saver on (the default) or off: with it on, bulk transfers nobody asked for wait for
    /// Wi-Fi.
    pub fn set_data_saver(&self, on: bool) {
        self.core.set_data_saver(on);
    }

    /// Whether a bulk transfer the merchant did not ask for (a background history sync, a
    /// reader firmware download) may go now: on Wi-Fi, or with the data saver off.
    pub fn may_transfer_in_background(&self) -> bool {
        self.core.may_transfer_in_background()
    }
}
