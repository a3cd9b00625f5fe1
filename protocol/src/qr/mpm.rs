//! The EMVCo merchant-presented QR payload (MPM): data objects of a two-digit ID, a two-digit
//! length and a value. The length counts characters, not bytes (a Chinese merchant name of four
//! characters has length 04). The payload ends with the CRC object `63`, `04` and four
//! upper-case hex digits: CRC-16/CCITT-FALSE over the UTF-8 bytes of everything before those
//! four digits, "6304" included (docs/qr.md).
//!
//! IDs used here: `00` payload format ("01", first), `01` point of initiation ("11" static,
//! "12" dynamic), `02`-`51` merchant account information (`26`-`51` are templates whose sub-ID
//! `00` is a globally unique identifier), `52` merchant category code, `53` currency (ISO 4217
//! numeric), `54` amount, `58` country, `59` name, `60` city, `61` postal code, `62` additional
//! data (a template), `63` CRC, `64` merchant information in another language (a template),
//! `80`-`99` more templates. Any other ID is kept in `objects` as it came.

use super::crc::crc16_ccitt_false;

/// Longer than any payload a phone screen or camera handles.
const MAX_CHARS: usize = 512;
/// The currency whose amounts are read as fen here (ISO 4217 numeric for the yuan).
pub const CNY: u16 = 156;

/// One data object, in payload order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataObject {
    pub id: String,
    pub value: String,
}

