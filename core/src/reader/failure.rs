//! The one place a reader failure becomes a public [`Error`]: every kind the app can act on
//! gets its own variant (a sale whose card is missing is not a sale whose link dropped).

use crate::error::Error;
use crate::reader::commands::Status;
use crate::reader::connection::ReaderError;
use crate::reader::firmware::FirmwareError;
use crate::reader::link::LinkError;
use crate::reader::secure::SecureError;

impl From<ReaderError> for Error {
    fn from(e: ReaderError) -> Self {
        match e {
            // A missing acknowledgement means the link is taken for lost: to the app the same.
            ReaderError::LinkLost | ReaderError::NoAck => Error::LinkLost,
            ReaderError::Timeout => Error::ReaderTimeout,
            ReaderError::Refused(status) => match status {
                Status::NoCard => Error::NoCard,
                // Surfaces only when no fallback swipe was possible: to the merchant the same.
                Status::CardUnreadable | Status::ChipUnreadable => Error::CardUnreadable,
                Status::CardRemoved => Error::CardRemoved,
                Status::PinTimeout => Error::PinTimeout,
                Status::PinCancelled => Error::PinCancelled,
                Status::Cancelled => Error::CancelledOnReader,
                Status::Busy => Error::ReaderBusy,
                Status::BatteryLow => Error::ReaderBatteryLow { percent: 0 },
                Status::FirmwareInvalid => Error::FirmwareRejected,
                Status::PhoneNotCertified => Error::ReaderRefusedPhone,
                Status::SessionLive => Error::ReaderInUse,
                other @ (Status::Ok | Status::UnknownCommand | Status::BadRequest | Status::NotSecure) => {
                    Error::ReaderDeclined { status: format!("{other:?}") }
                }
            },
            ReaderError::BadResponse => Error::ReaderBadResponse,
            ReaderError::Link(link) => match link {
                LinkError::Unavailable => Error::BluetoothUnavailable,
                LinkError::NotFound => Error::ReaderNotFound,
                LinkError::Disconnected => Error::LinkLost,
                LinkError::Other(reason) => Error::Bluetooth { reason },
            },
            ReaderError::Secure(SecureError::IdentityMismatch) => Error::ReaderIdentityMismatch,
            ReaderError::Secure(e) => Error::ReaderSession { reason: e.to_string() },
            ReaderError::CardData(e) => Error::CardDataRefused { reason: e.to_string() },
            ReaderError::WrongReader { expected, found } => Error::WrongReader { expected, found },
        }
    }
}

impl From<FirmwareError> for Error {
    fn from(e: FirmwareError) -> Self {
        match e {
            FirmwareError::Unsigned => Error::FirmwareUnsigned,
            FirmwareError::BatteryLow { percent } => Error::ReaderBatteryLow { percent },
            FirmwareError::Rejected => Error::FirmwareRejected,
            FirmwareError::Reader(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_card_and_pin_failure_is_its_own_error() {
        let cases = [
            (Status::NoCard, Error::NoCard),
            (Status::CardUnreadable, Error::CardUnreadable),
            (Status::ChipUnreadable, Error::CardUnreadable),
            (Status::CardRemoved, Error::CardRemoved),
            (Status::PinTimeout, Error::PinTimeout),
            (Status::PinCancelled, Error::PinCancelled),
            (Status::Cancelled, Error::CancelledOnReader),
            (Status::Busy, Error::ReaderBusy),
            (Status::PhoneNotCertified, Error::ReaderRefusedPhone),
            (Status::SessionLive, Error::ReaderInUse),
        ];
        for (status, expected) in cases {
            assert_eq!(Error::from(ReaderError::Refused(status)), expected);
        }
        assert_eq!(Error::from(ReaderError::NoAck), Error::LinkLost);
        assert_eq!(Error::from(ReaderError::Link(LinkError::Disconnected)), Error::LinkLost);
        assert_eq!(Error::from(ReaderError::Secure(SecureError::IdentityMismatch)), Error::ReaderIdentityMismatch);
    }
}
