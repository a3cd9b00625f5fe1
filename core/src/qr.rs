//! QR payments, the offline part so far (issue #15): the customer's payment code the camera
//! scanned, and the EMVCo merchant-presented payload the phone shows or reads. The codecs are
//! the protocol crate's (`starpos_protocol::qr`); here their errors become public ones.

pub use starpos_protocol::qr::mpm::{DataObject, Initiation, MerchantAccount, MerchantQr, MerchantQrInput};
pub use starpos_protocol::qr::payment_code::Wallet;
use starpos_protocol::qr::{mpm, payment_code};

use crate::error::Error;

/// The wallet of a code the camera scanned; `InvalidPaymentCode` says why it is none. Never
/// for what the card reader read: a card number can have a UnionPay code's shape.
pub fn classify_payment_code(code: &str) -> Result<Wallet, Error> {
    payment_code::classify(code).map_err(|e| Error::InvalidPaymentCode { reason: e.to_string() })
}

/// Reads a merchant-presented payload: its CRC, its data objects in order, and the typed fields.
pub fn decode_merchant_qr(payload: &str) -> Result<MerchantQr, Error> {
    mpm::decode(payload).map_err(|e| Error::InvalidMerchantQr { reason: e.to_string() })
}

/// Writes a merchant-presented payload with its CRC.
pub fn encode_merchant_qr(input: &MerchantQrInput) -> Result<String, Error> {
    mpm::encode(input).map_err(|e| Error::InvalidMerchantQr { reason: e.to_string() })
}
