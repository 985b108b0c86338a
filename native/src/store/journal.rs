//! The crash-safe journal: a `SQLite` database in WAL mode with `synchronous = FULL`, so a write
//! that returned survives `kill -9` and power loss.
//!
//! Two tables: `entries` holds the latest [`JournalEntry`] of each (chain, record) — what
//! [`tend_core::engine::Engine::restore`] rebuilds the nonce books from — and `raw_txs` holds
//! every signed transaction by hash, written before the engine hears it was signed, so a
//! broadcast never goes out for a transaction the journal does not hold.

use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use rusqlite::{Connection, OptionalExtension, params};
use tend_core::chain::ChainId;
use tend_core::engine::io::JournalEntry;

const SCHEMA_VERSION: i64 = 1;

/// A journal failure. Any of these stops funding: tend never broadcasts what it could not record.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// `SQLite` failed (disk full, permissions, corruption).
    #[error("journal {path}: {message}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// `SQLite`'s message.
        message: String,
    },
    /// A row does not decode (written by another version, or damaged).
    #[error("journal {path}: entry for chain {chain} record {record} does not decode: {message}")]
    BadEntry {
        /// The database.
        path: PathBuf,
        /// The chain id.
        chain: u64,
        /// The record id.
        record: u64,
        /// Why.
        message: String,
    },
    /// The database was written by a newer tend.
    #[error(
        "journal {path} has schema version {found}; this tend knows {SCHEMA_VERSION}: upgrade tend"
    )]
    Version {
        /// The database.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
}

/// A signed transaction as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTx {
    /// The chain.
    pub chain: ChainId,
    /// The nonce-book record.
    pub record: u64,
    /// The nonce.
    pub nonce: u64,
    /// The hash.
    pub hash: B256,
    /// The EIP-2718 encoding.
    pub raw: Vec<u8>,
}

/// The journal.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (or creates) the journal.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let err = |e: rusqlite::Error| JournalError::Sqlite {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS entries (
                 chain INTEGER NOT NULL, record INTEGER NOT NULL, entry TEXT NOT NULL,
                 PRIMARY KEY (chain, record));
             CREATE TABLE IF NOT EXISTS raw_txs (
                 hash BLOB PRIMARY KEY, chain INTEGER NOT NULL, record INTEGER NOT NULL,
                 nonce INTEGER NOT NULL, raw BLOB NOT NULL);",
        )
        .map_err(err)?;
        let version: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        match version {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(err)?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(JournalError::Version {
                    path: path.to_owned(),
                    found: v,
                });
            }
            Some(_) => {}
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    fn err(&self, e: &rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Stores an entry, replacing the previous one of the same (chain, record). Durable when it
    /// returns.
    pub fn put_entry(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        let json = serde_json::to_string(entry).map_err(|e| JournalError::BadEntry {
            path: self.path.clone(),
            chain: entry.chain.0,
            record: entry.record.id,
            message: e.to_string(),
        })?;
        self.conn
            .execute(
                "INSERT INTO entries (chain, record, entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (chain, record) DO UPDATE SET entry = excluded.entry",
                params![to_i64(entry.chain.0), to_i64(entry.record.id), json],
            )
            .map_err(|e| self.err(&e))?;
        Ok(())
    }

    /// Stores a signed transaction. Durable when it returns.
    pub fn put_raw(&self, tx: &RawTx) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO raw_txs (hash, chain, record, nonce, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    tx.hash.as_slice(),
                    to_i64(tx.chain.0),
                    to_i64(tx.record),
                    to_i64(tx.nonce),
                    tx.raw
                ],
            )
            .map_err(|e| self.err(&e))?;
        Ok(())
    }

    /// The signed transaction with this hash.
    pub fn raw(&self, hash: &B256) -> Result<Option<Vec<u8>>, JournalError> {
        self.conn
            .query_row(
                "SELECT raw FROM raw_txs WHERE hash = ?1",
                [hash.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(&e))
    }

    /// Every raw transaction (to warm a cache at start).
    pub fn raws(&self) -> Result<Vec<RawTx>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash, chain, record, nonce, raw FROM raw_txs")
            .map_err(|e| self.err(&e))?;
        let rows = stmt
            .query_map([], |r| {
                let hash: Vec<u8> = r.get(0)?;
                Ok(RawTx {
                    hash: B256::try_from(hash.as_slice()).unwrap_or_default(),
                    chain: ChainId(from_i64(r.get(1)?)),
                    record: from_i64(r.get(2)?),
                    nonce: from_i64(r.get(3)?),
                    raw: r.get(4)?,
                })
            })
            .map_err(|e| self.err(&e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(&e))
    }

    /// Every entry, ordered by chain and record.
    pub fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT chain, record, entry FROM entries ORDER BY chain, record")
            .map_err(|e| self.err(&e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    from_i64(r.get(0)?),
                    from_i64(r.get(1)?),
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(&e))?;
        let mut out = Vec::new();
        for row in rows {
            let (chain, record, json) = row.map_err(|e| self.err(&e))?;
            let entry: JournalEntry =
                tend_json::read::from_str(&json).map_err(|e| JournalError::BadEntry {
                    path: self.path.clone(),
                    chain,
                    record,
                    message: e.to_string(),
                })?;
            out.push(entry);
        }
        Ok(out)
    }
}

