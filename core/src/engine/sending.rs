//! Sending and nonces: a transaction is signed (by the adapter), journaled, then broadcast; the
//! nonce book's plan (receipts, confirmations, replacements, gap fills, rebroadcasts) is run
//! after each count, and finished records are settled.

use alloy_primitives::{B256, U256};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::fees::{Fees, TxKind};
use crate::nonce::{NonceAction, RecordState, TxId};
use crate::time::Timestamp;

use super::{
    Busy, Engine, Event, HoldReason, JournalEntry, Output, RpcCall, TopUp, TransferIntent, TxBody,
    TxRequest,
};

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sign(
        &mut self,
        chain: ChainId,
        tx: TxId,
        nonce: u64,
        body: TxBody,
        gas_limit: u64,
        top_ups: Vec<TopUp>,
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
        let calls = match (body, c.steps.get(&tx)) {
            (TxBody::Call { .. } | TxBody::Safe { .. }, Some(p)) => {
                p.intent.calls().cloned().collect()
            }
            _ => Vec::new(),
        };
        self.out.push_back(Output::Sign {
            chain,
            tx,
            request: Box::new(TxRequest {
                from,
                nonce,
                body,
                gas_limit,
                fees,
                top_ups,
                calls,
            }),
        });
    }

    pub(super) fn journal(&mut self, chain: ChainId, tx: TxId) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        if let Some(record) = c.book.record(tx).cloned() {
            let transfer = c.payloads.get(&tx).map(|p| p.intent.clone());
            let call = c.steps.get(&tx).map(|p| p.intent.clone());
            self.out.push_back(Output::Journal(Box::new(JournalEntry {
                chain,
                record,
                transfer,
                call,
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
            if let Some(call) = c.steps.get(&record.id).map(|p| p.intent.clone()) {
                // A step's record: its own event (the transfer events' words are not its).
                let (id, state) = (record.id, record.state);
                self.out.push_back(Output::Journal(Box::new(JournalEntry {
                    chain,
                    record,
                    transfer: None,
                    call: Some(call),
                })));
                self.settle_step(chain, id, &state);
                continue;
            }
            let transfer = c.payloads.get(&record.id).map(|p| p.intent.clone());
            let event = match record.state {
                RecordState::Confirmed {
                    hash,
                    block_number,
                    cancelled,
                } => {
                    match c.payloads.get_mut(&record.id) {
                        Some(p) if !cancelled && p.reverted => {
                            // Nothing arrived: not in flight, and never sent again blindly.
                            let intent = p.intent.clone();
                            c.payloads.remove(&record.id);
                            self.reverted(chain, record.id, &intent, hash);
                        }
                        Some(p) if !cancelled => {
                            p.confirmed = true;
                            p.mined_block = Some(block_number);
                            if c.settled.len() >= crate::nonce::KEPT_CONFIRMED {
                                c.settled.remove(0);
                            }
                            c.settled.push((record.id, p.intent.clone()));
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
                call: None,
            })));
            if let Some(e) = event {
                self.event(e);
            }
        }
    }

    /// A mined transfer reverted: its wallets wait for an operator, with the events that say so.
    fn reverted(&mut self, chain: ChainId, tx: TxId, intent: &TransferIntent, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        // A batch of several failed as a whole: which top-up failed is unknown, so each goes
        // out again alone. A top-up that fails alone is held for an operator.
        let batch = !intent.more.is_empty();
        for t in intent.top_ups() {
            if batch {
                c.suspect.insert((t.to, t.asset));
            } else {
                c.reverted.insert((t.to, t.asset));
            }
        }
        if let TxBody::Safe {
            safe,
            nonce: safe_nonce,
            ..
        } = intent.body
        {
            let then = if batch {
                format!(
                    "its {} top-ups go out again one per Safe transaction, so the one that fails \
                     is found and held",
                    intent.more.len() + 1
                )
            } else {
                "its wallet waits for an operator".to_owned()
            };
            self.event(Event::SafeTxReverted {
                chain,
                tx,
                safe,
                safe_nonce,
                hash,
                message: format!(
                    "execTransaction of Safe {safe} at Safe nonce {safe_nonce} failed: a top-up \
                     failed (the Safe lacks the coin or token, or a wallet contract refused it; \
                     the Safe nonce is used, the transaction never runs again), or the Safe's \
                     nonce had moved on (another transaction used it) or an owner signature does \
                     not meet its owners and threshold (the transaction reverted); {then}"
                ),
            });
        }
        for t in intent.top_ups() {
            self.event(Event::TransferReverted {
                chain,
                tx,
                to: t.to,
                asset: t.asset,
                hash,
            });
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
                        self.sign(chain, tx, n, TxBody::Noop, 21_000, Vec::new(), fees, false);
                    }
                }
                NonceAction::Replace {
                    id,
                    nonce,
                    fees,
                    cancel,
                } => self.replace(chain, id, nonce, fees, cancel),
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
    /// Signs a replacement of record `id` at `nonce` with `fees`: the same payload (a Safe
    /// transaction with its top-ups), or a cancel; held when the funding key cannot pay it.
    fn replace(&mut self, chain: ChainId, id: TxId, nonce: u64, fees: Fees, cancel: bool) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        if c.busy.contains(&Busy::Sign(id)) {
            return;
        }
        let step = c.steps.get(&id).filter(|_| !cancel);
        let (mut body, mut gas_limit, mut top_ups) = match (step, c.payloads.get(&id)) {
            (Some(s), _) => (s.intent.body(), s.intent.gas_limit(), Vec::new()),
            (None, Some(p)) if !cancel => (
                p.intent.body,
                p.intent.gas_limit,
                if p.intent.safe_nonce().is_some() {
                    p.intent.top_ups().collect()
                } else {
                    Vec::new()
                },
            ),
            (None, _) => (TxBody::Noop, 21_000, Vec::new()),
        };
        let safe = !top_ups.is_empty() || step.is_some_and(|s| s.intent.safe.is_some());
        // A node refuses a transaction whose worst cost exceeds the sender's balance:
        // hold rather than send one that cannot be paid. Our transactions below this
        // nonce are paid first (a bump that fits alone is refused once they are
        // mined).
        let ahead = worst_cost_below(c, nonce);
        let gas_cost = |gas: u64| U256::from(gas).saturating_mul(U256::from(fees.max_fee_per_gas));
        let needed = body_value(body)
            .saturating_add(gas_cost(gas_limit))
            .saturating_add(ahead);
        let available = c
            .snapshot
            .as_ref()
            .and_then(|(_, m)| m.get(&(c.cfg.funder, Asset::NATIVE)));
        let mut cancel = cancel;
        if let Some(available) = available
            && needed > available
        {
            let cancel_needed = gas_cost(21_000).saturating_add(ahead);
            // A Safe transaction is never cancelled (its Safe nonce is signed for
            // it): it waits for the funding key's coin.
            if cancel || safe || cancel_needed > available {
                self.hold(chain, HoldReason::Unaffordable { needed, available });
                return;
            }
            // The payload's bump cannot be paid, so it cannot be mined either (it
            // sits below the base fee): cancel it (the nonce carries a no-op; the
            // wallet is planned again once the cancel settles), never leave the
            // nonce stuck in flight.
            let Some(c) = self.chains.get_mut(&chain) else {
                return;
            };
            if c.book.request_cancel(id).is_err() {
                return;
            }
            self.hold(chain, HoldReason::Unaffordable { needed, available });
            self.after_record_change(chain, id);
            (body, gas_limit, cancel) = (TxBody::Noop, 21_000, true);
            top_ups = Vec::new();
        }
        self.event(Event::TxReplaced {
            chain,
            tx: id,
            nonce,
            fees,
        });
        self.sign(chain, id, nonce, body, gas_limit, top_ups, fees, cancel);
    }
}

/// The value a transaction body moves in native currency.
fn body_value(body: TxBody) -> U256 {
    match body {
        TxBody::Native { value, .. } | TxBody::Call { value, .. } => value,
        TxBody::Erc20 { .. } | TxBody::Noop | TxBody::Safe { .. } => U256::ZERO,
    }
}

/// The worst cost (value + gas limit × highest max fee of any attempt) of our in-flight
/// transactions from the chain's count up to `nonce`: they are paid before `nonce` is.
fn worst_cost_below(c: &super::ChainState, nonce: u64) -> U256 {
    let floor = c.book.chain().map_or(0, |v| v.latest);
    c.book
        .records()
        .filter(|r| r.state == RecordState::InFlight && (floor..nonce).contains(&r.nonce))
        .map(|r| {
            let (value, gas) = c
                .payloads
                .get(&r.id)
                .map(|p| (p.intent.body, p.intent.gas_limit))
                .or_else(|| {
                    c.steps
                        .get(&r.id)
                        .map(|p| (p.intent.body(), p.intent.gas_limit()))
                })
                .map_or((U256::ZERO, 21_000), |(body, gas)| (body_value(body), gas));
            let fee = r.highest_fees().map_or(0, |f| f.max_fee_per_gas);
            value.saturating_add(U256::from(gas).saturating_mul(U256::from(fee)))
        })
        .fold(U256::ZERO, U256::saturating_add)
}
