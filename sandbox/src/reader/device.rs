//! The reader's side of the protocol: acknowledges, deduplicates by sequence number, runs the
//! handshake, and answers commands.

use std::collections::HashMap;

use ring::signature::Ed25519KeyPair;
use starpos_protocol::reader::commands::{self, DeviceInfo, Prompt, Status};
use starpos_protocol::reader::firmware::{self, BeginRequest};
use starpos_protocol::reader::frame::{flags, Frame};
use starpos_protocol::reader::secure::aad;
use starpos_protocol::reader::secure::{self, Session};

use super::card_session::CardSession;
use crate::test_cards::{self, TestCard};

/// How many past responses the reader keeps to answer retransmissions without re-executing.
const RESPONSE_CACHE: usize = 32;

pub struct SimReader {
    identity: Ed25519KeyPair,
    pub info: DeviceInfo,
    session: Option<Session>,
    /// The platform's reader-authority public key, as burnt into the reader: it accepts a
    /// session only from a phone with a certificate signed by it.
    authority: Vec<u8>,
    /// The newest pairing generation a phone has proven: certificates of earlier pairings
    /// (the reader's previous merchants) are refused. A real reader keeps it in flash; this
    /// one for its lifetime.
    generation: u32,
    responses: HashMap<u16, Vec<u8>>,
    order: Vec<u16>,
    /// Commands executed (not counting retransmissions answered from the cache).
    pub executed: Vec<u16>,
    pub beeps: u32,
    pub display: Vec<String>,
    /// The platform's firmware-signing public key, as burnt into the reader.
    firmware_key: Vec<u8>,
    /// An update in progress: kept across disconnects, as a real reader keeps it in flash.
    incoming: Option<Incoming>,
    /// Card reading: DUKPT keys, the card the customer will present, the transaction under way.
    pub cards: CardSession,
    /// Event frames produced while executing a command, sent before its response.
    outbox: Vec<Vec<u8>>,
    /// Card reads since the battery last dropped a percent.
    reads_on_battery: u32,
}

struct Incoming {
    begin: BeginRequest,
    bytes: Vec<u8>,
}

impl SimReader {
    pub fn new(serial: &str) -> SimReader {
        Self::with_firmware_key(serial, Vec::new())
    }

    /// A reader that accepts firmware signed by the key whose public half is `firmware_key`.
    pub fn with_firmware_key(serial: &str, firmware_key: Vec<u8>) -> SimReader {
        SimReader {
            identity: test_cards::reader_identity(serial),
            info: DeviceInfo {
                serial: serial.into(),
                model: test_cards::SIM_MODEL.into(),
                firmware: "1.0.0".into(),
                battery_percent: 80,
                charging: false,
            },
            session: None,
            authority: test_cards::reader_authority_public(),
            generation: 0,
            responses: HashMap::new(),
            order: Vec::new(),
            executed: Vec::new(),
            beeps: 0,
            display: Vec::new(),
            firmware_key,
            incoming: None,
            cards: CardSession::new(serial),
            outbox: Vec::new(),
            reads_on_battery: 0,
        }
    }

    /// The card the customer presents at the next read (it stays until another is presented).
    pub fn present(&mut self, card: &'static TestCard) {
        self.cards.present(card);
    }

    /// Bytes of an interrupted update the reader holds.
    pub fn firmware_received(&self) -> usize {
        self.incoming.as_ref().map_or(0, |i| i.bytes.len())
    }

    /// The identity key a phone pins at pairing.
    pub fn identity_public(&self) -> Vec<u8> {
        secure::identity_public(&self.identity)
    }

    /// The newest pairing generation this reader has accepted.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// A new Bluetooth connection: the secure session does not survive it.
    pub fn reconnected(&mut self) {
        self.session = None;
        self.responses.clear();
        self.order.clear();
    }

