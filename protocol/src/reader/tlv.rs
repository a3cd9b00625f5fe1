//! EMV BER-TLV data objects (EMV 4.x Book 3, Annex B).
//!
//! The card answers every command with BER-TLV data objects: READ RECORD gives a `70` template,
//! GET PROCESSING OPTIONS a `77` template, SELECT a `6F` FCI template holding `A5` and `BF0C`.
//! The online authorisation request carries the terminal's and card's ICC data as a flat BER-TLV
//! list in ISO 8583 field 55. This module decodes and encodes that format, filters field 55 and
//! spots clear card data before anything leaves the terminal.
//!
//! # Format
//!
//! * **Tag**, 1 to 3 bytes. If the low five bits of the first byte are all set (`xxx1_1111`) more
//!   bytes follow; each subsequent byte has bit 8 set while yet another byte follows. Bit 6 of the
//!   first byte marks a *constructed* object, whose value is itself a BER-TLV list. EMV does not
//!   follow the strict BER rule that tag numbers below 31 use the one-byte form (`9F02` is tag
//!   number 2 in the two-byte form), so tags are checked for structure only.
//! * **Length**: one byte `00`..`7F`, or `81 xx`, `82 xx xx`, `83 xx xx xx` (big-endian).
//! * **Value**: that many bytes.
//! * Bytes `00` may stand before, between and after data objects (EMV Book 3 Annex B: "for example
//!   due to erased or modified TLV-coded data objects"); decoding skips them, at every level.
//!
//! # Policy
//!
//! Decoding is strict, because what it accepts is then trusted: it rejects the indefinite length
//! `80`, lengths of more than three bytes (`84`..`FF`), long forms that are not minimal (`81 05`,
//! `82 00 80`: no valid encoder produces them and they give two encodings for the same data), tags
//! of more than three bytes, and any tag, length or value that runs past the end of its input or of
//! the constructed object that contains it. Every error carries the byte offset where decoding
//! failed, counted from the start of the input given to [`decode`] / [`decode_nested`]:
//! the first byte of the tag for tag errors, the first byte of the length field for length errors,
//! the first byte of the value for [`TlvError::TruncatedValue`]. Empty input (or input of padding
//! only) is an empty, valid list. No input makes decoding panic, and [`decode_nested`] stops at
//! [`MAX_DEPTH`] levels of constructed objects so that hostile input cannot exhaust the stack.
//!
//! Encoding always writes the minimal length form, and writes no padding, so for every list `l`
//! that [`decode`] (or [`decode_nested`]) returns, `encode(&l)` is the input without its padding.
//!
//! # Tree
//!
//! A [`Tlv`]'s [`Value`] is either raw bytes ([`Value::Bytes`]) or child objects
//! ([`Value::Nested`]). [`decode`] reads one level and keeps every value as raw bytes;
//! [`decode_nested`] descends into every constructed object. [`walk`], [`find`],
//! [`find_value`] and [`leaves`] visit a whole tree in document order (depth first, parents
//! before their children), so `find(&decode_nested(fci)?, Tag::new(0x9F4D).unwrap())` finds the log
//! entry however deep in `6F` / `A5` / `BF0C` it sits.
//!
//! # Card data
//!
//! `Debug` of a [`Tlv`] never prints the value of a tag in [`CARD_SECRET_TAGS`] nor the raw
//! bytes of a constructed object (which may hide one), only their length, so that logging a
//! decoded record does not log a PAN.

use std::fmt;
use std::str::FromStr;

/// The deepest nesting of constructed objects that [`decode_nested`] expands and [`try_encode`]
/// writes. Real EMV data nests at most four or five levels (`6F` / `A5` / `BF0C` / `61` / ...).
pub const MAX_DEPTH: usize = 16;

/// The largest value length a BER-TLV length field of at most three bytes can state (`83 FF FF FF`).
pub const MAX_VALUE_LEN: usize = 0xFF_FFFF;

/// A BER-TLV tag of 1 to 3 bytes, held as its bytes read as a big-endian number
/// (`Tag::new(0x9F26)` is the two bytes `9F 26`).
///
/// Only structurally valid tags can be made: the first byte is not `00` (padding), a one-byte tag
/// does not have `1F` in its low five bits, a longer one does, and bit 8 of each subsequent byte
/// is set exactly when another byte follows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u32);

/// Track 1 Data (`56`): PAN, name, expiry, service code and discretionary data.
pub const TRACK1_DATA: Tag = Tag::known(0x56);
/// Track 2 Equivalent Data (`57`): PAN, expiry, service code and discretionary data.
pub const TRACK2_EQUIVALENT_DATA: Tag = Tag::known(0x57);
/// Application Primary Account Number (`5A`).
pub const PAN: Tag = Tag::known(0x5A);
/// Cardholder Name (`5F20`).
pub const CARDHOLDER_NAME: Tag = Tag::known(0x5F20);
/// Cardholder Name Extended (`9F0B`), for names longer than 26 characters.
pub const CARDHOLDER_NAME_EXTENDED: Tag = Tag::known(0x9F0B);
/// Track 1 Discretionary Data (`9F1F`).
pub const TRACK1_DISCRETIONARY_DATA: Tag = Tag::known(0x9F1F);
/// Track 2 Discretionary Data (`9F20`).
pub const TRACK2_DISCRETIONARY_DATA: Tag = Tag::known(0x9F20);
/// Track 2 Data (`9F6B`) of the contactless kernel C-2 (mag-stripe mode).
pub const TRACK2_DATA_CONTACTLESS: Tag = Tag::known(0x9F6B);

/// Tags whose value is clear card data that must never be logged nor sent in field 55.
///
/// * `56` Track 1 Data, `57` Track 2 Equivalent Data, `9F6B` Track 2 Data (contactless kernel
///   C-2): a whole magnetic track image, that is PAN, expiry date, service code and the
///   discretionary data. Enough to clone the magnetic stripe.
/// * `5A` Application PAN: the card number itself.
/// * `5F20` Cardholder Name, `9F0B` Cardholder Name Extended: cardholder data under PCI DSS.
/// * `9F1F` Track 1 and `9F20` Track 2 Discretionary Data: the issuer's discretionary part of the
///   tracks, which holds card verification values (CVV / iCVV / dCVV) and PIN verification data:
///   sensitive authentication data.
///
/// Not listed: `5F24` Application Expiration Date and `5F25` Effective Date (not secret without
/// the PAN; PCI DSS protects them only stored together with it), `5F34` PAN Sequence Number, and
/// cryptograms and issuer data such as `9F26` and `9F10`, which are made to travel online.
pub const CARD_SECRET_TAGS: &[Tag] = &[
    TRACK1_DATA,
    TRACK2_EQUIVALENT_DATA,
    PAN,
    CARDHOLDER_NAME,
    CARDHOLDER_NAME_EXTENDED,
    TRACK1_DISCRETIONARY_DATA,
    TRACK2_DISCRETIONARY_DATA,
    TRACK2_DATA_CONTACTLESS,
];

