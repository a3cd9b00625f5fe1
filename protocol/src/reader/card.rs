//! Reading a card: the payloads of read-card, PIN entry and chip completion
//! (docs/reader-protocol.md, section 6.2), shared by the core and the simulated reader, and the
//! checks the phone makes on a card result before anything else sees it.

use super::commands::{put_str, Reader};
use super::tlv::{self, Tag, Tlv};

/// ISO 4217 numeric code of the yuan.
pub const CURRENCY_CNY: u16 = 156;

/// How the card was read. The values are bits so that a request can allow several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryMode {
    Swipe = 1,
    Insert = 2,
    Tap = 4,
}

impl EntryMode {
    pub fn from_byte(b: u8) -> Option<EntryMode> {
        match b {
            1 => Some(EntryMode::Swipe),
            2 => Some(EntryMode::Insert),
            4 => Some(EntryMode::Tap),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryMode::Swipe => "swipe",
            EntryMode::Insert => "insert",
            EntryMode::Tap => "tap",
        }
    }

    /// Inverse of [`EntryMode::as_str`].
    pub fn parse(name: &str) -> Option<EntryMode> {
        [EntryMode::Swipe, EntryMode::Insert, EntryMode::Tap].into_iter().find(|m| m.as_str() == name)
    }
}

/// A set of allowed entry modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryModes(pub u8);

impl EntryModes {
    pub const ALL: EntryModes = EntryModes(1 | 2 | 4);
    /// The chip, inserted or tapped: what the phone asks for once a chip card was swiped.
    pub const CHIP: EntryModes = EntryModes(2 | 4);
    /// The stripe only: the fallback after a chip that could not be read.
    pub const SWIPE: EntryModes = EntryModes(1);

    pub fn allows(self, mode: EntryMode) -> bool {
        self.0 & mode as u8 != 0
    }
}

/// Read card (`0x0020`): the phone asks for a card for this amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCardRequest {
    pub amount_fen: u64,
    pub currency: u16,
    pub modes: EntryModes,
    /// How long the reader waits for a card.
    pub timeout_secs: u8,
    /// Fresh for every read; the reader puts it back in the result, so an old result cannot be
    /// passed off as the answer to this request.
    pub nonce: [u8; 16],
    /// A swipe after this reader failed to read the card's chip (EMV fallback). The reader
    /// refuses it unless its previous read ended with [`Status::ChipUnreadable`], and says so
    /// in its MAC-covered result, so the platform can tell a fallback from a downgrade.
    ///
    /// [`Status::ChipUnreadable`]: super::commands::Status::ChipUnreadable
    pub fallback: bool,
}

impl ReadCardRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.amount_fen.to_be_bytes().to_vec();
        out.extend_from_slice(&self.currency.to_be_bytes());
        out.push(self.modes.0);
        out.push(self.timeout_secs);
        out.extend_from_slice(&self.nonce);
        out.push(self.fallback as u8);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<ReadCardRequest> {
        let mut r = Reader(bytes);
        let request = ReadCardRequest {
            amount_fen: u64::from_be_bytes(r.bytes(8)?.try_into().ok()?),
            currency: u16::from_be_bytes(r.bytes(2)?.try_into().ok()?),
            modes: EntryModes(r.u8()?),
            timeout_secs: r.u8()?,
            nonce: r.bytes(16)?.try_into().ok()?,
            fallback: match r.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
        };
        r.0.is_empty().then_some(request)
    }
}

