//! What a sale looks like to the app: its steps, its status and why, the sale record.

use super::*;
use crate::qr::Wallet;

/// Why a sale was (or is being) reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversalReason {
    /// The authorisation's answer never came (or could not be read): it may have been approved.
    NoAnswer,
    /// The platform approved, then the card declined the answer (chip completion).
    ChipDeclined,
    /// Approved, but the card never confirmed (the reader was lost before completion).
    CardNotConfirmed,
    /// Found unfinished after a restart and reversed then.
    Recovery,
    /// A QR payment the customer did not confirm on their phone within the wallet's time.
    CustomerTimedOut,
    /// A QR payment the merchant cancelled while the customer was still confirming it.
    MerchantCancelled,
}

impl ReversalReason {
    /// The name the journal stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ReversalReason::NoAnswer => "no_answer",
            ReversalReason::ChipDeclined => "chip_declined",
            ReversalReason::CardNotConfirmed => "card_not_confirmed",
            ReversalReason::Recovery => "recovery",
            ReversalReason::CustomerTimedOut => "customer_timeout",
            ReversalReason::MerchantCancelled => "merchant_cancelled",
        }
    }

    /// From the journal. A name this version does not know (a newer app wrote it) reads as
    /// `Recovery`: the sale is reversed either way, and nothing is charged.
    pub fn from_journal(name: Option<&str>) -> ReversalReason {
        [
            ReversalReason::NoAnswer,
            ReversalReason::ChipDeclined,
            ReversalReason::CardNotConfirmed,
            ReversalReason::CustomerTimedOut,
            ReversalReason::MerchantCancelled,
        ]
        .into_iter()
        .find(|r| Some(r.as_str()) == name)
        .unwrap_or(ReversalReason::Recovery)
    }
}

impl std::fmt::Display for ReversalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a sale is, for the app to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleStep {
    WaitingForCard,
    /// The card was swiped but has a chip: ask the customer to insert or tap it instead.
    UseChip,
    /// The chip could not be read: ask the customer to swipe the card (an EMV fallback, flagged
    /// on the sale and to the issuer).
    SwipeFallback,
    WaitingForPin,
    /// The authorisation is on its way: from here the sale can no longer be cancelled.
    Authorizing,
    CompletingOnCard,
    Reversing,
    /// A QR payment waits for the customer to confirm it on their phone (a password or a tap
    /// in the wallet): say so. The merchant can still cancel it.
    WaitingForCustomer,
}

pub trait SaleListener: Send + Sync {
    /// Called from a core thread; keep it quick.
    fn on_step(&self, step: SaleStep);
}

/// Why a card was declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    InsufficientFunds,
    WrongPin,
    CardExpired,
    CardRefused,
    InvalidCard,
    /// The customer cancelled the QR payment on their phone.
    CustomerCancelled,
    /// The payment code was already used or has expired: ask the customer to show a new one.
    PaymentCodeUsed,
    Other,
}

impl DeclineReason {
    pub(super) fn from_code(code: &str) -> DeclineReason {
        match code {
            "51" => DeclineReason::InsufficientFunds,
            "55" => DeclineReason::WrongPin,
            "54" => DeclineReason::CardExpired,
            "05" => DeclineReason::CardRefused,
            "14" => DeclineReason::InvalidCard,
            // The wallets' reasons (QR payments).
            "insufficient_balance" => DeclineReason::InsufficientFunds,
            "customer_cancelled" => DeclineReason::CustomerCancelled,
            "code_used" => DeclineReason::PaymentCodeUsed,
            _ => DeclineReason::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleStatus {
    /// Approved and final: print the receipt.
    Approved,
    Declined {
        reason: DeclineReason,
        message: String,
    },
    /// Reversed: nothing is charged.
    Reversed {
        reason: ReversalReason,
    },
    /// Being reversed; the core keeps trying until the platform acknowledges.
    ReversalPending {
        reason: ReversalReason,
    },
    /// Refused before any money moved.
    Failed {
        message: String,
    },
    /// Still being resolved (only seen in history before recovery ran).
    InProgress,
    /// Approved, then voided the same day: nothing is charged.
    Voided,
}

/// Void (the whole sale, its business day) or refund (part or all, after settlement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjust {
    Void,
    Refund { amount_fen: i64 },
}

/// A sale as the app sees it.
#[derive(Debug, Clone, PartialEq)]
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
    /// The wallet of a QR payment, and its transaction number once it debited (on the receipt).
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
    /// The card's final TVR and TSI (hex), for chip sales.
    pub tvr: Option<String>,
    pub tsi: Option<String>,
    /// Refunded so far.
    pub refunded_fen: i64,
    /// Where the sale happened, when the app knew.
    pub location: Option<Location>,
    /// The province (GB/T 2260 code) the sale was made in; `None` when the position was
    /// unknown and the platform's policy allowed the sale (it is flagged there).
    pub province: Option<String>,
    pub signature: SignatureState,
    /// A swipe taken as the fallback after the card's chip could not be read (EMV fallback):
    /// approved like any sale, and flagged, as the issuer sees it.
    pub fallback: bool,
    /// The platform's token of the sale's e-receipt page; `None` before the platform answered
    /// with one (and for sales journalled before schema 19).
    pub receipt_token: Option<String>,
}

impl From<Entry> for Sale {
    fn from(e: Entry) -> Sale {
        let reason = ReversalReason::from_journal(e.reversal_reason.as_deref());
        let method = PaymentMethod::parse(&e.method);
        let status = match e.state {
            State::Completed => SaleStatus::Approved,
            State::Declined => SaleStatus::Declined {
                reason: DeclineReason::from_code(e.response_code.as_deref().unwrap_or("")),
                message: e.message.clone().unwrap_or_default(),
            },
            State::Reversed => SaleStatus::Reversed { reason },
            State::ReversalPending => SaleStatus::ReversalPending { reason },
            State::Failed if e.reversal_reason.is_some() => SaleStatus::Reversed { reason },
            State::Failed => SaleStatus::Failed { message: e.message.clone().unwrap_or_default() },
            State::Sending | State::Approved => SaleStatus::InProgress,
        };
        Sale {
            id: e.key,
            status,
            amount_fen: e.amount_fen,
            fee_fen: e.fee_fen.unwrap_or(0),
            net_fen: e.net_fen.unwrap_or(0),
            masked_pan: e.masked_pan,
            card_kind: e.card_kind.as_deref().and_then(CardKind::parse).unwrap_or(CardKind::Unknown),
            issuer_bank: e.issuer_bank,
            // The journal writes only the three names for a card; a card row it cannot read
            // shows as a chip read.
            entry_mode: (method == PaymentMethod::Card)
                .then(|| EntryMode::parse(&e.entry_mode).unwrap_or(EntryMode::Insert)),
            method,
            wallet: e.wallet.as_deref().and_then(Wallet::parse),
            wallet_txn: e.wallet_txn,
            app_label: e.app_label,
            aid: e.aid,
            auth_code: e.auth_code,
            reference_number: e.reference_number,
            batch_number: e.batch_number,
            voucher_number: e.voucher_number,
            note: e.note,
            created_at: e.created_at,
            tvr: e.tvr,
            tsi: e.tsi,
            refunded_fen: 0,
            location: e.location.as_ref().map(Location::from_wire),
            province: e.province,
            fallback: e.fallback,
            receipt_token: e.receipt_token,
            signature: SignatureState::NotSigned,
        }
    }
}
