//! The sandbox platform's state: SQLite (in memory or in a file), its clock, and the secrets
//! helpers (password hashing, tokens).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use axum::http::HeaderValue;
use axum::response::Response;
use ring::{digest, pbkdf2};
use rusqlite::Connection;
use starpos_protocol::util::{fill_random, random_hex, unix_now};
use starpos_protocol::wire::HEADER_SERVER_TIME;

use super::SandboxConfig;

/// The documented test merchant (docs/platform-api.md), present in every sandbox.
pub struct SeedMerchant {
    pub merchant_id: &'static str,
    pub phone: &'static str,
    pub password: &'static str,
    /// A device already bound to the seed merchant, so it logs in without an SMS code.
    pub device_id: &'static str,
}

pub const SEED_MERCHANT: SeedMerchant = SeedMerchant {
    merchant_id: "898440358120001",
    phone: "13800138000",
    password: "Star2026pos",
    device_id: "sandbox-seed-device",
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS merchants (
    id            TEXT PRIMARY KEY NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    pw_salt       BLOB NOT NULL,
    pw_hash       BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    lockouts      INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0,
    logins        INTEGER NOT NULL DEFAULT 0,
    terminal_id   TEXT NOT NULL DEFAULT '',
    merchant_name TEXT NOT NULL DEFAULT '',
    province      TEXT NOT NULL DEFAULT '44',
    credit_code   TEXT,
    settlement    TEXT NOT NULL DEFAULT 't1',
    daily_total_fen      INTEGER,
    per_txn_fen          INTEGER,
    per_card_daily_count INTEGER,
    holder_name   TEXT,
    id_hash       TEXT
);
CREATE TABLE IF NOT EXISTS cards (
    id          TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    card_hash   TEXT NOT NULL,
    masked      TEXT NOT NULL,
    issuer_bank TEXT,
    card_kind   TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    bound_at    INTEGER NOT NULL,
    unbound_at  INTEGER
);
CREATE TABLE IF NOT EXISTS pending_bindings (
    bind_id        TEXT PRIMARY KEY NOT NULL,
    merchant_id    TEXT NOT NULL REFERENCES merchants(id),
    card_hash      TEXT NOT NULL,
    masked         TEXT NOT NULL,
    issuer_bank    TEXT,
    card_kind      TEXT NOT NULL,
    reserved_phone TEXT NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    device_id   TEXT NOT NULL,
    bound_at    INTEGER NOT NULL,
    -- The last login or token refresh from it.
    last_used_at INTEGER,
    PRIMARY KEY (merchant_id, device_id)
);
CREATE TABLE IF NOT EXISTS sms_codes (
    phone       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code        TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    wrong_tries INTEGER NOT NULL DEFAULT 0,
    used        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (phone, purpose)
);
-- One row per session family. Tokens are stored as SHA-256 hashes only.
CREATE TABLE IF NOT EXISTS sessions (
    id                 TEXT PRIMARY KEY NOT NULL,
    merchant_id        TEXT NOT NULL REFERENCES merchants(id),
    device_id          TEXT NOT NULL,
    signing_key        BLOB NOT NULL,
    access_hash        TEXT NOT NULL UNIQUE,
    access_expires_at  INTEGER NOT NULL,
    refresh_hash       TEXT NOT NULL UNIQUE,
    refresh_expires_at INTEGER NOT NULL,
    revoked            INTEGER NOT NULL DEFAULT 0,
    refreshes          INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);
-- Refresh tokens already rotated out: presenting one again revokes its family.
CREATE TABLE IF NOT EXISTS rotated_refresh (
    hash       TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id)
);
-- Readers and the merchant each is bound to (first pairing wins).
CREATE TABLE IF NOT EXISTS readers (
    serial      TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    paired_at   INTEGER NOT NULL
);
-- How many merchants each reader has been paired to: the generation of the phone
-- certificates issued for it (a reader refuses certificates of an earlier generation).
CREATE TABLE IF NOT EXISTS reader_generations (
    serial     TEXT PRIMARY KEY NOT NULL,
    generation INTEGER NOT NULL
);
-- QR payments by the customer's payment code (the sandbox wallets), by the phone's key.
CREATE TABLE IF NOT EXISTS qr_payments (
    key          TEXT PRIMARY KEY NOT NULL,
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    request_hash TEXT NOT NULL,
    behaviour    INTEGER NOT NULL,
    json         TEXT NOT NULL
);
-- Dynamic merchant QR orders, by the phone's key and by the order id the payload carries.
CREATE TABLE IF NOT EXISTS qr_orders (
    key          TEXT PRIMARY KEY NOT NULL,
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    order_id     TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    json         TEXT NOT NULL
);
-- Voids and refunds of paid QR payments and orders, under the phone's adjustment key.
CREATE TABLE IF NOT EXISTS qr_refunds (
    key          TEXT PRIMARY KEY NOT NULL,
    payment_key  TEXT NOT NULL,
    merchant_id  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('void', 'refund')),
    amount_fen   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qr_refunds_payment ON qr_refunds (payment_key);
