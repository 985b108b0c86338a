//! The engine's events in the log: each event as one `tracing` line with its fields, at the
//! level an operator expects (errors for what needs a person, warnings for what tend works
//! around).

use tend_core::engine::io::{Event, HoldReason};

use super::{Daemon, HealthChange, lock};
use crate::clock;

const EVENTS_KEPT: usize = 500;

const HISTORY_KEPT: usize = 50;

/// Logs an event with its fields.
fn log_event(event: &Event) {
    match event {
        Event::Health {
            service,
            status,
            reason,
        } => tracing::info!(service = %service, status = ?status, "health: {status:?} ({reason})"),
        Event::Alert { service, reason } => {
            tracing::error!(service = %service, "agent FAILED, an operator must act: {reason}");
        }
        Event::TransferPlanned {
            chain,
            tx,
            nonce,
            to,
            asset,
            amount,
        } => {
            tracing::info!(chain = %chain, tx, nonce, to = %to, asset = %asset, amount = %amount, "transfer planned");
        }
        Event::TxConfirmed {
            chain,
            tx,
            nonce,
            hash,
            cancelled,
        } => {
            tracing::info!(chain = %chain, tx, nonce, hash = %hash, cancelled, "transaction confirmed");
        }
        Event::TxReplaced {
            chain,
            tx,
            nonce,
            fees,
        } => {
            tracing::warn!(chain = %chain, tx, nonce, max_fee = fees.max_fee_per_gas, tip = fees.max_priority_fee_per_gas, "transaction replaced with higher fees");
        }
        Event::TransferReverted {
            chain,
            tx,
            to,
            asset,
            hash,
        } => {
            tracing::error!(chain = %chain, tx, to = %to, asset = %asset, hash = %hash, "top-up reverted on chain (the wallet refused it or it ran out of gas): the wallet is not topped up again until tend restarts; check the wallet contract and the chain's gas");
        }
        Event::SafeTxReverted {
            chain,
            tx,
            safe,
            safe_nonce,
            hash,
            message,
        } => {
            tracing::error!(chain = %chain, tx, safe = %safe, safe_nonce, hash = %hash, "{message}");
        }
        Event::SendRejected { chain, tx, class } => {
            tracing::warn!(chain = %chain, tx, "broadcast rejected: {class:?}");
        }
        Event::FundingHeld {
            chain,
            reason: HoldReason::Nonce { message } | HoldReason::Safe { message },
        } => tracing::info!(chain = %chain, "funding waits: {message}"),
        Event::FundingHeld { chain, reason } => {
            tracing::warn!(chain = %chain, "funding held: {reason:?}");
        }
        Event::Shortfall {
            chain,
            holder,
            asset,
            missing,
            message,
        } => {
            tracing::warn!(chain = %chain, holder = %holder, asset = %asset, missing = %missing, "shortfall: {message}");
        }
        Event::NonceLost { chain, tx, nonce } => {
            tracing::error!(chain = %chain, tx, nonce, "nonce taken by a transaction that is not tend's: is the funding key used elsewhere?");
        }
        Event::DeepReorg {
            chain,
            confirmed,
            now_count,
        } => {
            tracing::error!(chain = %chain, confirmed, now_count, "reorg deeper than the confirmation depth: raise confirmations");
        }
        Event::Chain { chain, verdict } => tracing::info!(chain = %chain, "chain: {verdict:?}"),
        Event::RpcFailed {
            chain,
            method,
            failure,
        } => {
            tracing::warn!(chain = %chain, method = %method, "RPC failed after retries: {failure:?}");
        }
        Event::StepTxPlanned { .. }
        | Event::StepTxConfirmed { .. }
        | Event::StepTxDropped { .. } => log_step(event),
        Event::Ignored { reason } => tracing::debug!("input ignored: {reason}"),
    }
}
/// Logs a life-cycle step's event (only those reach here).
#[allow(clippy::wildcard_enum_match_arm)]
fn log_step(event: &Event) {
    match event {
        Event::StepTxPlanned {
            chain,
            tx,
            nonce,
            service,
            step,
            to,
        } => {
            tracing::info!(chain = %chain, tx, nonce, service = %service, step = %step, to = %to, "life-cycle transaction planned");
        }
        Event::StepTxConfirmed {
            chain,
            tx,
            service,
            step,
            hash,
            block,
            success,
        } => {
            if *success {
                tracing::info!(chain = %chain, tx, service = %service, step = %step, hash = %hash, block, "life-cycle transaction confirmed");
            } else {
                tracing::error!(chain = %chain, tx, service = %service, step = %step, hash = %hash, block, "life-cycle transaction REVERTED on chain: the service's life cycle waits for an operator (see `tend olas status`)");
            }
        }
        Event::StepTxDropped {
            chain,
            tx,
            service,
            step,
            reason,
        } => {
            tracing::warn!(chain = %chain, tx, service = %service, step = %step, "life-cycle step not sent: {reason}");
        }
        _ => {}
    }
}

impl Daemon {
    pub(super) fn event(&mut self, event: Event) {
        let now = clock::now().as_ms();
        log_event(&event);
        match &event {
            Event::Health {
                service,
                status,
                reason,
            } => {
                let h = self.history.entry(service.to_string()).or_default();
                h.push_back(HealthChange {
                    at_ms: now,
                    status: *status,
                    reason: reason.to_string(),
                });
                while h.len() > HISTORY_KEPT {
                    h.pop_front();
                }
            }
            Event::TxConfirmed { .. } => self.transfers_confirmed += 1,
            Event::StepTxConfirmed {
                service,
                step,
                hash,
                block,
                success,
                ..
            } => self
                .lifecycle
                .confirmed(service, step, *hash, *block, *success),
            Event::StepTxDropped {
                tx: 0,
                service,
                step,
                reason,
                ..
            } => self.lifecycle.refused(service, step, reason),
            Event::Alert { .. }
            | Event::TransferPlanned { .. }
            | Event::TxReplaced { .. }
            | Event::SendRejected { .. }
            | Event::TransferReverted { .. }
            | Event::SafeTxReverted { .. }
            | Event::FundingHeld { .. }
            | Event::Shortfall { .. }
            | Event::NonceLost { .. }
            | Event::DeepReorg { .. }
            | Event::Chain { .. }
            | Event::RpcFailed { .. }
            | Event::StepTxPlanned { .. }
            | Event::StepTxDropped { .. }
            | Event::Ignored { .. } => {}
        }
        let mut events = lock(&self.shared.events);
        events.push_back((now, event));
        while events.len() > EVENTS_KEPT {
            events.pop_front();
        }
    }
}
