//! Schema and migrations. A new database is created from [`CREATE_LATEST`] in one go; an
//! existing one is upgraded step by step from its `user_version`, each step in the same
//! IMMEDIATE transaction as the version bump. A test checks that both roads lead to the same
//! schema, so a migration can never leave old installs different from new ones.
//!
//! To change the schema: edit `CREATE_LATEST`, append a step to `UPGRADES`, bump nothing else.
//!
//! A step is SQL, or data work (a function of the domain that owns the rows) run in the same
//! transaction: sealing clear columns an older version wrote, filling a new table from old
//! rows. A fresh database needs no data step; an upgraded one gets each exactly once.

use rusqlite::{Connection, Transaction};

use crate::error::InternalError;
use crate::secure_store::SecureStore;

/// One upgrade step.
enum Step {
    Sql(&'static str),
    Data(fn(&Transaction<'_>, &Upgrade<'_>) -> Result<(), InternalError>),
}

/// What data steps may need from outside the database: the secure store holding the key that
/// seals journal columns. Without one, a step that has rows to seal fails (and the upgrade with
/// it, leaving the database as it was).
#[derive(Default)]
pub struct Upgrade<'a> {
    pub secure_store: Option<&'a dyn SecureStore>,
}

/// `UPGRADES[i]` takes a database from version `i + 1` to `i + 2`.
const UPGRADES: &[Step] = &[
    // 1 -> 2: remember when the device last talked to the platform, for the app's status line.
    Step::Sql("ALTER TABLE account ADD COLUMN last_seen_at INTEGER;"),
    // 2 -> 3: merchant profile cache, daily limits and their reservations.
    Step::Sql(PROFILE_AND_LIMITS),
    // 3 -> 4: bound settlement cards (masked).
    Step::Sql(SETTLEMENT_CARDS),
    // 4 -> 5: card readers paired on this phone and their pinned identity keys.
    Step::Sql(PAIRED_READERS),
    // 5 -> 6: the payment journal.
    Step::Sql(PAYMENTS),
    // 6 -> 7: the card's final TVR and TSI, for the receipt.
    Step::Sql(PAYMENTS_EMV_RESULTS),
    // 7 -> 8: voids and refunds.
    Step::Sql(ADJUSTMENTS),
    // 8 -> 9: per-day roll-ups of held limit amounts and per-card uses.
    Step::Sql(LIMIT_ROLLUPS),
    // 9 -> 10: sealed card numbers and locations; e-signatures and their upload queue.
    Step::Sql(SEALED_AND_SIGNATURES),
    // 10 -> 11: the transaction ledger (history), its per-day roll-ups, sync cursors.
    Step::Sql(HISTORY),
    // 11 -> 12: province of each sale, cached cross-province approvals, the data meter.
    Step::Sql(REGIONS_AND_DATA),
    // 12 -> 13: the province of each sale in the ledger.
    Step::Sql("ALTER TABLE history ADD COLUMN province INTEGER;"),
    // 13 -> 14: journal rows written before card details were sealed (schema 10) are sealed.
    Step::Data(crate::payments::journal::seal_older_rows),
    // 14 -> 15: earlier transactions go into the ledger (schema 11 added it).
    Step::Data(crate::history::ledger::backfill),
    // 15 -> 16: whether a sale was a fallback swipe after its chip could not be read.
    Step::Sql(PAYMENTS_FALLBACK),
    // 16 -> 17: the platform's certificate of this phone on each paired reader. Rows from
    // before have none; connecting to such a reader pairs it again first.
    Step::Sql(READER_CERTIFICATES),
    // 17 -> 18: QR payments in the same journal: how each was paid, the wallet and its number.
    Step::Sql(QR_PAYMENTS),
    // 18 -> 19: the platform's e-receipt token of each sale (the receipt's QR code opens it).
    Step::Sql(RECEIPT_TOKENS),
    // 19 -> 20: the merchant's alert feed.
    Step::Sql(ALERTS),
    // 20 -> 21: what the merchant's other devices used of each day's total.
    Step::Sql(LIMIT_OTHERS),
];

