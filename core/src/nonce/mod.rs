//! The nonce planner of one sender on one chain (`shared/domain/anchors.md` §1, checklist §7).
//!
//! A [`NonceBook`] is the journal's view of our transactions from one address: every nonce we
//! reserved, every signed attempt at it (the original, fee bumps, a cancel), where each attempt
//! went, and what the chain says. Events move records forward; [`NonceBook::plan`] is a pure
//! function of the book, the time and the market fees that says what to do next.
//!
//! The rules:
//! - **Reservation.** A new transaction gets the lowest nonce at or above the floor that nothing
//!   of ours holds and that the node's pool does not hold for someone else. The floor is the
//!   larger of the chain's `latest` count and our own confirmed count, so a lagging RPC never makes
//!   us reuse a nonce.
//! - **One nonce, one payload.** Once an attempt at a nonce *may be in a pool* — a node accepted
//!   it, a broadcast's answer was lost (timeout, dropped connection, an answer the table does not
//!   know), or the book was restored from a journal that held it signed (the daemon may have died
//!   after the broadcast began) — the nonce belongs to that record's payload until a receipt or the
//!   chain's count settles it. The record may replace it only with a bump of the same payload or,
//!   when a cancel is asked, a 0-value self-send; no other record ever signs at it. A refusal of a
//!   *rebroadcast* proves nothing about the earlier broadcast, which may still sit in this or any
//!   other node's pool ([`Attempt::pooled`] never goes back to `false`).
//! - **Stuck.** A sent transaction that is not mined after `stuck_after_ms` (doubling with each
//!   replacement) or `stuck_after_blocks`, or whose max fee is below the next block's base fee
//!   ([`ChainView::base_fee`]), is replaced with fees every node accepts ([`crate::fees::bump`]),
//!   up to the fee cap; never while a lower nonce is missing.
//! - **Dropped.** A sent attempt the node's pool no longer holds (its nonce is at or above the
//!   `pending` count) is broadcast again, raw and unchanged, after `rebroadcast_after_ms`. After a
//!   restart every unsettled record's last attempt is broadcast again at once, in nonce order.
//! - **Confirmations and reorgs.** A mined transaction is confirmed when the block at its height
//!   still has its hash and the head is `confirmations` deep; a different hash puts it back in
//!   flight.
//! - **Cap.** At most `max_in_flight` unconfirmed transactions per sender.
//!
//! # When a nonce is released, kept or replaced
//!
//! "Before" means no attempt of the record may be in a pool yet (the only broadcast of each
//! attempt was answered, in this process, with a refusal); "after" means one may (see above).
//!
//! | What happened | Before any possible acceptance | After |
//! |---|---|---|
//! | estimate or signing failed; transfer no longer wanted (nothing signed) | release (`unused`) | — (a record with an attempt is never released this way) |
//! | restart finds a reservation with no signed attempt (the journal writes the attempt and its raw transaction in one transaction, before any broadcast) | release (`unused`) | — |
//! | the chain's count passes a reservation with nothing signed | release (`taken`) | — |
//! | cancel asked | release (`cancelled`) if nothing is signed | keep; the record replaces its payload with a 0-value self-send |
//! | refused: fee too low, base fee above max fee, underpriced | release (`refused`) if every attempt was refused | keep; **replace**: a bump of the same payload |
//! | refused: insufficient funds, other definite rejection | release (`refused`) if every attempt was refused | keep; the stuck rule replaces it later |
//! | refused: nonce too high | release (`refused`) if every attempt was refused | keep; broadcast again once the gap below is filled |
//! | refused: replacement underpriced | keep (a transaction holds the nonce in a pool); bump | keep; bump |
//! | refused: nonce too low | keep; check receipts | keep; check receipts |
//! | answer lost, unknown error, already known, busy | keep (may be in a pool) | keep |
//! | below the next block's base fee, or stuck | — | keep; replace (same payload, bumped) |
//! | restart (kill -9 at any moment) | every journaled attempt counts as possibly pooled | keep; the last attempt is broadcast again at once, in nonce order, and no new nonce is reserved for a transfer until each such broadcast is answered |
//! | a bump of the payload costs more than the sender holds (with our lower nonces' worst costs) | — | keep; **cancel** (a 0-value self-send; the engine): the payload cannot be mined below the base fee anyway, and the wallet is planned again once the cancel settles |
//!
//! Why the other paths cannot bind a nonce to a second payload:
//! - **Gap fills** take only a nonce no record of ours holds ([`NonceBook::gaps`]): one that was
//!   released by the table above (so nothing at it was ever possibly pooled) or never reserved. A
//!   record that may be pooled holds its nonce until it is final.
//! - **Cancels** are attempts of the same record: the payload or the 0-value self-send is mined,
//!   never a second transfer. A mined cancel settles the transfer as not sent.
//! - **Replacements after a reorg**: a reorged-out record goes back in flight with all its
//!   attempts; it is rebroadcast or bumped as the same payload.
//! - **Lost after empty receipt checks**: the chain's count passed the nonce and none of our
//!   attempts has a receipt, `lost_after_checks` times in a row: another transaction used the
//!   nonce. The record is final, the confirmed floor rises above it, and no record of ours signs
//!   at it again (the transfer is planned anew under a fresh nonce).
//! - **A reorg deeper than the confirmation depth** (the chain's count stays below our confirmed
//!   count for [`DEEP_REORG_OBSERVATIONS`] reads over [`DEEP_REORG_GRACE_BLOCKS`] blocks): the
//!   confirmed records are put back in flight with their attempts, and they are rebroadcast or
//!   bumped as the same payload; only nonces no record of ours remembers become gaps. When a
//!   later record already funds the same wallet again (planned from balances the reorg had
//!   undone), the engine cancels the resurrected one: a no-op at its own nonce, not a second
//!   transfer.

