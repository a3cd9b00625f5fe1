//! Anchors for the ledger's hash chain. The chain finds an edited, inserted or deleted row, but
//! whoever can write the database file can also rehash every row after an edit, or cut the
//! newest rows off: the chain then checks out. So the chain's head (how many entries, the last
//! one's hash) is anchored outside the file, in two places:
//!
//! - on the platform, at each sync (`PUT /v1/ledger/anchor`), which refuses and flags a head
//!   that does not extend the one it holds (the phone sends its own hash at the anchored
//!   position, and the platform compares);
//! - in the phone's secure storage (Keystore / Keychain), after the platform accepted it, so
//!   `verify_journal()` can check the ledger against the last anchor offline.
//!
//! The ledger is append-only, so an anchor once right stays right: a crash between the
//! platform's acceptance and the local copy only leaves the local anchor older, never wrong.
//!
//! Each database has its own random ledger id, so a reinstall (a new, empty ledger on the same
//! device) starts a new series of anchors instead of looking like a ledger cut to nothing; the
//! platform still flags the change of ledger for review, and a phone whose secure storage holds
//! an anchor of another ledger id reports the ledger as replaced.

use rusqlite::OptionalExtension;
use starpos_protocol::wire::{LedgerAnchor, LedgerAnchorRequest, LedgerAnchorWire};

use super::verify::Problem;
use crate::error::{Error, InternalError};
use crate::secure_store::SecureStore;
use crate::storage::Db;

/// The secure-store key of the last head the platform accepted: `ledger-id:entries:hex-hash`.
pub const ANCHOR_KEY: &str = "starpos.ledger-anchor.v1";

/// A position in the chain: `entries` rows, the last with `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub ledger_id: String,
    pub entries: u64,
    pub hash: Vec<u8>,
}

impl Head {
    fn from_wire(a: &LedgerAnchor) -> Option<Head> {
        let hash = hex::decode(&a.head).ok().filter(|h| h.len() == 32)?;
        let id_ok = !a.ledger_id.is_empty() && a.ledger_id.bytes().all(|b| b.is_ascii_hexdigit());
        id_ok.then(|| Head { ledger_id: a.ledger_id.clone(), entries: a.entries, hash })
    }

    fn encode(&self) -> Vec<u8> {
        format!("{}:{}:{}", self.ledger_id, self.entries, hex::encode(&self.hash)).into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<Head> {
        let mut parts = std::str::from_utf8(bytes).ok()?.split(':');
        let (ledger_id, entries, hash) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Head::from_wire(&LedgerAnchor {
            ledger_id: ledger_id.into(),
            entries: entries.parse().ok()?,
            head: hash.into(),
        })
    }
}

const LEDGER_ID: &str = "ledger_id";

/// This database's ledger id, if it has one yet (made at its first anchoring).
fn ledger_id_of(db: &Db) -> Result<Option<String>, InternalError> {
    db.with(|c| Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [LEDGER_ID], |r| r.get(0)).optional()?))
}

/// This database's ledger id, made now if it has none.
fn ledger_id(db: &Db) -> Result<String, InternalError> {
    if let Some(id) = ledger_id_of(db)? {
        return Ok(id);
    }
    let fresh = starpos_protocol::util::random_hex(16);
    db.write(|tx| {
        tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)", (LEDGER_ID, &fresh))?;
        Ok(tx.query_row("SELECT value FROM meta WHERE key = ?1", [LEDGER_ID], |r| r.get(0))?)
    })
}

/// The ledger's head now; `None` while it is empty. Rows are numbered from 1 without gaps (the
/// chain check proves it), so the last row's number is the count.
pub fn head(db: &Db) -> Result<Option<Head>, InternalError> {
    let ledger_id = ledger_id_of(db)?.unwrap_or_default();
    db.with(|c| {
        Ok(c.query_row("SELECT id, hash FROM history ORDER BY id DESC LIMIT 1", [], |r| {
            Ok(Head { ledger_id, entries: r.get::<_, i64>(0)?.max(0) as u64, hash: r.get(1)? })
        })
        .optional()?)
    })
}

/// The hash the ledger holds at position `entries`, if it is that long.
fn hash_at(db: &Db, entries: u64) -> Result<Option<Vec<u8>>, InternalError> {
    if entries == 0 {
        return Ok(Some(Vec::new()));
    }
    db.with(|c| Ok(c.query_row("SELECT hash FROM history WHERE id = ?1", [entries as i64], |r| r.get(0)).optional()?))
}

