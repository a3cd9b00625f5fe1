//! The reader's side of the protocol: acknowledges, deduplicates by sequence number, runs the
//! handshake, and answers commands.

use std::collections::HashMap;

use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use starpos_core::reader::commands::{self, DeviceInfo, Status};
use starpos_core::reader::connection::aad;
use starpos_core::reader::frame::{flags, Frame};
use starpos_core::reader::secure::{self, Session};

/// How many past responses the reader keeps to answer retransmissions without re-executing.
const RESPONSE_CACHE: usize = 32;

pub struct SimReader {
    identity: Ed25519KeyPair,
    pub info: DeviceInfo,
    session: Option<Session>,
    responses: HashMap<u16, Vec<u8>>,
    order: Vec<u16>,
    /// Commands executed (not counting retransmissions answered from the cache).
    pub executed: Vec<u16>,
    pub beeps: u32,
    pub display: Vec<String>,
}

impl SimReader {
    pub fn new(serial: &str) -> SimReader {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("the OS random source works");
        let identity = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a freshly generated key parses");
        SimReader {
            identity,
            info: DeviceInfo {
                serial: serial.into(),
                model: "StarPOS SIM-1".into(),
                firmware: "1.0.0".into(),
                battery_percent: 80,
                charging: false,
            },
            session: None,
            responses: HashMap::new(),
            order: Vec::new(),
            executed: Vec::new(),
            beeps: 0,
            display: Vec::new(),
        }
    }

    /// The identity key a phone pins at pairing.
    pub fn identity_public(&self) -> Vec<u8> {
        secure::identity_public(&self.identity)
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
        vec![ack, response]
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
            commands::HANDSHAKE => match secure::reader_answer(&self.identity, &self.info.serial, &payload) {
                Ok((answer, session)) => {
                    self.session = Some(session);
                    let mut body = vec![Status::Ok as u8];
                    body.extend(commands::encode_handshake_answer(
                        &answer.ephemeral_public,
                        &answer.serial,
                        &answer.signature,
                    ));
                    (body, false)
                }
                Err(_) => (status_only(Status::BadRequest), false),
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
            commands::DISPLAY_TEXT => {
                self.display = String::from_utf8_lossy(&payload).lines().map(str::to_string).collect();
                (status_only(Status::Ok), true)
            }
            _ => (status_only(Status::UnknownCommand), true),
        };
        self.encode(request, body, seal)
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

fn status_only(status: Status) -> Vec<u8> {
    vec![status as u8]
}
