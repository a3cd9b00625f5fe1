//! `StarPos::regions()`: where the phone is, and the cross-province rules.

use super::client;
use crate::regions::{ApplicationStatus, CrossProvinceApplication, CrossProvinceStatus, Province};
use crate::Result;

client!(Regions);

impl Regions {
    /// The province the phone is in now (from the app's location provider), if known.
    pub fn current_province(&self) -> Option<Province> {
        let here = self.inner.current_location()?;
        crate::regions::province_at(here.latitude, here.longitude)
    }

    /// Fetches the platform's cross-province rules for the merchant (registered province,
    /// location policy, applications and their review state) and caches them.
    pub async fn refresh_cross_province(&self) -> Result<CrossProvinceStatus> {
        self.run(|i| async move {
            let merchant_id = i.merchant_id()?;
            let status = i.payments.regions().refresh(&i.accounts, &merchant_id).await?;
            crate::alerts::look_at_cross_province(&i, &merchant_id, &status);
            Ok(status)
        })
        .await
    }

    /// The cross-province rules as last fetched (no network); `None` before the first fetch.
    pub fn cross_province_status(&self) -> Result<Option<CrossProvinceStatus>> {
        self.inner.payments.regions().cached(&self.inner.merchant_id()?)
    }

    /// Applies for cross-province business in `province_code` (e.g. "43") for `days` days;
    /// the application is reviewed by the platform (pending, then approved or rejected with a
    /// reason): follow it with [`Self::refresh_cross_province`]. Made offline, it is queued.
    pub async fn apply_cross_province(
        &self,
        province_code: String,
        reason: String,
        days: u32,
    ) -> Result<CrossProvinceApplication> {
        let filed = self
            .run(move |i| async move {
                let merchant_id = i.merchant_id()?;
                i.payments.regions().apply(&i.accounts, &merchant_id, province_code.trim(), &reason, days).await
            })
            .await?;
        if filed.status == ApplicationStatus::Queued {
            crate::worker::keep_working(&self.inner);
        }
        Ok(filed)
    }
}