// SQLite integers are i64; ids, nonces and chain ids stay far below 2^63, and the bit pattern
// round-trips either way.
#[allow(clippy::cast_possible_wrap)]
fn to_i64(v: u64) -> i64 {
    v as i64
}
#[allow(clippy::cast_sign_loss)]
fn from_i64(v: i64) -> u64 {
    v as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use tend_core::nonce::{Purpose, RecordState};
    use tend_core::time::Timestamp;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tend-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entry(chain: u64, id: u64, nonce: u64) -> JournalEntry {
        JournalEntry {
            chain: ChainId(chain),
            record: tend_core::nonce::TxRecord {
                id,
                nonce,
                purpose: Purpose::Payload,
                state: RecordState::Reserved,
                reserved_at: Timestamp::from_ms(5),
                attempts: Vec::new(),
                cancel_requested: false,
                missing_receipts: 0,
            },
            transfer: None,
        }
    }

    #[test]
    fn entries_replace_by_chain_and_record_and_survive_reopening() {
        let d = dir("roundtrip");
        let path = d.join("j.sqlite");
        {
            let j = Journal::open(&path).unwrap();
            j.put_entry(&entry(100, 1, 7)).unwrap();
            j.put_entry(&entry(100, 2, 8)).unwrap();
            j.put_entry(&entry(8453, 1, 0)).unwrap();
            let mut e = entry(100, 1, 7);
            e.record.state = RecordState::InFlight;
            j.put_entry(&e).unwrap();
            j.put_raw(&RawTx {
                chain: ChainId(100),
                record: 1,
                nonce: 7,
                hash: B256::repeat_byte(9),
                raw: vec![1, 2, 3],
            })
            .unwrap();
        }
        let j = Journal::open(&path).unwrap();
        let all = j.entries().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].record.state, RecordState::InFlight);
        assert_eq!(j.raw(&B256::repeat_byte(9)).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(j.raw(&B256::repeat_byte(1)).unwrap(), None);
        assert_eq!(j.raws().unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_row_is_a_typed_error_naming_it_and_a_newer_schema_is_refused() {
        let d = dir("damaged");
        let path = d.join("j.sqlite");
        let j = Journal::open(&path).unwrap();
        j.put_entry(&entry(100, 1, 7)).unwrap();
        j.conn
            .execute(
                "UPDATE entries SET entry = '{\"nope\": 1' WHERE record = 1",
                [],
            )
            .unwrap();
        let e = j.entries().unwrap_err().to_string();
        assert!(e.contains("chain 100 record 1 does not decode"), "{e}");
        j.conn
            .execute("UPDATE meta SET value = 99 WHERE key = 'schema'", [])
            .unwrap();
        drop(j);
        let e = Journal::open(&path).unwrap_err().to_string();
        assert!(e.contains("schema version 99"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        let d = dir("garbage");
        let path = d.join("j.sqlite");
        std::fs::write(&path, b"this is not sqlite, not at all, no header here....").unwrap();
        assert!(Journal::open(&path).is_err());
    }
}
