//! Errors. [`Error`] is what callers see: each variant says what happened in words the app can
//! act on and carries no personal data (no phone number, no card number, no token).
//! [`InternalError`] is rich and private to the core; [`From<InternalError> for Error`] is the
//! one place that decides what each internal failure means to the app and what is logged.

use crate::secure_store::SecureStoreError;
use starpos_protocol::wire::ErrorBody;

/// Text of the rustls error a pin mismatch raises (`crate::platform::tls`), so the mapping here
/// can recognise it.
pub const PIN_FAILURE_MARKER: &str = "starpos: platform key not pinned";

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The public error of every core operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field the app passed is not acceptable; `field` names it, `reason` says why.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// The password did not match; after `tries_left` more failures the account locks.
    #[error("wrong password; the account locks after {tries_left} more wrong tries")]
    WrongPassword { tries_left: u32 },
    /// Too many wrong passwords: no login until `locked_until_unix` (seconds since the epoch,
    /// platform time), that is for `retry_after_secs` from now.
    #[error("account locked for {retry_after_secs} s (until {locked_until_unix})")]
    AccountLocked { locked_until_unix: i64, retry_after_secs: u64 },
    /// This phone is not yet bound to the account: request an SMS code for `SmsPurpose::Login`
    /// and log in again with it.
    #[error("this device is new to the account: log in again with an SMS code")]
    DeviceVerificationRequired,
    /// The SMS code is wrong; `tries_left` more tries before the code is invalidated.
    #[error("wrong SMS code; the code is invalidated after {tries_left} more wrong tries")]
    SmsCodeWrong { tries_left: u32 },
    /// The SMS code has expired, was used up by wrong tries, or none was requested: ask for a new one.
    #[error("the SMS code has expired: request a new one")]
    SmsCodeExpired,
    /// The platform asks us to slow down; try again after `retry_after_secs`.
    #[error("too many requests, retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// An account already exists for this phone number: log in instead.
    #[error("an account already exists for this phone number")]
    AccountExists,
    /// A payment would break a daily limit: `limit` says which, `attempted` is the amount in fen
    /// (or 1 use, for the per-card count), `remaining` what is still allowed today.
    #[error("{limit} limit reached: {} tried, {} left today", limit.amount(*attempted), limit.amount(*remaining))]
    LimitExceeded { limit: crate::limits::kind::LimitKind, attempted: i64, remaining: i64 },
    /// A requested limit is above the platform's cap for this merchant.
    #[error("the {limit} limit cannot exceed the platform's cap of {}", limit.amount(*cap))]
    LimitAboveCap { limit: crate::limits::kind::LimitKind, requested: i64, cap: i64 },
    /// Raising a limit needs the account password again (step-up).
    #[error("raising a limit needs the account password")]
    StepUpRequired,
    /// A void is only possible on the sale's business day, before settlement: refund instead.
    #[error("the sale is settled: refund it instead of voiding")]
    VoidNotAllowed,
    /// A refund is only possible once the sale is settled: void it today instead.
    #[error("the sale is not settled yet: void it instead of refunding")]
    RefundNotAllowed,
    /// A refund above what remains of the sale; `remaining_fen` may still be refunded.
    #[error("at most {} yuan of this sale can still be refunded", crate::money::yuan(*remaining_fen))]
    RefundExceedsRemaining { remaining_fen: i64 },
    /// The wallet's rules refuse this refund of a QR payment: past its window (WeChat Pay 1
    /// year, Alipay 3 months), too many refunds of one payment (WeChat Pay 50), or too soon
    /// after the last (WeChat Pay: a minute apart; retry after `retry_after_secs`). `reason`
    /// says which. Nothing was refunded.
    #[error("the wallet refuses this refund: {reason}")]
    WalletRefundRefused { reason: String, retry_after_secs: u64 },
    /// A void or refund of this sale is still unanswered (the network failed after it was
    /// sent): repeat that one (it never applies twice) until it is answered, then start another.
    #[error("a {kind} of {} yuan of this sale is still unanswered: repeat it before starting another", crate::money::yuan(*amount_fen))]
    AdjustmentUnanswered { kind: String, amount_fen: i64 },
    /// Card payments need a bound settlement card (the money has to go somewhere): bind one.
    #[error("bind a settlement card before taking card payments")]
    SettlementCardRequired,
    /// The phone is in another province than the merchant's registered one, and cross-province
    /// business there is not approved: apply with `apply_cross_province(here.code, ...)` and sell
    /// once approved. Nothing was charged; the card was not read.
    #[error(
        "you are in {} ({}) but registered in {} ({}): cross-province business there needs approval; apply with apply_cross_province",
        here.name_en, here.code, registered.name_en, registered.code
    )]
    CrossProvinceNotApproved {
        here: Box<starpos_protocol::provinces::Province>,
        registered: Box<starpos_protocol::provinces::Province>,
    },
    /// The platform needs to know where a payment happens and the position is unknown
    /// (`reason`: no fix, or outside China's provinces). Turn location on; nothing was charged.
    #[error("location required: {reason}")]
    LocationRequired { reason: String },
    /// The merchant cancelled the sale before its authorisation was sent: nothing was charged.
    #[error("the sale was cancelled; nothing was charged")]
    SaleCancelled,
    /// The app cancelled an export; no file was left behind.
    #[error("the export was cancelled")]
    ExportCancelled,
    /// The sync was cancelled; what it had brought in so far is kept (it resumes next time).
    #[error("the sync was cancelled; it resumes where it stopped")]
    SyncCancelled,
    // Reader failures. During a sale each one means nothing was charged (the card or PIN never
    // reached the platform); the app may simply try again. Mapped from the reader's own errors
    // in `crate::reader::failure`.
    /// No card was presented in time: ask the customer to insert, tap or swipe again.
    #[error("no card was presented in time")]
    NoCard,
    /// The card could not be read the ways this payment allows: try another way or card.
    #[error("the card could not be read")]
    CardUnreadable,
    /// The card was taken out before the reader was done: insert it again and leave it in.
    #[error("the card was removed too early")]
    CardRemoved,
    /// The customer did not enter the PIN in time.
    #[error("the customer did not enter the PIN in time")]
    PinTimeout,
    /// The customer pressed cancel on the PIN pad.
    #[error("the customer cancelled the PIN entry")]
    PinCancelled,
    /// The customer (or the phone) cancelled on the reader before the PIN.
    #[error("cancelled on the reader")]
    CancelledOnReader,
    /// The reader is busy with another operation (a firmware update, another card read).
    #[error("the reader is busy: wait for it to finish")]
    ReaderBusy,
    /// The reader refused the command (`status` is its protocol status).
    #[error("the reader refused the command ({status})")]
    ReaderDeclined { status: String },
    /// The Bluetooth link to the reader dropped (the core reconnects by itself).
    #[error("the Bluetooth link to the reader was lost")]
    LinkLost,
    /// The reader did not answer in time.
    #[error("the reader did not answer in time")]
    ReaderTimeout,
    /// The reader sent something unreadable.
    #[error("the reader sent something unreadable")]
    ReaderBadResponse,
    /// Bluetooth is off or not permitted: turn it on, or grant the app the permission.
    #[error("Bluetooth is off or not permitted")]
    BluetoothUnavailable,
    /// No reader with this id or serial number is in range: switch it on and bring it closer.
    #[error("the reader is not in range")]
    ReaderNotFound,
    /// The shell's Bluetooth stack failed (`reason` is its words).
    #[error("Bluetooth error: {reason}")]
    Bluetooth { reason: String },
    /// The reader answering is not the paired one: its identity does not match the pinned key.
    /// Do not use it; pair again only if the merchant replaced the reader.
    #[error("the reader's identity does not match the paired reader")]
    ReaderIdentityMismatch,
    /// A scanned text is not a wallet's payment code (`reason` says what it is instead): ask
    /// the customer to show the payment code of WeChat Pay, Alipay or UnionPay.
    #[error("not a payment code: {reason}")]
    InvalidPaymentCode { reason: String },
    /// A merchant-presented QR payload is malformed: a wrong CRC, a length that runs past the
    /// end, a missing or invalid mandatory field (`reason` names it). Do not show or pay it.
    #[error("invalid merchant QR: {reason}")]
    InvalidMerchantQr { reason: String },
    /// The reader does not accept this phone: the platform's certificate for it is missing,
    /// from an earlier pairing (the reader has since been paired again), or for another reader.
    /// `readers().connect` pairs again once by itself; if this still comes, pair the reader again
    /// from this phone.
    #[error("the reader does not accept this phone: pair the reader again from this phone")]
    ReaderRefusedPhone,
    /// The reader has a secure session open with another phone (or another app on this one):
    /// disconnect it there first.
    #[error("the reader is in use by another phone: disconnect it there first")]
    ReaderInUse,
    /// The secure session with the reader broke (`reason`); reconnect.
    #[error("secure session with the reader failed: {reason}")]
    ReaderSession { reason: String },
    /// The reader's result broke a rule (clear card data, another amount, not this request):
    /// it was discarded and nothing was charged.
    #[error("card data refused: {reason}")]
    CardDataRefused { reason: String },
    /// The reader that answered has another serial number than the one asked for.
    #[error("the reader answering is {found}, not {expected}")]
    WrongReader { expected: String, found: String },
    /// The firmware image is not signed by the platform's firmware key.
    #[error("the firmware image is not signed by the platform")]
    FirmwareUnsigned,
    /// The reader rejected the firmware image after the transfer.
    #[error("the reader rejected the firmware image")]
    FirmwareRejected,
    /// The reader's battery is too low for a firmware update: charge it or plug it in.
    #[error("battery at {percent}%: charge the reader or plug it in")]
    ReaderBatteryLow { percent: u8 },
    /// The merchant profile (fees, limits) is not on this device yet: fetch it once online.
    #[error("merchant profile not loaded: fetch it first")]
    ProfileNotLoaded,
    /// Real-name details must be submitted before a settlement card can be bound.
    #[error("submit the real-name details first")]
    RealNameRequired,
    /// Real-name details cannot change while a settlement card is bound.
    #[error("real-name details cannot change while a settlement card is bound")]
    RealNameLocked,
    /// A settlement card must be in the merchant's own name (the real-name holder and ID).
    #[error("a settlement card must be in the merchant's own name")]
    CardHolderMismatch,
    /// The bank's records do not match the card number, holder, ID number and reserved phone
    /// (the bank does not say which).
    #[error("the bank's records do not match these card details")]
    CardDetailsMismatch,
    #[error("this card is already bound")]
    CardAlreadyBound,
    #[error("no such bound card")]
    CardNotFound,
    /// The card binding waited too long for its SMS code (or is unknown): start again.
    #[error("the card binding has expired: start again")]
    CardBindingExpired,
    /// The platform knows no reader with this serial number: check the label on the reader.
    #[error("the platform does not recognise reader {serial}")]
    ReaderNotRecognised { serial: String },
    /// No reader with this serial is paired on this phone for the merchant: pair it first.
    #[error("reader {serial} is not paired with this phone: pair it first")]
    ReaderNotPaired { serial: String },
    /// The reader is registered to another merchant: it must be released there first.
    #[error("reader {serial} belongs to another merchant")]
    ReaderPairedElsewhere { serial: String },
    /// No one is logged in on this device.
    #[error("not logged in")]
    NotLoggedIn,
    /// The session ended on the platform (logged out elsewhere, revoked, or refresh token reused):
    /// log in again. The local session has been cleared.
    #[error("the session has ended: log in again")]
    SessionExpired,
    /// The app reported that the phone has no network: nothing was sent. Non-money requests
    /// are queued (see docs/network.md); payments wait for the network.
    #[error("the phone is offline: nothing was sent")]
    Offline,
    /// The platform could not be reached or did not answer in time. Nothing was changed on the
    /// platform unless the operation says otherwise; it is safe to retry.
    #[error("network problem: {reason}")]
    Network { reason: String },
    /// The platform's certificate is not trusted or its key is not one of the pinned keys:
    /// someone may be intercepting the connection. Do not retry on this network.
    #[error("the platform's identity could not be verified")]
    UntrustedPlatform,
    /// The platform refused the request with a stable `code` (see docs/platform-api.md).
    #[error("platform error {code}: {detail}")]
    Platform { code: String, detail: String },
    /// The configuration given to `StarPos` cannot work; `reason` says what to fix.
    #[error("invalid configuration: {reason}")]
    InvalidConfig { reason: String },
    /// The phone's secure storage (Keystore / Keychain) failed.
    #[error("secure storage failed: {reason}")]
    SecureStorage { reason: String },
    /// The local database failed (disk full, corrupt, newer than this app).
    #[error("local storage failed: {reason}")]
    Storage { reason: String },
    /// A bug in StarPOS; please report it with the logs.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

