//! The onboarding checks as top-level functions: pure, synchronous, never raising, so an app
//! can check a form field on every keystroke.

use starpos_core::onboarding as core;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CardKind {
    Debit,
    Credit,
    Prepaid,
    Unknown,
}

impl From<core::CardKind> for CardKind {
    fn from(k: core::CardKind) -> Self {
        match k {
            core::CardKind::Debit => CardKind::Debit,
            core::CardKind::Credit => CardKind::Credit,
            core::CardKind::Prepaid => CardKind::Prepaid,
            core::CardKind::Unknown => CardKind::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Gender {
    Female,
    Male,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BankCardCheck {
    pub valid: bool,
    /// First 6 and last 4 digits at most, `*` for the rest.
    pub masked: String,
    pub issuer_bank: Option<String>,
    pub card_kind: CardKind,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ResidentIdCheck {
    pub valid: bool,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub region_code: Option<String>,
    pub gender: Option<Gender>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CreditCodeCheck {
    pub valid: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldCheck {
    pub valid: bool,
    pub reason: Option<String>,
}

/// A settlement-card number: 16 to 19 digits (spaces ignored), Luhn, issuer and kind by BIN.
#[uniffi::export]
pub fn check_bank_card(number: String) -> BankCardCheck {
    let c = core::check_bank_card(&number);
    BankCardCheck {
        valid: c.valid,
        masked: c.masked,
        issuer_bank: c.issuer_bank,
        card_kind: c.card_kind.into(),
        reason: c.reason,
    }
}

/// An 18-character PRC resident identity number (GB 11643, ISO 7064 MOD 11-2).
#[uniffi::export]
pub fn check_resident_id(number: String) -> ResidentIdCheck {
    let c = core::check_resident_id(&number);
    ResidentIdCheck {
        valid: c.valid,
        birth_date: c.birth_date,
        region_code: c.region_code,
        gender: c.gender.map(|g| match g {
            core::Gender::Female => Gender::Female,
            core::Gender::Male => Gender::Male,
        }),
        reason: c.reason,
    }
}

/// An 18-character Unified Social Credit Code (GB 32100-2015).
#[uniffi::export]
pub fn check_credit_code(code: String) -> CreditCodeCheck {
    let c = core::check_credit_code(&code);
    CreditCodeCheck { valid: c.valid, reason: c.reason }
}

/// A mainland mobile number (a leading +86 is accepted).
#[uniffi::export]
pub fn check_mobile(phone: String) -> FieldCheck {
    field(core::check_mobile(&phone))
}

/// An account holder's name: Chinese (with the middle dot of minority names) or Latin.
#[uniffi::export]
pub fn check_holder_name(name: String) -> FieldCheck {
    field(core::check_holder_name(&name))
}

fn field(c: core::FieldCheck) -> FieldCheck {
    FieldCheck { valid: c.valid, reason: c.reason }
}
