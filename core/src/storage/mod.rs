//! The core's SQLite database: one file in the app's data folder, WAL mode, versioned schema.
//! It never holds a secret: tokens and keys live in the phone's secure storage.

pub mod schema;
pub mod sealed;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, InternalError};

pub use schema::{Upgrade, SCHEMA_VERSION};

pub const DB_FILE_NAME: &str = "starpos.sqlite3";

/// The open database. One connection behind a mutex: the core's writes are small and few, and a
/// single writer is what SQLite serialises to anyway.
pub struct Db {
    conn: Mutex<Connection>,
    /// The file, for extra read-only connections (long reads such as exports).
    path: std::path::PathBuf,
    /// Durable commits made through [`Db::write`] since opening (for diagnostics and the
    /// payment benchmark's commit budget).
    commits: std::sync::atomic::AtomicU64,
}

impl Db {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    /// Opens (or creates) the database in `data_dir`; an upgrade that has older journal rows
    /// to seal fails here (use [`Db::open_upgrading`] with the secure store).
    pub fn open(data_dir: &Path) -> Result<Db, Error> {
        Self::open_upgrading(data_dir, &Upgrade::default())
    }

    /// Opens the database in `data_dir`, upgrading it with what `upgrade` provides.
    pub fn open_upgrading(data_dir: &Path, upgrade: &Upgrade<'_>) -> Result<Db, Error> {
        std::fs::create_dir_all(data_dir).map_err(InternalError::from)?;
        Self::open_path(&data_dir.join(DB_FILE_NAME), upgrade).map_err(Error::from)
    }

    pub(crate) fn open_path(path: &Path, upgrade: &Upgrade<'_>) -> Result<Db, InternalError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        configure(&conn)?;
        schema::migrate(&mut conn, upgrade)?;
        Ok(Db { conn: Mutex::new(conn), path: path.to_path_buf(), commits: std::sync::atomic::AtomicU64::new(0) })
    }

    /// Runs `f` with the connection. Keep `f` short: it holds the only connection.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, InternalError>) -> Result<T, InternalError> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn)
    }

    /// Runs `f` inside one IMMEDIATE transaction: all of it is committed, or none.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, InternalError>,
    ) -> Result<T, InternalError> {
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        self.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    /// A new read-only connection to the same database, for a long read that must not hold
    /// the writer's connection (WAL lets it read a consistent snapshot while writes go on).
    pub fn reader(&self) -> Result<Connection, InternalError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Ok(Connection::open_with_flags(&self.path, flags)?)
    }

    /// Durable commits since opening.
    pub fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Connection settings. `synchronous = FULL` because the journal's promise ("written before it
/// is acted on") must survive power loss; `secure_delete` so deleted rows do not linger.
fn configure(conn: &Connection) -> Result<(), InternalError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The journal, limits and ledger statements are prepared once and reused (a sale runs
    // about thirty; parsing them each time was a visible part of its CPU).
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}