/// Everything that can go wrong inside the core, with its source kept for logs.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("platform answered {status}: {}", body.code)]
    Platform { status: u16, body: Box<ErrorBody> },
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("pinned key mismatch")]
    PinMismatch,
    #[error("unexpected response: {0}")]
    BadResponse(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this app's {supported}")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("secure store: {0}")]
    SecureStore(#[from] SecureStoreError),
    #[error("task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Public(#[from] Error),
}

impl From<starpos_protocol::signature::SignatureError> for Error {
    fn from(e: starpos_protocol::signature::SignatureError) -> Self {
        Error::invalid("signature", e.0)
    }
}

impl From<InternalError> for Error {
    fn from(e: InternalError) -> Self {
        use InternalError as I;
        match e {
            I::Public(e) => e,
            I::Platform { body, .. } => from_platform(*body),
            I::Http(e) => {
                if is_untrusted_platform(&e) {
                    tracing::warn!(error = %e, "platform identity check failed");
                    return Error::UntrustedPlatform;
                }
                tracing::info!(error = %e, "network failure");
                let reason = if e.is_timeout() {
                    "the platform did not answer in time".to_string()
                } else if e.is_connect() {
                    "could not connect to the platform".to_string()
                } else {
                    "the connection to the platform failed".to_string()
                };
                Error::Network { reason }
            }
            I::PinMismatch => Error::UntrustedPlatform,
            I::BadResponse(what) => {
                tracing::warn!(%what, "unexpected platform response");
                Error::Platform { code: "bad_response".into(), detail: what }
            }
            I::Sqlite(e) => {
                tracing::error!(error = %e, "sqlite failure");
                Error::Storage { reason: e.to_string() }
            }
            e @ I::SchemaTooNew { .. } => Error::Storage { reason: e.to_string() },
            I::Io(e) => {
                tracing::error!(error = %e, "io failure");
                Error::Storage { reason: e.to_string() }
            }
            I::Json(e) => {
                tracing::error!(error = %e, "json failure");
                Error::Internal { reason: "could not decode stored or received data".into() }
            }
            I::SecureStore(e) => {
                tracing::error!(error = %e, "secure store failure");
                Error::SecureStorage { reason: e.to_string() }
            }
            I::Task(reason) => {
                tracing::error!(%reason, "core task failed");
                Error::Internal { reason }
            }
        }
    }
}

/// The platform's stable error codes (docs/platform-api.md) as public errors.
fn from_platform(body: ErrorBody) -> Error {
    match body.code.as_str() {
        "invalid_credentials" => Error::WrongPassword { tries_left: body.tries_left.unwrap_or(0) },
        "account_locked" => Error::AccountLocked {
            locked_until_unix: body.locked_until.unwrap_or(0),
            retry_after_secs: body.retry_after.unwrap_or(0),
        },
        "device_verification_required" => Error::DeviceVerificationRequired,
        "sms_code_invalid" => Error::SmsCodeWrong { tries_left: body.tries_left.unwrap_or(0) },
        "sms_code_expired" => Error::SmsCodeExpired,
        "rate_limited" => Error::TooManyRequests { retry_after_secs: body.retry_after.unwrap_or(60) },
        "account_exists" => Error::AccountExists,
        "invalid_request" | "password_rule" | "phone_invalid" | "account_not_found" | "this_device"
        | "device_not_found" => {
            Error::InvalidInput { field: body.field.unwrap_or_else(|| "request".into()), reason: body.message }
        }
        "step_up_required" => Error::StepUpRequired,
        "real_name_required" => Error::RealNameRequired,
        "real_name_locked" => Error::RealNameLocked,
        "card_holder_mismatch" => Error::CardHolderMismatch,
        "card_elements_mismatch" => Error::CardDetailsMismatch,
        "card_already_bound" => Error::CardAlreadyBound,
        "card_not_found" => Error::CardNotFound,
        "binding_expired" => Error::CardBindingExpired,
        "void_not_allowed" => Error::VoidNotAllowed,
        "refund_not_allowed" => Error::RefundNotAllowed,
        "refund_exceeds_remaining" => Error::RefundExceedsRemaining { remaining_fen: body.cap.unwrap_or(0) },
        "refund_window_passed" | "too_many_refunds" | "refund_too_soon" => {
            Error::WalletRefundRefused { reason: body.message, retry_after_secs: body.retry_after.unwrap_or(0) }
        }
        "reader_unknown" => Error::ReaderNotRecognised { serial: body.field.unwrap_or_default() },
        "reader_paired_elsewhere" => Error::ReaderPairedElsewhere { serial: body.field.unwrap_or_default() },
        "step_up_failed" => Error::invalid("password", body.message),
        "limit_exceeded" => Error::LimitExceeded {
            limit: limit_kind(body.field.as_deref()),
            // The platform names what remains; the sale fills in what it tried.
            attempted: 0,
            remaining: body.cap.unwrap_or(0),
        },
        "reader_mac_invalid" | "cryptogram_invalid" | "card_read_replayed" | "chip_required" | "reader_not_paired" => {
            Error::CardDataRefused { reason: body.message }
        }
        "limit_above_cap" => Error::LimitAboveCap {
            limit: limit_kind(body.field.as_deref()),
            // The platform names the cap; the caller fills in what was requested.
            requested: 0,
            cap: body.cap.unwrap_or(0),
        },
        "cross_province_not_approved" => {
            let named = |code: Option<String>| {
                let code = code.unwrap_or_default();
                Box::new(starpos_protocol::provinces::province(&code).unwrap_or(
                    starpos_protocol::provinces::Province { name: code.clone(), name_en: code.clone(), code },
                ))
            };
            Error::CrossProvinceNotApproved { here: named(body.province), registered: named(body.registered_province) }
        }
        "location_required" => Error::LocationRequired { reason: body.message },
        "session_revoked" | "refresh_token_reused" | "unauthorized" | "session_expired" => Error::SessionExpired,
        _ => Error::Platform { code: body.code, detail: body.message },
    }
}

/// The limit a platform refusal names in its `field`.
fn limit_kind(field: Option<&str>) -> crate::limits::kind::LimitKind {
    match field {
        Some("per_txn_fen") => crate::limits::kind::LimitKind::PerTransaction,
        Some("per_card_daily_count") => crate::limits::kind::LimitKind::PerCardDailyCount,
        _ => crate::limits::kind::LimitKind::DailyTotal,
    }
}

/// Whether the TLS handshake refused the platform's identity (unknown issuer, bad certificate,
/// or our pin check). rustls's error sits deep in reqwest's source chain, wrapped in `io::Error`s
/// whose `source()` skips it, so each level is unwrapped by hand.
fn is_untrusted_platform(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        match tls_error(s) {
            Some(rustls::Error::InvalidCertificate(_)) => return true,
            Some(rustls::Error::General(text)) if text == PIN_FAILURE_MARKER => return true,
            _ => {}
        }
        source = s.source();
    }
    false
}

