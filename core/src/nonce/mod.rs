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
//! - **Never reuse.** A nonce that may have reached a node (an attempt was signed — the journal
//!   writes it before broadcast — and not every attempt was definitely rejected) stays ours until
//!   it is mined, confirmed or consumed by someone else.
//! - **Release.** A reservation released before signing, or whose every attempt a node rejected
//!   with an answer that proves the transaction entered no pool, frees its nonce. A freed nonce
//!   below our highest live one is a gap: the next reservation takes it, and if none comes,
//!   [`NonceAction::FillGap`] asks for a 0-value self-send.
//! - **Stuck.** A sent transaction that is not mined after `stuck_after_ms` (doubling with each
//!   replacement) or `stuck_after_blocks` is replaced with fees every node accepts
//!   ([`crate::fees::bump`]), up to the fee cap; never while a lower nonce is missing.
//! - **Dropped.** A sent attempt the node's pool no longer holds (its nonce is at or above the
//!   `pending` count) is broadcast again, raw and unchanged, after `rebroadcast_after_ms`.
//! - **Confirmations and reorgs.** A mined transaction is confirmed when the block at its height
//!   still has its hash and the head is `confirmations` deep; a different hash puts it back in
//!   flight.
//! - **Cap.** At most `max_in_flight` unconfirmed transactions per sender.

mod errors;

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
    /// Where it went.
    pub sent: Sent,
}

