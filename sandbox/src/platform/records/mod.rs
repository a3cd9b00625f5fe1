//! What the platform's handlers share: reads and writes of stored records that more than one
//! resource needs (the feed, the profile, the cross-province rule, the checks on card data, QR
//! orders, paid QR payments). Handlers depend on these, on the state, auth, errors and faults,
//! and never on each other.

pub mod card_checks;
pub mod cross_province;
pub mod feed;
pub mod onboarding;
pub mod profile;
pub mod qr_orders;
pub mod qr_paid;
