//! Life-cycle steps ([`super::Command::Execute`]): each call of a step gets a nonce of the
//! funding key, is journaled with its service and step before it is signed (write-ahead), and is
//! then signed, broadcast, bumped and confirmed like a transfer. What happened to it comes back
//! as `StepTx*` events; the adapter reads the chain again before it plans the next step.

use crate::chain::ChainId;
use crate::nonce::{Purpose, RecordState, TxId};
use crate::time::Timestamp;

use super::{Call, CallIntent, Engine, Event, HoldReason, ServiceName, StepPayload};

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
        } else if c.cfg.safe.is_some() {
            Some(format!(
                "chain {chain} pays from a Safe: life-cycle steps through a Safe are not sent yet"
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
            };
            let body = intent.body();
            let Some(c) = self.chains.get_mut(&chain) else {
                return;
            };
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
                service: service.clone(),
                step: step.to_owned(),
                to,
            });
            self.journal(chain, tx);
            self.sign(chain, tx, nonce, body, gas_limit, Vec::new(), fees, false);
        }
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