impl DataObject {
    pub fn new(id: &str, value: &str) -> DataObject {
        DataObject { id: id.into(), value: value.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiation {
    /// "11": the same code for many payments; the customer types the amount.
    Static,
    /// "12": one code for one payment, with its amount.
    Dynamic,
}

/// A merchant account information object (`02`-`51`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantAccount {
    pub id: String,
    /// For the templates `26`-`51`: sub-ID `00`, whose owner the network says; `None` for the
    /// primitive IDs `02`-`25`, whose whole value is in `value`.
    pub guid: Option<String>,
    /// The value as it came (for a template, its data objects unparsed).
    pub value: String,
    /// A template's data objects (empty for a primitive ID).
    pub fields: Vec<DataObject>,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantQr {
    /// Every top-level data object in payload order, the CRC included.
    pub objects: Vec<DataObject>,
    pub initiation: Option<Initiation>,
    pub accounts: Vec<MerchantAccount>,
    pub category_code: String,
    pub currency: u16,
    /// `54` as written (digits, at most one '.'), if present.
    pub amount: Option<String>,
    /// The amount in fen, for a yuan payload (`53` = 156) with an amount.
    pub amount_fen: Option<u64>,
    pub country: String,
    pub name: String,
    pub city: String,
    pub postal_code: Option<String>,
    /// The data objects of the additional data template `62` (bill number `01`, reference
    /// `05`, terminal `07`, ...).
    pub additional: Vec<DataObject>,
    /// The data objects of `64`: language preference `00`, name `01`, city `02`.
    pub alternate_language: Vec<DataObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpmError {
    #[error("the payload is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("a data object at character {at} runs past the end of the payload")]
    Truncated { at: usize },
    #[error("the data object at character {at} has no two-digit ID")]
    BadId { at: usize },
    #[error("data object {id} at character {at} has no two-digit length")]
    BadLength { id: String, at: usize },
    #[error("data object {id} appears twice")]
    Duplicate { id: String },
    #[error("the payload does not end with its CRC (data object 63, length 04)")]
    CrcNotLast,
    #[error("the CRC is {found}; the payload's is {expected:04X}")]
    CrcMismatch { expected: u16, found: String },
    #[error("the mandatory data object {id} is missing")]
    Missing { id: &'static str },
    #[error("data object {id}: {reason}")]
    Invalid { id: String, reason: &'static str },
}

/// Reads a payload, checks its CRC and its mandatory objects.
pub fn decode(payload: &str) -> Result<MerchantQr, MpmError> {
    let chars: Vec<char> = payload.chars().collect();
    if chars.len() > MAX_CHARS {
        return Err(MpmError::TooLong);
    }
    let objects = split(&chars, 0)?;
    check_crc(&chars, &objects)?;
    let mut seen = std::collections::HashSet::new();
    for o in &objects {
        if !seen.insert(o.id.as_str()) {
            return Err(MpmError::Duplicate { id: o.id.clone() });
        }
    }
    let get = |id: &str| objects.iter().find(|o| o.id == id).map(|o| o.value.as_str());
    let need = |id: &'static str| get(id).ok_or(MpmError::Missing { id });
    let invalid = |id: &str, reason| MpmError::Invalid { id: id.into(), reason };

    if objects.first().map(|o| (o.id.as_str(), o.value.as_str())) != Some(("00", "01")) {
        return Err(match get("00") {
            None => MpmError::Missing { id: "00" },
            Some(_) => invalid("00", "the payload format indicator comes first and is 01"),
        });
    }
    let initiation = match get("01") {
        None => None,
        Some("11") => Some(Initiation::Static),
        Some("12") => Some(Initiation::Dynamic),
        Some(_) => return Err(invalid("01", "11 (static) or 12 (dynamic)")),
    };
    let mut accounts = Vec::new();
    for o in objects.iter().filter(|o| id_number(&o.id).is_some_and(|n| (2..=51).contains(&n))) {
        let template = id_number(&o.id).is_some_and(|n| n >= 26);
        let fields = if template { sub_objects(o)? } else { Vec::new() };
        let guid = fields.iter().find(|f| f.id == "00").map(|f| f.value.clone());
        if template && guid.is_none() {
            return Err(invalid(&o.id, "a merchant account template starts with its globally unique identifier (00)"));
        }
        accounts.push(MerchantAccount { id: o.id.clone(), guid, value: o.value.clone(), fields });
    }
    if accounts.is_empty() {
        return Err(MpmError::Missing { id: "02-51" });
    }
    let category_code = need("52")?;
    if category_code.len() != 4 || !category_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("52", "four digits"));
    }
    let currency = need("53")?;
    let currency: u16 = match currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_digit()) {
        true => currency.parse().map_err(|_| invalid("53", "three digits"))?,
        false => return Err(invalid("53", "three digits (ISO 4217 numeric)")),
    };
    let amount = get("54").map(str::to_string);
    let amount_fen = match amount.as_deref() {
        None => None,
        Some(a) => {
            let fen = amount_to_fen(a).ok_or_else(|| invalid("54", "digits with at most one '.', above zero"))?;
            (currency == CNY).then_some(fen)
        }
    };
    if initiation == Some(Initiation::Dynamic) && amount.is_none() {
        return Err(invalid("54", "a dynamic code carries its amount"));
    }
    let country = need("58")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid("58", "two capital letters (ISO 3166)"));
    }
    let additional = match objects.iter().find(|o| o.id == "62") {
        Some(o) => sub_objects(o)?,
        None => Vec::new(),
    };
    let alternate_language = match objects.iter().find(|o| o.id == "64") {
        Some(o) => sub_objects(o)?,
        None => Vec::new(),
    };
    Ok(MerchantQr {
        initiation,
        accounts,
        category_code: category_code.into(),
        currency,
        amount,
        amount_fen,
        country: country.into(),
        name: need("59")?.into(),
        city: need("60")?.into(),
        postal_code: get("61").map(str::to_string),
        additional,
        alternate_language,
        objects,
    })
}

/// What a payload is made from (the sandbox makes the platform's dynamic codes with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantQrInput {
    pub initiation: Initiation,
    /// Each account: its ID, and either a GUID and fields (a template, `26`-`51`) or a value.
    pub accounts: Vec<MerchantAccount>,
    pub category_code: String,
    pub currency: u16,
    /// Written as yuan with two decimals (only for `currency` 156).
    pub amount_fen: Option<u64>,
    pub country: String,
    pub name: String,
    pub city: String,
    pub additional: Vec<DataObject>,
    pub alternate_language: Vec<DataObject>,
}

