//! The error every StarPOS call can raise, one variant per `starpos_core::Error` variant.

use starpos_core::Error as Core;

use crate::merchant::LimitKind;
use crate::regions::Province;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum StarPosError {
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("wrong password; the account locks after {tries_left} more wrong tries")]
    WrongPassword { tries_left: u32 },
    #[error("account locked for {retry_after_secs} s (until {locked_until_unix})")]
    AccountLocked { locked_until_unix: i64, retry_after_secs: u64 },
    #[error("this device is new to the account: log in again with an SMS code")]
    DeviceVerificationRequired,
    #[error("wrong SMS code; {tries_left} more wrong tries invalidate it")]
    SmsCodeWrong { tries_left: u32 },
    #[error("the SMS code has expired: request a new one")]
    SmsCodeExpired,
    #[error("too many requests, retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("an account already exists for this phone number")]
    AccountExists,
    #[error("{limit:?} limit reached: {attempted} tried, {remaining} remaining today")]
    LimitExceeded { limit: LimitKind, attempted: i64, remaining: i64 },
    #[error("{limit:?} limit cannot exceed the platform's cap of {cap}")]
    LimitAboveCap { limit: LimitKind, requested: i64, cap: i64 },
    #[error("raising a limit needs the account password")]
    StepUpRequired,
    #[error("merchant profile not loaded: fetch it first")]
    ProfileNotLoaded,
    #[error("submit the real-name details first")]
    RealNameRequired,
    #[error("real-name details cannot change while a settlement card is bound")]
    RealNameLocked,
    #[error("a settlement card must be in the merchant's own name")]
    CardHolderMismatch,
    #[error("the bank's records do not match these card details")]
    CardDetailsMismatch,
    #[error("this card is already bound")]
    CardAlreadyBound,
    #[error("no such bound card")]
    CardNotFound,
    #[error("the card binding has expired: start again")]
    CardBindingExpired,
    #[error("the sale is settled: refund it instead of voiding")]
    VoidNotAllowed,
    #[error("the sale is not settled yet: void it instead of refunding")]
    RefundNotAllowed,
    #[error("at most {remaining_fen} fen of this sale can still be refunded")]
    RefundExceedsRemaining { remaining_fen: i64 },
    #[error("bind a settlement card before taking card payments")]
    SettlementCardRequired,
    #[error("you are in {} ({}) but registered in {} ({}): apply with apply_cross_province", here.name_en, here.code, registered.name_en, registered.code)]
    CrossProvinceNotApproved { here: Province, registered: Province },
    #[error("location required: {reason}")]
    LocationRequired { reason: String },
    #[error("the sale was cancelled; nothing was charged")]
    SaleCancelled,
    #[error("the export was cancelled")]
    ExportCancelled,
    #[error("card reader: {reason}")]
    Reader { reason: String },
    #[error("the platform does not recognise reader {serial}")]
    ReaderNotRecognised { serial: String },
    #[error("reader {serial} belongs to another merchant")]
    ReaderPairedElsewhere { serial: String },
    #[error("not logged in")]
    NotLoggedIn,
    #[error("the session has ended: log in again")]
    SessionExpired,
    #[error("the phone is offline: nothing was sent")]
    Offline,
    #[error("network problem: {reason}")]
    Network { reason: String },
    #[error("the platform's identity could not be verified")]
    UntrustedPlatform,
    #[error("platform error {code}: {detail}")]
    Platform { code: String, detail: String },
    #[error("invalid configuration: {reason}")]
    InvalidConfig { reason: String },
    #[error("secure storage failed: {reason}")]
    SecureStorage { reason: String },
    #[error("local storage failed: {reason}")]
    Storage { reason: String },
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<Core> for StarPosError {
    fn from(e: Core) -> Self {
        match e {
            Core::InvalidInput { field, reason } => Self::InvalidInput { field, reason },
            Core::WrongPassword { tries_left } => Self::WrongPassword { tries_left },
            Core::AccountLocked { locked_until_unix, retry_after_secs } => {
                Self::AccountLocked { locked_until_unix, retry_after_secs }
            }
            Core::DeviceVerificationRequired => Self::DeviceVerificationRequired,
            Core::SmsCodeWrong { tries_left } => Self::SmsCodeWrong { tries_left },
            Core::SmsCodeExpired => Self::SmsCodeExpired,
            Core::TooManyRequests { retry_after_secs } => Self::TooManyRequests { retry_after_secs },
            Core::AccountExists => Self::AccountExists,
            Core::LimitExceeded { limit, attempted, remaining } => {
                Self::LimitExceeded { limit: limit.into(), attempted, remaining }
            }
            Core::LimitAboveCap { limit, requested, cap } => {
                Self::LimitAboveCap { limit: limit.into(), requested, cap }
            }
            Core::StepUpRequired => Self::StepUpRequired,
            Core::ProfileNotLoaded => Self::ProfileNotLoaded,
            Core::RealNameRequired => Self::RealNameRequired,
            Core::RealNameLocked => Self::RealNameLocked,
            Core::CardHolderMismatch => Self::CardHolderMismatch,
            Core::CardDetailsMismatch => Self::CardDetailsMismatch,
            Core::CardAlreadyBound => Self::CardAlreadyBound,
            Core::CardNotFound => Self::CardNotFound,
            Core::CardBindingExpired => Self::CardBindingExpired,
            Core::SettlementCardRequired => Self::SettlementCardRequired,
            Core::CrossProvinceNotApproved { here, registered } => {
                Self::CrossProvinceNotApproved { here: (*here).into(), registered: (*registered).into() }
            }
            Core::LocationRequired { reason } => Self::LocationRequired { reason },
            Core::SaleCancelled => Self::SaleCancelled,
            Core::ExportCancelled => Self::ExportCancelled,
            Core::VoidNotAllowed => Self::VoidNotAllowed,
            Core::RefundNotAllowed => Self::RefundNotAllowed,
            Core::RefundExceedsRemaining { remaining_fen } => Self::RefundExceedsRemaining { remaining_fen },
            Core::Reader { reason } => Self::Reader { reason },
            Core::ReaderNotRecognised { serial } => Self::ReaderNotRecognised { serial },
            Core::ReaderPairedElsewhere { serial } => Self::ReaderPairedElsewhere { serial },
            Core::NotLoggedIn => Self::NotLoggedIn,
            Core::SessionExpired => Self::SessionExpired,
            Core::Offline => Self::Offline,
            Core::Network { reason } => Self::Network { reason },
            Core::UntrustedPlatform => Self::UntrustedPlatform,
            Core::Platform { code, detail } => Self::Platform { code, detail },
            Core::InvalidConfig { reason } => Self::InvalidConfig { reason },
            Core::SecureStorage { reason } => Self::SecureStorage { reason },
            Core::Storage { reason } => Self::Storage { reason },
            Core::Internal { reason } => Self::Internal { reason },
        }
    }
}
