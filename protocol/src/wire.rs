//! JSON bodies of the platform API (docs/platform-api.md). The sandbox serves exactly these
//! types, so the document, the client and the server cannot drift apart silently.

use serde::{Deserialize, Serialize};

/// Header carrying the platform's clock (unix seconds) on every response.
pub const HEADER_SERVER_TIME: &str = "x-starpos-server-time";
/// Signed-request headers (see [`crate::signing`]).
pub const HEADER_TIMESTAMP: &str = "x-starpos-timestamp";
pub const HEADER_NONCE: &str = "x-starpos-nonce";
pub const HEADER_SIGNATURE: &str = "x-starpos-signature";

/// Every error response: a stable `code` and an English `message`, plus the fields that some
/// codes carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// With `limit_above_cap`: the platform's cap for the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<i64>,
    /// With `cross_province_not_approved`: the province the sale was in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// With `cross_province_not_approved`: the merchant's registered province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_province: Option<String>,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            field: None,
            tries_left: None,
            locked_until: None,
            retry_after: None,
            cap: None,
            province: None,
            registered_province: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsPurposeWire {
    Register,
    Login,
    ResetPassword,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsRequest {
    pub phone: String,
    pub purpose: SmsPurposeWire,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsResponse {
    pub expires_in: u64,
    pub resend_after: u64,
}

/// No `Debug`: it holds a secret, and a `{:?}` in a log line must not print it.
#[derive(Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub phone: String,
    pub password: String,
    pub sms_code: String,
    pub device_id: String,
}

/// No `Debug`: it holds a secret, and a `{:?}` in a log line must not print it.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
    pub device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_code: Option<String>,
}

/// No `Debug`: it holds a secret, and a `{:?}` in a log line must not print it.
#[derive(Clone, Serialize, Deserialize)]
pub struct RefreshRequest {
    pub refresh_token: String,
    pub device_id: String,
}

/// Answer to register, login and refresh. The tokens and the signing key are secrets: they go
/// to the phone's secure storage and nowhere else.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub merchant_id: String,
    pub phone_masked: String,
    pub access_token: String,
    /// Seconds from now until the access token expires.
    pub access_expires_in: u64,
    pub refresh_token: String,
    /// Base64 HMAC-SHA256 key for signing requests in this session.
    pub signing_key: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("merchant_id", &self.merchant_id)
            .field("access_expires_in", &self.access_expires_in)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeResponse {
    pub merchant_id: String,
    pub phone_masked: String,
    pub device_count: u32,
    pub registered_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Empty {}

/// A fee rate for one channel and card kind, in basis points, with an optional cap per
/// transaction (debit cards are typically capped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRateWire {
    /// `card` or `qr`.
    pub channel: String,
    /// `debit`, `credit`, `prepaid`, `unknown` (for `qr`: `any`).
    pub card_kind: String,
    pub rate_bp: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_fen: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeScheduleWire {
    pub rates: Vec<FeeRateWire>,
    /// Added to the rate when the merchant settles D0 (same day) instead of T+1.
    pub d0_surcharge_bp: u32,
}

/// Daily limits, merchant-set or the platform's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsWire {
    pub daily_total_fen: i64,
    pub per_txn_fen: i64,
    pub per_card_daily_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantProfileWire {
    pub merchant_id: String,
    /// 8 digits.
    pub terminal_id: String,
    pub merchant_name: String,
    /// Two-digit GB/T 2260 province code, e.g. "44".
    pub registered_province: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// `t1` or `d0`.
    pub settlement_cycle: String,
    pub fees: FeeScheduleWire,
    pub caps: LimitsWire,
    pub limits: LimitsWire,
    /// Real-name details accepted by the platform.
    #[serde(default)]
    pub real_name_verified: bool,
    /// The holder's name with all but the last character hidden, e.g. `*三`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_name_masked: Option<String>,
    /// The cross-province rules, sent with the profile so the first sale needs no extra fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_province: Option<CrossProvinceWire>,
    /// What the merchant's approved payments on all devices and channels add up to today (the
    /// figure the platform enforces the daily total against); with `GET /v1/merchant/profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_today: Option<UsageWire>,
}

/// A business day's use of the daily total on all of the merchant's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageWire {
    /// `YYYY-MM-DD`, China Standard Time.
    pub business_day: String,
    pub used_fen: i64,
}