/// What the reader answers to read card: everything the platform needs, none of it clear.
#[derive(Clone, PartialEq, Eq)]
pub struct CardResult {
    pub entry_mode: EntryMode,
    /// The amount and nonce of the request, as the reader understood them.
    pub amount_fen: u64,
    pub currency: u16,
    pub nonce: [u8; 16],
    /// First six and last four digits at most.
    pub masked_pan: String,
    /// The chip application's label (tag 50), empty for a swipe.
    pub app_label: String,
    /// Key serial number of the DUKPT transaction key that protects this card's data.
    pub ksn: [u8; 12],
    /// Track 2 under the DUKPT data key (the sandbox's `hsm::track2` shows the scheme).
    pub encrypted_track2: Vec<u8>,
    /// The chip's data objects as the reader collected them (BER-TLV), empty for a swipe.
    pub icc_data: Vec<u8>,
    /// The card asks for an online PIN: PIN entry follows.
    pub pin_required: bool,
    /// The card's service code (read from its track) says it has a chip (first digit 2 or 6):
    /// a swipe of it is refused unless it is a fallback.
    pub chip_card: bool,
    /// This is a fallback swipe after a chip this reader could not read.
    pub fallback: bool,
    /// HMAC-SHA256 under the transaction's DUKPT MAC-generation key over [`mac_input`]: the
    /// platform verifies it, so the phone cannot change what the reader read.
    pub mac: [u8; 32],
}

impl std::fmt::Debug for CardResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardResult")
            .field("entry_mode", &self.entry_mode)
            .field("amount_fen", &self.amount_fen)
            .field("masked_pan", &self.masked_pan)
            .field("encrypted_track2", &format_args!("<{} bytes>", self.encrypted_track2.len()))
            .field("icc_data", &format_args!("<{} bytes>", self.icc_data.len()))
            .field("pin_required", &self.pin_required)
            .field("chip_card", &self.chip_card)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl CardResult {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.entry_mode as u8];
        out.extend_from_slice(&self.amount_fen.to_be_bytes());
        out.extend_from_slice(&self.currency.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        put_str(&mut out, &self.masked_pan);
        put_str(&mut out, &self.app_label);
        out.extend_from_slice(&self.ksn);
        put_blob(&mut out, &self.encrypted_track2);
        put_blob(&mut out, &self.icc_data);
        out.push(self.pin_required as u8);
        out.push(self.chip_card as u8 | (self.fallback as u8) << 1);
        out.extend_from_slice(&self.mac);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<CardResult> {
        let mut r = Reader(bytes);
        let result = CardResult {
            entry_mode: EntryMode::from_byte(r.u8()?)?,
            amount_fen: u64::from_be_bytes(r.bytes(8)?.try_into().ok()?),
            currency: u16::from_be_bytes(r.bytes(2)?.try_into().ok()?),
            nonce: r.bytes(16)?.try_into().ok()?,
            masked_pan: r.str()?,
            app_label: r.str()?,
            ksn: r.bytes(12)?.try_into().ok()?,
            encrypted_track2: blob(&mut r)?,
            icc_data: blob(&mut r)?,
            pin_required: r.u8()? != 0,
            chip_card: false,
            fallback: false,
            mac: [0; 32],
        };
        let flags = r.u8()?;
        if flags > 3 {
            return None;
        }
        let result = CardResult {
            chip_card: flags & 1 != 0,
            fallback: flags & 2 != 0,
            mac: r.bytes(32)?.try_into().ok()?,
            ..result
        };
        r.0.is_empty().then_some(result)
    }
}

/// PIN entry (`0x0021`): the request carries the read's nonce; the answer is the PIN block.
#[derive(Clone, PartialEq, Eq)]
pub struct PinResult {
    pub nonce: [u8; 16],
    /// Same KSN as the card result: one DUKPT transaction protects both.
    pub ksn: [u8; 12],
    /// ISO 9564 format 4, enciphered under the DUKPT PIN key.
    pub pin_block: [u8; 16],
}

impl std::fmt::Debug for PinResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinResult { <enciphered> }")
    }
}

impl PinResult {
    pub fn encode(&self) -> Vec<u8> {
        [&self.nonce[..], &self.ksn, &self.pin_block].concat()
    }

    pub fn decode(bytes: &[u8]) -> Option<PinResult> {
        (bytes.len() == 44).then(|| PinResult {
            nonce: bytes[..16].try_into().expect("length checked"),
            ksn: bytes[16..28].try_into().expect("length checked"),
            pin_block: bytes[28..].try_into().expect("length checked"),
        })
    }
}

/// Complete a chip transaction (`0x0022`): the platform's answer goes to the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteRequest {
    pub nonce: [u8; 16],
    /// ISO 8583 field 39 (`00` approved).
    pub response_code: [u8; 2],
    /// Issuer authentication data (tag 91) and issuer scripts (71, 72), BER-TLV.
    pub issuer_data: Vec<u8>,
}