/// The rustls error at `e`, looking through any nesting of `io::Error`s.
fn tls_error<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        e = inner;
    }
}

impl Error {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Error::InvalidInput { field: field.into(), reason: reason.into() }
    }

    /// A failure of the moment, not of the request: no network, no answer, the platform busy or
    /// failing, an answer that could not be read. The same request may well succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Offline | Error::TooManyRequests { .. } => true,
            Error::Platform { code, .. } => {
                matches!(code.as_str(), "unavailable" | "internal" | "bad_response" | "http_status")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `error` is a leaf: every module it names is a file that does not name `crate::error`
    /// back (so no domain can make the error depend on itself).
    #[test]
    fn the_error_module_imports_nothing_that_imports_it() {
        let this = include_str!("error.rs");
        let leaves: [(&str, &str); 3] = [
            ("crate::money", include_str!("money.rs")),
            ("crate::secure_store", include_str!("secure_store.rs")),
            ("crate::limits::kind", include_str!("limits/kind.rs")),
        ];
        let code_of = |text: &str| -> String {
            let code: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
            code.join("\n")
        };
        let code = code_of(this);
        let code = &code[..code.find("#[cfg(test)]").unwrap_or(code.len())];
        for (at, _) in code.match_indices("crate::") {
            let path: String =
                code[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            assert!(leaves.iter().any(|(leaf, _)| path.starts_with(leaf)), "error names {path}, not a known leaf");
        }
        for (leaf, text) in leaves {
            assert!(!code_of(text).contains("crate::error"), "{leaf} imports crate::error: a cycle");
        }
    }

    #[test]
    fn transient_failures_are_told_from_refusals() {
        for e in [
            Error::Offline,
            Error::Network { reason: "x".into() },
            Error::TooManyRequests { retry_after_secs: 1 },
            Error::Platform { code: "unavailable".into(), detail: String::new() },
            Error::Platform { code: "bad_response".into(), detail: String::new() },
        ] {
            assert!(e.is_transient(), "{e:?}");
        }
        for e in [
            Error::invalid("reason", "too short"),
            Error::SessionExpired,
            Error::Platform { code: "idempotency_conflict".into(), detail: String::new() },
        ] {
            assert!(!e.is_transient(), "{e:?}");
        }
    }
}
