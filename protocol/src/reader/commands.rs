//! Command codes, response status codes and the small binary payloads of the reader protocol
//! (docs/reader-protocol.md, section 6). Shared by the core and the simulated reader.

pub const HELLO: u16 = 0x0001;
pub const DEVICE_INFO: u16 = 0x0002;
pub const HANDSHAKE: u16 = 0x0003;
/// Ends the secure session (sealed): the reader then takes a new handshake on this connection.
pub const CLOSE_SESSION: u16 = 0x0004;
/// Shows one of the reader's own templates ([`Display`]); the reader shows no text of the
/// phone's making.
pub const DISPLAY: u16 = 0x0010;
pub const BEEP: u16 = 0x0011;
pub const READ_CARD: u16 = 0x0020;
pub const PIN_ENTRY: u16 = 0x0021;
pub const COMPLETE: u16 = 0x0022;
pub const CANCEL: u16 = 0x0023;
pub const FW_BEGIN: u16 = 0x0030;
pub const FW_CHUNK: u16 = 0x0031;
pub const FW_COMMIT: u16 = 0x0032;

/// The protocol version this core speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// First byte of every response payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    UnknownCommand = 1,
    BadRequest = 2,
    Busy = 3,
    Cancelled = 4,
    BatteryLow = 5,
    FirmwareInvalid = 6,
    NotSecure = 7,
    /// No card was presented before the read's time-out.
    NoCard = 8,
    /// The card could not be read (bad chip, unsupported card, mode not allowed).
    CardUnreadable = 9,
    /// The customer did not enter a PIN in time.
    PinTimeout = 10,
    /// The card was taken out before the reader was done with it.
    CardRemoved = 11,
    /// The customer pressed cancel on the PIN pad.
    PinCancelled = 12,
    /// The card's chip could not be read: the phone may ask for a fallback swipe of it.
    ChipUnreadable = 13,
    /// The handshake's phone is not certified for this reader (no certificate, not the
    /// platform's, another reader's, an earlier pairing's, or not signed by its key).
    PhoneNotCertified = 14,
    /// A secure session is live on this connection: a second handshake is refused until the
    /// first is closed (or the connection drops).
    SessionLive = 15,
}

impl Status {
    pub fn from_byte(b: u8) -> Option<Status> {
        Some(match b {
            0 => Status::Ok,
            1 => Status::UnknownCommand,
            2 => Status::BadRequest,
            3 => Status::Busy,
            4 => Status::Cancelled,
            5 => Status::BatteryLow,
            6 => Status::FirmwareInvalid,
            7 => Status::NotSecure,
            8 => Status::NoCard,
            9 => Status::CardUnreadable,
            10 => Status::PinTimeout,
            11 => Status::CardRemoved,
            12 => Status::PinCancelled,
            13 => Status::ChipUnreadable,
            14 => Status::PhoneNotCertified,
            15 => Status::SessionLive,
            _ => return None,
        })
    }
}

/// What the reader says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub serial: String,
    pub model: String,
    pub firmware: String,
    pub battery_percent: u8,
    pub charging: bool,
}

impl DeviceInfo {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in [&self.serial, &self.model, &self.firmware] {
            put_str(&mut out, s);
        }
        out.push(self.battery_percent.min(100));
        out.push(self.charging as u8);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<DeviceInfo> {
        let mut r = Reader(bytes);
        let info = DeviceInfo {
            serial: r.str()?,
            model: r.str()?,
            firmware: r.str()?,
            battery_percent: r.u8()?.min(100),
            charging: r.u8()? != 0,
        };
        r.0.is_empty().then_some(info)
    }
}

/// Unsolicited reader events (frames flagged EVENT, sealed, not acknowledged): the first payload
/// byte says which.
pub mod event {
    /// A prompt to show the merchant: one byte, a [`super::Prompt`].
    pub const PROMPT: u8 = 1;
    /// Battery: percent, charging (one byte each).
    pub const BATTERY: u8 = 2;
}

/// What the reader is asking the customer to do, for the app to show as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Prompt {
    PresentCard = 1,
    ReadingCard = 2,
    EnterPin = 3,
    RemoveCard = 4,
    Processing = 5,
}

impl Prompt {
    pub fn from_byte(b: u8) -> Option<Prompt> {
        Some(match b {
            1 => Prompt::PresentCard,
            2 => Prompt::ReadingCard,
            3 => Prompt::EnterPin,
            4 => Prompt::RemoveCard,
            5 => Prompt::Processing,
            _ => return None,
        })
    }
}

