//! The simulated reader's card side: the customer presents a test card, the reader encrypts
//! track 2 and the PIN under its DUKPT keys, builds the chip data, and later gives the card the
//! platform's answer. Only what a real reader would send leaves here.

use crate::hsm::{
    derive_transaction_key, derive_working_key, encipher_pin_block_format4, encrypt_track2,
    validate_transaction_counter, Key, KeyUsage,
};
use ring::rand::{SecureRandom, SystemRandom};
use starpos_protocol::checks::check_bank_card;
use starpos_protocol::reader::card::{
    self, amount_bcd, bcd_currency, mac_input, service_code_has_chip, CardResult, CompleteRequest, CompleteResult,
    EntryMode, MacFields, PinResult, ReadCardRequest,
};
use starpos_protocol::reader::commands::Status;
use starpos_protocol::reader::tlv::{self, Tag, Tlv};

use super::device::status_only;
use crate::test_cards::{self, cryptogram, reader_mac_key, Chip, Outcome, TestCard};

/// Misbehaviour to test the phone's checks with.
#[derive(Debug, Clone, Default)]
pub struct CardFaults {
    /// Put the clear PAN (tag 5A) into the chip data, as a broken reader might.
    pub leak_clear_pan: bool,
    /// Report this amount instead of the one asked for (in the echo and in 9F02).
    pub report_amount: Option<u64>,
    /// Answer read card with "no card presented".
    pub no_card: bool,
    /// A counterfeit chip: its cryptogram (9F26) is not made with the card's key. The reader
    /// MACs the result honestly, so only the issuer's check can catch it.
    pub counterfeit_chip: bool,
}

/// Amounts at which the simulated customer misbehaves (docs/test-cards.md), so a test in any
/// language, talking to the reader in another process, can provoke each card and PIN failure
/// through the real protocol.
pub mod customer {
    /// No card is presented before the read's time-out.
    pub const NO_CARD_FEN: u64 = 6_601;
    /// The card presented cannot be read (a bad chip and a worn stripe).
    pub const UNREADABLE_FEN: u64 = 6_602;
    /// The card is pulled out before the reader is done.
    pub const REMOVED_FEN: u64 = 6_603;
    /// The customer never types the PIN.
    pub const PIN_TIMEOUT_FEN: u64 = 6_604;
    /// The customer presses cancel on the PIN pad.
    pub const PIN_CANCELLED_FEN: u64 = 6_605;
    /// The card's chip cannot be read; its stripe can (the fallback swipe goes through).
    pub const CHIP_FAILS_FEN: u64 = 6_606;
    /// The customer swipes a chip card first; asked for the chip, they insert it.
    pub const SWIPES_CHIP_CARD_FEN: u64 = 6_607;
}

struct Transaction {
    nonce: [u8; 16],
    ksn: [u8; 12],
    card: &'static TestCard,
    amount_fen: u64,
}

pub struct CardSession {
    serial: String,
    initial_key: Key,
    initial_key_id: [u8; 8],
    counter: u32,
    presented: &'static TestCard,
    current: Option<Transaction>,
    pub faults: CardFaults,
    /// The last read ended with the chip unreadable: the one next read may be a fallback swipe.
    chip_failed: bool,
    /// Card reads performed (for tests).
    pub reads: u32,
    /// Every encrypted track 2 and PIN block this reader sent, so a test can prove none of
    /// them was kept on the phone.
    pub issued: Vec<Vec<u8>>,
}

impl CardSession {
    pub fn new(serial: &str) -> CardSession {
        CardSession {
            serial: serial.into(),
            initial_key: test_cards::injected_initial_key(serial),
            initial_key_id: test_cards::initial_key_id(serial),
            counter: 0,
            presented: &test_cards::TEST_CARDS[0],
            current: None,
            faults: CardFaults::default(),
            chip_failed: false,
            reads: 0,
            issued: Vec::new(),
        }
    }

    pub fn present(&mut self, card: &'static TestCard) {
        self.presented = card;
    }

    /// The next KSN: the counter moves on, skipping values X9.24-3 does not allow. A real
    /// reader keeps its counter in non-volatile memory, so a KSN is never used twice (the
    /// platform refuses a repeated one as a replay); a simulated reader made again with the
    /// same serial in this process likewise carries on from the last counter used.
    fn next_ksn(&mut self) -> [u8; 12] {
        static COUNTERS: std::sync::Mutex<Vec<(String, u32)>> = std::sync::Mutex::new(Vec::new());
        let mut counters = COUNTERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stored = match counters.iter_mut().find(|(serial, _)| *serial == self.serial) {
            Some((_, counter)) => counter,
            None => {
                counters.push((self.serial.clone(), 0));
                &mut counters.last_mut().expect("just pushed").1
            }
        };
        self.counter = self.counter.max(*stored);
        loop {
            self.counter += 1;
            if validate_transaction_counter(self.counter).is_ok() {
                break;
            }
        }
        *stored = self.counter;
        let mut ksn = [0u8; 12];
        ksn[..8].copy_from_slice(&self.initial_key_id);
        ksn[8..].copy_from_slice(&self.counter.to_be_bytes());
        ksn
    }

