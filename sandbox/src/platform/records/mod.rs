//! What the platform's handlers share: reads and writes of stored records that more than one
//! resource needs (the feed, the profile, the cross-province rule, the checks on card data, QR
//! orders, paid QR payments). Handlers depend on these, on the state, auth, errors and faults,
//! and never on each other.

/// An idempotency (or adjustment) key as the phone makes them: 16 to 64 letters, digits or
/// hyphens.
pub fn key_ok(key: &str) -> bool {
    (16..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub mod adjustments;
pub mod card_checks;
pub mod cross_province;
pub mod feed;
pub mod onboarding;
pub mod profile;
pub mod qr_orders;
pub mod qr_paid;
pub mod receipts;
