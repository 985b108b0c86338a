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

    fn encode(&self, entry: &JournalEntry) -> Result<String, JournalError> {
        serde_json::to_string(entry).map_err(|e| JournalError::BadEntry {
            path: self.path.clone(),
            chain: entry.chain.0,
            record: entry.record.id,
            message: e.to_string(),
        })
    }

    /// Stores an entry, replacing the previous one of the same (chain, record). Durable when it
    /// returns.
    pub fn put_entry(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        let json = self.encode(entry)?;
        write_entry(&self.conn, entry, &json).map_err(|e| self.err(&e))
    }

    /// Stores a signed transaction and the entry that records its attempt in one `SQLite`
    /// transaction: after a crash at any moment the journal holds both or neither, so it never
    /// reads "released" or "reserved" for a nonce it holds a signed transaction for. Durable when
    /// it returns.
    pub fn put_signed(&mut self, entry: &JournalEntry, tx: &RawTx) -> Result<(), JournalError> {
        let json = self.encode(entry)?;
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let t = conn.transaction()?;
            write_raw(&t, tx)?;
            write_entry(&t, entry, &json)?;
            t.commit()
        };
        write(&mut self.conn).map_err(|e| self.err(&e))
    }

    /// Stores a signed transaction alone (tests and tools; the daemon uses
    /// [`Journal::put_signed`]). Durable when it returns.
    pub fn put_raw(&self, tx: &RawTx) -> Result<(), JournalError> {
        write_raw(&self.conn, tx).map_err(|e| self.err(&e))
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

/// Entries restored with the signed transactions the journal holds for them: a raw transaction
/// whose attempt its record does not list (written by a tend that stored the two apart and died
/// between them) is added to the record as a signed attempt that may be in a pool, so its nonce
/// is never handed to another transfer. Returns the entries and how many attempts were added.
pub fn with_stored_attempts(
    mut entries: Vec<JournalEntry>,
    raws: &[RawTx],
) -> (Vec<JournalEntry>, usize) {
    use alloy::consensus::{Transaction as _, TxEnvelope};
    use alloy::eips::eip2718::Decodable2718;
    use tend_core::fees::{Fees, TxKind};
    use tend_core::nonce::{Attempt, RecordState, Sent};
    let mut added = 0;
    for raw in raws {
        let Some(e) = entries
            .iter_mut()
            .find(|e| e.chain == raw.chain && e.record.id == raw.record)
        else {
            continue;
        };
        let r = &mut e.record;
        if r.nonce != raw.nonce
            || r.attempts.iter().any(|a| a.hash == raw.hash)
            || !matches!(r.state, RecordState::Reserved | RecordState::InFlight)
        {
            continue;
        }
        let Ok(tx) = TxEnvelope::decode_2718(&mut raw.raw.as_slice()) else {
            continue;
        };
        let signed_at = r.attempts.last().map_or(r.reserved_at, |a| a.signed_at);
        // A payload's own transactions carry value or call data; a bare 0-value send is its
        // cancel.
        let cancel = r.purpose == tend_core::nonce::Purpose::Payload
            && tx.value().is_zero()
            && tx.input().is_empty();
        r.attempts.push(Attempt {
            hash: raw.hash,
            fees: Fees::new(
                tx.max_fee_per_gas(),
                tx.max_priority_fee_per_gas()
                    .unwrap_or(tx.max_fee_per_gas()),
            ),
            cancel,
            kind: TxKind::Standard,
            signed_at,
            sent: Sent::NotYet,
            pooled: true,
        });
        r.state = RecordState::InFlight;
        added += 1;
    }
    (entries, added)
}

fn write_entry(conn: &Connection, entry: &JournalEntry, json: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO entries (chain, record, entry) VALUES (?1, ?2, ?3)
         ON CONFLICT (chain, record) DO UPDATE SET entry = excluded.entry",
        params![to_i64(entry.chain.0), to_i64(entry.record.id), json],
    )
    .map(drop)
}