    fn key(&self, ksn: &[u8; 12], usage: KeyUsage) -> Key {
        let transaction = derive_transaction_key(&self.initial_key, ksn).expect("next_ksn gives valid counters");
        derive_working_key(&transaction, usage, ksn)
    }

    pub fn read(&mut self, payload: &[u8]) -> Vec<u8> {
        let Some(request) = ReadCardRequest::decode(payload) else { return status_only(Status::BadRequest) };
        // A fallback must follow this reader's own failed chip read, immediately.
        let chip_failed = std::mem::take(&mut self.chip_failed);
        if request.fallback && !(chip_failed && request.modes == card::EntryModes::SWIPE) {
            return status_only(Status::BadRequest);
        }
        if self.faults.no_card {
            return status_only(Status::NoCard);
        }
        match request.amount_fen {
            customer::NO_CARD_FEN => return status_only(Status::NoCard),
            // A bad chip and a worn stripe: the chip fails, and so does the fallback swipe.
            customer::UNREADABLE_FEN if request.fallback => return status_only(Status::CardUnreadable),
            customer::UNREADABLE_FEN => {
                self.chip_failed = true;
                return status_only(Status::ChipUnreadable);
            }
            customer::REMOVED_FEN => return status_only(Status::CardRemoved),
            customer::CHIP_FAILS_FEN if !request.fallback => {
                self.chip_failed = true;
                return status_only(Status::ChipUnreadable);
            }
            _ => {}
        }
        let card = self.presented;
        // The customer presents the card their way; asked for the chip, they insert it; asked
        // for the fallback swipe, they swipe. A way the reader was not asked for is no read.
        let swipes_first =
            request.amount_fen == customer::SWIPES_CHIP_CARD_FEN && request.modes.allows(EntryMode::Swipe);
        let mode = if request.fallback || swipes_first {
            EntryMode::Swipe
        } else if request.modes.allows(card.mode) {
            card.mode
        } else if card.chip != Chip::None && request.modes.allows(EntryMode::Insert) {
            EntryMode::Insert
        } else {
            return status_only(Status::CardUnreadable);
        };
        if mode != EntryMode::Swipe && card.chip == Chip::Broken {
            self.chip_failed = true;
            return status_only(Status::ChipUnreadable);
        }
        self.reads += 1;
        let ksn = self.next_ksn();
        let track = format!("{}={}{}{}", card.pan, card.expiry, card.service_code, "00000000000");
        let track = &track[..track.len().min(37)];
        let Ok(encrypted_track2) = encrypt_track2(&self.key(&ksn, KeyUsage::DataEncryption), track) else {
            return status_only(Status::CardUnreadable);
        };
        let amount = self.faults.report_amount.unwrap_or(request.amount_fen);
        let icc_data = match mode {
            EntryMode::Swipe => Vec::new(),
            _ => self.chip_data(card, amount, request.currency),
        };
        let masked_pan = check_bank_card(card.pan).masked;
        let field55 = tlv::decode_nested(&icc_data).map(|o| card::field55_of(&o)).unwrap_or_default();
        let mac_fields = MacFields {
            amount_fen: amount,
            currency: request.currency,
            nonce: &request.nonce,
            entry_mode: mode,
            fallback: request.fallback,
            masked_pan: &masked_pan,
            ksn: &ksn,
            encrypted_track2: &encrypted_track2,
            field55: &field55,
        };
        let Some(mac_key) = reader_mac_key(&self.initial_key, &ksn) else {
            return status_only(Status::CardUnreadable);
        };
        let mac = ring::hmac::sign(&mac_key, &mac_input(&mac_fields));
        let result = CardResult {
            entry_mode: mode,
            amount_fen: amount,
            currency: request.currency,
            nonce: request.nonce,
            masked_pan,
            app_label: if mode == EntryMode::Swipe { String::new() } else { card.app_label.into() },
            ksn,
            encrypted_track2,
            icc_data,
            pin_required: card::pin_required(mode, request.amount_fen),
            chip_card: service_code_has_chip(card.service_code),
            fallback: request.fallback,
            mac: mac.as_ref().try_into().expect("HMAC-SHA256 is 32 bytes"),
        };
        self.issued.push(result.encrypted_track2.clone());
        self.current = Some(Transaction { nonce: request.nonce, ksn, card, amount_fen: amount });
        let mut body = vec![Status::Ok as u8];
        body.extend(result.encode());
        body
    }

