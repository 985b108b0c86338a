//! Funding: when a round has counts, fees and balances, the funding planner runs on the
//! balance snapshot with the transfers in flight counted as done; each planned transfer gets a
//! nonce from the book and is sent, or funding is held with the reason.

use crate::map::{Map, Set};

use alloy_primitives::{Address, U256};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::chain_amounts::AssetAmounts;
use crate::fees::Fees;
use crate::funding::plan::{
    self as planner, GasParams, GasPayer, PlanInput, Source, Transfer, Wallet,
};
use crate::nonce::Purpose;
use crate::rpc::ChainVerdict;
use crate::time::Timestamp;

use super::{
    Balances, Busy, Engine, Event, HoldReason, Payload, SafeSource, TopUp, TransferIntent, TxBody,
};

impl Engine {
    pub(super) fn maybe_fund(&mut self, chain: ChainId, now: Timestamp) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let r = c.round;
        if r.planned || !(r.counts && r.fees && r.balances) {
            return;
        }
        if let Some(nonce) = c.book.awaiting_answer() {
            // The round's reads are done, but it stays unplanned: the broadcast's answer runs
            // this again, so a lost transaction goes back to the pool before any later nonce
            // queues behind it. The next round starts on time whatever happens to the answer.
            c.busy.remove(&Busy::Round);
            self.hold(
                chain,
                HoldReason::Nonce {
                    message: format!(
                        "waiting for a node's answer to the broadcast of nonce {nonce} (it may \
                         already be in a pool; it goes out again before any new transfer)"
                    ),
                },
            );
            return;
        }
        c.round.planned = true;
        c.busy.remove(&Busy::Round);
        if let ChainVerdict::Stale { .. } = c.endpoints.chain_verdict(now) {
            self.hold(chain, HoldReason::StaleChain);
            return;
        }
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if let Some(error) = c.fee_hold.clone() {
            self.hold(chain, HoldReason::Fees { error });
            return;
        }
        let Some(market) = c.market else {
            return;
        };
        // Lend the snapshot to the planner's input without copying it.
        let Some(snapshot) = c.snapshot.take() else {
            return;
        };
        let input = self.plan_input(chain, market.fees, &snapshot.1);
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.snapshot = Some(snapshot);
        let Some(input) = input else {
            // No wallet below `low`: the plan is empty (no transfer, no shortfall).
            c.last_hold = None;
            c.last_shortfalls.clear();
            return;
        };
        let Ok(plan) = planner::plan(&input) else {
            self.ignored(format!("funding plan input for chain {chain} is invalid"));
            return;
        };
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.last_hold = None;
        // Inserted one by one: `collect` would sort first, a sort's code for one more type.
        let mut shortfalls: Set<(Address, Asset, U256)> = Set::new();
        for s in &plan.shortfalls {
            shortfalls.insert((s.holder, s.asset, s.missing));
        }
        let new: Vec<_> = plan
            .shortfalls
            .iter()
            .filter(|s| !c.last_shortfalls.contains(&(s.holder, s.asset, s.missing)))
            .cloned()
            .collect();
        c.last_shortfalls = shortfalls;
        let safe = c.cfg.safe;
        for s in new {
            self.event(Event::Shortfall {
                chain,
                holder: s.holder,
                asset: s.asset,
                missing: s.missing,
                message: s.message,
            });
        }
        if let Some(safe) = safe {
            self.send_safe_batch(chain, now, safe, &plan.transfers, market.fees);
            return;
        }
        for t in plan.transfers {
            if !self.send_transfer(chain, now, &t, market.fees) {
                break;
            }
        }
    }

    /// Sends every planned top-up of the round in one Safe transaction at the Safe's next nonce,
    /// or holds the round: one Safe transaction at a time (a Safe nonce is signed for one
    /// transaction only, and the next is planned once the chain shows the last one consumed).
    fn send_safe_batch(
        &mut self,
        chain: ChainId,
        now: Timestamp,
        safe: SafeSource,
        transfers: &[Transfer],
        fees: Fees,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        // Top-ups of a batch that failed as a whole go alone, after the others.
        let (clear, suspect): (Vec<&Transfer>, Vec<&Transfer>) = transfers
            .iter()
            .partition(|t| !c.suspect.contains(&(t.to, t.asset)));
        let chosen: Vec<Transfer> = if clear.is_empty() {
            suspect.into_iter().take(1).cloned().collect()
        } else {
            clear.into_iter().cloned().collect()
        };
        let transfers = chosen.as_slice();
        let [first, rest @ ..] = transfers else {
            return;
        };
        let Some(safe_nonce) = c.safe_nonce else {
            self.hold(
                chain,
                HoldReason::Safe {
                    message: format!("the Safe {}'s nonce is not read yet", safe.address),
                },
            );
            return;
        };
        if let Some(ahead) = c.safe_ahead(safe_nonce) {
            self.hold(
                chain,
                HoldReason::Safe {
                    message: format!(
                        "Safe transaction at Safe nonce {ahead} is not yet seen on chain (the \
                         Safe reads nonce {safe_nonce}); the next top-ups follow it"
                    ),
                },
            );
            return;
        }
        let top_up = |t: &Transfer| TopUp {
            to: t.to,
            asset: t.asset,
            amount: t.amount,
            gas_reserved: t.gas_reserved,
        };
        let more: Vec<TopUp> = rest.iter().map(top_up).collect();
        let assets = transfers.iter().map(|t| t.asset);
        let gas_limit = safe.gas_limit(assets.clone());
        let body = TxBody::Safe {
            safe: safe.address,
            nonce: safe_nonce,
            multisend: safe.multisend,
            safe_tx_gas: safe.safe_tx_gas(assets),
        };
        let policy = c.cfg.nonce;
        let (tx, nonce) = match c.book.reserve(Purpose::Payload, now, &policy) {
            Ok(r) => r,
            Err(error) => {
                self.hold(
                    chain,
                    HoldReason::Nonce {
                        message: error.to_string(),
                    },
                );
                return;
            }
        };
        // A suspect going out alone is judged by its own receipt.
        c.suspect.remove(&(first.to, first.asset));
        let intent = TransferIntent {
            to: first.to,
            asset: first.asset,
            amount: first.amount,
            gas_reserved: first.gas_reserved,
            body,
            gas_limit,
            more,
        };
        let top_ups: Vec<TopUp> = intent.top_ups().collect();
        self.start_payload(chain, tx, nonce, intent, top_ups, fees);
    }

    /// A reserved record's payload: kept in flight, each top-up an event, journaled, then
    /// signed (a Safe transaction signs with its top-ups).
    #[allow(clippy::too_many_arguments)]
    fn start_payload(
        &mut self,
        chain: ChainId,
        tx: crate::nonce::TxId,
        nonce: u64,
        intent: TransferIntent,
        sign_top_ups: Vec<TopUp>,
        fees: Fees,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let (body, gas_limit) = (intent.body, intent.gas_limit);
        let planned: Vec<TopUp> = intent.top_ups().collect();
        c.payloads.insert(
            tx,
            Payload {
                intent,
                mined_block: None,
                confirmed: false,
                reverted: false,
            },
        );
        for t in planned {
            self.event(Event::TransferPlanned {
                chain,
                tx,
                nonce,
                to: t.to,
                asset: t.asset,
                amount: t.amount,
            });
        }
        self.journal(chain, tx);
        self.sign(chain, tx, nonce, body, gas_limit, sign_top_ups, fees, false);
    }

    pub(super) fn hold(&mut self, chain: ChainId, reason: HoldReason) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if c.last_hold.as_ref() != Some(&reason) {
            c.last_hold = Some(reason.clone());
            self.event(Event::FundingHeld { chain, reason });
        }
    }

    /// The planner's input for `chain`, or `None` when no wallet is below `low` (the most
    /// common round: the plan would be empty).
    pub(super) fn plan_input(
        &self,
        chain: ChainId,
        fees: Fees,
        snapshot: &Balances,
    ) -> Option<PlanInput> {
        let c = self.chains.get(&chain)?;
        let amounts = |holder: Address| {
            let mut a = AssetAmounts::default();
            for (asset, v) in snapshot.of(holder) {
                a.add(asset, v);
            }
            a
        };
        // Only wallets below `low` (counting what is on its way) can get a transfer, so only they
        // go to the planner: the plan is the same, and a fleet of healthy wallets costs nothing.
        let mut on_way: Map<(Address, Asset), U256> = Map::new();
        for t in c.payloads.values().flat_map(|p| p.intent.top_ups()) {
            let e = on_way.entry((t.to, t.asset)).or_default();
            *e = e.saturating_add(t.amount);
        }
        let mut wallets: Map<Address, Wallet> = Map::new();
        for ((service, w), &read) in self.wallets.iter().zip(&self.wallet_reads) {
            if w.chain != chain {
                continue;
            }
            let held = snapshot
                .get_at(read, &(w.address, w.asset))
                .unwrap_or_default();
            let coming = on_way
                .get(&(w.address, w.asset))
                .copied()
                .unwrap_or_default();
            // A wallet whose top-up reverted waits for an operator (the event says why).
            if held.saturating_add(coming) >= w.low || c.reverted.contains(&(w.address, w.asset)) {
                continue;
            }
            let entry = wallets.entry(w.address).or_insert_with(|| Wallet {
                chain,
                address: w.address,
                name: Some(service.clone()),
                priority: w.priority,
                balances: amounts(w.address),
                policy: Map::new(),
            });
            entry.priority = entry.priority.min(w.priority);
            entry.policy.insert(w.asset, w.policy());
        }
        if wallets.is_empty() {
            return None;
        }
        // From a Safe, the funding key pays the gas (reserved from its native coin).
        let source = c.cfg.source();
        let (native_gas, erc20_gas) = c.cfg.planned_gas();
        let in_flight = c
            .payloads
            .values()
            .flat_map(|p| p.intent.top_ups())
            .map(|t| Transfer {
                chain,
                from: source,
                to: t.to,
                asset: t.asset,
                amount: t.amount,
                gas_reserved: t.gas_reserved,
                reason: None,
            })
            .collect();
        let gas_payer = c.cfg.safe.map(|_| GasPayer {
            address: c.cfg.funder,
            native: snapshot
                .get(&(c.cfg.funder, Asset::NATIVE))
                .unwrap_or_default(),
        });
        Some(PlanInput {
            chains: Map::from([(
                chain,
                GasParams {
                    max_fee_per_gas: U256::from(fees.max_fee_per_gas)
                        .saturating_mul(U256::from(c.cfg.fees.gas_reserve_bps))
                        / U256::from(10_000u32),
                    native_transfer_gas: U256::from(native_gas),
                    erc20_transfer_gas: U256::from(erc20_gas),
                    l1_fee: U256::ZERO,
                },
            )]),
            sources: vec![Source {
                chain,
                address: source,
                name: Some(
                    if c.cfg.safe.is_some() {
                        "safe"
                    } else {
                        "funder"
                    }
                    .into(),
                ),
                balances: amounts(source),
                gas_payer,
            }],
            wallets: wallets.into_values().collect(),
            in_flight,
        })
    }

    /// Reserves a nonce for a planned transfer and asks for its signature. False when the nonce
    /// book refuses (the rest of the plan waits for the next round).
    pub(super) fn send_transfer(
        &mut self,
        chain: ChainId,
        now: Timestamp,
        t: &Transfer,
        fees: Fees,
    ) -> bool {
        let Some(c) = self.chains.get_mut(&chain) else {
            return false;
        };
        let (body, gas_limit) = if t.asset.is_native() {
            (
                TxBody::Native {
                    to: t.to,
                    value: t.amount,
                },
                c.cfg.native_transfer_gas,
            )
        } else {
            (
                TxBody::Erc20 {
                    token: t.asset.0,
                    to: t.to,
                    amount: t.amount,
                },
                c.cfg.erc20_transfer_gas,
            )
        };
        let policy = c.cfg.nonce;
        match c.book.reserve(Purpose::Payload, now, &policy) {
            Ok((tx, nonce)) => {
                let intent = TransferIntent {
                    to: t.to,
                    asset: t.asset,
                    amount: t.amount,
                    gas_reserved: t.gas_reserved,
                    body,
                    gas_limit,
                    more: Vec::new(),
                };
                self.start_payload(chain, tx, nonce, intent, Vec::new(), fees);
                true
            }
            Err(error) => {
                self.hold(
                    chain,
                    HoldReason::Nonce {
                        message: error.to_string(),
                    },
                );
                false
            }
        }
    }
}
