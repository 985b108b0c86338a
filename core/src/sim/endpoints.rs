//! The RPC endpoints: each request answered by the simulated chain after the endpoint's latency,
//! or failed by its faults (timeouts, 429 with `Retry-After`, errors), from a lagging head, or
//! with a lie.

use alloy_primitives::{B256, U256};

use crate::engine::{Input, RpcAnswer, RpcCall};
use crate::fees::FeeHistory;
use crate::rpc::RpcFailure;

use super::World;

impl World {
    pub(super) fn endpoint_fault(&mut self, endpoint: usize) -> (u64, Option<RpcFailure>) {
        let f = self
            .cfg
            .endpoints
            .get(endpoint)
            .copied()
            .unwrap_or_default();
        let latency = f.latency_ms + self.rng.below(f.latency_ms / 2 + 1);
        if self.rng.chance_ppm(f.timeout_ppm) {
            return (
                self.cfg.rpc.request_timeout_ms,
                Some(RpcFailure::Transport {
                    message: "operation timed out".into(),
                }),
            );
        }
        if self.rng.chance_ppm(f.rate_limit_ppm) {
            return (
                latency,
                Some(RpcFailure::Http {
                    status: 429,
                    retry_after_ms: Some(f.retry_after_ms),
                }),
            );
        }
        if self.rng.chance_ppm(f.error_ppm) {
            return (
                latency,
                Some(RpcFailure::JsonRpc {
                    code: -32603,
                    message: "internal error".into(),
                    retry_after_ms: None,
                }),
            );
        }
        (latency, None)
    }

    pub(super) fn rpc(&mut self, id: u64, endpoint: usize, call: RpcCall) {
        let (latency, fault) = self.endpoint_fault(endpoint);
        let lag = self.cfg.endpoints.get(endpoint).map_or(0, |f| f.lag_blocks);
        let result = if let Some(f) = fault {
            Err(f)
        } else {
            let wrong_ppm = self.cfg.endpoints.get(endpoint).map_or(0, |f| f.wrong_ppm);
            let wrong = wrong_ppm > 0 && self.rng.chance_ppm(wrong_ppm);
            self.answer(lag, call)
                .map(|a| if wrong { lie(a) } else { a })
        };
        let at = self.now.plus_ms(latency);
        self.deliver(
            at,
            Input::RpcResponse {
                now: at,
                id,
                latency_ms: latency,
                result,
            },
        );
    }

    pub(super) fn answer(&mut self, lag: u64, call: RpcCall) -> Result<RpcAnswer, RpcFailure> {
        let head = self.chain.head().saturating_sub(lag);
        let lagging = || RpcFailure::JsonRpc {
            code: -32000,
            message: "header not found".into(),
            retry_after_ms: None,
        };
        Ok(match call {
            RpcCall::Head => {
                let (hash, timestamp) = self.chain.block(head).ok_or_else(lagging)?;
                RpcAnswer::Head {
                    number: head,
                    hash,
                    timestamp,
                }
            }
            RpcCall::BlockHash { number } => RpcAnswer::BlockHash {
                number,
                hash: if number <= head {
                    self.chain.block(number).map(|b| b.0)
                } else {
                    None
                },
            },
            RpcCall::TransactionCounts { address } => {
                let (latest, pending) = self.chain.counts(address);
                RpcAnswer::TransactionCounts { latest, pending }
            }
            RpcCall::Balances {
                block,
                entries,
                safe,
            } => {
                if block > head {
                    return Err(lagging());
                }
                RpcAnswer::Balances {
                    block: self.chain.head(),
                    values: entries
                        .iter()
                        .map(|(h, a)| {
                            if a.is_native() {
                                self.chain.balance(*h)
                            } else {
                                U256::ZERO
                            }
                        })
                        .collect(),
                    safe_nonce: safe.map(|s| self.chain.safe_nonce(s)),
                }
            }
            RpcCall::FeeHistory { blocks, .. } => {
                let (base_fee_per_gas, reward) = self.chain.fee_history(blocks);
                RpcAnswer::FeeHistory(FeeHistory {
                    base_fee_per_gas,
                    reward,
                })
            }
            RpcCall::SendRaw { hash } => match self.chain.send(hash) {
                Ok(()) => RpcAnswer::Sent { hash },
                Err((code, message)) => {
                    return Err(RpcFailure::JsonRpc {
                        code,
                        message: message.into(),
                        retry_after_ms: None,
                    });
                }
            },
            RpcCall::Receipt { hash } => RpcAnswer::Receipt {
                hash,
                receipt: self.chain.receipt(hash).filter(|r| r.block_number <= head),
            },
        })
    }
}
/// A wrong answer of the kinds [`EndpointFaults::wrong_ppm`] covers; others stay right.
pub(super) fn lie(answer: RpcAnswer) -> RpcAnswer {
    match answer {
        RpcAnswer::Receipt { hash, .. } => RpcAnswer::Receipt {
            hash,
            receipt: None,
        },
        RpcAnswer::BlockHash { number, hash } => RpcAnswer::BlockHash {
            number,
            hash: hash.map(|h| B256::from(h.0.map(|b| b ^ 0x5A))),
        },
        RpcAnswer::TransactionCounts { latest, pending } => RpcAnswer::TransactionCounts {
            latest: latest.saturating_sub(1),
            pending: pending.saturating_sub(1),
        },
        a @ (RpcAnswer::Head { .. }
        | RpcAnswer::Balances { .. }
        | RpcAnswer::FeeHistory(_)
        | RpcAnswer::Sent { .. }) => a,
    }
}