impl CompleteRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.nonce.to_vec();
        out.extend_from_slice(&self.response_code);
        put_blob(&mut out, &self.issuer_data);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<CompleteRequest> {
        let mut r = Reader(bytes);
        let request = CompleteRequest {
            nonce: r.bytes(16)?.try_into().ok()?,
            response_code: r.bytes(2)?.try_into().ok()?,
            issuer_data: blob(&mut r)?,
        };
        r.0.is_empty().then_some(request)
    }
}

/// The card's final word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteResult {
    /// The card produced a TC (approved) rather than an AAC (declined).
    pub approved: bool,
    /// Final cryptogram and results (9F26, 9F27, 95 TVR, 9B TSI), BER-TLV.
    pub icc_data: Vec<u8>,
}

impl CompleteResult {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.approved as u8];
        put_blob(&mut out, &self.icc_data);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<CompleteResult> {
        let mut r = Reader(bytes);
        let result = CompleteResult { approved: r.u8()? == 1, icc_data: blob(&mut r)? };
        r.0.is_empty().then_some(result)
    }
}

fn put_blob(out: &mut Vec<u8>, bytes: &[u8]) {
    // Payloads are far below 64 KiB (a frame holds 8 KiB); `blob` refuses a short one anyway.
    out.extend_from_slice(&(bytes.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(&bytes[..bytes.len().min(u16::MAX as usize)]);
}

fn blob(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    let n = u16::from_be_bytes(r.bytes(2)?.try_into().ok()?) as usize;
    Some(r.bytes(n)?.to_vec())
}

/// Why the phone refused a card result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardDataError {
    #[error("the reader sent clear card data (tag {tag}); the result was discarded")]
    ClearCardData { tag: String },
    #[error("the reader sent a clear card number or track; the result was discarded")]
    ClearPan,
    #[error("the card result is for {card} fen, not the {requested} fen asked for")]
    AmountMismatch { requested: u64, card: u64 },
    #[error("the card result does not answer this request (replayed or stale)")]
    NotThisRequest,
    #[error("the card was read by {mode}, which this payment does not allow")]
    ModeNotAllowed { mode: &'static str },
    #[error("the card has a chip: insert or tap it (a swipe is taken only after its chip failed)")]
    ChipCardSwiped,
    #[error("the card result is malformed: {reason}")]
    Malformed { reason: &'static str },
}

/// A card result the phone has checked: bound to the request, no clear card data, field 55
/// cut down to the allow-list. Safe to keep in the journal and send to the platform.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    pub entry_mode: EntryMode,
    pub amount_fen: u64,
    pub masked_pan: String,
    pub app_label: String,
    /// The chip application identifier (tag 84), hex, for the receipt; empty for a swipe.
    pub aid: String,
    pub ksn: [u8; 12],
    pub encrypted_track2: Vec<u8>,
    /// ISO 8583 field 55: the allow-listed ICC data, BER-TLV; empty for a swipe.
    pub field55: Vec<u8>,
    pub pin_required: bool,
    /// The read's nonce, needed for PIN entry and completion (and sent to the platform, which
    /// finds it in the reader's MAC).
    pub nonce: [u8; 16],
    /// A fallback swipe after the chip could not be read.
    pub fallback: bool,
    /// The reader's MAC over [`mac_input`], for the platform.
    pub mac: [u8; 32],
}

impl std::fmt::Debug for CardRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardRead")
            .field("entry_mode", &self.entry_mode)
            .field("amount_fen", &self.amount_fen)
            .field("masked_pan", &self.masked_pan)
            .field("aid", &self.aid)
            .field("field55", &format_args!("<{} bytes>", self.field55.len()))
            .field("pin_required", &self.pin_required)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

/// What the reader's MAC covers, for the reader that makes it and the platform that checks
/// it: the amount and currency, the request's nonce, how the card was read and whether as a
/// fallback, the masked PAN, the KSN, the encrypted track 2 and field 55 (the allow-listed chip
/// data, [`field55_of`]), each blob with its length. Anything the phone changed on the way (a
/// swipe called a tap, another amount, a replayed track under a new nonce) fails the check.
pub struct MacFields<'a> {
    pub amount_fen: u64,
    pub currency: u16,
    pub nonce: &'a [u8; 16],
    pub entry_mode: EntryMode,
    pub fallback: bool,
    pub masked_pan: &'a str,
    pub ksn: &'a [u8; 12],
    pub encrypted_track2: &'a [u8],
    pub field55: &'a [u8],
}

/// The bytes the reader's MAC is computed over (docs/reader-protocol.md, section 6.2).
pub fn mac_input(f: &MacFields<'_>) -> Vec<u8> {
    let mut out = b"STARPOS-CARD-RESULT-MAC-1".to_vec();
    out.extend_from_slice(&f.amount_fen.to_be_bytes());
    out.extend_from_slice(&f.currency.to_be_bytes());
    out.extend_from_slice(f.nonce);
    out.push(f.entry_mode as u8);
    out.push(f.fallback as u8);
    out.extend_from_slice(f.ksn);
    for part in [f.masked_pan.as_bytes(), f.encrypted_track2, f.field55] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// ISO 8583 field 55 from a chip's data objects: the allow-listed tags, in the order read.
/// The reader MACs this and the phone sends it, so both build it with this one function.
pub fn field55_of(objects: &[Tlv]) -> Vec<u8> {
    tlv::encode(&tlv::field55_filter(objects, tlv::FIELD55_ALLOW))
}

/// Whether a service code (the three digits after the expiry on track 2) says the card has a
/// chip: its first digit is 2 or 6 (ISO/IEC 7813).
pub fn service_code_has_chip(service_code: &str) -> bool {
    matches!(service_code.as_bytes().first(), Some(b'2' | b'6'))
}

/// China's small-amount no-PIN rule for contactless: up to 1,000 yuan a tap goes without PIN.
pub const TAP_NO_PIN_MAX_FEN: u64 = 100_000;

/// Whether a card read this way for this amount needs an online PIN: the reader asks for one
/// by this rule and the platform decides by it again from the authenticated entry mode.
pub fn pin_required(entry_mode: EntryMode, amount_fen: u64) -> bool {
    !(entry_mode == EntryMode::Tap && amount_fen <= TAP_NO_PIN_MAX_FEN)
}

const AMOUNT_AUTHORISED: Tag = Tag::known(0x9F02);
const CURRENCY_CODE: Tag = Tag::known(0x5F2A);
const DF_NAME: Tag = Tag::known(0x84);

/// Checks a reader's card result against the request it answers.
pub fn check_result(request: &ReadCardRequest, result: CardResult) -> Result<CardRead, CardDataError> {
    if result.nonce != request.nonce {
        return Err(CardDataError::NotThisRequest);
    }
    if result.amount_fen != request.amount_fen || result.currency != request.currency {
        return Err(CardDataError::AmountMismatch { requested: request.amount_fen, card: result.amount_fen });
    }
    if !request.modes.allows(result.entry_mode) {
        return Err(CardDataError::ModeNotAllowed { mode: result.entry_mode.as_str() });
    }
    if result.fallback != request.fallback || (result.fallback && result.entry_mode != EntryMode::Swipe) {
        return Err(CardDataError::Malformed { reason: "the fallback flag does not match the request" });
    }
    if result.entry_mode == EntryMode::Swipe && result.chip_card && !request.fallback {
        return Err(CardDataError::ChipCardSwiped);
    }
    if result.masked_pan.chars().filter(char::is_ascii_digit).count() > 10 {
        return Err(CardDataError::ClearPan);
    }
    if looks_like_clear_track(&result.encrypted_track2) {
        return Err(CardDataError::ClearPan);
    }
    if result.encrypted_track2.is_empty() || !result.encrypted_track2.len().is_multiple_of(16) {
        return Err(CardDataError::Malformed { reason: "encrypted track 2 is not whole AES blocks" });
    }
    let (field55, aid) = if result.entry_mode == EntryMode::Swipe {
        if !result.icc_data.is_empty() {
            return Err(CardDataError::Malformed { reason: "chip data on a swiped card" });
        }
        (Vec::new(), String::new())
    } else {
        let objects = tlv::decode_nested(&result.icc_data)
            .map_err(|_| CardDataError::Malformed { reason: "ICC data is not BER-TLV" })?;
        if let Some(tag) = tlv::contains_card_secret(&objects) {
            return Err(CardDataError::ClearCardData { tag: format!("{:X}", tag.raw()) });
        }
        let card_amount = tlv::find_value(&objects, AMOUNT_AUTHORISED)
            .and_then(bcd_amount)
            .ok_or(CardDataError::Malformed { reason: "no readable amount (9F02) in the chip data" })?;
        if card_amount != request.amount_fen {
            return Err(CardDataError::AmountMismatch { requested: request.amount_fen, card: card_amount });
        }
        if tlv::find_value(&objects, CURRENCY_CODE) != Some(&bcd_currency(request.currency)[..]) {
            return Err(CardDataError::Malformed { reason: "chip currency (5F2A) differs from the request" });
        }
        let aid = tlv::find_value(&objects, DF_NAME).map(hex::encode_upper).unwrap_or_default();
        (field55_of(&objects), aid)
    };
    Ok(CardRead {
        entry_mode: result.entry_mode,
        amount_fen: result.amount_fen,
        masked_pan: result.masked_pan,
        app_label: result.app_label,
        aid,
        ksn: result.ksn,
        encrypted_track2: result.encrypted_track2,
        field55,
        pin_required: result.pin_required,
        nonce: result.nonce,
        fallback: result.fallback,
        mac: result.mac,
    })
}

/// EMV `n 12` amount (six BCD bytes) in minor units; `None` if not BCD or too long.
pub fn bcd_amount(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != 6 {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, b| {
        let (hi, lo) = (b >> 4, b & 0x0F);
        (hi <= 9 && lo <= 9).then_some(acc * 100 + u64::from(hi) * 10 + u64::from(lo))
    })
}

/// The six BCD bytes of an amount (at most 999 999 999 999 fen; larger amounts saturate).
pub fn amount_bcd(fen: u64) -> [u8; 6] {
    let mut v = fen.min(999_999_999_999);
    let mut out = [0u8; 6];
    for byte in out.iter_mut().rev() {
        let lo = (v % 10) as u8;
        v /= 10;
        let hi = (v % 10) as u8;
        v /= 10;
        *byte = hi << 4 | lo;
    }
    out
}

/// A currency code as EMV `n 3` (two BCD bytes: 156 is `01 56`).
pub fn bcd_currency(code: u16) -> [u8; 2] {
    let c = code.min(999);
    [(c / 100) as u8, (((c / 10) % 10) << 4 | (c % 10)) as u8]
}

/// Whether `bytes` look like a clear track 2 or track 1 rather than ciphertext: the phone
/// refuses a reader that sends card data in the clear.
pub fn looks_like_clear_track(bytes: &[u8]) -> bool {
    let printable = bytes.iter().all(|b| b.is_ascii_graphic());
    let has_separator = bytes.iter().any(|b| matches!(b, b'=' | b'^' | b'D'));
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    !bytes.is_empty() && printable && has_separator && digits >= 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_tracks_are_recognised() {
        assert!(looks_like_clear_track(b"6217001234567890123=30122011234567890"));
        assert!(looks_like_clear_track(b";6217001234567890123=3012201?"));
        assert!(looks_like_clear_track(b"%B6217001234567890123^ZHANG/SAN^3012201?"));
        assert!(!looks_like_clear_track(b""));
    }

    fn request() -> ReadCardRequest {
        ReadCardRequest {
            amount_fen: 12_345,
            currency: CURRENCY_CNY,
            modes: EntryModes::ALL,
            timeout_secs: 30,
            nonce: [7; 16],
            fallback: false,
        }
    }

    fn chip_result(extra: Vec<Tlv>) -> CardResult {
        let mut objects = vec![
            Tlv::new(Tag::known(0x9F26), vec![1; 8]),
            Tlv::new(AMOUNT_AUTHORISED, amount_bcd(12_345).to_vec()),
            Tlv::new(CURRENCY_CODE, bcd_currency(156).to_vec()),
            Tlv::new(DF_NAME, vec![0xA0, 0, 0, 3, 0x33, 1, 1, 1]),
            Tlv::new(Tag::known(0x50), b"UnionPay Debit".to_vec()),
        ];
        objects.extend(extra);
        CardResult {
            entry_mode: EntryMode::Insert,
            amount_fen: 12_345,
            currency: CURRENCY_CNY,
            nonce: [7; 16],
            masked_pan: "621700*********0015".into(),
            app_label: "UnionPay Debit".into(),
            ksn: [1; 12],
            encrypted_track2: vec![0xA5; 32],
            icc_data: tlv::encode(&objects),
            pin_required: true,
            chip_card: true,
            fallback: false,
            mac: [9; 32],
        }
    }

    #[test]
    fn payloads_round_trip_and_truncations_are_refused() {
        let r = request();
        assert_eq!(ReadCardRequest::decode(&r.encode()), Some(r.clone()));
        let c = chip_result(vec![]);
        let bytes = c.encode();
        assert_eq!(CardResult::decode(&bytes), Some(c));
        for cut in 0..bytes.len() {
            assert!(CardResult::decode(&bytes[..cut]).is_none());
        }
        let p = PinResult { nonce: [1; 16], ksn: [2; 12], pin_block: [3; 16] };
        assert_eq!(PinResult::decode(&p.encode()), Some(p));
        let q = CompleteRequest { nonce: [1; 16], response_code: *b"00", issuer_data: vec![0x91, 1, 0] };
        assert_eq!(CompleteRequest::decode(&q.encode()), Some(q));
        let d = CompleteResult { approved: true, icc_data: vec![0x95, 0] };
        assert_eq!(CompleteResult::decode(&d.encode()), Some(d));
    }

    #[test]
    fn a_good_result_keeps_only_allow_listed_tags() {
        let read = check_result(&request(), chip_result(vec![Tlv::new(Tag::known(0x5F34), vec![1])])).unwrap();
        let kept = tlv::decode_nested(&read.field55).unwrap();
        let tags: Vec<u32> = kept.iter().map(|t| t.tag.raw()).collect();
        assert_eq!(tags, vec![0x9F26, 0x9F02, 0x5F2A, 0x84]);
        assert_eq!(read.aid, "A000000333010101");
        assert!(!format!("{read:?}").contains("A5A5"));
    }

    #[test]
    fn clear_card_data_is_refused() {
        for tag in [0x5A, 0x57, 0x56, 0x5F20] {
            let r = chip_result(vec![Tlv::new(Tag::new(tag).unwrap(), b"6217001234567890015".to_vec())]);
            assert!(matches!(check_result(&request(), r), Err(CardDataError::ClearCardData { .. })), "{tag:X}");
        }
        let mut clear_pan = chip_result(vec![]);
        clear_pan.masked_pan = "6217001234567890015".into();
        assert_eq!(check_result(&request(), clear_pan), Err(CardDataError::ClearPan));
        let mut clear_track = chip_result(vec![]);
        clear_track.encrypted_track2 = b"6217001234567890015=30122011234567".to_vec();
        assert_eq!(check_result(&request(), clear_track), Err(CardDataError::ClearPan));
    }

    #[test]
    fn amount_and_request_binding() {
        let mut other_amount = chip_result(vec![]);
        other_amount.amount_fen = 1;
        assert_eq!(
            check_result(&request(), other_amount),
            Err(CardDataError::AmountMismatch { requested: 12_345, card: 1 })
        );
        // The reader's echo agrees but the chip was asked for another amount.
        let mut r = chip_result(vec![]);
        let objects = vec![
            Tlv::new(AMOUNT_AUTHORISED, amount_bcd(99).to_vec()),
            Tlv::new(CURRENCY_CODE, bcd_currency(156).to_vec()),
        ];
        r.icc_data = tlv::encode(&objects);
        assert_eq!(check_result(&request(), r), Err(CardDataError::AmountMismatch { requested: 12_345, card: 99 }));
        let mut replayed = chip_result(vec![]);
        replayed.nonce = [8; 16];
        assert_eq!(check_result(&request(), replayed), Err(CardDataError::NotThisRequest));
        let mut swipe_only = request();
        swipe_only.modes = EntryModes(EntryMode::Swipe as u8);
        assert_eq!(
            check_result(&swipe_only, chip_result(vec![])),
            Err(CardDataError::ModeNotAllowed { mode: "insert" })
        );
    }

    fn swipe_result(chip_card: bool, fallback: bool) -> CardResult {
        CardResult {
            entry_mode: EntryMode::Swipe,
            app_label: String::new(),
            icc_data: Vec::new(),
            chip_card,
            fallback,
            ..chip_result(vec![])
        }
    }

    #[test]
    fn a_swiped_chip_card_is_refused_unless_it_is_the_fallback_asked_for() {
        assert_eq!(check_result(&request(), swipe_result(true, false)), Err(CardDataError::ChipCardSwiped));
        let read = check_result(&request(), swipe_result(false, false)).expect("a magstripe-only card swipes");
        assert!(!read.fallback);
        let fallback = ReadCardRequest { modes: EntryModes::SWIPE, fallback: true, ..request() };
        let read = check_result(&fallback, swipe_result(true, true)).expect("the fallback after a failed chip");
        assert!(read.fallback);
        // The reader must say "fallback" exactly when it was asked for one, and only for a swipe.
        for (asked, result) in [
            (&request(), swipe_result(false, true)),
            (&fallback, swipe_result(true, false)),
            (&ReadCardRequest { fallback: true, ..request() }, CardResult { fallback: true, ..chip_result(vec![]) }),
        ] {
            assert!(matches!(check_result(asked, result), Err(CardDataError::Malformed { .. })));
        }
    }

    #[test]
    fn the_mac_input_changes_with_every_field_it_covers() {
        let (nonce, ksn) = ([1; 16], [2; 12]);
        let base = MacFields {
            amount_fen: 100,
            currency: CURRENCY_CNY,
            nonce: &nonce,
            entry_mode: EntryMode::Insert,
            fallback: false,
            masked_pan: "621700*********0015",
            ksn: &ksn,
            encrypted_track2: &[0xA5; 16],
            field55: &[0x9F, 0x26, 1, 0],
        };
        let other_nonce = [3; 16];
        let other_ksn = [4; 12];
        let variants = [
            MacFields { amount_fen: 101, ..base },
            MacFields { currency: 840, ..base },
            MacFields { nonce: &other_nonce, ..base },
            MacFields { entry_mode: EntryMode::Tap, ..base },
            MacFields { fallback: true, ..base },
            MacFields { masked_pan: "621700*********0023", ..base },
            MacFields { ksn: &other_ksn, ..base },
            MacFields { encrypted_track2: &[0xA5; 32], ..base },
            MacFields { field55: &[], ..base },
            // Bytes moved from one blob to the next: the lengths keep them apart.
            MacFields { encrypted_track2: &[0xA5; 17], field55: &[0x26, 1, 0], ..base },
        ];
        for v in variants {
            assert_ne!(mac_input(&v), mac_input(&base));
        }
    }

    #[test]
    fn chip_service_codes_and_the_no_pin_rule() {
        for (code, chip) in [("201", true), ("220", true), ("601", true), ("101", false), ("120", false), ("", false)] {
            assert_eq!(service_code_has_chip(code), chip, "{code}");
        }
        assert!(!pin_required(EntryMode::Tap, TAP_NO_PIN_MAX_FEN));
        assert!(pin_required(EntryMode::Tap, TAP_NO_PIN_MAX_FEN + 1));
        assert!(pin_required(EntryMode::Insert, 1));
        assert!(pin_required(EntryMode::Swipe, 1));
    }

    #[test]
    fn bcd_helpers() {
        assert_eq!(amount_bcd(12_345), [0, 0, 0, 1, 0x23, 0x45]);
        assert_eq!(bcd_amount(&amount_bcd(987_654_321_012)), Some(987_654_321_012));
        assert_eq!(bcd_amount(&[0, 0, 0, 0, 0, 0x1A]), None);
        assert_eq!(bcd_currency(156), [0x01, 0x56]);
    }
}