/// What the reader's screen may show: its own templates, filled with typed values. A phone
/// (or anyone who took over the link) cannot make the reader show words of its choosing,
/// such as a fake "approved" or a request for a PIN by another route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// The reader's idle screen.
    Idle,
    /// The amount the customer is asked to pay.
    Amount {
        fen: u64,
    },
    Approved,
    Declined,
    ThankYou,
}

impl Display {
    /// The largest amount a template shows: the reader's screen has room for 12 characters.
    pub const MAX_FEN: u64 = 9_999_999_999;

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Display::Idle => vec![1],
            Display::Amount { fen } => [&[2u8][..], &fen.to_be_bytes()].concat(),
            Display::Approved => vec![3],
            Display::Declined => vec![4],
            Display::ThankYou => vec![5],
        }
    }

    /// `None` for anything but a known template with well-formed values.
    pub fn decode(bytes: &[u8]) -> Option<Display> {
        Some(match bytes {
            [1] => Display::Idle,
            [2, fen @ ..] => {
                let fen = u64::from_be_bytes(fen.try_into().ok()?);
                (fen <= Self::MAX_FEN).then_some(Display::Amount { fen })?
            }
            [3] => Display::Approved,
            [4] => Display::Declined,
            [5] => Display::ThankYou,
            _ => return None,
        })
    }

    /// The screen's lines (the reader's language: Chinese, with the amount in yuan).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Display::Idle => vec!["StarPOS".into()],
            Display::Amount { fen } => vec!["消费金额".into(), format!("¥{}.{:02}", fen / 100, fen % 100)],
            Display::Approved => vec!["交易成功".into()],
            Display::Declined => vec!["交易失败".into()],
            Display::ThankYou => vec!["谢谢惠顾".into()],
        }
    }
}

/// The reader's answer to the handshake: ephemeral key, serial, identity signature.
pub fn encode_handshake_answer(ephemeral: &[u8; 32], serial: &str, signature: &[u8]) -> Vec<u8> {
    let mut out = ephemeral.to_vec();
    put_str(&mut out, serial);
    out.extend_from_slice(signature);
    out
}

pub fn decode_handshake_answer(bytes: &[u8]) -> Option<([u8; 32], String, Vec<u8>)> {
    let ephemeral: [u8; 32] = bytes.get(..32)?.try_into().ok()?;
    let mut r = Reader(&bytes[32..]);
    let serial = r.str()?;
    Some((ephemeral, serial, r.0.to_vec()))
}

/// A length-prefixed (one byte) UTF-8 string, cut at 255 bytes on a character boundary.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// A cursor over a payload; every read checks the bounds.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub fn str(&mut self) -> Option<String> {
        let n = self.u8()? as usize;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_info_round_trips_and_refuses_garbage() {
        let info = DeviceInfo {
            serial: "SP100-000123".into(),
            model: "StarPOS P1".into(),
            firmware: "1.4.2".into(),
            battery_percent: 76,
            charging: true,
        };
        assert_eq!(DeviceInfo::decode(&info.encode()), Some(info.clone()));
        let bytes = info.encode();
        for cut in 0..bytes.len() {
            assert_eq!(DeviceInfo::decode(&bytes[..cut]), None);
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(DeviceInfo::decode(&long), None);
    }

    #[test]
    fn only_templates_reach_the_screen() {
        for d in
            [Display::Idle, Display::Amount { fen: 12_345 }, Display::Approved, Display::Declined, Display::ThankYou]
        {
            assert_eq!(Display::decode(&d.encode()), Some(d));
        }
        assert_eq!(Display::Amount { fen: 12_345 }.lines(), ["消费金额", "¥123.45"]);
        assert_eq!(Display::decode(b"APPROVED - enter PIN on your phone"), None, "free text is no template");
        assert_eq!(Display::decode(&[2, 0, 0]), None, "a short amount");
        assert_eq!(Display::decode(&Display::Amount { fen: Display::MAX_FEN + 1 }.encode()), None);
        assert_eq!(Display::decode(&[]), None);
    }

    #[test]
    fn long_strings_are_cut_on_a_character_boundary() {
        let mut out = Vec::new();
        // Four-byte characters: 255 is not a multiple of 4, so the cut falls back to 252.
        put_str(&mut out, &"😀".repeat(100));
        assert_eq!(out[0], 252);
        assert!(Reader(&out).str().is_some());
    }
}
