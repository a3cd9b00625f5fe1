//! Card sales across the boundary: the sale record, its status and steps, and the listener the
//! app implements to follow a sale.

use crate::checks::CardKind;
use crate::qr::Wallet;
use crate::reader::EntryMode;
use std::sync::Arc;

use starpos_core::payments as core;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SaleStep {
    WaitingForCard,
    /// The card was swiped but has a chip: ask the customer to insert or tap it instead.
    UseChip,
    /// The chip could not be read: ask the customer to swipe the card (a fallback, flagged).
    SwipeFallback,
    WaitingForPin,
    /// From here the sale can no longer be cancelled.
    Authorizing,
    CompletingOnCard,
    Reversing,
    /// A QR payment waits for the customer to confirm it on their phone: say so. The merchant
    /// can still cancel it (it is then reversed).
    WaitingForCustomer,
}

impl From<core::SaleStep> for SaleStep {
    fn from(s: core::SaleStep) -> Self {
        match s {
            core::SaleStep::WaitingForCard => SaleStep::WaitingForCard,
            core::SaleStep::UseChip => SaleStep::UseChip,
            core::SaleStep::SwipeFallback => SaleStep::SwipeFallback,
            core::SaleStep::WaitingForPin => SaleStep::WaitingForPin,
            core::SaleStep::Authorizing => SaleStep::Authorizing,
            core::SaleStep::CompletingOnCard => SaleStep::CompletingOnCard,
            core::SaleStep::Reversing => SaleStep::Reversing,
            core::SaleStep::WaitingForCustomer => SaleStep::WaitingForCustomer,
        }
    }
}

/// Follows a sale step by step (called from a core thread; keep it quick).
#[uniffi::export(foreign)]
pub trait SaleListener: Send + Sync {
    fn on_step(&self, step: SaleStep);
}

/// Hears of sales needing the merchant's attention: the whole list, each time it changes and
/// once when set (called from a core thread; keep it quick). Empty once everything resolved.
#[uniffi::export(foreign)]
pub trait AttentionListener: Send + Sync {
    fn on_needs_attention(&self, sales: Vec<Sale>);
}

pub(crate) struct AttentionAdapter(pub std::sync::Arc<dyn AttentionListener>);

impl core::AttentionListener for AttentionAdapter {
    fn on_needs_attention(&self, sales: Vec<core::Sale>) {
        self.0.on_needs_attention(sales.into_iter().map(Into::into).collect());
    }
}

pub(crate) struct ListenerAdapter(pub std::sync::Arc<dyn SaleListener>);

