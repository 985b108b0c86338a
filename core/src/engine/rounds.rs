//! Chain rounds: every `poll_ms` per chain, the head is read, then (pinned to it) the funding
//! key's transaction counts, the fee history and every balance; the answers are checked against
//! the round and the chain's verdict, and receipts and block hashes are matched to the nonce book.

use alloy_primitives::B256;

use crate::chain::ChainId;
use crate::fees;
use crate::nonce::{RecordState, TxId};
use crate::time::Timestamp;

use super::{Balances, Busy, Engine, Event, HEAD_CHECK, Receipt, Round, RpcAnswer, RpcCall};

impl Engine {
    pub(super) fn run_due_polls(&mut self, now: Timestamp) {
        // Every path out of `run_due` passes here: leave a valid entry on top of the agent heap
        // for `poll_timeout`.
        self.purge_agent_deadlines();
        if self.next_poll.is_none_or(|t| t > now) {
            return;
        }
        let polls: Vec<ChainId> = self
            .chains
            .iter()
            .filter(|(_, c)| c.next_poll <= now)
            .map(|(id, _)| *id)
            .collect();
        for chain in polls {
            self.start_round(chain, now);
        }
        self.refresh_next_poll();
    }

    /// Recomputes the earliest chain poll, after a change of any chain's `next_poll`.
    pub(super) fn refresh_next_poll(&mut self) {
        self.next_poll = self.chains.values().map(|c| c.next_poll).min();
    }

