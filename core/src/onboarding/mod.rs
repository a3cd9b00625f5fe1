//! Merchant onboarding: the checks an app runs while the merchant types (bank card, resident
//! ID, business licence credit code, phone, holder name). Profile, settlement-card binding,
//! fees and limits build on these.

mod cards;
pub(crate) use cards::Cards;
pub use cards::{CardElements, PendingCardBinding, RealName, SettlementCard};
/// The form checks, shared with the platform (which applies the same rules to what it receives).
pub use starpos_protocol::checks;
/// The fee rule, shared with the platform.
pub use starpos_protocol::fees;
mod merchant;
pub(crate) use merchant::Merchant;
pub use merchant::{FeeQuote, MerchantProfile};

pub use checks::{
    check_bank_card, check_credit_code, check_holder_name, check_mobile, check_resident_id, BankCardCheck, CardKind,
    CreditCodeCheck, FieldCheck, Gender, ResidentIdCheck,
};
