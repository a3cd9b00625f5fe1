//! Regions: the provincial-level divisions, which one a position is in (offline), and the
//! cross-province rules for payments (docs/regions.md). The table, the boundaries and the rule
//! are shared with the platform (`starpos_protocol`); the phone's side (fetching and caching the
//! rules, applications, the guard before each sale) is here.

pub mod cross_province;

pub(crate) use cross_province::CrossProvince;
pub use cross_province::{ApplicationStatus, CrossProvinceApplication, CrossProvinceStatus};
pub use starpos_protocol::boundaries::data_size;
pub use starpos_protocol::cross_province::LocationPolicy;
pub use starpos_protocol::provinces::{is_province_code, province, province_at, province_name, Province, PROVINCES};
