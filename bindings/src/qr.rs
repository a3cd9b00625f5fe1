//! QR payments' offline functions, mirrored from `starpos_core::qr`: which wallet a scanned
//! payment code is for, and the EMVCo merchant-presented payload read and written.

use starpos_core::qr as core;

use crate::error::StarPosError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Wallet {
    WeChat,
    Alipay,
    UnionPay,
}

impl From<core::Wallet> for Wallet {
    fn from(w: core::Wallet) -> Self {
        match w {
            core::Wallet::WeChat => Wallet::WeChat,
            core::Wallet::Alipay => Wallet::Alipay,
            core::Wallet::UnionPay => Wallet::UnionPay,
        }
    }
}

/// One data object of a payload: two-digit `id` and `value`, in payload order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrDataObject {
    pub id: String,
    pub value: String,
}

/// A merchant account information object (IDs 02 to 51); templates (26 to 51) carry a `guid`
/// (their sub-ID 00) and `fields`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrMerchantAccount {
    pub id: String,
    pub guid: Option<String>,
    pub value: String,
    pub fields: Vec<QrDataObject>,
}

/// A decoded merchant-presented payload. `amount_fen` is set for a yuan payload (currency 156)
/// with an amount; `amount` is the amount as written.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MerchantQr {
    pub objects: Vec<QrDataObject>,
    /// True for a code made for one payment ("12"), false for a static one ("11") or none.
    pub dynamic: bool,
    pub accounts: Vec<QrMerchantAccount>,
    pub category_code: String,
    pub currency: u16,
    pub amount: Option<String>,
    pub amount_fen: Option<i64>,
    pub country: String,
    pub name: String,
    pub city: String,
    pub postal_code: Option<String>,
    pub additional: Vec<QrDataObject>,
    pub alternate_language: Vec<QrDataObject>,
}

/// What `encode_merchant_qr` writes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MerchantQrInput {
    pub dynamic: bool,
    pub accounts: Vec<QrMerchantAccount>,
    pub category_code: String,
    pub currency: u16,
    pub amount_fen: Option<i64>,
    pub country: String,
    pub name: String,
    pub city: String,
    pub additional: Vec<QrDataObject>,
    pub alternate_language: Vec<QrDataObject>,
}

fn objects_out(v: Vec<core::DataObject>) -> Vec<QrDataObject> {
    v.into_iter().map(|o| QrDataObject { id: o.id, value: o.value }).collect()
}

fn objects_in(v: Vec<QrDataObject>) -> Vec<core::DataObject> {
    v.into_iter().map(|o| core::DataObject { id: o.id, value: o.value }).collect()
}

/// The wallet of a code the camera scanned (never call it for what the card reader read).
#[uniffi::export]
pub fn classify_payment_code(code: String) -> Result<Wallet, StarPosError> {
    Ok(core::classify_payment_code(&code)?.into())
}

/// Reads a merchant-presented QR payload, checking its CRC and mandatory fields.
#[uniffi::export]
pub fn decode_merchant_qr(payload: String) -> Result<MerchantQr, StarPosError> {
    let qr = core::decode_merchant_qr(&payload)?;
    Ok(MerchantQr {
        objects: objects_out(qr.objects),
        dynamic: qr.initiation == Some(core::Initiation::Dynamic),
        accounts: qr
            .accounts
            .into_iter()
            .map(|a| QrMerchantAccount { id: a.id, guid: a.guid, value: a.value, fields: objects_out(a.fields) })
            .collect(),
        category_code: qr.category_code,
        currency: qr.currency,
        amount: qr.amount,
        amount_fen: qr.amount_fen.and_then(|f| i64::try_from(f).ok()),
        country: qr.country,
        name: qr.name,
        city: qr.city,
        postal_code: qr.postal_code,
        additional: objects_out(qr.additional),
        alternate_language: objects_out(qr.alternate_language),
    })
}

/// Writes a merchant-presented QR payload with its CRC.
#[uniffi::export]
pub fn encode_merchant_qr(input: MerchantQrInput) -> Result<String, StarPosError> {
    let amount_fen = match input.amount_fen {
        None => None,
        Some(fen) => Some(u64::try_from(fen).map_err(|_| StarPosError::InvalidMerchantQr {
            reason: "data object 54: the amount is above zero".into(),
        })?),
    };
    let input = core::MerchantQrInput {
        initiation: if input.dynamic { core::Initiation::Dynamic } else { core::Initiation::Static },
        accounts: input
            .accounts
            .into_iter()
            .map(|a| core::MerchantAccount { id: a.id, guid: a.guid, value: a.value, fields: objects_in(a.fields) })
            .collect(),
        category_code: input.category_code,
        currency: input.currency,
        amount_fen,
        country: input.country,
        name: input.name,
        city: input.city,
        additional: objects_in(input.additional),
        alternate_language: objects_in(input.alternate_language),
    };
    Ok(core::encode_merchant_qr(&input)?)
}

/// The QR code of `payload` as a black-on-white PNG, `module_px` (1 to 32) pixels a module,
/// with the quiet zone: what the app shows the customer for a dynamic merchant QR.
#[uniffi::export]
pub fn qr_png(payload: String, module_px: u32) -> Result<Vec<u8>, StarPosError> {
    Ok(core::qr_png(&payload, module_px)?)
}

/// A dynamic QR to show the customer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrOrder {
    /// The sale's id in the journal.
    pub sale_id: String,
    pub amount_fen: i64,
    /// The EMVCo merchant-presented payload, checked: draw it with `qr_png`.
    pub payload: String,
    /// When the code stops being payable (platform time, unix seconds).
    pub expires_at: i64,
}

impl From<starpos_core::payments::QrOrder> for QrOrder {
    fn from(o: starpos_core::payments::QrOrder) -> Self {
        QrOrder { sale_id: o.sale_id, amount_fen: o.amount_fen, payload: o.payload, expires_at: o.expires_at }
    }
}