/// Writes a payload with its CRC. A value of more than 99 characters, an amount in another
/// currency than the yuan, or a template account without a GUID is refused.
pub fn encode(input: &MerchantQrInput) -> Result<String, MpmError> {
    let mut out = String::new();
    put(&mut out, "00", "01")?;
    put(&mut out, "01", if input.initiation == Initiation::Dynamic { "12" } else { "11" })?;
    for account in &input.accounts {
        let template = id_number(&account.id).is_some_and(|n| (26..=51).contains(&n));
        if !id_number(&account.id).is_some_and(|n| (2..=51).contains(&n)) {
            return Err(MpmError::Invalid { id: account.id.clone(), reason: "merchant accounts are 02 to 51" });
        }
        if template {
            let guid = account.guid.as_deref().ok_or(MpmError::Invalid {
                id: account.id.clone(),
                reason: "a merchant account template needs its globally unique identifier",
            })?;
            let mut inner = String::new();
            put(&mut inner, "00", guid)?;
            for f in account.fields.iter().filter(|f| f.id != "00") {
                put(&mut inner, &f.id, &f.value)?;
            }
            put(&mut out, &account.id, &inner)?;
        } else {
            put(&mut out, &account.id, &account.value)?;
        }
    }
    put(&mut out, "52", &input.category_code)?;
    put(&mut out, "53", &format!("{:03}", input.currency))?;
    if let Some(fen) = input.amount_fen {
        if input.currency != CNY {
            return Err(MpmError::Invalid { id: "54".into(), reason: "amounts in fen are for the yuan (156)" });
        }
        put(&mut out, "54", &format!("{}.{:02}", fen / 100, fen % 100))?;
    }
    put(&mut out, "58", &input.country)?;
    put(&mut out, "59", &input.name)?;
    put(&mut out, "60", &input.city)?;
    for (id, template) in [("62", &input.additional), ("64", &input.alternate_language)] {
        if !template.is_empty() {
            let mut inner = String::new();
            for f in template {
                put(&mut inner, &f.id, &f.value)?;
            }
            put(&mut out, id, &inner)?;
        }
    }
    out.push_str("6304");
    let crc = crc16_ccitt_false(out.as_bytes());
    out.push_str(&format!("{crc:04X}"));
    Ok(out)
}

fn put(out: &mut String, id: &str, value: &str) -> Result<(), MpmError> {
    let n = value.chars().count();
    if n > 99 {
        return Err(MpmError::Invalid { id: id.into(), reason: "a value is at most 99 characters" });
    }
    out.push_str(id);
    out.push_str(&format!("{n:02}"));
    out.push_str(value);
    Ok(())
}

fn id_number(id: &str) -> Option<u8> {
    id.parse().ok()
}

/// Splits `chars` into data objects; `offset` is where `chars` starts in the whole payload.
fn split(chars: &[char], offset: usize) -> Result<Vec<DataObject>, MpmError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at = offset + i;
        let id = two_digits(chars.get(i..i + 2)).ok_or(if i + 2 > chars.len() {
            MpmError::Truncated { at }
        } else {
            MpmError::BadId { at }
        })?;
        let id_text = format!("{id:02}");
        let len = two_digits(chars.get(i + 2..i + 4)).ok_or(if i + 4 > chars.len() {
            MpmError::Truncated { at }
        } else {
            MpmError::BadLength { id: id_text.clone(), at }
        })? as usize;
        let value = chars.get(i + 4..i + 4 + len).ok_or(MpmError::Truncated { at })?;
        out.push(DataObject { id: id_text, value: value.iter().collect() });
        i += 4 + len;
    }
    Ok(out)
}

fn two_digits(chars: Option<&[char]>) -> Option<u8> {
    match chars? {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some((*a as u8 - b'0') * 10 + (*b as u8 - b'0')),
        _ => None,
    }
}