mod book;
mod errors;
mod plan;

pub use errors::{PATTERNS, SendErrorClass, classify_send_error};

use crate::map::Map;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::fees::{self, FeeError, Fees, TxKind};
use crate::time::Timestamp;

/// Blocks the head must advance, with the chain's count still below our confirmed count, before
/// the book accepts that a reorg deeper than the confirmation depth undid confirmed transactions.
pub const DEEP_REORG_GRACE_BLOCKS: u64 = 16;

/// Observations in a row of a count below our confirmed count before a deep reorg is accepted
/// (one lying or lagging answer is not enough).
pub const DEEP_REORG_OBSERVATIONS: u32 = 3;

/// Confirmed records the book remembers for a reorg deeper than the confirmation depth.
pub const KEPT_CONFIRMED: usize = 64;

/// Most gaps reported at once (the scan window of the `OpenZeppelin` relayer).
pub const MAX_GAPS: usize = 100;

/// A record's id in the book (stable across restarts: the journal stores it).
pub type TxId = u64;

/// What a record's transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A transaction the engine asked for (a funding transfer).
    Payload,
    /// A 0-value self-send that fills a gap.
    GapFill,
}

/// One signed transaction at a record's nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Attempt {
    /// The transaction hash.
    pub hash: B256,
    /// The fees it was signed with.
    pub fees: Fees,
    /// Whether it is a cancel (a 0-value self-send replacing the payload).
    pub cancel: bool,
    /// The transaction type, for the bump rule.
    pub kind: TxKind,
    /// When it was signed (and written to the journal).
    pub signed_at: Timestamp,
    /// Where it went (the last broadcast's outcome).
    pub sent: Sent,
    /// Whether it may be in a pool: a node accepted it, a broadcast's answer was lost, or the
    /// book was restored from a journal that held it (a broadcast may have begun before the
    /// restart). Once set it stays set: no later refusal frees the nonce.
    #[serde(default)]
    pub pooled: bool,
}

/// The broadcast status of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Sent {
    /// Signed and journaled; no broadcast answer yet in this process (after a restart: broadcast
    /// it again at once).
    NotYet,
    /// A node accepted it, or the answer was lost: it may be in a pool.
    Sent {
        /// Last broadcast time.
        at: Timestamp,
        /// The head block when last broadcast.
        block: u64,
    },
    /// A node refused it.
    Refused {
        /// Why.
        class: SendErrorClass,
    },
}

/// Where a record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecordState {
    /// The nonce is held; nothing is signed yet.
    Reserved,
    /// At least one attempt is signed; none is known mined.
    InFlight,
    /// One of the attempts is in a block, not yet deep enough.
    Mined {
        /// The mined attempt's hash.
        hash: B256,
        /// Its block number.
        block_number: u64,
        /// Its block hash, to detect a reorg.
        block_hash: B256,
    },
    /// Mined and `confirmations` deep on the canonical chain. Final.
    Confirmed {
        /// The mined attempt's hash.
        hash: B256,
        /// Its block number.
        block_number: u64,
        /// Whether the mined attempt was a cancel.
        cancelled: bool,
    },
    /// The nonce is free again: nothing of ours at it ever entered a pool. Final.
    Released {
        /// Why.
        reason: ReleaseReason,
    },
    /// The chain used this nonce for a transaction that is none of our attempts. Final.
    Lost,
}

