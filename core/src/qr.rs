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

/// CRC-16/CCITT-FALSE of `text`'s UTF-8 bytes: the check of a merchant-presented payload.
pub fn crc16(text: &str) -> u16 {
    starpos_protocol::qr::crc::crc16_ccitt_false(text.as_bytes())
}

/// The largest module size `qr_png` draws: 32 px a module is already a whole screen for a
/// payload of a few hundred characters.
pub const MAX_MODULE_PX: u32 = 32;

/// The QR code of `payload` (byte mode, error correction M) as its modules, row by row, with
/// the four-module quiet zone the standard asks for: (modules per side, dark or not).
pub fn qr_modules(payload: &str) -> Result<(usize, Vec<bool>), Error> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::invalid("payload", format!("cannot be drawn as a QR code: {e}")))?;
    let inner = code.width();
    let side = inner + 8;
    let colors = code.to_colors();
    let mut dark = vec![false; side * side];
    for y in 0..inner {
        for x in 0..inner {
            dark[(y + 4) * side + x + 4] = colors[y * inner + x] == qrcode::Color::Dark;
        }
    }
    Ok((side, dark))
}

/// The QR code of `payload` as a black-on-white PNG, `module_px` pixels (1 to 32) a module,
/// quiet zone included: what the phone shows the customer for a dynamic merchant QR.
pub fn qr_png(payload: &str, module_px: u32) -> Result<Vec<u8>, Error> {
    if !(1..=MAX_MODULE_PX).contains(&module_px) {
        return Err(Error::invalid("module_px", "1 to 32 pixels a module"));
    }
    let (side, dark) = qr_modules(payload)?;
    let px = module_px as usize;
    let width = side * px;
    let row_bytes = width.div_ceil(8);
    let mut image = vec![0u8; row_bytes * width];
    for y in 0..width {
        for x in 0..width {
            // PNG greyscale at one bit: 1 is white.
            if !dark[(y / px) * side + x / px] {
                image[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, width as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let written = encoder.write_header().and_then(|mut w| w.write_image_data(&image));
    written.map_err(|e| Error::Internal { reason: format!("the QR image could not be written: {e}") })?;
    Ok(out)
}
