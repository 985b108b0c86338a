//! Life-cycle steps ([`super::Command::Execute`]): each call of a step gets a nonce of the
//! funding key, is journaled with its service and step before it is signed (write-ahead), and is
//! then signed, broadcast, bumped and confirmed like a transfer. What happened to it comes back
//! as `StepTx*` events; the adapter reads the chain again before it plans the next step.

use crate::chain::ChainId;
use crate::nonce::{Purpose, RecordState, TxId};
use crate::time::Timestamp;

use crate::fees::Fees;

use super::{
    Call, CallIntent, Engine, Event, HoldReason, SafeSource, SafeStep, ServiceName, StepPayload,
};

/// `StepTxDropped`: the step (record `tx`, 0 when refused before one) does not go out.
fn dropped(chain: ChainId, tx: TxId, service: &ServiceName, step: &str, reason: String) -> Event {
    Event::StepTxDropped {
        chain,
        tx,
        service: service.clone(),
        step: step.to_owned(),
        reason,
    }
}

impl Engine {
    /// Sends a step's calls: from the funding key, one transaction each at consecutive nonces;
    /// when the chain pays from a Safe (the services' owner), all of them in ONE Safe transaction
    /// at the Safe's next nonce (MultiSend for two or more), sent by the funding key as an owner.
    /// Refused (the adapter tries again after its next read) while a step of the service is in
    /// flight, fees are held or unknown, or the Safe's nonce is unknown or taken by a Safe
    /// transaction of ours not yet seen consumed.
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
        let safe_refusal = |safe: SafeSource| match c.safe_nonce {
            None => Some(format!("the Safe {}'s nonce is not read yet", safe.address)),
            Some(read) => c.safe_ahead(read).map(|ahead| {
                format!(
                    "the Safe transaction at Safe nonce {ahead} is not yet seen on chain (the \
                     Safe reads nonce {read}); the step follows it"
                )
            }),
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
            c.cfg.safe.and_then(safe_refusal)
        };
        if let Some(why) = refusal {
            self.event(dropped(chain, 0, service, step, why));
            return;
        }
        let (Some(fees), safe) = (c.market.map(|m| m.fees), c.cfg.safe) else {
            return;
        };
        let records = if safe.is_some() { 1 } else { calls.len() };
        let policy = c.cfg.nonce;
        let mut reserved: Vec<(TxId, u64)> = Vec::with_capacity(records);
        for _ in 0..records {
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
                    self.event(dropped(chain, 0, service, step, message));
                    return;
                }
            }
        }
        let intent = |call: Call, more: Vec<Call>, safe: Option<SafeStep>| CallIntent {
            service: service.clone(),
            step: step.to_owned(),
            call,
            more,
            safe,
        };
        match (safe, c.safe_nonce, reserved.as_slice()) {
            (Some(safe), Some(safe_nonce), &[(tx, nonce)]) => {
                let (safe_tx_gas, gas_limit) = safe.step_gas(&calls);
                let mut calls = calls.into_iter();
                let Some(call) = calls.next() else {
                    return;
                };
                let step = SafeStep {
                    safe: safe.address,
                    nonce: safe_nonce,
                    multisend: safe.multisend,
                    safe_tx_gas,
                    gas_limit,
                };
                let intent = intent(call, calls.collect(), Some(step));
                self.start_step(chain, tx, nonce, intent, fees);
            }
            _ => {
                for ((tx, nonce), call) in reserved.into_iter().zip(calls) {
                    let intent = intent(call, Vec::new(), None);
                    self.start_step(chain, tx, nonce, intent, fees);
                }
            }
        }
    }

    /// A reserved record's step: kept in flight, an event, journaled, then signed.
    fn start_step(&mut self, chain: ChainId, tx: TxId, nonce: u64, intent: CallIntent, fees: Fees) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let (service, step, body) = (intent.service.clone(), intent.step.clone(), intent.body());
        let (to, gas_limit) = (
            intent.safe.map_or(intent.call.to, |s| s.safe),
            intent.gas_limit(),
        );
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
        let dropped = |reason: &str| dropped(chain, id, &service, &step, reason.to_owned());
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