/// The ledger against an anchor: another ledger altogether, cut short of it, or holding another
/// entry where it was.
pub fn against(db: &Db, anchor: &Head) -> Result<Option<Problem>, InternalError> {
    if ledger_id_of(db)?.as_deref() != Some(anchor.ledger_id.as_str()) {
        return Ok(Some(Problem::Replaced { anchored: anchor.entries }));
    }
    let found = head(db)?.map_or(0, |h| h.entries);
    if found < anchor.entries {
        return Ok(Some(Problem::Truncated { anchored: anchor.entries, found }));
    }
    match hash_at(db, anchor.entries)? {
        Some(h) if h == anchor.hash => Ok(None),
        _ => Ok(Some(Problem::Rewritten { anchored: anchor.entries })),
    }
}

/// The last anchor the platform accepted from this phone, as kept in secure storage.
pub fn local(store: &dyn SecureStore) -> Result<Option<Head>, InternalError> {
    Ok(store.get(ANCHOR_KEY)?.as_deref().and_then(Head::decode))
}

/// What anchoring at the end of a sync found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchored {
    /// The platform holds this many entries as the ledger's head now.
    At { entries: u64 },
    /// Nothing to anchor yet (an empty ledger).
    Empty,
    /// The ledger does not extend the last anchor: rewritten, cut, or another ledger. The
    /// platform refused the head (or, for another ledger, began a new series) and flagged it;
    /// the phone's anchor stays where it was.
    Problem { problem: Problem },
}

/// Sends the ledger's head to the platform, with this phone's hash at the platform's anchored
/// position, and keeps the head in secure storage once the platform accepted it.
pub(crate) async fn anchor(
    db: &Db,
    store: &dyn SecureStore,
    accounts: &crate::account::Accounts,
) -> Result<Anchored, Error> {
    let Some(now) = head(db)? else { return Ok(Anchored::Empty) };
    let id = ledger_id(db)?;
    let held: LedgerAnchorWire = accounts.signed::<(), _>(reqwest::Method::GET, "v1/ledger/anchor", None, true).await?;
    // The platform's anchor of another ledger of this device (before a reinstall): this ledger
    // starts its own series; only the phone's own anchor can say it was replaced.
    let held = held.anchor.as_ref().and_then(Head::from_wire).filter(|a| a.ledger_id == id);
    let problem = match (&held, local(store)?) {
        (Some(a), _) => against(db, a)?,
        (None, Some(mine)) => against(db, &mine)?,
        (None, None) => None,
    };
    let previous_hash = match &held {
        Some(a) => hash_at(db, a.entries)?.map(hex::encode),
        None => None,
    };
    let request = LedgerAnchorRequest {
        ledger_id: id.clone(),
        entries: now.entries,
        head: hex::encode(&now.hash),
        previous_entries: held.as_ref().map(|a| a.entries),
        previous_hash,
    };
    // A ledger that does not extend the anchor is still reported: the platform flags it.
    let sent: Result<LedgerAnchorWire, Error> =
        accounts.signed(reqwest::Method::PUT, "v1/ledger/anchor", Some(&request), true).await;
    match (sent, problem) {
        (Ok(_), None) => {
            // What this phone sent and the platform took; not whatever the answer says (a
            // head the ledger does not hold would read as a cut ledger at the next check).
            let accepted = Head { ledger_id: id, ..now };
            store.put(ANCHOR_KEY, &accepted.encode()).map_err(InternalError::from)?;
            Ok(Anchored::At { entries: accepted.entries })
        }
        (_, Some(problem)) => Ok(Anchored::Problem { problem }),
        (Err(Error::Platform { code, .. }), None) if code == "ledger_not_extended" => {
            // The platform holds a head this phone's ledger does not reach, and the ledger held
            // what it showed a moment ago: it changed under the sync. Said as a rewrite.
            let anchored = held.map_or(0, |a| a.entries);
            Ok(Anchored::Problem { problem: Problem::Rewritten { anchored } })
        }
        (Err(e), None) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use ring::digest::{digest, SHA256};

    use super::*;

    #[test]
    fn a_kept_anchor_reads_back_and_junk_reads_as_none() {
        let h = Head { ledger_id: "0a1b".into(), entries: 42, hash: digest(&SHA256, b"x").as_ref().to_vec() };
        assert_eq!(Head::decode(&h.encode()), Some(h.clone()));
        let junk_hash = format!("0a1b:42:{}", "zz".repeat(32));
        let extra = format!("{}:1", String::from_utf8(h.encode()).unwrap());
        let no_id = format!(":42:{}", hex::encode(&h.hash));
        for junk in
            [&b""[..], b"42", b"x:00", b"0a1b:42:0011", junk_hash.as_bytes(), extra.as_bytes(), no_id.as_bytes()]
        {
            assert_eq!(Head::decode(junk), None, "{junk:?}");
        }
    }
}
