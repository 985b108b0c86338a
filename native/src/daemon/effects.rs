//! The outputs that leave the process: RPC calls on tokio tasks (their answers come back as
//! inputs), signing (stored in the journal before the engine hears of the hash) and probes of
//! the agents' health and funds-status URLs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::primitives::Address;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::{Input, RpcAnswer, RpcCall, ServiceName, TxRequest};
use tend_core::health::ProbeResult;

use super::{Daemon, lock};
use crate::chain::rpc::Endpoint;
use crate::chain::sign::sign_with_owners;
use crate::clock;
use crate::store::journal::RawTx;

impl Daemon {
    pub(super) fn rpc(
        &mut self,
        id: u64,
        chain: ChainId,
        endpoint: usize,
        call: RpcCall,
        timeout_ms: u64,
    ) {
        let Some(ep) = self
            .endpoints
            .get(&chain)
            .and_then(|eps| eps.get(endpoint))
            .cloned()
        else {
            self.local.push_back(Input::RpcResponse {
                now: clock::now(),
                id,
                latency_ms: 0,
                result: Err(tend_core::rpc::RpcFailure::Transport {
                    message: format!("no endpoint {endpoint} on chain {chain}"),
                }),
            });
            return;
        };
        match &call {
            RpcCall::Balances { entries, .. } => {
                self.watched
                    .insert(id, Watched::Balances(chain, entries.clone()));
            }
            RpcCall::Head => {
                self.watched.insert(id, Watched::Head(chain));
            }
            RpcCall::FeeHistory { .. } => {
                self.watched.insert(id, Watched::Fees(chain));
            }
            RpcCall::BlockHash { .. }
            | RpcCall::TransactionCounts { .. }
            | RpcCall::SendRaw { .. }
            | RpcCall::Receipt { .. } => {}
        }
        let raws = self.raws.clone();
        let tx = self.inputs_tx.clone();
        let stats = self.stats.clone();
        // A chain with Olas services: their facts ride on the balance read.
        let olas = if matches!(call, RpcCall::Balances { .. }) {
            self.chain_rounds
                .get(&chain)
                .map(|r| (r.clone(), self.rounds.clone()))
        } else {
            None
        };
        tokio::spawn(async move {
            let started = clock::instant();
            stats.rpc_calls.fetch_add(1, Ordering::Relaxed);
            let timeout = Duration::from_millis(timeout_ms);
            let result = match (olas, &call) {
                (
                    Some((round, cache)),
                    RpcCall::Balances {
                        block,
                        entries,
                        safe,
                    },
                ) => {
                    with_facts(
                        &ep,
                        &raws,
                        &call,
                        timeout,
                        (*block, entries, *safe),
                        chain,
                        &round,
                        &cache,
                    )
                    .await
                }
                (None | Some(_), _) => ep.execute(&call, &raws, timeout).await,
            };
            if let Err(f) = &result {
                stats.rpc_failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(chain = %chain, endpoint = %ep.url(), method = call.method(), "RPC failed: {f:?}");
            }
            let _ = tx.send(Input::RpcResponse {
                now: clock::now(),
                id,
                latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                result,
            });
        });
    }

    /// Signs and reports the hash. The raw transaction waits for the engine's journal entry of
    /// the new attempt (written before any broadcast): both go to the journal in one
    /// transaction.
    pub(super) fn sign(
        &mut self,
        chain: ChainId,
        record: u64,
        req: &TxRequest,
    ) -> Result<alloy::primitives::B256, String> {
        let owners = self.safe_owners.get(&chain).map_or(&[][..], Vec::as_slice);
        let (raw, hash) = sign_with_owners(&self.signer, owners, chain, req)?;
        self.unjournaled.insert(
            hash,
            RawTx {
                chain,
                record,
                nonce: req.nonce,
                hash,
                raw: raw.to_vec(),
            },
        );
        lock(&self.raws).insert(hash, raw);
        Ok(hash)
    }

    pub(super) fn probe(&mut self, service: ServiceName, timeout_ms: u64) {
        let spec = self.config.service(&service);
        let health_url = spec.and_then(|s| s.health_url.clone());
        let funds_url = spec.and_then(|s| s.funds_status_url.clone());
        let prober = self.prober.clone();
        let tx = self.inputs_tx.clone();
        let funds = self.funds_status.clone();
        tokio::spawn(async move {
            let timeout = Duration::from_millis(timeout_ms);
            let result = match &health_url {
                Some(url) => prober.probe(url, timeout).await,
                // No health URL: the process being alive is the health.
                None => ProbeResult::Http {
                    status: 200,
                    latency_ms: 0,
                    body: None,
                },
            };
            let _ = tx.send(Input::Probed {
                now: clock::now(),
                service: service.clone(),
                result,
            });
            if let Some(url) = funds_url
                && let Some(doc) = prober.fetch_json(&url, timeout).await
            {
                lock(&funds).insert(service.to_string(), doc);
            }
        });
    }
}
pub(super) enum Watched {
    Head(ChainId),
    Balances(ChainId, Vec<(Address, Asset)>),
    Fees(ChainId),
}

/// A balance read with the chain's Olas facts (and the reports' balances) in the same
/// `aggregate3`, kept in `cache`; the plain read where Multicall3 is not used.
#[allow(clippy::too_many_arguments)]
async fn with_facts(
    ep: &Endpoint,
    raws: &crate::chain::rpc::RawStore,
    call: &RpcCall,
    timeout: Duration,
    (block, entries, safe): (u64, &[(Address, Asset)], Option<Address>),
    chain: ChainId,
    round: &crate::chain::round::ChainRound,
    cache: &crate::chain::round::SharedRounds,
) -> Result<RpcAnswer, tend_core::rpc::RpcFailure> {
    let read = async {
        if !ep.multicall_at(block).await? {
            return ep.execute(call, raws, timeout).await;
        }
        let extra = lock(cache).extra.get(&chain).cloned().unwrap_or_default();
        let (answer, extras) = crate::chain::round::balances_and_facts(
            ep,
            block,
            entries,
            safe,
            &round.services,
            &extra,
        )
        .await?;
        crate::chain::round::remember(cache, chain, round, entries, extras);
        Ok(answer)
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(tend_core::rpc::RpcFailure::Transport {
                message: format!("no answer within {} ms", timeout.as_millis()),
            })
        })
}