impl core::SaleListener for ListenerAdapter {
    fn on_step(&self, step: core::SaleStep) {
        self.0.on_step(step.into());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeclineReason {
    InsufficientFunds,
    WrongPin,
    CardExpired,
    CardRefused,
    InvalidCard,
    /// The customer cancelled the QR payment on their phone.
    CustomerCancelled,
    /// The payment code was already used or has expired: ask for a new one.
    PaymentCodeUsed,
    Other,
}

impl From<core::DeclineReason> for DeclineReason {
    fn from(r: core::DeclineReason) -> Self {
        match r {
            core::DeclineReason::InsufficientFunds => DeclineReason::InsufficientFunds,
            core::DeclineReason::WrongPin => DeclineReason::WrongPin,
            core::DeclineReason::CardExpired => DeclineReason::CardExpired,
            core::DeclineReason::CardRefused => DeclineReason::CardRefused,
            core::DeclineReason::InvalidCard => DeclineReason::InvalidCard,
            core::DeclineReason::CustomerCancelled => DeclineReason::CustomerCancelled,
            core::DeclineReason::PaymentCodeUsed => DeclineReason::PaymentCodeUsed,
            core::DeclineReason::Other => DeclineReason::Other,
        }
    }
}

/// Why a sale was (or is being) reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReversalReason {
    /// The authorisation's answer never came (or could not be read): it may have been approved.
    NoAnswer,
    /// The platform approved, then the card declined the answer.
    ChipDeclined,
    /// Approved, but the card never confirmed (the reader was lost before completion).
    CardNotConfirmed,
    /// Found unfinished after a restart and reversed then.
    Recovery,
    /// A QR payment the customer did not confirm on their phone in the wallet's time.
    CustomerTimedOut,
    /// A QR payment the merchant cancelled while the customer was confirming it.
    MerchantCancelled,
}

impl From<core::ReversalReason> for ReversalReason {
    fn from(r: core::ReversalReason) -> Self {
        match r {
            core::ReversalReason::NoAnswer => ReversalReason::NoAnswer,
            core::ReversalReason::ChipDeclined => ReversalReason::ChipDeclined,
            core::ReversalReason::CardNotConfirmed => ReversalReason::CardNotConfirmed,
            core::ReversalReason::Recovery => ReversalReason::Recovery,
            core::ReversalReason::CustomerTimedOut => ReversalReason::CustomerTimedOut,
            core::ReversalReason::MerchantCancelled => ReversalReason::MerchantCancelled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SaleStatus {
    Approved,
    Declined {
        reason: DeclineReason,
        detail: String,
    },
    /// Nothing is charged.
    Reversed {
        reason: ReversalReason,
    },
    /// Being reversed; the core keeps trying until the platform acknowledges.
    ReversalPending {
        reason: ReversalReason,
    },
    Failed {
        detail: String,
    },
    InProgress,
    /// Approved, then voided the same day: nothing is charged.
    Voided,
}

impl From<core::SaleStatus> for SaleStatus {
    fn from(s: core::SaleStatus) -> Self {
        match s {
            core::SaleStatus::Approved => SaleStatus::Approved,
            core::SaleStatus::Declined { reason, message } => {
                SaleStatus::Declined { reason: reason.into(), detail: message }
            }
            core::SaleStatus::Reversed { reason } => SaleStatus::Reversed { reason: reason.into() },
            core::SaleStatus::ReversalPending { reason } => SaleStatus::ReversalPending { reason: reason.into() },
            core::SaleStatus::Failed { message } => SaleStatus::Failed { detail: message },
            core::SaleStatus::InProgress => SaleStatus::InProgress,
            core::SaleStatus::Voided => SaleStatus::Voided,
        }
    }
}

/// How a sale is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PaymentMethod {
    /// A card through the reader.
    Card,
    /// The phone scanned the customer's payment code (付款码).
    CustomerCode,
    /// The customer's wallet scanned the QR the phone showed.
    MerchantQr,
}

impl From<core::PaymentMethod> for PaymentMethod {
    fn from(m: core::PaymentMethod) -> Self {
        match m {
            core::PaymentMethod::Card => PaymentMethod::Card,
            core::PaymentMethod::CustomerCode => PaymentMethod::CustomerCode,
            core::PaymentMethod::MerchantQr => PaymentMethod::MerchantQr,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Sale {
    pub id: String,
    pub status: SaleStatus,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub masked_pan: String,
    pub card_kind: CardKind,
    pub issuer_bank: Option<String>,
    /// How the card was read; `None` for a QR payment.
    pub entry_mode: Option<EntryMode>,
    /// Card, the customer's payment code, or the merchant's shown QR.
    pub method: PaymentMethod,
    /// A QR payment's wallet, and its transaction number once it debited.
    pub wallet: Option<Wallet>,
    pub wallet_txn: Option<String>,
    pub app_label: String,
    pub aid: String,
    pub auth_code: Option<String>,
    pub reference_number: Option<String>,
    pub batch_number: Option<String>,
    pub voucher_number: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub tvr: Option<String>,
    pub tsi: Option<String>,
    pub refunded_fen: i64,
    /// Where the sale happened, when the app's location provider knew.
    pub location: Option<Location>,
    /// The province (GB/T 2260 code) the sale was made in; `None` when the position was
    /// unknown and the platform's policy allowed the sale.
    pub province: Option<String>,
    /// A swipe taken as the fallback after the card's chip could not be read: approved, and
    /// flagged as the issuer sees it.
    pub fallback: bool,
    pub signature: SignatureState,
}

impl From<core::Sale> for Sale {
    fn from(s: core::Sale) -> Self {
        Sale {
            id: s.id,
            status: s.status.into(),
            amount_fen: s.amount_fen,
            fee_fen: s.fee_fen,
            net_fen: s.net_fen,
            masked_pan: s.masked_pan,
            card_kind: s.card_kind.into(),
            issuer_bank: s.issuer_bank,
            entry_mode: s.entry_mode.map(Into::into),
            method: s.method.into(),
            wallet: s.wallet.map(Into::into),
            wallet_txn: s.wallet_txn,
            app_label: s.app_label,
            aid: s.aid,
            auth_code: s.auth_code,
            reference_number: s.reference_number,
            batch_number: s.batch_number,
            voucher_number: s.voucher_number,
            note: s.note,
            created_at: s.created_at,
            tvr: s.tvr,
            tsi: s.tsi,
            refunded_fen: s.refunded_fen,
            location: s.location.map(Into::into),
            province: s.province,
            fallback: s.fallback,
            signature: s.signature.into(),
        }
    }
}

/// A receipt (签购单) as data; `StarPos.receipt_text` and `receipt_escpos` render it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Receipt {
    pub merchant_name: String,
    pub merchant_number: String,
    pub terminal_id: String,
    pub transaction_type: String,
    pub masked_pan: String,
    pub issuer_bank: Option<String>,
    pub card_kind: String,
    /// Empty for a QR payment, which shows its wallet and transaction number instead.
    pub entry_mode: String,
    pub wallet: Option<String>,
    pub wallet_txn: Option<String>,
    pub batch_number: String,
    pub voucher_number: String,
    pub reference_number: String,
    pub auth_code: String,
    pub date_time: String,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub aid: String,
    pub app_label: String,
    pub tvr: String,
    pub tsi: String,
    pub e_receipt_url: String,
    /// The customer's signature as a 1-bit PNG, when signed (the merchant's copy only).
    pub signature_png: Option<Vec<u8>>,
    /// The merchant's copy or the customer's (whose text leaves out the fee and net).
    pub copy: ReceiptCopy,
    pub reprint: bool,
}

/// Which copy of a slip: the merchant's (signed, with the fee and net) or the customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReceiptCopy {
    Merchant,
    Customer,
}

impl From<ReceiptCopy> for core::receipt::ReceiptCopy {
    fn from(c: ReceiptCopy) -> Self {
        match c {
            ReceiptCopy::Merchant => core::receipt::ReceiptCopy::Merchant,
            ReceiptCopy::Customer => core::receipt::ReceiptCopy::Customer,
        }
    }
}

impl From<core::receipt::ReceiptCopy> for ReceiptCopy {
    fn from(c: core::receipt::ReceiptCopy) -> Self {
        match c {
            core::receipt::ReceiptCopy::Merchant => ReceiptCopy::Merchant,
            core::receipt::ReceiptCopy::Customer => ReceiptCopy::Customer,
        }
    }
}

impl From<core::receipt::Receipt> for Receipt {
    fn from(r: core::receipt::Receipt) -> Self {
        Receipt {
            merchant_name: r.merchant_name,
            merchant_number: r.merchant_number,
            terminal_id: r.terminal_id,
            transaction_type: r.transaction_type,
            masked_pan: r.masked_pan,
            issuer_bank: r.issuer_bank,
            card_kind: r.card_kind,
            entry_mode: r.entry_mode,
            wallet: r.wallet,
            wallet_txn: r.wallet_txn,
            batch_number: r.batch_number,
            voucher_number: r.voucher_number,
            reference_number: r.reference_number,
            auth_code: r.auth_code,
            date_time: r.date_time,
            amount_fen: r.amount_fen,
            fee_fen: r.fee_fen,
            net_fen: r.net_fen,
            aid: r.aid,
            app_label: r.app_label,
            tvr: r.tvr,
            tsi: r.tsi,
            e_receipt_url: r.e_receipt_url,
            signature_png: r.signature.as_ref().map(|b| b.png()),
            copy: r.copy.into(),
            reprint: r.reprint,
        }
    }
}

/// Where a sale's signature stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SignatureState {
    NotSigned,
    /// Kept on the phone, waiting to reach the platform (retried in the background).
    Queued,
    Uploaded,
    /// The platform will not take it; the receipt still shows it.
    Refused,
}

impl From<core::SignatureState> for SignatureState {
    fn from(s: core::SignatureState) -> Self {
        match s {
            core::SignatureState::NotSigned => SignatureState::NotSigned,
            core::SignatureState::Queued => SignatureState::Queued,
            core::SignatureState::Uploaded => SignatureState::Uploaded,
            core::SignatureState::Refused => SignatureState::Refused,
        }
    }
}

/// One pen sample: canvas pixels from the top left, milliseconds since the first sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SignaturePoint {
    pub x: u32,
    pub y: u32,
    pub t_ms: u32,
}

/// One stroke: the pen's samples from touching the screen to lifting it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignatureStroke {
    pub points: Vec<SignaturePoint>,
}

/// What the customer drew, on a canvas of `width` x `height` pixels.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Signature {
    pub width: u32,
    pub height: u32,
    pub strokes: Vec<SignatureStroke>,
}