/// A template's data objects (their positions are not reported within the template).
fn sub_objects(o: &DataObject) -> Result<Vec<DataObject>, MpmError> {
    let chars: Vec<char> = o.value.chars().collect();
    split(&chars, 0).map_err(|_| MpmError::Invalid { id: o.id.clone(), reason: "its data objects do not parse" })
}

fn check_crc(chars: &[char], objects: &[DataObject]) -> Result<(), MpmError> {
    match objects.last() {
        Some(last) if last.id == "63" && last.value.chars().count() == 4 => {}
        _ => return Err(MpmError::CrcNotLast),
    }
    if objects.iter().filter(|o| o.id == "63").count() != 1 {
        return Err(MpmError::Duplicate { id: "63".into() });
    }
    // Everything but the four CRC digits, in UTF-8 (the characters are the payload's own).
    let covered: String = chars[..chars.len() - 4].iter().collect();
    let expected = crc16_ccitt_false(covered.as_bytes());
    let found: String = chars[chars.len() - 4..].iter().collect();
    match u16::from_str_radix(&found, 16) {
        Ok(value) if value == expected && found.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => Err(MpmError::CrcMismatch { expected, found }),
    }
}

/// "23.72" -> 2372; "100" -> 10000; "0.5" -> 50. `None` for anything else, zero included.
fn amount_to_fen(a: &str) -> Option<u64> {
    if a.is_empty() || a.len() > 13 || a.starts_with('.') {
        return None;
    }
    let (whole, cents) = match a.split_once('.') {
        Some((w, c)) if c.len() <= 2 && !c.is_empty() => (w, c),
        Some(_) => return None,
        None => (a, ""),
    };
    if !whole.bytes().chain(cents.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let cents: u64 = format!("{cents:0<2}").parse().ok()?;
    let fen = whole.checked_mul(100)?.checked_add(cents)?;
    (fen > 0).then_some(fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example payload of the EMVCo merchant-presented mode specification: a Beijing
    /// merchant with two account templates, an amount, a tip indicator, additional data, a
    /// Chinese name and city in the alternate-language template and an unreserved template 91.
    /// Its CRC is A13A over the UTF-8 bytes (over GBK it would be B333: the bytes matter).
    const EMVCO_EXAMPLE: &str = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678\
        520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412\
        340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A";

    #[test]
    fn the_emvco_example_decodes() {
        let qr = decode(EMVCO_EXAMPLE).unwrap();
        assert_eq!(qr.initiation, Some(Initiation::Dynamic));
        assert_eq!(qr.accounts.len(), 2);
        assert_eq!(qr.accounts[0].id, "29");
        assert_eq!(qr.accounts[0].guid.as_deref(), Some("D15600000000"));
        assert_eq!(qr.accounts[0].fields[1], DataObject::new("05", "A93FO3230Q"));
        assert_eq!((qr.category_code.as_str(), qr.currency, qr.amount_fen), ("4111", CNY, Some(2372)));
        assert_eq!((qr.country.as_str(), qr.name.as_str(), qr.city.as_str()), ("CN", "BEST TRANSPORT", "BEIJING"));
        assert_eq!(qr.alternate_language[1], DataObject::new("01", "最佳运输"), "lengths count characters");
        assert_eq!(qr.additional[0], DataObject::new("03", "1234"));
        let ids: Vec<&str> = qr.objects.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["00", "01", "29", "31", "52", "58", "59", "60", "64", "54", "53", "55", "62", "91", "63"]);
        // The CRC is over UTF-8: the same text's CRC over GBK bytes differs.
        let covered = &EMVCO_EXAMPLE[..EMVCO_EXAMPLE.len() - 4];
        assert_eq!(crc16_ccitt_false(covered.as_bytes()), 0xA13A);
    }

    #[test]
    fn a_wrong_crc_a_cut_or_a_missing_field_is_a_typed_error() {
        let wrong_crc = EMVCO_EXAMPLE.replace("6304A13A", "6304B333");
        assert_eq!(decode(&wrong_crc), Err(MpmError::CrcMismatch { expected: 0xA13A, found: "B333".into() }));
        // One character changed anywhere before the CRC breaks it.
        let altered = EMVCO_EXAMPLE.replacen("23.72", "93.72", 1);
        assert!(matches!(decode(&altered), Err(MpmError::CrcMismatch { .. })));
        // A length that runs past the end.
        assert_eq!(decode("0002010102"), Err(MpmError::Truncated { at: 6 }));
        assert_eq!(decode("000201015"), Err(MpmError::Truncated { at: 6 }));
        assert_eq!(decode("000X01"), Err(MpmError::BadLength { id: "00".into(), at: 0 }));
        assert_eq!(decode("AB0201"), Err(MpmError::BadId { at: 0 }));
        assert_eq!(decode(""), Err(MpmError::CrcNotLast));
        // A payload with a good CRC but no merchant account.
        let no_account = with_crc("000201010211520441115303156580 2CN5902AB6002BJ".replace(' ', "").as_str());
        assert_eq!(decode(&no_account), Err(MpmError::Missing { id: "02-51" }));
        let no_city = with_crc("00020101021102031235204411153031565802CN5902AB");
        assert_eq!(decode(&no_city), Err(MpmError::Missing { id: "60" }));
        let dynamic_without_amount = with_crc("00020101021202031235204411153031565802CN5902AB6002BJ");
        assert!(matches!(decode(&dynamic_without_amount), Err(MpmError::Invalid { id, .. }) if id == "54"));
        assert_eq!(decode(&"0".repeat(600)), Err(MpmError::TooLong));
    }

    fn with_crc(body: &str) -> String {
        let covered = format!("{body}6304");
        format!("{covered}{:04X}", crc16_ccitt_false(covered.as_bytes()))
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same() {
        let input = MerchantQrInput {
            initiation: Initiation::Dynamic,
            accounts: vec![MerchantAccount {
                id: "26".into(),
                guid: Some("com.starpos.sandbox".into()),
                value: String::new(),
                fields: vec![DataObject::new("01", "ord_0123456789abcdef")],
            }],
            category_code: "5411".into(),
            currency: CNY,
            amount_fen: Some(12_345),
            country: "CN".into(),
            name: "星标测试店".into(),
            city: "深圳".into(),
            additional: vec![DataObject::new("05", "ord_0123456789abcdef"), DataObject::new("07", "SP100-000123")],
            alternate_language: vec![],
        };
        let payload = encode(&input).unwrap();
        let qr = decode(&payload).unwrap();
        assert_eq!(qr.amount.as_deref(), Some("123.45"));
        assert_eq!(qr.amount_fen, Some(12_345));
        assert_eq!((qr.name.as_str(), qr.city.as_str()), ("星标测试店", "深圳"));
        assert_eq!(qr.accounts[0].guid.as_deref(), Some("com.starpos.sandbox"));
        assert_eq!(qr.accounts[0].fields[1], DataObject::new("01", "ord_0123456789abcdef"));
        assert_eq!(qr.additional, input.additional);
        let too_long = MerchantQrInput { name: "x".repeat(100), ..input.clone() };
        assert!(matches!(encode(&too_long), Err(MpmError::Invalid { id, .. }) if id == "59"));
        let dollars = MerchantQrInput { currency: 840, ..input };
        assert!(matches!(encode(&dollars), Err(MpmError::Invalid { id, .. }) if id == "54"));
    }

    #[test]
    fn amounts_in_fen() {
        assert_eq!(amount_to_fen("23.72"), Some(2372));
        assert_eq!(amount_to_fen("100"), Some(10_000));
        assert_eq!(amount_to_fen("0.5"), Some(50));
        for bad in ["", ".5", "1.", "1.234", "1,00", "-1", "0", "0.00", "1e3", "99999999999999"] {
            assert_eq!(amount_to_fen(bad), None, "{bad}");
        }
    }
}