/// ICC data tags allowed in ISO 8583 field 55 of an online authorisation request: the EMV data
/// that every scheme asks for to verify the ARQC and judge the transaction.
///
/// | tag | data object | from |
/// |---|---|---|
/// | `9F26` | Application Cryptogram (ARQC) | card |
/// | `9F27` | Cryptogram Information Data | card |
/// | `9F10` | Issuer Application Data | card |
/// | `9F37` | Unpredictable Number | terminal |
/// | `9F36` | Application Transaction Counter | card |
/// | `95` | Terminal Verification Results | terminal |
/// | `9A` | Transaction Date | terminal |
/// | `9C` | Transaction Type | terminal |
/// | `9F02` | Amount, Authorised | terminal |
/// | `5F2A` | Transaction Currency Code | terminal |
/// | `82` | Application Interchange Profile | card |
/// | `9F1A` | Terminal Country Code | terminal |
/// | `9F03` | Amount, Other | terminal |
/// | `9F33` | Terminal Capabilities | terminal |
/// | `9F34` | CVM Results | terminal |
/// | `9F35` | Terminal Type | terminal |
/// | `9F1E` | Interface Device Serial Number | terminal |
/// | `84` | Dedicated File Name (AID) | card |
/// | `9F09` | Application Version Number (terminal) | terminal |
/// | `9F41` | Transaction Sequence Counter | terminal |
///
/// Left out on purpose, to be added per scheme and acquirer where their specifications ask:
/// `5F34` PAN Sequence Number (many acquirers want it in field 23 instead), scheme-specific tags
/// such as `9F53`, `9F66`, `9F6C`, `9F7C`, and `9F6E` and `9F63`, whose meaning differs from one
/// scheme to another. No tag of [`CARD_SECRET_TAGS`] is here.
pub const FIELD55_ALLOW: &[Tag] = &[
    Tag::known(0x9F26),
    Tag::known(0x9F27),
    Tag::known(0x9F10),
    Tag::known(0x9F37),
    Tag::known(0x9F36),
    Tag::known(0x95),
    Tag::known(0x9A),
    Tag::known(0x9C),
    Tag::known(0x9F02),
    Tag::known(0x5F2A),
    Tag::known(0x82),
    Tag::known(0x9F1A),
    Tag::known(0x9F03),
    Tag::known(0x9F33),
    Tag::known(0x9F34),
    Tag::known(0x9F35),
    Tag::known(0x9F1E),
    Tag::known(0x84),
    Tag::known(0x9F09),
    Tag::known(0x9F41),
];

impl Tag {
    /// The tag whose bytes, read as a big-endian number, are `raw` (`0x9F26` for `9F 26`), or
    /// `None` if those bytes are not a valid 1- to 3-byte BER-TLV tag.
    pub const fn new(raw: u32) -> Option<Tag> {
        let [b0, b1, b2, b3] = raw.to_be_bytes();
        let (bytes, len) = if b0 != 0 || raw == 0 {
            return None;
        } else if b1 != 0 {
            ([b1, b2, b3], 3)
        } else if b2 != 0 {
            ([b2, b3, 0], 2)
        } else {
            ([b3, 0, 0], 1)
        };
        if Self::well_formed(bytes, len) {
            Some(Tag(raw))
        } else {
            None
        }
    }

    /// The tag made of exactly these bytes, or `None` if they are not one valid BER-TLV tag.
    pub const fn from_bytes(bytes: &[u8]) -> Option<Tag> {
        match *bytes {
            // A leading 00 would otherwise vanish into the number.
            [0x00, ..] => None,
            [b0] => Self::new(b0 as u32),
            [b0, b1] => Self::new(((b0 as u32) << 8) | b1 as u32),
            [b0, b1, b2] => Self::new(((b0 as u32) << 16) | ((b1 as u32) << 8) | b2 as u32),
            _ => None,
        }
    }

    /// For constants: fails the build if `raw` is not a valid tag.
    pub const fn known(raw: u32) -> Tag {
        match Self::new(raw) {
            Some(tag) => tag,
            None => panic!("not a valid BER-TLV tag"),
        }
    }

    const fn well_formed(bytes: [u8; 3], len: usize) -> bool {
        let more = bytes[0] & 0x1F == 0x1F;
        match len {
            1 => bytes[0] != 0 && !more,
            2 => more && bytes[1] & 0x80 == 0,
            3 => more && bytes[1] & 0x80 != 0 && bytes[2] & 0x80 == 0,
            _ => false,
        }
    }

    /// The tag's bytes read as a big-endian number (`0x9F26`).
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// How many bytes the tag takes: 1, 2 or 3.
    pub const fn byte_len(self) -> usize {
        if self.0 > 0xFFFF {
            3
        } else if self.0 > 0xFF {
            2
        } else {
            1
        }
    }

    const fn first_byte(self) -> u8 {
        (self.0 >> (8 * (self.byte_len() - 1))) as u8
    }

    /// Whether the object is constructed (bit 6 of the first byte): its value is a BER-TLV list,
    /// as in the templates `70`, `77`, `6F`, `A5`, `BF0C`.
    pub const fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The tag's bytes, as they are encoded.
    pub fn to_bytes(self) -> Vec<u8> {
        self.0.to_be_bytes()[4 - self.byte_len()..].to_vec()
    }
}

impl fmt::Display for Tag {
    /// Upper-case hex of the tag's bytes: `9F26`, `5A`, `DF8101`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$X}", self.0, width = self.byte_len() * 2)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// A number or text that is not a valid 1- to 3-byte BER-TLV tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTag;

impl fmt::Display for InvalidTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid 1- to 3-byte BER-TLV tag")
    }
}

impl std::error::Error for InvalidTag {}

impl TryFrom<u32> for Tag {
    type Error = InvalidTag;

    fn try_from(raw: u32) -> Result<Tag, InvalidTag> {
        Tag::new(raw).ok_or(InvalidTag)
    }
}

impl FromStr for Tag {
    type Err = InvalidTag;

    /// Parses the tag's bytes in hex, either case: `"9F26"`, `"5a"`.
    fn from_str(s: &str) -> Result<Tag, InvalidTag> {
        let bytes = hex::decode(s).map_err(|_| InvalidTag)?;
        Tag::from_bytes(&bytes).ok_or(InvalidTag)
    }
}

/// The value of a data object.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Raw value bytes: the value of a primitive object, or the unparsed value of a constructed
    /// object as [`decode`] returns it.
    Bytes(Vec<u8>),
    /// The data objects inside a constructed object, as [`decode_nested`] returns them.
    Nested(Vec<Tlv>),
}

impl fmt::Debug for Value {
    /// Lengths only for raw bytes: a `Value` does not know its tag, so it might be card data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bytes(bytes) => write!(f, "Bytes(<{} bytes>)", bytes.len()),
            Value::Nested(children) => f.debug_tuple("Nested").field(children).finish(),
        }
    }
}

/// One BER-TLV data object.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tlv {
    pub tag: Tag,
    pub value: Value,
}

impl Tlv {
    /// An object holding `value` as raw bytes.
    pub fn new(tag: Tag, value: impl Into<Vec<u8>>) -> Tlv {
        Tlv { tag, value: Value::Bytes(value.into()) }
    }

    /// A constructed object holding `children`.
    pub fn nested(tag: Tag, children: Vec<Tlv>) -> Tlv {
        Tlv { tag, value: Value::Nested(children) }
    }

    /// The raw value bytes, if the value is held as bytes.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(bytes) => Some(bytes),
            Value::Nested(_) => None,
        }
    }

    /// The child objects, if the value is held as children.
    pub fn children(&self) -> Option<&[Tlv]> {
        match &self.value {
            Value::Bytes(_) => None,
            Value::Nested(children) => Some(children),
        }
    }
}

