//! Pure validators for merchant onboarding data (mainland China).
//!
//! Every check is a pure function that never panics and never returns an
//! error for bad input: bad input yields `valid == false` plus a short
//! English `reason` that an app can show to a person. Reasons never echo the
//! input back.
//!
//! - [`check_bank_card`]: bank-card number (16–19 digits, Luhn), masked for
//!   display, with issuer bank and card kind from an embedded BIN table
//!   (`data/card_bins.csv`, see its README for sources and licence).
//! - [`check_resident_id`] / [`check_resident_id_on`]: 18-character resident
//!   identity card number (GB 11643-1999, ISO 7064 MOD 11-2).
//! - [`check_credit_code`]: 18-character Unified Social Credit Code
//!   (GB 32100-2015, MOD 31).
//! - [`check_mobile`]: mainland mobile number (optional `+86`/`86` prefix).
//! - [`check_holder_name`]: account-holder name (Chinese or Latin script).
//!
//! # Card masking rule
//!
//! Let `n` be the number of digits after removing spaces and hyphens.
//!
//! - If the input holds anything other than digits, spaces and hyphens, or
//!   if `n > 19`, `masked` is all `*`, one per remaining character, capped at
//!   19 characters: no digit is shown.
//! - With 16 to 19 digits (a card number's lengths) the first 6 (the BIN)
//!   and the last 4 digits are shown, the common display on receipts.
//! - With fewer digits, the budget is `b = (n - 1) / 2` (integer division),
//!   the largest count strictly below half of the digits: the last
//!   `min(4, b)` digits are shown, then the first `min(6, b - last)`.
//!
//! So at most 6 + 4 = 10 digits are ever shown, and a short (partly typed)
//! number never shows half of itself.

pub mod bank_card;
pub mod contact;
pub mod credit_code;
pub mod resident_id;

pub use bank_card::{check_bank_card, BankCardCheck, CardKind};
pub use contact::{check_holder_name, check_mobile, FieldCheck};
pub use credit_code::{check_credit_code, CreditCodeCheck};
pub use resident_id::{check_resident_id, check_resident_id_on, Gender, ResidentIdCheck};
