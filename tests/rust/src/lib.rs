//! Helpers for the integration tests: a sandbox on loopback and clients for it.

use std::sync::Arc;

use starpos_core::{Config, InMemorySecureStore, SmsPurpose, StarPos};
pub use starpos_sandbox::test_kit::DevClient;
use starpos_sandbox::{Sandbox, SandboxConfig};

pub const PASSWORD: &str = "Rust2026test";

/// A simulated reader with `serial` on the in-process Bluetooth link, paired for `c`'s
/// merchant and connected the way the app does: what the payment and history tests sell
/// through.
pub async fn connected_reader(
    c: &StarPos,
    serial: &str,
) -> (starpos_sandbox::reader::SimLink, starpos_core::reader::controller::CardReader) {
    use starpos_sandbox::reader::{Faults, SimLink, SimReader};
    let link = SimLink::new(SimReader::new(serial), Faults::default());
    let reader = starpos_core::reader::controller::CardReader::new(Arc::new(link.clone()));
    starpos_sandbox::test_kit::pair_and_connect(c, &reader, serial).await.expect("the simulated reader connects");
    (link, reader)
}

/// A reader serial of the sandbox factory's form, its own for `device` (a reader belongs to one
/// merchant at a time, so merchants sharing a sandbox need readers of their own).
pub fn serial_for(device: &str) -> String {
    // FNV-1a of the name: stable across runs (std's hasher is seeded per process).
    let n = device.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193)) % 1_000_000;
    format!("SP200-{n:06}")
}

/// A sale's handle, filled in once `start_sale` has returned it, for listeners that cancel the
/// sale the way a merchant's tap on Cancel would: from another thread, a moment later.
#[derive(Clone, Default)]
pub struct HandleSlot(Arc<std::sync::OnceLock<starpos_core::clients::SaleHandle>>);

impl HandleSlot {
    pub fn fill(&self, handle: &starpos_core::clients::SaleHandle) {
        let _ = self.0.set(handle.clone());
    }

    /// Cancels now, from the caller's thread (a listener's), if the handle is known; answers
    /// what `cancel()` said.
    pub fn cancel_now(&self) -> bool {
        self.0.get().is_some_and(|handle| handle.cancel())
    }

    /// Cancels from another thread once the handle is known (and `after` has passed); the
    /// thread answers what `cancel()` said.
    pub fn cancel_soon(&self, after: std::time::Duration) -> std::thread::JoinHandle<bool> {
        let slot = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            loop {
                if let Some(handle) = slot.0.get() {
                    return handle.cancel();
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    }
}

/// A sandbox on a free loopback port with its dev client.
pub struct World {
    pub sandbox: Sandbox,
    pub dev: DevClient,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn start() -> World {
        Self::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(config: SandboxConfig) -> World {
        let sandbox = Sandbox::start_local(config).await.expect("sandbox starts");
        let dev = DevClient::new(&sandbox.url());
        World { sandbox, dev, dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A client for `device`, with its own data folder and an in-memory secure store.
    pub fn client(&self, device: &str) -> (StarPos, Arc<InMemorySecureStore>) {
        let store = Arc::new(InMemorySecureStore::new());
        (self.client_with(device, store.clone()), store)
    }

    pub fn client_with(&self, device: &str, store: Arc<InMemorySecureStore>) -> StarPos {
        self.client_tuned(device, store, |_| {})
    }

    /// A client whose configuration `tune` changes first (a shorter QR schedule, say).
    pub fn client_tuned(
        &self,
        device: &str,
        store: Arc<InMemorySecureStore>,
        tune: impl FnOnce(&mut Config),
    ) -> StarPos {
        let mut config = Config::new(self.sandbox.url(), self.dir.path().join(device), device);
        tune(&mut config);
        StarPos::new(config, store).expect("client opens")
    }

    /// Registers `phone` on `client` with the SMS code read from the sandbox.
    pub async fn register(&self, client: &StarPos, phone: &str) -> starpos_core::Session {
        client.account().request_sms_code(phone.into(), SmsPurpose::Register).await.expect("sms sent");
        let code = self.dev.sms_code(phone, "register").await.expect("sms code");
        client.account().register(phone.into(), PASSWORD.into(), code).await.expect("registered")
    }
}

/// A fresh mainland mobile number.
pub fn new_phone() -> String {
    let n = u32::from_str_radix(&starpos_core::util::random_hex(4), 16).unwrap() % 100_000_000;
    format!("136{n:08}")
}

/// A payment code of `wallet`'s shape (`wechat`, `alipay`, else UnionPay) whose last two digits
/// are `behaviour`, the sandbox wallet's behaviour (docs/qr.md); unique per call.
pub fn payment_code(wallet: &str, behaviour: &str) -> String {
    let middle: String = starpos_core::util::random_hex(8).bytes().take(8).map(|b| (b % 10 + b'0') as char).collect();
    match wallet {
        "wechat" => format!("13{middle}000000{behaviour}"),
        "alipay" => format!("28{middle}0000{behaviour}"),
        _ => format!("62{middle}0000000{behaviour}"),
    }
}

/// Every file under `dir`, read whole.
pub fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Signed platform requests of a test's own making, with the session a client keeps in its
/// secure store: what a modified app could send, for checks of the platform itself.
pub struct SignedRequests {
    http: reqwest::Client,
    url: String,
    token: String,
    key: Vec<u8>,
}

impl SignedRequests {
    pub fn from_store(w: &World, store: &InMemorySecureStore) -> SignedRequests {
        use base64::Engine as _;
        use starpos_core::SecureStore as _;
        let raw = store.get(starpos_core::account::SESSION_KEY).unwrap().expect("a session");
        let session: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        SignedRequests {
            http: reqwest::Client::new(),
            url: w.sandbox.url(),
            token: session["access_token"].as_str().unwrap().into(),
            key: base64::engine::general_purpose::STANDARD
                .decode(session["signing_key_b64"].as_str().unwrap())
                .unwrap(),
        }
    }

    /// Sends `method path` with `body` (GET sends none); answers the status and the body (JSON,
    /// or the text as a JSON string when it is not JSON).
    pub async fn send(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, serde_json::Value) {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        let (ts, nonce) = (starpos_core::util::unix_now(), starpos_core::util::random_hex(12));
        let signature = starpos_core::platform::signing::sign(&self.key, method, path, ts, &nonce, &bytes);
        let url = format!("{}{}", self.url, path.trim_start_matches('/'));
        let request = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url).header("content-type", "application/json").body(bytes),
            _ => self.http.post(url).header("content-type", "application/json").body(bytes),
        };
        let answer = request
            .bearer_auth(&self.token)
            .header("x-starpos-timestamp", ts.to_string())
            .header("x-starpos-nonce", nonce)
            .header("x-starpos-signature", signature)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }
}