    /// Handles one request frame; returns the encoded frames to send back (ACK, response).
    pub fn handle(&mut self, request: Frame) -> Vec<Vec<u8>> {
        if request.flags & (flags::RESPONSE | flags::ACK | flags::EVENT) != 0 {
            return Vec::new();
        }
        let ack = Frame::new(flags::ACK, request.seq, request.command, Vec::new()).encode().expect("an ACK is small");
        if let Some(cached) = self.responses.get(&request.seq) {
            return vec![ack, cached.clone()];
        }
        let response = self.respond(&request);
        self.responses.insert(request.seq, response.clone());
        self.order.push(request.seq);
        if self.order.len() > RESPONSE_CACHE {
            let old = self.order.remove(0);
            self.responses.remove(&old);
        }
        let mut out = vec![ack];
        out.append(&mut self.outbox);
        out.push(response);
        out
    }

    fn respond(&mut self, request: &Frame) -> Vec<u8> {
        self.executed.push(request.command);
        let payload = if request.flags & flags::ENCRYPTED != 0 {
            match self
                .session
                .as_mut()
                .map(|s| s.open(&aad(request.flags, request.seq, request.command), &request.payload))
            {
                Some(Ok(plain)) => plain,
                _ => return self.encode(request, status_only(Status::NotSecure), false),
            }
        } else {
            request.payload.clone()
        };
        let secure_before = self.session.is_some();
        let (body, seal) = match request.command {
            commands::HELLO => (vec![Status::Ok as u8, commands::PROTOCOL_VERSION], false),
            // One session per connection: a second handshake (another app, or someone who
            // reached the link) cannot replace the live one; the phone closes it first.
            commands::HANDSHAKE if secure_before => (status_only(Status::SessionLive), false),
            commands::HANDSHAKE => match secure::reader_answer(&self.trust(), &payload) {
                Ok((answer, session, cert)) => {
                    self.session = Some(session);
                    self.generation = self.generation.max(cert.generation);
                    let mut body = vec![Status::Ok as u8];
                    body.extend(commands::encode_handshake_answer(
                        &answer.ephemeral_public,
                        &answer.serial,
                        &answer.signature,
                    ));
                    (body, false)
                }
                Err(secure::SecureError::Malformed) => (status_only(Status::BadRequest), false),
                Err(_) => (status_only(Status::PhoneNotCertified), false),
            },
            _ if !secure_before || request.flags & flags::ENCRYPTED == 0 => (status_only(Status::NotSecure), false),
            commands::DEVICE_INFO => {
                let mut body = vec![Status::Ok as u8];
                body.extend(self.info.encode());
                (body, true)
            }
            commands::BEEP => {
                self.beeps += 1;
                (status_only(Status::Ok), true)
            }
            commands::FW_BEGIN => (self.firmware_begin(&payload), true),
            commands::FW_CHUNK => (self.firmware_chunk(&payload), true),
            commands::FW_COMMIT => (self.firmware_commit(), true),
            commands::READ_CARD => {
                self.prompt(Prompt::PresentCard);
                self.prompt(Prompt::ReadingCard);
                let body = self.cards.read(&payload);
                self.after_card_read();
                (body, true)
            }
            commands::PIN_ENTRY => {
                self.prompt(Prompt::EnterPin);
                (self.cards.pin(&payload), true)
            }
            commands::COMPLETE => {
                self.prompt(Prompt::Processing);
                let body = self.cards.complete(&payload);
                self.prompt(Prompt::RemoveCard);
                (body, true)
            }
            commands::CANCEL => {
                self.cards.cancel();
                (status_only(Status::Ok), true)
            }
            commands::CLOSE_SESSION => {
                // Answered under the old session, then it is gone.
                let answer = self.encode(request, status_only(Status::Ok), true);
                self.session = None;
                return answer;
            }
            commands::DISPLAY => match commands::Display::decode(&payload) {
                Some(display) => {
                    self.display = display.lines();
                    (status_only(Status::Ok), true)
                }
                // Free text, an unknown template or a malformed value: nothing is shown.
                None => (status_only(Status::BadRequest), true),
            },
            _ => (status_only(Status::UnknownCommand), true),
        };
        self.encode(request, body, seal)
    }