/// No `Debug`: it holds a secret, and a `{:?}` in a log line must not print it.
#[derive(Clone, Serialize, Deserialize)]
pub struct SetLimitsRequest {
    pub limits: LimitsWire,
    /// Step-up: the account password, needed when any limit goes up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeQuoteWire {
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub rate_bp: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_fen: Option<i64>,
}

/// Real-name details. Carries the full ID number once, to the platform: Debug hides it.
#[derive(Clone, Serialize, Deserialize)]
pub struct RealNameRequest {
    pub holder_name: String,
    pub id_number: String,
    pub merchant_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
}

impl std::fmt::Debug for RealNameRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealNameRequest").field("merchant_name", &self.merchant_name).finish_non_exhaustive()
    }
}

/// The four elements of a settlement card. Full card and ID numbers travel to the platform once
/// over TLS and are never stored on the phone: Debug hides them.
#[derive(Clone, Serialize, Deserialize)]
pub struct BindCardRequest {
    pub card_number: String,
    pub holder_name: String,
    pub id_number: String,
    pub reserved_phone: String,
}

impl std::fmt::Debug for BindCardRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindCardRequest").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindCardStarted {
    pub bind_id: String,
    pub card_masked: String,
    /// The phone reserved at the bank, masked; the SMS code went there.
    pub phone_masked: String,
    pub expires_in: u64,
}

/// No `Debug`: it holds a secret, and a `{:?}` in a log line must not print it.
#[derive(Clone, Serialize, Deserialize)]
pub struct BindCardConfirm {
    pub bind_id: String,
    pub sms_code: String,
}

/// A bound settlement card: masked number only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementCardWire {
    pub card_id: String,
    pub masked: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_bank: Option<String>,
    pub card_kind: String,
    pub is_default: bool,
    pub bound_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardsResponse {
    pub cards: Vec<SettlementCardWire>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardIdRequest {
    pub card_id: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct UnbindCardRequest {
    pub card_id: String,
    /// Step-up: the account password.
    pub password: String,
}

impl std::fmt::Debug for UnbindCardRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnbindCardRequest").field("card_id", &self.card_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettlementRequest {
    /// `t1` or `d0`.
    pub cycle: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairReaderRequest {
    pub serial: String,
    /// The phone's Ed25519 public key (hex) for the platform to certify on this reader; absent
    /// on a release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_key: Option<String>,
}

/// The platform's word on a reader: its serial number belongs to this identity key (Ed25519,
/// hex). The phone pins the key at first pairing; every later handshake must prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedReaderWire {
    pub serial: String,
    pub model: String,
    pub identity_public: String,
    pub paired_at: i64,
    /// The platform's certificate (hex) that lets this phone's key open sessions with the
    /// reader (`reader::phone_cert`); the reader checks it in every handshake.
    pub phone_certificate: String,
}

/// An online card authorisation. Carries only what the reader encrypted; `Debug` shows no blob.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// Made and journalled by the phone before the first send; the same key on every retry.
    pub idempotency_key: String,
    pub amount_fen: i64,
    /// `swipe`, `insert` or `tap`.
    pub entry_mode: String,
    pub masked_pan: String,
    /// Hex of the DUKPT key serial number.
    pub ksn: String,
    /// Hex of track 2 under the DUKPT data key.
    pub encrypted_track2: String,
    /// Hex of the ISO 9564 format-4 PIN block under the DUKPT PIN key, when a PIN was entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_block: Option<String>,
    /// Hex of ISO 8583 field 55 (allow-listed EMV tags); empty for a swipe.
    pub field55: String,
    /// Hex of the card read's nonce (the phone's, echoed by the reader under its MAC).
    pub nonce: String,
    /// A fallback swipe after the chip could not be read (the reader's MAC covers it).
    #[serde(default)]
    pub fallback: bool,
    /// Hex of the reader's MAC over the card result (`reader::card::mac_input`), checked by the
    /// platform with the DUKPT key of `ksn`.
    pub reader_mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where the sale happened, when the phone knew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationWire>,
}