/// The broadcast status of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Sent {
    /// Signed and journaled; no broadcast answer yet (a crash here leaves it maybe-sent).
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

    /// Whether any attempt may be in a pool (sent, or signed with no answer).
    pub fn may_have_reached_a_node(&self) -> bool {
        self.attempts.iter().any(|a| match a.sent {
            Sent::NotYet | Sent::Sent { .. } => true,
            Sent::Refused { class } => !class.proves_not_in_pool(),
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
         raise max_in_flight"
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
    /// Records that became final since the last [`NonceBook::drain_finished`].
    #[serde(skip)]
    finished: Vec<TxRecord>,
}

impl NonceBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// A book restored from journal records (in any order). Records are re-indexed; final
    /// records only raise the confirmed floor.
    pub fn restore(records: impl IntoIterator<Item = TxRecord>) -> Self {
        let mut book = Self::new();
        for r in records {
            book.next_id = book.next_id.max(r.id.saturating_add(1));
            if let RecordState::Confirmed { .. } | RecordState::Lost = r.state {
                book.confirmed_floor = book.confirmed_floor.max(r.nonce.saturating_add(1));
            }
            if r.state.holds_nonce() && !matches!(r.state, RecordState::Confirmed { .. }) {
                book.holders.insert(r.nonce, r.id);
            }
            if !r.state.is_final() {
                book.records.insert(r.id, r);
            }
        }
        book
    }

    /// The live (not final) records, by id.
    pub fn records(&self) -> impl Iterator<Item = &TxRecord> {
        self.records.values()
    }

    /// One record.
    pub fn record(&self, id: TxId) -> Option<&TxRecord> {
        self.records.get(&id)
    }

    /// The last chain counts seen.
    pub fn chain(&self) -> Option<ChainView> {
        self.chain
    }

    /// Our own confirmed count.
    pub fn confirmed_floor(&self) -> u64 {
        self.confirmed_floor
    }

    /// The floor: no nonce below it is ever handed out.
    pub fn floor(&self) -> u64 {
        self.chain
            .map_or(self.confirmed_floor, |c| c.latest.max(self.confirmed_floor))
    }

    /// Unconfirmed records holding a nonce.
    pub fn in_flight(&self) -> u32 {
        u32::try_from(self.holders.len()).unwrap_or(u32::MAX)
    }

    /// The nonce the next [`NonceBook::reserve`] would get.
    pub fn next_nonce(&self) -> Option<u64> {
        let chain = self.chain?;
        let mut n = self.floor();
        // Each step passes one of our nonces or jumps over the pool's foreign ones, so the loop
        // ends within `holders.len() + 2` steps whatever the counts say.
        loop {
            if self.holders.contains_key(&n) {
                n = n.saturating_add(1);
            } else if n < chain.pending {
                n = chain.pending;
            } else {
                return Some(n);
            }
        }
    }

    fn get_mut(&mut self, id: TxId) -> Result<&mut TxRecord, NonceError> {
        self.records
            .get_mut(&id)
            .ok_or(NonceError::UnknownRecord { id })
    }

    /// Records the chain's counts and head. Counts that pass a reserved-but-unsigned nonce
    /// release it ([`ReleaseReason::Taken`]); counts that fall below a mined nonce (a reorg, or a
    /// lagging node) put it back in flight.
    ///
    /// A count below our own confirmed count is first taken for a lagging node. If it stays
    /// below for [`DEEP_REORG_OBSERVATIONS`] observations in a row while the head advances
    /// [`DEEP_REORG_GRACE_BLOCKS`], a reorg deeper than the
    /// confirmation depth undid transactions we had confirmed: the confirmed count falls back to
    /// the chain's, so the freed nonces become gaps and are filled. Returns the confirmed count
    /// before such a fall, if one happened.
    pub fn observe_chain(&mut self, view: ChainView) -> Option<u64> {
        self.chain = Some(view);
        let mut fell_from = None;
        if view.latest < self.confirmed_floor {
            self.below_floor_seen = self.below_floor_seen.saturating_add(1);
            match self.below_floor_since {
                None => self.below_floor_since = Some(view.head),
                Some(since)
                    if view.head >= since.saturating_add(DEEP_REORG_GRACE_BLOCKS)
                        && self.below_floor_seen >= DEEP_REORG_OBSERVATIONS =>
                {
                    fell_from = Some(self.confirmed_floor);
                    self.confirmed_floor = view.latest;
                    self.below_floor_since = None;
                    self.below_floor_seen = 0;
                }
                Some(_) => {}
            }
        } else {
            self.below_floor_since = None;
            self.below_floor_seen = 0;
        }
        let ids: Vec<TxId> = self.holders.values().copied().collect();
        for id in ids {
            let Some(r) = self.records.get_mut(&id) else {
                continue;
            };
            match r.state {
                RecordState::Reserved if r.nonce < view.latest => {
                    r.state = RecordState::Released {
                        reason: ReleaseReason::Taken,
                    };
                    let nonce = r.nonce;
                    self.holders.remove(&nonce);
                    self.prune(id);
                }
                RecordState::Mined { .. } if r.nonce >= view.latest => {
                    r.state = RecordState::InFlight;
                }
                RecordState::Reserved
                | RecordState::InFlight
                | RecordState::Mined { .. }
                | RecordState::Confirmed { .. }
                | RecordState::Released { .. }
                | RecordState::Lost => {}
            }
        }
        fell_from
    }

    /// Reserves the next nonce for a transaction.
    pub fn reserve(
        &mut self,
        purpose: Purpose,
        now: Timestamp,
        policy: &NoncePolicy,
    ) -> Result<(TxId, u64), NonceError> {
        let nonce = self.next_nonce().ok_or(NonceError::NotSynced)?;
        self.insert(nonce, purpose, now, policy)
    }

    /// Reserves a specific free nonce below our highest live one (a gap), for a gap fill.
    pub fn reserve_gap(
        &mut self,
        nonce: u64,
        now: Timestamp,
        policy: &NoncePolicy,
    ) -> Result<(TxId, u64), NonceError> {
        if !self.gaps().contains(&nonce) {
            return Err(NonceError::NotAGap {
                nonce,
                why: "it is below the floor, held, or above our highest live nonce",
            });
        }
        self.insert(nonce, Purpose::GapFill, now, policy)
    }

    fn insert(
        &mut self,
        nonce: u64,
        purpose: Purpose,
        now: Timestamp,
        policy: &NoncePolicy,
    ) -> Result<(TxId, u64), NonceError> {
        let in_flight = self.in_flight();
        if in_flight >= policy.max_in_flight {
            return Err(NonceError::InFlightCap {
                in_flight,
                cap: policy.max_in_flight,
            });
        }
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.records.insert(
            id,
            TxRecord {
                id,
                nonce,
                purpose,
                state: RecordState::Reserved,
                reserved_at: now,
                attempts: Vec::new(),
                cancel_requested: false,
                missing_receipts: 0,
            },
        );
        self.holders.insert(nonce, id);
        Ok((id, nonce))
    }

    /// Gives an unsigned reservation back (estimation or signing failed, or the transfer is no
    /// longer wanted). A record with a signed attempt cannot be released: cancel it instead.
    pub fn release(&mut self, id: TxId) -> Result<(), NonceError> {
        let r = self.get_mut(id)?;
        if r.state != RecordState::Reserved {
            return Err(NonceError::WrongState {
                id,
                state: r.state.name(),
                operation: "release a signed transaction (cancel it)",
            });
        }
        r.state = RecordState::Released {
            reason: ReleaseReason::Unused,
        };
        let nonce = r.nonce;
        self.holders.remove(&nonce);
        self.prune(id);
        Ok(())
    }

    /// Records a signed attempt (the journal writes it before the broadcast).
    pub fn signed(
        &mut self,
        id: TxId,
        hash: B256,
        fees: Fees,
        kind: TxKind,
        cancel: bool,
        now: Timestamp,
    ) -> Result<(), NonceError> {
        let r = self.get_mut(id)?;
        match r.state {
            RecordState::Reserved | RecordState::InFlight => {}
            RecordState::Mined { .. }
            | RecordState::Confirmed { .. }
            | RecordState::Released { .. }
            | RecordState::Lost => {
                return Err(NonceError::WrongState {
                    id,
                    state: r.state.name(),
                    operation: "sign another attempt",
                });
            }
        }
        r.state = RecordState::InFlight;
        r.attempts.push(Attempt {
            hash,
            fees,
            cancel,
            kind,
            signed_at: now,
            sent: Sent::NotYet,
        });
        Ok(())
    }

    /// The live record with an attempt of this hash.
    pub fn record_of(&self, hash: B256) -> Option<TxId> {
        self.records
            .values()
            .find(|r| r.attempts.iter().any(|a| a.hash == hash))
            .map(|r| r.id)
    }

    fn attempt_mut(&mut self, hash: B256) -> Result<(&mut TxRecord, usize), NonceError> {
        let id = self
            .record_of(hash)
            .ok_or(NonceError::UnknownHash { hash })?;
        let r = self.get_mut(id)?;
        let i = r
            .attempts
            .iter()
            .position(|a| a.hash == hash)
            .ok_or(NonceError::UnknownHash { hash })?;
        Ok((r, i))
    }

    /// A node accepted the attempt, or the answer was lost (it may be in a pool either way).
    pub fn sent(&mut self, hash: B256, now: Timestamp) -> Result<(), NonceError> {
        let block = self.chain.map_or(0, |c| c.head);
        let (r, i) = self.attempt_mut(hash)?;
        r.attempts[i].sent = Sent::Sent { at: now, block };
        Ok(())
    }

    /// A node answered the broadcast with an error. Returns its class.
    ///
    /// `AlreadyKnown` counts as sent; `Unknown` leaves the attempt maybe-sent; a class that proves
    /// the attempt entered no pool marks it refused, and when no attempt of the record may be in a
    /// pool, the nonce is released. `NonceTooLow` keeps the nonce (the chain used it) and the
    /// planner checks receipts.
    pub fn send_failed(
        &mut self,
        hash: B256,
        code: Option<i64>,
        message: &str,
        now: Timestamp,
    ) -> Result<SendErrorClass, NonceError> {
        let class = classify_send_error(code, message);
        let block = self.chain.map_or(0, |c| c.head);
        let (r, i) = self.attempt_mut(hash)?;
        let id = r.id;
        match class {
            SendErrorClass::AlreadyKnown | SendErrorClass::Unknown => {
                r.attempts[i].sent = Sent::Sent { at: now, block };
            }
            SendErrorClass::NonceTooLow
            | SendErrorClass::ReplacementUnderpriced
            | SendErrorClass::NonceTooHigh
            | SendErrorClass::FeeTooLow
            | SendErrorClass::InsufficientFunds
            | SendErrorClass::Busy
            | SendErrorClass::Rejected => {
                if !matches!(r.attempts[i].sent, Sent::Sent { .. }) || class.proves_not_in_pool() {
                    r.attempts[i].sent = Sent::Refused { class };
                }
            }
        }
        if r.state == RecordState::InFlight && !r.may_have_reached_a_node() {
            r.state = RecordState::Released {
                reason: ReleaseReason::Refused,
            };
            let nonce = r.nonce;
            self.holders.remove(&nonce);
            self.prune(id);
        }
        Ok(class)
    }

    /// A receipt was found for an attempt: the record is mined.
    pub fn mined(
        &mut self,
        hash: B256,
        block_number: u64,
        block_hash: B256,
    ) -> Result<(), NonceError> {
        let (r, _) = self.attempt_mut(hash)?;
        match r.state {
            RecordState::InFlight | RecordState::Mined { .. } => {
                r.state = RecordState::Mined {
                    hash,
                    block_number,
                    block_hash,
                };
                r.missing_receipts = 0;
                Ok(())
            }
            RecordState::Reserved
            | RecordState::Confirmed { .. }
            | RecordState::Released { .. }
            | RecordState::Lost => Err(NonceError::WrongState {
                id: r.id,
                state: r.state.name(),
                operation: "record a receipt",
            }),
        }
    }

    /// A receipt check of a record found none of its attempts. After `lost_after_checks` such
    /// checks with the chain's count past the nonce, the nonce counts as lost to another
    /// transaction. Returns the record's state afterwards.
    pub fn receipts_missing(
        &mut self,
        id: TxId,
        policy: &NoncePolicy,
    ) -> Result<RecordState, NonceError> {
        let latest = self.chain.map_or(0, |c| c.latest);
        let r = self.get_mut(id)?;
        if r.state == RecordState::InFlight && r.nonce < latest {
            r.missing_receipts = r.missing_receipts.saturating_add(1);
            if r.missing_receipts >= policy.lost_after_checks {
                r.state = RecordState::Lost;
                let nonce = r.nonce;
                // The chain used the nonce: never hand it out again, even if a later (lagging or
                // lying) count says otherwise.
                self.confirmed_floor = self.confirmed_floor.max(nonce.saturating_add(1));
                self.holders.remove(&nonce);
                self.prune(id);
                return Ok(RecordState::Lost);
            }
        }
        Ok(r.state)
    }

    /// The canonical hash of block `number`: confirms mined records at that height deep enough,
    /// and puts back in flight those whose block was reorged away. Returns the ids confirmed.
    pub fn block(&mut self, number: u64, hash: B256, policy: &NoncePolicy) -> Vec<TxId> {
        let head = self.chain.map_or(0, |c| c.head);
        let mut confirmed = Vec::new();
        let ids: Vec<TxId> = self.holders.values().copied().collect();
        for id in ids {
            let Some(r) = self.records.get_mut(&id) else {
                continue;
            };
            let RecordState::Mined {
                hash: tx,
                block_number,
                block_hash,
            } = r.state
            else {
                continue;
            };
            if block_number != number {
                continue;
            }
            if block_hash != hash {
                r.state = RecordState::InFlight;
            } else if head.saturating_sub(block_number).saturating_add(1) >= policy.confirmations {
                let cancelled = r.attempts.iter().any(|a| a.hash == tx && a.cancel);
                r.state = RecordState::Confirmed {
                    hash: tx,
                    block_number,
                    cancelled,
                };
                self.confirmed_floor = self.confirmed_floor.max(r.nonce.saturating_add(1));
                let nonce = r.nonce;
                self.holders.remove(&nonce);
                confirmed.push(id);
            }
        }
        for id in &confirmed {
            self.prune(*id);
        }
        confirmed
    }

    /// Asks to cancel a record: an unsigned reservation is released at once; a signed one is
    /// replaced by a 0-value self-send at the next [`NonceBook::plan`].
    pub fn request_cancel(&mut self, id: TxId) -> Result<RecordState, NonceError> {
        let r = self.get_mut(id)?;
        match r.state {
            RecordState::Reserved => {
                r.state = RecordState::Released {
                    reason: ReleaseReason::Cancelled,
                };
                let nonce = r.nonce;
                self.holders.remove(&nonce);
                self.prune(id);
                Ok(RecordState::Released {
                    reason: ReleaseReason::Cancelled,
                })
            }
            RecordState::InFlight => {
                r.cancel_requested = true;
                Ok(r.state)
            }
            RecordState::Mined { .. }
            | RecordState::Confirmed { .. }
            | RecordState::Released { .. }
            | RecordState::Lost => Err(NonceError::WrongState {
                id,
                state: r.state.name(),
                operation: "cancel",
            }),
        }
    }

    /// Moves a final record out of the live set, to [`NonceBook::drain_finished`].
    fn prune(&mut self, id: TxId) {
        if self.records.get(&id).is_some_and(|r| r.state.is_final())
            && let Some(r) = self.records.remove(&id)
        {
            self.finished.push(r);
        }
    }

    /// The records that became final (confirmed, released, lost) since the last call, in the
    /// order they did: journal them and settle what they carried.
    pub fn drain_finished(&mut self) -> Vec<TxRecord> {
        std::mem::take(&mut self.finished)
    }

    /// Whether records wait in [`NonceBook::drain_finished`].
    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// Nonces between the floor and our highest live nonce that nothing of ours holds and the
    /// pool does not hold for someone else.
    pub fn gaps(&self) -> Vec<u64> {
        let Some(chain) = self.chain else {
            return Vec::new();
        };
        let mut gaps = Vec::new();
        let mut next = self.floor().max(chain.pending);
        for &held in self.holders.range(next..).map(|(n, _)| n) {
            while next < held && gaps.len() < MAX_GAPS {
                gaps.push(next);
                next += 1;
            }
            next = held.saturating_add(1);
        }
        gaps
    }

    /// What to do now, given the time and the market's fees (if known). Pure: call it as often as
    /// you like; it changes nothing.
    pub fn plan(
        &self,
        now: Timestamp,
        market: Option<Fees>,
        policy: &NoncePolicy,
    ) -> Vec<NonceAction> {
        let mut out = Vec::new();
        let Some(chain) = self.chain else {
            return out;
        };
        let gaps = self.gaps();
        let lowest_gap = gaps.first().copied();
        out.extend(gaps.iter().map(|&nonce| NonceAction::FillGap { nonce }));
        // A sorted set: a few blocks at most (no sort instantiation for them).
        let mut blocks_to_check = crate::map::Set::default();
        for (&nonce, &id) in &self.holders {
            let Some(r) = self.records.get(&id) else {
                continue;
            };
            match r.state {
                RecordState::Reserved
                | RecordState::Confirmed { .. }
                | RecordState::Released { .. }
                | RecordState::Lost => {}
                RecordState::Mined { block_number, .. } => {
                    if chain.head.saturating_sub(block_number).saturating_add(1)
                        >= policy.confirmations
                    {
                        blocks_to_check.insert(block_number);
                    }
                }
                RecordState::InFlight => {
                    if nonce < chain.latest {
                        out.push(NonceAction::CheckReceipts {
                            id,
                            hashes: r.attempts.iter().map(|a| a.hash).collect(),
                        });
                        continue;
                    }
                    Self::plan_in_flight(r, now, chain, market, lowest_gap, policy, &mut out);
                }
            }
        }
        out.extend(
            blocks_to_check
                .into_iter()
                .map(|number| NonceAction::CheckBlock { number }),
        );
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_in_flight(
        r: &TxRecord,
        now: Timestamp,
        chain: ChainView,
        market: Option<Fees>,
        lowest_gap: Option<u64>,
        policy: &NoncePolicy,
        out: &mut Vec<NonceAction>,
    ) {
        let Some(last) = r.attempts.last() else {
            return;
        };
        let blocked_by_gap = lowest_gap.is_some_and(|g| g < r.nonce);
        // A replacement is needed now when the last attempt was refused for its price, when a
        // cancel was asked and none is signed, or when the transaction is stuck.
        let refused_for_price = matches!(
            last.sent,
            Sent::Refused {
                class: SendErrorClass::ReplacementUnderpriced | SendErrorClass::FeeTooLow
            }
        );
        let wants_cancel = r.cancel_requested && !r.attempts.iter().any(|a| a.cancel);
        let stuck = r.last_broadcast().is_some_and(|(at, block)| {
            let k = u32::try_from(r.attempts.len().saturating_sub(1))
                .unwrap_or(u32::MAX)
                .min(6);
            let age_limit = policy.stuck_after_ms.saturating_mul(1 << k);
            let block_limit = policy.stuck_after_blocks.saturating_mul(1 << k);
            now.since(at) >= age_limit
                || (policy.stuck_after_blocks > 0
                    && chain.head.saturating_sub(block) >= block_limit)
        });
        if !blocked_by_gap && (refused_for_price || wants_cancel || stuck) {
            let old = r.highest_fees().unwrap_or(last.fees);
            let cancel = r.cancel_requested;
            match fees::bump(old, market.unwrap_or(old), last.kind, policy.fee_cap) {
                Ok(fees) => out.push(NonceAction::Replace {
                    id: r.id,
                    nonce: r.nonce,
                    fees,
                    cancel,
                }),
                Err(error) => out.push(NonceAction::HeldAtCap {
                    id: r.id,
                    nonce: r.nonce,
                    error,
                }),
            }
            return;
        }
        // Broadcast again what the pool may not hold: never answered, dropped, or refused as
        // busy or ahead of a (now filled) gap.
        let needs_rebroadcast = match last.sent {
            Sent::NotYet => now.since(last.signed_at) >= policy.rebroadcast_after_ms,
            Sent::Sent { at, .. } => {
                r.nonce >= chain.pending && now.since(at) >= policy.rebroadcast_after_ms
            }
            Sent::Refused { class } => {
                matches!(class, SendErrorClass::Busy | SendErrorClass::NonceTooHigh)
                    && !blocked_by_gap
            }
        };
        if needs_rebroadcast && !blocked_by_gap {
            out.push(NonceAction::Rebroadcast {
                id: r.id,
                hash: last.hash,
            });
        }
    }
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
    pub fn from_json(text: &str) -> Result<Self, crate::from_json::Error> {
        crate::from_json::from_str(text)
    }
}
