//! `StarPos::network()`: the network type the app reports, reachability, data usage and the
//! data saver.

use super::client;
use crate::error::Error;
use crate::platform::link::ConnectionStatus;
use crate::platform::meter::{DataUsageReport, NetworkType};
use crate::Result;

client!(Network);

impl Network {
    /// Tells the core which network the phone is on now (call it on every connectivity
    /// change): the data meter splits its counts by it, and work that waited for a network goes.
    pub fn set_network_type(&self, network: NetworkType) {
        self.inner.platform.meter().set_network(network);
        if network == NetworkType::Offline || !crate::worker::work_waiting(&self.inner) {
            return;
        }
        // A network (again): what waited for one goes now, not after its back-off.
        if let Ok(merchant_id) = self.inner.merchant_id() {
            if let Err(e) = crate::outbox::due_now(&self.inner.db, &merchant_id) {
                tracing::warn!(error = %e, "queued requests not rescheduled");
            }
        }
        crate::worker::keep_working(&self.inner);
        self.inner.wake.notify_one();
    }

    /// Whether the platform is reachable as far as the phone can tell: the network type the app
    /// reported, and whether the last exchange got an answer (for the app's status line).
    pub fn connection_status(&self) -> ConnectionStatus {
        self.inner.platform.connection_status()
    }

    /// Bytes to and from the platform on business days `first_day..=last_day` (YYYY-MM-DD),
    /// per day, per request kind, and per network type: the app's "data used" screen.
    pub fn data_usage(&self, first_day: String, last_day: String) -> Result<DataUsageReport> {
        for (field, day) in [("first_day", &first_day), ("last_day", &last_day)] {
            if crate::history::ledger::day_number(day).is_none() {
                return Err(Error::invalid(field, "a date as YYYY-MM-DD"));
            }
        }
        Ok(self.inner.platform.meter().report(&first_day, &last_day, self.inner.platform.platform_now())?)
    }

    /// [`Self::data_usage`] for the month holding `day` (YYYY-MM-DD), or this month (by the
    /// platform's clock) when `None`.
    pub fn data_usage_month(&self, day: Option<String>) -> Result<DataUsageReport> {
        let day = day.unwrap_or_else(|| crate::limits::business_day(self.inner.platform.platform_now()));
        let (first, last) = crate::history::stats::month_of(&day)?;
        self.data_usage(first, last)
    }

    /// Turns the data saver on (the default) or off: with it on, bulk transfers nobody asked
    /// for wait for Wi-Fi.
    pub fn set_data_saver(&self, on: bool) {
        self.inner.platform.meter().set_data_saver(on);
    }

    /// Whether a bulk transfer the merchant did not ask for may go now (Wi-Fi, or data saver
    /// off): the app asks before downloading a reader firmware package in the background.
    pub fn may_transfer_in_background(&self) -> bool {
        self.inner.platform.meter().bulk_allowed()
    }
}
