//! Sending and nonces: a transaction is signed (by the adapter), journaled, then broadcast; the
//! nonce book's plan (receipts, confirmations, replacements, gap fills, rebroadcasts) is run
//! after each count, and finished records are settled.

use alloy_primitives::{B256, U256};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::fees::{Fees, TxKind};
use crate::nonce::{NonceAction, RecordState, TxId};
use crate::time::Timestamp;

use super::{Busy, Engine, Event, HoldReason, JournalEntry, Output, RpcCall, TxBody, TxRequest};

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sign(
        &mut self,
        chain: ChainId,
        tx: TxId,
        nonce: u64,
        body: TxBody,
        gas_limit: u64,
        fees: Fees,
        cancel: bool,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if !c.busy.insert(Busy::Sign(tx)) {
            return;
        }
        c.signing.insert(tx, (fees, cancel));
        let from = c.cfg.funder;
        self.out.push_back(Output::Sign {
            chain,
            tx,
            request: Box::new(TxRequest {
                from,
                nonce,
                body,
                gas_limit,
                fees,
            }),
        });
    }

    pub(super) fn journal(&mut self, chain: ChainId, tx: TxId) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        if let Some(record) = c.book.record(tx).cloned() {
            let transfer = c.payloads.get(&tx).map(|p| p.intent);
            self.out.push_back(Output::Journal(Box::new(JournalEntry {
                chain,
                record,
                transfer,
            })));
        }
    }

    /// Journals and settles the records the book finished: a confirmed transfer stays in flight
    /// for the planner until a balance snapshot shows it; a released or lost one is gone.
    pub(super) fn settle_finished(&mut self, chain: ChainId) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if !c.book.has_finished() {
            return;
        }
        let finished = c.book.drain_finished();
        for record in finished {
            let Some(c) = self.chains.get_mut(&chain) else {
                return;
            };
            let transfer = c.payloads.get(&record.id).map(|p| p.intent);
            let event = match record.state {
                RecordState::Confirmed {
                    hash,
                    block_number,
                    cancelled,
                } => {
                    match c.payloads.get_mut(&record.id) {
                        Some(p) if !cancelled => {
                            p.confirmed = true;
                            p.mined_block = Some(block_number);
                            if c.settled.len() >= crate::nonce::KEPT_CONFIRMED {
                                c.settled.remove(0);
                            }
                            c.settled.push((record.id, p.intent));
                        }
                        Some(_) | None => {
                            c.payloads.remove(&record.id);
                        }
                    }
                    Some(Event::TxConfirmed {
                        chain,
                        tx: record.id,
                        nonce: record.nonce,
                        hash,
                        cancelled,
                    })
                }
                RecordState::Lost => {
                    c.payloads.remove(&record.id);
                    Some(Event::NonceLost {
                        chain,
                        tx: record.id,
                        nonce: record.nonce,
                    })
                }
                RecordState::Released { .. }
                | RecordState::Reserved
                | RecordState::InFlight
                | RecordState::Mined { .. } => {
                    c.payloads.remove(&record.id);
                    None
                }
            };
            self.out.push_back(Output::Journal(Box::new(JournalEntry {
                chain,
                record,
                transfer,
            })));
            if let Some(e) = event {
                self.event(e);
            }
        }
    }

    pub(super) fn signed(&mut self, now: Timestamp, chain: ChainId, tx: TxId, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            self.ignored(format!("no chain {chain}"));
            return;
        };
        c.busy.remove(&Busy::Sign(tx));
        let Some((fees, cancel)) = c.signing.remove(&tx) else {
            self.ignored(format!("signature for record {tx} that was not asked for"));
            return;
        };
        if let Err(e) = c.book.signed(tx, hash, fees, TxKind::Standard, cancel, now) {
            self.ignored(e.to_string());
            return;
        }
        // Write-ahead: the journal entry goes out before the broadcast.
        self.journal(chain, tx);
        self.broadcast(now, chain, hash);
    }

    pub(super) fn broadcast(&mut self, now: Timestamp, chain: ChainId, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if !c.busy.insert(Busy::Send(hash)) {
            return;
        }
        let round = c.round.id;
        self.call(now, chain, RpcCall::SendRaw { hash }, round);
    }

    pub(super) fn sign_failed(&mut self, chain: ChainId, tx: TxId, error: &str) {
        let Some(c) = self.chains.get_mut(&chain) else {
            self.ignored(format!("no chain {chain}"));
            return;
        };
        c.busy.remove(&Busy::Sign(tx));
        c.signing.remove(&tx);
        let unsigned = c
            .book
            .record(tx)
            .is_some_and(|r| r.state == RecordState::Reserved);
        if unsigned {
            let _ = c.book.release(tx);
            self.settle_finished(chain);
        }
        self.ignored(format!(
            "signing record {tx} on chain {chain} failed: {error}"
        ));
    }

    /// After a record changed: journal it (if live) and settle whatever finished.
    pub(super) fn after_record_change(&mut self, chain: ChainId, tx: TxId) {
        self.journal(chain, tx);
        self.settle_finished(chain);
    }

    pub(super) fn run_nonce_plan(&mut self, chain: ChainId, now: Timestamp) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        let policy = c.cfg.nonce;
        let market = c.market.map(|m| m.fees);
        let actions = c.book.plan(now, market, &policy);
        for a in actions {
            match a {
                NonceAction::FillGap { nonce } => {
                    let Some(fees) = market else { continue };
                    let Some(c) = self.chains.get_mut(&chain) else {
                        return;
                    };
                    if let Ok((tx, n)) = c.book.reserve_gap(nonce, now, &policy) {
                        self.journal(chain, tx);
                        self.sign(chain, tx, n, TxBody::Noop, 21_000, fees, false);
                    }
                }
                NonceAction::Replace {
                    id,
                    nonce,
                    fees,
                    cancel,
                } => {
                    let Some(c) = self.chains.get(&chain) else {
                        return;
                    };
                    if c.busy.contains(&Busy::Sign(id)) {
                        continue;
                    }
                    let (body, gas_limit) = match c.payloads.get(&id) {
                        Some(p) if !cancel => (p.intent.body, p.intent.gas_limit),
                        Some(_) | None => (TxBody::Noop, 21_000),
                    };
                    // A node refuses a transaction whose worst cost exceeds the sender's balance:
                    // hold rather than send one that cannot be paid.
                    let value = match body {
                        TxBody::Native { value, .. } => value,
                        TxBody::Erc20 { .. } | TxBody::Noop => U256::ZERO,
                    };
                    let needed = value.saturating_add(
                        U256::from(gas_limit).saturating_mul(U256::from(fees.max_fee_per_gas)),
                    );
                    let available = c
                        .snapshot
                        .as_ref()
                        .and_then(|(_, m)| m.get(&(c.cfg.funder, Asset::NATIVE)));
                    if let Some(available) = available
                        && needed > available
                    {
                        self.hold(chain, HoldReason::Unaffordable { needed, available });
                        continue;
                    }
                    self.event(Event::TxReplaced {
                        chain,
                        tx: id,
                        nonce,
                        fees,
                    });
                    self.sign(chain, id, nonce, body, gas_limit, fees, cancel);
                }
                NonceAction::Rebroadcast { hash, .. } => self.broadcast(now, chain, hash),
                NonceAction::CheckReceipts { id, hashes } => {
                    let Some(c) = self.chains.get_mut(&chain) else {
                        return;
                    };
                    if !c.busy.insert(Busy::Receipts(id)) {
                        continue;
                    }
                    c.receipt_checks.insert(id, (hashes.len(), false));
                    let round = c.round.id;
                    for hash in hashes {
                        self.call(now, chain, RpcCall::Receipt { hash }, round);
                    }
                }
                NonceAction::CheckBlock { number } => {
                    let Some(c) = self.chains.get_mut(&chain) else {
                        return;
                    };
                    if !c.busy.insert(Busy::Block(number)) {
                        continue;
                    }
                    let round = c.round.id;
                    self.call(now, chain, RpcCall::BlockHash { number }, round);
                }
                NonceAction::HeldAtCap { error, .. } => {
                    self.hold(chain, HoldReason::Fees { error });
                }
            }
        }
    }
}