fn write_raw(conn: &Connection, tx: &RawTx) -> rusqlite::Result<()> {
    conn.execute(
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
    .map(drop)
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
            call: None,
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

    fn raw(record: u64, nonce: u64, value: u64) -> RawTx {
        use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
        use alloy::eips::eip2718::Encodable2718;
        use alloy::network::TxSignerSync;
        let key =
            alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(7)).unwrap();
        let mut tx = TxEip1559 {
            chain_id: 100,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000,
            to: alloy::primitives::TxKind::Call(alloy::primitives::Address::repeat_byte(1)),
            value: alloy::primitives::U256::from(value),
            ..TxEip1559::default()
        };
        let sig = key.sign_transaction_sync(&mut tx).unwrap();
        let signed = tx.into_signed(sig);
        let hash = *signed.hash();
        RawTx {
            chain: ChainId(100),
            record,
            nonce,
            hash,
            raw: TxEnvelope::from(signed).encoded_2718(),
        }
    }

    /// A real `SQLite` fault in the middle of the write (a trigger that aborts the second
    /// statement): the journal keeps neither half, so it never holds a raw transaction its record
    /// does not list, nor a record that lists one it does not hold.
    #[test]
    fn a_signed_transaction_and_its_entry_are_written_together_or_not_at_all() {
        let d = dir("atomic");
        let path = d.join("j.sqlite");
        let mut j = Journal::open(&path).unwrap();
        j.put_entry(&entry(100, 1, 7)).unwrap();
        let tx = raw(1, 7, 5);
        let mut signed = entry(100, 1, 7);
        signed.record.state = RecordState::InFlight;
        j.conn
            .execute_batch(
                "CREATE TRIGGER full BEFORE UPDATE ON entries BEGIN
                 SELECT RAISE(ABORT, 'database or disk is full'); END;",
            )
            .unwrap();
        let e = j.put_signed(&signed, &tx).unwrap_err().to_string();
        assert!(e.contains("disk is full"), "{e}");
        assert_eq!(
            j.raw(&tx.hash).unwrap(),
            None,
            "the raw half was rolled back"
        );
        assert_eq!(j.entries().unwrap()[0].record.state, RecordState::Reserved);
        j.conn.execute_batch("DROP TRIGGER full;").unwrap();
        j.put_signed(&signed, &tx).unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.raw(&tx.hash).unwrap(), Some(tx.raw.clone()));
        assert_eq!(j.entries().unwrap()[0].record.state, RecordState::InFlight);
    }

    /// A journal written by a tend that stored the raw transaction and its entry apart, killed
    /// between the two: the record reads "reserved" while the signed transaction is there. It is
    /// restored as signed (possibly pooled), never released for another transfer.
    #[test]
    fn a_stored_raw_transaction_its_record_does_not_list_counts_as_signed() {
        let tx = raw(1, 7, 5);
        let other = raw(2, 9, 6);
        let entries = vec![entry(100, 1, 7), entry(100, 3, 8)];
        let (out, added) = with_stored_attempts(entries, &[tx.clone(), other]);
        assert_eq!(added, 1);
        let r = &out[0].record;
        assert_eq!(r.state, RecordState::InFlight);
        assert_eq!(r.attempts.len(), 1);
        let a = &r.attempts[0];
        assert_eq!(a.hash, tx.hash);
        assert!(a.pooled && !a.cancel);
        assert_eq!(a.fees.max_fee_per_gas, 3_000_000_000);
        assert_eq!(
            out[1].record.state,
            RecordState::Reserved,
            "no raw of its own"
        );
        // Listed already, or at another nonce: nothing changes.
        let (again, added) = with_stored_attempts(out.clone(), &[tx]);
        assert_eq!((again, added), (out, 0));
        // Damaged bytes are skipped, not a panic.
        let mut bad = raw(3, 8, 1);
        bad.raw.truncate(5);
        let (_, added) = with_stored_attempts(vec![entry(100, 3, 8)], &[bad]);
        assert_eq!(added, 0);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        let d = dir("garbage");
        let path = d.join("j.sqlite");
        std::fs::write(&path, b"this is not sqlite, not at all, no header here....").unwrap();
        assert!(Journal::open(&path).is_err());
    }
}
