//! HTTP client for the platform: one reqwest client (rustls), JSON in and out, signing after
//! login, the platform's clock tracked from every answer, and bounded retries with back-off and
//! jitter for idempotent requests only.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use super::delivery::Delivery;
use super::link::{ConnectionStatus, LinkState};
use super::meter::{DataMeter, NetworkType};
use super::{compress, signing, tls, wire};
use crate::error::{Error, InternalError};
use crate::util::{random_hex, unix_now};

/// Attempts for an idempotent request (the first try included).
const IDEMPOTENT_ATTEMPTS: u32 = 3;
/// Pinned keys a non-loopback platform needs: the key in use and a backup.
const MIN_PINS: usize = 2;

/// How long the client waits (docs/network.md has the reasoning and the measurements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection (TCP and TLS): three round trips of a 2G link with a loss, and
    /// then some.
    pub connect: Duration,
    /// For one attempt's answer.
    pub request: Duration,
    /// For an idempotent request with all its retries: after this the outcome is unknown (a
    /// payment is then reversed), however many attempts are left.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(10), request: Duration::from_secs(30), total: Duration::from_secs(45) }
    }
}
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The largest answer the client accepts once decompressed (a history page is ~100 KB).
const MAX_ANSWER: usize = 16 << 20;

/// How a request is authenticated.
pub enum Auth<'a> {
    /// Before login: registration, SMS, login, refresh.
    None,
    /// After login: bearer token plus the HMAC signature (see [`signing`]).
    Signed { access_token: &'a str, signing_key: &'a [u8] },
}

pub struct PlatformClient {
    http: reqwest::Client,
    base: Url,
    /// Platform clock minus the phone's clock, in seconds: the phone's clock is not trusted.
    clock_offset: AtomicI64,
    /// HTTP exchanges with the platform (each attempt counts), for diagnostics.
    round_trips: std::sync::atomic::AtomicU64,
    meter: DataMeter,
    link: LinkState,
    timeouts: Timeouts,
}