impl From<Signature> for core::signature::Signature {
    fn from(s: Signature) -> Self {
        core::signature::Signature {
            width: s.width,
            height: s.height,
            strokes: s
                .strokes
                .into_iter()
                .map(|st| {
                    st.points.into_iter().map(|p| core::signature::Point { x: p.x, y: p.y, t_ms: p.t_ms }).collect()
                })
                .collect(),
        }
    }
}

/// A position in WGS-84 degrees with the fix's accuracy in metres.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
}

impl From<starpos_core::location::Location> for Location {
    fn from(l: starpos_core::location::Location) -> Self {
        Location { latitude: l.latitude, longitude: l.longitude, accuracy_m: l.accuracy_m }
    }
}

impl From<Location> for starpos_core::location::Location {
    fn from(l: Location) -> Self {
        starpos_core::location::Location { latitude: l.latitude, longitude: l.longitude, accuracy_m: l.accuracy_m }
    }
}

/// Implemented by the app: the phone's latest position fix, or `None` when there is none
/// (permission refused, no signal). Called at the start of each payment: answer from a cached
/// fix, do not wait for a new one.
#[uniffi::export(foreign)]
pub trait LocationProvider: Send + Sync {
    fn current_location(&self) -> Option<Location>;
}

pub(crate) struct LocationAdapter(pub Arc<dyn LocationProvider>);

impl starpos_core::location::LocationProvider for LocationAdapter {
    fn current_location(&self) -> Option<starpos_core::location::Location> {
        self.0.current_location().map(Into::into)
    }
}