-- Payment codes are single-use: a code seen once is refused after, whatever became of it.
CREATE TABLE IF NOT EXISTS qr_codes_used (
    code_hash TEXT PRIMARY KEY NOT NULL
);
-- Card payments: the answer stored under the phone's idempotency key, with a hash of the request.
CREATE TABLE IF NOT EXISTS payments (
    key          TEXT PRIMARY KEY NOT NULL,
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    request_hash TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('approved', 'declined', 'reversed', 'voided')),
    amount_fen   INTEGER NOT NULL,
    json         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    reversed_at  INTEGER
);
-- The card read behind each payment: its KSN (a second payment with it is a replay) and a
-- hash of its card number with the business day (the merchant's limits across devices).
CREATE TABLE IF NOT EXISTS payment_reads (
    key          TEXT PRIMARY KEY NOT NULL REFERENCES payments(key),
    merchant_id  TEXT NOT NULL,
    ksn          TEXT NOT NULL UNIQUE,
    card_hash    TEXT,
    business_day TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_reads_day ON payment_reads (merchant_id, business_day);
-- Keys reversed before any authorisation arrived: such a late authorisation is refused.
CREATE TABLE IF NOT EXISTS payment_tombstones (
    key         TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL,
    at          INTEGER NOT NULL
);
-- Voids and refunds, by the phone's adjustment key (idempotent).
CREATE TABLE IF NOT EXISTS adjustments (
    key          TEXT PRIMARY KEY NOT NULL,
    payment_key  TEXT NOT NULL REFERENCES payments(key),
    kind         TEXT NOT NULL CHECK (kind IN ('void', 'refund')),
    amount_fen   INTEGER NOT NULL,
    json         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
-- Adjustment keys settled as never received (the phone lost the answer and gave up): a late
-- request under such a key is refused.
CREATE TABLE IF NOT EXISTS adjustment_tombstones (
    key         TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL,
    at          INTEGER NOT NULL
);
-- Money events in the platform's order, for history sync and settlement (platform/history.rs).
CREATE TABLE IF NOT EXISTS feed (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id  TEXT NOT NULL,
    business_day TEXT NOT NULL,
    json         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_merchant ON feed (merchant_id, seq);
CREATE INDEX IF NOT EXISTS feed_day ON feed (merchant_id, business_day);
-- Settlement batches told to pay short (development knob, for reconciliation tests).
CREATE TABLE IF NOT EXISTS settlement_shortfalls (
    merchant_id  TEXT NOT NULL,
    business_day TEXT NOT NULL,
    fen          INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, business_day)
);
-- Where each payment happened, as the phone reported it.
CREATE TABLE IF NOT EXISTS payment_locations (
    key          TEXT PRIMARY KEY NOT NULL REFERENCES payments(key),
    latitude_e6  INTEGER NOT NULL,
    longitude_e6 INTEGER NOT NULL,
    accuracy_m   INTEGER NOT NULL
);
-- The last head of each device's ledger chain the platform accepted (platform/ledger.rs).
CREATE TABLE IF NOT EXISTS ledger_anchors (
    merchant_id TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    ledger_id   TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    head        TEXT NOT NULL,
    anchored_at INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, device_id)
);
-- Heads refused as not extending the anchor (a rewritten or cut ledger: 'not_extended') and
-- heads of another ledger on the same device ('replaced'), for review.
CREATE TABLE IF NOT EXISTS ledger_flags (
    id               INTEGER PRIMARY KEY,
    merchant_id      TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('not_extended', 'replaced')),
    at               INTEGER NOT NULL,
    anchored_entries INTEGER,
    anchored_head    TEXT,
    claimed_entries  INTEGER NOT NULL,
    claimed_head     TEXT NOT NULL,
    previous_entries INTEGER,
    previous_hash    TEXT
);
-- E-receipt tokens (records/receipts.rs): one per payment, 128 random bits, never reused.
CREATE TABLE IF NOT EXISTS receipts (
    token       TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL,
    payment_key TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
-- Customers' signatures: the compressed strokes as the phone sent them.
CREATE TABLE IF NOT EXISTS signatures (
    payment_key TEXT PRIMARY KEY NOT NULL REFERENCES payments(key),
    strokes     BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
-- Applications for cross-province business (platform/regions.rs). The review's verdict is
-- drawn when the application is filed (the dev knob, else approval) and shows at decide_at.
CREATE TABLE IF NOT EXISTS cross_province_applications (
    id              TEXT PRIMARY KEY NOT NULL,
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    idempotency_key TEXT NOT NULL,
    province        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    days            INTEGER NOT NULL,
    approve         INTEGER NOT NULL,
    verdict_reason  TEXT,
    submitted_at    INTEGER NOT NULL,
    decide_at       INTEGER NOT NULL,
    UNIQUE (merchant_id, idempotency_key)
);
-- Per-merchant cross-province settings: the location policy, and the verdict of the next
-- review (development knob).
CREATE TABLE IF NOT EXISTS cross_province_settings (
    merchant_id     TEXT PRIMARY KEY NOT NULL REFERENCES merchants(id),
    location_policy TEXT NOT NULL DEFAULT 'allow_and_flag',
    next_approve    INTEGER,
    next_reason     TEXT,
    review_secs     INTEGER
);
-- The province each payment was made in, or why it is not known (flag).
CREATE TABLE IF NOT EXISTS payment_regions (
    key      TEXT PRIMARY KEY NOT NULL REFERENCES payments(key),
    province TEXT,
    flag     TEXT
);
CREATE TABLE IF NOT EXISTS payment_counters (
    merchant_id TEXT PRIMARY KEY NOT NULL,
    voucher     INTEGER NOT NULL,
    batch       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    session_id TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (session_id, nonce)
);
-- Every signed request deletes the nonces past the replay window: without this index that was
-- a scan of every nonce still kept, growing with the traffic.
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_at);
";

pub struct State {
    db: Mutex<Connection>,
    pub config: SandboxConfig,
    clock_offset: AtomicI64,
    payment_faults: Mutex<super::faults::PaymentFaults>,
}

impl State {
    pub fn open(config: SandboxConfig) -> Result<State, rusqlite::Error> {
        let conn = match &config.db_path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        let state =
            State { db: Mutex::new(conn), config, clock_offset: AtomicI64::new(0), payment_faults: Mutex::default() };
        state.seed()?;
        Ok(state)
    }

    fn seed(&self) -> Result<(), rusqlite::Error> {
        let s = &SEED_MERCHANT;
        let (salt, hash) = self.hash_password(s.password);
        let db = self.db();
        let now = self.now();
        db.execute(
            "INSERT OR IGNORE INTO merchants (id, phone, pw_salt, pw_hash, created_at, terminal_id, merchant_name, credit_code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            (s.merchant_id, s.phone, salt, hash, now, "44000001", "星标便利店", "91440300MA5F000007"),
        )?;
        db.execute(
            "INSERT OR IGNORE INTO devices (merchant_id, device_id, bound_at) VALUES (?1, ?2, ?3)",
            (s.merchant_id, s.device_id, now),
        )?;
        Ok(())
    }

    pub fn payment_faults(&self) -> MutexGuard<'_, super::faults::PaymentFaults> {
        self.payment_faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The platform's clock: real time plus whatever the dev endpoint advanced it by.
    pub fn now(&self) -> i64 {
        unix_now() + self.clock_offset.load(Ordering::Relaxed)
    }

    pub fn advance_clock(&self, secs: i64) -> i64 {
        self.clock_offset.fetch_add(secs, Ordering::Relaxed) + secs
    }

    pub fn hash_password(&self, password: &str) -> (Vec<u8>, Vec<u8>) {
        let mut salt = vec![0u8; 16];
        fill_random(&mut salt);
        let hash = self.derive(&salt, password);
        (salt, hash)
    }

    pub fn password_matches(&self, salt: &[u8], stored: &[u8], password: &str) -> bool {
        let iterations = NonZeroU32::new(self.config.pbkdf2_iterations.max(1)).unwrap_or(NonZeroU32::MIN);
        pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password.as_bytes(), stored).is_ok()
    }

    fn derive(&self, salt: &[u8], password: &str) -> Vec<u8> {
        let iterations = NonZeroU32::new(self.config.pbkdf2_iterations.max(1)).unwrap_or(NonZeroU32::MIN);
        let mut out = vec![0u8; 32];
        pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password.as_bytes(), &mut out);
        out
    }
}

/// A new opaque token (32 random bytes, hex).
pub fn new_token() -> String {
    random_hex(32)
}

/// What the sandbox stores of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// Adds the platform's clock to every response, so clients never trust their own.
pub async fn stamp_server_time(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<State>>,
    mut response: Response,
) -> Response {
    if let Ok(v) = HeaderValue::from_str(&state.now().to_string()) {
        response.headers_mut().insert(HEADER_SERVER_TIME, v);
    }
    response
}