impl RecordState {
    /// Whether the record holds its nonce.
    pub const fn holds_nonce(self) -> bool {
        matches!(
            self,
            Self::Reserved | Self::InFlight | Self::Mined { .. } | Self::Confirmed { .. }
        )
    }

    /// Whether the record is final.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Confirmed { .. } | Self::Released { .. } | Self::Lost
        )
    }

    /// The state's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::InFlight => "in_flight",
            Self::Mined { .. } => "mined",
            Self::Confirmed { .. } => "confirmed",
            Self::Released { .. } => "released",
            Self::Lost => "lost",
        }
    }
}

/// Why a nonce was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The engine gave the reservation back before signing (estimate or signing failed, or the
    /// transfer is no longer needed).
    Unused,
    /// A cancel was asked before anything was signed.
    Cancelled,
    /// Every attempt was refused with an answer that proves it entered no pool.
    Refused,
    /// The chain's count passed the nonce before we signed anything at it.
    Taken,
}

/// One transaction of ours at one nonce, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct TxRecord {
    /// The record's id.
    pub id: TxId,
    /// Its nonce.
    pub nonce: u64,
    /// What it is for.
    pub purpose: Purpose,
    /// Where it stands.
    pub state: RecordState,
    /// When the nonce was reserved.
    pub reserved_at: Timestamp,
    /// Every attempt signed at this nonce, oldest first.
    pub attempts: Vec<Attempt>,
    /// The operator or the engine asked to cancel it.
    pub cancel_requested: bool,
    /// Receipt checks in a row that found none of the attempts while the chain's count had passed
    /// the nonce.
    pub missing_receipts: u32,
}

impl TxRecord {
    /// The highest fees of any attempt (the base of the next bump).
    pub fn highest_fees(&self) -> Option<Fees> {
        self.attempts.iter().map(|a| a.fees).reduce(Fees::max)
    }

    /// Whether any attempt may be in a pool (sent, signed with no answer, or refused with an
    /// answer that does not prove it entered none).
    pub fn may_have_reached_a_node(&self) -> bool {
        self.attempts.iter().any(|a| {
            a.pooled
                || match a.sent {
                    Sent::NotYet | Sent::Sent { .. } => true,
                    Sent::Refused { class } => !class.proves_not_in_pool(),
                }
        })
    }

    fn last_broadcast(&self) -> Option<(Timestamp, u64)> {
        self.attempts
            .iter()
            .filter_map(|a| match a.sent {
                Sent::Sent { at, block } => Some((at, block)),
                Sent::NotYet | Sent::Refused { .. } => None,
            })
            .max()
    }
}

/// The planner's knobs for one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct NoncePolicy {
    /// Blocks deep (counting the block itself) before a transaction is final.
    pub confirmations: u64,
    /// Age of the last broadcast after which an unmined transaction is replaced (doubles with
    /// each replacement, up to 64×).
    pub stuck_after_ms: u64,
    /// Blocks since the last broadcast after which an unmined transaction is replaced (doubles
    /// with each replacement). 0 turns the block rule off.
    pub stuck_after_blocks: u64,
    /// Age after which an attempt the pool does not hold is broadcast again.
    pub rebroadcast_after_ms: u64,
    /// Most unconfirmed transactions per sender.
    pub max_in_flight: u32,
    /// Highest max fee per gas a replacement may use, wei.
    #[serde(with = "crate::ser::wei")]
    pub fee_cap: u128,
    /// Receipt checks that find nothing, with the chain past the nonce, before the nonce counts
    /// as lost to someone else.
    pub lost_after_checks: u32,
}

impl Default for NoncePolicy {
    fn default() -> Self {
        Self {
            confirmations: 2,
            stuck_after_ms: 180_000,
            stuck_after_blocks: 0,
            rebroadcast_after_ms: 30_000,
            max_in_flight: 16,
            fee_cap: 500 * fees::GWEI,
            lost_after_checks: 3,
        }
    }
}

/// What the chain said about the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
pub struct ChainView {
    /// `eth_getTransactionCount(sender, "latest")`.
    pub latest: u64,
    /// `eth_getTransactionCount(sender, "pending")`.
    pub pending: u64,
    /// The head block number.
    pub head: u64,
    /// The next block's base fee as last read, wei (0 when unknown): an attempt whose max fee is
    /// below it cannot be mined and is replaced.
    #[serde(default, with = "crate::ser::wei")]
    pub base_fee: u128,
}