/// A position in micro-degrees (WGS-84) with its accuracy in metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationWire {
    pub latitude_e6: i32,
    pub longitude_e6: i32,
    pub accuracy_m: u32,
}

impl LocationWire {
    /// Latitude and longitude in degrees, as the cross-province rule takes them.
    pub fn degrees(&self) -> (f64, f64) {
        (f64::from(self.latitude_e6) / 1e6, f64::from(self.longitude_e6) / 1e6)
    }
}

/// The customer's signature on a payment: base64 of the compressed strokes
/// (`protocol/src/signature.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureUpload {
    pub strokes: String,
}

/// A void or refund of a QR payment as the platform applied it: the sale's refunds so far
/// include it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrAdjustmentWire {
    pub adjustment_key: String,
    /// The sale's key.
    pub payment_key: String,
    /// `void` or `refund`.
    pub kind: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
}

/// Settles an adjustment whose answer was lost: `found` when the platform has it (it stands);
/// otherwise the platform will never apply that key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentSettled {
    pub found: bool,
}

impl std::fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("idempotency_key", &self.idempotency_key)
            .field("amount_fen", &self.amount_fen)
            .field("entry_mode", &self.entry_mode)
            .field("masked_pan", &self.masked_pan)
            .finish_non_exhaustive()
    }
}

/// The platform's record of a card payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentWire {
    pub idempotency_key: String,
    /// `approved`, `declined` or `reversed`.
    pub status: String,
    /// ISO 8583 field 39: `00` approved, `51` insufficient funds, `55` wrong PIN, `54` expired,
    /// `05` do not honour, `14` invalid card.
    pub response_code: String,
    pub message: String,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub masked_pan: String,
    pub card_kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_bank: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    /// Retrieval reference number (12 digits).
    pub reference_number: String,
    pub batch_number: String,
    pub voucher_number: String,
    /// Hex BER-TLV for the card: issuer authentication data (91) and scripts; may be empty.
    pub issuer_data: String,
    pub processed_at: i64,
    /// Refunded so far (refunds after settlement; a void instead sets `status` to `voided`).
    #[serde(default)]
    pub refunded_fen: i64,
    /// A fallback swipe (the chip could not be read): approved, and flagged for the issuer.
    #[serde(default)]
    pub fallback: bool,
    /// The e-receipt's unguessable token (the page is `{platform}/r/{token}`), once there is
    /// something to show a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReverseRequest {
    /// `timeout`, `chip_declined`, `cancelled`, `recovery`.
    pub reason: String,
}

/// The answer to a reversal: the payment as it now stands, or `found: false` when the platform
/// never saw the key (it then refuses that key for good, so a late request cannot be approved).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReverseResponse {
    pub found: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentWire>,
}

/// A void (same business day, before settlement) or a refund (after settlement, up to what
/// remains). Both need the account password.
#[derive(Clone, Serialize, Deserialize)]
pub struct AdjustmentRequest {
    /// Made and journalled by the phone before the first send; the same on every retry.
    pub adjustment_key: String,
    /// For a refund; a void takes the whole payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    pub password: String,
}

impl std::fmt::Debug for AdjustmentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdjustmentRequest")
            .field("adjustment_key", &self.adjustment_key)
            .field("amount_fen", &self.amount_fen)
            .finish_non_exhaustive()
    }
}

/// One money event on the platform (a sale's outcome, a reversal, a void, a refund), as
/// history sync delivers it, in the platform's order (`seq`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionWire {
    pub seq: i64,
    /// The payment's idempotency key; a void's or refund's adjustment key; `{key}:r` for a
    /// reversal.
    pub id: String,
    /// `sale`, `void`, `refund` or `reversal`.
    pub kind: String,
    /// `approved` or `declined`.
    pub status: String,
    /// `card` (QR later).
    pub channel: String,
    pub card_kind: String,
    /// `YYYY-MM-DD`, China time.
    pub business_day: String,
    pub at: i64,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher_number: Option<String>,
    /// The sale a void, refund or reversal belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Where a sale was made (GB/T 2260 code), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
}

