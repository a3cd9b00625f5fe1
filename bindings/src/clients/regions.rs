use super::ffi_client;
use crate::error::StarPosError;
use crate::regions::{CrossProvinceApplication, CrossProvinceStatus, Province};

type Result<T> = std::result::Result<T, StarPosError>;

ffi_client!(
    /// Where the phone is, and the cross-province rules (`province_at` is a top-level function).
    RegionsClient(starpos_core::clients::Regions)
);

#[uniffi::export]
impl RegionsClient {
    /// The province the phone is in now (from the location provider), if known.
    pub fn current_province(&self) -> Option<Province> {
        self.core.current_province().map(Into::into)
    }

    /// Fetches the platform's cross-province rules (registered province, location policy,
    /// applications and their review) and caches them for the payment guard.
    pub async fn refresh_cross_province(&self) -> Result<CrossProvinceStatus> {
        Ok(self.core.refresh_cross_province().await?.into())
    }

    /// The cross-province rules as last fetched (no network).
    pub fn cross_province_status(&self) -> Result<Option<CrossProvinceStatus>> {
        Ok(self.core.cross_province_status()?.map(Into::into))
    }

    /// Applies for cross-province business in `province_code` (e.g. "43") for `days` (1-90)
    /// days, with a `reason` for the reviewer; follow the review with `refresh_cross_province`.
    pub async fn apply_cross_province(
        &self,
        province_code: String,
        reason: String,
        days: u32,
    ) -> Result<CrossProvinceApplication> {
        Ok(self.core.apply_cross_province(province_code, reason, days).await?.into())
    }
}
