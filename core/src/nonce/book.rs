//! The book's events: nonces reserved and released, attempts signed, sent, rejected, mined and
//! confirmed or reorged out, the chain's counts observed, cancels requested, finished records
//! drained.

use alloy_primitives::B256;

use crate::fees::{Fees, TxKind};
use crate::time::Timestamp;

use super::{
    Attempt, ChainView, DEEP_REORG_GRACE_BLOCKS, DEEP_REORG_OBSERVATIONS, KEPT_CONFIRMED, MAX_GAPS,
    NonceBook, NonceError, NoncePolicy, Purpose, RecordState, ReleaseReason, SendErrorClass, Sent,
    TxId, TxRecord, classify_send_error,
};

/// After a restart or a deep reorg: every attempt may be in a pool, and the last one of an
/// unsettled record is broadcast again at once (unless it was refused for its price: then it is
/// bumped).
fn mark_possibly_pooled(r: &mut TxRecord) {
    for a in &mut r.attempts {
        a.pooled = true;
    }
    if r.state == RecordState::InFlight
        && let Some(last) = r.attempts.last_mut()
        && !matches!(
            last.sent,
            Sent::Refused {
                class: SendErrorClass::ReplacementUnderpriced | SendErrorClass::FeeTooLow
            }
        )
    {
        last.sent = Sent::NotYet;
    }
}

impl NonceBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// A book restored from journal records (in any order), as after a crash. Records are
    /// re-indexed; final records raise the confirmed floor (the last [`super::KEPT_CONFIRMED`]
    /// confirmed ones are remembered for a deep reorg). Every attempt of a live record counts as
    /// possibly pooled (the previous process may have broadcast it and died before the answer),
    /// and the last attempt of each unsettled record is due for a broadcast at once.
    pub fn restore(records: impl IntoIterator<Item = TxRecord>) -> Self {
        let mut book = Self::new();
        for mut r in records {
            book.next_id = book.next_id.max(r.id.saturating_add(1));
            if let RecordState::Confirmed { .. } | RecordState::Lost = r.state {
                book.confirmed_floor = book.confirmed_floor.max(r.nonce.saturating_add(1));
            }
            if let RecordState::Confirmed { .. } = r.state {
                book.remember_confirmed(r);
                continue;
            }
            if r.state.holds_nonce() {
                book.holders.insert(r.nonce, r.id);
            }
            if !r.state.is_final() {
                mark_possibly_pooled(&mut r);
                book.records.insert(r.id, r);
            }
        }
        book
    }

    /// Keeps a confirmed record among the last [`KEPT_CONFIRMED`] (by nonce; no order kept).
    fn remember_confirmed(&mut self, r: TxRecord) {
        self.confirmed_tail.push(r);
        if self.confirmed_tail.len() > KEPT_CONFIRMED {
            let lowest = (0..self.confirmed_tail.len())
                .min_by_key(|&i| self.confirmed_tail[i].nonce)
                .unwrap_or(0);
            self.confirmed_tail.swap_remove(lowest);
        }
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

    /// The lowest nonce whose last attempt may sit in a pool but has no answer in this process
    /// yet: restored from the journal and not yet broadcast again, or a broadcast whose answer
    /// was lost. A funder plans no new transfer while there is one, so a lost transaction is
    /// re-sent (or replaced) before later nonces queue behind it.
    pub fn awaiting_answer(&self) -> Option<u64> {
        // Below the chain's count the nonce is used: receipt checks settle it, not a broadcast.
        let latest = self.chain.map_or(0, |c| c.latest);
        self.holders.range(latest..).find_map(|(&nonce, id)| {
            let r = self.records.get(id)?;
            let last = r.attempts.last()?;
            (r.state == RecordState::InFlight && last.pooled && last.sent == Sent::NotYet)
                .then_some(nonce)
        })
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
                    self.resurrect(view.latest);
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

    /// After a reorg deeper than the confirmation depth: the remembered confirmed records at or
    /// above the chain's count go back in flight with their attempts (broadcast again at once),
    /// so their nonces stay bound to their own payloads.
    fn resurrect(&mut self, latest: u64) {
        let tail = std::mem::take(&mut self.confirmed_tail);
        for mut r in tail {
            if r.nonce < latest || self.holders.contains_key(&r.nonce) {
                self.confirmed_tail.push(r);
                continue;
            }
            r.state = RecordState::InFlight;
            mark_possibly_pooled(&mut r);
            self.holders.insert(r.nonce, r.id);
            self.records.insert(r.id, r);
        }
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
            pooled: false,
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
        r.attempts[i].pooled = true;
        Ok(())
    }

    /// A broadcast of the attempt got no answer (timeout, dropped connection): the node may have
    /// taken it, so it counts as possibly pooled from now on, whatever a retry hears.
    pub fn answer_lost(&mut self, hash: B256) -> Result<(), NonceError> {
        let (r, i) = self.attempt_mut(hash)?;
        r.attempts[i].pooled = true;
        Ok(())
    }

    /// A node answered the broadcast with an error. Returns its class.
    ///
    /// `AlreadyKnown` counts as sent; `Unknown` leaves the attempt maybe-sent; a class that proves
    /// the attempt entered no pool marks it refused, and when no attempt of the record may be in a
    /// pool, the nonce is released. A refusal of an attempt that may already be pooled (a
    /// rebroadcast) is recorded, but it never releases the nonce: a price refusal is answered with
    /// a bump of the same payload. `NonceTooLow` keeps the nonce (the chain used it) and the
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
                r.attempts[i].pooled = true;
            }
            SendErrorClass::NonceTooLow
            | SendErrorClass::ReplacementUnderpriced
            | SendErrorClass::NonceTooHigh
            | SendErrorClass::FeeTooLow
            | SendErrorClass::InsufficientFunds
            | SendErrorClass::Busy
            | SendErrorClass::Rejected => {
                let a = &mut r.attempts[i];
                a.pooled |= matches!(a.sent, Sent::Sent { .. });
                if !matches!(a.sent, Sent::Sent { .. }) || class.proves_not_in_pool() {
                    a.sent = Sent::Refused { class };
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
                let kept = r.clone();
                self.remember_confirmed(kept);
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
}