impl fmt::Debug for Tlv {
    /// Hex values, except for card data and for the raw bytes of constructed objects (which may
    /// hold card data): those show their length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Tlv");
        s.field("tag", &format_args!("{}", self.tag));
        match &self.value {
            Value::Nested(children) => s.field("children", children),
            Value::Bytes(bytes) if self.tag.is_constructed() || CARD_SECRET_TAGS.contains(&self.tag) => {
                s.field("value", &format_args!("<{} bytes redacted>", bytes.len()))
            }
            Value::Bytes(bytes) => s.field("value", &format_args!("{}", hex::encode_upper(bytes))),
        };
        s.finish()
    }
}

/// Why BER-TLV input was rejected, with the byte offset (from the start of the whole input)
/// where decoding failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlvError {
    /// The input (or the enclosing constructed object) ends inside a multi-byte tag; `offset`
    /// is the tag's first byte.
    TruncatedTag { offset: usize },
    /// A tag of more than three bytes; `offset` is its first byte.
    TagTooLong { offset: usize },
    /// The input (or the enclosing constructed object) ends before or inside the length field;
    /// `offset` is where the length field starts.
    TruncatedLength { offset: usize },
    /// The indefinite length `80`, which EMV does not allow; `offset` is that byte.
    IndefiniteLength { offset: usize },
    /// A length field of more than three bytes (`84`..`FF`); `offset` is its first byte.
    LengthTooLong { offset: usize },
    /// A long-form length that a shorter form could state (`81 7F`, `82 00 FF`); `offset` is
    /// the first byte of the length field.
    NonMinimalLength { offset: usize },
    /// The value is longer than what is left of the input (or of the enclosing constructed
    /// object); `offset` is the value's first byte.
    TruncatedValue { offset: usize, expected: usize, available: usize },
    /// A constructed object more than [`MAX_DEPTH`] levels deep; `offset` is its tag.
    NestingTooDeep { offset: usize },
}

impl TlvError {
    /// The byte offset where decoding failed.
    pub fn offset(&self) -> usize {
        match *self {
            TlvError::TruncatedTag { offset }
            | TlvError::TagTooLong { offset }
            | TlvError::TruncatedLength { offset }
            | TlvError::IndefiniteLength { offset }
            | TlvError::LengthTooLong { offset }
            | TlvError::NonMinimalLength { offset }
            | TlvError::TruncatedValue { offset, .. }
            | TlvError::NestingTooDeep { offset } => offset,
        }
    }
}

impl fmt::Display for TlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TlvError::TruncatedTag { offset } => write!(f, "BER-TLV tag at offset {offset} is cut short"),
            TlvError::TagTooLong { offset } => write!(f, "BER-TLV tag at offset {offset} is longer than 3 bytes"),
            TlvError::TruncatedLength { offset } => write!(f, "BER-TLV length at offset {offset} is cut short"),
            TlvError::IndefiniteLength { offset } => {
                write!(f, "BER-TLV length at offset {offset} is indefinite (80), which EMV does not allow")
            }
            TlvError::LengthTooLong { offset } => {
                write!(f, "BER-TLV length at offset {offset} is longer than 3 bytes")
            }
            TlvError::NonMinimalLength { offset } => {
                write!(f, "BER-TLV length at offset {offset} is not in its shortest form")
            }
            TlvError::TruncatedValue { offset, expected, available } => {
                write!(f, "BER-TLV value at offset {offset} needs {expected} byte(s) but only {available} remain")
            }
            TlvError::NestingTooDeep { offset } => {
                write!(f, "BER-TLV object at offset {offset} is nested more than {MAX_DEPTH} levels deep")
            }
        }
    }
}

impl std::error::Error for TlvError {}

/// Why a list of objects cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// A value longer than [`MAX_VALUE_LEN`] bytes, which a 3-byte length cannot state.
    ValueTooLong { tag: Tag, len: usize },
    /// Children nested more than [`MAX_DEPTH`] levels deep, which [`decode_nested`] would refuse.
    NestingTooDeep { tag: Tag },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::ValueTooLong { tag, len } => {
                write!(f, "value of tag {tag} is {len} bytes, more than BER-TLV can state ({MAX_VALUE_LEN})")
            }
            EncodeError::NestingTooDeep { tag } => {
                write!(f, "tag {tag} is nested more than {MAX_DEPTH} levels deep")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Decodes a sequence of data objects, one level only: the value of every object, constructed
/// or not, is kept as [`Value::Bytes`]. `00` padding between objects is skipped.
pub fn decode(bytes: &[u8]) -> Result<Vec<Tlv>, TlvError> {
    parse_list(bytes, 0, bytes.len(), None)
}

/// Decodes a sequence of data objects and, recursively, the value of every constructed object
/// into its children ([`Value::Nested`]); primitive values are [`Value::Bytes`]. `00` padding is
/// skipped at every level. Fails on anything malformed at any level, and on constructed objects
/// nested more than [`MAX_DEPTH`] levels deep.
pub fn decode_nested(bytes: &[u8]) -> Result<Vec<Tlv>, TlvError> {
    parse_list(bytes, 0, bytes.len(), Some(0))
}

/// Parses the objects in `input[start..end]`. `depth` is `None` for a flat decode, or the
/// number of constructed objects enclosing this list.
fn parse_list(input: &[u8], start: usize, end: usize, depth: Option<usize>) -> Result<Vec<Tlv>, TlvError> {
    let mut objects = Vec::new();
    let mut pos = start;
    while let Some(&first) = byte_at(input, pos, end) {
        if first == 0x00 {
            pos += 1;
            continue;
        }
        let tag_start = pos;
        let (tag, after_tag) = read_tag(input, pos, end)?;
        let (len, value_start) = read_length(input, after_tag, end)?;
        let available = end - value_start;
        if len > available {
            return Err(TlvError::TruncatedValue { offset: value_start, expected: len, available });
        }
        let value_end = value_start + len;
        let value = match depth {
            Some(depth) if tag.is_constructed() => {
                if depth >= MAX_DEPTH {
                    return Err(TlvError::NestingTooDeep { offset: tag_start });
                }
                Value::Nested(parse_list(input, value_start, value_end, Some(depth + 1))?)
            }
            _ => Value::Bytes(input[value_start..value_end].to_vec()),
        };
        objects.push(Tlv { tag, value });
        pos = value_end;
    }
    Ok(objects)
}

/// The byte at `pos`, if `pos` is before `end` (and inside `input`).
fn byte_at(input: &[u8], pos: usize, end: usize) -> Option<&u8> {
    if pos < end {
        input.get(pos)
    } else {
        None
    }
}

/// Reads the tag starting at `pos` (whose byte exists and is not padding); returns it and the
/// position after it.
fn read_tag(input: &[u8], pos: usize, end: usize) -> Result<(Tag, usize), TlvError> {
    let first = *byte_at(input, pos, end).ok_or(TlvError::TruncatedTag { offset: pos })?;
    let mut raw = u32::from(first);
    if first & 0x1F != 0x1F {
        return Ok((Tag(raw), pos + 1));
    }
    for i in 1..=2 {
        let next = *byte_at(input, pos + i, end).ok_or(TlvError::TruncatedTag { offset: pos })?;
        raw = (raw << 8) | u32::from(next);
        if next & 0x80 == 0 {
            return Ok((Tag(raw), pos + i + 1));
        }
    }
    Err(TlvError::TagTooLong { offset: pos })
}

/// Reads the length field starting at `pos`; returns the length and the position after it.
fn read_length(input: &[u8], pos: usize, end: usize) -> Result<(usize, usize), TlvError> {
    let first = *byte_at(input, pos, end).ok_or(TlvError::TruncatedLength { offset: pos })?;
    match first {
        0x00..=0x7F => Ok((usize::from(first), pos + 1)),
        0x80 => Err(TlvError::IndefiniteLength { offset: pos }),
        0x81..=0x83 => {
            let count = usize::from(first & 0x7F);
            let mut len = 0usize;
            for i in 1..=count {
                let next = *byte_at(input, pos + i, end).ok_or(TlvError::TruncatedLength { offset: pos })?;
                len = (len << 8) | usize::from(next);
            }
            // The smallest length that needs this many bytes: 0x80, 0x100, 0x1_0000.
            let smallest = if count == 1 { 0x80 } else { 1 << (8 * (count - 1)) };
            if len < smallest {
                return Err(TlvError::NonMinimalLength { offset: pos });
            }
            Ok((len, pos + 1 + count))
        }
        0x84..=0xFF => Err(TlvError::LengthTooLong { offset: pos }),
    }
}

/// Encodes `objects` with minimal lengths and no padding.
///
/// # Panics
///
/// If [`try_encode`] fails: a value longer than [`MAX_VALUE_LEN`] (16 MiB) or children nested
/// more than [`MAX_DEPTH`] levels deep. Neither can come from [`decode`] or [`decode_nested`].
pub fn encode(objects: &[Tlv]) -> Vec<u8> {
    match try_encode(objects) {
        Ok(bytes) => bytes,
        Err(err) => panic!("cannot encode BER-TLV: {err}"),
    }
}

/// Encodes `objects` with minimal lengths and no padding, or tells why it cannot.
pub fn try_encode(objects: &[Tlv]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_list(objects, 0, &mut out)?;
    Ok(out)
}

fn encode_list(objects: &[Tlv], depth: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    for object in objects {
        match &object.value {
            Value::Bytes(bytes) => {
                write_header(object.tag, bytes.len(), out)?;
                out.extend_from_slice(bytes);
            }
            Value::Nested(children) => {
                if depth >= MAX_DEPTH {
                    return Err(EncodeError::NestingTooDeep { tag: object.tag });
                }
                let mut inner = Vec::new();
                encode_list(children, depth + 1, &mut inner)?;
                write_header(object.tag, inner.len(), out)?;
                out.extend_from_slice(&inner);
            }
        }
    }
    Ok(())
}

fn write_header(tag: Tag, len: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if len > MAX_VALUE_LEN {
        return Err(EncodeError::ValueTooLong { tag, len });
    }
    out.extend_from_slice(&tag.to_bytes());
    let len_bytes = (len as u32).to_be_bytes();
    match len {
        0..=0x7F => out.push(len_bytes[3]),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len_bytes[3]]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, len_bytes[2], len_bytes[3]]),
        _ => out.extend_from_slice(&[0x83, len_bytes[1], len_bytes[2], len_bytes[3]]),
    }
    Ok(())
}