impl PlatformClient {
    pub fn new(
        base_url: &str,
        pins: &[String],
        extra_roots_der: &[Vec<u8>],
        timeouts: Timeouts,
    ) -> Result<Self, Error> {
        let base = Url::parse(base_url).map_err(|e| Error::invalid("platform_url", format!("not a URL: {e}")))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(Error::invalid("platform_url", "plain http is allowed only to loopback (the sandbox)"))
            }
            other => return Err(Error::invalid("platform_url", format!("unsupported scheme {other}"))),
        }
        let pins = tls::parse_pins(pins)?;
        // A real platform's identity is pinned, with a backup key so it can move to a new one
        // without stranding every installed app; only the sandbox on loopback goes without.
        if !is_loopback(&base) && pins.len() < MIN_PINS {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "a platform URL other than loopback needs at least {MIN_PINS} pinned key hashes (primary and backup); {} given",
                    pins.len()
                ),
            });
        }
        let tls = tls::client_config(pins, extra_roots_der)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // A redirect would send a signed money request somewhere the app was not
            // configured for: the platform never redirects, so any redirect is an error.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("starpos-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidConfig { reason: format!("HTTP client: {e}") })?;
        Ok(PlatformClient {
            http,
            base,
            clock_offset: AtomicI64::new(0),
            round_trips: std::sync::atomic::AtomicU64::new(0),
            meter: DataMeter::default(),
            link: LinkState::default(),
            timeouts,
        })
    }

    /// Whether the platform is reachable, as far as the phone can tell.
    pub fn connection_status(&self) -> ConnectionStatus {
        self.link.status(self.meter.network())
    }

    /// Bytes to and from the platform (see [`DataMeter`]).
    pub fn meter(&self) -> &DataMeter {
        &self.meter
    }

    /// The platform's time as best known (unix seconds).
    /// HTTP exchanges with the platform since start (every attempt counts).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub fn platform_now(&self) -> i64 {
        unix_now() + self.clock_offset.load(Ordering::Relaxed)
    }

    /// Sends one request and decodes the JSON answer. `idempotent` requests are retried on
    /// network failures and 5xx answers; others are sent exactly once, because a lost answer
    /// does not mean the platform did nothing.
    pub async fn send<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Req>,
        auth: Auth<'_>,
        idempotent: bool,
    ) -> Result<Resp, InternalError> {
        self.send_tracked(method, path, body, auth, idempotent, &mut Delivery::default()).await
    }

    /// [`Self::send`], noting in `delivery` how each attempt ended (for money requests: could
    /// the platform have acted on one of them).
    pub async fn send_tracked<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Req>,
        auth: Auth<'_>,
        idempotent: bool,
        delivery: &mut Delivery,
    ) -> Result<Resp, InternalError> {
        let url = self.base.join(path).map_err(|e| InternalError::BadResponse(format!("bad path {path}: {e}")))?;
        let body_bytes = match body {
            Some(b) => serde_json::to_vec(b)?,
            None => Vec::new(),
        };
        if self.meter.network() == NetworkType::Offline {
            return Err(Error::Offline.into());
        }
        let attempts = if idempotent { IDEMPOTENT_ATTEMPTS } else { 1 };
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Each attempt gets what is left of the total, at most the per-attempt time-out.
            let left = self.timeouts.total.saturating_sub(started.elapsed());
            let timeout = self.timeouts.request.min(left).max(Duration::from_millis(1));
            let result = self.send_once(method.clone(), &url, &body_bytes, &auth, timeout).await;
            delivery.note_result(&result);
            let retryable = match &result {
                Err(InternalError::Http(e)) => e.is_connect() || e.is_timeout() || e.is_request(),
                Err(InternalError::Platform { status, .. }) => *status >= 500,
                _ => false,
            };
            if !retryable || attempt >= attempts {
                return result;
            }
            let delay = backoff(attempt);
            if started.elapsed() + delay >= self.timeouts.total {
                tracing::info!(path, attempt, "no time left for another attempt");
                return result;
            }
            tracing::debug!(path, attempt, delay_ms = delay.as_millis() as u64, "retrying idempotent request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once<Resp: DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        body: &[u8],
        auth: &Auth<'_>,
        timeout: Duration,
    ) -> Result<Resp, InternalError> {
        // Bytes cost money on a mobile network (or one the app has not named); on Wi-Fi they do
        // not, and compressing costs CPU on both ends (about 0.1 ms a sale, docs/performance.md).
        let frugal = self.meter.network() != NetworkType::Wifi;
        let mut request = self.http.request(method.clone(), url.clone()).timeout(timeout);
        if frugal {
            request = request.header(reqwest::header::ACCEPT_ENCODING, "gzip");
        }
        if !body.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
            request = match compress::gzip(body).filter(|_| frugal) {
                Some(packed) => request.header(reqwest::header::CONTENT_ENCODING, "gzip").body(packed),
                None => request.body(body.to_vec()),
            };
        }
        if let Auth::Signed { access_token, signing_key } = auth {
            let path_and_query = match url.query() {
                Some(q) => format!("{}?{}", url.path(), q),
                None => url.path().to_string(),
            };
            let timestamp = self.platform_now();
            let nonce = random_hex(16);
            let signature = signing::sign(signing_key, method.as_str(), &path_and_query, timestamp, &nonce, body);
            request = request
                .bearer_auth(access_token)
                .header(wire::HEADER_TIMESTAMP, timestamp.to_string())
                .header(wire::HEADER_NONCE, nonce)
                .header(wire::HEADER_SIGNATURE, signature);
        }
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let request = request.build()?;
        let up = request_bytes(&request);
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                self.link.no_answer();
                return Err(e.into());
            }
        };
        self.link.answered(unix_now());
        let head = response_head_bytes(&response);
        let gzipped = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        if let Some(server_time) = response
            .headers()
            .get(wire::HEADER_SERVER_TIME)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
        {
            self.clock_offset.store(server_time - unix_now(), Ordering::Relaxed);
        }
        let status = response.status();
        let received = response.bytes().await;
        let down = head + received.as_ref().map_or(0, |b| b.len() as u64);
        let now = self.platform_now();
        self.meter.record(crate::limits::business_day(now), url.path(), up, down, now);
        let mut bytes = received?;
        if gzipped {
            bytes = compress::gunzip(&bytes, MAX_ANSWER)
                .map_err(|e| InternalError::BadResponse(format!("undecodable gzip answer: {e:?}")))?
                .into();
        }
        if status.is_success() {
            let parse_from = if bytes.is_empty() { &b"{}"[..] } else { &bytes[..] };
            return serde_json::from_slice(parse_from).map_err(|e| InternalError::BadResponse(undecodable(status, &e)));
        }
        let body = serde_json::from_slice::<wire::ErrorBody>(&bytes).unwrap_or_else(|_| {
            let code = if status == StatusCode::TOO_MANY_REQUESTS { "rate_limited" } else { "http_status" };
            wire::ErrorBody::new(code, format!("HTTP {status}"))
        });
        Err(InternalError::Platform { status: status.as_u16(), body: Box::new(body) })
    }
}