const LIMIT_OTHERS: &str = "
-- The day's use of the daily total by the merchant's other devices, as last learnt from the
-- platform (limits/mod.rs, note_platform_usage_in); apart from held_fen, which this phone's own
-- reservations make.
ALTER TABLE limit_days ADD COLUMN others_fen INTEGER NOT NULL DEFAULT 0;
";

const ALERTS: &str = "
-- The merchant's alert feed (alerts/mod.rs): each event once (its dedup name), kept after it is
-- read.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    message     TEXT NOT NULL,
    action      TEXT NOT NULL,
    dedup       TEXT NOT NULL,
    read        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (merchant_id, dedup)
);
CREATE INDEX alerts_unread ON alerts (merchant_id, read, id);
";

const RECEIPT_TOKENS: &str = "
-- The unguessable token of the sale's e-receipt page ({platform}/r/{token}), from the platform's
-- answer. Rows from before have none: their receipts print without the QR code.
ALTER TABLE payments ADD COLUMN receipt_token TEXT;
";

const QR_PAYMENTS: &str = "
-- 'card' (through the reader), 'customer_code' (the phone scanned the customer's payment code)
-- or 'merchant_qr' (the customer scanned the code the phone showed). Rows from before are cards.
ALTER TABLE payments ADD COLUMN method TEXT NOT NULL DEFAULT 'card';
-- 'wechat', 'alipay' or 'unionpay' for a QR payment, and the wallet's transaction number once
-- it has debited (printed on the receipt). The payment code itself is never stored.
ALTER TABLE payments ADD COLUMN wallet TEXT;
ALTER TABLE payments ADD COLUMN wallet_txn TEXT;
";

const READER_CERTIFICATES: &str = "ALTER TABLE paired_readers ADD COLUMN phone_certificate BLOB;";

const PAYMENTS_FALLBACK: &str = "ALTER TABLE payments ADD COLUMN fallback INTEGER NOT NULL DEFAULT 0;";

const REGIONS_AND_DATA: &str = "
-- Where each sale happened, as a GB/T 2260 province code (the precise position is sealed).
ALTER TABLE payments ADD COLUMN province TEXT;
-- The platform's last answer on cross-province business (registered province, location policy,
-- applications), so the guard can decide before the card is read, also offline.
CREATE TABLE cross_province (
    merchant_id TEXT PRIMARY KEY NOT NULL,
    json        TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL
);
-- Bytes to and from the platform per business day, request kind and network type
-- (platform/meter.rs). Header and body bytes as sent; TLS framing not included.
CREATE TABLE data_usage (
    day      TEXT NOT NULL,
    kind     TEXT NOT NULL,
    network  TEXT NOT NULL,
    requests INTEGER NOT NULL,
    up       INTEGER NOT NULL,
    down     INTEGER NOT NULL,
    PRIMARY KEY (day, kind, network)
) WITHOUT ROWID;
-- Non-money requests made while the platform was out of reach, replayed in order (outbox.rs).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    merchant_id     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (merchant_id, next_attempt_at);
";