/// `GET /v1/transactions?after=SEQ&limit=N` (or `?day=YYYY-MM-DD` for one business day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionsPage {
    pub items: Vec<TransactionWire>,
    /// Pass as `after` for the next page.
    pub next_after: i64,
    pub more: bool,
}

/// One settlement batch: a business day's net for the merchant and what the platform paid to
/// the settlement card (T+1: the next day; D0: the same day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementWire {
    pub business_day: String,
    /// `t1` or `d0`.
    pub cycle: String,
    pub transactions: u32,
    pub expected_net_fen: i64,
    pub paid_fen: i64,
    /// When it was paid; `None` while the batch is not yet due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementsResponse {
    pub settlements: Vec<SettlementWire>,
}

/// `GET v1/merchant/cross-province`: the rules for selling outside the registered province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossProvinceWire {
    /// Two-digit GB/T 2260 code.
    pub registered_province: String,
    /// What happens to a payment whose position is unknown (no fix, or outside China):
    /// `refuse`, or `allow_and_flag` (taken, and flagged for the platform's review).
    pub location_policy: String,
    pub applications: Vec<CrossProvinceApplicationWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossProvinceApplicationWire {
    pub id: String,
    /// The province the merchant wants to work in.
    pub province: String,
    pub reason: String,
    pub days: u32,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Why it was rejected (or conditions of an approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    pub submitted_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    /// An approval is good until then (unix seconds, platform time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
}

/// `POST v1/merchant/cross-province/applications`. The key makes a replay (after a lost answer,
/// or from the offline queue) return the same application instead of filing a second one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyCrossProvinceRequest {
    pub idempotency_key: String,
    pub province: String,
    pub reason: String,
    pub days: u32,
}

/// Wipes the secrets a request or answer held once it is dropped (passwords, SMS codes,
/// tokens, the signing key), so they do not linger in freed memory.
macro_rules! wipe_on_drop {
    ($($ty:ident { $($field:ident),+ })+) => {
        $(impl Drop for $ty {
            fn drop(&mut self) {
                use zeroize::Zeroize;
                $(self.$field.zeroize();)+
            }
        })+
    };
}

wipe_on_drop! {
    RegisterRequest { password, sms_code }
    LoginRequest { password, sms_code }
    RefreshRequest { refresh_token }
    TokenResponse { access_token, refresh_token, signing_key }
    SetLimitsRequest { password }
    BindCardConfirm { sms_code }
    UnbindCardRequest { password }
    AdjustmentRequest { password }
    QrPayRequest { payment_code }
    ChangePasswordRequest { old_password, new_password }
    ResetPasswordRequest { sms_code, new_password }
    UnbindDeviceRequest { password }
}

/// A payment by the customer's payment code (B scans C, docs/qr.md). The code is the
/// customer's and single-use: `Debug` does not show it, and it is wiped when dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPayRequest {
    /// Made and journalled by the phone before the first send; the same on every retry.
    pub idempotency_key: String,
    /// `wechat`, `alipay` or `unionpay`, as the phone classified the code.
    pub wallet: String,
    pub payment_code: String,
    pub amount_fen: i64,
    /// Where the phone was, for the cross-province rule (as for cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationWire>,
}