/// Bytes of an HTTP/1.1 request as it goes out: request line, the headers we set, the ones the
/// client adds (host, user agent, accept, content length), the blank line and the body.
fn request_bytes(r: &reqwest::Request) -> u64 {
    let url = r.url();
    let target = url.path().len() + url.query().map_or(0, |q| q.len() + 1);
    let line = r.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    let host =
        "host: \r\n".len() + url.host_str().map_or(0, str::len) + url.port().map_or(0, |p| p.to_string().len() + 1);
    let headers: usize = r.headers().iter().map(|(k, v)| k.as_str().len() + 2 + v.len() + 2).sum();
    let body = r.body().and_then(|b| b.as_bytes()).map_or(0, <[u8]>::len);
    let added = concat!("user-agent: starpos-core/", env!("CARGO_PKG_VERSION"), "\r\n").len()
        + "accept: */*\r\n".len()
        + if body > 0 { "content-length: \r\n".len() + body.to_string().len() } else { 0 };
    (line + host + headers + added + 2 + body) as u64
}

/// Bytes of a response's status line and headers.
fn response_head_bytes(r: &reqwest::Response) -> u64 {
    let line = "HTTP/1.1 200 \r\n".len() + r.status().canonical_reason().map_or(0, str::len);
    let headers: usize = r.headers().iter().map(|(k, v)| k.as_str().len() + 2 + v.len() + 2).sum();
    (line + headers + 2) as u64
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Why an answer could not be read, without serde's own text: it quotes values from the body
/// (a token, a card number), and this goes to logs and to the app.
fn undecodable(status: StatusCode, e: &serde_json::Error) -> String {
    format!("undecodable {status} answer ({:?} at line {}, column {})", e.classify(), e.line(), e.column())
}

/// Exponential back-off with full jitter: a random delay in [0, base * 2^attempt).
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE.as_millis() as u64 * (1u64 << attempt.min(6));
    let mut b = [0u8; 8];
    crate::util::fill_random(&mut b);
    Duration::from_millis(u64::from_le_bytes(b) % ceiling.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(PlatformClient::new("http://127.0.0.1:8080/", &[], &[], Timeouts::default()).is_ok());
        assert!(PlatformClient::new("http://localhost:1/", &[], &[], Timeouts::default()).is_ok());
        assert!(PlatformClient::new("http://[::1]:1/", &[], &[], Timeouts::default()).is_ok());
        let pins = [[1u8; 32], [2u8; 32]].map(|p| base64::engine::general_purpose::STANDARD.encode(p));
        assert!(PlatformClient::new("https://pay.example.com/", &pins, &[], Timeouts::default()).is_ok());
        for few in [&pins[..0], &pins[..1]] {
            assert!(
                matches!(
                    PlatformClient::new("https://pay.example.com/", few, &[], Timeouts::default()),
                    Err(Error::InvalidConfig { .. })
                ),
                "{} pins accepted for a remote platform",
                few.len()
            );
        }
        assert!(
            PlatformClient::new("https://localhost:1/", &[], &[], Timeouts::default()).is_ok(),
            "loopback needs none"
        );
        for bad in ["http://pay.example.com/", "http://10.0.0.1/", "ftp://127.0.0.1/", "not a url"] {
            assert!(
                matches!(PlatformClient::new(bad, &[], &[], Timeouts::default()), Err(Error::InvalidInput { ref field, .. }) if field == "platform_url"),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn an_unreadable_answer_is_described_without_its_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Tokens {
            access_token: u64,
        }
        let e = serde_json::from_str::<Tokens>(r#"{"access_token":"secret-token-123"}"#).unwrap_err();
        assert!(e.to_string().contains("secret-token-123"), "serde quotes the value: {e}");
        let said = undecodable(StatusCode::OK, &e);
        assert!(!said.contains("secret-token-123"), "{said}");
        assert!(said.contains("line 1"), "{said}");
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 1..10 {
            let ceiling = 200 * (1u64 << attempt.min(6));
            assert!(backoff(attempt).as_millis() < ceiling as u128);
        }
    }
}
