//! Life-cycle steps ([`super::Command::Execute`]): each call of a step gets a nonce of the
//! funding key, is journaled with its service and step before it is signed (write-ahead), and is
//! then signed, broadcast, bumped and confirmed like a transfer. What happened to it comes back
//! as `StepTx*` events; the adapter reads the chain again before it plans the next step.

use crate::chain::ChainId;
use crate::nonce::{Purpose, RecordState, TxId};
use crate::time::Timestamp;

use crate::fees::Fees;

use super::config::SAFE_PER_TOP_UP_OVERHEAD;
use super::{
    Call, CallIntent, Engine, Event, HoldReason, SafeSource, SafeStep, ServiceName, StepPayload,
};

impl Engine {
    /// Sends a step's calls, one transaction each at consecutive nonces.
    pub(super) fn execute(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        service: &ServiceName,
        step: &str,
        calls: Vec<Call>,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            self.ignored(format!("no chain {chain}"));
            return;
        };
        let refuse = |why: String| Event::StepTxDropped {
            chain,
            tx: 0,
            service: service.clone(),
            step: step.to_owned(),
            reason: why,
        };
        let refusal = if calls.is_empty() {
            Some("the step has no calls".to_owned())
        } else if c.steps.values().any(|p| p.intent.service == *service) {
            Some(format!(
                "a transaction of service {service} is in flight on chain {chain}: the next step \
                 waits for it"
            ))
        } else if let Some(error) = c.fee_hold.clone() {
            Some(format!("fees on chain {chain} are above the cap: {error}"))
        } else if c.market.is_none() {
            Some(format!("the fees of chain {chain} are not read yet"))
        } else {
            None
        };
        if let Some(why) = refusal {
            let e = refuse(why);
            self.event(e);
            return;
        }
        let Some(fees) = c.market.map(|m| m.fees) else {
            return;
        };
        if let Some(safe) = c.cfg.safe {
            self.execute_safe(now, chain, service, step, calls, safe, fees);
            return;
        }
        let policy = c.cfg.nonce;
        let mut reserved: Vec<(TxId, u64)> = Vec::with_capacity(calls.len());
        for _ in &calls {
            match c.book.reserve(Purpose::Payload, now, &policy) {
                Ok(r) => reserved.push(r),
                Err(error) => {
                    // All or nothing: the step goes out whole, or waits.
                    for (tx, _) in reserved.iter().rev() {
                        let _ = c.book.release(*tx);
                    }
                    let message = error.to_string();
                    self.settle_finished(chain);
                    self.hold(
                        chain,
                        HoldReason::Nonce {
                            message: message.clone(),
                        },
                    );
                    let e = refuse(message);
                    self.event(e);
                    return;
                }
            }
        }
        for ((tx, nonce), call) in reserved.into_iter().zip(calls) {
            let (to, gas_limit) = (call.to, call.gas);
            let intent = CallIntent {
                service: service.clone(),
                step: step.to_owned(),
                call,
                more: Vec::new(),
                safe: None,
            };
            self.start_step(chain, tx, nonce, intent, to, gas_limit, fees);
        }
    }

    /// A step whose owner is the chain's Safe: every call in ONE Safe transaction at the Safe's
    /// next nonce (MultiSend for two or more), sent by the funding key as the Safe's owner.
    /// Refused (the adapter tries again after the next read) while the Safe's nonce is unknown
    /// or another Safe transaction of ours has not been seen consumed.
    #[allow(clippy::too_many_arguments)]
    fn execute_safe(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        service: &ServiceName,
        step: &str,
        calls: Vec<Call>,
        safe: SafeSource,
        fees: Fees,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let refusal = match c.safe_nonce {
            None => Some(format!("the Safe {}'s nonce is not read yet", safe.address)),
            Some(read) => c.safe_ahead(read).map(|ahead| {
                format!(
                    "the Safe transaction at Safe nonce {ahead} is not yet seen on chain (the \
                     Safe reads nonce {read}); the step follows it"
                )
            }),
        };
        let (Some(safe_nonce), None) = (c.safe_nonce, refusal.as_ref()) else {
            let reason = refusal.unwrap_or_default();
            self.event(Event::StepTxDropped {
                chain,
                tx: 0,
                service: service.clone(),
                step: step.to_owned(),
                reason,
            });
            return;
        };
        let policy = c.cfg.nonce;
        let (tx, nonce) = match c.book.reserve(Purpose::Payload, now, &policy) {
            Ok(r) => r,
            Err(error) => {
                let message = error.to_string();
                self.hold(
                    chain,
                    HoldReason::Nonce {
                        message: message.clone(),
                    },
                );
                self.event(Event::StepTxDropped {
                    chain,
                    tx: 0,
                    service: service.clone(),
                    step: step.to_owned(),
                    reason: message,
                });
                return;
            }
        };
        let safe_tx_gas = calls
            .iter()
            .fold(0u64, |g, call| g.saturating_add(call.gas));
        let data_gas = calls.iter().fold(0u64, |g, call| {
            let bytes = u64::try_from(call.data.len()).unwrap_or(u64::MAX);
            g.saturating_add(SAFE_PER_TOP_UP_OVERHEAD)
                .saturating_add(bytes.saturating_mul(16))
        });
        let gas_limit = safe
            .exec_gas
            .saturating_add(safe_tx_gas)
            .saturating_add(data_gas);
        let mut calls = calls.into_iter();
        let Some(call) = calls.next() else {
            return;
        };
        let intent = CallIntent {
            service: service.clone(),
            step: step.to_owned(),
            call,
            more: calls.collect(),
            safe: Some(SafeStep {
                safe: safe.address,
                nonce: safe_nonce,
                multisend: safe.multisend,
                safe_tx_gas,
                gas_limit,
            }),
        };
        self.start_step(chain, tx, nonce, intent, safe.address, gas_limit, fees);
    }

    /// A reserved record's step: kept in flight, an event, journaled, then signed.
    #[allow(clippy::too_many_arguments)]
    fn start_step(
        &mut self,
        chain: ChainId,
        tx: TxId,
        nonce: u64,
        intent: CallIntent,
        to: alloy_primitives::Address,
        gas_limit: u64,
        fees: Fees,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let (service, step, body) = (intent.service.clone(), intent.step.clone(), intent.body());
        c.steps.insert(
            tx,
            StepPayload {
                intent,
                reverted: false,
            },
        );
        self.event(Event::StepTxPlanned {
            chain,
            tx,
            nonce,
            service,
            step,
            to,
        });
        self.journal(chain, tx);
        self.sign(chain, tx, nonce, body, gas_limit, Vec::new(), fees, false);
    }

    /// The life-cycle transactions in flight on `chain`: record, service and step.
    pub fn steps_in_flight(&self, chain: ChainId) -> impl Iterator<Item = (TxId, &CallIntent)> {
        self.chains
            .get(&chain)
            .into_iter()
            .flat_map(|c| c.steps.iter().map(|(id, p)| (*id, &p.intent)))
    }

    /// What a finished record meant for the step it carried (if it carried one): its event.
    pub(super) fn settle_step(&mut self, chain: ChainId, id: TxId, state: &RecordState) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let Some(p) = c.steps.remove(&id) else {
            return;
        };
        if let (Some(n), RecordState::Confirmed { block_number, .. }) =
            (p.intent.safe_nonce(), state)
        {
            c.safe_step_done = Some((n, *block_number));
        }
        let (service, step) = (p.intent.service, p.intent.step);
        let dropped = |reason: &str| Event::StepTxDropped {
            chain,
            tx: id,
            service: service.clone(),
            step: step.clone(),
            reason: reason.to_owned(),
        };
        let event = match *state {
            RecordState::Confirmed {
                cancelled: true, ..
            } => dropped("cancelled: its nonce carried a no-op"),
            RecordState::Confirmed {
                hash, block_number, ..
            } => Event::StepTxConfirmed {
                chain,
                tx: id,
                service: service.clone(),
                step: step.clone(),
                hash,
                block: block_number,
                success: !p.reverted,
            },
            RecordState::Lost => dropped(
                "its nonce was used by a transaction that is not tend's (the key is used \
                 elsewhere)",
            ),
            RecordState::Released { .. }
            | RecordState::Reserved
            | RecordState::InFlight
            | RecordState::Mined { .. } => dropped("released before it reached a node"),
        };
        self.event(event);
    }
}