impl std::fmt::Debug for QrPayRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrPayRequest")
            .field("idempotency_key", &self.idempotency_key)
            .field("wallet", &self.wallet)
            .field("amount_fen", &self.amount_fen)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A QR payment as the platform holds it now. `status`: `paid`, `user_paying` (the customer is
/// confirming on their phone: query again), `failed` (with `reason`), `reversed` (paid, then
/// given back) or `closed` (ended unpaid by a reverse or cancel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPaymentWire {
    pub idempotency_key: String,
    pub wallet: String,
    pub status: String,
    pub amount_fen: i64,
    /// The wallet's transaction number, once it has debited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_txn: Option<String>,
    /// Why it failed: `customer_cancelled`, `insufficient_balance`, `code_used`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: i64,
    /// When the wallet debited (platform time), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<i64>,
    /// The merchant's fee at the platform's QR rate, and what the merchant receives: charged
    /// only if it is paid.
    #[serde(default)]
    pub fee_fen: i64,
    #[serde(default)]
    pub net_fen: i64,
    /// The e-receipt's unguessable token (the page is `{platform}/r/{token}`), once there is
    /// something to show a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_token: Option<String>,
}

/// A dynamic merchant QR order (C scans B, docs/qr.md): the platform makes the payload the
/// phone shows, and learns from the wallet when the customer has paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOrderRequest {
    /// Made and journalled by the phone before the first send; the same on every retry.
    pub idempotency_key: String,
    pub amount_fen: i64,
    /// How long the code may be paid (60 to 7,200 s; 300 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<i64>,
    /// Where the phone was, for the cross-province rule (as for cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationWire>,
}

/// An order as the platform holds it now. `status`: `open` (showing, not paid), `paid`,
/// `closed` (the merchant cancelled), `expired`, or `refunded_late` (the customer paid after
/// it was closed or had expired, and the platform gave the money back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOrderWire {
    pub idempotency_key: String,
    pub order_id: String,
    pub amount_fen: i64,
    /// The EMVCo merchant-presented payload to show (dynamic, with the amount and the order).
    pub payload: String,
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_txn: Option<String>,
    /// The merchant's fee at the platform's QR rate and what the merchant receives: charged
    /// only if it is paid.
    #[serde(default)]
    pub fee_fen: i64,
    #[serde(default)]
    pub net_fen: i64,
    /// The e-receipt's unguessable token (the page is `{platform}/r/{token}`), once there is
    /// something to show a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_token: Option<String>,
}

/// A head of a phone's ledger chain (docs/history.md, "Anchors"): how many entries it holds
/// and the last entry's chain hash (SHA-256, lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAnchor {
    /// The ledger's own random id, made with its database: a new database (a reinstall, or a
    /// file replaced) starts a new series of anchors.
    pub ledger_id: String,
    pub entries: u64,
    pub head: String,
}

/// `GET /v1/ledger/anchor` and the answer to `PUT`: the head the platform holds for this
/// merchant on this device, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAnchorWire {
    #[serde(default)]
    pub anchor: Option<LedgerAnchor>,
}

/// `PUT /v1/ledger/anchor`: the ledger's head now, with the phone's own hash at the position
/// the platform holds (`previous_entries`), so the platform can tell that the new head extends
/// the old one. `previous_hash` is absent when the ledger is shorter than that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAnchorRequest {
    pub ledger_id: String,
    pub entries: u64,
    pub head: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_entries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
}

/// `POST /v1/account/password`: the account password changed, the old one as the step-up. No
/// `Debug`: it holds secrets.
#[derive(Clone, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    pub new_password: String,
}

/// `POST /v1/account/password/reset`: a forgotten password replaced, proven by the SMS code
/// (purpose `reset_password`) sent to the account's phone. No `Debug`: it holds a secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct ResetPasswordRequest {
    pub phone: String,
    pub sms_code: String,
    pub new_password: String,
    /// The device asking: bound to the account by the SMS code, as a login with one would.
    pub device_id: String,
}

/// One device bound to the account (`GET /v1/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceWire {
    pub device_id: String,
    pub bound_at: i64,
    /// The last login or token refresh from it (platform time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// The device of the session asking.
    pub this_device: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesWire {
    pub devices: Vec<DeviceWire>,
}

/// `POST /v1/devices/unbind`: ends a device's sessions and its binding (its next login needs an
/// SMS code); the account password as the step-up. No `Debug`: it holds a secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct UnbindDeviceRequest {
    pub device_id: String,
    pub password: String,
}