    pub(super) fn start_round(&mut self, chain: ChainId, now: Timestamp) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.next_poll = now.plus_ms(c.cfg.poll_ms);
        if c.busy.contains(&Busy::Round) {
            // The previous round is still waiting on an answer: do not pile up.
            return;
        }
        c.busy.insert(Busy::Round);
        c.round = Round {
            id: c.round.id + 1,
            ..Round::default()
        };
        let round = c.round.id;
        self.call(now, chain, RpcCall::Head, round);
    }

    #[allow(clippy::too_many_lines)]
    pub(super) fn answer(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        endpoint: usize,
        round: u64,
        call: RpcCall,
        answer: RpcAnswer,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let current_round = c.round.id == round;
        match (call, answer) {
            (
                RpcCall::Head,
                RpcAnswer::Head {
                    number, timestamp, ..
                },
            ) => self.on_head(now, chain, endpoint, round, number, timestamp),
            (
                RpcCall::TransactionCounts { .. },
                RpcAnswer::TransactionCounts { latest, pending },
            ) => {
                let head = c
                    .round
                    .head
                    .or(c.endpoints.best_head().map(|h| h.0))
                    .unwrap_or(0);
                let base_fee = c.market.map_or(0, |m| m.base_fee);
                let fell = c.book.observe_chain(crate::nonce::ChainView {
                    latest,
                    pending,
                    head,
                    base_fee,
                });
                let mut changed = Vec::new();
                if let Some(from) = fell {
                    // Confirmed records the reorg undid are back in flight: so are their
                    // transfers, for the planner and for a bump of the same payload.
                    let back: Vec<TxId> = c
                        .book
                        .records()
                        .filter(|r| !c.payloads.contains_key(&r.id))
                        .map(|r| r.id)
                        .collect();
                    for &id in &back {
                        if let Some(pos) = c.settled.iter().position(|(t, _)| *t == id) {
                            let (_, intent) = c.settled.remove(pos);
                            c.payloads.insert(
                                id,
                                super::Payload {
                                    intent,
                                    mined_block: None,
                                    confirmed: false,
                                    reverted: false,
                                },
                            );
                        }
                    }
                    // A wallet a later transfer funds again (planned from balances the reorg had
                    // already undone) gets that one only: the undone transfer is cancelled (its
                    // nonce carries a no-op), never sent twice. Too little is topped up by the
                    // next round; too much cannot be taken back.
                    let superseded: Vec<TxId> = back
                        .iter()
                        .filter(|&&id| {
                            let (Some(p), Some(r)) = (c.payloads.get(&id), c.book.record(id))
                            else {
                                return false;
                            };
                            // A Safe transaction is never cancelled: its Safe nonce is signed
                            // for it, and a cancel would leave that nonce to another batch.
                            p.intent.safe_nonce().is_none()
                                && c.payloads.iter().any(|(&other, q)| {
                                    other != id
                                        && q.intent.top_ups().any(|a| {
                                            p.intent
                                                .top_ups()
                                                .any(|b| (a.to, a.asset) == (b.to, b.asset))
                                        })
                                        && c.book.record(other).is_some_and(|o| o.nonce > r.nonce)
                                })
                        })
                        .copied()
                        .collect();
                    for id in superseded {
                        if c.book.request_cancel(id).is_ok() {
                            changed.push(id);
                        }
                    }
                    self.event(Event::DeepReorg {
                        chain,
                        confirmed: from,
                        now_count: latest,
                    });
                }
                for id in changed {
                    self.after_record_change(chain, id);
                }
                self.settle_finished(chain);
                self.run_nonce_plan(chain, now);
                if current_round && let Some(c) = self.chains.get_mut(&chain) {
                    c.round.counts = true;
                }
                self.maybe_fund(chain, now);
            }
            (RpcCall::FeeHistory { .. }, RpcAnswer::FeeHistory(history)) => {
                match fees::estimate(&history, &c.cfg.fees) {
                    Ok(e) => {
                        c.market = Some(e);
                        c.fee_hold = None;
                    }
                    Err(err) => c.fee_hold = Some(err),
                }
                if current_round {
                    c.round.fees = true;
                }
                self.maybe_fund(chain, now);
            }
            (
                RpcCall::Balances { entries, safe, .. },
                RpcAnswer::Balances {
                    block,
                    values,
                    safe_nonce,
                },
            ) => {
                if values.len() != entries.len() || (safe.is_some() && safe_nonce.is_none()) {
                    c.busy.remove(&Busy::Round);
                    let reason = format!(
                        "balances answer has {} values for {} entries{}",
                        values.len(),
                        entries.len(),
                        if safe.is_some() && safe_nonce.is_none() {
                            " and no Safe nonce"
                        } else {
                            ""
                        }
                    );
                    self.ignored(reason);
                    return;
                }
                if c.snapshot.as_ref().is_none_or(|(b, _)| block >= *b) {
                    c.snapshot = Some((block, Balances::from_read(entries, values)));
                    c.safe_nonce = safe_nonce;
                    // Confirmed transfers the snapshot shows are no longer in flight.
                    c.payloads
                        .retain(|_, p| !(p.confirmed && p.mined_block.is_some_and(|m| m <= block)));
                    if c.safe_step_done.is_some_and(|(_, mined)| mined <= block) {
                        c.safe_step_done = None;
                    }
                }
                if current_round {
                    c.round.balances = true;
                }
                self.maybe_fund(chain, now);
            }
            (RpcCall::SendRaw { hash }, RpcAnswer::Sent { .. }) => {
                c.busy.remove(&Busy::Send(hash));
                if let Err(e) = c.book.sent(hash, now) {
                    self.ignored(e.to_string());
                    return;
                }
                let tx = c.book.record_of(hash);
                if let Some(tx) = tx {
                    self.after_record_change(chain, tx);
                }
                // A round held for this answer plans now.
                self.maybe_fund(chain, now);
            }
            (RpcCall::Receipt { hash }, RpcAnswer::Receipt { receipt, .. }) => {
                self.receipt(now, chain, hash, receipt);
            }
            (RpcCall::BlockHash { number }, RpcAnswer::BlockHash { hash, .. }) => {
                c.busy.remove(&Busy::Block(number));
                if let Some(hash) = hash {
                    self.block(chain, number, hash);
                }
            }
            (call, answer) => {
                if matches!(
                    call,
                    RpcCall::Head
                        | RpcCall::TransactionCounts { .. }
                        | RpcCall::Balances { .. }
                        | RpcCall::FeeHistory { .. }
                ) {
                    c.busy.remove(&Busy::Round);
                }
                self.ignored(format!(
                    "answer {answer:?} does not fit call {}",
                    call.method()
                ));
            }
        }
    }

    pub(super) fn on_head(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        endpoint: usize,
        round: u64,
        number: u64,
        timestamp: u64,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.endpoints.observe_head(endpoint, number, timestamp);
        let verdict = c.endpoints.chain_verdict(now);
        let changed = std::mem::discriminant(&verdict) != std::mem::discriminant(&c.verdict);
        c.verdict = verdict;
        if changed {
            self.event(Event::Chain { chain, verdict });
        }
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if c.round.id != round {
            return;
        }
        if let Some(other) = c.endpoints.head_check(now, endpoint) {
            let id = self.next_id;
            self.next_id += 1;
            self.send(now, id, chain, other, RpcCall::Head, 1, HEAD_CHECK);
        }
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let head = c
            .endpoints
            .best_head()
            .map_or(number, |(n, _)| n)
            .max(number);
        c.round.head = Some(head);
        let funder = c.cfg.funder;
        let fee_call = RpcCall::FeeHistory {
            blocks: c.cfg.fees.history_blocks,
            percentile: c.cfg.fees.reward_percentile,
        };
        let entries = c.entries.clone();
        let safe = c.cfg.safe.map(|s| s.address);
        self.call(
            now,
            chain,
            RpcCall::TransactionCounts { address: funder },
            round,
        );
        self.call(now, chain, fee_call, round);
        self.call(
            now,
            chain,
            RpcCall::Balances {
                block: number,
                entries,
                safe,
            },
            round,
        );
    }

    pub(super) fn receipt(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        hash: B256,
        receipt: Option<Receipt>,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let Some(tx) = c.book.record_of(hash) else {
            return;
        };
        let Some((due, found)) = c.receipt_checks.get_mut(&tx) else {
            return;
        };
        *due = due.saturating_sub(1);
        if let Some(r) = receipt {
            *found = true;
            if c.book.mined(hash, r.block_number, r.block_hash).is_ok() {
                if let Some(p) = c.payloads.get_mut(&tx) {
                    p.mined_block = Some(r.block_number);
                    p.reverted = !r.success;
                }
                if let Some(p) = c.steps.get_mut(&tx) {
                    p.reverted = !r.success;
                }
            }
        }
        let (due, found) = *c.receipt_checks.get(&tx).unwrap_or(&(0, true));
        if due > 0 {
            return;
        }
        c.receipt_checks.remove(&tx);
        c.busy.remove(&Busy::Receipts(tx));
        if found {
            self.journal(chain, tx);
            self.run_nonce_plan(chain, now);
            return;
        }
        let policy = c.cfg.nonce;
        let _ = c.book.receipts_missing(tx, &policy);
        self.after_record_change(chain, tx);
    }

    pub(super) fn block(&mut self, chain: ChainId, number: u64, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let policy = c.cfg.nonce;
        let at_height: Vec<TxId> = c
            .book
            .records()
            .filter(|r| matches!(r.state, RecordState::Mined { block_number, .. } if block_number == number))
            .map(|r| r.id)
            .collect();
        c.book.block(number, hash, &policy);
        for id in at_height {
            let Some(c) = self.chains.get_mut(&chain) else {
                return;
            };
            if c.book.record(id).is_some() {
                // Reorged away: back in flight.
                if let Some(p) = c.payloads.get_mut(&id) {
                    p.mined_block = None;
                }
                self.journal(chain, id);
            }
        }
        self.settle_finished(chain);
    }
}
