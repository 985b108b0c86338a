//! RPC requests: each call sent to the endpoint the chain's [`EndpointSet`] selects, kept
//! in flight with its deadline, answered, timed out, retried on another endpoint with backoff or
//! given up with an event.

use crate::chain::ChainId;
use crate::nonce::SendErrorClass;
use crate::rpc::{self, RetryDecision, RpcErrorClass, RpcFailure, Selection};
use crate::time::Timestamp;

use super::{
    Busy, Engine, Event, HEAD_CHECK, Output, Pending, PendingState, RPC_SLACK_MS, RequestId,
    RpcAnswer, RpcCall,
};

impl Engine {
    pub(super) fn request(&self, id: RequestId) -> Option<&Pending> {
        let i = self.requests.binary_search_by_key(&id, |e| e.0).ok()?;
        self.requests.get(i).map(|e| &e.1)
    }

    pub(super) fn put_request(&mut self, id: RequestId, p: Pending) {
        let at = p.state.due();
        self.request_deadlines.insert((at, id));
        match self.requests.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => {
                let old = std::mem::replace(&mut self.requests[i].1, p);
                let old_at = old.state.due();
                if old_at != at {
                    self.request_deadlines.remove(&(old_at, id));
                }
            }
            Err(i) => self.requests.insert(i, (id, p)),
        }
    }

    pub(super) fn take_request(&mut self, id: RequestId) -> Option<Pending> {
        let i = self.requests.binary_search_by_key(&id, |e| e.0).ok()?;
        let (_, p) = self.requests.remove(i);
        self.request_deadlines.remove(&(p.state.due(), id));
        Some(p)
    }

    pub(super) fn call(&mut self, now: Timestamp, chain: ChainId, call: RpcCall, round: u64) {
        let id = self.next_id;
        self.next_id += 1;
        self.dispatch(now, id, chain, call, 1, round, None);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn dispatch(
        &mut self,
        now: Timestamp,
        id: RequestId,
        chain: ChainId,
        call: RpcCall,
        attempt: u32,
        round: u64,
        avoid: Option<usize>,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        match c.endpoints.select(now, avoid) {
            Selection::Use { index } => {
                self.send(now, id, chain, index, call, attempt, round);
            }
            Selection::Wait { until, .. } => {
                self.put_request(
                    id,
                    Pending {
                        chain,
                        call,
                        attempt,
                        round,
                        state: PendingState::Scheduled {
                            at: until.max(now.plus_ms(1)),
                            avoid,
                        },
                    },
                );
            }
        }
    }

    /// Sends `call` to endpoint `endpoint` now.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &mut self,
        now: Timestamp,
        id: RequestId,
        chain: ChainId,
        endpoint: usize,
        call: RpcCall,
        attempt: u32,
        round: u64,
    ) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        let timeout_ms = c.cfg.rpc.request_timeout_ms;
        self.put_request(
            id,
            Pending {
                chain,
                call: call.clone(),
                attempt,
                round,
                state: PendingState::Sent {
                    endpoint,
                    deadline: now.plus_ms(timeout_ms).plus_ms(RPC_SLACK_MS),
                },
            },
        );
        self.out.push_back(Output::Rpc {
            id,
            chain,
            endpoint,
            call,
            timeout_ms,
        });
    }

    pub(super) fn rpc_response(
        &mut self,
        now: Timestamp,
        id: RequestId,
        latency_ms: u64,
        result: Result<RpcAnswer, RpcFailure>,
    ) {
        let Some(p) = self.take_request(id) else {
            self.ignored(format!("RPC answer {id} matches no request in flight"));
            return;
        };
        let PendingState::Sent { endpoint, .. } = p.state else {
            // An answer for a request that was not sent: put it back.
            self.put_request(id, p);
            self.ignored(format!(
                "RPC answer {id} arrived before the request was sent"
            ));
            return;
        };
        let Some(c) = self.chains.get_mut(&p.chain) else {
            return;
        };
        match result {
            Ok(answer) => {
                c.endpoints.success(endpoint, latency_ms);
                self.answer(now, p.chain, endpoint, p.round, p.call, answer);
            }
            Err(failure) => {
                let class = rpc::classify(p.call.method(), &failure);
                c.endpoints.failure(endpoint, class, now);
                if p.round == HEAD_CHECK {
                    // The endpoint's standing took the failure; nothing waits for the answer.
                    return;
                }
                let policy = *c.endpoints.policy();
                let decision = match class {
                    // A tx-level answer to a send is an answer, not a failure to retry.
                    RpcErrorClass::TxSemantic { .. } => RetryDecision::Fail,
                    RpcErrorClass::Transport
                    | RpcErrorClass::RateLimit { .. }
                    | RpcErrorClass::NodeLag
                    | RpcErrorClass::Revert
                    | RpcErrorClass::AuthConfig
                    | RpcErrorClass::Invalid => {
                        rpc::decide(&policy, class, p.attempt, &mut self.rng)
                    }
                };
                if let RpcCall::SendRaw { hash } = &p.call
                    && !matches!(class, RpcErrorClass::TxSemantic { .. })
                {
                    // No answer: the node may have taken it, whatever a retry hears.
                    let _ = c.book.answer_lost(*hash);
                }
                match decision {
                    RetryDecision::Retry { after_ms, failover } => {
                        self.put_request(
                            id,
                            Pending {
                                attempt: p.attempt + 1,
                                state: PendingState::Scheduled {
                                    at: now.plus_ms(after_ms),
                                    avoid: failover.then_some(endpoint),
                                },
                                ..p
                            },
                        );
                    }
                    RetryDecision::Fail => self.failed(now, p.chain, &p.call, class, failure),
                }
            }
        }
    }

    /// A call failed for good.
    pub(super) fn failed(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        call: &RpcCall,
        class: RpcErrorClass,
        failure: RpcFailure,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        match call {
            RpcCall::SendRaw { hash } => {
                c.busy.remove(&Busy::Send(*hash));
                let (code, message) = match &failure {
                    RpcFailure::JsonRpc { code, message, .. } => (Some(*code), message.clone()),
                    RpcFailure::Transport { message } => (None, message.clone()),
                    RpcFailure::Http { status, .. } => (None, format!("HTTP {status}")),
                    RpcFailure::MissingResponse => (None, "missing response".into()),
                };
                let tx = c.book.record_of(*hash);
                let mut refused_for_price = false;
                match c.book.send_failed(*hash, code, &message, now) {
                    Ok(send_class) => {
                        refused_for_price = matches!(
                            send_class,
                            SendErrorClass::FeeTooLow | SendErrorClass::ReplacementUnderpriced
                        );
                        if let Some(tx) = tx {
                            self.after_record_change(chain, tx);
                            if matches!(class, RpcErrorClass::TxSemantic { .. }) {
                                self.event(Event::SendRejected {
                                    chain,
                                    tx,
                                    class: send_class,
                                });
                            }
                        }
                    }
                    Err(e) => self.ignored(e.to_string()),
                }
                if !matches!(class, RpcErrorClass::TxSemantic { .. }) {
                    self.event(Event::RpcFailed {
                        chain,
                        method: call.method().into(),
                        failure,
                    });
                }
                // A price refusal of a possibly pooled attempt is answered with a bump of the
                // same payload before any new transfer; then a round held for this answer plans
                // (or holds again, when the attempt is still unanswered).
                if refused_for_price {
                    self.run_nonce_plan(chain, now);
                }
                self.maybe_fund(chain, now);
                return;
            }
            RpcCall::Receipt { hash } => {
                // This check of the record is void (neither found nor proven missing); the next
                // plan asks again. Other records' checks go on.
                let owner = c.book.record_of(*hash);
                if let Some(id) = owner {
                    c.receipt_checks.remove(&id);
                    c.busy.remove(&Busy::Receipts(id));
                }
            }
            RpcCall::BlockHash { number } => {
                c.busy.remove(&Busy::Block(*number));
            }
            RpcCall::Head
            | RpcCall::TransactionCounts { .. }
            | RpcCall::Balances { .. }
            | RpcCall::FeeHistory { .. } => {
                c.busy.remove(&Busy::Round);
            }
        }
        self.event(Event::RpcFailed {
            chain,
            method: call.method().into(),
            failure,
        });
    }
}