const HISTORY: &str = "
-- Merchants in the ledger by a small number (a phone may serve more than one over its life).
CREATE TABLE history_owners (
    id          INTEGER PRIMARY KEY,
    merchant_id TEXT NOT NULL UNIQUE
);
-- The ledger: one append-only row per money event, chained by SHA-256 to the row before it
-- (history/ledger.rs). Small integers and bytes only, to keep a million rows small: kind
-- 1 sale 2 void 3 refund 4 reversal; status 1 approved 2 declined; channel 1 card 2 QR;
-- card_kind 0 unknown 1 debit 2 credit; day = business day as days since 1970-01-01.
CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    owner      INTEGER NOT NULL,
    key        BLOB NOT NULL UNIQUE,
    kind       INTEGER NOT NULL,
    status     INTEGER NOT NULL,
    channel    INTEGER NOT NULL,
    card_kind  INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL,
    fee_fen    INTEGER NOT NULL,
    net_fen    INTEGER NOT NULL,
    last4      INTEGER,
    reference  INTEGER,
    batch      INTEGER,
    voucher    INTEGER,
    parent     BLOB,
    synced     INTEGER NOT NULL,
    hash       BLOB NOT NULL
);
-- Newest first by business day and time (pages, day ranges); by card ending; by reference.
CREATE INDEX history_page ON history (owner, day, at, id);
CREATE INDEX history_last4 ON history (owner, last4, day, at) WHERE last4 IS NOT NULL;
CREATE INDEX history_reference ON history (reference) WHERE reference IS NOT NULL;
-- Statistics per business day, channel and card kind, kept in the ledger's transactions.
CREATE TABLE history_days (
    owner        INTEGER NOT NULL,
    day          INTEGER NOT NULL,
    channel      INTEGER NOT NULL,
    card_kind    INTEGER NOT NULL,
    sales        INTEGER NOT NULL,
    gross_fen    INTEGER NOT NULL,
    refunds      INTEGER NOT NULL,
    refunded_fen INTEGER NOT NULL,
    fee_fen      INTEGER NOT NULL,
    net_fen      INTEGER NOT NULL,
    PRIMARY KEY (owner, day, channel, card_kind)
) WITHOUT ROWID;
";

const SEALED_AND_SIGNATURES: &str = "
-- The masked card number and where the sale happened, sealed under a key held in secure
-- storage (storage/sealed.rs). `masked_pan` is emptied once a row is sealed; rows written
-- before this version are sealed when the payments component starts. `last4` stays clear for
-- history filters (it is printed on every receipt anyway).
ALTER TABLE payments ADD COLUMN sealed BLOB;
ALTER TABLE payments ADD COLUMN last4 TEXT;
UPDATE payments SET last4 = substr(masked_pan, -4) WHERE length(masked_pan) >= 4;
-- The customer's signature on an approved sale: its compressed strokes, sealed. Uploaded to the
-- platform after the receipt; `refused` holds the platform's reason if it will never take it.
CREATE TABLE signatures (
    payment_key     TEXT PRIMARY KEY NOT NULL REFERENCES payments(key),
    strokes         BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    uploaded_at     INTEGER,
    refused         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER
);
CREATE INDEX signatures_unsent ON signatures (uploaded_at, next_attempt_at);
";

const LIMIT_ROLLUPS: &str = "
-- What a business day holds against the limits (committed plus reserved), kept current in the
-- same transaction as each reservation change, so checking a limit reads one row instead of
-- scanning the day. Rebuilt here from the reservations an upgraded install already has.
CREATE TABLE limit_days (
    merchant_id  TEXT NOT NULL,
    business_day TEXT NOT NULL,
    held_fen     INTEGER NOT NULL CHECK (held_fen >= 0),
    PRIMARY KEY (merchant_id, business_day)
) WITHOUT ROWID;
CREATE TABLE limit_card_days (
    merchant_id  TEXT NOT NULL,
    business_day TEXT NOT NULL,
    card_key     TEXT NOT NULL,
    uses         INTEGER NOT NULL CHECK (uses >= 0),
    PRIMARY KEY (merchant_id, business_day, card_key)
) WITHOUT ROWID;
INSERT INTO limit_days (merchant_id, business_day, held_fen)
    SELECT merchant_id, business_day, SUM(amount_fen) FROM limit_reservations
    WHERE state <> 'released' GROUP BY merchant_id, business_day;
INSERT INTO limit_card_days (merchant_id, business_day, card_key, uses)
    SELECT merchant_id, business_day, card_key, COUNT(*) FROM limit_reservations
    WHERE state <> 'released' GROUP BY merchant_id, business_day, card_key;
";