    fn chip_data(&self, card: &TestCard, amount: u64, currency: u16) -> Vec<u8> {
        let counter = self.counter.to_be_bytes();
        let mut unpredictable = [0u8; 4];
        let _ = SystemRandom::new().fill(&mut unpredictable);
        let today = time::OffsetDateTime::now_utc().date();
        let bcd = |n: u8| (n / 10) << 4 | (n % 10);
        let date = [bcd((today.year() % 100) as u8), bcd(today.month() as u8), bcd(today.day())];
        let mut serial8 = [b' '; 8];
        for (d, s) in serial8.iter_mut().zip(self.serial.bytes().rev().take(8).collect::<Vec<_>>().into_iter().rev()) {
            *d = s;
        }
        let t = |raw: u32, v: Vec<u8>| Tlv::new(Tag::new(raw).expect("known EMV tags"), v);
        let mut objects = vec![
            // The cryptogram (9F26) goes first once the chip has computed it over these.
            t(0x9F27, vec![0x80]),
            t(0x9F10, vec![0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00]),
            t(0x9F37, unpredictable.to_vec()),
            t(0x9F36, counter[2..].to_vec()),
            t(0x95, vec![0; 5]),
            t(0x9A, date.to_vec()),
            t(0x9C, vec![0x00]),
            t(0x9F02, amount_bcd(amount).to_vec()),
            t(0x5F2A, bcd_currency(currency).to_vec()),
            t(0x82, vec![0x7C, 0x00]),
            t(0x9F1A, bcd_currency(156).to_vec()),
            t(0x9F03, vec![0; 6]),
            t(0x9F33, vec![0xE0, 0xE1, 0xC8]),
            t(0x9F34, vec![0x42, 0x03, 0x00]),
            t(0x9F35, vec![0x22]),
            t(0x9F1E, serial8.to_vec()),
            t(0x84, vec![0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01]),
            t(0x9F09, vec![0x00, 0x30]),
            t(0x9F41, counter.to_vec()),
            // Read from the card but not for field 55: the phone must drop these.
            t(0x50, card.app_label.as_bytes().to_vec()),
            t(0x5F34, vec![0x01]),
            t(0x5F24, hex::decode(format!("{}31", card.expiry)).unwrap_or_default()),
        ];
        let mut arqc = cryptogram(card.pan, &objects).expect("the chip data holds every object the cryptogram covers");
        if self.faults.counterfeit_chip {
            let _ = SystemRandom::new().fill(&mut arqc);
        }
        objects.insert(0, t(0x9F26, arqc.to_vec()));
        if self.faults.leak_clear_pan {
            objects.push(t(0x5A, card.pan.as_bytes().to_vec()));
        }
        tlv::encode(&objects)
    }

    pub fn pin(&mut self, payload: &[u8]) -> Vec<u8> {
        let Some(tx) = self.current.as_ref().filter(|t| payload.len() == 17 && payload[..16] == t.nonce) else {
            return status_only(Status::BadRequest);
        };
        match tx.amount_fen {
            customer::PIN_TIMEOUT_FEN => return status_only(Status::PinTimeout),
            customer::PIN_CANCELLED_FEN => return status_only(Status::PinCancelled),
            _ => {}
        }
        let pin_key = self.key(&tx.ksn, KeyUsage::PinEncryption);
        let mut fill = [0u8; 8];
        let _ = SystemRandom::new().fill(&mut fill);
        let Ok(pin_block) = encipher_pin_block_format4(&pin_key, tx.card.typed_pin, tx.card.pan, fill) else {
            return status_only(Status::CardUnreadable);
        };
        let (nonce, ksn) = (tx.nonce, tx.ksn);
        self.issued.push(pin_block.to_vec());
        let mut body = vec![Status::Ok as u8];
        body.extend(PinResult { nonce, ksn, pin_block }.encode());
        body
    }

    pub fn complete(&mut self, payload: &[u8]) -> Vec<u8> {
        let Some(request) = CompleteRequest::decode(payload) else { return status_only(Status::BadRequest) };
        let Some(tx) = self.current.take().filter(|t| t.nonce == request.nonce) else {
            return status_only(Status::BadRequest);
        };
        let approved = &request.response_code == b"00" && tx.card.outcome != Outcome::ChipDeclinesAfterApproval;
        let t = |raw: u32, v: Vec<u8>| Tlv::new(Tag::new(raw).expect("known EMV tags"), v);
        let mut cryptogram = [0u8; 8];
        let _ = SystemRandom::new().fill(&mut cryptogram);
        let icc = tlv::encode(&[
            t(0x9F27, vec![if approved { 0x40 } else { 0x00 }]),
            t(0x9F26, cryptogram.to_vec()),
            t(0x95, vec![0, 0, 0, 0, if approved { 0 } else { 0x40 }]),
            t(0x9B, vec![0xE8, 0x00]),
            t(0x9F02, amount_bcd(tx.amount_fen).to_vec()),
        ]);
        let mut body = vec![Status::Ok as u8];
        body.extend(CompleteResult { approved, icc_data: icc }.encode());
        body
    }

    pub fn cancel(&mut self) {
        self.current = None;
    }
}
