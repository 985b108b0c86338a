//! The invariants a run checks as it goes (the first violation is kept): no nonce signed twice
//! once one may have reached a node, no shortfall funded twice, the funder never sends what it
//! does not hold, every crash and hang detected, restarts within the flap limit.

use alloy_primitives::{Address, U256};

use crate::engine::{Event, TxBody};
use crate::health::Status;
use crate::nonce::TxId;

use super::{SIM_CHAIN, ServiceSummary, SimReport, TimelineEvent, World, funder, index};

impl World {
    pub(super) fn violation(&mut self, v: &str) {
        if self.report.violations.len() < 100 {
            self.report
                .violations
                .push(format!("t = {}: {v}", self.now));
        }
    }

    pub(super) fn observe(&mut self, e: Event) {
        let now = self.now;
        match e {
            Event::TransferPlanned { to, amount, .. } => {
                let Some(i) = self.agents.iter().position(|a| a.wallet == to) else {
                    self.violation(&format!("transfer to unknown wallet {to}"));
                    return;
                };
                // No shortfall funded twice: what the wallet holds, plus what of ours is on its
                // way, plus this transfer, stays within the target.
                let on_way = self.pending_to(to);
                let total = self
                    .chain
                    .balance(to)
                    .saturating_add(on_way)
                    .saturating_add(amount);
                if total > self.cfg.target {
                    self.violation(&format!(
                        "transfer of {amount} to agent-{i} would bring it to {total}, above the target {} (balance {}, on its way {on_way})",
                        self.cfg.target,
                        self.chain.balance(to)
                    ));
                }
                self.funded[i].0 += 1;
                self.funded[i].1 = self.funded[i].1.saturating_add(amount);
                self.report.events.push(TimelineEvent::Transfer {
                    t: now,
                    service: index(i),
                    amount,
                });
            }
            Event::Health {
                service, status, ..
            } => {
                if let Some(&i) = self.lookup(&service) {
                    self.last_status[i] = status;
                    self.report.events.push(TimelineEvent::Health {
                        t: now,
                        service: index(i),
                        status,
                    });
                }
            }
            Event::TxReplaced { .. } => self.report.summary.replacements += 1,
            Event::DeepReorg {
                confirmed,
                now_count,
                ..
            } => {
                // The engine gave these nonces up on purpose: a new transaction may take them.
                for n in now_count..confirmed {
                    self.nonce_owner.remove(&n);
                }
                self.report.summary.deep_reorgs += 1;
            }
            Event::Alert { .. }
            | Event::TxConfirmed { .. }
            | Event::SendRejected { .. }
            | Event::TransferReverted { .. }
            | Event::SafeTxReverted { .. }
            | Event::FundingHeld { .. }
            | Event::Shortfall { .. }
            | Event::NonceLost { .. }
            | Event::Chain { .. }
            | Event::RpcFailed { .. }
            | Event::StepTxPlanned { .. }
            | Event::StepTxConfirmed { .. }
            | Event::StepTxDropped { .. }
            | Event::Ignored { .. } => {}
        }
    }

    /// Amounts of our signed native transfers to `to` whose nonce the chain has not used yet.
    pub(super) fn pending_to(&self, to: Address) -> U256 {
        let Some(book) = self.engine.nonce_book(SIM_CHAIN) else {
            return U256::ZERO;
        };
        let (latest, _) = self.chain.counts(funder());
        book.records()
            .filter(|r| r.nonce >= latest)
            .filter_map(|r| {
                r.attempts
                    .iter()
                    .rev()
                    .find(|a| !a.cancel)
                    .and_then(|a| self.chain.known(a.hash))
                    .and_then(|t| match t.req.body {
                        TxBody::Native { to: dest, value } if dest == to => Some(value),
                        TxBody::Safe { .. } => Some(
                            t.req
                                .top_ups
                                .iter()
                                .filter(|u| u.to == to && u.asset.is_native())
                                .fold(U256::ZERO, |s, u| s.saturating_add(u.amount)),
                        ),
                        TxBody::Native { .. }
                        | TxBody::Erc20 { .. }
                        | TxBody::Noop
                        | TxBody::Call { .. } => None,
                    })
            })
            .fold(U256::ZERO, U256::saturating_add)
    }

    pub(super) fn finish(mut self) -> SimReport {
        let end = self.now;
        // Every reservation ends: nothing older than two hours may still be open.
        if let Some(book) = self.engine.nonce_book(SIM_CHAIN) {
            let stale: Vec<(TxId, u64, &'static str)> = book
                .records()
                .filter(|r| end.since(r.reserved_at) > 7_200_000)
                .map(|r| (r.id, r.nonce, r.state.name()))
                .collect();
            for (id, nonce, state) in stale {
                self.violation(&format!(
                    "record {id} (nonce {nonce}) still {state} two hours after its reservation"
                ));
            }
        }
        if self
            .chain
            .insufficient_funds
            .get(&funder())
            .copied()
            .unwrap_or(0)
            > 0
        {
            self.violation("the funder sent a transaction it could not pay for");
        }
        let per_day = self.cfg.spend_per_day;
        let services = (0..self.agents.len())
            .map(|i| {
                let name = self.service_names[i].to_string();
                let m = self.engine.service(&name);
                let final_balance = self.chain.balance(self.agents[i].wallet);
                let runway_secs = (!per_day.is_zero()).then(|| {
                    let secs = final_balance.saturating_mul(U256::from(86_400u64)) / per_day;
                    u64::try_from(secs).unwrap_or(u64::MAX)
                });
                ServiceSummary {
                    name,
                    restarts: m.map_or(0, crate::health::AgentMonitor::restarts),
                    transfers: self.funded[i].0,
                    funded: self.funded[i].1,
                    final_balance,
                    runway_secs,
                    status: m.map_or(Status::Stopped, |m| m.verdict().status),
                }
            })
            .collect();
        self.report.summary.services = services;
        self.report.summary.inputs = self.engine.inputs_handled();
        self.report.summary.blocks = self.chain.head();
        self.report.summary.reorgs = self.chain.reorgs;
        self.report.summary.dropped = self.chain.dropped;
        self.report.summary.waits = self.chain.waits;
        self.report.summary.funds_spent = self
            .initial_funder
            .saturating_sub(self.chain.balance(funder()))
            .saturating_sub(self.chain.balance(super::safe()));
        self.report
    }
}