    fn trust(&self) -> secure::ReaderTrust<'_> {
        secure::ReaderTrust {
            identity: &self.identity,
            serial: &self.info.serial,
            authority_public: &self.authority,
            min_generation: self.generation,
        }
    }

    /// Queues a sealed event frame (sent before the response of the command running now).
    fn event(&mut self, body: &[u8]) {
        let Some(session) = self.session.as_mut() else { return };
        let frame_flags = flags::EVENT | flags::ENCRYPTED;
        let sealed = session.seal(&aad(frame_flags, 0, 0), body);
        if let Ok(bytes) = Frame::new(frame_flags, 0, 0, sealed).encode() {
            self.outbox.push(bytes);
        }
    }

    fn prompt(&mut self, prompt: Prompt) {
        self.event(&[commands::event::PROMPT, prompt as u8]);
    }

    /// The battery model: on battery, every fourth card read costs a percent; each read ends
    /// with a battery report.
    fn after_card_read(&mut self) {
        if !self.info.charging {
            self.reads_on_battery += 1;
            if self.reads_on_battery >= 4 {
                self.reads_on_battery = 0;
                self.info.battery_percent = self.info.battery_percent.saturating_sub(1);
            }
        }
        let report = [commands::event::BATTERY, self.info.battery_percent, self.info.charging as u8];
        self.event(&report);
    }

    fn firmware_begin(&mut self, payload: &[u8]) -> Vec<u8> {
        let Some(begin) = BeginRequest::decode(payload) else { return status_only(Status::BadRequest) };
        if self.info.battery_percent < firmware::MIN_BATTERY_PERCENT && !self.info.charging {
            return status_only(Status::BatteryLow);
        }
        let message = firmware::signed_message(&begin.sha256, begin.size, &begin.version);
        let signed = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &self.firmware_key)
            .verify(&message, &begin.signature)
            .is_ok();
        if !signed {
            return status_only(Status::FirmwareInvalid);
        }
        let resume = self.incoming.as_ref().is_some_and(|i| i.begin.sha256 == begin.sha256);
        if !resume {
            self.incoming = Some(Incoming { begin, bytes: Vec::new() });
        }
        offset_answer(self.firmware_received())
    }

    fn firmware_chunk(&mut self, payload: &[u8]) -> Vec<u8> {
        let Some(incoming) = self.incoming.as_mut() else { return status_only(Status::BadRequest) };
        let Some(offset) = payload.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes) else {
            return status_only(Status::BadRequest);
        };
        let data = &payload[4..];
        if offset as usize != incoming.bytes.len() || incoming.bytes.len() + data.len() > incoming.begin.size as usize {
            return status_only(Status::BadRequest);
        }
        incoming.bytes.extend_from_slice(data);
        offset_answer(incoming.bytes.len())
    }

    fn firmware_commit(&mut self) -> Vec<u8> {
        let Some(incoming) = self.incoming.take() else { return status_only(Status::BadRequest) };
        let hash = ring::digest::digest(&ring::digest::SHA256, &incoming.bytes);
        if incoming.bytes.len() != incoming.begin.size as usize || hash.as_ref() != incoming.begin.sha256 {
            return status_only(Status::FirmwareInvalid);
        }
        self.info.firmware = incoming.begin.version;
        status_only(Status::Ok)
    }

    fn encode(&mut self, request: &Frame, body: Vec<u8>, seal: bool) -> Vec<u8> {
        let mut frame_flags = flags::RESPONSE;
        let payload = match (seal, self.session.as_mut()) {
            (true, Some(session)) => {
                frame_flags |= flags::ENCRYPTED;
                session.seal(&aad(frame_flags, request.seq, request.command), &body)
            }
            _ => body,
        };
        Frame::new(frame_flags, request.seq, request.command, payload).encode().expect("responses are small")
    }
}

fn offset_answer(offset: usize) -> Vec<u8> {
    let mut body = vec![Status::Ok as u8];
    body.extend_from_slice(&(offset as u32).to_be_bytes());
    body
}

pub(super) fn status_only(status: Status) -> Vec<u8> {
    vec![status as u8]
}
