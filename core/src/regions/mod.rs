//! Regions: the provincial-level divisions, which one a position is in (offline), and the
//! cross-province rules for payments (docs/regions.md).

mod boundaries;
pub mod cross_province;
pub(crate) mod provinces;

pub use boundaries::data_size;
pub(crate) use cross_province::CrossProvince;
pub use cross_province::{ApplicationStatus, CrossProvinceApplication, CrossProvinceStatus, LocationPolicy};
pub use provinces::{is_province_code, province, province_name, Province, PROVINCES};

/// The provincial-level division at a WGS-84 position (what phones' GPS reports), resolved
/// offline from the embedded boundaries; `None` outside China (abroad or at sea). Codes follow
/// GB/T 2260, so Kinmen and Matsu answer Fujian ("35").
pub fn province_at(latitude: f64, longitude: f64) -> Option<Province> {
    let code = boundaries::grid()?.code_at(latitude, longitude)?;
    province(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_places() {
        let at = |lat, lon| province_at(lat, lon).map(|p| p.code);
        assert_eq!(at(23.129, 113.264).as_deref(), Some("44"), "Guangzhou");
        assert_eq!(at(28.228, 112.939).as_deref(), Some("43"), "Changsha");
        assert_eq!(at(37.5665, 126.978), None, "Seoul");
        assert_eq!(at(f64::NAN, 113.0), None);
        assert_eq!(at(95.0, 500.0), None);
        assert_eq!(at(1e300, -1e300), None, "no overflow on absurd input");
        assert_eq!(at(f64::INFINITY, f64::NEG_INFINITY), None);
    }
}