/// What the planner asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NonceAction {
    /// Reserve `nonce` with [`Purpose::GapFill`] and send a 0-value self-send there.
    FillGap {
        /// The missing nonce.
        nonce: u64,
    },
    /// Sign the record's transaction again (or a cancel) at the same nonce with these fees.
    Replace {
        /// The record.
        id: TxId,
        /// Its nonce.
        nonce: u64,
        /// The fees to sign with.
        fees: Fees,
        /// Sign a 0-value self-send instead of the payload.
        cancel: bool,
    },
    /// Broadcast this signed attempt again, unchanged (it was never answered, or the pool
    /// dropped it).
    Rebroadcast {
        /// The record.
        id: TxId,
        /// The attempt's hash (the journal holds its raw bytes).
        hash: B256,
    },
    /// Fetch the receipts of these hashes: the chain's count has passed the nonce.
    CheckReceipts {
        /// The record.
        id: TxId,
        /// Every attempt's hash.
        hashes: Vec<B256>,
    },
    /// Fetch the hash of the block at this height, to confirm or detect a reorg.
    CheckBlock {
        /// The block number.
        number: u64,
    },
    /// A replacement is due but its fees would exceed the cap.
    HeldAtCap {
        /// The record.
        id: TxId,
        /// Its nonce.
        nonce: u64,
        /// The cap error.
        error: FeeError,
    },
}

/// A refused book operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, ToJson)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum NonceError {
    /// No chain counts were read yet, so no floor is known.
    #[error("the sender's transaction count has not been read yet: read it before reserving")]
    NotSynced,
    /// Too many transactions in flight.
    #[error(
        "{in_flight} transactions are in flight, the cap is {cap}: wait for confirmations or \
         raise the chain's max_in_flight (in tend.toml, a key of its [[chains]] entry)"
    )]
    InFlightCap {
        /// Unconfirmed records now.
        in_flight: u32,
        /// The policy's cap.
        cap: u32,
    },
    /// No record with this id.
    #[error("no transaction record {id}")]
    UnknownRecord {
        /// The id.
        id: TxId,
    },
    /// The operation does not apply to the record's state.
    #[error("transaction record {id} is {state}: cannot {operation}")]
    WrongState {
        /// The id.
        id: TxId,
        /// Its state's name.
        state: &'static str,
        /// What was attempted.
        operation: &'static str,
    },
    /// A gap fill asked for a nonce that is not a gap.
    #[error("nonce {nonce} is not free: {why}")]
    NotAGap {
        /// The nonce.
        nonce: u64,
        /// Why.
        why: &'static str,
    },
    /// An attempt hash that no record of ours has.
    #[error("no attempt with hash {hash}")]
    UnknownHash {
        /// The hash.
        hash: B256,
    },
}

/// The nonce book of one sender on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
pub struct NonceBook {
    records: Map<TxId, TxRecord>,
    /// Nonce → the record holding it.
    holders: Map<u64, TxId>,
    next_id: TxId,
    /// Our own confirmed count: highest confirmed nonce + 1.
    confirmed_floor: u64,
    chain: Option<ChainView>,
    /// The head at which the chain's count was first seen below our confirmed count.
    below_floor_since: Option<u64>,
    /// Observations in a row with the count below our confirmed count.
    below_floor_seen: u32,
    /// The last [`KEPT_CONFIRMED`] confirmed records, oldest first: a reorg deeper than the
    /// confirmation depth puts them back in flight (the same payloads, never gap fills).
    /// Rebuilt from the journal's records by [`NonceBook::restore`].
    #[serde(skip)]
    confirmed_tail: Vec<TxRecord>,
    /// Records that became final since the last [`NonceBook::drain_finished`].
    #[serde(skip)]
    finished: Vec<TxRecord>,
}

/// What the browser's nonce calculator (`planNonces`) is asked: a sender's records, the chain's
/// view of it, the time, and optionally the fee market and the policy. Parsed here, next to the
/// engine's own record parsing, so the wasm package holds one copy of each deserializer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct NonceRequest {
    /// The sender's records (as the journal holds them).
    pub records: Vec<TxRecord>,
    /// The chain's counts and head for the sender.
    pub chain: ChainView,
    /// Now.
    pub now: Timestamp,
    /// The fee market, when known (replacements need it).
    #[serde(default)]
    pub market: Option<Fees>,
    /// The policy (the default when absent).
    #[serde(default)]
    pub policy: NoncePolicy,
}

impl NonceRequest {
    /// Parses a request from JSON text.
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }
}