const ADJUSTMENTS: &str = "
-- Voids and refunds of journalled sales, each under its own idempotency key, written before
-- it is sent. A retry after an unknown outcome reuses the key of the entry still `sending`.
CREATE TABLE adjustments (
    key         TEXT PRIMARY KEY NOT NULL,
    payment_key TEXT NOT NULL REFERENCES payments(key),
    kind        TEXT NOT NULL CHECK (kind IN ('void', 'refund')),
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    state       TEXT NOT NULL CHECK (state IN ('sending', 'done', 'failed')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX adjustments_payment ON adjustments (payment_key, state);
";

const PAYMENTS_EMV_RESULTS: &str = "
ALTER TABLE payments ADD COLUMN tvr TEXT;
ALTER TABLE payments ADD COLUMN tsi TEXT;
";

const PAYMENTS: &str = "
-- The payment journal: every state change is written here before it is acted on. No card
-- number, track, PIN block or CVV: masked PAN and the platform's answer only.
CREATE TABLE payments (
    key              TEXT PRIMARY KEY NOT NULL,
    merchant_id      TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('sale')),
    state            TEXT NOT NULL CHECK (state IN ('sending', 'approved', 'declined', 'completed',
                                                    'reversal_pending', 'reversed', 'failed')),
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
    note             TEXT,
    entry_mode       TEXT NOT NULL,
    masked_pan       TEXT NOT NULL,
    app_label        TEXT NOT NULL,
    aid              TEXT NOT NULL,
    reservation_id   INTEGER,
    business_day     TEXT NOT NULL,
    response_code    TEXT,
    message          TEXT,
    auth_code        TEXT,
    reference_number TEXT,
    batch_number     TEXT,
    voucher_number   TEXT,
    fee_fen          INTEGER,
    net_fen          INTEGER,
    card_kind        TEXT,
    issuer_bank      TEXT,
    reversal_reason  TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX payments_open ON payments (merchant_id, state);
";

const PAIRED_READERS: &str = "
-- Readers the platform certified to this merchant, with the identity key pinned at first
-- pairing (a public key: not secret). A handshake with any other key is refused.
CREATE TABLE paired_readers (
    serial          TEXT PRIMARY KEY NOT NULL,
    merchant_id     TEXT NOT NULL,
    model           TEXT NOT NULL,
    identity_public BLOB NOT NULL CHECK (length(identity_public) = 32),
    paired_at       INTEGER NOT NULL
);
";

const SETTLEMENT_CARDS: &str = "
-- The merchant's bound settlement cards as the platform listed them: masked numbers only.
CREATE TABLE settlement_cards (
    card_id     TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL,
    masked      TEXT NOT NULL,
    issuer_bank TEXT,
    card_kind   TEXT NOT NULL,
    is_default  INTEGER NOT NULL,
    bound_at    INTEGER NOT NULL
);
";

const PROFILE_AND_LIMITS: &str = "
-- The platform's merchant profile (JSON as received: no secret, masked identifiers only).
CREATE TABLE merchant_profile (
    merchant_id TEXT PRIMARY KEY NOT NULL,
    json        TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL
);
-- The merchant's limits as the platform last confirmed them.
CREATE TABLE limits (
    merchant_id          TEXT PRIMARY KEY NOT NULL,
    daily_total_fen      INTEGER NOT NULL CHECK (daily_total_fen >= 0),
    per_txn_fen          INTEGER NOT NULL CHECK (per_txn_fen >= 0),
    per_card_daily_count INTEGER NOT NULL CHECK (per_card_daily_count >= 0),
    updated_at           INTEGER NOT NULL
);
-- One row per amount held against a business day's limits: reserved before a payment is sent,
-- then committed (approved) or released (declined, cancelled). card_key is an opaque keyed
-- hash of the card, never the card number.
CREATE TABLE limit_reservations (
    id           INTEGER PRIMARY KEY,
    merchant_id  TEXT NOT NULL,
    business_day TEXT NOT NULL,
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    card_key     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
    created_at   INTEGER NOT NULL
);
CREATE INDEX limit_reservations_day ON limit_reservations (merchant_id, business_day, state);
";

pub const SCHEMA_VERSION: u32 = UPGRADES.len() as u32 + 1;

/// Version 1, as first shipped. Kept verbatim: the upgrade test starts from it.
const CREATE_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
-- The account last logged in on this device. Masked phone only; no tokens (secure storage).
CREATE TABLE account (
    merchant_id   TEXT PRIMARY KEY NOT NULL,
    phone_masked  TEXT NOT NULL,
    last_login_at INTEGER NOT NULL
);
";

/// The latest schema, in parts executed in order.
const CREATE_LATEST: &[&str] = &[
    "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
-- The account last logged in on this device. Masked phone only; no tokens (secure storage).
CREATE TABLE account (
    merchant_id   TEXT PRIMARY KEY NOT NULL,
    phone_masked  TEXT NOT NULL,
    last_login_at INTEGER NOT NULL,
    last_seen_at  INTEGER
);
",
    // Unchanged since its upgrade step; a later step that alters it writes the new form here.
    PROFILE_AND_LIMITS,
    SETTLEMENT_CARDS,
    PAIRED_READERS,
    PAYMENTS,
    PAYMENTS_EMV_RESULTS,
    ADJUSTMENTS,
    LIMIT_ROLLUPS,
    SEALED_AND_SIGNATURES,
    HISTORY,
    REGIONS_AND_DATA,
    "ALTER TABLE history ADD COLUMN province INTEGER;",
    PAYMENTS_FALLBACK,
    READER_CERTIFICATES,
    QR_PAYMENTS,
    RECEIPT_TOKENS,
    ALERTS,
    LIMIT_OTHERS,
];

pub(super) fn migrate(conn: &mut Connection, upgrade: &Upgrade<'_>) -> Result<(), InternalError> {
    migrate_to(conn, SCHEMA_VERSION, upgrade)
}

/// Up to `target` (the tests stop part-way to write rows as an older version did).
fn migrate_to(conn: &mut Connection, target: u32, upgrade: &Upgrade<'_>) -> Result<(), InternalError> {
    // Up to date (every open but the first after an upgrade): no write transaction, so opening
    // costs no disk sync.
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == target {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(InternalError::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    if found == 0 && target == SCHEMA_VERSION {
        for part in CREATE_LATEST {
            tx.execute_batch(part)?;
        }
    } else {
        if found == 0 {
            tx.execute_batch(CREATE_V1)?;
        }
        let from = found.max(1) as usize;
        for (i, step) in UPGRADES.iter().enumerate().take(target as usize - 1).skip(from - 1) {
            tracing::info!(from = i + 1, to = i + 2, "upgrading database schema");
            match step {
                Step::Sql(sql) => tx.execute_batch(sql)?,
                Step::Data(work) => work(&tx, upgrade)?,
            }
        }
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table's columns (name, type, not-null, default, pk) and every index, sorted.
    fn shape(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut tables = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let rows: Vec<(String, String, String)> =
            tables.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        for (kind, name, table) in rows {
            out.push(format!("{kind} {name} on {table}"));
            if kind == "table" {
                let mut cols = conn.prepare(&format!("PRAGMA table_info({name})")).unwrap();
                let cols = cols
                    .query_map([], |r| {
                        Ok(format!(
                            "  {} {} notnull={} default={:?} pk={}",
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?
                        ))
                    })
                    .unwrap();
                out.extend(cols.map(Result::unwrap));
            }
        }
        out
    }

    #[test]
    fn upgraded_database_equals_fresh_one() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, &Upgrade::default()).unwrap();

        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(CREATE_V1).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        old.execute("INSERT INTO account VALUES ('M1', '138****8000', 5)", []).unwrap();
        migrate(&mut old, &Upgrade::default()).unwrap();

        assert_eq!(shape(&old), shape(&fresh));
        let version: u32 = old.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let kept: String = old.query_row("SELECT phone_masked FROM account", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, "138****8000", "upgrade keeps existing rows");
    }

    #[test]
    fn the_limit_roll_ups_are_rebuilt_from_existing_reservations() {
        let mut db = Connection::open_in_memory().unwrap();
        migrate_to(&mut db, 8, &Upgrade::default()).unwrap();
        for (amount, card, state) in
            [(100, "a", "committed"), (250, "a", "reserved"), (999, "b", "released"), (40, "b", "committed")]
        {
            db.execute(
                "INSERT INTO limit_reservations (merchant_id, business_day, amount_fen, card_key, state, created_at)
                 VALUES ('M', '2026-11-28', ?1, ?2, ?3, 0)",
                (amount, card, state),
            )
            .unwrap();
        }
        migrate(&mut db, &Upgrade::default()).unwrap();
        let held: i64 = db.query_row("SELECT held_fen FROM limit_days", [], |r| r.get(0)).unwrap();
        assert_eq!(held, 390, "released amounts do not count");
        let uses: Vec<(String, i64)> = db
            .prepare("SELECT card_key, uses FROM limit_card_days ORDER BY card_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(uses, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
    }

    /// The data steps are part of the upgrade: an install of version 9 (clear masked numbers, no
    /// ledger) comes out sealed and with its sale in the ledger, and its shape equals a fresh
    /// database's.
    #[test]
    fn an_upgrade_runs_the_data_steps_once_and_equals_a_fresh_database() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, &Upgrade::default()).unwrap();
        let mut old = Connection::open_in_memory().unwrap();
        migrate_to(&mut old, 9, &Upgrade::default()).unwrap();
        old.execute_batch(
            "INSERT INTO payments (key, merchant_id, kind, state, amount_fen, entry_mode, masked_pan, app_label, aid,
                 card_kind, business_day, created_at, updated_at, fee_fen, net_fen, attempts, next_attempt_at)
             VALUES ('k1', 'M1', 'sale', 'completed', 5000, 'insert', '621700*********0015', 'CCB', 'A0',
                 'debit', '2026-11-20', 100, 100, 25, 4975, 0, 0)",
        )
        .unwrap();
        let store = crate::secure_store::InMemorySecureStore::new();
        let without_keys = migrate(&mut old, &Upgrade::default());
        assert!(without_keys.is_err(), "rows to seal and no secure store: the upgrade waits");
        let version: u32 = old.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 9, "a failed upgrade leaves the database as it was");
        migrate(&mut old, &Upgrade { secure_store: Some(&store) }).unwrap();
        assert_eq!(shape(&old), shape(&fresh));
        let (clear, sealed): (String, Option<Vec<u8>>) = old
            .query_row("SELECT masked_pan, sealed FROM payments WHERE key = 'k1'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(clear, "", "the clear masked number is gone");
        let key = crate::storage::sealed::key_in_store(&store, crate::storage::sealed::JOURNAL_KEY).unwrap();
        let opened = crate::storage::sealed::Sealer::new(&key).open("k1", &sealed.expect("sealed")).unwrap();
        let details = crate::payments::journal::CardDetails::from_bytes(&opened).unwrap();
        assert_eq!(details.masked_pan, "621700*********0015");
        let in_ledger: i64 = old.query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0)).unwrap();
        assert_eq!(in_ledger, 1, "the earlier sale is in the ledger, once");
        migrate(&mut old, &Upgrade { secure_store: Some(&store) }).unwrap();
        let again: i64 = old.query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0)).unwrap();
        assert_eq!(again, 1, "opening again runs no data step");
    }

    #[test]
    fn opening_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &Upgrade::default()).unwrap();
        let before = shape(&conn);
        migrate(&mut conn, &Upgrade::default()).unwrap();
        assert_eq!(shape(&conn), before);
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut conn, &Upgrade::default()), Err(InternalError::SchemaTooNew { .. })));
    }
}