/// Every object of a tree in document order: depth first, each constructed object before its
/// children. Descends into [`Value::Nested`] only, not into raw bytes.
pub fn walk(objects: &[Tlv]) -> Walk<'_> {
    Walk { stack: vec![objects.iter()] }
}

/// The iterator of [`walk`].
#[derive(Clone, Debug)]
pub struct Walk<'a> {
    stack: Vec<std::slice::Iter<'a, Tlv>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = &'a Tlv;

    fn next(&mut self) -> Option<&'a Tlv> {
        loop {
            let level = self.stack.last_mut()?;
            match level.next() {
                Some(object) => {
                    if let Value::Nested(children) = &object.value {
                        self.stack.push(children.iter());
                    }
                    return Some(object);
                }
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}

/// The first object with `tag` anywhere in the tree (in [`walk`] order).
pub fn find(objects: &[Tlv], tag: Tag) -> Option<&Tlv> {
    walk(objects).find(|object| object.tag == tag)
}

/// The raw value of the first object with `tag` anywhere in the tree that holds raw bytes.
pub fn find_value(objects: &[Tlv], tag: Tag) -> Option<&[u8]> {
    walk(objects).filter(|object| object.tag == tag).find_map(Tlv::as_bytes)
}

/// The objects of the tree that hold raw bytes, in [`walk`] order: after [`decode_nested`], the
/// primitive data objects with their templates flattened away.
pub fn leaves(objects: &[Tlv]) -> impl Iterator<Item = &Tlv> {
    walk(objects).filter(|object| matches!(object.value, Value::Bytes(_)))
}

/// The objects of `objects` whose tag is in `allow`, in their order, for field 55.
///
/// Looks at the top level only: an object whose tag is not allowed is dropped with whatever it
/// contains. A kept object with [`Value::Nested`] children keeps only its allowed children (at
/// every level); raw bytes are kept as they are, so an allowed constructed tag held as raw bytes
/// keeps its whole contents. [`FIELD55_ALLOW`] holds primitive tags only. Run
/// [`contains_card_secret`] on what is to be sent as a last check.
pub fn field55_filter(objects: &[Tlv], allow: &[Tag]) -> Vec<Tlv> {
    filter_level(objects, allow, 0)
}

fn filter_level(objects: &[Tlv], allow: &[Tag], depth: usize) -> Vec<Tlv> {
    objects
        .iter()
        .filter(|object| allow.contains(&object.tag))
        .map(|object| match &object.value {
            Value::Bytes(_) => object.clone(),
            // Deeper than MAX_DEPTH cannot be encoded anyway; stop there rather than recurse on.
            Value::Nested(_) if depth >= MAX_DEPTH => Tlv::nested(object.tag, Vec::new()),
            Value::Nested(children) => Tlv::nested(object.tag, filter_level(children, allow, depth + 1)),
        })
        .collect()
}

/// The first tag of [`CARD_SECRET_TAGS`] anywhere in the tree (in [`walk`] order), if any.
///
/// A constructed object held as raw bytes (as [`decode`] leaves templates) is decoded and
/// searched too. If those bytes do not decode, its own tag is returned: it cannot be shown to be
/// free of card data, so it is treated as holding some (fail closed).
pub fn contains_card_secret(objects: &[Tlv]) -> Option<Tag> {
    for object in walk(objects) {
        if CARD_SECRET_TAGS.contains(&object.tag) {
            return Some(object.tag);
        }
        if let Value::Bytes(raw) = &object.value {
            if object.tag.is_constructed() {
                // `decode_nested` leaves no constructed object as raw bytes, so one level of this
                // is enough.
                match decode_nested(raw) {
                    Ok(inner) => {
                        if let Some(found) = walk(&inner).map(|o| o.tag).find(|tag| CARD_SECRET_TAGS.contains(tag)) {
                            return Some(found);
                        }
                    }
                    Err(_) => return Some(object.tag),
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Test vectors made with PyPI `pyemv` 1.5.0 and re-parsed with `ber-tlv` 0.0.6; see
    /// `tests/data/PROVENANCE.md`.
    const VECTORS: &str = include_str!("../../tests/data/emv_tlv.json");

    fn tag(raw: u32) -> Tag {
        Tag::new(raw).unwrap()
    }

    fn hx(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // ---------------------------------------------------------------------------------------
    // A small JSON reader that keeps the order of object members. The order of the tags in a
    // vector's input is the order of the expected encoding, and serde_json's `Value` (without
    // its `preserve_order` feature, which would change map order for the whole crate) sorts
    // them. Checked against serde_json below.

    #[derive(Clone, Debug, PartialEq)]
    enum Json {
        Null,
        Bool(bool),
        Number(String),
        Str(String),
        Array(Vec<Json>),
        Object(Vec<(String, Json)>),
    }

    impl Json {
        fn get(&self, key: &str) -> Option<&Json> {
            match self {
                Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        fn str(&self) -> &str {
            match self {
                Json::Str(s) => s,
                other => panic!("not a string: {other:?}"),
            }
        }

        fn members(&self) -> &[(String, Json)] {
            match self {
                Json::Object(members) => members,
                other => panic!("not an object: {other:?}"),
            }
        }

        fn to_serde(&self) -> serde_json::Value {
            match self {
                Json::Null => serde_json::Value::Null,
                Json::Bool(b) => serde_json::Value::Bool(*b),
                Json::Number(n) => serde_json::from_str(n).unwrap(),
                Json::Str(s) => serde_json::Value::String(s.clone()),
                Json::Array(items) => serde_json::Value::Array(items.iter().map(Json::to_serde).collect()),
                Json::Object(members) => {
                    serde_json::Value::Object(members.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect())
                }
            }
        }
    }

    struct JsonReader<'a> {
        text: &'a [u8],
        pos: usize,
    }

    impl JsonReader<'_> {
        fn parse(text: &str) -> Json {
            let mut reader = JsonReader { text: text.as_bytes(), pos: 0 };
            let value = reader.value();
            reader.skip_space();
            assert_eq!(reader.pos, reader.text.len(), "trailing data");
            value
        }

        fn skip_space(&mut self) {
            while self.text.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
                self.pos += 1;
            }
        }

        fn peek(&mut self) -> u8 {
            self.skip_space();
            self.text[self.pos]
        }

        fn expect(&mut self, byte: u8) {
            assert_eq!(self.peek(), byte, "at {}", self.pos);
            self.pos += 1;
        }

        fn literal(&mut self, word: &str, value: Json) -> Json {
            assert!(self.text[self.pos..].starts_with(word.as_bytes()), "at {}", self.pos);
            self.pos += word.len();
            value
        }

        fn value(&mut self) -> Json {
            match self.peek() {
                b'{' => {
                    self.expect(b'{');
                    let mut members = Vec::new();
                    if self.peek() == b'}' {
                        self.pos += 1;
                        return Json::Object(members);
                    }
                    loop {
                        let key = self.string();
                        self.expect(b':');
                        members.push((key, self.value()));
                        if self.peek() == b',' {
                            self.pos += 1;
                        } else {
                            self.expect(b'}');
                            return Json::Object(members);
                        }
                    }
                }
                b'[' => {
                    self.expect(b'[');
                    let mut items = Vec::new();
                    if self.peek() == b']' {
                        self.pos += 1;
                        return Json::Array(items);
                    }
                    loop {
                        items.push(self.value());
                        if self.peek() == b',' {
                            self.pos += 1;
                        } else {
                            self.expect(b']');
                            return Json::Array(items);
                        }
                    }
                }
                b'"' => Json::Str(self.string()),
                b'n' => self.literal("null", Json::Null),
                b't' => self.literal("true", Json::Bool(true)),
                b'f' => self.literal("false", Json::Bool(false)),
                _ => {
                    let start = self.pos;
                    while self.text.get(self.pos).is_some_and(|b| b"+-.0123456789eE".contains(b)) {
                        self.pos += 1;
                    }
                    assert!(self.pos > start, "unexpected byte at {start}");
                    Json::Number(String::from_utf8(self.text[start..self.pos].to_vec()).unwrap())
                }
            }
        }

        fn string(&mut self) -> String {
            self.expect(b'"');
            let mut out = String::new();
            loop {
                let rest = std::str::from_utf8(&self.text[self.pos..]).unwrap();
                let c = rest.chars().next().unwrap();
                self.pos += c.len_utf8();
                match c {
                    '"' => return out,
                    '\\' => {
                        let escape = self.text[self.pos];
                        self.pos += 1;
                        out.push(match escape {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let code = std::str::from_utf8(&self.text[self.pos..self.pos + 4]).unwrap();
                                self.pos += 4;
                                // The vectors hold no surrogate pairs.
                                char::from_u32(u32::from_str_radix(code, 16).unwrap()).unwrap()
                            }
                            other => panic!("bad escape {other}"),
                        });
                    }
                    c => out.push(c),
                }
            }
        }
    }

    fn vectors() -> Vec<Json> {
        let ordered = JsonReader::parse(VECTORS);
        let reference: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
        assert_eq!(ordered.to_serde(), reference, "the ordered JSON reader disagrees with serde_json");
        match ordered {
            Json::Array(items) => items,
            other => panic!("vectors are not an array: {other:?}"),
        }
    }

    /// A vector's `{"tag": "hex" | {...}}` object as data objects, in its order.
    fn objects_from_json(members: &[(String, Json)]) -> Vec<Tlv> {
        members
            .iter()
            .map(|(key, value)| {
                let tag: Tag = key.parse().unwrap_or_else(|_| panic!("bad tag {key}"));
                match value {
                    Json::Str(h) => Tlv::new(tag, hx(h)),
                    Json::Object(children) => Tlv::nested(tag, objects_from_json(children)),
                    other => panic!("bad value {other:?}"),
                }
            })
            .collect()
    }

    /// The inverse of `objects_from_json`.
    fn objects_to_json(objects: &[Tlv]) -> Json {
        Json::Object(
            objects
                .iter()
                .map(|object| {
                    let value = match &object.value {
                        Value::Bytes(bytes) => Json::Str(hex::encode_upper(bytes)),
                        Value::Nested(children) => objects_to_json(children),
                    };
                    (object.tag.to_string(), value)
                })
                .collect(),
        )
    }

    /// `offset N` and `expecting N byte(s)` out of a pyemv error message.
    fn number_after(message: &str, marker: &str) -> usize {
        let at = message.find(marker).unwrap_or_else(|| panic!("no {marker:?} in {message:?}")) + marker.len();
        message[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    }

    #[test]
    fn every_vector_passes() {
        let vectors = vectors();
        let (mut encodings, mut rejections, mut padded) = (0, 0, 0);
        for vector in &vectors {
            let name = vector.get("name").unwrap().str();
            let input = vector.get("input").unwrap();
            let expected = vector.get("expected").unwrap();

            if let Some(decode_hex) = input.get("decode_hex") {
                let bytes = hx(decode_hex.str());
                match expected.get("ber_tlv_decoded").unwrap() {
                    Json::Null => {
                        // Malformed: rejected by both decoders, with the error and offset that
                        // pyemv reports.
                        assert_eq!(expected.get("decoded"), Some(&Json::Null), "{name}");
                        let err = decode(&bytes).expect_err(name);
                        assert_eq!(decode_nested(&bytes), Err(err), "{name}");
                        let message = expected.get("pyemv_error").unwrap().str();
                        let offset = number_after(message, "offset ");
                        let want = if message.starts_with("Tag value malformed") {
                            let expected = number_after(message, "expecting ");
                            TlvError::TruncatedValue { offset, expected, available: bytes.len() - offset }
                        } else if message.starts_with("Tag length malformed") {
                            TlvError::TruncatedLength { offset }
                        } else if message.starts_with("Tag malformed") {
                            TlvError::TruncatedTag { offset }
                        } else {
                            panic!("{name}: unknown pyemv error {message:?}")
                        };
                        assert_eq!(err, want, "{name}");
                        assert_eq!(err.offset(), offset, "{name}");
                        rejections += 1;
                    }
                    wanted => {
                        // Padding: `ber_tlv_decoded` (00 bytes skipped) is the wanted result;
                        // pyemv's `decoded` reads a bogus tag 00 instead.
                        let objects = decode(&bytes).unwrap();
                        assert_eq!(&objects_to_json(&objects), wanted, "{name}");
                        assert_eq!(decode_nested(&bytes).unwrap(), objects, "{name}");
                        assert!(expected.get("decoded").unwrap().get("00").is_some(), "{name}: pyemv's reading");
                        assert_eq!(encode(&objects), hx("9C01009F0200"), "{name}: re-encoded without padding");
                        padded += 1;
                    }
                }
                continue;
            }

            // Encoding vectors.
            let objects = objects_from_json(input.members());
            let encoded = encode(&objects);
            let want = hx(expected.get("encoded_hex").unwrap().str());
            assert_eq!(hex::encode_upper(&encoded), hex::encode_upper(&want), "{name}: encoding");
            let encoded_len: usize = match expected.get("encoded_len") {
                Some(Json::Number(n)) => n.parse().unwrap(),
                other => panic!("{name}: encoded_len {other:?}"),
            };
            assert_eq!(encoded.len(), encoded_len, "{name}");

            let tree = decode_nested(&want).unwrap();
            assert_eq!(tree, objects, "{name}: nested decode");
            assert_eq!(&objects_to_json(&tree), expected.get("decoded").unwrap(), "{name}: decoded");
            let flat: Vec<Tlv> = leaves(&tree).cloned().collect();
            assert_eq!(&objects_to_json(&flat), expected.get("decoded_flat").unwrap(), "{name}: decoded_flat");

            let top = decode(&want).unwrap();
            assert_eq!(
                top.iter().map(|o| o.tag).collect::<Vec<_>>(),
                objects.iter().map(|o| o.tag).collect::<Vec<_>>()
            );
            assert_eq!(encode(&top), want, "{name}: flat decode re-encodes");
            for object in walk(&tree) {
                assert_eq!(find(&tree, object.tag).map(|o| o.tag), Some(object.tag), "{name}");
            }
            encodings += 1;
        }
        assert_eq!((vectors.len(), encodings, rejections, padded), (20, 15, 4, 1));
    }

    #[test]
    fn field55_vector_is_exactly_the_allow_list() {
        let vectors = vectors();
        let input = vectors[0].get("input").unwrap().members();
        let objects = objects_from_json(input);
        let tags: Vec<Tag> = objects.iter().map(|o| o.tag).collect();
        assert_eq!(tags, FIELD55_ALLOW);
        assert_eq!(field55_filter(&objects, FIELD55_ALLOW), objects);
        assert_eq!(contains_card_secret(&objects), None);

        // Card data and other tags dropped, order kept.
        let mut polluted = vec![Tlv::new(PAN, hx("6212345678901234"))];
        polluted.extend(objects.iter().cloned());
        polluted.insert(5, Tlv::new(tag(0x57), hx("6212345678901232D3012201")));
        polluted.push(Tlv::new(tag(0x5F24), hx("301231")));
        polluted.push(Tlv::nested(tag(0x70), vec![Tlv::new(tag(0x9F26), hx("00"))]));
        assert_eq!(contains_card_secret(&polluted), Some(PAN));
        assert_eq!(field55_filter(&polluted, FIELD55_ALLOW), objects);
    }

    #[test]
    fn allow_list_and_secret_list_are_sane() {
        for (i, t) in FIELD55_ALLOW.iter().enumerate() {
            assert!(!t.is_constructed(), "{t}");
            assert!(!CARD_SECRET_TAGS.contains(t), "{t}");
            assert!(!FIELD55_ALLOW[i + 1..].contains(t), "{t} twice");
        }
        let secrets: Vec<String> = CARD_SECRET_TAGS.iter().map(Tag::to_string).collect();
        assert_eq!(secrets, ["56", "57", "5A", "5F20", "9F0B", "9F1F", "9F20", "9F6B"]);
        assert!(!CARD_SECRET_TAGS.contains(&tag(0x5F24)), "expiry alone is not secret");
    }

    #[test]
    fn tags() {
        for (raw, text, len, constructed) in [
            (0x5A, "5A", 1, false),
            (0x70, "70", 1, true),
            (0x77, "77", 1, true),
            (0x6F, "6F", 1, true),
            (0xA5, "A5", 1, true),
            (0xE0, "E0", 1, true),
            (0x9F26, "9F26", 2, false),
            (0x5F2A, "5F2A", 2, false),
            (0xBF0C, "BF0C", 2, true),
            (0x9F00, "9F00", 2, false),
            (0xDF8101, "DF8101", 3, false),
            (0x9F8111, "9F8111", 3, false),
            (0xFF8101, "FF8101", 3, true),
        ] {
            let t = Tag::new(raw).unwrap_or_else(|| panic!("{raw:X}"));
            assert_eq!(t.to_string(), text);
            assert_eq!(format!("{t:?}"), format!("Tag({text})"));
            assert_eq!(t.byte_len(), len);
            assert_eq!(t.is_constructed(), constructed, "{text}");
            assert_eq!(t.raw(), raw);
            assert_eq!(t.to_bytes(), hx(text));
            assert_eq!(Tag::from_bytes(&hx(text)), Some(t));
            assert_eq!(text.parse::<Tag>(), Ok(t));
            assert_eq!(text.to_lowercase().parse::<Tag>(), Ok(t));
            assert_eq!(Tag::try_from(raw), Ok(t));
        }
        // Padding byte, wrong continuation bits, more than 3 bytes, bad text.
        for raw in [0x00, 0x1F, 0x9F, 0x5F80, 0x9F81, 0x0A1F, 0x0100, 0x9F0101, 0xDF8181, 0x5A01, 0x0100_0000] {
            assert_eq!(Tag::new(raw), None, "{raw:X}");
            assert_eq!(Tag::try_from(raw), Err(InvalidTag));
        }
        for text in ["", "9", "9F", "0000", "9F8181", "DF818101", "ZZ", "5A5A"] {
            assert_eq!(text.parse::<Tag>(), Err(InvalidTag), "{text:?}");
        }
        assert_eq!(Tag::from_bytes(&[]), None);
        assert_eq!(Tag::from_bytes(&[0x00, 0x5A]), None);
    }

    #[test]
    fn rejects_malformed_lengths_and_tags_with_offsets() {
        for (input, err) in [
            ("9C80", TlvError::IndefiniteLength { offset: 1 }),
            ("9C01009F0280000000", TlvError::IndefiniteLength { offset: 5 }),
            ("9C8401000000", TlvError::LengthTooLong { offset: 1 }),
            ("9CFF", TlvError::LengthTooLong { offset: 1 }),
            ("9C817F", TlvError::NonMinimalLength { offset: 1 }),
            ("9C8100", TlvError::NonMinimalLength { offset: 1 }),
            ("9C8200FF", TlvError::NonMinimalLength { offset: 1 }),
            ("9C83000100", TlvError::NonMinimalLength { offset: 1 }),
            ("9C81", TlvError::TruncatedLength { offset: 1 }),
            ("9C8201", TlvError::TruncatedLength { offset: 1 }),
            ("00009F02830100", TlvError::TruncatedLength { offset: 4 }),
            ("9F818101", TlvError::TagTooLong { offset: 0 }),
            ("5A00DF81", TlvError::TruncatedTag { offset: 2 }),
            ("9C01", TlvError::TruncatedValue { offset: 2, expected: 1, available: 0 }),
            ("9C8180", TlvError::TruncatedValue { offset: 3, expected: 128, available: 0 }),
            ("9C83FFFFFF00", TlvError::TruncatedValue { offset: 5, expected: 0xFF_FFFF, available: 1 }),
        ] {
            assert_eq!(decode(&hx(input)), Err(err), "{input}");
            assert_eq!(decode_nested(&hx(input)), Err(err), "{input}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn errors_inside_templates_have_whole_input_offsets() {
        // 70 05 | 9F02 06 0000: the child's value runs past its template's end (offset 7), not
        // just past the input's.
        let bytes = hx("70059F020600009C0100");
        assert_eq!(decode(&bytes).unwrap().len(), 2, "the flat decode does not look inside");
        assert_eq!(decode_nested(&bytes), Err(TlvError::TruncatedValue { offset: 5, expected: 6, available: 2 }));
        assert_eq!(decode_nested(&hx("9C01007703828000")), Err(TlvError::IndefiniteLength { offset: 6 }));
        assert_eq!(decode_nested(&hx("6F04A5029F02")), Err(TlvError::TruncatedLength { offset: 6 }));
        // The template's end cuts a multi-byte tag.
        assert_eq!(decode_nested(&hx("E0019F02")), Err(TlvError::TruncatedTag { offset: 2 }));
    }

    #[test]
    fn empty_and_padding() {
        assert_eq!(decode(&[]), Ok(vec![]));
        assert_eq!(decode_nested(&[]), Ok(vec![]));
        assert_eq!(decode(&[0; 5]), Ok(vec![]));
        assert_eq!(encode(&[]), Vec::<u8>::new());
        let want = vec![Tlv::new(tag(0x9C), [0u8]), Tlv::new(tag(0x9F02), [])];
        assert_eq!(decode(&hx("00009C010000009F02000000")), Ok(want.clone()));
        // Padding inside a template, before, between and after its children.
        let nested = decode_nested(&hx("00700A00009C0100009F02000000")).unwrap();
        assert_eq!(nested, vec![Tlv::nested(tag(0x70), want.clone())]);
        assert_eq!(encode(&nested), hx("70069C01009F0200"));
        // An empty template.
        assert_eq!(decode_nested(&hx("7000")), Ok(vec![Tlv::nested(tag(0x70), vec![])]));
        // 00 inside a value is data, not padding.
        assert_eq!(decode(&hx("9F02020000")), Ok(vec![Tlv::new(tag(0x9F02), [0u8, 0])]));
    }

    #[test]
    fn three_byte_length_round_trips() {
        let objects = vec![Tlv::new(tag(0xDF8101), vec![0x42; 0x1_0000])];
        let bytes = encode(&objects);
        assert_eq!(&bytes[..7], &hx("DF810183010000")[..]);
        assert_eq!(decode(&bytes).unwrap(), objects);
        for (len, header) in [(0, "5A00"), (0x7F, "5A7F"), (0x80, "5A8180"), (0xFF, "5A81FF"), (0x100, "5A820100")] {
            let bytes = encode(&[Tlv::new(PAN, vec![1; len])]);
            assert_eq!(hex::encode_upper(&bytes[..header.len() / 2]), header);
        }
    }

    #[test]
    fn encoding_limits() {
        let too_long = vec![Tlv::new(tag(0x9F10), vec![0; MAX_VALUE_LEN + 1])];
        assert_eq!(try_encode(&too_long), Err(EncodeError::ValueTooLong { tag: tag(0x9F10), len: MAX_VALUE_LEN + 1 }));
        assert!(std::panic::catch_unwind(|| encode(&too_long)).is_err());
        let longest = try_encode(&[Tlv::new(tag(0x9F10), vec![0; MAX_VALUE_LEN])]).unwrap();
        assert_eq!(&longest[..6], &hx("9F1083FFFFFF")[..]);

        let mut deep = Tlv::new(tag(0x9C), [1u8]);
        for _ in 0..MAX_DEPTH {
            deep = Tlv::nested(tag(0x70), vec![deep]);
        }
        let bytes = encode(std::slice::from_ref(&deep));
        assert_eq!(decode_nested(&bytes), Ok(vec![deep.clone()]));
        let deeper = Tlv::nested(tag(0xE1), vec![deep]);
        assert_eq!(try_encode(&[deeper]), Err(EncodeError::NestingTooDeep { tag: tag(0x70) }));
    }

    /// `levels` nested `70` templates around `9C 01 01`.
    fn nested_bytes(levels: usize) -> Vec<u8> {
        let mut bytes = hx("9C0101");
        for _ in 0..levels {
            let mut outer = vec![0x70];
            let len = bytes.len();
            match len {
                0..=0x7F => outer.push(len as u8),
                0x80..=0xFF => outer.extend([0x81, len as u8]),
                0x100..=0xFFFF => outer.extend([0x82, (len >> 8) as u8, len as u8]),
                _ => outer.extend([0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
            }
            outer.extend(bytes);
            bytes = outer;
        }
        bytes
    }

    #[test]
    fn nesting_depth_is_bounded() {
        let ok = decode_nested(&nested_bytes(MAX_DEPTH)).unwrap();
        assert_eq!(walk(&ok).count(), MAX_DEPTH + 1);
        assert_eq!(find_value(&ok, tag(0x9C)), Some(&[1u8][..]));
        let too_deep = nested_bytes(MAX_DEPTH + 1);
        let Err(TlvError::NestingTooDeep { offset }) = decode_nested(&too_deep) else { panic!("not rejected") };
        assert_eq!(too_deep[offset], 0x70);
        assert_eq!(decode(&too_deep).unwrap().len(), 1, "the flat decode does not descend");
        // Hostile depth: an error, not a stack overflow.
        let hostile = nested_bytes(5_000);
        assert!(matches!(decode_nested(&hostile), Err(TlvError::NestingTooDeep { .. })));
        // Fail closed: a template that cannot be decoded may hide card data.
        assert_eq!(contains_card_secret(&decode(&hostile).unwrap()), Some(tag(0x70)));
    }

    #[test]
    fn find_anywhere_in_the_tree() {
        // SELECT response: 6F / A5 / BF0C / 9F4D.
        let fci = hx("6F238408A000000333010101A517500A50424F43204445424954870101BF0C059F4D020B0A");
        let tree = decode_nested(&fci).unwrap();
        assert_eq!(find_value(&tree, tag(0x9F4D)), Some(&hx("0B0A")[..]));
        assert_eq!(find_value(&tree, tag(0x84)), Some(&hx("A000000333010101")[..]));
        assert_eq!(find(&tree, tag(0xBF0C)).and_then(Tlv::children).map(<[Tlv]>::len), Some(1));
        assert_eq!(find(&tree, tag(0x5A)), None);
        let order: Vec<String> = walk(&tree).map(|o| o.tag.to_string()).collect();
        assert_eq!(order, ["6F", "84", "A5", "50", "87", "BF0C", "9F4D"]);
        let leaves: Vec<String> = leaves(&tree).map(|o| o.tag.to_string()).collect();
        assert_eq!(leaves, ["84", "50", "87", "9F4D"]);
        // The flat decode holds the template as bytes and does not look inside.
        let flat = decode(&fci).unwrap();
        assert_eq!(flat.len(), 1);
        assert_eq!(find(&flat, tag(0x9F4D)), None);
        assert_eq!(flat[0].as_bytes().map(<[u8]>::len), Some(0x23));
    }

    #[test]
    fn card_secrets() {
        let record = hx("702957136212345678901232D30122010000000000000F5A0862123456789012325F24033012315F340101");
        // First in document order: 57 comes before 5A.
        assert_eq!(contains_card_secret(&decode_nested(&record).unwrap()), Some(tag(0x57)));
        // The flat decode keeps 70 as bytes; it is looked into all the same.
        assert_eq!(contains_card_secret(&decode(&record).unwrap()), Some(tag(0x57)));
        for secret in CARD_SECRET_TAGS {
            assert_eq!(contains_card_secret(&[Tlv::new(*secret, [0x31u8])]), Some(*secret));
        }
        let harmless =
            vec![Tlv::new(tag(0x5F24), hx("301231")), Tlv::new(tag(0x5F34), [1u8]), Tlv::nested(tag(0x77), vec![])];
        assert_eq!(contains_card_secret(&harmless), None);
        assert_eq!(contains_card_secret(&[Tlv::new(tag(0x70), hx("9F02"))]), Some(tag(0x70)), "fail closed");
        assert_eq!(contains_card_secret(&[]), None);
    }

    #[test]
    fn filter_descends_into_kept_templates() {
        let tree = vec![
            Tlv::nested(tag(0x70), vec![Tlv::new(PAN, hx("6212345678901234")), Tlv::new(tag(0x9F26), [1u8])]),
            Tlv::nested(tag(0x77), vec![Tlv::new(tag(0x9F26), [2u8])]),
            Tlv::new(tag(0x9F27), [0x80u8]),
        ];
        let allow = [tag(0x70), tag(0x9F26), tag(0x9F27)];
        let want = vec![Tlv::nested(tag(0x70), vec![Tlv::new(tag(0x9F26), [1u8])]), Tlv::new(tag(0x9F27), [0x80u8])];
        assert_eq!(field55_filter(&tree, &allow), want);
        assert_eq!(field55_filter(&tree, &[]), vec![]);
    }

    #[test]
    fn debug_does_not_print_card_data() {
        let record =
            decode(&hx("702957136212345678901232D30122010000000000000F5A0862123456789012325F24033012315F340101"))
                .unwrap();
        let nested = decode_nested(&encode(&record)).unwrap();
        for text in [format!("{record:?}"), format!("{nested:?}"), format!("{:?}", nested[0].value)] {
            assert!(!text.contains("6212345678901232"), "{text}");
            assert!(!text.contains("98, 18"), "{text}");
        }
        let shown = format!("{nested:?}");
        assert!(shown.contains("<8 bytes redacted>") && shown.contains("<19 bytes redacted>"), "{shown}");
        assert!(shown.contains("301231"), "non-secret values stay readable: {shown}");
        assert_eq!(format!("{:?}", Tlv::new(tag(0x9F27), [0x80u8])), "Tlv { tag: 9F27, value: 80 }");
    }

    // ---------------------------------------------------------------------------------------
    // Properties.

    const PRIMITIVE_TAGS: &[u32] = &[
        0x5F24, 0x9F36, 0x82, 0x84, 0x95, 0x9A, 0x9C, 0x9F02, 0x9F10, 0x9F26, 0x5F2A, 0xDF01, 0x9F00, 0xDF8101,
        0x9F8111,
    ];
    const CONSTRUCTED_TAGS: &[u32] = &[0x70, 0x77, 0x6F, 0xA5, 0xE1, 0xBF0C, 0xFF8101];

    fn any_tag() -> impl Strategy<Value = Tag> {
        prop::sample::select([PRIMITIVE_TAGS, CONSTRUCTED_TAGS].concat()).prop_map(tag)
    }

    fn value(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..=max)
    }

    /// Flat lists: any tag, constructed ones too, with any bytes as value.
    fn flat_list() -> impl Strategy<Value = Vec<Tlv>> {
        prop::collection::vec((any_tag(), value(1000)).prop_map(|(t, v)| Tlv::new(t, v)), 0..12)
    }

    /// Trees: primitive tags hold bytes, constructed tags hold children.
    fn tree() -> impl Strategy<Value = Vec<Tlv>> {
        let leaf = (prop::sample::select(PRIMITIVE_TAGS), value(300)).prop_map(|(t, v)| Tlv::new(tag(t), v));
        let node = leaf.prop_recursive(5, 48, 6, |inner| {
            (prop::sample::select(CONSTRUCTED_TAGS), prop::collection::vec(inner, 0..6))
                .prop_map(|(t, children)| Tlv::nested(tag(t), children))
        });
        prop::collection::vec(node, 0..6)
    }

    /// Bytes that look like BER-TLV often enough to reach the deeper paths of the decoder.
    fn tlv_ish_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = vec![
            0x00, 0x01, 0x02, 0x03, 0x05, 0x1F, 0x20, 0x5A, 0x57, 0x70, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x9F, 0xBF,
            0xDF, 0xE1, 0xFF,
        ];
        prop::collection::vec(prop::sample::select(alphabet), 0..300)
    }

    /// Anything decoded re-encodes to an encoding that decodes to the same (canonical form).
    fn check_decoder_on(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(flat) = decode(bytes) {
            let again = encode(&flat);
            prop_assert!(again.len() <= bytes.len());
            prop_assert_eq!(decode(&again), Ok(flat.clone()));
            let _ = contains_card_secret(&flat);
        }
        match decode_nested(bytes) {
            Ok(tree) => {
                prop_assert!(decode(bytes).is_ok());
                let again = encode(&tree);
                prop_assert_eq!(decode_nested(&again), Ok(tree.clone()));
                let _ = contains_card_secret(&tree);
                let _ = field55_filter(&tree, FIELD55_ALLOW);
            }
            Err(err) => prop_assert!(err.offset() <= bytes.len()),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn flat_round_trip(list in flat_list()) {
            let bytes = encode(&list);
            prop_assert_eq!(decode(&bytes), Ok(list.clone()));
            if list.iter().all(|o| !o.tag.is_constructed()) {
                prop_assert_eq!(decode_nested(&bytes), Ok(list));
            }
        }

        #[test]
        fn nested_round_trip(list in tree()) {
            let bytes = encode(&list);
            prop_assert_eq!(decode_nested(&bytes), Ok(list.clone()));
            prop_assert_eq!(encode(&decode(&bytes).unwrap()), bytes);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            check_decoder_on(&bytes)?;
        }

        #[test]
        fn decode_never_panics_on_tlv_like_bytes(bytes in tlv_ish_bytes()) {
            check_decoder_on(&bytes)?;
        }

        #[test]
        fn truncation_is_never_silent(
            flat in flat_list(),
            nested in tree(),
            cut in any::<prop::sample::Index>(),
            drop in any::<prop::sample::Index>(),
        ) {
            for (list, nested_decode) in [(flat, false), (nested, true)] {
                let decoder: fn(&[u8]) -> Result<Vec<Tlv>, TlvError> = if nested_decode { decode_nested } else { decode };
                let bytes = encode(&list);
                if bytes.is_empty() {
                    continue;
                }
                // The last byte cut off, a random cut, and a random single byte taken out.
                let last = &bytes[..bytes.len() - 1];
                prop_assert_ne!(decoder(last), Ok(list.clone()));
                prop_assert_ne!(decoder(&bytes[..cut.index(bytes.len())]), Ok(list.clone()));
                let mut holed = bytes.clone();
                holed.remove(drop.index(bytes.len()));
                prop_assert_ne!(decoder(&holed), Ok(list.clone()));
            }
        }
    }
}
